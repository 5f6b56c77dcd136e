/*
 * cthreading/thread.h - threads and the threading module functions.
 * (Layer 4. The full contract of each function is documented here.)
 */
#ifndef CTHREADING_THREAD_H
#define CTHREADING_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include "cthreading/clock.h"
#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_thread ct_thread;

/* A thread's target. Its non-zero return is the thread's unhandled error:
 * it goes to the excepthook and is kept for ct_thread_result(). */
typedef int (*ct_thread_fn)(void *arg);

/* Values of ct_thread_opts.daemon. 0 inherits from the creating thread. */
#define CT_DAEMON_INHERIT 0
#define CT_DAEMON 1
#define CT_NOT_DAEMON (-1)

typedef struct ct_thread_opts {
    unsigned flags;        /* reserved for growth; must be 0 */
    ct_thread_fn target;   /* may be NULL: the thread then does nothing */
    void *arg;             /* passed to target */
    const char *name;      /* copied; NULL gives "Thread-N" */
    int daemon;            /* CT_DAEMON_INHERIT, CT_DAEMON or CT_NOT_DAEMON */
    size_t stack_size;     /* 0: the process-wide ct_stack_size() */
} ct_thread_opts;

CT_API ct_thread *ct_thread_new(const ct_thread_opts *opts);
CT_API ct_thread *ct_thread_ref(ct_thread *t);
CT_API void ct_thread_unref(ct_thread *t);
CT_API int ct_thread_start(ct_thread *t);
CT_API int ct_thread_join(ct_thread *t, double timeout);
CT_API int ct_thread_result(const ct_thread *t);
CT_API int ct_thread_is_alive(const ct_thread *t);
CT_API const char *ct_thread_name(const ct_thread *t);
CT_API int ct_thread_get_name(const ct_thread *t, char *buf, size_t size);
CT_API int ct_thread_set_name(ct_thread *t, const char *name);
CT_API uint64_t ct_thread_ident(const ct_thread *t);
CT_API uint64_t ct_thread_native_id(const ct_thread *t);
CT_API int ct_thread_daemon(const ct_thread *t);
CT_API int ct_thread_set_daemon(ct_thread *t, int daemon);

/* Module functions. */
CT_API int ct_active_count(void);
CT_API ct_thread *ct_current_thread(void);
CT_API uint64_t ct_get_ident(void);
CT_API uint64_t ct_get_native_id(void);
CT_API size_t ct_enumerate(ct_thread **buf, size_t cap);
CT_API ct_thread *ct_main_thread(void);
CT_API size_t ct_stack_size(void);
CT_API int ct_set_stack_size(size_t size);

typedef void (*ct_thread_hook)(ct_thread *t, void *arg);
CT_API void ct_settrace(ct_thread_hook hook, void *arg);
CT_API void ct_setprofile(ct_thread_hook hook, void *arg);

typedef struct ct_except_args {
    ct_thread *thread; /* the thread whose target failed */
    int code;          /* the target's non-zero return */
} ct_except_args;
typedef void (*ct_excepthook_fn)(const ct_except_args *args, void *arg);
CT_API void ct_set_excepthook(ct_excepthook_fn hook, void *arg);
CT_API void ct_default_excepthook(const ct_except_args *args, void *arg);

/* The low-level _thread face. */
CT_API int ct_start_new_thread(ct_thread_fn fn, void *arg, uint64_t *ident);

#ifdef __cplusplus
}
#endif
#endif
