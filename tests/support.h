/*
 * Test support shared by every tests/test_*.c (Check).
 *
 * - CT_TEST_MAIN(make_suite): the main() of a test binary.
 * - ck_assert_ct(expr) / ck_assert_ct_err(expr, code): check a result code
 *   and print both codes by name when it differs.
 * - bunch: Python lock_tests' Bunch on raw pthreads, so that tests of one
 *   area do not depend on the thread layer working.
 * - run_prog / run_example: run a helper program from tests/progs or an
 *   example from examples/ and capture its output.
 */
#ifndef CT_TEST_SUPPORT_H
#define CT_TEST_SUPPORT_H

#include <check.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>

#include "cthreading.h"

#define ck_assert_ct(expr) ck_assert_ct_err(expr, CT_OK)
#define ck_assert_ct_err(expr, code)                                                        \
    do {                                                                                    \
        int ct_rc_ = (expr);                                                                \
        int ct_want_ = (code);                                                              \
        ck_assert_msg(ct_rc_ == ct_want_, "%s returned %s (%s), expected %s", #expr,        \
                      ct_errname(ct_rc_), ct_strerror(ct_rc_), ct_errname(ct_want_));       \
    } while (0)

/* Add test `fn` to a new TCase named after it, with a timeout in seconds
 * (scaled by CK_TIMEOUT_MULTIPLIER under the sanitizers). */
#define CT_ADD_TEST(suite, fn, seconds) ct_add_test((suite), #fn, (fn), (seconds))
void ct_add_test(Suite *s, const char *name, const TTest *fn, double seconds);

int ct_test_run(Suite *s);
#define CT_TEST_MAIN(make_suite)                                                            \
    int main(void)                                                                          \
    {                                                                                       \
        return ct_test_run(make_suite());                                                   \
    }

/* A bunch of n raw pthreads running fn(arg, i) for i in 0..n-1. */
typedef struct bunch bunch;
bunch *bunch_start(void (*fn)(void *arg, int i), void *arg, int n);
/* Wait until every thread has entered fn. */
void bunch_wait_started(bunch *b);
/* Wait until `k` of the bunch's threads are parked (blocked in the
 * library's park layer); ordering without sleep. */
void bunch_wait_parked(bunch *b, int k);
/* The same, counting only threads parked in a wait of the given kind
 * ("condition", "lock", ...): a thread just woken from another kind of
 * wait can still show as parked for an instant. */
void bunch_wait_parked_in(bunch *b, int k, const char *kind);
/* How many of the bunch's threads are parked in a wait of the given kind
 * (NULL: any kind) at this instant. */
int bunch_parked_in(bunch *b, const char *kind);
/* How many threads have returned from fn. */
int bunch_finished(bunch *b);
/* Wait until at least n threads have returned from fn. */
void bunch_wait_finished(bunch *b, int n);
/* Join every thread and free the bunch. */
void bunch_join(bunch *b);

/* Run CT_BUILD_DIR/progs/<name> with argument `arg` (may be NULL);
 * stdout and stderr go to `out` (NUL-terminated, cut to cap). Returns the
 * exit status as from waitpid. */
int run_prog(const char *name, const char *arg, char *out, size_t cap);
/* The same for an example, CT_BUILD_DIR/examples/<name>. */
int run_example(const char *name, const char *arg, char *out, size_t cap);

/* 1 under ThreadSanitizer; 1 under AddressSanitizer. */
int ct_under_tsan(void);
int ct_under_asan(void);

/*
 * Skipping: a test that cannot run in this build calls CT_SKIP_IF(cond,
 * reason) first. It prints "CT-SKIP: <test>: <reason>" and returns, and
 * tests/run-tests.sh counts the test as skipped, never as passed.
 */
void ct_skip(const char *reason);
#define CT_SKIP_IF(cond, reason)                                                            \
    do {                                                                                    \
        if (cond) {                                                                         \
            ct_skip(reason);                                                                \
            return;                                                                         \
        }                                                                                   \
    } while (0)

#endif
