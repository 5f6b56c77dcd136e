/* cthreading/condition.h - Condition over a Lock or an RLock. */
#ifndef CTHREADING_CONDITION_H
#define CTHREADING_CONDITION_H

#include "cthreading/lock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_condition {
    uint64_t opaque_[8];
} ct_condition;
/* A condition with its own RLock. */
#define CT_CONDITION_INIT {{0}}

typedef struct ct_condition_opts {
    unsigned flags;  /* 0 or CT_PSHARED */
    ct_lock *lock;   /* use this Lock, or */
    ct_rlock *rlock; /* this RLock; both NULL: the condition's own RLock */
} ct_condition_opts;

typedef int (*ct_predicate)(void *arg);

CT_API int ct_condition_init(ct_condition *cond, const ct_condition_opts *opts);
CT_API int ct_condition_destroy(ct_condition *cond);
CT_API int ct_condition_acquire(ct_condition *cond, double timeout);
CT_API int ct_condition_release(ct_condition *cond);
CT_API int ct_condition_wait(ct_condition *cond, double timeout);
CT_API int ct_condition_wait_for(ct_condition *cond, ct_predicate pred, void *arg, double timeout,
                                 int *value);
CT_API int ct_condition_notify(ct_condition *cond, int n);
CT_API int ct_condition_notify_all(ct_condition *cond);

#ifdef __cplusplus
}
#endif
#endif
