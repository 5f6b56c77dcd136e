/*
 * cthreading/barrier.h - Barrier (Python's threading.Barrier).
 *
 * `parties` threads meet: each wait() blocks until all have arrived, then
 * all are released together, and the barrier is ready for the next round
 * (threads of a new round wait until the last one of the old round has
 * left). Optionally one thread runs an action just before the release. A
 * barrier can break: abort(), a wait that times out, or an action that
 * fails. A broken barrier fails every wait until reset(). Caller-allocated,
 * no allocation, usable between processes with CT_PSHARED.
 *
 * Between processes: the action is a function pointer, run by whichever
 * party arrives last, so it must be valid in every participating process:
 * true for processes forked from the one that set it (ct_process with
 * either start method, or fork()). An action is refused (CT_EINVAL) for a
 * barrier inside a named segment (ct_shared_memory), which unrelated
 * processes may map. A party whose process dies while it waits stays
 * counted: the round can never fill, so the others wait until their
 * timeout, which breaks the barrier (give shared barriers a timeout). A
 * process that dies inside the barrier's short internal critical section
 * leaves its robust internal lock to the next party (cthreading/lock.h);
 * the round then also ends by timeout.
 */
#ifndef CTHREADING_BARRIER_H
#define CTHREADING_BARRIER_H

#include "cthreading/lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fields are private. */
typedef struct ct_barrier {
    uint64_t opaque_[7];
} ct_barrier;

typedef struct ct_barrier_opts {
    unsigned flags;           /* 0 or CT_PSHARED */
    int parties;              /* >= 1 */
    int (*action)(void *arg); /* run by one thread before release; non-zero breaks */
    void *arg;                /* passed to action */
    double timeout;           /* default timeout of ct_barrier_wait; left at 0 it is
                                 Python's None: no default, waits are unlimited */
} ct_barrier_opts;

/*
 * ct_barrier_init - returns 0, CT_EINVAL (opts NULL, parties < 1, unknown
 * flag, an action for a CT_PSHARED barrier in a named segment), or
 * CT_ETIMEOUT / CT_EOVERFLOW for a bad default timeout.
 */
CT_API int ct_barrier_init(ct_barrier *b, const ct_barrier_opts *opts);

/* ct_barrier_destroy - returns 0, or CT_ESTATE while threads wait. */
CT_API int ct_barrier_destroy(ct_barrier *b);

/*
 * ct_barrier_wait - wait for the round, up to `timeout`. As in Python,
 * CT_FOREVER (Python's None) means the barrier's default timeout, which
 * is itself unlimited unless ct_barrier_opts.timeout set one; 0 does not
 * wait (so unless this thread completes the round, the barrier breaks at
 * once, as in Python). Blocks. Returns 0 and stores in *index (if not
 * NULL) a number 0..parties-1 that differs for each thread of the round
 * (its arrival order: the last to arrive gets parties-1 and runs the
 * action). Errors: CT_EBROKEN (the barrier is or became broken, or was
 * reset while waiting, or the action failed), CT_ETIMEDOUT (this thread's
 * own timeout ran out: the barrier is now broken, and the others get
 * CT_EBROKEN), CT_ETIMEOUT / CT_EOVERFLOW for a bad timeout.
 *
 * Visibility: everything each party wrote before its wait is visible to
 * every party after a successful wait, and to the action.
 */
CT_API int ct_barrier_wait(ct_barrier *b, int *index, double timeout);

/* ct_barrier_abort - break the barrier: current and future waits fail
 * with CT_EBROKEN until reset. Returns 0. */
CT_API int ct_barrier_abort(ct_barrier *b);

/* ct_barrier_reset - back to empty and unbroken; threads waiting now fail
 * with CT_EBROKEN. Returns 0. */
CT_API int ct_barrier_reset(ct_barrier *b);

/* The number of parties; how many wait in the round being filled now (0
 * while a round drains); whether it is broken. Snapshots; none blocks. */
CT_API int ct_barrier_parties(const ct_barrier *b);
CT_API int ct_barrier_n_waiting(const ct_barrier *b);
CT_API bool ct_barrier_broken(const ct_barrier *b);

#ifdef __cplusplus
}
#endif
#endif
