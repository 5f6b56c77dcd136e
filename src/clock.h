/* Internal: absolute monotonic deadlines in nanoseconds. */
#ifndef CT_SRC_CLOCK_H
#define CT_SRC_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "cthreading/clock.h"

#define CT__HIDDEN __attribute__((visibility("hidden")))

/* A point on CLOCK_MONOTONIC in ns; CT__NEVER means no deadline. */
typedef int64_t ct__deadline;
#define CT__NEVER INT64_MAX

CT__HIDDEN int64_t ct__now_ns(void);

/* Check `timeout` and turn it into a deadline: 0, CT_ETIMEOUT or
 * CT_EOVERFLOW. A deadline past the clock's range saturates to
 * CT__NEVER. */
CT__HIDDEN int ct__deadline_make(double timeout, ct__deadline *out);

/* The same for a caller that found it must wait: timeout 0 means "do not
 * wait", so that gives CT_ETIMEDOUT at once. */
CT__HIDDEN int ct__deadline_to_wait(double timeout, ct__deadline *out);

/* True once the deadline has passed (never for CT__NEVER). */
CT__HIDDEN int ct__deadline_passed(ct__deadline d);

/* Nanoseconds left before the deadline, 0 once passed. */
CT__HIDDEN int64_t ct__deadline_left(ct__deadline d);

CT__HIDDEN struct timespec ct__ns_to_timespec(int64_t ns);

#endif
