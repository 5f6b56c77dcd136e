/*
 * Threads (layer 4): Thread objects, the registry of live threads, the
 * module functions, hooks, the excepthook and exit semantics.
 *
 * Life of a thread: NEW -> ALIVE (start) -> ENDED (target returned and the
 * thread's local values were destroyed). `state` is the park word that
 * joiners wait on, so any number of threads can join one thread, and
 * threads are detached: nobody ever calls pthread_join.
 *
 * References: the creator holds one. start() adds one that the thread
 * itself drops as its very last act, so a caller may unref right after
 * start. The registry lists exactly the live threads (ALIVE, plus the main
 * thread and dummies); a thread leaves it before it becomes ENDED, and
 * its own reference keeps it valid while it is listed, so the registry
 * needs no references of its own.
 *
 * Exit: an atexit handler joins every live non-daemon thread except the
 * caller and the main thread, again and again until none is left (a
 * thread may start another while it ends), as Python's interpreter does.
 *
 * Foreign threads (plain pthread_create) get a dummy Thread the first time
 * they ask for one: alive, daemonic, not joinable. A pthread key
 * destructor takes it out of the registry when that thread ends.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cthreading/lock.h"
#include "park.h"
#include "thread_internal.h"

enum { NEW = 0, ALIVE = 1, ENDED = 2 };
enum { KIND_NORMAL, KIND_MAIN, KIND_DUMMY };

#define MIN_STACK (32 * 1024)
#define OS_NAME_MAX 15 /* Linux: 16 bytes with the NUL */

struct ct_thread {
    _Atomic int refs;
    _Atomic uint32_t state;
    int kind;
    _Atomic int daemon;
    ct_thread_fn target;
    void *arg;
    size_t stack_size;
    int result;
    _Atomic uint64_t ident;
    _Atomic uint64_t native_id;
    pthread_t handle;
    /* `name` and `os_alive` (the pthread may still be named) are guarded
     * by `mutex`. */
    pthread_mutex_t mutex;
    char *name;
    int os_alive;
    struct ct_thread *prev, *next; /* registry links, under reg_lock */
    void *timer;
    void (*free_timer)(void *timer);
};

static ct_lock reg_lock = CT_LOCK_INIT;
static struct ct_thread *reg_head;
static int reg_count;
static struct ct_thread *main_thread;
static _Thread_local struct ct_thread *current;
static pthread_key_t dummy_key;
static _Atomic unsigned thread_counter, dummy_counter;
static _Atomic size_t stack_setting;

static ct_lock hook_lock = CT_LOCK_INIT;
static ct_thread_hook trace_hook, profile_hook;
static void *trace_arg, *profile_arg;
static ct_excepthook_fn except_hook = ct_default_excepthook;
static void *except_arg;

static void fail(const char *call)
{
    fprintf(stderr, "cthreading: %s failed\n", call);
    abort();
}

static uint64_t gettid_u64(void)
{
    return (uint64_t)syscall(SYS_gettid);
}

/* ---- registry ---- */

static void reg_add(struct ct_thread *t)
{
    ct_lock_acquire(&reg_lock, CT_FOREVER);
    t->prev = NULL;
    t->next = reg_head;
    if (reg_head)
        reg_head->prev = t;
    reg_head = t;
    reg_count++;
    ct_lock_release(&reg_lock);
}

static void reg_remove(struct ct_thread *t)
{
    ct_lock_acquire(&reg_lock, CT_FOREVER);
    if (t->prev)
        t->prev->next = t->next;
    else
        reg_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
    reg_count--;
    ct_lock_release(&reg_lock);
}

/* ---- objects ---- */

static int set_name_locked(struct ct_thread *t, const char *name)
{
    char *copy = strdup(name);
    if (!copy)
        return CT_ENOMEM;
    free(t->name);
    t->name = copy;
    if (t->os_alive) {
        char os[OS_NAME_MAX + 1];
        snprintf(os, sizeof os, "%s", name);
        pthread_setname_np(t->handle, os);
    }
    return 0;
}

static struct ct_thread *alloc_thread(int kind, const char *name, const char *prefix,
                                      _Atomic unsigned *counter)
{
    struct ct_thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    atomic_init(&t->refs, 1);
    atomic_init(&t->state, NEW);
    t->kind = kind;
    if (pthread_mutex_init(&t->mutex, NULL) != 0)
        fail("pthread_mutex_init");
    char buf[32];
    if (!name) {
        snprintf(buf, sizeof buf, "%s-%u", prefix, atomic_fetch_add(counter, 1) + 1);
        name = buf;
    }
    t->name = strdup(name);
    if (!t->name) {
        pthread_mutex_destroy(&t->mutex);
        free(t);
        return NULL;
    }
    return t;
}

ct_thread *ct__thread_new_with(const ct_thread_opts *opts, void *timer,
                               void (*free_timer)(void *timer))
{
    static const ct_thread_opts defaults;
    if (!opts)
        opts = &defaults;
    if (opts->flags != 0)
        return NULL;
    struct ct_thread *t = alloc_thread(KIND_NORMAL, opts->name, "Thread", &thread_counter);
    if (!t)
        return NULL;
    t->target = opts->target;
    t->arg = opts->arg;
    t->stack_size = opts->stack_size;
    if (opts->daemon == CT_DAEMON_INHERIT) {
        ct_thread *self = ct_current_thread();
        atomic_init(&t->daemon, self ? ct_thread_daemon(self) : 0);
    } else {
        atomic_init(&t->daemon, opts->daemon == CT_DAEMON);
    }
    t->timer = timer;
    t->free_timer = free_timer;
    return t;
}

ct_thread *ct_thread_new(const ct_thread_opts *opts)
{
    return ct__thread_new_with(opts, NULL, NULL);
}

void *ct__thread_timer(const ct_thread *t)
{
    return t->timer;
}

ct_thread *ct_thread_ref(ct_thread *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void ct_thread_unref(ct_thread *t)
{
    if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (t->free_timer)
        t->free_timer(t->timer);
    pthread_mutex_destroy(&t->mutex);
    free(t->name);
    free(t);
}

/* ---- running ---- */

static void run_hook(ct_thread_hook *hook, void **arg, ct_thread *t)
{
    ct_lock_acquire(&hook_lock, CT_FOREVER);
    ct_thread_hook h = *hook;
    void *a = *arg;
    ct_lock_release(&hook_lock);
    if (h)
        h(t, a);
}

static void report_error(struct ct_thread *t, int code)
{
    ct_lock_acquire(&hook_lock, CT_FOREVER);
    ct_excepthook_fn hook = except_hook;
    void *arg = except_arg;
    ct_lock_release(&hook_lock);
    ct_except_args args = {.thread = t, .code = code};
    hook(&args, arg);
}

/* The calling thread, started by us or a dummy, is ending: destroy its
 * local values, leave the registry, release its joiners and drop its own
 * reference. */
static void thread_ends(struct ct_thread *t)
{
    ct__local_thread_exit();
    pthread_mutex_lock(&t->mutex);
    t->os_alive = 0; /* from here on the pthread may vanish */
    pthread_mutex_unlock(&t->mutex);
    reg_remove(t);
    current = NULL;
    atomic_store_explicit(&t->state, ENDED, memory_order_release);
    ct__park_wake(&t->state, CT__WAKE_ALL, 0);
    ct_thread_unref(t);
}

static void *thread_main(void *p)
{
    struct ct_thread *t = p;
    current = t;
    atomic_store(&t->ident, (uint64_t)pthread_self());
    atomic_store(&t->native_id, gettid_u64());
    pthread_mutex_lock(&t->mutex);
    t->handle = pthread_self();
    t->os_alive = 1;
    char os[OS_NAME_MAX + 1];
    snprintf(os, sizeof os, "%s", t->name);
    pthread_setname_np(pthread_self(), os);
    pthread_mutex_unlock(&t->mutex);

    run_hook(&trace_hook, &trace_arg, t);
    run_hook(&profile_hook, &profile_arg, t);
    int rc = t->target ? t->target(t->arg) : 0;
    t->result = rc;
    if (rc != 0)
        report_error(t, rc);
    thread_ends(t);
    return NULL;
}

int ct_thread_start(ct_thread *t)
{
    uint32_t expected = NEW;
    size_t stack = t->stack_size ? t->stack_size : atomic_load(&stack_setting);
    if (t->kind != KIND_NORMAL)
        return CT_ESTARTED;
    if (stack != 0 && stack < MIN_STACK)
        return CT_EINVAL;
    if (!atomic_compare_exchange_strong(&t->state, &expected, ALIVE))
        return CT_ESTARTED;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        fail("pthread_attr_init");
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (stack != 0 && pthread_attr_setstacksize(&attr, stack) != 0) {
        pthread_attr_destroy(&attr);
        atomic_store(&t->state, NEW);
        return CT_EINVAL;
    }
    ct_thread_ref(t); /* the thread's own, dropped as it ends */
    reg_add(t);
    /* The new thread records its own handle (under its mutex, for
     * set_name); this copy only gives ident() its value at once. */
    pthread_t handle;
    int rc = pthread_create(&handle, &attr, thread_main, t);
    if (rc == 0)
        atomic_store(&t->ident, (uint64_t)handle); /* the thread stores the same */
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        reg_remove(t);
        atomic_store(&t->state, NEW);
        ct_thread_unref(t);
        return CT_EAGAIN;
    }
    return 0;
}

int ct_thread_join(ct_thread *t, double timeout)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    if (t->kind == KIND_DUMMY)
        return CT_EFOREIGN;
    uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    if (s == NEW)
        return CT_ENOTSTARTED;
    if (t == current)
        return CT_EDEADLK;
    while ((s = atomic_load_explicit(&t->state, memory_order_acquire)) != ENDED) {
        if (ct__deadline_passed(dl))
            return CT_ETIMEDOUT;
        ct__park_wait(&t->state, s, dl, 0, t, "thread");
    }
    return 0;
}

int ct_thread_result(const ct_thread *t)
{
    struct ct_thread *m = (struct ct_thread *)t;
    if (atomic_load_explicit(&m->state, memory_order_acquire) != ENDED)
        return 0;
    return t->result;
}

int ct_thread_is_alive(const ct_thread *t)
{
    return atomic_load_explicit(&((struct ct_thread *)t)->state, memory_order_acquire) == ALIVE;
}

const char *ct_thread_name(const ct_thread *t)
{
    return t->name;
}

int ct_thread_get_name(const ct_thread *t, char *buf, size_t size)
{
    struct ct_thread *m = (struct ct_thread *)t;
    if (size == 0)
        return CT_EINVAL;
    pthread_mutex_lock(&m->mutex);
    snprintf(buf, size, "%s", m->name);
    pthread_mutex_unlock(&m->mutex);
    return 0;
}

int ct_thread_set_name(ct_thread *t, const char *name)
{
    if (!name)
        return CT_EINVAL;
    pthread_mutex_lock(&t->mutex);
    int rc = set_name_locked(t, name);
    pthread_mutex_unlock(&t->mutex);
    return rc;
}

uint64_t ct_thread_ident(const ct_thread *t)
{
    return atomic_load(&((struct ct_thread *)t)->ident);
}

uint64_t ct_thread_native_id(const ct_thread *t)
{
    struct ct_thread *m = (struct ct_thread *)t;
    /* A started thread publishes its id first thing; in the instant
     * between start() and that, wait for it. */
    uint64_t id;
    while ((id = atomic_load(&m->native_id)) == 0 && atomic_load(&m->state) == ALIVE)
        sched_yield();
    return id;
}

int ct_thread_daemon(const ct_thread *t)
{
    return atomic_load(&((struct ct_thread *)t)->daemon);
}

int ct_thread_set_daemon(ct_thread *t, int daemon)
{
    if (atomic_load(&t->state) != NEW || t->kind != KIND_NORMAL)
        return CT_EACTIVE;
    atomic_store(&t->daemon, daemon ? 1 : 0);
    return 0;
}

/* ---- the current thread, main and dummies ---- */

static void dummy_ends(void *p)
{
    thread_ends(p);
}

static struct ct_thread *adopt_current(int kind)
{
    struct ct_thread *t = kind == KIND_MAIN
                              ? alloc_thread(kind, "MainThread", NULL, NULL)
                              : alloc_thread(kind, NULL, "Dummy", &dummy_counter);
    if (!t)
        return NULL;
    atomic_store(&t->daemon, kind == KIND_DUMMY);
    atomic_store(&t->state, ALIVE);
    atomic_store(&t->ident, (uint64_t)pthread_self());
    atomic_store(&t->native_id, gettid_u64());
    t->handle = pthread_self();
    t->os_alive = 1;
    current = t;
    reg_add(t);
    return t;
}

ct_thread *ct_current_thread(void)
{
    if (current)
        return current;
    struct ct_thread *t = adopt_current(KIND_DUMMY);
    if (t)
        pthread_setspecific(dummy_key, t);
    return t;
}

ct_thread *ct_main_thread(void)
{
    return main_thread;
}

uint64_t ct_get_ident(void)
{
    return (uint64_t)pthread_self();
}

uint64_t ct_get_native_id(void)
{
    return gettid_u64();
}

int ct_active_count(void)
{
    ct_lock_acquire(&reg_lock, CT_FOREVER);
    int n = reg_count;
    ct_lock_release(&reg_lock);
    return n;
}

size_t ct_enumerate(ct_thread **buf, size_t cap)
{
    size_t n = 0;
    ct_lock_acquire(&reg_lock, CT_FOREVER);
    for (struct ct_thread *t = reg_head; t; t = t->next, n++)
        if (n < cap)
            buf[n] = ct_thread_ref(t);
    ct_lock_release(&reg_lock);
    return n;
}

size_t ct_stack_size(void)
{
    return atomic_load(&stack_setting);
}

int ct_set_stack_size(size_t size)
{
    if (size != 0 && size < MIN_STACK)
        return CT_EINVAL;
    atomic_store(&stack_setting, size);
    return 0;
}

/* ---- hooks ---- */

static void set_hook(ct_thread_hook *slot, void **slot_arg, ct_thread_hook hook, void *arg)
{
    ct_lock_acquire(&hook_lock, CT_FOREVER);
    *slot = hook;
    *slot_arg = arg;
    ct_lock_release(&hook_lock);
}

void ct_settrace(ct_thread_hook hook, void *arg)
{
    set_hook(&trace_hook, &trace_arg, hook, arg);
}

void ct_setprofile(ct_thread_hook hook, void *arg)
{
    set_hook(&profile_hook, &profile_arg, hook, arg);
}

void ct_set_excepthook(ct_excepthook_fn hook, void *arg)
{
    ct_lock_acquire(&hook_lock, CT_FOREVER);
    except_hook = hook ? hook : ct_default_excepthook;
    except_arg = hook ? arg : NULL;
    ct_lock_release(&hook_lock);
}

void ct_default_excepthook(const ct_except_args *args, void *arg)
{
    (void)arg;
    char name[64];
    ct_thread_get_name(args->thread, name, sizeof name);
    if (args->code > CT_EBASE_ && args->code < CT_ELAST_)
        fprintf(stderr, "Exception in thread %s: %s (%s)\n", name, ct_errname(args->code),
                ct_strerror(args->code));
    else
        fprintf(stderr, "Exception in thread %s: error %d\n", name, args->code);
}

int ct_start_new_thread(ct_thread_fn fn, void *arg, uint64_t *ident)
{
    ct_thread *t = ct_thread_new(&(ct_thread_opts){.target = fn, .arg = arg, .daemon = CT_DAEMON});
    if (!t)
        return CT_ENOMEM;
    int rc = ct_thread_start(t);
    if (rc == 0 && ident)
        *ident = ct_thread_ident(t);
    ct_thread_unref(t);
    return rc;
}

/* ---- process exit and fork ---- */

#define MAX_AT_SHUTDOWN 8
static void (*at_shutdown[MAX_AT_SHUTDOWN])(void);
static int n_at_shutdown;

int ct__at_shutdown(void (*fn)(void))
{
    int rc = CT_ENOMEM;
    ct_lock_acquire(&hook_lock, CT_FOREVER);
    if (n_at_shutdown < MAX_AT_SHUTDOWN) {
        at_shutdown[n_at_shutdown++] = fn;
        rc = 0;
    }
    ct_lock_release(&hook_lock);
    return rc;
}

/* Join every live non-daemon thread but the caller and the main thread;
 * repeat, as threads that end may have started others. */
static void wait_for_non_daemon_threads(void)
{
    ct_lock_acquire(&hook_lock, CT_FOREVER);
    int n = n_at_shutdown;
    ct_lock_release(&hook_lock);
    for (int i = 0; i < n; i++)
        at_shutdown[i]();
    for (;;) {
        struct ct_thread *wait_for = NULL;
        ct_lock_acquire(&reg_lock, CT_FOREVER);
        for (struct ct_thread *t = reg_head; t; t = t->next)
            if (t != current && t->kind == KIND_NORMAL && !atomic_load(&t->daemon)) {
                wait_for = ct_thread_ref(t);
                break;
            }
        ct_lock_release(&reg_lock);
        if (!wait_for)
            return;
        ct_thread_join(wait_for, CT_FOREVER);
        ct_thread_unref(wait_for);
    }
}

/* In the child only the forking thread exists: it becomes the main thread
 * and the only live one, as in Python. The other threads' objects stay
 * valid for whoever holds references, marked ended. */
static void after_fork_child(void)
{
    struct ct_thread *self = current;
    for (struct ct_thread *t = reg_head; t; t = t->next) {
        if (t != self)
            atomic_store(&t->state, ENDED);
    }
    reg_head = NULL;
    reg_count = 0;
    ct_lock_init(&reg_lock, 0);
    ct_lock_init(&hook_lock, 0);
    if (self) {
        self->prev = self->next = NULL;
        reg_head = self;
        reg_count = 1;
        if (self->kind == KIND_DUMMY)
            pthread_setspecific(dummy_key, NULL);
        self->kind = KIND_MAIN;
        atomic_store(&self->ident, (uint64_t)pthread_self());
        atomic_store(&self->native_id, gettid_u64());
        main_thread = self;
    }
}

static void before_fork(void)
{
    ct_lock_acquire(&reg_lock, CT_FOREVER);
}

static void after_fork_parent(void)
{
    ct_lock_release(&reg_lock);
}

__attribute__((constructor)) static void threads_init(void)
{
    if (pthread_key_create(&dummy_key, dummy_ends) != 0)
        fail("pthread_key_create");
    main_thread = adopt_current(KIND_MAIN);
    if (!main_thread)
        fail("allocating the main thread");
    atexit(wait_for_non_daemon_threads);
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}
