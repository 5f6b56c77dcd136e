/*
 * Robust process-shared locks: a process that dies holding a CT_PSHARED
 * Lock or RLock does not hang the others.
 *
 * The kernel's robust futex list cannot be used: each thread has one
 * list head, and glibc owns it for its robust pthread mutexes. So the
 * lock word itself names its holder: the holder's process id and a tag
 * of that process's start time (the encoding is in prim.h). A free word
 * is CT__ROBUST_FREE, never 0, so the private fast path's
 * compare-and-swap from 0 fails on it and lock.c hands every shared
 * acquire to ct__robust_lock; a private lock never reaches this file.
 *
 * Acquire: compare-and-swap free -> (tag, pid), keeping the DIRTY bit. A
 * contender spins briefly, then sets WAITERS and parks on the word (a
 * shared futex). It parks in slices: after watching the same holder for
 * a slice (2 ms, doubling up to 200 ms) it checks that the holder still
 * runs (ct__robust_pid_alive: kill(pid, 0) finds the process, /proc says
 * it is not a zombie, and it started at the time the tag records, so a
 * recycled pid is not mistaken for the holder). If the holder is gone,
 * the contender swaps
 * the exact word it saw for its own, with DIRTY and WAITERS set: only one
 * contender can win that swap, and a holder that released meanwhile
 * changed the word, so a live holder is never robbed. The winner returns
 * CT_EOWNERDEAD with the lock held.
 *
 * DIRTY stays in the word, through releases, until a holder calls
 * ct_lock_consistent: every acquirer until then gets CT_EOWNERDEAD, so
 * nobody trusts half-updated data by accident (POSIX instead makes such a
 * mutex unusable for good once its recoverer unlocks without marking it
 * consistent).
 *
 * Release: compare-and-swap the held word -> FREE (keeping DIRTY); wake
 * one parked thread if WAITERS was set. A woken contender acquires with
 * WAITERS set, and a contender that gives up (timeout, interrupt) leaves
 * it set, as the private lock's state 2: at worst one wake-up too many.
 *
 * Limits: all processes must share one pid namespace; the tag has 8 bits,
 * so a recycled pid whose start time collides (1 in 256) is taken for the
 * holder until it exits; a non-blocking acquire (timeout 0) never checks
 * the holder.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prim.h"

#define SLICE_MIN_NS 2000000LL   /* first look at the holder after 2 ms */
#define SLICE_MAX_NS 200000000LL /* then at most every 200 ms */
#define TAG_SHIFT 24

_Atomic(bool (*)(const void *addr)) ct__in_named_segment;

static uint32_t pid_of(uint32_t s)
{
    return (s & CT__ROBUST_PID_MASK) >> CT__ROBUST_PID_SHIFT;
}

static uint32_t tag_of(uint32_t s)
{
    return s >> TAG_SHIFT;
}

static bool is_free(uint32_t s)
{
    return !ct__lock_word_held(s);
}

/* The fields of /proc/<pid>/stat after the command name: the state letter
 * (field 3) and the start time in clock ticks (field 22). Returns 0, or
 * an errno value (ENOENT: no such process). */
static int read_stat(uint32_t pid, char *state, unsigned long long *start)
{
    char path[40], buf[1024];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/stat");
    else
        snprintf(path, sizeof path, "/proc/%u/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ssize_t n;
    do
        n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    int err = n < 0 ? errno : 0;
    close(fd);
    if (n <= 0)
        return err ? err : ENOENT;
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: skip to the last
     * ')' and count fields from there. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return EINVAL;
    p += 2;
    *state = *p;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return EINVAL;
        p++;
    }
    *start = strtoull(p, NULL, 10);
    return 0;
}

/* Tag 0 means "unknown" (the holder could not read its start time):
 * then only the pid is checked. */
static uint32_t tag_of_start(unsigned long long start)
{
    uint32_t t = (uint32_t)((start * 0x9E3779B97F4A7C15ull) >> 56);
    return t ? t : 1;
}

/* The calling process's word (tag | pid), cached per process: the cache
 * is keyed by the pid that ct__self_id() (reset in every fork child)
 * carries in its high half. */
static _Atomic uint64_t self_cache;

static uint32_t self_word(void)
{
    uint32_t pid = (uint32_t)(ct__self_id() >> 32);
    uint64_t c = atomic_load_explicit(&self_cache, memory_order_relaxed);
    if ((uint32_t)(c >> 32) == pid)
        return (uint32_t)c;
    if (pid > (CT__ROBUST_PID_MASK >> CT__ROBUST_PID_SHIFT))
        ct__die("process-shared lock: process id above 2^22", 0);
    char state;
    unsigned long long start = 0;
    uint32_t tag = read_stat(0, &state, &start) == 0 ? tag_of_start(start) : 0;
    uint32_t w = (tag << TAG_SHIFT) | (pid << CT__ROBUST_PID_SHIFT);
    atomic_store_explicit(&self_cache, ((uint64_t)pid << 32) | w, memory_order_relaxed);
    return w;
}

/* Whether a process that exists has exited (a zombie): a pidfd reads as
 * ready then. Without pidfds, it is taken as running. */
static bool zombie_by_pidfd(uint32_t pid)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (fd < 0)
        return errno == ESRCH;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, 0);
    close(fd);
    return n > 0;
#else
    (void)pid;
    return false;
#endif
}

/*
 * Dead means: no process has that pid (kill says so, and that holds in
 * any /proc setup); or it is a zombie; or the process with that pid
 * started at another time than the holder did (pid reuse). A process
 * whose /proc entry is hidden (hidepid) is taken as alive unless a pidfd
 * shows it exited: never declare a live holder dead.
 */
bool ct__robust_pid_alive(uint32_t pid, uint32_t tag)
{
    if (pid == (uint32_t)(ct__self_id() >> 32))
        return true;
    if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
        return false;
    char state;
    unsigned long long start;
    if (read_stat(pid, &state, &start) != 0)
        return !zombie_by_pidfd(pid);
    if (state == 'Z' || state == 'X')
        return false;
    return tag == 0 || tag_of_start(start) == tag;
}

/* Take a free word: returns 0 or CT_EOWNERDEAD (DIRTY was set). */
static int took(uint32_t old)
{
    return (old & CT__ROBUST_DIRTY) ? CT_EOWNERDEAD : 0;
}

int ct__robust_lock(_Atomic uint32_t *w, int park_flags, const void *object, double timeout)
{
    if (CT__UNLIKELY(!ct__timeout_ok(timeout)))
        return ct_timeout_check(timeout);
    uint32_t me = self_word();
    for (int round = 0;; round++) {
        uint32_t s = atomic_load_explicit(w, memory_order_relaxed);
        while (is_free(s))
            if (atomic_compare_exchange_weak_explicit(w, &s, me | (s & CT__ROBUST_DIRTY),
                                                      memory_order_acquire, memory_order_relaxed))
                return took(s);
        if (round == 1 || timeout == 0)
            break;
        CT__SPIN_WHILE(!is_free(atomic_load_explicit(w, memory_order_relaxed)));
    }
    ct__deadline dl;
    int rc = ct__deadline_to_wait(timeout, &dl);
    if (rc)
        return rc;
    uint32_t watched = 0; /* tag|pid of the holder being watched */
    int64_t since = 0, slice = SLICE_MIN_NS;
    for (;;) {
        uint32_t s = atomic_load_explicit(w, memory_order_relaxed);
        if (is_free(s)) {
            /* Keep WAITERS: other contenders may still be parked. */
            if (atomic_compare_exchange_weak_explicit(
                    w, &s, me | CT__ROBUST_WAITERS | (s & CT__ROBUST_DIRTY),
                    memory_order_acquire, memory_order_relaxed))
                return took(s);
            continue;
        }
        if (!(s & CT__ROBUST_WAITERS)) {
            if (!atomic_compare_exchange_weak_explicit(w, &s, s | CT__ROBUST_WAITERS,
                                                       memory_order_relaxed,
                                                       memory_order_relaxed))
                continue;
            s |= CT__ROBUST_WAITERS;
        }
        int64_t now = ct__now_ns();
        uint32_t holder = s & ~(CT__ROBUST_WAITERS | CT__ROBUST_DIRTY);
        if (holder != watched) {
            watched = holder;
            since = now;
            slice = SLICE_MIN_NS;
        } else if (now - since >= slice) {
            if (pid_of(s) != 0 && !ct__robust_pid_alive(pid_of(s), tag_of(s))) {
                /* Only the exact word seen can be replaced: a release or
                 * another recoverer changes it first. */
                if (atomic_compare_exchange_strong_explicit(
                        w, &s, me | CT__ROBUST_WAITERS | CT__ROBUST_DIRTY,
                        memory_order_acquire, memory_order_relaxed))
                    return CT_EOWNERDEAD;
                continue;
            }
            since = now;
            slice = slice * 2 > SLICE_MAX_NS ? SLICE_MAX_NS : slice * 2;
        }
        if (ct__deadline_passed(dl))
            return CT_ETIMEDOUT; /* WAITERS stays set: at worst one wake-up too many */
        ct__deadline until = since + slice < dl ? since + slice : dl;
        rc = ct__park_wait(w, s, until, park_flags | CT__PARK_SHARED, object, "lock");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            return rc;
    }
}

int ct__robust_unlock(_Atomic uint32_t *w)
{
    uint32_t s = atomic_load_explicit(w, memory_order_relaxed);
    do {
        if (is_free(s))
            return CT_ENOTLOCKED;
    } while (!atomic_compare_exchange_weak_explicit(w, &s, CT__ROBUST_FREE | (s & CT__ROBUST_DIRTY),
                                                    memory_order_release, memory_order_relaxed));
    if ((s & CT__ROBUST_WAITERS) || s == 2)
        ct__park_wake(w, 1, CT__PARK_SHARED);
    return 0;
}

int ct__robust_consistent(_Atomic uint32_t *w)
{
    uint32_t s = atomic_load_explicit(w, memory_order_relaxed);
    do {
        if (is_free(s))
            return CT_ENOTLOCKED;
        if (!(s & CT__ROBUST_DIRTY))
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(w, &s, s & ~CT__ROBUST_DIRTY,
                                                    memory_order_relaxed, memory_order_relaxed));
    return 0;
}
