/*
 * Threads (layer 4): Thread objects, the registry of live threads, the
 * module functions, hooks, the excepthook, exit and fork.
 *
 * Life of a thread: NEW -> ALIVE (start) -> ENDED (target returned, or
 * the thread left through pthread_exit or cancellation, and its local
 * values were destroyed). `state` is the park word that joiners wait on,
 * so any number of threads can join one thread, and threads are
 * detached: nobody ever calls pthread_join.
 *
 * References: the creator holds one. start() adds one that the thread
 * itself drops as its very last act, so a caller may unref right after
 * start. The registry lists exactly the live threads (ALIVE, plus the main
 * thread and dummies); a thread leaves it before it becomes ENDED, and
 * its own reference keeps it valid while it is listed, so the registry
 * needs no references of its own.
 *
 * Names: the current name is an atomic pointer. A rename publishes a new
 * string and keeps the old one until the object is freed, so a pointer
 * from ct_thread_name never dangles while the caller holds a reference.
 * `os_lock` (one for the process) guards what belongs to the running OS
 * thread and is valid only while `os_alive`: its pthread_t (renames name
 * the OS thread too) and its wait record (which lives in its thread-local
 * storage, and which ct_thread_interrupt touches).
 *
 * Exit (see thread.h): one handler, registered with atexit() when the
 * first thread starts, runs the before-join handlers, joins every live
 * non-daemon thread but the caller until none is left, then runs the
 * after-join handlers. `phase` tells how far it got: a thread cannot be
 * started once the joins are over, as in Python.
 *
 * Fork: the registry, the hook table and the name lock are taken before
 * fork and reset in the child, where the forking thread, known to the
 * library or not, becomes the main thread and the only live one.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cthreading/interrupt.h"
#include "cthreading/lock.h"
#include "fork.h"
#include "local.h"
#include "park.h"
#include "prim.h"
#include "thread_internal.h"
#include "watch.h"

enum { NEW = 0, ALIVE = 1, ENDED = 2 };
enum { KIND_NORMAL, KIND_MAIN, KIND_DUMMY };
enum { RUNNING, BEFORE_JOIN, JOINING, FINALIZING };

#define MIN_STACK (32 * 1024)
#define OS_NAME_MAX 15 /* Linux: 16 bytes with the NUL */

struct old_name {
    struct old_name *next;
    char text[];
};

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
    _Atomic(char *) name;
    struct old_name *old_names; /* under os_lock */
    pthread_t handle;           /* under os_lock */
    struct ct__wait_record *record; /* under os_lock: the thread's, while os_alive */
    int os_alive;               /* under os_lock: the OS thread runs */
    struct ct__node link;       /* registry, under reg_lock */
    void *timer;
    void (*free_timer)(void *timer);
};

static ct_lock reg_lock = CT_LOCK_INIT;
static struct ct__list registry;
static int reg_count;
static struct ct_thread *main_thread;
static struct ct_thread *previous_main; /* kept valid after a fork, see fork_child */
static _Thread_local struct ct_thread *current;
static pthread_key_t dummy_key;
static _Atomic unsigned thread_counter, dummy_counter;
static _Atomic size_t stack_setting;
static ct_lock os_lock = CT_LOCK_INIT;

/* Hooks and exit handlers, under hook_lock. */
static ct_lock hook_lock = CT_LOCK_INIT;
static ct_thread_hook trace_hook, profile_hook;
static void *trace_arg, *profile_arg;
static ct_excepthook_fn except_hook = ct_default_excepthook;
static void *except_arg;

struct exit_handler {
    void (*fn)(void *arg);
    void *arg;
    struct ct__node link;
};
static struct ct__list before_join, after_join; /* newest first */
static _Atomic int phase = RUNNING;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void locked(ct_lock *l)
{
    ct__lock_take(l);
}

static void unlocked(ct_lock *l)
{
    ct__lock_give(l);
}

static uint64_t gettid_u64(void)
{
    return (uint64_t)syscall(SYS_gettid);
}

static struct ct_thread *of(struct ct__node *n)
{
    return CT__CONTAINER_OF(n, struct ct_thread, link);
}

/* ---- registry ---- */

static void reg_add(struct ct_thread *t)
{
    locked(&reg_lock);
    ct__list_push_front(&registry, &t->link);
    reg_count++;
    unlocked(&reg_lock);
}

static void reg_remove(struct ct_thread *t)
{
    locked(&reg_lock);
    ct__list_unlink(&registry, &t->link);
    reg_count--;
    unlocked(&reg_lock);
}

/* ---- objects ---- */

static void set_os_name(pthread_t handle, const char *name)
{
    char os[OS_NAME_MAX + 1];
    snprintf(os, sizeof os, "%s", name);
    pthread_setname_np(handle, os);
}

static char *copy_name(const char *name)
{
    size_t n = strlen(name) + 1;
    struct old_name *node = malloc(sizeof *node + n);
    if (!node)
        return NULL;
    node->next = NULL;
    memcpy(node->text, name, n);
    return node->text;
}

static void free_name(char *text)
{
    free(CT__CONTAINER_OF(text, struct old_name, text));
}

static int validate_daemon(int daemon)
{
    return daemon == CT_DAEMON_INHERIT || daemon == CT_DAEMON || daemon == CT_NOT_DAEMON
               ? 0
               : CT_EINVAL;
}

static int resolve_daemon(int daemon)
{
    if (daemon != CT_DAEMON_INHERIT)
        return daemon == CT_DAEMON;
    ct_thread *self = ct_current_thread();
    return self ? ct_thread_daemon(self) : 0;
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
    char buf[32];
    if (!name) {
        unsigned no = atomic_fetch_add_explicit(counter, 1, memory_order_relaxed) + 1;
        snprintf(buf, sizeof buf, "%s-%u", prefix, no);
        name = buf;
    }
    char *copy = copy_name(name);
    if (!copy) {
        free(t);
        return NULL;
    }
    atomic_init(&t->name, copy);
    return t;
}

int ct__thread_new_with(ct_thread **out, const ct_thread_opts *opts, void *timer,
                        void (*free_timer)(void *timer))
{
    static const ct_thread_opts defaults;
    if (!opts)
        opts = &defaults;
    if (opts->flags != 0 || validate_daemon(opts->daemon))
        return CT_EINVAL;
    struct ct_thread *t = alloc_thread(KIND_NORMAL, opts->name, "Thread", &thread_counter);
    if (!t)
        return CT_ENOMEM;
    t->target = opts->target;
    t->arg = opts->arg;
    t->stack_size = opts->stack_size;
    atomic_init(&t->daemon, resolve_daemon(opts->daemon));
    t->timer = timer;
    t->free_timer = free_timer;
    *out = t;
    return 0;
}

int ct_thread_new(ct_thread **out, const ct_thread_opts *opts)
{
    return ct__thread_new_with(out, opts, NULL, NULL);
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
    for (struct old_name *n = t->old_names, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    free_name(atomic_load_explicit(&t->name, memory_order_relaxed));
    free(t);
}

/* ---- running ---- */

static void read_hook(ct_thread_hook *slot, void **slot_arg, ct_thread_hook *hook, void **arg)
{
    locked(&hook_lock);
    ct_thread_hook h = *slot;
    void *a = *slot_arg;
    unlocked(&hook_lock);
    if (hook)
        *hook = h;
    if (arg)
        *arg = a;
}

static void run_hook(ct_thread_hook *slot, void **slot_arg, ct_thread *t)
{
    ct_thread_hook h;
    void *a;
    read_hook(slot, slot_arg, &h, &a);
    if (h)
        h(t, a);
}

static void report_error(struct ct_thread *t, int code)
{
    ct_excepthook_fn hook;
    void *arg;
    ct_get_excepthook(&hook, &arg);
    ct_except_args args = {.thread = t, .code = code};
    hook(&args, arg);
}

/* The calling thread, started by us or a dummy, is ending: destroy its
 * local values, leave the registry, release its joiners and drop its own
 * reference. */
static void thread_ends(struct ct_thread *t)
{
    ct__local_thread_exit();
    locked(&os_lock);
    t->os_alive = 0; /* from here on the pthread may vanish */
    t->record = NULL;
    unlocked(&os_lock);
    reg_remove(t);
    current = NULL;
    /* The reference for the watchers' sake: they may look at t until
     * notify returns. */
    ct_thread_ref(t);
    atomic_store_explicit(&t->state, ENDED, memory_order_seq_cst);
    ct__park_wake(&t->state, CT__WAKE_ALL, 0);
    ct__watch_notify(t);
    ct_thread_unref(t);
    ct_thread_unref(t);
}

/* The target left through pthread_exit() or was cancelled: the thread
 * ends as if the target had returned 0 (Python's SystemExit in a thread
 * is not reported). */
static void unwound(void *p)
{
    thread_ends(p);
}

static void *thread_main(void *p)
{
    struct ct_thread *t = p;
    current = t;
    atomic_store_explicit(&t->ident, (uint64_t)pthread_self(), memory_order_relaxed);
    atomic_store_explicit(&t->native_id, gettid_u64(), memory_order_release);
    locked(&os_lock);
    t->handle = pthread_self();
    t->record = ct__park_record();
    t->os_alive = 1;
    set_os_name(t->handle, atomic_load_explicit(&t->name, memory_order_relaxed));
    unlocked(&os_lock);

    int rc = 0;
    pthread_cleanup_push(unwound, t);
    run_hook(&trace_hook, &trace_arg, t);
    run_hook(&profile_hook, &profile_arg, t);
    rc = t->target ? t->target(t->arg) : 0;
    pthread_cleanup_pop(0);
    t->result = rc;
    if (rc != 0)
        report_error(t, rc);
    thread_ends(t);
    return NULL;
}

static void register_exit_handler(void);

int ct_thread_start(ct_thread *t)
{
    uint32_t expected = NEW;
    size_t stack = t->stack_size ? t->stack_size
                                 : atomic_load_explicit(&stack_setting, memory_order_relaxed);
    if (t->kind != KIND_NORMAL)
        return CT_ESTARTED;
    if (stack != 0 && stack < MIN_STACK)
        return CT_EINVAL;
    if (atomic_load_explicit(&phase, memory_order_acquire) == FINALIZING)
        return CT_ESHUTDOWN;
    if (!atomic_compare_exchange_strong_explicit(&t->state, &expected, ALIVE,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return CT_ESTARTED;
    pthread_once(&exit_once, register_exit_handler);
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0)
        ct__die("pthread_attr_init", rc);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (stack != 0 && pthread_attr_setstacksize(&attr, stack) != 0) {
        pthread_attr_destroy(&attr);
        atomic_store_explicit(&t->state, NEW, memory_order_relaxed);
        return CT_EINVAL;
    }
    ct_thread_ref(t); /* the thread's own, dropped as it ends */
    reg_add(t);
    /* The new thread records its own handle (under os_lock); this copy
     * only gives ident() its value at once. */
    pthread_t handle;
    rc = pthread_create(&handle, &attr, thread_main, t);
    if (rc == 0)
        atomic_store_explicit(&t->ident, (uint64_t)handle, memory_order_relaxed);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        reg_remove(t);
        atomic_store_explicit(&t->state, NEW, memory_order_relaxed);
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
        rc = ct__park_wait(&t->state, s, dl, CT__PARK_INTERRUPTIBLE, t, "thread");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            return rc;
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

bool ct__thread_ended(const ct_thread *t)
{
    return atomic_load_explicit(&((struct ct_thread *)t)->state, memory_order_seq_cst) == ENDED;
}

bool ct_thread_is_alive(const ct_thread *t)
{
    return atomic_load_explicit(&((struct ct_thread *)t)->state, memory_order_acquire) == ALIVE;
}

const char *ct_thread_name(const ct_thread *t)
{
    return atomic_load_explicit(&((struct ct_thread *)t)->name, memory_order_acquire);
}

int ct_thread_set_name(ct_thread *t, const char *name)
{
    if (!name)
        return CT_EINVAL;
    char *copy = copy_name(name);
    if (!copy)
        return CT_ENOMEM;
    locked(&os_lock);
    char *old = atomic_exchange_explicit(&t->name, copy, memory_order_acq_rel);
    struct old_name *node = CT__CONTAINER_OF(old, struct old_name, text);
    node->next = t->old_names;
    t->old_names = node;
    if (t->os_alive)
        set_os_name(t->handle, copy);
    unlocked(&os_lock);
    return 0;
}

uint64_t ct_thread_ident(const ct_thread *t)
{
    return atomic_load_explicit(&((struct ct_thread *)t)->ident, memory_order_relaxed);
}

uint64_t ct_thread_native_id(const ct_thread *t)
{
    struct ct_thread *m = (struct ct_thread *)t;
    /* A started thread publishes its id first thing; in the instant
     * between start() and that, wait for it. */
    uint64_t id;
    while ((id = atomic_load_explicit(&m->native_id, memory_order_acquire)) == 0 &&
           atomic_load_explicit(&m->state, memory_order_acquire) == ALIVE)
        sched_yield();
    return id;
}

bool ct_thread_daemon(const ct_thread *t)
{
    return atomic_load_explicit(&((struct ct_thread *)t)->daemon, memory_order_relaxed) != 0;
}

int ct_thread_set_daemon(ct_thread *t, int daemon)
{
    if (validate_daemon(daemon))
        return CT_EINVAL;
    if (atomic_load_explicit(&t->state, memory_order_acquire) != NEW || t->kind != KIND_NORMAL)
        return CT_EACTIVE;
    atomic_store_explicit(&t->daemon, resolve_daemon(daemon), memory_order_relaxed);
    return 0;
}

/* ---- the current thread, main and dummies ---- */

static void dummy_ends(void *p)
{
    thread_ends(p);
}

/* Make the calling OS thread known: the main thread or a dummy. */
static struct ct_thread *adopt_current(int kind)
{
    struct ct_thread *t = kind == KIND_MAIN
                              ? alloc_thread(kind, "MainThread", NULL, NULL)
                              : alloc_thread(kind, NULL, "Dummy", &dummy_counter);
    if (!t)
        return NULL;
    atomic_store_explicit(&t->daemon, kind == KIND_DUMMY, memory_order_relaxed);
    atomic_store_explicit(&t->state, ALIVE, memory_order_relaxed);
    atomic_store_explicit(&t->ident, (uint64_t)pthread_self(), memory_order_relaxed);
    atomic_store_explicit(&t->native_id, gettid_u64(), memory_order_relaxed);
    t->handle = pthread_self();
    t->record = ct__park_record();
    t->os_alive = 1;
    current = t;
    return t;
}

ct_thread *ct_current_thread(void)
{
    if (current)
        return current;
    struct ct_thread *t = adopt_current(KIND_DUMMY);
    if (t) {
        reg_add(t);
        pthread_setspecific(dummy_key, t);
    }
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
    locked(&reg_lock);
    int n = reg_count;
    unlocked(&reg_lock);
    return n;
}

size_t ct_enumerate(ct_thread **buf, size_t cap)
{
    size_t n = 0;
    locked(&reg_lock);
    CT__LIST_FOREACH(it, &registry)
    {
        if (n < cap)
            buf[n] = ct_thread_ref(of(it));
        n++;
    }
    unlocked(&reg_lock);
    return n;
}

size_t ct_get_stack_size(void)
{
    return atomic_load_explicit(&stack_setting, memory_order_relaxed);
}

int ct_set_stack_size(size_t size)
{
    if (size != 0 && size < MIN_STACK)
        return CT_EINVAL;
    atomic_store_explicit(&stack_setting, size, memory_order_relaxed);
    return 0;
}

/* ---- hooks ---- */

static void set_hook(ct_thread_hook *slot, void **slot_arg, ct_thread_hook hook, void *arg)
{
    locked(&hook_lock);
    *slot = hook;
    *slot_arg = arg;
    unlocked(&hook_lock);
}

/* Call hook for every live thread, from the caller, without the registry
 * lock held while it runs (each thread is referenced meanwhile). */
static void hook_all(ct_thread_hook hook, void *arg)
{
    if (!hook)
        return;
    ct_current_thread();
    size_t n = ct_enumerate(NULL, 0);
    for (;;) {
        ct_thread **all = malloc((n ? n : 1) * sizeof *all);
        if (!all)
            return;
        size_t got = ct_enumerate(all, n);
        if (got > n) {
            for (size_t i = 0; i < n; i++)
                ct_thread_unref(all[i]);
            free(all);
            n = got;
            continue;
        }
        for (size_t i = 0; i < got; i++) {
            hook(all[i], arg);
            ct_thread_unref(all[i]);
        }
        free(all);
        return;
    }
}

void ct_set_trace(ct_thread_hook hook, void *arg)
{
    set_hook(&trace_hook, &trace_arg, hook, arg);
}

void ct_get_trace(ct_thread_hook *hook, void **arg)
{
    read_hook(&trace_hook, &trace_arg, hook, arg);
}

void ct_set_trace_all_threads(ct_thread_hook hook, void *arg)
{
    ct_set_trace(hook, arg);
    hook_all(hook, arg);
}

void ct_set_profile(ct_thread_hook hook, void *arg)
{
    set_hook(&profile_hook, &profile_arg, hook, arg);
}

void ct_get_profile(ct_thread_hook *hook, void **arg)
{
    read_hook(&profile_hook, &profile_arg, hook, arg);
}

void ct_set_profile_all_threads(ct_thread_hook hook, void *arg)
{
    ct_set_profile(hook, arg);
    hook_all(hook, arg);
}

void ct_set_excepthook(ct_excepthook_fn hook, void *arg)
{
    locked(&hook_lock);
    except_hook = hook ? hook : ct_default_excepthook;
    except_arg = hook ? arg : NULL;
    unlocked(&hook_lock);
}

void ct_get_excepthook(ct_excepthook_fn *hook, void **arg)
{
    locked(&hook_lock);
    if (hook)
        *hook = except_hook;
    if (arg)
        *arg = except_arg;
    unlocked(&hook_lock);
}

void ct_default_excepthook(const ct_except_args *args, void *arg)
{
    (void)arg;
    char what[128];
    fprintf(stderr, "Exception in thread %s: %s\n", ct_thread_name(args->thread),
            ct_describe_error(args->code, what, sizeof what));
}

int ct_start_new_thread(ct_thread_fn fn, void *arg, uint64_t *ident)
{
    ct_thread *t;
    int rc = ct_thread_new(&t, &(ct_thread_opts){.target = fn, .arg = arg, .daemon = CT_DAEMON});
    if (rc)
        return rc;
    rc = ct_thread_start(t);
    if (rc == 0 && ident)
        *ident = ct_thread_ident(t);
    ct_thread_unref(t);
    return rc;
}

/* ---- states (cthreading/diag.h) ---- */

/* With os_lock held. */
static enum ct_state state_locked(const struct ct_thread *t)
{
    switch (atomic_load_explicit(&((struct ct_thread *)t)->state, memory_order_acquire)) {
    case NEW:
        return CT_STATE_NEW;
    case ENDED:
        return CT_STATE_TERMINATED;
    }
    if (!t->os_alive || !t->record)
        return CT_STATE_READY; /* started; its OS thread has not begun */
    return atomic_load_explicit(&t->record->object, memory_order_acquire) ? CT_STATE_BLOCKED
                                                                           : CT_STATE_RUNNING;
}

enum ct_state ct_thread_state(const ct_thread *t)
{
    locked(&os_lock);
    enum ct_state s = state_locked(t);
    unlocked(&os_lock);
    return s;
}

const char *ct_state_name(enum ct_state state)
{
    static const char *const names[] = {"NEW", "READY", "RUNNING", "BLOCKED", "TERMINATED"};
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "?";
}

void ct__thread_visit(void (*fn)(const struct ct__thread_view *v, void *arg), void *arg)
{
    /* os_lock before reg_lock, the order fork_prepare takes them in. */
    locked(&os_lock);
    locked(&reg_lock);
    CT__LIST_FOREACH(it, &registry)
    {
        struct ct_thread *t = of(it);
        struct ct__thread_view v = {
            .thread = t,
            .name = atomic_load_explicit(&t->name, memory_order_acquire),
            .ident = atomic_load_explicit(&t->ident, memory_order_relaxed),
            .native_id = atomic_load_explicit(&t->native_id, memory_order_acquire),
            .daemon = atomic_load_explicit(&t->daemon, memory_order_relaxed) != 0,
            .is_main = t->kind == KIND_MAIN,
            .is_dummy = t->kind == KIND_DUMMY,
            .state = state_locked(t),
            .record = t->os_alive ? t->record : NULL,
        };
        fn(&v, arg);
    }
    unlocked(&reg_lock);
    unlocked(&os_lock);
}

/* ---- interrupts (cthreading/interrupt.h) ---- */

int ct_thread_interrupt(ct_thread *t)
{
    locked(&os_lock);
    if (t->os_alive && t->record)
        ct__park_interrupt(t->record);
    unlocked(&os_lock);
    return 0;
}

bool ct_interrupted(void)
{
    return ct__park_take_interrupt();
}

bool ct_thread_is_interrupted(const ct_thread *t)
{
    struct ct_thread *m = (struct ct_thread *)t;
    bool set = false;
    locked(&os_lock);
    if (m->os_alive && m->record)
        set = atomic_load_explicit(&m->record->intr, memory_order_acquire) & 1u;
    unlocked(&os_lock);
    return set;
}

bool ct_set_interrupt_on_signal(bool on)
{
    return ct__park_set_eintr(on);
}

/* ---- process exit ---- */

int ct_register_atexit(void (*fn)(void *arg), void *arg, unsigned flags)
{
    if (!fn || (flags & ~CT_ATEXIT_AFTER_JOIN))
        return CT_EINVAL;
    struct exit_handler *h = malloc(sizeof *h);
    if (!h)
        return CT_ENOMEM;
    h->fn = fn;
    h->arg = arg;
    pthread_once(&exit_once, register_exit_handler);
    locked(&hook_lock);
    int rc = 0;
    if (atomic_load_explicit(&phase, memory_order_relaxed) != RUNNING)
        rc = CT_ESHUTDOWN;
    else
        ct__list_push_front(flags & CT_ATEXIT_AFTER_JOIN ? &after_join : &before_join, &h->link);
    unlocked(&hook_lock);
    if (rc)
        free(h);
    return rc;
}

bool ct__exiting(void)
{
    return atomic_load_explicit(&phase, memory_order_acquire) != RUNNING;
}

/* Run and free every handler of a list, newest first; the lock is not
 * held while one runs, and a handler may not register another (exit has
 * begun). */
static void run_handlers(struct ct__list *list)
{
    for (;;) {
        locked(&hook_lock);
        struct ct__node *n = ct__list_pop_front(list);
        unlocked(&hook_lock);
        if (!n)
            return;
        struct exit_handler *h = CT__CONTAINER_OF(n, struct exit_handler, link);
        h->fn(h->arg);
        free(h);
    }
}

/* Join every live non-daemon thread but the caller and the main thread;
 * repeat, as threads that end may have started others. */
static void join_non_daemon_threads(void)
{
    for (;;) {
        struct ct_thread *wait_for = NULL;
        locked(&reg_lock);
        CT__LIST_FOREACH(it, &registry)
        {
            struct ct_thread *t = of(it);
            if (t != current && t->kind == KIND_NORMAL &&
                !atomic_load_explicit(&t->daemon, memory_order_relaxed)) {
                wait_for = ct_thread_ref(t);
                break;
            }
        }
        unlocked(&reg_lock);
        if (!wait_for)
            return;
        ct_thread_join(wait_for, CT_FOREVER);
        ct_thread_unref(wait_for);
    }
}

static void at_exit(void)
{
    int expected = RUNNING;
    if (!atomic_compare_exchange_strong_explicit(&phase, &expected, BEFORE_JOIN,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return;
    run_handlers(&before_join);
    atomic_store_explicit(&phase, JOINING, memory_order_release);
    join_non_daemon_threads();
    atomic_store_explicit(&phase, FINALIZING, memory_order_release);
    run_handlers(&after_join);
}

static void register_exit_handler(void)
{
    if (atexit(at_exit) != 0)
        ct__die("atexit", 0);
}

/* ---- fork ---- */

static void fork_prepare(void)
{
    locked(&hook_lock);
    locked(&os_lock);
    locked(&reg_lock);
}

static void fork_parent(void)
{
    unlocked(&reg_lock);
    unlocked(&os_lock);
    unlocked(&hook_lock);
}

/* In the child only the forking thread exists: it becomes the main thread
 * and the only live one, as in Python. The other threads' objects stay
 * valid for whoever holds references, marked ended; the references those
 * threads held on themselves are dropped, as they never will be. */
static void fork_child(void)
{
    struct ct_thread *self = current;
    CT__LIST_FOREACH_SAFE(it, &registry)
    {
        struct ct_thread *t = of(it);
        ct__list_unlink(&registry, it);
        if (t == self)
            continue;
        t->os_alive = 0;
        atomic_store_explicit(&t->state, ENDED, memory_order_relaxed);
        if (t == main_thread)
            previous_main = t; /* ct_main_thread() promised it lives on */
        else
            ct_thread_unref(t);
    }
    reg_count = 0;
    ct_lock_init(&reg_lock, 0);
    ct_lock_init(&os_lock, 0);
    ct_lock_init(&hook_lock, 0);
    if (!self) {
        /* A thread the library never saw forked: adopt it. */
        self = adopt_current(KIND_MAIN);
        if (!self)
            ct__die("allocating the main thread after fork", 0);
    } else {
        if (self->kind == KIND_DUMMY)
            pthread_setspecific(dummy_key, NULL);
        self->kind = KIND_MAIN;
        atomic_store_explicit(&self->ident, (uint64_t)pthread_self(), memory_order_relaxed);
        atomic_store_explicit(&self->native_id, gettid_u64(), memory_order_relaxed);
        self->handle = pthread_self();
        self->record = ct__park_record();
    }
    ct__list_push_front(&registry, &self->link);
    reg_count = 1;
    main_thread = self;
}

CT__FORK_HOOKS(CT__FORK_THREADS, fork_prepare, fork_parent, fork_child)

__attribute__((constructor)) static void threads_init(void)
{
    int rc = pthread_key_create(&dummy_key, dummy_ends);
    if (rc != 0)
        ct__die("pthread_key_create", rc);
    main_thread = adopt_current(KIND_MAIN);
    if (!main_thread)
        ct__die("allocating the main thread", 0);
    reg_add(main_thread);
}
