/* Futures completed by the caller (ct_future_new): test_concurrent_futures
 * test_future.FutureTests, and test_wait / test_as_completed with such
 * futures. Python's module-level futures in each state are made here by
 * the same functions the tests check (cancel, set_result, ...). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

#define ITEM(n) ((void *)(intptr_t)(n))
#define NUM(p) ((int)(intptr_t)(p))

/* An error code of the task's own, as Python's OSError(). */
#define OSERROR 5

static ct_future *pending_future(void)
{
    ct_future *f = NULL;
    ck_assert_ct(ct_future_new(&f));
    ck_assert_ptr_nonnull(f);
    return f;
}

static ct_future *running_future(void)
{
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_set_running_or_notify_cancel(f));
    return f;
}

static ct_future *cancelled_future(void)
{
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_cancel(f));
    return f;
}

/* Cancelled, and the would-be runner was told (Python's
 * CANCELLED_AND_NOTIFIED; cthreading has no separate state for it). */
static ct_future *cancelled_and_notified_future(void)
{
    ct_future *f = cancelled_future();
    ck_assert_ct_err(ct_future_set_running_or_notify_cancel(f), CT_ECANCELLED);
    return f;
}

static ct_future *exception_future(void)
{
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_set_exception(f, OSERROR));
    return f;
}

static ct_future *successful_future(void)
{
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_set_result(f, ITEM(42)));
    return f;
}

/* Run fn(arg) with file descriptor 2 going to a pipe; what it wrote to
 * stderr ends up in out (cut to cap, NUL-terminated). */
static void capture_stderr(void (*fn)(void *arg), void *arg, char *out, size_t cap)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(stderr);
    int saved = dup(2);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(dup2(fds[1], 2), 2);
    close(fds[1]);
    fn(arg);
    fflush(stderr);
    ck_assert_int_eq(dup2(saved, 2), 2);
    close(saved);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < cap && (r = read(fds[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
}

/* ---- done callbacks ---- */

struct seen {
    int calls;
    int rc;        /* what result() or exception() returned in the callback */
    void *result;  /* result() */
    int code;      /* exception() */
    int cancelled; /* cancelled() */
};

static int note_result(ct_future *f, void *arg)
{
    struct seen *s = arg;
    s->calls++;
    s->rc = ct_future_result(f, &s->result, 0);
    return 0;
}

static int note_exception(ct_future *f, void *arg)
{
    struct seen *s = arg;
    s->calls++;
    s->rc = ct_future_exception(f, &s->code, 0);
    return 0;
}

static int note_cancelled(ct_future *f, void *arg)
{
    struct seen *s = arg;
    s->calls++;
    s->cancelled = ct_future_cancelled(f);
    return 0;
}

static int raise_code(ct_future *f, void *arg)
{
    (void)f;
    struct seen *s = arg;
    s->calls++;
    return s->code;
}

/* test_future.FutureTests.test_done_callback_with_result: the callback
 * runs when the result is set, in the caller, and sees the result. */
START_TEST(test_future_done_callback_with_result)
{
    struct seen s = {0};
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_add_done_callback(f, note_result, &s));
    ck_assert_int_eq(s.calls, 0);
    ck_assert_ct(ct_future_set_result(f, ITEM(5)));
    ck_assert_int_eq(s.calls, 1);
    ck_assert_ct(s.rc);
    ck_assert_int_eq(NUM(s.result), 5);
    ct_future_unref(f);
}
END_TEST

/* test_future.FutureTests.test_done_callback_with_exception */
START_TEST(test_future_done_callback_with_exception)
{
    struct seen s = {0};
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_add_done_callback(f, note_exception, &s));
    ck_assert_ct(ct_future_set_exception(f, OSERROR));
    ck_assert_int_eq(s.calls, 1);
    ck_assert_ct(s.rc);
    ck_assert_int_eq(s.code, OSERROR);
    ct_future_unref(f);
}
END_TEST

/* test_future.FutureTests.test_done_callback_with_cancel */
START_TEST(test_future_done_callback_with_cancel)
{
    struct seen s = {0};
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_add_done_callback(f, note_cancelled, &s));
    ck_assert_ct(ct_future_cancel(f));
    ck_assert_int_eq(s.calls, 1);
    ck_assert(s.cancelled);
    ct_future_unref(f);
}
END_TEST

struct raise_case {
    ct_future *f;
    struct seen *raising, *other;
};

static void set_result_5(void *arg)
{
    struct raise_case *c = arg;
    ck_assert_ct(ct_future_set_result(c->f, ITEM(5)));
}

/* test_future.FutureTests.test_done_callback_raises: a callback that fails
 * is reported on stderr in the excepthook's wording (here a code of its
 * own: "error 9"), and the callbacks after it still run. */
START_TEST(test_future_done_callback_raises)
{
    struct seen raising = {.code = 9}, other = {0};
    struct raise_case c = {pending_future(), &raising, &other};
    ck_assert_ct(ct_future_add_done_callback(c.f, raise_code, &raising));
    ck_assert_ct(ct_future_add_done_callback(c.f, note_result, &other));
    char err[1024];
    capture_stderr(set_result_5, &c, err, sizeof err);
    ck_assert_int_eq(raising.calls, 1);
    ck_assert_int_eq(other.calls, 1);
    ck_assert_int_eq(NUM(other.result), 5);
    ck_assert_msg(strstr(err, "exception calling callback for") != NULL, "stderr: %s", err);
    ck_assert_msg(strstr(err, ": error 9\n") != NULL, "stderr: %s", err);
    ct_future_unref(c.f);
}
END_TEST

/* test_future.FutureTests.test_done_callback_already_successful: a
 * callback added to a done future runs at once, in the caller. */
START_TEST(test_future_done_callback_already_successful)
{
    struct seen s = {0};
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_set_result(f, ITEM(5)));
    ck_assert_ct(ct_future_add_done_callback(f, note_result, &s));
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(NUM(s.result), 5);
    ct_future_unref(f);
}
END_TEST

/* test_future.FutureTests.test_done_callback_already_failed */
START_TEST(test_future_done_callback_already_failed)
{
    struct seen s = {0};
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_set_exception(f, OSERROR));
    ck_assert_ct(ct_future_add_done_callback(f, note_exception, &s));
    ck_assert_int_eq(s.calls, 1);
    ck_assert_ct(s.rc);
    ck_assert_int_eq(s.code, OSERROR);
    ct_future_unref(f);
}
END_TEST

/* test_future.FutureTests.test_done_callback_already_cancelled */
START_TEST(test_future_done_callback_already_cancelled)
{
    struct seen s = {0};
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_cancel(f));
    ck_assert_ct(ct_future_add_done_callback(f, note_cancelled, &s));
    ck_assert_int_eq(s.calls, 1);
    ck_assert(s.cancelled);
    ct_future_unref(f);
}
END_TEST

static void add_raising(void *arg)
{
    struct raise_case *c = arg;
    ck_assert_ct(ct_future_add_done_callback(c->f, raise_code, c->raising));
}

/* test_future.FutureTests.test_done_callback_raises_already_succeeded: a
 * failing callback added to a done future is reported at once; for a
 * library code, in ct_describe_error's wording. */
START_TEST(test_future_done_callback_raises_already_succeeded)
{
    struct seen raising = {.code = CT_ETIMEDOUT};
    struct raise_case c = {successful_future(), &raising, NULL};
    char err[1024];
    capture_stderr(add_raising, &c, err, sizeof err);
    ck_assert_int_eq(raising.calls, 1);
    ck_assert_msg(strstr(err, "exception calling callback for") != NULL, "stderr: %s", err);
    ck_assert_msg(strstr(err, ": CT_ETIMEDOUT (timed out)\n") != NULL, "stderr: %s", err);
    ct_future_unref(c.f);
}
END_TEST

/* ---- states ---- */

enum { PENDING, RUNNING, CANCELLED, CANCELLED_AND_NOTIFIED, EXCEPTION, SUCCESSFUL, NSTATES };

static ct_future *in_state(int state)
{
    switch (state) {
    case PENDING:
        return pending_future();
    case RUNNING:
        return running_future();
    case CANCELLED:
        return cancelled_future();
    case CANCELLED_AND_NOTIFIED:
        return cancelled_and_notified_future();
    case EXCEPTION:
        return exception_future();
    default:
        return successful_future();
    }
}

/* test_future.FutureTests.test_cancel: pending and cancelled futures can
 * be cancelled (Python's True), running and finished ones cannot (False)
 * and keep their state. */
START_TEST(test_future_cancel)
{
    static const int want[NSTATES] = {0, CT_ESTATE, 0, 0, CT_ESTATE, CT_ESTATE};
    for (int st = 0; st < NSTATES; st++) {
        ct_future *f = in_state(st);
        ck_assert_ct_err(ct_future_cancel(f), want[st]);
        ck_assert(ct_future_cancelled(f) == (want[st] == 0));
        ck_assert(ct_future_running(f) == (st == RUNNING));
        ct_future_unref(f);
    }
}
END_TEST

/* test_future.FutureTests.test_cancelled, test_done and test_running */
START_TEST(test_future_cancelled_done_running)
{
    static const bool cancelled[NSTATES] = {0, 0, 1, 1, 0, 0};
    static const bool done[NSTATES] = {0, 0, 1, 1, 1, 1};
    static const bool running[NSTATES] = {0, 1, 0, 0, 0, 0};
    for (int st = 0; st < NSTATES; st++) {
        ct_future *f = in_state(st);
        ck_assert_msg(ct_future_cancelled(f) == cancelled[st], "state %d", st);
        ck_assert_msg(ct_future_done(f) == done[st], "state %d", st);
        ck_assert_msg(ct_future_running(f) == running[st], "state %d", st);
        ct_future_unref(f);
    }
}
END_TEST

/* test_future.FutureTests.test_result_with_timeout: with timeout 0, a
 * future not done times out; a cancelled one says so; a failed one gives
 * its code; a successful one its result. */
START_TEST(test_future_result_with_timeout)
{
    static const int want[NSTATES] = {CT_ETIMEDOUT, CT_ETIMEDOUT, CT_ECANCELLED,
                                      CT_ECANCELLED, OSERROR,      0};
    for (int st = 0; st < NSTATES; st++) {
        ct_future *f = in_state(st);
        void *r = NULL;
        ck_assert_int_eq(ct_future_result(f, &r, 0), want[st]);
        if (st == SUCCESSFUL)
            ck_assert_int_eq(NUM(r), 42);
        ct_future_unref(f);
    }
}
END_TEST

/* test_future.FutureTests.test_exception_with_timeout: the same for
 * exception(): the failed one's code, 0 for the successful one. */
START_TEST(test_future_exception_with_timeout)
{
    static const int want[NSTATES] = {CT_ETIMEDOUT, CT_ETIMEDOUT, CT_ECANCELLED,
                                      CT_ECANCELLED, 0,            0};
    for (int st = 0; st < NSTATES; st++) {
        ct_future *f = in_state(st);
        int code = -1;
        ck_assert_ct_err(ct_future_exception(f, &code, 0), want[st]);
        if (st == EXCEPTION)
            ck_assert_int_eq(code, OSERROR);
        if (st == SUCCESSFUL)
            ck_assert_int_eq(code, 0);
        ct_future_unref(f);
    }
}
END_TEST

static ct_future *awaited;

struct outcome {
    int rc;
    void *result;
    int code;
};

static void await_result(void *arg, int i)
{
    (void)i;
    struct outcome *o = arg;
    o->rc = ct_future_result(awaited, &o->result, CT_FOREVER);
}

static void await_exception(void *arg, int i)
{
    (void)i;
    struct outcome *o = arg;
    o->rc = ct_future_exception(awaited, &o->code, CT_FOREVER);
}

/* A thread blocks in result() or exception() on a pending future, and
 * is released when `complete` completes it. */
static struct outcome released_by(void (*wait)(void *, int), void (*complete)(ct_future *))
{
    struct outcome o = {.rc = -1};
    awaited = pending_future();
    bunch *b = bunch_start(wait, &o, 1);
    bunch_wait_parked_in(b, 1, "future");
    complete(awaited);
    bunch_join(b);
    ct_future_unref(awaited);
    return o;
}

static void set_42(ct_future *f)
{
    ck_assert_ct(ct_future_set_result(f, ITEM(42)));
}

static void cancel_it(ct_future *f)
{
    ck_assert_ct(ct_future_cancel(f));
}

static void fail_it(ct_future *f)
{
    ck_assert_ct(ct_future_set_exception(f, OSERROR));
}

/* test_future.FutureTests.test_result_with_success */
START_TEST(test_future_result_with_success)
{
    struct outcome o = released_by(await_result, set_42);
    ck_assert_ct(o.rc);
    ck_assert_int_eq(NUM(o.result), 42);
}
END_TEST

/* test_future.FutureTests.test_result_with_cancel */
START_TEST(test_future_result_with_cancel)
{
    struct outcome o = released_by(await_result, cancel_it);
    ck_assert_ct_err(o.rc, CT_ECANCELLED);
}
END_TEST

/* test_future.FutureTests.test_exception_with_success */
START_TEST(test_future_exception_with_success)
{
    struct outcome o = released_by(await_exception, fail_it);
    ck_assert_ct(o.rc);
    ck_assert_int_eq(o.code, OSERROR);
}
END_TEST

/* test_future.FutureTests.test_multiple_set_result: a second result is
 * refused (Python's InvalidStateError) and the first one stays. */
START_TEST(test_future_multiple_set_result)
{
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_set_result(f, ITEM(1)));
    ck_assert_ct_err(ct_future_set_result(f, ITEM(2)), CT_ESTATE);
    ck_assert_ct_err(ct_future_set_exception(f, OSERROR), CT_ESTATE);
    ck_assert(ct_future_done(f));
    void *r = NULL;
    ck_assert_ct(ct_future_result(f, &r, 0));
    ck_assert_int_eq(NUM(r), 1);
    ct_future_unref(f);
}
END_TEST

/* test_future.FutureTests.test_multiple_set_exception; and an exception
 * must be a non-zero code (CT_EINVAL, nothing changes). */
START_TEST(test_future_multiple_set_exception)
{
    ct_future *f = pending_future();
    ck_assert_ct_err(ct_future_set_exception(f, 0), CT_EINVAL);
    ck_assert(!ct_future_done(f));
    ck_assert_ct(ct_future_set_exception(f, OSERROR));
    ck_assert_ct_err(ct_future_set_exception(f, 7), CT_ESTATE);
    ck_assert_ct_err(ct_future_set_result(f, ITEM(1)), CT_ESTATE);
    int code = 0;
    ck_assert_ct(ct_future_exception(f, &code, 0));
    ck_assert_int_eq(code, OSERROR);
    ck_assert_int_eq(ct_future_result(f, NULL, 0), OSERROR);
    ct_future_unref(f);
    /* a cancelled future cannot be completed either */
    f = cancelled_future();
    ck_assert_ct_err(ct_future_set_result(f, ITEM(1)), CT_ESTATE);
    ck_assert_ct_err(ct_future_set_exception(f, OSERROR), CT_ESTATE);
    ck_assert(ct_future_cancelled(f));
    ct_future_unref(f);
}
END_TEST

/* Future.set_running_or_notify_cancel (used by executors; no test of its
 * own in test_future.py): 0 for a pending future, which is then running
 * and cannot be cancelled; CT_ECANCELLED for a cancelled one; CT_ESTATE
 * (Python's RuntimeError) for a running or finished one. A running
 * future is completed as usual. */
START_TEST(test_future_set_running_or_notify_cancel)
{
    static const int want[NSTATES] = {0,         CT_ESTATE, CT_ECANCELLED,
                                      CT_ECANCELLED, CT_ESTATE, CT_ESTATE};
    for (int st = 0; st < NSTATES; st++) {
        ct_future *f = in_state(st);
        ck_assert_ct_err(ct_future_set_running_or_notify_cancel(f), want[st]);
        ct_future_unref(f);
    }
    ct_future *f = pending_future();
    ck_assert_ct(ct_future_set_running_or_notify_cancel(f));
    ck_assert(ct_future_running(f) && !ct_future_done(f));
    ck_assert_ct_err(ct_future_cancel(f), CT_ESTATE);
    ck_assert_ct_err(ct_future_set_running_or_notify_cancel(f), CT_ESTATE);
    ck_assert_ct(ct_future_set_result(f, ITEM(3)));
    ck_assert(!ct_future_running(f) && ct_future_done(f));
    ck_assert_ct_err(ct_future_set_running_or_notify_cancel(f), CT_ESTATE);
    ct_future_unref(ct_future_ref(f));
    ct_future_unref(f);
}
END_TEST

/* ---- wait ---- */

/* Fail unless arr[0..n-1] is exactly want[0..n-1]. */
static void expect_futures(ct_future **arr, size_t n, ct_future *const *want, size_t nwant,
                           const char *what)
{
    ck_assert_msg(n == nwant, "%s: %zu futures, expected %zu", what, n, nwant);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(arr[i] == want[i], "%s[%zu] is not the expected future", what, i);
}

/* ct_wait with nothing to wait for: returns 0 at once, whatever
 * return_when and timeout, with fs and every output NULL. No Python
 * counterpart (wait([]) returns two empty sets). */
START_TEST(test_wait_no_futures)
{
    for (int when = CT_FIRST_COMPLETED; when <= CT_ALL_COMPLETED; when++) {
        ck_assert_ct(ct_wait(NULL, 0, when, NULL, NULL, NULL, NULL, CT_FOREVER));
        ck_assert_ct(ct_wait(NULL, 0, when, NULL, NULL, NULL, NULL, 0));
        size_t nd = 9, nn = 9;
        ct_future *done[1], *not_done[1];
        ck_assert_ct(ct_wait(NULL, 0, when, done, &nd, not_done, &nn, CT_FOREVER));
        ck_assert_uint_eq(nd, 0);
        ck_assert_uint_eq(nn, 0);
    }
}
END_TEST

/* test_wait.WaitTests.test_first_completed_some_already_completed: the
 * futures already done are returned at once, in the order given. */
START_TEST(test_wait_first_completed_some_already_completed)
{
    ct_future *cn = cancelled_and_notified_future(), *ok = successful_future();
    ct_future *f1 = pending_future();
    ct_future *fs[] = {cn, ok, f1}, *done[3], *not_done[3];
    size_t nd, nn;
    ck_assert_ct(ct_wait(fs, 3, CT_FIRST_COMPLETED, done, &nd, not_done, &nn, CT_FOREVER));
    expect_futures(done, nd, (ct_future *[]){cn, ok}, 2, "done");
    expect_futures(not_done, nn, (ct_future *[]){f1}, 1, "not_done");
    ct_future_unref(cn);
    ct_future_unref(ok);
    ct_future_unref(f1);
}
END_TEST

/* test_wait.WaitTests.test_first_exception_one_already_failed: a future
 * that already failed ends a FIRST_EXCEPTION wait at once. */
START_TEST(test_wait_first_exception_one_already_failed)
{
    ct_future *failed = exception_future(), *f1 = pending_future();
    ct_future *fs[] = {failed, f1}, *done[2], *not_done[2];
    size_t nd, nn;
    ck_assert_ct(ct_wait(fs, 2, CT_FIRST_EXCEPTION, done, &nd, not_done, &nn, CT_FOREVER));
    expect_futures(done, nd, (ct_future *[]){failed}, 1, "done");
    expect_futures(not_done, nn, (ct_future *[]){f1}, 1, "not_done");
    ct_future_unref(failed);
    ct_future_unref(f1);
}
END_TEST

static ct_future *wait_set[8];
static size_t wait_n;
static int wait_when;
static ct_future *wait_done[8], *wait_not_done[8];
static size_t wait_nd, wait_nn;
static int wait_rc;

static void waiter(void *arg, int i)
{
    (void)arg;
    (void)i;
    wait_rc = ct_wait(wait_set, wait_n, wait_when, wait_done, &wait_nd, wait_not_done, &wait_nn,
                      CT_FOREVER);
}

/* test_wait.WaitTests.test_all_completed, with futures completed by the
 * caller while the wait blocks; and the order of done[] (future.h): first
 * the futures already done at the call, in the order given, then the
 * others in the order they completed. */
START_TEST(test_wait_all_completed)
{
    ct_future *ok = successful_future(), *cn = cancelled_and_notified_future();
    ct_future *failed = exception_future();
    ct_future *f1 = pending_future(), *f2 = pending_future();
    ct_future *given[] = {f2, ok, f1, cn, failed};
    memcpy(wait_set, given, sizeof given);
    wait_n = 5;
    wait_when = CT_ALL_COMPLETED;
    bunch *b = bunch_start(waiter, NULL, 1);
    bunch_wait_parked_in(b, 1, "futures");
    ck_assert_ct(ct_future_set_exception(f1, 3)); /* f1 completes before f2 */
    ck_assert_ct(ct_future_set_result(f2, ITEM(2)));
    bunch_join(b);
    ck_assert_ct(wait_rc);
    expect_futures(wait_done, wait_nd, (ct_future *[]){ok, cn, failed, f1, f2}, 5, "done");
    ck_assert_uint_eq(wait_nn, 0);
    ct_future *all[] = {ok, cn, failed, f1, f2};
    for (int i = 0; i < 5; i++)
        ct_future_unref(all[i]);
}
END_TEST

/* The order of done[] and not_done[] without blocking, with duplicates
 * (each future once): done ones in the order given whatever order they
 * completed in, the others in the order given. No Python counterpart
 * (Python returns sets). */
START_TEST(test_wait_order_of_sets)
{
    ct_future *a = pending_future(), *b = pending_future(), *c = pending_future();
    ct_future *d = pending_future();
    ck_assert_ct(ct_future_set_result(d, NULL)); /* d completes before a */
    ck_assert_ct(ct_future_set_result(a, NULL));
    ct_future *fs[] = {c, a, b, d, a, c}, *done[6], *not_done[6];
    size_t nd, nn;
    ck_assert_ct_err(ct_wait(fs, 6, CT_ALL_COMPLETED, done, &nd, not_done, &nn, 0),
                     CT_ETIMEDOUT);
    expect_futures(done, nd, (ct_future *[]){a, d}, 2, "done");
    expect_futures(not_done, nn, (ct_future *[]){c, b}, 2, "not_done");
    ck_assert_ct(ct_wait(fs, 6, CT_FIRST_COMPLETED, done, &nd, not_done, &nn, CT_FOREVER));
    expect_futures(done, nd, (ct_future *[]){a, d}, 2, "done");
    /* counts only */
    ck_assert_ct(ct_wait(fs, 6, CT_FIRST_COMPLETED, NULL, &nd, NULL, &nn, CT_FOREVER));
    ck_assert_uint_eq(nd, 2);
    ck_assert_uint_eq(nn, 2);
    ct_future_unref(a);
    ct_future_unref(b);
    ct_future_unref(c);
    ct_future_unref(d);
}
END_TEST

/* test_wait.WaitTests.test_20369: a future given twice is waited for and
 * returned once. */
START_TEST(test_wait_20369)
{
    ct_future *f = pending_future();
    wait_set[0] = wait_set[1] = f;
    wait_n = 2;
    wait_when = CT_ALL_COMPLETED;
    bunch *b = bunch_start(waiter, NULL, 1);
    bunch_wait_parked_in(b, 1, "futures");
    ck_assert_ct(ct_future_set_result(f, NULL));
    bunch_join(b);
    ck_assert_ct(wait_rc);
    expect_futures(wait_done, wait_nd, (ct_future *[]){f}, 1, "done");
    ck_assert_uint_eq(wait_nn, 0);
    ct_future_unref(f);
}
END_TEST

/* ---- as_completed ---- */

/* as_completed over nothing ends at once. No Python counterpart. */
START_TEST(test_as_completed_no_futures)
{
    ct_as_completed *it;
    ck_assert_ct(ct_as_completed_new(&it, NULL, 0, CT_FOREVER));
    ct_future *f = NULL;
    ck_assert_ct_err(ct_as_completed_next(it, &f), CT_EEMPTY);
    ck_assert_ct_err(ct_as_completed_next(it, &f), CT_EEMPTY);
    ct_as_completed_unref(it);
    ck_assert_ct(ct_as_completed_new(&it, NULL, 0, 0));
    ck_assert_ct_err(ct_as_completed_next(it, &f), CT_EEMPTY);
    ct_as_completed_unref(it);
}
END_TEST

static ct_as_completed *iter;
static ct_future *yielded[4];

static void iterate(void *arg, int i)
{
    (void)arg;
    (void)i;
    for (int k = 0; k < 4; k++)
        ck_assert_ct(ct_as_completed_next(iter, &yielded[k]));
    ct_future *f;
    ck_assert_ct_err(ct_as_completed_next(iter, &f), CT_EEMPTY);
}

/* test_as_completed.AsCompletedTests.test_no_timeout, with futures
 * completed by the caller: the done ones first, in the order given, then
 * each as it completes. */
START_TEST(test_as_completed_no_timeout)
{
    ct_future *failed = exception_future(), *ok = successful_future();
    ct_future *f1 = pending_future(), *f2 = pending_future();
    ct_future *fs[] = {f1, ok, f2, failed};
    ck_assert_ct(ct_as_completed_new(&iter, fs, 4, CT_FOREVER));
    bunch *b = bunch_start(iterate, NULL, 1);
    bunch_wait_parked_in(b, 1, "futures");
    ck_assert_ct(ct_future_set_result(f2, NULL));
    ck_assert_ct(ct_future_cancel(f1));
    bunch_join(b);
    ck_assert_ptr_eq(yielded[0], ok);
    ck_assert_ptr_eq(yielded[1], failed);
    ck_assert_ptr_eq(yielded[2], f2);
    ck_assert_ptr_eq(yielded[3], f1);
    ct_as_completed_unref(iter);
    ct_future_unref(failed);
    ct_future_unref(ok);
    ct_future_unref(f1);
    ct_future_unref(f2);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("future");
    CT_ADD_TEST(s, test_future_done_callback_with_result, 10);
    CT_ADD_TEST(s, test_future_done_callback_with_exception, 10);
    CT_ADD_TEST(s, test_future_done_callback_with_cancel, 10);
    CT_ADD_TEST(s, test_future_done_callback_raises, 10);
    CT_ADD_TEST(s, test_future_done_callback_already_successful, 10);
    CT_ADD_TEST(s, test_future_done_callback_already_failed, 10);
    CT_ADD_TEST(s, test_future_done_callback_already_cancelled, 10);
    CT_ADD_TEST(s, test_future_done_callback_raises_already_succeeded, 10);
    CT_ADD_TEST(s, test_future_cancel, 10);
    CT_ADD_TEST(s, test_future_cancelled_done_running, 10);
    CT_ADD_TEST(s, test_future_result_with_timeout, 10);
    CT_ADD_TEST(s, test_future_exception_with_timeout, 10);
    CT_ADD_TEST(s, test_future_result_with_success, 10);
    CT_ADD_TEST(s, test_future_result_with_cancel, 10);
    CT_ADD_TEST(s, test_future_exception_with_success, 10);
    CT_ADD_TEST(s, test_future_multiple_set_result, 10);
    CT_ADD_TEST(s, test_future_multiple_set_exception, 10);
    CT_ADD_TEST(s, test_future_set_running_or_notify_cancel, 10);
    CT_ADD_TEST(s, test_wait_no_futures, 10);
    CT_ADD_TEST(s, test_wait_first_completed_some_already_completed, 10);
    CT_ADD_TEST(s, test_wait_first_exception_one_already_failed, 10);
    CT_ADD_TEST(s, test_wait_all_completed, 10);
    CT_ADD_TEST(s, test_wait_order_of_sets, 10);
    CT_ADD_TEST(s, test_wait_20369, 10);
    CT_ADD_TEST(s, test_as_completed_no_futures, 10);
    CT_ADD_TEST(s, test_as_completed_no_timeout, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
