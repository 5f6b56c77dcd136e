/* cthreading/semaphore.h - Semaphore and BoundedSemaphore. */
#ifndef CTHREADING_SEMAPHORE_H
#define CTHREADING_SEMAPHORE_H

#include "cthreading/lock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_semaphore {
    uint32_t opaque_[4];
} ct_semaphore;
#define CT_SEMAPHORE_INIT(value) {{(value), 0, 0, 0}}

CT_API int ct_semaphore_init(ct_semaphore *sem, int value, unsigned flags);
CT_API int ct_semaphore_destroy(ct_semaphore *sem);
CT_API int ct_semaphore_acquire(ct_semaphore *sem, double timeout);
CT_API int ct_semaphore_release(ct_semaphore *sem, int n);
CT_API int ct_semaphore_value(const ct_semaphore *sem);

typedef struct ct_bounded_semaphore {
    uint32_t opaque_[4];
} ct_bounded_semaphore;
#define CT_BOUNDED_SEMAPHORE_INIT(value) {{(value), 0, 0, (value)}}

CT_API int ct_bounded_semaphore_init(ct_bounded_semaphore *sem, int value, unsigned flags);
CT_API int ct_bounded_semaphore_destroy(ct_bounded_semaphore *sem);
CT_API int ct_bounded_semaphore_acquire(ct_bounded_semaphore *sem, double timeout);
CT_API int ct_bounded_semaphore_release(ct_bounded_semaphore *sem, int n);
CT_API int ct_bounded_semaphore_value(const ct_bounded_semaphore *sem);

#ifdef __cplusplus
}
#endif
#endif
