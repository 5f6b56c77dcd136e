/*
 * Process: ports of CPython's _TestProcess (_test_multiprocessing.py),
 * each run with both start methods (fork, forkserver), plus exit codes,
 * stdio and exit handling, the fallback without pidfds, and misuse.
 * Children report through shared memory and exit codes; nothing is
 * ordered by sleeping (shared Events order the processes).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "park.h"
#include "proc.h"
#include "process_support.h"

/* Shared between a test and its children. */
struct board {
    ct_event go, ready, done;
    ct_lock lock;
    int count;
    int pid;
    int parent_pid;
    int status;
    uint64_t native_id;
    char name[64], parent_name[64];
    char log[16][8];
};

static struct board *new_board(void)
{
    struct board *b = shared(sizeof *b);
    ck_assert_ct(ct_event_init(&b->go, CT_PSHARED));
    ck_assert_ct(ct_event_init(&b->ready, CT_PSHARED));
    ck_assert_ct(ct_event_init(&b->done, CT_PSHARED));
    ck_assert_ct(ct_lock_init(&b->lock, CT_PSHARED));
    return b;
}

static struct board *board_of(void *arg)
{
    return *(struct board **)arg;
}

/* test_current */
START_TEST(test_current)
{
    START_METHOD();
    ct_process *me = ct_current_process();
    ck_assert_ptr_nonnull(me);
    ck_assert(ct_process_is_alive(me));
    ck_assert(!ct_process_daemon(me));
    ck_assert_int_eq(ct_process_pid(me), getpid());
    ck_assert_int_eq(ct_process_exitcode(me), CT_EXITCODE_NONE);
    ck_assert_str_eq(ct_process_name(me), "MainProcess");
    ck_assert_ptr_null(ct_parent_process());
    ck_assert_ct_err(ct_process_join(me, 0), CT_EDEADLK);
    ck_assert_ct_err(ct_process_start(me), CT_ESTARTED);
}
END_TEST

/* test_process: a child that reports its name, pid and arguments. */
struct args {
    struct board *b;
    int one, two;
};

static int report(void *arg)
{
    struct args *a = arg;
    struct board *b = a->b;
    ct_process *me = ct_current_process();
    snprintf(b->name, sizeof b->name, "%s", ct_process_name(me));
    b->pid = ct_process_pid(me);
    b->count = a->one + a->two;
    ct_event_set(&b->ready);
    return ct_event_wait(&b->go, 30) == 0 ? 0 : 1;
}

START_TEST(test_process)
{
    START_METHOD();
    struct board *b = new_board();
    struct args a = {b, 1, 2};
    ct_process *p;
    ck_assert_ct(ct_process_new(&p, &(ct_process_opts){.target = report, .arg = &a,
                                                       .arg_size = sizeof a,
                                                       .name = "SomeProcess",
                                                       .daemon = CT_DAEMON}));
    ck_assert(!ct_process_is_alive(p));
    ck_assert(ct_process_daemon(p));
    ck_assert_int_eq(ct_active_children(NULL, 0), 0);
    ck_assert_int_eq(ct_process_exitcode(p), CT_EXITCODE_NONE);
    ck_assert_int_eq(ct_process_pid(p), 0);
    ck_assert_ct(ct_process_start(p));
    ck_assert_int_eq(ct_process_exitcode(p), CT_EXITCODE_NONE);
    ck_assert(ct_process_is_alive(p));
    ct_process *kids[4];
    ck_assert_int_eq(ct_active_children(kids, 4), 1);
    ck_assert_ptr_eq(kids[0], p);
    ct_process_unref(kids[0]);
    ck_assert_ct(ct_event_wait(&b->ready, 30));
    ck_assert_str_eq(b->name, "SomeProcess");
    ck_assert_int_eq(b->pid, ct_process_pid(p));
    ck_assert_int_eq(b->count, 3);
    ct_event_set(&b->go);
    join_or_kill(p, 30);
    ck_assert_int_eq(ct_process_exitcode(p), 0);
    ck_assert(!ct_process_is_alive(p));
    ck_assert_int_eq(ct_active_children(NULL, 0), 0);
    ct_process_unref(p);
}
END_TEST

/* test_process_mainthread_native_id */
static int native_id(void *arg)
{
    board_of(arg)->native_id = ct_get_native_id();
    return 0;
}

START_TEST(test_process_mainthread_native_id)
{
    START_METHOD();
    struct board *b = new_board();
    expect_exit(spawn(native_id, &b, sizeof b), 0);
    ck_assert_uint_ne(b->native_id, 0);
    ck_assert_uint_ne(b->native_id, ct_get_native_id());
}
END_TEST

/* test_daemon_argument, and Python's "daemonic processes are not allowed
 * to have children". */
static int nothing(void *arg)
{
    (void)arg;
    return 0;
}

static int daemon_starts_child(void *arg)
{
    (void)arg;
    ct_process *p;
    if (ct_process_new(&p, &(ct_process_opts){.target = nothing}) != 0)
        return 1;
    int rc = ct_process_start(p);
    ct_process_unref(p);
    return rc == CT_ESTATE ? 0 : 2;
}

START_TEST(test_daemon_argument)
{
    START_METHOD();
    ct_process *p0, *p1, *p2;
    ck_assert_ct(ct_process_new(&p0, &(ct_process_opts){.target = nothing}));
    ck_assert_int_eq(ct_process_daemon(p0), ct_process_daemon(ct_current_process()));
    ck_assert_ct(ct_process_new(&p1, &(ct_process_opts){.target = nothing, .daemon = CT_DAEMON}));
    ck_assert(ct_process_daemon(p1));
    ck_assert_ct(ct_process_new(&p2, &(ct_process_opts){.target = nothing,
                                                        .daemon = CT_NOT_DAEMON}));
    ck_assert(!ct_process_daemon(p2));
    ck_assert_ct(ct_process_set_daemon(p2, CT_DAEMON));
    ck_assert(ct_process_daemon(p2));
    ct_process_unref(p0);
    ct_process_unref(p1);
    ct_process_unref(p2);
    expect_exit(spawn_opts(&(ct_process_opts){.target = daemon_starts_child,
                                              .daemon = CT_DAEMON}),
                0);
}
END_TEST

/* test_parent_process_attributes */
static int send_parent(void *arg)
{
    struct board *b = board_of(arg);
    ct_process *par = ct_parent_process();
    if (!par)
        return 1;
    b->parent_pid = ct_process_pid(par);
    snprintf(b->parent_name, sizeof b->parent_name, "%s", ct_process_name(par));
    return ct_process_is_alive(par) ? 0 : 2;
}

START_TEST(test_parent_process_attributes)
{
    START_METHOD();
    ck_assert_ptr_null(ct_parent_process());
    struct board *b = new_board();
    expect_exit(spawn(send_parent, &b, sizeof b), 0);
    ck_assert_int_eq(b->parent_pid, getpid());
    ck_assert_str_eq(b->parent_name, ct_process_name(ct_current_process()));
}
END_TEST

/* test_parent_process: a grandchild notices that its parent died. */
static int report_parent_status(void *arg)
{
    struct board *b = board_of(arg);
    ct_process *par = ct_parent_process();
    b->status = ct_process_is_alive(par) ? 1 : 0;
    ct_event_set(&b->ready);
    int rc = ct_process_join(par, 30);
    b->count = ct_process_is_alive(par) ? 1 : 0;
    ct_event_set(&b->done);
    return rc == 0 ? 0 : 3;
}

static int create_grandchild(void *arg)
{
    die_with_parent();
    struct board *b = board_of(arg);
    ct_process *p;
    if (ct_process_new(&p, &(ct_process_opts){.target = report_parent_status, .arg = arg,
                                               .arg_size = sizeof b, .daemon = CT_DAEMON}) ||
        ct_process_start(p))
        return 1;
    ct_event_wait(&b->go, 60); /* never set: terminated while waiting */
    return 0;
}

START_TEST(test_parent_process)
{
    START_METHOD();
    struct board *b = new_board();
    b->count = -1;
    ct_process *p = spawn(create_grandchild, &b, sizeof b);
    ck_assert_ct(ct_event_wait(&b->ready, 30));
    ck_assert_int_eq(b->status, 1); /* "alive" */
    ck_assert_ct(ct_process_terminate(p));
    join_or_kill(p, 30);
    ck_assert_int_eq(ct_process_exitcode(p), -SIGTERM);
    ck_assert_ct(ct_event_wait(&b->done, 30));
    ck_assert_int_eq(b->count, 0); /* "not alive" */
    ct_process_unref(p);
}
END_TEST

/* _kill_process: test_terminate, test_kill */
static int sleep_some(void *arg)
{
    die_with_parent();
    ct_event_wait(&board_of(arg)->go, 100); /* never set */
    return 0;
}

static int kill_process(int (*meth)(ct_process *))
{
    struct board *b = new_board();
    ct_process *p = spawn_opts(&(ct_process_opts){.target = sleep_some, .arg = &b,
                                                  .arg_size = sizeof b, .daemon = CT_DAEMON});
    ck_assert(ct_process_is_alive(p));
    ct_process *kids[2];
    ck_assert_int_eq(ct_active_children(kids, 2), 1);
    ck_assert_ptr_eq(kids[0], p);
    ct_process_unref(kids[0]);
    ck_assert_int_eq(ct_process_exitcode(p), CT_EXITCODE_NONE);
    double t0 = ct_monotonic();
    ck_assert_ct_err(ct_process_join(p, 0), CT_ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 < 5.0); /* does not wait (a starved machine may lag) */
    ck_assert(ct_process_is_alive(p));
    ck_assert_ct(meth(p));
    join_or_kill(p, 10);
    ck_assert(!ct_process_is_alive(p));
    ck_assert_int_eq(ct_active_children(NULL, 0), 0);
    ck_assert_ct(ct_process_join(p, CT_FOREVER));
    int code = ct_process_exitcode(p);
    /* Once it ended, signals are no longer sent (the pid may be reused). */
    ck_assert_ct(meth(p));
    ct_process_unref(p);
    return code;
}

START_TEST(test_terminate)
{
    START_METHOD();
    ck_assert_int_eq(kill_process(ct_process_terminate), -SIGTERM);
}
END_TEST

START_TEST(test_kill)
{
    START_METHOD();
    ck_assert_int_eq(kill_process(ct_process_kill), -SIGKILL);
}
END_TEST

START_TEST(test_cpu_count)
{
    ck_assert_int_ge(ct_cpu_count(), 1);
}
END_TEST

/* test_active_children */
static int wait_go(void *arg)
{
    die_with_parent();
    return ct_event_wait(&board_of(arg)->go, 30) == 0 ? 0 : 1;
}

START_TEST(test_active_children)
{
    START_METHOD();
    struct board *b = new_board();
    ct_process *p;
    ck_assert_ct(ct_process_new(&p, &(ct_process_opts){.target = wait_go, .arg = &b,
                                                       .arg_size = sizeof b,
                                                       .daemon = CT_DAEMON}));
    ck_assert_int_eq(ct_active_children(NULL, 0), 0);
    ck_assert_ct(ct_process_start(p));
    ck_assert_int_eq(ct_active_children(NULL, 0), 1);
    ct_event_set(&b->go);
    join_or_kill(p, 30);
    ck_assert_int_eq(ct_active_children(NULL, 0), 0);
    ct_process_unref(p);
}
END_TEST

/* test_recursion: a tree of processes; each logs its path, and the joins
 * order the log. Names follow Python's Process-1:2 scheme. */
struct rec {
    struct board *b;
    char id[4];
};

static int recursion(void *arg)
{
    struct rec *r = arg;
    struct board *b = r->b;
    CT_WITH_LOCK(&b->lock)
    {
        snprintf(b->log[b->count], sizeof b->log[0], "[%s]", r->id);
        b->count++;
    }
    size_t len = strlen(r->id);
    if (len < 2) {
        for (int i = 0; i < 2; i++) {
            struct rec child = *r;
            child.id[len] = (char)('0' + i);
            child.id[len + 1] = '\0';
            ct_process *p;
            if (ct_process_new(&p, &(ct_process_opts){.target = recursion, .arg = &child,
                                                       .arg_size = sizeof child}) ||
                ct_process_start(p) || ct_process_join(p, 30) || ct_process_exitcode(p) != 0)
                return 1;
            if (len == 1 && r->id[0] == '1' && i == 1 &&
                strcmp(ct_process_name(p), "Process-2:2") != 0)
                return 2;
            ct_process_unref(p);
        }
    }
    return 0;
}

START_TEST(test_recursion)
{
    START_METHOD();
    struct board *b = new_board();
    struct rec r = {b, ""};
    ck_assert_int_eq(recursion(&r), 0);
    static const char *const expected[] = {"[]", "[0]", "[00]", "[01]", "[1]", "[10]", "[11]"};
    ck_assert_int_eq(b->count, 7);
    for (int i = 0; i < 7; i++)
        ck_assert_str_eq(b->log[i], expected[i]);
}
END_TEST

/* test_sentinel */
START_TEST(test_sentinel)
{
    START_METHOD();
    struct board *b = new_board();
    ct_process *p;
    ck_assert_ct(ct_process_new(&p, &(ct_process_opts){.target = wait_go, .arg = &b,
                                                       .arg_size = sizeof b}));
    int fd;
    ck_assert_ct_err(ct_process_sentinel(p, &fd), CT_ENOTSTARTED);
    ck_assert_ct(ct_process_start(p));
    ck_assert_ct(ct_process_sentinel(p, &fd));
    ck_assert(!fd_ready(fd, 0));
    ct_event_set(&b->go);
    join_or_kill(p, 30);
    ck_assert(fd_ready(fd, 1000));
    ct_process_unref(p);
}
END_TEST

/* test_close */
START_TEST(test_close)
{
    START_METHOD();
    struct board *b = new_board();
    ct_process *p = spawn_opts(&(ct_process_opts){.target = wait_go, .arg = &b,
                                                  .arg_size = sizeof b, .daemon = CT_DAEMON});
    ck_assert(ct_process_is_alive(p));
    ck_assert_ct_err(ct_process_close(p), CT_ESTATE); /* still running */
    ct_event_set(&b->go);
    join_or_kill(p, 30);
    ck_assert(!ct_process_is_alive(p));
    ck_assert_int_eq(ct_process_exitcode(p), 0);
    ck_assert_ct(ct_process_close(p));
    ck_assert(!ct_process_is_alive(p));
    ck_assert_ct_err(ct_process_join(p, 0), CT_ECLOSED);
    ck_assert_ct_err(ct_process_terminate(p), CT_ECLOSED);
    int fd;
    ck_assert_ct_err(ct_process_sentinel(p, &fd), CT_ECLOSED);
    ck_assert_ct(ct_process_close(p));
    ct_process_unref(p);
}
END_TEST

/* test_many_processes: many short ones, then many terminated at once. */
static int quick(void *arg)
{
    (void)arg;
    return 0;
}

#define MANY 40

START_TEST(test_many_processes)
{
    START_METHOD();
    ct_process *procs[MANY];
    for (int i = 0; i < MANY; i++)
        procs[i] = spawn(quick, NULL, 0);
    for (int i = 0; i < MANY; i++)
        expect_exit(procs[i], 0);
    struct board *b = new_board();
    for (int i = 0; i < MANY; i++)
        procs[i] = spawn(sleep_some, &b, sizeof b);
    for (int i = 0; i < MANY; i++)
        ck_assert_ct(ct_process_terminate(procs[i]));
    for (int i = 0; i < MANY; i++)
        expect_exit(procs[i], -SIGTERM);
}
END_TEST

/* test_wait_for_threads: a child waits for its non-daemon threads before
 * it exits, and abandons its daemon threads. */
static int set_event_after_go(void *arg)
{
    struct board *b = arg;
    if (ct_event_wait(&b->go, 30) != 0)
        return 1;
    ct_event_set(&b->done);
    return 0;
}

static int clear_event_later(void *arg)
{
    struct board *b = arg;
    ct_event_wait(&b->ready, 60); /* not set again by anybody */
    ct_event_clear(&b->done);
    return 0;
}

static int start_threads(void *arg)
{
    struct board *b = board_of(arg);
    ct_thread *t1, *t2;
    ct_event_clear(&b->ready);
    if (ct_thread_new(&t1, &(ct_thread_opts){.target = set_event_after_go, .arg = b}) ||
        ct_thread_new(&t2, &(ct_thread_opts){.target = clear_event_later, .arg = b,
                                             .daemon = CT_DAEMON}) ||
        ct_thread_start(t1) || ct_thread_start(t2))
        return 1;
    ct_thread_unref(t1);
    ct_thread_unref(t2);
    ct_event_set(&b->ready); /* the target returns now, the thread still waits */
    return 0;
}

START_TEST(test_wait_for_threads)
{
    START_METHOD();
    struct board *b = new_board();
    ct_process *p = spawn(start_threads, &b, sizeof b);
    ck_assert_ct(ct_event_wait(&b->ready, 30));
    /* The target has returned; the child must still be waiting for t1. */
    ck_assert_ct_err(ct_process_join(p, 0.05), CT_ETIMEDOUT);
    ck_assert(!ct_event_is_set(&b->done));
    ct_event_set(&b->go);
    expect_exit(p, 0);
    ck_assert(ct_event_is_set(&b->done));
}
END_TEST

/* test_sys_exit: exit codes, as Python reports them. */
static int return_code(void *arg)
{
    return *(int *)arg;
}

static int deep_exit(int code)
{
    ct_process_exit(code);
}

static int exit_early(void *arg)
{
    deep_exit(*(int *)arg);
    return 99;
}

static int die_by_signal(void *arg)
{
    raise(*(int *)arg);
    return 99;
}

START_TEST(test_sys_exit)
{
    START_METHOD();
    static const int cases[][2] = {{0, 0}, {1, 1}, {8, 8}, {255, 255}, {256, 1}, {-1, 1},
                                   {1000, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_exit(spawn(return_code, &cases[i][0], sizeof(int)), cases[i][1]);
        expect_exit(spawn(exit_early, &cases[i][0], sizeof(int)), cases[i][1]);
    }
    int sig = SIGUSR1;
    expect_exit(spawn(die_by_signal, &sig, sizeof sig), -SIGUSR1);
    sig = SIGKILL;
    expect_exit(spawn(die_by_signal, &sig, sizeof sig), -SIGKILL);
}
END_TEST

/* A child's stdout and stderr are flushed at its end; the parent's
 * unflushed output is never written twice; the parent's exit handlers
 * never run in a child; at the parent's exit, daemon children are
 * terminated and the others joined. The scenario runs in a program of
 * its own (tests/progs/process_exit.c), whose output is counted. */
static int count_in(const char *out, const char *text)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, text)) != NULL; p += strlen(text))
        n++;
    return n;
}

static void run_exit_prog(const char *method)
{
    static char out[8192];
    int status = run_prog("process_exit", method, out, sizeof out);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d, output:\n%s", status,
                  out);
    ck_assert_msg(count_in(out, "parent: unflushed line\n") == 1, "output:\n%s", out);
    ck_assert_msg(count_in(out, "child: buffered line\n") == 1, "output:\n%s", out);
    ck_assert_msg(count_in(out, "child: stderr line\n") == 1, "output:\n%s", out);
    ck_assert_msg(count_in(out, "parent: atexit handler\n") == 1, "output:\n%s", out);
    ck_assert_msg(count_in(out, "parent: ct_register_atexit handler\n") == 1, "output:\n%s", out);
    ck_assert_msg(count_in(out, "non-daemon child: done\n") == 1, "output:\n%s", out);
    ck_assert_msg(count_in(out, "daemon: done\n") == 0, "output:\n%s", out);
    ck_assert_msg(count_in(out, "parent: child exit code 3\n") == 1, "output:\n%s", out);
}

START_TEST(test_stdio_and_exit_handlers)
{
    run_exit_prog(_i == 0 ? "fork" : "forkserver");
}
END_TEST

/* Joining is interruptible (cthreading/interrupt.h), and leaves the
 * process as it was. */
struct joiner {
    ct_process *p;
    int rc;
    ct_event started;
};

static int join_it(void *arg)
{
    struct joiner *j = arg;
    ct_event_set(&j->started);
    j->rc = ct_process_join(j->p, 30);
    return 0;
}

START_TEST(test_join_interrupted)
{
    START_METHOD();
    struct board *b = new_board();
    struct joiner j = {.p = spawn(wait_go, &b, sizeof b)};
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = join_it, .arg = &j}));
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct(ct_event_wait(&j.started, 30));
    ck_assert_ct(ct_thread_interrupt(t));
    ck_assert_ct(ct_thread_join(t, 30));
    ck_assert_ct_err(j.rc, CT_EINTERRUPTED);
    ck_assert(ct_process_is_alive(j.p));
    ct_event_set(&b->go);
    expect_exit(j.p, 0);
    ct_thread_unref(t);
}
END_TEST

/* With ct_set_interrupt_on_signal, a signal handler ends a join with
 * CT_EINTR (for Ctrl-C); the child is not affected. */
static void on_signal(int sig)
{
    (void)sig;
}

struct signaller {
    struct ct__wait_record *record; /* the joiner's */
    pthread_t joiner;
    _Atomic int done;
};

/* A signal that arrives just before the joiner enters poll() runs its
 * handler and leaves the wait to sleep on (as for every blocking call):
 * keep signalling until the join has returned, as a user pressing Ctrl-C
 * again would. */
static int signal_when_joining(void *arg)
{
    struct signaller *s = arg;
    while (!atomic_load(&s->done)) {
        const char *kind = atomic_load(&s->record->kind);
        if (atomic_load(&s->record->object) && kind && strcmp(kind, "process") == 0 &&
            pthread_kill(s->joiner, SIGUSR1) != 0)
            return 1;
        ct_sleep(0.005);
    }
    return 0;
}

START_TEST(test_join_signal_eintr)
{
    START_METHOD();
    struct board *b = new_board();
    ct_process *p = spawn(wait_go, &b, sizeof b);
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    struct signaller sg = {ct__park_record(), pthread_self(), 0};
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = signal_when_joining, .arg = &sg}));
    ck_assert_ct(ct_thread_start(t));
    ck_assert(!ct_set_interrupt_on_signal(true));
    int rc = ct_process_join(p, 30);
    atomic_store(&sg.done, 1);
    ck_assert_ct_err(rc, CT_EINTR);
    ct_set_interrupt_on_signal(false);
    ck_assert_ct(ct_thread_join(t, 30));
    ck_assert_int_eq(ct_thread_result(t), 0);
    ck_assert(ct_process_is_alive(p));
    ct_event_set(&b->go);
    expect_exit(p, 0);
    ct_thread_unref(t);
}
END_TEST

/* Without pidfds (kernels before 5.3): pipes tell a child's end and a
 * parent's end, with the same results. */
START_TEST(test_fallback_without_pidfd)
{
    ct__set_no_pidfd(true);
    START_METHOD();
    struct board *b = new_board();
    expect_exit(spawn(send_parent, &b, sizeof b), 0);
    ck_assert_int_eq(b->parent_pid, getpid());
    int code = 5;
    expect_exit(spawn(return_code, &code, sizeof code), 5);
    ck_assert_int_eq(kill_process(ct_process_terminate), -SIGTERM);
    b->count = -1;
    ct_event_clear(&b->ready);
    ct_process *p = spawn(create_grandchild, &b, sizeof b);
    ck_assert_ct(ct_event_wait(&b->ready, 30));
    ck_assert_int_eq(b->status, 1);
    ck_assert_ct(ct_process_kill(p));
    join_or_kill(p, 30);
    ck_assert_ct(ct_event_wait(&b->done, 30));
    ck_assert_int_eq(b->count, 0);
    ct_process_unref(p);
}
END_TEST

/* Misuse is a code. */
START_TEST(test_misuse)
{
    default_signals();
    ct_process *p;
    ck_assert_ct_err(ct_process_new(&p, &(ct_process_opts){.flags = 1}), CT_EINVAL);
    ck_assert_ct_err(ct_process_new(&p, &(ct_process_opts){.daemon = 7}), CT_EINVAL);
    ck_assert_ct_err(ct_process_new(&p, &(ct_process_opts){.start_method = 9}), CT_EINVAL);
    int x;
    ck_assert_ct_err(ct_process_new(&p, &(ct_process_opts){.arg = &x,
                                                           .start_method = CT_START_FORKSERVER}),
                     CT_EINVAL);
    ck_assert_ct_err(ct_set_start_method(7), CT_EINVAL);
    ck_assert_ct(ct_process_new(&p, NULL));
    ck_assert_ct_err(ct_process_join(p, 0), CT_ENOTSTARTED);
    ck_assert_ct_err(ct_process_terminate(p), CT_ENOTSTARTED);
    ck_assert_ct_err(ct_process_join(p, -5), CT_ETIMEOUT);
    ck_assert_ct(ct_process_start(p));
    ck_assert_ct_err(ct_process_start(p), CT_ESTARTED);
    ck_assert_ct_err(ct_process_set_daemon(p, CT_DAEMON), CT_EACTIVE);
    expect_exit(p, 0);
}
END_TEST

/* The forkserver can only start while the program has one thread. */
static int block_thread(void *arg)
{
    return ct_event_wait(arg, 30);
}

START_TEST(test_forkserver_needs_single_thread)
{
    ct_event ev = CT_EVENT_INIT;
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = block_thread, .arg = &ev}));
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct_err(ct_set_start_method(CT_START_FORKSERVER), CT_ESTATE);
    ct_event_set(&ev);
    ck_assert_ct(ct_thread_join(t, 30));
    ct_thread_unref(t);
    ck_assert_int_eq(ct_get_start_method(), CT_START_FORK);
}
END_TEST

/* test_forkserver_sigkill: the helper dies; a child started before goes
 * on (its exit code is then 255, unknown, as in Python), and the next
 * start brings the helper back. */
START_TEST(test_forkserver_sigkill)
{
    default_signals();
    ck_assert_ct(ct_set_start_method(CT_START_FORKSERVER));
    pid_t helper = ct__forkserver_helper_pid();
    ck_assert_int_gt(helper, 0);
    struct board *b = new_board();
    ct_process *p = spawn(wait_go, &b, sizeof b);
    ck_assert_int_eq(kill(helper, SIGKILL), 0);
    ck_assert_int_eq(waitpid(helper, NULL, 0), helper);
    struct board *b2 = new_board();
    ct_event_set(&b2->go);
    expect_exit(spawn(wait_go, &b2, sizeof b2), 0);
    ct_event_set(&b->go);
    join_or_kill(p, 30);
    int code = ct_process_exitcode(p);
    ck_assert_msg(code == 0 || code == 255, "exit code %d", code);
    ct_process_unref(p);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("process");
    CT_ADD_TEST_METHODS(s, test_current, 30);
    CT_ADD_TEST_METHODS(s, test_process, 30);
    CT_ADD_TEST_METHODS(s, test_process_mainthread_native_id, 30);
    CT_ADD_TEST_METHODS(s, test_daemon_argument, 30);
    CT_ADD_TEST_METHODS(s, test_parent_process_attributes, 30);
    CT_ADD_TEST_METHODS(s, test_parent_process, 30);
    CT_ADD_TEST_METHODS(s, test_terminate, 30);
    CT_ADD_TEST_METHODS(s, test_kill, 30);
    CT_ADD_TEST(s, test_cpu_count, 10);
    CT_ADD_TEST_METHODS(s, test_active_children, 30);
    CT_ADD_TEST_METHODS(s, test_recursion, 30);
    CT_ADD_TEST_METHODS(s, test_sentinel, 30);
    CT_ADD_TEST_METHODS(s, test_close, 30);
    CT_ADD_TEST_METHODS(s, test_many_processes, 60);
    CT_ADD_TEST_METHODS(s, test_wait_for_threads, 30);
    CT_ADD_TEST_METHODS(s, test_sys_exit, 60);
    CT_ADD_TEST_METHODS(s, test_stdio_and_exit_handlers, 30);
    CT_ADD_TEST_METHODS(s, test_join_interrupted, 30);
    CT_ADD_TEST_METHODS(s, test_join_signal_eintr, 30);
    CT_ADD_TEST_METHODS(s, test_fallback_without_pidfd, 30);
    CT_ADD_TEST(s, test_misuse, 30);
    CT_ADD_TEST(s, test_forkserver_needs_single_thread, 30);
    CT_ADD_TEST(s, test_forkserver_sigkill, 30);
    return s;
}

CT_TEST_MAIN(make_suite)
