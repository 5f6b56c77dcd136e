/* Threads: test_threading.ThreadTests, ThreadJoinOnShutdown,
 * ThreadingExceptionTests and ExceptHookTests, as they apply to C. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

static ct_event go;

static int wait_for_go(void *arg)
{
    (void)arg;
    return ct_event_wait(&go, CT_FOREVER);
}

static int nothing(void *arg)
{
    (void)arg;
    return 0;
}

static ct_thread *start(ct_thread_fn fn, void *arg)
{
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = fn, .arg = arg}));
    ck_assert_ptr_nonnull(t);
    ck_assert_ct(ct_thread_start(t));
    return t;
}

static void join_unref(ct_thread *t)
{
    ck_assert_ct(ct_thread_join(t, CT_FOREVER));
    ct_thread_unref(t);
}

/* test_threading.ThreadTests.test_name: default names count up as
 * Thread-N; explicit names are kept; the OS sees the name. */
START_TEST(test_thread_name)
{
    ct_thread *a, *b;
    ck_assert_ct(ct_thread_new(&a, NULL));
    ck_assert_ct(ct_thread_new(&b, NULL));
    unsigned na, nb;
    ck_assert_int_eq(sscanf(ct_thread_name(a), "Thread-%u", &na), 1);
    ck_assert_int_eq(sscanf(ct_thread_name(b), "Thread-%u", &nb), 1);
    ck_assert_uint_eq(nb, na + 1);
    ct_thread *c;
    ck_assert_ct(ct_thread_new(&c, &(ct_thread_opts){.name = "named"}));
    ck_assert_str_eq(ct_thread_name(c), "named");
    const char *before = ct_thread_name(c);
    ck_assert_ct(ct_thread_set_name(c, "renamed"));
    ck_assert_str_eq(ct_thread_name(c), "renamed");
    ck_assert_str_eq(before, "named"); /* an old name stays valid */
    ck_assert_ct_err(ct_thread_set_name(c, NULL), CT_EINVAL);
    ct_thread_unref(a);
    ct_thread_unref(b);
    ct_thread_unref(c);
}
END_TEST

static int read_comm(void *arg)
{
    char path[64], comm[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%llu/comm", (unsigned long long)ct_get_native_id());
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(comm, sizeof comm, f))
            comm[0] = 0;
        fclose(f);
    }
    comm[strcspn(comm, "\n")] = 0;
    strcpy(arg, comm);
    return 0;
}

/* The OS sees the name, cut to its 15 bytes. No Python counterpart. */
START_TEST(test_thread_name_visible_to_os)
{
    char comm[32];
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = read_comm, .arg = comm,
                                                   .name = "a-rather-long-thread-name"}));
    ck_assert_ct(ct_thread_start(t));
    join_unref(t);
    ck_assert_str_eq(comm, "a-rather-long-t"); /* cut to the OS's 15 bytes */
}
END_TEST

static ct_bounded_semaphore sema;
static _Atomic int running, most_running;

static int various_ops_target(void *arg)
{
    (void)arg;
    ct_thread *me = ct_current_thread();
    ck_assert(ct_thread_ident(me) == ct_get_ident());
    ck_assert(ct_thread_native_id(me) == ct_get_native_id());
    ck_assert(ct_thread_is_alive(me));
    CT_WITH_BOUNDED_SEMAPHORE(&sema)
    {
        int now = atomic_fetch_add(&running, 1) + 1;
        int m = atomic_load(&most_running);
        while (now > m && !atomic_compare_exchange_weak(&most_running, &m, now))
            ;
        ck_assert_int_le(now, 3);
        atomic_fetch_sub(&running, 1);
    }
    return 0;
}

/* test_threading.ThreadTests.test_various_ops: ident 0 before start and
 * set after, is_alive across the life, at most 3 inside the semaphore. */
static void various_ops(void)
{
    enum { N = 10 };
    ct_thread *t[N];
    ck_assert_ct(ct_bounded_semaphore_init(&sema, 3, 0));
    int before = ct_active_count();
    for (int i = 0; i < N; i++) {
        ck_assert_ct(ct_thread_new(&t[i], &(ct_thread_opts){.target = various_ops_target}));
        ck_assert(ct_thread_ident(t[i]) == 0);
        ck_assert(!ct_thread_is_alive(t[i]));
        ck_assert_ct(ct_thread_start(t[i]));
        ck_assert(ct_thread_ident(t[i]) != 0);
    }
    for (int i = 0; i < N; i++) {
        join_unref(t[i]);
    }
    ck_assert_int_eq(ct_active_count(), before);
    ck_assert_int_le(atomic_load(&most_running), 3);
}

START_TEST(test_thread_various_ops)
{
    various_ops();
}
END_TEST

/* test_threading.ThreadTests.test_various_ops_small_stack */
START_TEST(test_thread_various_ops_small_stack)
{
    ck_assert_ct(ct_set_stack_size(262144));
    various_ops();
    ck_assert_ct(ct_set_stack_size(0));
}
END_TEST

/* test_threading.ThreadTests.test_various_ops_large_stack */
START_TEST(test_thread_various_ops_large_stack)
{
    ck_assert_ct(ct_set_stack_size(0x100000));
    ck_assert_uint_eq(ct_get_stack_size(), 0x100000);
    various_ops();
    ck_assert_ct(ct_set_stack_size(0));
}
END_TEST

/* test_thread.ThreadRunningTests.test_nt_and_posix_stack_size (for
 * threading.stack_size): 0 or at least 32 KiB; a bad size is an error that
 * leaves the setting as it was. */
START_TEST(test_thread_stack_size_errors)
{
    ck_assert_ct(ct_set_stack_size(65536));
    ck_assert_ct_err(ct_set_stack_size(4096), CT_EINVAL);
    ck_assert_ct_err(ct_set_stack_size(32767), CT_EINVAL);
    ck_assert_uint_eq(ct_get_stack_size(), 65536);
    ck_assert_ct(ct_set_stack_size(32768));
    ck_assert_ct(ct_set_stack_size(0));
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = nothing, .stack_size = 100}));
    ck_assert_ct_err(ct_thread_start(t), CT_EINVAL);
    ck_assert(!ct_thread_is_alive(t));
    ct_thread_unref(t);
}
END_TEST

static ct_event foreign_asked, foreign_may_end;
static ct_thread *foreign_obj;

static void *foreign_main(void *arg)
{
    (void)arg;
    foreign_obj = ct_thread_ref(ct_current_thread());
    ck_assert(ct_current_thread() == foreign_obj); /* the same dummy each time */
    ct_event_set(&foreign_asked);
    ct_event_wait(&foreign_may_end, CT_FOREVER);
    return NULL;
}

static int in_enumerate(ct_thread *t)
{
    ct_thread *all[64];
    size_t n = ct_enumerate(all, 64);
    int found = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        found |= all[i] == t;
        ct_thread_unref(all[i]);
    }
    return found;
}

/* test_threading.ThreadTests.test_foreign_thread: a thread not started by
 * cthreading gets a dummy Thread: alive, daemonic, not joinable; unlike
 * Python, it leaves enumerate() when the thread ends. */
START_TEST(test_thread_foreign_thread)
{
    pthread_t tid;
    int before = ct_active_count();
    ck_assert_int_eq(pthread_create(&tid, NULL, foreign_main, NULL), 0);
    ck_assert_ct(ct_event_wait(&foreign_asked, CT_FOREVER));
    unsigned n;
    ck_assert_int_eq(sscanf(ct_thread_name(foreign_obj), "Dummy-%u", &n), 1);
    ck_assert(ct_thread_daemon(foreign_obj));
    ck_assert(ct_thread_is_alive(foreign_obj));
    ck_assert(ct_thread_ident(foreign_obj) == (uint64_t)tid);
    ck_assert_ct_err(ct_thread_join(foreign_obj, 0), CT_EFOREIGN);
    ck_assert_ct_err(ct_thread_start(foreign_obj), CT_ESTARTED);
    ck_assert_int_eq(ct_active_count(), before + 1);
    ck_assert(in_enumerate(foreign_obj));
    ct_event_set(&foreign_may_end);
    pthread_join(tid, NULL);
    ck_assert(!ct_thread_is_alive(foreign_obj));
    ck_assert(!in_enumerate(foreign_obj));
    ck_assert_int_eq(ct_active_count(), before);
    ct_thread_unref(foreign_obj);
}
END_TEST

/* test_threading.ThreadTests.test_enumerate_after_join */
START_TEST(test_thread_enumerate_after_join)
{
    size_t before = ct_enumerate(NULL, 0);
    ck_assert_int_eq((int)before, ct_active_count());
    ck_assert(in_enumerate(ct_main_thread()));
    for (int i = 0; i < 100; i++) {
        ct_thread *t = start(nothing, NULL);
        join_unref(t);
        ck_assert_uint_eq(ct_enumerate(NULL, 0), before);
    }
}
END_TEST

static void joiner(void *arg, int i)
{
    (void)i;
    ck_assert_ct(ct_thread_join(arg, CT_FOREVER));
}

/* test_threading.ThreadTests.test_join_from_multiple_threads */
START_TEST(test_thread_join_from_multiple_threads)
{
    ct_event_clear(&go);
    ct_thread *t = start(wait_for_go, NULL);
    bunch *b = bunch_start(joiner, t, 5);
    bunch_wait_parked(b, 5);
    ck_assert_int_eq(bunch_finished(b), 0);
    ct_event_set(&go);
    bunch_join(b);
    ck_assert(!ct_thread_is_alive(t));
    ck_assert_ct(ct_thread_join(t, 0)); /* and once more, after it ended */
    ct_thread_unref(t);
}
END_TEST

/* test_threading.ThreadTests.test_join_with_timeout */
START_TEST(test_thread_join_with_timeout)
{
    ct_event_clear(&go);
    ct_thread *t = start(wait_for_go, NULL);
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_thread_join(t, 0.1), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 >= 0.1);
    ck_assert(ct_thread_is_alive(t));
    ck_assert_ct_err(ct_thread_join(t, -1.5), CT_ETIMEOUT);
    ct_event_set(&go);
    join_unref(t);
}
END_TEST

static int report_daemon(void *arg)
{
    ct_thread *child;
    ck_assert_ct(ct_thread_new(&child, &(ct_thread_opts){.target = nothing}));
    *(int *)arg = ct_thread_daemon(child);
    ct_thread_unref(child);
    return 0;
}

/* test_threading.ThreadTests.test_daemon_param: default inherited from
 * the creating thread (main is not a daemon). */
START_TEST(test_thread_daemon_param)
{
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, NULL));
    ck_assert(!ct_thread_daemon(t));
    ct_thread_unref(t);
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.daemon = CT_DAEMON}));
    ck_assert(ct_thread_daemon(t));
    ct_thread_unref(t);
    int inherited = -1;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = report_daemon, .arg = &inherited,
                                        .daemon = CT_DAEMON}));
    ck_assert_ct(ct_thread_start(t));
    join_unref(t);
    ck_assert_int_eq(inherited, 1);
    ck_assert(!ct_thread_daemon(ct_main_thread()));
}
END_TEST

static int check_not_main(void *arg)
{
    (void)arg;
    ck_assert(ct_current_thread() != ct_main_thread());
    return 0;
}

/* test_threading.ThreadTests.test_main_thread */
START_TEST(test_thread_main_thread)
{
    ct_thread *m = ct_main_thread();
    ck_assert_str_eq(ct_thread_name(m), "MainThread");
    ck_assert(ct_current_thread() == m);
    ck_assert(ct_thread_ident(m) == ct_get_ident());
    ck_assert(ct_thread_is_alive(m));
    join_unref(start(check_not_main, NULL));
    ck_assert_ct_err(ct_thread_join(m, 0), CT_EDEADLK);
}
END_TEST

/* test_threading.ThreadTests.test_leak_without_join: threads that are
 * never joined and dropped at once leave nothing behind (ASan checks). */
START_TEST(test_thread_leak_without_join)
{
    for (int i = 0; i < 100; i++)
        ct_thread_unref(start(nothing, NULL));
}
END_TEST

/* test_threading.ThreadingExceptionTests.test_start_thread_again */
START_TEST(test_thread_start_thread_again)
{
    ct_event_clear(&go);
    ct_thread *t = start(wait_for_go, NULL);
    ck_assert_ct_err(ct_thread_start(t), CT_ESTARTED);
    ct_event_set(&go);
    ck_assert_ct(ct_thread_join(t, CT_FOREVER));
    ck_assert_ct_err(ct_thread_start(t), CT_ESTARTED);
    ct_thread_unref(t);
}
END_TEST

static int join_self(void *arg)
{
    *(int *)arg = ct_thread_join(ct_current_thread(), CT_FOREVER);
    return 0;
}

/* test_threading.ThreadingExceptionTests.test_joining_current_thread */
START_TEST(test_thread_joining_current_thread)
{
    int rc = 0;
    join_unref(start(join_self, &rc));
    ck_assert_ct_err(rc, CT_EDEADLK);
}
END_TEST

/* test_threading.ThreadingExceptionTests.test_joining_inactive_thread */
START_TEST(test_thread_joining_inactive_thread)
{
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = nothing}));
    ck_assert_ct_err(ct_thread_join(t, CT_FOREVER), CT_ENOTSTARTED);
    ck_assert_ct_err(ct_thread_join(t, 0), CT_ENOTSTARTED);
    ct_thread_unref(t);
}
END_TEST

/* test_threading.ThreadingExceptionTests.test_daemonize_active_thread */
START_TEST(test_thread_daemonize_active_thread)
{
    ct_event_clear(&go);
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = wait_for_go}));
    ck_assert_ct(ct_thread_set_daemon(t, 1));
    ck_assert(ct_thread_daemon(t));
    ck_assert_ct(ct_thread_set_daemon(t, 0));
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct_err(ct_thread_set_daemon(t, 1), CT_EACTIVE);
    ck_assert(!ct_thread_daemon(t));
    ct_event_set(&go);
    join_unref(t);
    ck_assert_ct_err(ct_thread_set_daemon(ct_main_thread(), 1), CT_EACTIVE);
}
END_TEST

static ct_thread *hooked_thread;
static _Atomic int hook_code, hook_calls;
static void capture_hook(const ct_except_args *args, void *arg)
{
    ck_assert_ptr_eq(arg, &hook_calls);
    hooked_thread = args->thread;
    ck_assert(ct_current_thread() == args->thread); /* runs in the failing thread */
    atomic_store(&hook_code, args->code);
    atomic_fetch_add(&hook_calls, 1);
}

static int return_arg(void *arg)
{
    return (int)(long)arg;
}

/* test_threading.ExceptHookTests.test_custom_excepthook: a target's
 * non-zero return goes to the hook, and to ct_thread_result. */
START_TEST(test_thread_custom_excepthook)
{
    ct_set_excepthook(capture_hook, &hook_calls);
    ct_thread *t = start(return_arg, (void *)7L);
    ck_assert_ct(ct_thread_join(t, CT_FOREVER));
    ck_assert_int_eq(atomic_load(&hook_calls), 1);
    ck_assert_int_eq(atomic_load(&hook_code), 7);
    ck_assert_ptr_eq(hooked_thread, t);
    ck_assert_int_eq(ct_thread_result(t), 7);
    ct_thread_unref(t);
    t = start(return_arg, (void *)0L); /* success: no call */
    join_unref(t);
    ck_assert_int_eq(atomic_load(&hook_calls), 1);
    ct_set_excepthook(NULL, NULL); /* back to the default */
}
END_TEST

/* test_threading.ExceptHookTests.test_excepthook: the default hook prints
 * one line naming the thread and the error. */
START_TEST(test_thread_excepthook)
{
    char out[1024];
    int status = run_prog("exit_semantics", "excepthook", out, sizeof out);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(strstr(out, "Exception in thread worker-a: error 5\n"), "output: %s", out);
    ck_assert_msg(strstr(out, "Exception in thread worker-b: CT_ETIMEDOUT (timed out)\n"),
                  "output: %s", out);
    ck_assert_msg(strstr(out, "results 5 1\n"), "output: %s", out);
}
END_TEST

/* test_threading.ThreadJoinOnShutdown.test_1_join_on_shutdown: returning
 * from main waits for non-daemon threads. */
START_TEST(test_thread_1_join_on_shutdown)
{
    char out[1024];
    int status = run_prog("exit_semantics", "join_on_return", out, sizeof out);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_str_eq(out, "end of main\nend of thread\n");
}
END_TEST

/* test_threading.ThreadTests.test_join_nondaemon_on_shutdown: exit()
 * waits too, and keeps its status. */
START_TEST(test_thread_join_nondaemon_on_shutdown)
{
    char out[1024];
    int status = run_prog("exit_semantics", "join_on_exit", out, sizeof out);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 3);
    ck_assert_str_eq(out, "calling exit\nend of thread\n");
}
END_TEST

/* test_threading.ThreadJoinOnShutdown.test_4_daemon_threads: daemon
 * threads are abandoned at exit. */
START_TEST(test_thread_4_daemon_threads)
{
    char out[1024];
    int status = run_prog("exit_semantics", "daemon", out, sizeof out);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_str_eq(out, "end of main\n");
}
END_TEST

/* test_threading.ThreadJoinOnShutdown.test_thread_from_thread: a thread
 * started by a thread that already ended is still waited for. */
START_TEST(test_thread_thread_from_thread)
{
    char out[1024];
    int status = run_prog("exit_semantics", "thread_from_thread", out, sizeof out);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(strstr(out, "end of thread 2\n") != NULL, "output: %s", out);
    ck_assert_msg(strstr(out, "end of main\n") != NULL, "output: %s", out);
}
END_TEST

static _Atomic int traced, profiled, target_saw_hooks;
static void trace(ct_thread *t, void *arg)
{
    ck_assert(t == ct_current_thread());
    atomic_fetch_add((_Atomic int *)arg, 1);
}

static int check_hooks_ran(void *arg)
{
    (void)arg;
    atomic_store(&target_saw_hooks, atomic_load(&traced) == 1 && atomic_load(&profiled) == 1);
    return 0;
}

/* threading.settrace / setprofile: the hooks run in every thread started
 * afterwards, before its target. */
START_TEST(test_thread_settrace_setprofile)
{
    ct_set_trace(trace, &traced);
    ct_set_profile(trace, &profiled);
    join_unref(start(check_hooks_ran, NULL));
    ck_assert(atomic_load(&target_saw_hooks));
    ct_set_trace(NULL, NULL);
    ct_set_profile(NULL, NULL);
    join_unref(start(nothing, NULL));
    ck_assert_int_eq(atomic_load(&traced), 1);
}
END_TEST

static ct_event low_level_ran;
static int low_level(void *arg)
{
    *(uint64_t *)arg = ct_get_ident();
    ct_event_set(&low_level_ran);
    return 0;
}

/* _thread.start_new_thread */
START_TEST(test_thread_start_new_thread)
{
    uint64_t ident = 0, seen = 0;
    ck_assert_ct(ct_start_new_thread(low_level, &seen, &ident));
    ck_assert_ct(ct_event_wait(&low_level_ran, CT_FOREVER));
    ck_assert(ident != 0);
    ck_assert(seen == ident);
}
END_TEST

/* ---- threads that end through pthread_exit() or cancellation ---- */

static ct_local *ending_local;
static _Atomic int ending_destroyed, ending_hook_calls;
static ct_event ending_ready;

static void count_ending_destroy(void *value, void *arg)
{
    (void)value;
    (void)arg;
    atomic_fetch_add(&ending_destroyed, 1);
}

static void count_hook(const ct_except_args *args, void *arg)
{
    (void)args;
    (void)arg;
    atomic_fetch_add(&ending_hook_calls, 1);
}

static int leave_by_pthread_exit(void *arg)
{
    ck_assert_ct(ct_local_set(ending_local, arg));
    pthread_exit(NULL);
}

static int block_in_sleep(void *arg)
{
    ck_assert_ct(ct_local_set(ending_local, arg));
    ct_event_set(&ending_ready);
    ct_sleep(60); /* a cancellation point */
    return 5;
}

static int block_in_read(void *arg)
{
    ck_assert_ct(ct_local_set(ending_local, arg));
    ct_event_set(&ending_ready);
    char c;
    return read(*(int *)arg, &c, 1) == 1 ? 6 : 7;
}

/* Start target(arg); when `cancel`, cancel the thread once it is about
 * to block. Then check that it ended as if its target returned 0: join
 * returns at once with 0, it is not alive nor listed, its local value is
 * destroyed, the excepthook was not called and its result is 0. */
static void check_ends_like_return(ct_thread_fn target, void *arg, int cancel)
{
    ck_assert_ct(ct_local_new(&ending_local,
                              &(ct_local_opts){.destroy = count_ending_destroy}));
    atomic_store(&ending_destroyed, 0);
    atomic_store(&ending_hook_calls, 0);
    ct_event_clear(&ending_ready);
    ct_set_excepthook(count_hook, NULL);
    int before = ct_active_count();
    ct_thread *t = start(target, arg);
    if (cancel) {
        ck_assert_ct(ct_event_wait(&ending_ready, CT_FOREVER));
        ck_assert_int_eq(pthread_cancel((pthread_t)ct_thread_ident(t)), 0);
    }
    ck_assert_ct(ct_thread_join(t, 10));
    ck_assert(!ct_thread_is_alive(t));
    ck_assert(!in_enumerate(t));
    ck_assert_int_eq(ct_active_count(), before);
    ck_assert_int_eq(atomic_load(&ending_destroyed), 1);
    ck_assert_int_eq(atomic_load(&ending_hook_calls), 0);
    ck_assert_int_eq(ct_thread_result(t), 0);
    ck_assert_ct(ct_thread_join(t, 0));
    ct_thread_unref(t);
    ct_set_excepthook(NULL, NULL);
    ct_local_unref(ending_local);
}

/* test_threading.ExceptHookTests.test_system_exit: a thread that leaves
 * through pthread_exit() (Python's sys.exit() in a thread) ends like one
 * whose target returned, and the excepthook is not called. */
START_TEST(test_thread_system_exit)
{
    static int value;
    check_ends_like_return(leave_by_pthread_exit, &value, 0);
}
END_TEST

/* GCC 12's ASan does not see glibc unwind a cancelled thread (a longjmp
 * it does not intercept): the redzones of the abandoned frames stay
 * poisoned, and the next instrumented frame there is reported (or ASan
 * fails a CHECK and can deadlock while reporting). pthread_exit() called
 * from instrumented code is fine: ASan unpoisons before the call. */
#define SKIP_CANCEL_UNDER_ASAN()                                                            \
    CT_SKIP_IF(ct_under_asan(), "ASan keeps stale redzones when glibc unwinds a cancelled thread")

/* The same for a thread cancelled with pthread_cancel while it blocks in
 * a cancellation point (ct_sleep, read). No Python counterpart: Python
 * cannot cancel a thread. */
START_TEST(test_thread_cancelled_ends_like_return)
{
    SKIP_CANCEL_UNDER_ASAN();
    static int value;
    check_ends_like_return(block_in_sleep, &value, 1);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    check_ends_like_return(block_in_read, &fds[0], 1);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/* Process exit does not wait forever for a non-daemon thread that left
 * through pthread_exit() (test_system_exit, at exit) ... */
START_TEST(test_thread_system_exit_at_exit)
{
    char out[1024];
    int status = run_prog("exit_semantics", "thread_exit_at_exit", out, sizeof out);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s",
                  (unsigned)status, out);
    ck_assert_str_eq(out, "end of main\n");
}
END_TEST

/* ... nor for one that was cancelled. No Python counterpart. */
START_TEST(test_thread_cancelled_at_exit)
{
    SKIP_CANCEL_UNDER_ASAN();
    char out[1024];
    int status = run_prog("exit_semantics", "cancel_at_exit", out, sizeof out);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s",
                  (unsigned)status, out);
    ck_assert_str_eq(out, "end of main\n");
}
END_TEST

/* ---- daemon status ---- */

static int set_daemon_inherit(void *arg)
{
    ct_thread *child;
    ck_assert_ct(ct_thread_new(&child, &(ct_thread_opts){.daemon = CT_NOT_DAEMON}));
    ck_assert(!ct_thread_daemon(child));
    ck_assert_ct(ct_thread_set_daemon(child, CT_DAEMON_INHERIT));
    *(int *)arg = ct_thread_daemon(child);
    ct_thread_unref(child);
    return 0;
}

/* Thread.daemon's setter (no Python test of its own): CT_NOT_DAEMON makes
 * a thread non-daemon, CT_DAEMON a daemon, CT_DAEMON_INHERIT takes the
 * caller's status, anything else is CT_EINVAL and changes nothing. */
START_TEST(test_thread_set_daemon)
{
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.daemon = CT_DAEMON}));
    ck_assert(ct_thread_daemon(t));
    ck_assert_ct(ct_thread_set_daemon(t, CT_NOT_DAEMON));
    ck_assert(!ct_thread_daemon(t));
    ck_assert_ct(ct_thread_set_daemon(t, CT_DAEMON));
    ck_assert(ct_thread_daemon(t));
    ck_assert_ct_err(ct_thread_set_daemon(t, 3), CT_EINVAL);
    ck_assert_ct_err(ct_thread_set_daemon(t, -1), CT_EINVAL);
    ck_assert(ct_thread_daemon(t));
    ck_assert_ct(ct_thread_set_daemon(t, CT_DAEMON_INHERIT)); /* main is not a daemon */
    ck_assert(!ct_thread_daemon(t));
    ct_thread_unref(t);
    ck_assert_ct_err(ct_thread_new(&t, &(ct_thread_opts){.daemon = 3}), CT_EINVAL);
    int inherited = -1;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = set_daemon_inherit,
                                                   .arg = &inherited, .daemon = CT_DAEMON}));
    ck_assert_ct(ct_thread_start(t));
    join_unref(t);
    ck_assert_int_eq(inherited, 1); /* a daemon's child inherits daemon */
}
END_TEST

/* test_threading.ThreadTests.test_limbo_cleanup (issue 7481): a start
 * that the system refuses (here: a stack too large to map) leaves no
 * trace in enumerate() or active_count(), and the thread may be started
 * again. */
START_TEST(test_thread_limbo_cleanup)
{
    int before = ct_active_count();
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = nothing}));
    ck_assert_ct(ct_set_stack_size((size_t)1 << 62)); /* more than the address space */
    ck_assert_ct_err(ct_thread_start(t), CT_EAGAIN);
    ck_assert_ct(ct_set_stack_size(0));
    ck_assert(!ct_thread_is_alive(t));
    ck_assert(!in_enumerate(t));
    ck_assert_int_eq(ct_active_count(), before);
    ck_assert_ct_err(ct_thread_join(t, 0), CT_ENOTSTARTED);
    ck_assert_ct(ct_thread_start(t));
    join_unref(t);
    ck_assert_int_eq(ct_active_count(), before);
}
END_TEST

/* ---- process exit ---- */

static void run_exit_scenario(const char *scenario, const char *expected)
{
    char out[1024];
    int status = run_prog("exit_semantics", scenario, out, sizeof out);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status 0x%x: %s",
                  scenario, (unsigned)status, out);
    ck_assert_str_eq(out, expected);
}

/* test_threading.AtexitTests.test_atexit_output, and the order around the
 * join: a ct_register_atexit handler runs before the non-daemon threads
 * are joined, a CT_ATEXIT_AFTER_JOIN one after, and an atexit() handler
 * registered before the first thread started runs last. */
START_TEST(test_thread_atexit_output)
{
    run_exit_scenario("atexit_order", "end of main\n"
                                      "before join: worker running\n"
                                      "worker done\n"
                                      "after join: worker finished\n"
                                      "atexit: worker finished\n");
}
END_TEST

/* An atexit() handler registered after the first thread started runs
 * before the library's exit handler, while threads still run (as
 * thread.h documents). No Python counterpart. */
START_TEST(test_thread_atexit_registered_late)
{
    run_exit_scenario("atexit_late", "end of main\n"
                                     "atexit: worker running\n"
                                     "before join: worker running\n"
                                     "worker done\n");
}
END_TEST

/* test_threading.AtexitTests.test_atexit_after_shutdown: registering an
 * exit handler once exit has begun fails (Python's RuntimeError). */
START_TEST(test_thread_atexit_after_shutdown)
{
    run_exit_scenario("register_during_exit", "register during exit: CT_ESHUTDOWN\n");
}
END_TEST

static void no_op(void *arg)
{
    (void)arg;
}

/* ct_register_atexit's argument errors. No Python counterpart. */
START_TEST(test_thread_register_atexit_errors)
{
    ck_assert_ct_err(ct_register_atexit(NULL, NULL, 0), CT_EINVAL);
    ck_assert_ct_err(ct_register_atexit(NULL, NULL, CT_ATEXIT_AFTER_JOIN), CT_EINVAL);
    ck_assert_ct_err(ct_register_atexit(no_op, NULL, 2), CT_EINVAL);
    ck_assert_ct_err(ct_register_atexit(no_op, NULL, CT_ATEXIT_AFTER_JOIN | 8), CT_EINVAL);
    ck_assert_ct(ct_register_atexit(no_op, NULL, 0));
    ck_assert_ct(ct_register_atexit(no_op, NULL, CT_ATEXIT_AFTER_JOIN));
}
END_TEST

/* test_threading.ThreadTests.test_main_thread_during_shutdown (bpo-31516):
 * during exit, in an after-join handler and in a plain atexit() handler,
 * the current thread is still the main thread, alive, and the only one
 * enumerate() lists. */
START_TEST(test_thread_main_thread_during_shutdown)
{
    run_exit_scenario("main_during_shutdown", "worker done\n"
                                              "after join: 1 1 1\n"
                                              "atexit: 1 1 1\n");
}
END_TEST

/* test_threading.ThreadTests.test_start_new_thread_at_finalization: once
 * the threads have been joined at exit, no new thread starts (Python's
 * "can't create new thread at interpreter shutdown"). */
START_TEST(test_thread_start_new_thread_at_finalization)
{
    run_exit_scenario("start_at_finalization", "OK\nstart_new_thread: CT_ESHUTDOWN\n");
}
END_TEST

/* ---- hooks ---- */

struct hook_call {
    ct_thread *thread;
    uint64_t caller;
    void *arg;
};
static struct hook_call hook_log[16];
static _Atomic int hook_count;

static ct_event worker_in;
static int signal_then_wait_for_go(void *arg)
{
    ct_event_set(&worker_in);
    return wait_for_go(arg);
}

static void log_hook(ct_thread *t, void *arg)
{
    int i = atomic_fetch_add(&hook_count, 1);
    if (i < 16)
        hook_log[i] = (struct hook_call){t, ct_get_ident(), arg};
}

typedef void (*hook_setter)(ct_thread_hook hook, void *arg);
typedef void (*hook_getter)(ct_thread_hook *hook, void **arg);

/* test_threading.ThreadTests.test_gettrace / test_getprofile: the getter
 * returns what the setter stored. */
static void check_get(hook_setter set, hook_getter get)
{
    static int tag;
    ct_thread_hook h = log_hook;
    void *a = &a;
    get(&h, &a);
    ck_assert(h == NULL);
    ck_assert_ptr_null(a);
    set(log_hook, &tag);
    get(&h, &a);
    ck_assert(h == log_hook);
    ck_assert_ptr_eq(a, &tag);
    get(NULL, &a);
    get(&h, NULL);
    get(NULL, NULL);
    set(NULL, NULL);
    get(&h, &a);
    ck_assert(h == NULL);
    ck_assert_ptr_null(a);
}

START_TEST(test_thread_gettrace)
{
    check_get(ct_set_trace, ct_get_trace);
}
END_TEST

START_TEST(test_thread_getprofile)
{
    check_get(ct_set_profile, ct_get_profile);
}
END_TEST

/* test_threading.ThreadTests.test_gettrace_all_threads /
 * test_getprofile_all_threads: the _all_threads setter calls the hook at
 * once, in the caller, for every live thread (the caller included), then
 * in each thread started afterwards, in that thread; the getter returns
 * it; NULL removes it. */
static void check_all_threads(hook_setter set_all, hook_getter get)
{
    static int tag;
    atomic_store(&hook_count, 0);
    ct_event_clear(&go);
    ct_thread *worker = start(signal_then_wait_for_go, NULL);
    /* Past its own hook calls: it only gets the one from set_all. */
    ck_assert_ct(ct_event_wait(&worker_in, CT_FOREVER));
    ck_assert_int_eq(ct_active_count(), 2);
    set_all(log_hook, &tag);
    ck_assert_int_eq(atomic_load(&hook_count), 2);
    int saw_main = 0, saw_worker = 0;
    for (int i = 0; i < 2; i++) {
        ck_assert(hook_log[i].caller == ct_get_ident());
        ck_assert_ptr_eq(hook_log[i].arg, &tag);
        saw_main += hook_log[i].thread == ct_main_thread();
        saw_worker += hook_log[i].thread == worker;
    }
    ck_assert(saw_main == 1 && saw_worker == 1);
    ct_thread_hook h;
    void *a;
    get(&h, &a);
    ck_assert(h == log_hook);
    ck_assert_ptr_eq(a, &tag);
    ct_thread *later = start(nothing, NULL);
    ck_assert_ct(ct_thread_join(later, CT_FOREVER));
    ck_assert_int_eq(atomic_load(&hook_count), 3);
    ck_assert_ptr_eq(hook_log[2].thread, later);
    ck_assert(hook_log[2].caller == ct_thread_ident(later));
    ct_thread_unref(later);
    set_all(NULL, NULL);
    get(&h, &a);
    ck_assert(h == NULL);
    join_unref(start(nothing, NULL));
    ck_assert_int_eq(atomic_load(&hook_count), 3);
    ct_event_set(&go);
    join_unref(worker);
}

START_TEST(test_thread_gettrace_all_threads)
{
    check_all_threads(ct_set_trace_all_threads, ct_get_trace);
}
END_TEST

START_TEST(test_thread_getprofile_all_threads)
{
    check_all_threads(ct_set_profile_all_threads, ct_get_profile);
}
END_TEST

/* test_threading.ExceptHookTests.test_original_excepthook: the default
 * hook is ct_default_excepthook; a custom one replaces it; NULL restores
 * the default. */
START_TEST(test_thread_original_excepthook)
{
    ct_excepthook_fn h = NULL;
    void *a = &a;
    ct_get_excepthook(&h, &a);
    ck_assert(h == ct_default_excepthook);
    ck_assert_ptr_null(a);
    ct_set_excepthook(capture_hook, &hook_calls);
    ct_get_excepthook(&h, &a);
    ck_assert(h == capture_hook);
    ck_assert_ptr_eq(a, &hook_calls);
    ct_get_excepthook(NULL, &a);
    ct_get_excepthook(&h, NULL);
    ct_set_excepthook(NULL, &hook_calls);
    ct_get_excepthook(&h, &a);
    ck_assert(h == ct_default_excepthook);
    ck_assert_ptr_null(a);
}
END_TEST

/* ---- names while renamed ---- */

static ct_thread *renamed;
static _Atomic int renames_done, bad_names;
static const char *const names[] = {"original", "first-name", "a-second-and-longer-name"};

static void renamer(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int n = 0; n < 2000; n++)
        ck_assert_ct(ct_thread_set_name(renamed, names[1 + n % 2]));
    atomic_store(&renames_done, 1);
}

static void name_reader(void *arg, int i)
{
    (void)arg;
    (void)i;
    long reads = 0;
    while (!atomic_load(&renames_done) || reads < 1000) {
        const char *name = ct_thread_name(renamed);
        if (strcmp(name, names[0]) && strcmp(name, names[1]) && strcmp(name, names[2]))
            atomic_fetch_add(&bad_names, 1);
        reads++;
    }
}

/* A name read while another thread renames the (running) thread in a
 * loop is always one of the names given, and stays readable. No Python
 * counterpart (Python's GIL makes it trivial). */
START_TEST(test_thread_name_stable_across_renames)
{
    ct_event_clear(&go);
    ck_assert_ct(ct_thread_new(&renamed, &(ct_thread_opts){.target = wait_for_go,
                                                         .name = names[0]}));
    ck_assert_ct(ct_thread_start(renamed));
    const char *first = ct_thread_name(renamed);
    bunch *readers = bunch_start(name_reader, NULL, 2);
    bunch *writer = bunch_start(renamer, NULL, 1);
    bunch_join(writer);
    bunch_join(readers);
    ck_assert_int_eq(atomic_load(&bad_names), 0);
    ck_assert_str_eq(first, names[0]); /* the first pointer is still valid */
    ck_assert_str_eq(ct_thread_name(renamed), names[2]);
    ct_event_set(&go);
    join_unref(renamed);
}
END_TEST

/* ---- signals ---- */

static int sigusr1_blocked_here(void)
{
    sigset_t now;
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
    return sigismember(&now, SIGUSR1);
}

static int report_mask(void *arg)
{
    *(int *)arg = sigusr1_blocked_here();
    return 0;
}

static int report_mask_task(void *arg, void **result)
{
    (void)arg;
    *result = (void *)(long)sigusr1_blocked_here();
    return 0;
}

/* Threads started by cthreading (threads, executor workers) begin with
 * the signal mask of the thread that started them (thread.h). No Python
 * counterpart. */
START_TEST(test_thread_signal_mask_inherited)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
    int blocked = -1;
    join_unref(start(report_mask, &blocked));
    ck_assert_int_eq(blocked, 1);
    ct_executor *ex;
    ck_assert_ct(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 1}));
    ct_future *f;
    ck_assert_ct(ct_executor_submit(ex, report_mask_task, NULL, &f));
    void *r = NULL;
    ck_assert_ct(ct_future_result(f, &r, CT_FOREVER));
    ck_assert_ptr_eq(r, (void *)1L);
    ct_future_unref(f);
    ck_assert_ct(ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT));
    ct_executor_unref(ex);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    blocked = -1;
    join_unref(start(report_mask, &blocked));
    ck_assert_int_eq(blocked, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("thread");
    CT_ADD_TEST(s, test_thread_name, 10);
    CT_ADD_TEST(s, test_thread_name_visible_to_os, 10);
    CT_ADD_TEST(s, test_thread_various_ops, 10);
    CT_ADD_TEST(s, test_thread_various_ops_small_stack, 10);
    CT_ADD_TEST(s, test_thread_various_ops_large_stack, 10);
    CT_ADD_TEST(s, test_thread_stack_size_errors, 10);
    CT_ADD_TEST(s, test_thread_foreign_thread, 10);
    CT_ADD_TEST(s, test_thread_enumerate_after_join, 20);
    CT_ADD_TEST(s, test_thread_join_from_multiple_threads, 10);
    CT_ADD_TEST(s, test_thread_join_with_timeout, 10);
    CT_ADD_TEST(s, test_thread_daemon_param, 10);
    CT_ADD_TEST(s, test_thread_main_thread, 10);
    CT_ADD_TEST(s, test_thread_leak_without_join, 20);
    CT_ADD_TEST(s, test_thread_start_thread_again, 10);
    CT_ADD_TEST(s, test_thread_joining_current_thread, 10);
    CT_ADD_TEST(s, test_thread_joining_inactive_thread, 10);
    CT_ADD_TEST(s, test_thread_daemonize_active_thread, 10);
    CT_ADD_TEST(s, test_thread_custom_excepthook, 10);
    CT_ADD_TEST(s, test_thread_excepthook, 20);
    CT_ADD_TEST(s, test_thread_1_join_on_shutdown, 20);
    CT_ADD_TEST(s, test_thread_join_nondaemon_on_shutdown, 20);
    CT_ADD_TEST(s, test_thread_4_daemon_threads, 20);
    CT_ADD_TEST(s, test_thread_thread_from_thread, 20);
    CT_ADD_TEST(s, test_thread_settrace_setprofile, 10);
    CT_ADD_TEST(s, test_thread_start_new_thread, 10);
    CT_ADD_TEST(s, test_thread_system_exit, 10);
    CT_ADD_TEST(s, test_thread_cancelled_ends_like_return, 20);
    CT_ADD_TEST(s, test_thread_system_exit_at_exit, 20);
    CT_ADD_TEST(s, test_thread_cancelled_at_exit, 20);
    CT_ADD_TEST(s, test_thread_set_daemon, 10);
    CT_ADD_TEST(s, test_thread_limbo_cleanup, 10);
    CT_ADD_TEST(s, test_thread_atexit_output, 20);
    CT_ADD_TEST(s, test_thread_atexit_registered_late, 20);
    CT_ADD_TEST(s, test_thread_atexit_after_shutdown, 20);
    CT_ADD_TEST(s, test_thread_register_atexit_errors, 10);
    CT_ADD_TEST(s, test_thread_main_thread_during_shutdown, 20);
    CT_ADD_TEST(s, test_thread_start_new_thread_at_finalization, 20);
    CT_ADD_TEST(s, test_thread_gettrace, 10);
    CT_ADD_TEST(s, test_thread_getprofile, 10);
    CT_ADD_TEST(s, test_thread_gettrace_all_threads, 10);
    CT_ADD_TEST(s, test_thread_getprofile_all_threads, 10);
    CT_ADD_TEST(s, test_thread_original_excepthook, 10);
    CT_ADD_TEST(s, test_thread_name_stable_across_renames, 30);
    CT_ADD_TEST(s, test_thread_signal_mask_inherited, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
