/*
 * cthreading/interrupt.h - interrupting a blocked thread (what Java's
 * Thread.interrupt does, and Python cannot), and letting a signal end a
 * wait (what Python needs for Ctrl-C).
 *
 * ct_thread_interrupt(t) sets t's interrupt flag and wakes t at once if
 * it is blocked in the library (lock acquire, condition wait, event wait,
 * semaphore, barrier, queue get/put/join, future result, ct_wait and
 * as_completed, thread join, ct_sleep, and the waits of the process
 * layer). That call returns CT_EINTERRUPTED, once, and the flag is
 * cleared. A thread that is not blocked keeps the flag until its next
 * call that has to wait, which then returns CT_EINTERRUPTED at once; a
 * call that can complete without waiting (a free lock, a set event)
 * completes as usual. Nothing else about the object changes: a lock is
 * not acquired, a queue item is not taken or lost, an interrupted
 * Condition wait returns with its lock held again (as a timed-out one
 * does), and an interrupted Barrier wait breaks the barrier for the
 * others, as a timeout does. Only the target thread is woken; there is no
 * polling and no timeout slicing.
 *
 * Signals: a signal handler that runs while a thread waits does not end
 * the wait, which resumes with its deadline, unless the thread called
 * ct_set_interrupt_on_signal(true): then the call returns CT_EINTR after
 * the handler has run, with the same guarantees as above, so the caller
 * can act on the signal (a Python extension raises KeyboardInterrupt)
 * and call again with the time left. This works with the futex backend
 * (Linux, the default) for handlers installed without SA_RESTART (as
 * Python's are; a handler with SA_RESTART lets the wait resume); with the
 * portable backend (CT_PARK_LOT) signals never end a wait.
 *
 * The blocking calls of cthreading are not POSIX cancellation points:
 * pthread_cancel does not end them; ct_thread_interrupt does.
 */
#ifndef CTHREADING_INTERRUPT_H
#define CTHREADING_INTERRUPT_H

#include <stdbool.h>

#include "cthreading/error.h"
#include "cthreading/thread.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ct_thread_interrupt - interrupt thread t (see above). Does not block
 * for long. Returns 0; interrupting a thread that is not alive does
 * nothing. Not async-signal-safe (it takes a short internal lock).
 */
CT_API int ct_thread_interrupt(ct_thread *t);

/* ct_interrupted - whether the calling thread's interrupt flag is set;
 * clears it (Java's Thread.interrupted()). */
CT_API bool ct_interrupted(void);

/* ct_thread_is_interrupted - whether t's flag is set, without clearing
 * it (Java's isInterrupted()). */
CT_API bool ct_thread_is_interrupted(const ct_thread *t);

/* ct_set_interrupt_on_signal - for the calling thread: whether a signal
 * handler that runs during a wait ends it with CT_EINTR. Returns the
 * previous setting. Off in every thread to begin with. */
CT_API bool ct_set_interrupt_on_signal(bool on);

#ifdef __cplusplus
}
#endif
#endif
