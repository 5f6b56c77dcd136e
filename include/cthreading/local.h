/* cthreading/local.h - thread-local data (Python's threading.local). */
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

CT_API ct_local *ct_local_new(const ct_local_opts *opts);
CT_API ct_local *ct_local_ref(ct_local *l);
CT_API void ct_local_unref(ct_local *l);
CT_API void *ct_local_get(ct_local *l);
CT_API int ct_local_set(ct_local *l, void *value);

#ifdef __cplusplus
}
#endif
#endif
