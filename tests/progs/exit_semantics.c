/* Child program for the exit-semantics tests (test_thread.c): what runs
 * when main returns or exit() is called while threads are alive. The
 * scenario is argv[1]. */
#include <cthreading.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ct_event started = CT_EVENT_INIT;

static int slow_print(void *arg)
{
    ct_event_set(&started);
    ct_sleep(0.1);
    printf("%s\n", (const char *)arg);
    fflush(stdout);
    return 0;
}

static int forever(void *arg)
{
    (void)arg;
    ct_event_set(&started);
    for (;;)
        ct_sleep(1);
    return 0;
}

static int start_child_then_end(void *arg)
{
    (void)arg;
    ct_thread *t = ct_thread_new(&(ct_thread_opts){.target = slow_print, .arg = "end of thread 2"});
    ct_thread_start(t);
    ct_thread_unref(t);
    printf("end of thread 1\n");
    fflush(stdout);
    return 0;
}

static int fail(void *arg)
{
    return (int)(long)arg;
}

static int slow_task(void *arg, void **result)
{
    (void)result;
    ct_sleep(0.05);
    printf("task %d done\n", (int)(long)arg);
    return 0;
}

static ct_event task_running;
static int blocking_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    ct_event_set(&task_running);
    ct_sleep(0.05);
    printf("running task done\n");
    return 0;
}

static void start(ct_thread_fn fn, void *arg, int daemon, const char *name)
{
    ct_thread *t = ct_thread_new(&(ct_thread_opts){.target = fn, .arg = arg, .daemon = daemon,
                                                   .name = name});
    if (!t || ct_thread_start(t) != 0)
        exit(99);
    ct_thread_unref(t);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "join_on_return")) {
        start(slow_print, "end of thread", CT_NOT_DAEMON, NULL);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "join_on_exit")) {
        start(slow_print, "end of thread", CT_NOT_DAEMON, NULL);
        ct_event_wait(&started, CT_FOREVER);
        printf("calling exit\n");
        exit(3);
    }
    if (!strcmp(mode, "daemon")) {
        start(forever, NULL, CT_DAEMON, NULL);
        ct_event_wait(&started, CT_FOREVER);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "thread_from_thread")) {
        start(start_child_then_end, NULL, CT_NOT_DAEMON, NULL);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "excepthook")) {
        ct_thread *a = ct_thread_new(&(ct_thread_opts){.target = fail, .arg = (void *)5L,
                                                       .name = "worker-a"});
        ct_thread *b = ct_thread_new(&(ct_thread_opts){.target = fail,
                                                       .arg = (void *)(long)CT_ETIMEDOUT,
                                                       .name = "worker-b"});
        ct_thread_start(a);
        ct_thread_join(a, CT_FOREVER);
        ct_thread_start(b);
        ct_thread_join(b, CT_FOREVER);
        printf("results %d %d\n", ct_thread_result(a), ct_thread_result(b) == CT_ETIMEDOUT);
        ct_thread_unref(a);
        ct_thread_unref(b);
        return 0;
    }
    if (!strcmp(mode, "executor")) {
        /* No shutdown: the queued work still runs before the process ends. */
        ct_executor *ex = ct_executor_new(&(ct_executor_opts){.max_workers = 1});
        for (long i = 1; i <= 3; i++)
            ct_executor_submit(ex, slow_task, (void *)i, NULL);
        ct_executor_unref(ex);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "executor_cancel")) {
        ct_executor *ex = ct_executor_new(&(ct_executor_opts){.max_workers = 1});
        ct_executor_submit(ex, blocking_task, NULL, NULL);
        for (long i = 1; i <= 3; i++)
            ct_executor_submit(ex, slow_task, (void *)i, NULL);
        ct_event_wait(&task_running, CT_FOREVER);
        ct_executor_shutdown(ex, 0, 1);
        ct_executor_unref(ex);
        printf("end of main\n");
        return 0;
    }
    return 2;
}
