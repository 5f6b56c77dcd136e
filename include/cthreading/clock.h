/*
 * cthreading/clock.h - timeouts.
 *
 * Timeouts are double seconds, as in Python. CT_FOREVER waits without
 * limit; 0 never blocks (Python's blocking=False); any other negative
 * value, NaN, or a value above CT_TIMEOUT_MAX is rejected with
 * CT_ETIMEOUT or CT_EOVERFLOW before anything happens. Every blocking call
 * turns its timeout into one absolute deadline on the monotonic clock, so
 * wall-clock jumps, EINTR and spurious wake-ups never stretch a wait.
 */
#ifndef CTHREADING_CLOCK_H
#define CTHREADING_CLOCK_H

#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Wait without limit (Python's timeout=None / -1). */
#define CT_FOREVER (-1.0)

/* The largest timeout accepted, in seconds (Python's threading.TIMEOUT_MAX):
 * about 292 years, the range of a signed 64-bit nanosecond count. */
#define CT_TIMEOUT_MAX 9223372036.0

/*
 * ct_monotonic - seconds on the monotonic clock (Python's time.monotonic).
 * Never blocks, never fails.
 */
CT_API double ct_monotonic(void);

/*
 * ct_timeout_check - validate a timeout as every blocking call does.
 * Returns 0, CT_ETIMEOUT (negative other than CT_FOREVER, or NaN) or
 * CT_EOVERFLOW (above CT_TIMEOUT_MAX).
 */
CT_API int ct_timeout_check(double timeout);

/*
 * ct_sleep - sleep for `seconds` on the monotonic clock, resuming after
 * signals until the full time has passed. Blocks. Returns 0; the errors
 * of ct_timeout_check (CT_FOREVER is rejected as CT_ETIMEOUT); or
 * CT_EINTERRUPTED / CT_EINTR when interrupted (cthreading/interrupt.h).
 */
CT_API int ct_sleep(double seconds);

#ifdef __cplusplus
}
#endif
#endif
