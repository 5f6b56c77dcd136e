/*
 * Helpers of the process tests (test_process*.c).
 *
 * - CT_ADD_TEST_METHODS(suite, fn, seconds): run test fn twice, once per
 *   start method; inside it, START_METHOD() switches to the method of
 *   this run (fork, then forkserver) and names it in `method_name`.
 * - spawn(): a started process, or the test fails.
 * - join_or_kill(): join with a timeout; a child that does not end in
 *   time is killed and the test fails, so no test waits on a hung child.
 * - shared(): zeroed shared memory for the test's own struct.
 * Children never call ck_assert (that talks to the test runner): they
 * return a code, which the parent checks.
 */
#ifndef CT_TEST_PROCESS_SUPPORT_H
#define CT_TEST_PROCESS_SUPPORT_H

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "support.h"

static inline void ct_add_test_methods(Suite *s, const char *name, const TTest *fn,
                                       double seconds)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, seconds);
    _tcase_add_test(tc, fn, 0, 0, 0, 2);
    suite_add_tcase(s, tc);
}
#define CT_ADD_TEST_METHODS(suite, fn, seconds) ct_add_test_methods((suite), #fn, (fn), (seconds))

static const char *method_name = "fork";

/* Check gives the test process a SIGTERM handler that signals the whole
 * process group; children inherit it (as fork children do), so a
 * terminated child would take the test with it. Tests that start
 * processes restore the default first. */
static inline void default_signals(void)
{
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

/* Select the start method of loop iteration i (0: fork, 1: forkserver).
 * The forkserver starts here, while the test process has one thread. */
static inline int use_method(int i)
{
    int method = i == 0 ? CT_START_FORK : CT_START_FORKSERVER;
    method_name = i == 0 ? "fork" : "forkserver";
    default_signals();
    ck_assert_ct(ct_set_start_method(method));
    return method;
}
#define START_METHOD() use_method(_i)

/* A child that outlives a killed test process would linger: children of
 * the tests ask to be killed with their parent. */
static inline void die_with_parent(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static inline ct_process *spawn_opts(const ct_process_opts *opts)
{
    ct_process *p;
    ck_assert_ct(ct_process_new(&p, opts));
    int rc = ct_process_start(p);
    ck_assert_msg(rc == 0, "start (%s) returned %s", method_name, ct_errname(rc));
    return p;
}

/* A started process running target on a copy of the size bytes at arg. */
static inline ct_process *spawn(ct_process_fn target, const void *arg, size_t size)
{
    return spawn_opts(&(ct_process_opts){.target = target, .arg = (void *)arg, .arg_size = size});
}

static inline void join_or_kill(ct_process *p, double timeout)
{
    int rc = ct_process_join(p, timeout);
    if (rc == CT_ETIMEDOUT) {
        ct_process_kill(p);
        ct_process_join(p, 10);
    }
    ck_assert_msg(rc == 0, "join of %s (%s) returned %s", ct_process_name(p), method_name,
                  ct_errname(rc));
}

/* Join (up to `timeout`), expect exit code `code`, drop the reference. */
static inline void expect_exit_within(ct_process *p, int code, double timeout)
{
    join_or_kill(p, timeout);
    int got = ct_process_exitcode(p);
    ck_assert_msg(got == code, "%s (%s) exited with %d, expected %d", ct_process_name(p),
                  method_name, got, code);
    ct_process_unref(p);
}

static inline void expect_exit(ct_process *p, int code)
{
    expect_exit_within(p, code, 30);
}

static inline void *shared(size_t size)
{
    void *p;
    ck_assert_ct(ct_shared_alloc(&p, size));
    return p;
}

/* Whether fd becomes readable within `ms` milliseconds. */
static inline bool fd_ready(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

#endif
