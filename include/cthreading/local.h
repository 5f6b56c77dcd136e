/*
 * cthreading/local.h - thread-local data (Python's threading.local).
 *
 * A ct_local holds one `void *` value per thread. There may be any number
 * of them (not limited by the system's count of thread-specific keys). A
 * value set in one thread is invisible to the others. When a thread ends
 * (any thread, also one not started by cthreading), `destroy` runs on each
 * of its non-NULL values; when the last reference to a local goes, it runs
 * on every thread's value for it at once, so dropping a local while
 * threads still run is safe. Callbacks (init and destroy) run with no lock
 * of the library held: they may use locals, start or join threads, or
 * wait for other threads that use locals.
 *
 * Fork: in a forked child, the values that the parent's other threads had
 * set are destroyed (as Python clears those threads' states), at the
 * child's next call to ct_local_new, ct_local_get or ct_local_set; the
 * forking thread keeps its own values.
 */
#ifndef CTHREADING_LOCAL_H
#define CTHREADING_LOCAL_H

#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_local ct_local;

typedef struct ct_local_opts {
    unsigned flags;                          /* reserved; must be 0 */
    void *(*init)(void *arg);                /* first value in each thread; NULL: NULL */
    void (*destroy)(void *value, void *arg); /* run on a thread's value when it ends */
    void *arg;
} ct_local_opts;

/* ct_local_new - opts may be NULL. Stores one reference in *out. Returns
 * 0, CT_EINVAL (flags not 0) or CT_ENOMEM. */
CT_API int ct_local_new(ct_local **out, const ct_local_opts *opts);

/* ct_local_ref / ct_local_unref - see above for what the last unref does.
 * No thread may use the local during or after its last unref. */
CT_API ct_local *ct_local_ref(ct_local *l);
CT_API void ct_local_unref(ct_local *l);

/* ct_local_get - store the calling thread's value in *value. The first get
 * in a thread that has not set one runs init(arg) and keeps its result
 * (NULL without init). Returns 0, or CT_ENOMEM (then *value is NULL and
 * the init result, if any, was destroyed). Does not block for long. */
CT_API int ct_local_get(ct_local *l, void **value);

/* ct_local_set - set the calling thread's value; a different old value
 * goes to destroy. Returns 0 or CT_ENOMEM. */
CT_API int ct_local_set(ct_local *l, void *value);

#ifdef __cplusplus
}
#endif
#endif
