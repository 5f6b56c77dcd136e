/* park: the backend-independent part (wait records, interrupts, chaos,
 * thread ids). */
#include "park.h"
#include "fork.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

static _Thread_local struct ct__wait_record record;
_Thread_local uint64_t ct__self_id_cache __attribute__((tls_model("initial-exec"), visibility("hidden")));
static _Atomic uint32_t next_thread_no;
static _Atomic int chaos = -1; /* -1: not read from the environment yet */
static _Thread_local uint32_t chaos_rng;

_Atomic int ct__spinners __attribute__((visibility("hidden")));
int ct__spin_slots __attribute__((visibility("hidden")));
_Thread_local int ct__spin_budget __attribute__((tls_model("initial-exec"), visibility("hidden")));
_Thread_local unsigned ct__spin_waits __attribute__((tls_model("initial-exec"), visibility("hidden")));

void ct__yield(void)
{
    sched_yield();
}

struct ct__wait_record *ct__park_record(void)
{
    return &record;
}

/* The ids the forking thread had in the processes it was forked from
 * (newest last): RLocks it held there are still its own in the child, as
 * in Python. Only that thread (and only until another thread forks) may
 * claim them. */
#define MAX_ANCESTORS 8
static uint64_t ancestors[MAX_ANCESTORS];
static int nancestors;
static pthread_t ancestor_thread;

static void forget_ids(void)
{
    /* In a fork child the pid changed; the only thread left must get a new
     * id so that it never shares one with its parent. */
    uint64_t old = ct__self_id_cache;
    if (nancestors && !pthread_equal(ancestor_thread, pthread_self()))
        nancestors = 0;
    if (old) {
        if (nancestors == MAX_ANCESTORS) {
            for (int i = 1; i < MAX_ANCESTORS; i++)
                ancestors[i - 1] = ancestors[i];
            nancestors--;
        }
        ancestors[nancestors++] = old;
        ancestor_thread = pthread_self();
    }
    ct__self_id_cache = 0;
    atomic_store_explicit(&next_thread_no, 0, memory_order_relaxed);
}

bool ct__self_id_inherited(uint64_t id)
{
    if (!nancestors || !pthread_equal(ancestor_thread, pthread_self()))
        return false;
    for (int i = 0; i < nancestors; i++)
        if (ancestors[i] == id)
            return true;
    return false;
}

CT__FORK_HOOKS(CT__FORK_PARK, NULL, NULL, forget_ids)

/* The CPUs this process may run on (its affinity mask, as a container
 * or taskset sets it), else the CPUs online. */
static int usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

__attribute__((constructor)) static void spin_init(void)
{
    ct__spin_slots = usable_cpus() - 1;
}

uint64_t ct__self_id_slow(void)
{
    uint32_t no = atomic_fetch_add_explicit(&next_thread_no, 1, memory_order_relaxed) + 1;
    ct__self_id_cache = ((uint64_t)(uint32_t)getpid() << 32) | no;
    return ct__self_id_cache;
}

void ct__park_set_chaos(int percent)
{
    atomic_store_explicit(&chaos, percent, memory_order_relaxed);
}

static int chaos_percent(void)
{
    int c = atomic_load_explicit(&chaos, memory_order_relaxed);
    if (c < 0) {
        const char *env = getenv("CT_PARK_CHAOS");
        c = env ? atoi(env) : 0;
        atomic_store_explicit(&chaos, c, memory_order_relaxed);
    }
    return c;
}

/* 1: return at once claiming success, 2: claiming a timeout, 0: wait. */
static int chaos_roll(void)
{
    int c = chaos_percent();
    if (c <= 0)
        return 0;
    if (chaos_rng == 0)
        chaos_rng = (uint32_t)(uintptr_t)&record | 1u;
    chaos_rng ^= chaos_rng << 13;
    chaos_rng ^= chaos_rng >> 17;
    chaos_rng ^= chaos_rng << 5;
    if ((int)(chaos_rng % 100) >= c)
        return 0;
    return 1 + (int)((chaos_rng >> 8) & 1);
}

#define PENDING 1u
#define INTR_STEP 2u

bool ct__park_take_interrupt(void)
{
    return atomic_fetch_and_explicit(&record.intr, ~PENDING, memory_order_acq_rel) & PENDING;
}

static void publish(_Atomic uint32_t *word, const void *object, const char *kind)
{
    atomic_store_explicit(&record.kind, kind, memory_order_relaxed);
    atomic_store_explicit(&record.since_ns, ct__now_ns(), memory_order_relaxed);
    atomic_store_explicit(&record.word, word, memory_order_relaxed);
    /* seq_cst: ordered before the look at `intr` that follows, as the
     * interrupter sets `intr` before it looks at `word` (park_lot). */
    atomic_store_explicit(&record.object, object ? object : (const void *)word,
                          memory_order_seq_cst);
}

static void unpublish(void)
{
    atomic_store_explicit(&record.object, NULL, memory_order_release);
    atomic_store_explicit(&record.word, NULL, memory_order_relaxed);
}

int ct__park_wait(_Atomic uint32_t *word, uint32_t expected, ct__deadline deadline, int flags,
                  const void *object, const char *kind)
{
    bool interruptible = flags & CT__PARK_INTERRUPTIBLE;
    uint32_t seen = 0;
    /* Only an interruptible wait shows its word: an interrupter wakes
     * that word only (backends without futex_waitv). */
    if (interruptible) {
        publish(word, object, kind);
        seen = atomic_load_explicit(&record.intr, memory_order_seq_cst);
        if ((seen & PENDING) && ct__park_take_interrupt()) {
            unpublish();
            return CT_EINTERRUPTED;
        }
    }
    switch (chaos_roll()) {
    case 1:
        sched_yield();
        unpublish();
        return 0;
    case 2:
        sched_yield();
        unpublish();
        return CT_ETIMEDOUT;
    }
    if (!interruptible)
        publish(NULL, object ? object : word, kind);
    int rc = ct__park_os_wait(word, expected, deadline, flags, interruptible ? &record.intr : NULL,
                              seen, interruptible && record.eintr);
    unpublish();
    if (interruptible && ct__park_take_interrupt())
        return CT_EINTERRUPTED;
    if (rc == CT_EINTR && !(interruptible && record.eintr))
        rc = 0;
    return rc;
}

/* A spin lock for intr_fd: held for one system call at most, and taken
 * only by interrupts and by waits on descriptors. */
static void fd_lock(struct ct__wait_record *r)
{
    uint32_t zero = 0;
    while (!atomic_compare_exchange_weak_explicit(&r->fd_lock, &zero, 1, memory_order_acquire,
                                                  memory_order_relaxed)) {
        zero = 0;
        sched_yield();
    }
}

static void fd_unlock(struct ct__wait_record *r)
{
    atomic_store_explicit(&r->fd_lock, 0, memory_order_release);
}

/* ct_sleep lives here rather than in clock.c so that an interrupt can
 * end it: it parks on a word nobody wakes. */
int ct_sleep(double seconds)
{
    ct__deadline d;
    int rc = seconds == CT_FOREVER ? CT_ETIMEOUT : ct__deadline_make(seconds, &d);
    if (rc)
        return rc;
    _Atomic uint32_t never = 0;
    while (!ct__deadline_passed(d)) {
        rc = ct__park_wait(&never, 0, d, CT__PARK_INTERRUPTIBLE, NULL, "sleep");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            return rc;
    }
    return 0;
}

void ct__park_interrupt(struct ct__wait_record *r)
{
    uint32_t w = atomic_load_explicit(&r->intr, memory_order_relaxed);
    /* seq_cst: pairs with publish() and the look at `intr` in park_wait. */
    while (!atomic_compare_exchange_weak_explicit(&r->intr, &w, (w + INTR_STEP) | PENDING,
                                                  memory_order_seq_cst, memory_order_relaxed))
        ;
    ct__park_os_interrupt(r);
    /* A wait on a descriptor publishes an eventfd for as long as it
     * waits; fd_lock keeps it open while it is written to. */
    fd_lock(r);
    /* acquire: pairs with the store that published the eventfd, so its
     * creation happens before this write (ThreadSanitizer checks it). */
    int fd = atomic_load_explicit(&r->intr_fd, memory_order_acquire);
    if (fd > 0) {
        uint64_t one = 1;
        ssize_t n = write(fd - 1, &one, sizeof one);
        (void)n;
    }
    fd_unlock(r);
}

bool ct__park_set_eintr(bool on)
{
    bool old = record.eintr;
    record.eintr = on;
    return old;
}

int ct__park_wait_fds(struct pollfd *fds, size_t n, ct__deadline deadline, int flags,
                      const void *object, const char *kind)
{
    bool interruptible = flags & CT__PARK_INTERRUPTIBLE;
    int efd = -1;
    struct pollfd stack[8], *p = n + 1 <= 8 ? stack : malloc((n + 1) * sizeof *p);
    if (!p)
        return CT_ENOMEM;
    if (interruptible) {
        efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0) {
            if (p != stack)
                free(p);
            return CT_ENORES;
        }
    }
    publish(NULL, object, kind);
    if (interruptible) {
        atomic_store_explicit(&record.intr_fd, efd + 1, memory_order_seq_cst);
        if (atomic_load_explicit(&record.intr, memory_order_seq_cst) & PENDING)
            deadline = ct__now_ns() - 1; /* look once, then report it below */
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = fds[i].fd, .events = fds[i].events};
    p[n] = (struct pollfd){.fd = efd, .events = POLLIN};
    int timeout_ms = -1;
    if (deadline != CT__NEVER) {
        int64_t left = deadline - ct__now_ns();
        timeout_ms = left <= 0 ? 0 : left / 1000000 + 1;
    }
    int ready = poll(p, n + (interruptible ? 1 : 0), timeout_ms);
    int err = errno;
    int rc = 0;
    if (ready < 0 && err != EINTR)
        ct__die("poll", err);
    if (ready < 0)
        rc = CT_EINTR;
    else if (ready == 0 && ct__deadline_passed(deadline))
        rc = CT_ETIMEDOUT;
    for (size_t i = 0; i < n; i++)
        fds[i].revents = ready > 0 ? p[i].revents : 0;
    if (interruptible) {
        fd_lock(&record);
        atomic_store_explicit(&record.intr_fd, 0, memory_order_relaxed);
        fd_unlock(&record);
    }
    unpublish();
    if (interruptible && ct__park_take_interrupt())
        rc = CT_EINTERRUPTED;
    else if (rc == CT_EINTR && !(interruptible && record.eintr))
        rc = 0;
    if (efd >= 0)
        close(efd);
    if (p != stack)
        free(p);
    return rc;
}

int ct__park_wait_fd(int fd, short events, ct__deadline deadline, int flags, const void *object,
                     const char *kind)
{
    struct pollfd p = {.fd = fd, .events = events};
    return ct__park_wait_fds(&p, 1, deadline, flags, object, kind);
}

int ct__park_wake(_Atomic uint32_t *word, int n, int flags)
{
    return ct__park_os_wake(word, n, flags);
}
