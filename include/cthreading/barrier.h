/* cthreading/barrier.h - Barrier. */
#ifndef CTHREADING_BARRIER_H
#define CTHREADING_BARRIER_H

#include "cthreading/lock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_barrier {
    uint64_t opaque_[7];
} ct_barrier;

typedef struct ct_barrier_opts {
    unsigned flags;          /* 0 or CT_PSHARED */
    int parties;             /* >= 1 */
    int (*action)(void *arg); /* run by one thread before release; non-zero breaks */
    void *arg;
    double timeout;          /* default for ct_barrier_wait; 0 means none (CT_FOREVER) */
} ct_barrier_opts;

CT_API int ct_barrier_init(ct_barrier *b, const ct_barrier_opts *opts);
CT_API int ct_barrier_destroy(ct_barrier *b);
CT_API int ct_barrier_wait(ct_barrier *b, int *index);
CT_API int ct_barrier_wait_timeout(ct_barrier *b, double timeout, int *index);
CT_API int ct_barrier_abort(ct_barrier *b);
CT_API int ct_barrier_reset(ct_barrier *b);
CT_API int ct_barrier_parties(const ct_barrier *b);
CT_API int ct_barrier_n_waiting(const ct_barrier *b);
CT_API int ct_barrier_broken(const ct_barrier *b);

#ifdef __cplusplus
}
#endif
#endif
