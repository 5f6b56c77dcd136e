/* Child program for the exit-semantics tests (test_thread.c,
 * test_executor.c): what runs when main returns or exit() is called while
 * threads are alive. The scenario is argv[1].
 *
 * Nothing here is ordered by sleeping. A thread that must still be
 * running when exit begins waits for `exit_begun`, which a handler
 * registered with ct_register_atexit (it runs first, before the joins)
 * sets; so the output also proves that the exit waited for it. */
#include <cthreading.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static ct_event exit_begun = CT_EVENT_INIT;
static ct_event started = CT_EVENT_INIT;
static _Atomic int worker_finished;

static void on_exit_begun(void *arg)
{
    (void)arg;
    ct_event_set(&exit_begun);
}

static void note_exit_begun(void)
{
    if (ct_register_atexit(on_exit_begun, NULL, 0) != 0)
        exit(98);
}

static int print_at_exit(void *arg)
{
    ct_event_set(&started);
    ct_event_wait(&exit_begun, CT_FOREVER);
    printf("%s\n", (const char *)arg);
    atomic_store(&worker_finished, 1);
    return 0;
}

static int forever(void *arg)
{
    ct_event_wait(arg, CT_FOREVER); /* never set */
    return 0;
}

static ct_thread *start(ct_thread_fn fn, void *arg, int daemon, const char *name)
{
    ct_thread *t;
    if (ct_thread_new(&t, &(ct_thread_opts){.target = fn, .arg = arg, .daemon = daemon,
                                            .name = name}) != 0 ||
        ct_thread_start(t) != 0)
        exit(99);
    return t;
}

static void start_and_drop(ct_thread_fn fn, void *arg, int daemon)
{
    ct_thread_unref(start(fn, arg, daemon, NULL));
}

static ct_event child_started = CT_EVENT_INIT;
static int start_child_then_end(void *arg)
{
    (void)arg;
    start_and_drop(print_at_exit, "end of thread 2", CT_NOT_DAEMON);
    ct_event_set(&child_started);
    return 0;
}

static int fail(void *arg)
{
    return (int)(long)arg;
}

static int task_at_exit(void *arg, void **result)
{
    (void)result;
    ct_event_wait(&exit_begun, CT_FOREVER);
    printf("task %d done\n", (int)(long)arg);
    return 0;
}

static ct_event task_running;
static int blocking_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    ct_event_set(&task_running);
    ct_event_wait(&exit_begun, CT_FOREVER);
    printf("running task done\n");
    return 0;
}

static const char *worker_state(void)
{
    return atomic_load(&worker_finished) ? "finished" : "running";
}

static void plain_atexit(void)
{
    printf("atexit: worker %s\n", worker_state());
}

static void before_join(void *arg)
{
    (void)arg;
    printf("before join: worker %s\n", worker_state());
    ct_event_set(&exit_begun);
}

static void after_join(void *arg)
{
    (void)arg;
    printf("after join: worker %s\n", worker_state());
}

/* Python's test_main_thread_during_shutdown: at shutdown the current
 * thread is still the main thread, and the only one. */
static void report_main(const char *who)
{
    ct_thread *me = ct_current_thread();
    ct_thread *all[4];
    size_t n = ct_enumerate(all, 4);
    int only_main = n == 1 && all[0] == me;
    for (size_t i = 0; i < n && i < 4; i++)
        ct_thread_unref(all[i]);
    printf("%s: %d %d %d\n", who, me == ct_main_thread(), ct_thread_is_alive(me), only_main);
}

static void main_in_plain_atexit(void)
{
    report_main("atexit");
}

static void main_after_join(void *arg)
{
    (void)arg;
    report_main("after join");
}

static int should_not_run(void *arg)
{
    (void)arg;
    printf("shouldn't be printed\n");
    return 0;
}

static void start_at_finalization(void *arg)
{
    (void)arg;
    printf("OK\n");
    int rc = ct_start_new_thread(should_not_run, NULL, NULL);
    printf("start_new_thread: %s\n", ct_errname(rc));
}

static ct_executor *late_pool;
static int nothing_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

static void submit_last(void)
{
    int rc = ct_executor_submit(late_pool, nothing_task, NULL, NULL);
    printf("%s\n", rc == CT_ESHUTDOWN ? "runtime-error" : ct_errname(rc));
}

static void register_late(void *arg)
{
    (void)arg;
    printf("register during exit: %s\n",
           ct_errname(ct_register_atexit(register_late, NULL, CT_ATEXIT_AFTER_JOIN)));
}


/* A child forked by the main thread: its exit waits for its non-daemon
 * thread (test_2_join_in_forked_process). The parent ends with the
 * child's exit code. */
static int join_in_forked_process(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return 96;
    if (pid != 0) {
        int status;
        if (waitpid(pid, &status, 0) != pid)
            return 95;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 97;
    }
    note_exit_begun();
    start_and_drop(print_at_exit, "end of thread", CT_NOT_DAEMON);
    printf("end of main\n");
    return 0;
}

static ct_thread *parent_main;
static ct_event forked = CT_EVENT_INIT;

static int join_old_main(void *arg)
{
    (void)arg;
    /* The parent's main thread is ended in the child: no wait. */
    int rc = ct_thread_join(parent_main, CT_FOREVER);
    printf("end of thread%s\n", rc == 0 ? "" : " (join failed)");
    return rc;
}

/* Fork from a worker (test_3_join_in_forked_from_thread). In the child,
 * the worker is the main thread; the child ends when it returns, as the
 * process's last thread. */
static int fork_from_worker(void *arg)
{
    (void)arg;
    pid_t pid = fork();
    if (pid < 0)
        return 96;
    if (pid != 0) {
        ct_event_set(&forked);
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            printf("child failed\n");
        return 0;
    }
    ct_thread *t;
    if (ct_thread_new(&t, &(ct_thread_opts){.target = join_old_main}) != 0)
        return 99;
    printf("end of main\n");
    if (ct_thread_start(t) != 0 || ct_thread_join(t, CT_FOREVER) != 0)
        printf("join failed\n");
    ct_thread_unref(t);
#ifdef CT_TSAN
    /* ThreadSanitizer crashes running atexit handlers in a process whose
     * last thread returned (glibc then calls exit from the ending
     * thread): exit from here instead. */
    exit(0);
#endif
    return 0;
}

/* Threads that end through pthread_exit() or cancellation end like those
 * whose target returned: the exit does not wait for them forever. */
static int leave_by_pthread_exit(void *arg)
{
    (void)arg;
    pthread_exit(NULL);
}

static int block_in_read(void *arg)
{
    char c;
    ct_event_set(&started);
    return read(*(int *)arg, &c, 1) == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "join_on_return")) {
        note_exit_begun();
        start_and_drop(print_at_exit, "end of thread", CT_NOT_DAEMON);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "join_on_exit")) {
        note_exit_begun();
        start_and_drop(print_at_exit, "end of thread", CT_NOT_DAEMON);
        ct_event_wait(&started, CT_FOREVER);
        printf("calling exit\n");
        exit(3);
    }
    if (!strcmp(mode, "daemon")) {
        static ct_event never = CT_EVENT_INIT;
        start_and_drop(forever, &never, CT_DAEMON);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "thread_from_thread")) {
        note_exit_begun();
        start_and_drop(start_child_then_end, NULL, CT_NOT_DAEMON);
        ct_event_wait(&child_started, CT_FOREVER);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "excepthook")) {
        ct_thread *a = start(fail, (void *)5L, CT_NOT_DAEMON, "worker-a");
        ct_thread_join(a, CT_FOREVER);
        ct_thread *b = start(fail, (void *)(long)CT_ETIMEDOUT, CT_NOT_DAEMON, "worker-b");
        ct_thread_join(b, CT_FOREVER);
        printf("results %d %d\n", ct_thread_result(a), ct_thread_result(b) == CT_ETIMEDOUT);
        ct_thread_unref(a);
        ct_thread_unref(b);
        return 0;
    }
    if (!strcmp(mode, "executor")) {
        /* No shutdown: the queued work still runs before the process ends. */
        ct_executor *ex;
        if (ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 1}) != 0)
            return 99;
        note_exit_begun();
        for (long i = 1; i <= 3; i++)
            ct_executor_submit(ex, task_at_exit, (void *)i, NULL);
        ct_executor_unref(ex);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "executor_cancel")) {
        ct_executor *ex;
        if (ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 1}) != 0)
            return 99;
        note_exit_begun();
        ct_executor_submit(ex, blocking_task, NULL, NULL);
        for (long i = 1; i <= 3; i++)
            ct_executor_submit(ex, task_at_exit, (void *)i, NULL);
        ct_event_wait(&task_running, CT_FOREVER);
        ct_executor_shutdown(ex, CT_SHUTDOWN_CANCEL_FUTURES);
        ct_executor_unref(ex);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "atexit_order")) {
        /* Registered before the first thread starts: runs after the join. */
        atexit(plain_atexit);
        ct_register_atexit(after_join, NULL, CT_ATEXIT_AFTER_JOIN);
        ct_register_atexit(before_join, NULL, 0);
        start_and_drop(print_at_exit, "worker done", CT_NOT_DAEMON);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "atexit_late")) {
        ct_register_atexit(before_join, NULL, 0);
        start_and_drop(print_at_exit, "worker done", CT_NOT_DAEMON);
        /* Registered after: runs before the library's exit handler. */
        atexit(plain_atexit);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "main_during_shutdown")) {
        atexit(main_in_plain_atexit);
        ct_register_atexit(main_after_join, NULL, CT_ATEXIT_AFTER_JOIN);
        note_exit_begun();
        start_and_drop(print_at_exit, "worker done", CT_NOT_DAEMON);
        return 0;
    }
    if (!strcmp(mode, "start_at_finalization")) {
        ct_register_atexit(start_at_finalization, NULL, CT_ATEXIT_AFTER_JOIN);
        return 0;
    }
    if (!strcmp(mode, "submit_after_shutdown")) {
        atexit(submit_last);
        if (ct_executor_new(&late_pool, &(ct_executor_opts){.max_workers = 5}) != 0)
            return 99;
        return 0;
    }
    if (!strcmp(mode, "register_during_exit")) {
        ct_register_atexit(register_late, NULL, 0);
        return 0;
    }
    if (!strcmp(mode, "join_in_forked_process"))
        return join_in_forked_process();
    if (!strcmp(mode, "join_in_forked_from_thread")) {
        parent_main = ct_main_thread();
        start_and_drop(fork_from_worker, NULL, CT_NOT_DAEMON);
        /* Not inside exit while the worker forks: a sanitizer's own
         * locks taken there would stay locked in the child. */
        ct_event_wait(&forked, CT_FOREVER);
        return 0;
    }
    if (!strcmp(mode, "thread_exit_at_exit")) {
        start_and_drop(leave_by_pthread_exit, NULL, CT_NOT_DAEMON);
        printf("end of main\n");
        return 0;
    }
    if (!strcmp(mode, "cancel_at_exit")) {
        static int fds[2];
        if (pipe(fds) != 0)
            return 96;
        ct_thread *t = start(block_in_read, &fds[0], CT_NOT_DAEMON, NULL);
        ct_event_wait(&started, CT_FOREVER);
        pthread_cancel((pthread_t)ct_thread_ident(t));
        ct_thread_unref(t);
        printf("end of main\n");
        return 0;
    }
    return 2;
}
