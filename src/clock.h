/*
 * Internal: absolute monotonic deadlines in nanoseconds.
 *
 * Every blocking call turns its timeout into a deadline through one of
 * two functions and from then on works with the deadline only (also when
 * it calls another blocking function inside: the _until forms), so a
 * spurious wake-up, a signal or a nested wait never stretches the time a
 * caller asked for. Fast paths check the timeout with ct__timeout_ok
 * (no call) and convert it only once they know they must wait.
 */
#ifndef CT_SRC_CLOCK_H
#define CT_SRC_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common.h"
#include "cthreading/clock.h"

/* A point on CLOCK_MONOTONIC in ns; CT__NEVER means no deadline. */
typedef int64_t ct__deadline;
#define CT__NEVER INT64_MAX

CT__HIDDEN int64_t ct__now_ns(void);

/* A valid timeout, without a call: 0..CT_TIMEOUT_MAX or CT_FOREVER (NaN
 * fails every comparison). */
static inline bool ct__timeout_ok(double t)
{
    return (t >= 0 && t <= CT_TIMEOUT_MAX) || t == CT_FOREVER;
}

/* Check `timeout` and turn it into a deadline: 0, CT_ETIMEOUT or
 * CT_EOVERFLOW. A deadline past the clock's range saturates to
 * CT__NEVER. */
CT__HIDDEN int ct__deadline_make(double timeout, ct__deadline *out);

/* The same for a caller that found it must wait: timeout 0 means "do not
 * wait", so that gives CT_ETIMEDOUT at once. */
CT__HIDDEN int ct__deadline_to_wait(double timeout, ct__deadline *out);

/* True once the deadline has passed (never for CT__NEVER). */
CT__HIDDEN bool ct__deadline_passed(ct__deadline d);

CT__HIDDEN struct timespec ct__ns_to_timespec(int64_t ns);

#endif
