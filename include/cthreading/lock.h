/* cthreading/lock.h - Lock and RLock. (Layer 3: caller-allocated structs
 * built on park and atomics; all-zero / CT_..._INIT is unlocked.) */
#ifndef CTHREADING_LOCK_H
#define CTHREADING_LOCK_H

#include <stdint.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flag for the _init functions of every primitive: the object lives in
 * memory shared between processes (mmap MAP_SHARED before fork). */
#define CT_PSHARED 1u

typedef struct ct_lock {
    uint32_t opaque_[2];
} ct_lock;
#define CT_LOCK_INIT {{0, 0}}

CT_API int ct_lock_init(ct_lock *lock, unsigned flags);
CT_API int ct_lock_destroy(ct_lock *lock);
CT_API int ct_lock_acquire(ct_lock *lock, double timeout);
CT_API int ct_lock_release(ct_lock *lock);
CT_API int ct_lock_locked(const ct_lock *lock);

typedef struct ct_rlock {
    uint64_t opaque_[3];
} ct_rlock;
#define CT_RLOCK_INIT {{0, 0, 0}}

CT_API int ct_rlock_init(ct_rlock *rlock, unsigned flags);
CT_API int ct_rlock_destroy(ct_rlock *rlock);
CT_API int ct_rlock_acquire(ct_rlock *rlock, double timeout);
CT_API int ct_rlock_release(ct_rlock *rlock);
CT_API int ct_rlock_locked(const ct_rlock *rlock);
CT_API int ct_rlock_is_owned(const ct_rlock *rlock);
CT_API unsigned ct_rlock_recursion_count(const ct_rlock *rlock);

#ifdef __cplusplus
}
#endif
#endif
