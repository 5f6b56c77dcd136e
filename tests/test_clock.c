/* Error codes and timeouts (layer 1). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "support.h"

START_TEST(test_strerror_every_code)
{
    for (int c = CT_EBASE_ + 1; c < CT_ELAST_; c++) {
        ck_assert_str_ne(ct_strerror(c), "error code not from cthreading");
        ck_assert_int_eq(strncmp(ct_errname(c), "CT_E", 4), 0);
        ck_assert_str_ne(ct_errname(c), "CT_E?");
    }
    ck_assert_str_eq(ct_errname(0), "CT_OK");
    ck_assert_str_eq(ct_strerror(1), "error code not from cthreading");
    ck_assert_str_eq(ct_strerror(-1), "error code not from cthreading");
    ck_assert_str_eq(ct_errname(CT_ELAST_), "CT_E?");
    ck_assert_str_eq(ct_errname(CT_ETIMEDOUT), "CT_ETIMEDOUT");
}
END_TEST

/* lock_tests.BaseLockTests.test_timeout: bad timeouts are rejected. */
START_TEST(test_timeout_check)
{
    ck_assert_ct(ct_timeout_check(0));
    ck_assert_ct(ct_timeout_check(CT_FOREVER));
    ck_assert_ct(ct_timeout_check(1.5));
    ck_assert_ct(ct_timeout_check(CT_TIMEOUT_MAX));
    ck_assert_ct_err(ct_timeout_check(-0.5), CT_ETIMEOUT);
    ck_assert_ct_err(ct_timeout_check(-2), CT_ETIMEOUT);
    ck_assert_ct_err(ct_timeout_check(NAN), CT_ETIMEOUT);
    ck_assert_ct_err(ct_timeout_check(-INFINITY), CT_ETIMEOUT);
    ck_assert_ct_err(ct_timeout_check(CT_TIMEOUT_MAX * 2), CT_EOVERFLOW);
    ck_assert_ct_err(ct_timeout_check(INFINITY), CT_EOVERFLOW);
}
END_TEST

START_TEST(test_deadline_make)
{
    ct__deadline d;
    ck_assert_ct(ct__deadline_make(CT_FOREVER, &d));
    ck_assert(d == CT__NEVER);
    ck_assert(!ct__deadline_passed(d));
    ck_assert_ct(ct__deadline_make(CT_TIMEOUT_MAX, &d));
    ck_assert(d == CT__NEVER || d > ct__now_ns()); /* saturates, never wraps */
    int64_t before = ct__now_ns();
    ck_assert_ct(ct__deadline_make(0.25, &d));
    ck_assert(d >= before + 250000000);
    ck_assert(!ct__deadline_passed(d));
    ck_assert_ct(ct__deadline_make(0, &d));
    ck_assert(ct__deadline_passed(d));
    ck_assert_ct_err(ct__deadline_make(NAN, &d), CT_ETIMEOUT);
}
END_TEST

START_TEST(test_monotonic_and_sleep)
{
    double t0 = ct_monotonic();
    ck_assert_ct(ct_sleep(0.05));
    double t1 = ct_monotonic();
    ck_assert(t1 - t0 >= 0.05);
    ck_assert_ct(ct_sleep(0));
    ck_assert_ct_err(ct_sleep(CT_FOREVER), CT_ETIMEOUT);
    ck_assert_ct_err(ct_sleep(-1.5), CT_ETIMEOUT);
}
END_TEST

/* The version of the header and of the library: ct_version() is
 * CT_VERSION (the library is linked statically here), built by
 * CT_VERSION_NUMBER, and ct_version_string() spells the same three parts.
 * No Python counterpart. */
START_TEST(test_version)
{
    ck_assert_int_eq(ct_version(), CT_VERSION);
    ck_assert_int_eq(CT_VERSION, CT_VERSION_NUMBER(CT_VERSION_MAJOR, CT_VERSION_MINOR,
                                                   CT_VERSION_PATCH));
    ck_assert_int_eq(CT_VERSION_NUMBER(0, 2, 0), 200);
    ck_assert_int_lt(CT_VERSION_NUMBER(0, 9, 9), CT_VERSION_NUMBER(1, 0, 0));
    ck_assert_str_eq(ct_version_string(), CT_VERSION_STRING);
    char spelled[32];
    snprintf(spelled, sizeof spelled, "%d.%d.%d", CT_VERSION_MAJOR, CT_VERSION_MINOR,
             CT_VERSION_PATCH);
    ck_assert_str_eq(ct_version_string(), spelled);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("clock");
    CT_ADD_TEST(s, test_strerror_every_code, 10);
    CT_ADD_TEST(s, test_timeout_check, 10);
    CT_ADD_TEST(s, test_deadline_make, 10);
    CT_ADD_TEST(s, test_monotonic_and_sleep, 10);
    CT_ADD_TEST(s, test_version, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
