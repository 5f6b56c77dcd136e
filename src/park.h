/*
 * Internal: park, the one wait/wake mechanism (layer 2 of DESIGN.md).
 *
 * A thread parks on a 32-bit word while the word holds an expected value,
 * until another thread wakes it or a deadline passes. Every blocking call
 * in the library is a loop around ct__park_wait:
 *
 *     while (!condition_holds(obj)) {
 *         if (ct__deadline_passed(dl)) return CT_ETIMEDOUT;
 *         ct__park_wait(&obj->word, seen, dl, flags, obj, "kind");
 *     }
 *
 * park's return value is only a hint. It may return early for any reason
 * (a signal, a spurious wake-up, chaos mode below), so callers always
 * re-check both their state and their own deadline. Test builds prove that
 * by switching on chaos mode, which makes a share of the waits return at
 * once, half of them claiming a timeout.
 *
 * Two backends share this interface: futex (Linux, park_futex.c) and a
 * parking lot of hashed mutex+condvar buckets for any POSIX system
 * (park_lot.c, chosen with -DCT_PARK_LOT). CT__PARK_SHARED marks a word in
 * memory shared between processes: the futex backend then uses a shared
 * futex; the parking lot, which lives in one process, falls back to
 * polling the word with short sleeps.
 */
#ifndef CT_SRC_PARK_H
#define CT_SRC_PARK_H

#include <limits.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>

#include "clock.h"

#define CT__PARK_SHARED 1
/* The wait may end early for ct_thread_interrupt (CT_EINTERRUPTED) or,
 * in a thread that asked for it, for a signal handler (CT_EINTR). Given
 * by every blocking call that users make; not by the library's own
 * internal waits (a lock being taken back, an idle worker). */
#define CT__PARK_INTERRUPTIBLE 2
#define CT__WAKE_ALL INT_MAX

/*
 * What a thread is blocked on, if anything: written by the thread itself
 * around each park, read by other threads for states and dumps. Lives in
 * the thread's thread-local storage: another thread may touch it only
 * while the owner is known to be alive (the thread layer makes sure).
 *
 * `intr` is the thread's interrupt word: bit 0 says an interrupt is
 * pending, the bits above count interrupts, so that an interrupt always
 * changes the word. An interruptible wait sleeps on its own word and on
 * this one at once (futex_waitv), so ct__park_interrupt wakes exactly
 * this thread.
 */
struct ct__wait_record {
    _Atomic(const void *) object;
    _Atomic(const char *) kind;
    _Atomic int64_t since_ns;
    _Atomic(_Atomic uint32_t *) word; /* the word parked on, for the lot backend */
    _Atomic uint32_t intr;
    _Atomic int intr_fd;  /* fd + 1 of an eventfd while a wait polls a descriptor, else 0 */
    _Atomic uint32_t fd_lock; /* keeps intr_fd open while an interrupter writes to it */
    int eintr;           /* ct_set_interrupt_on_signal; the owner's only */
    _Atomic(void *) backend; /* the parking lot's node of this thread */
    _Atomic(void *) diag;    /* diagnostics: this thread's list of held locks */
};

/* Park while *word == expected. Returns 0 (woken, value differed, or
 * early), CT_ETIMEDOUT (deadline passed), and with CT__PARK_INTERRUPTIBLE
 * also CT_EINTERRUPTED (the caller's interrupt, now consumed) or CT_EINTR
 * (a signal handler ran, and the thread asked to hear of it). On the last
 * two the caller undoes what it registered and returns the code.
 * `object` and `kind` are what the wait record shows while the thread is
 * parked (kind: "lock", "condition", ... ; both may be NULL). */
CT__HIDDEN int ct__park_wait(_Atomic uint32_t *word, uint32_t expected, ct__deadline deadline,
                             int flags, const void *object, const char *kind);

/* Wake up to n threads parked on word (CT__WAKE_ALL for all). Returns how
 * many were woken (0 for shared words on the parking lot, whose waiters
 * poll). Never blocks for long, never fails. */
CT__HIDDEN int ct__park_wake(_Atomic uint32_t *word, int n, int flags);

/* Interrupt the thread that owns record r (alive, see above): set its
 * pending bit and wake it if it is in an interruptible wait. */
CT__HIDDEN void ct__park_interrupt(struct ct__wait_record *r);

/* Consume the calling thread's pending interrupt: true if there was one. */
CT__HIDDEN bool ct__park_take_interrupt(void);

/* ct_set_interrupt_on_signal for the calling thread; returns the old
 * setting. */
CT__HIDDEN bool ct__park_set_eintr(bool on);

/*
 * For waits that are not on a word (a process's descriptor): wait until
 * fd has `events`, the deadline passes, or (with CT__PARK_INTERRUPTIBLE)
 * the caller is interrupted or a signal handler runs. Returns 0 (ready,
 * or early: the caller looks again), CT_ETIMEDOUT, CT_EINTERRUPTED,
 * CT_EINTR. The record shows `object` and `kind` meanwhile.
 */
CT__HIDDEN int ct__park_wait_fd(int fd, short events, ct__deadline deadline, int flags,
                                const void *object, const char *kind);

/* The same for several descriptors at once; each revents is filled (0
 * for all on a timeout or an interrupt). Also CT_ENOMEM, CT_ENORES (no
 * descriptor left for the interrupt's eventfd). */
struct pollfd;
CT__HIDDEN int ct__park_wait_fds(struct pollfd *fds, size_t n, ct__deadline deadline, int flags,
                                 const void *object, const char *kind);

/*
 * Words with a "somebody may be parked" bit: the bit tells the thread
 * that changes the word that it must make the wake-up system call, so a
 * change nobody sleeps through makes none.
 *
 * ct__mark_parked is the waiting side. *w is the value the caller last
 * read; the bit is set unless already set, with a sequentially consistent
 * swap, so whoever changes the word after it sees the bit. Returns 1 with
 * *w the value to park on, or 0 when the word changed first (or the weak
 * swap failed): *w then holds the new value and the caller looks again.
 */
static inline int ct__mark_parked(_Atomic uint32_t *word, uint32_t *w, uint32_t bit)
{
    if (*w & bit)
        return 1;
    if (!atomic_compare_exchange_weak_explicit(word, w, *w | bit, memory_order_seq_cst,
                                               memory_order_seq_cst))
        return 0;
    *w |= bit;
    return 1;
}

/*
 * A change counter: the count in bits 1..31, CT__COUNT_PARKED in bit 0
 * (a Barrier's `seq`, a Queue's wait words). ct__count_advance moves the
 * count on, clears the bit, and wakes every parked thread only if the bit
 * was set.
 */
#define CT__COUNT_PARKED 1u

static inline void ct__count_advance(_Atomic uint32_t *word, int flags)
{
    uint32_t w = atomic_load_explicit(word, memory_order_relaxed);
    /* seq_cst: pairs with the seq_cst swap in ct__mark_parked. */
    while (!atomic_compare_exchange_weak_explicit(word, &w, (w + 2) & ~CT__COUNT_PARKED,
                                                  memory_order_seq_cst, memory_order_relaxed))
        ;
    if (w & CT__COUNT_PARKED)
        ct__park_wake(word, CT__WAKE_ALL, flags);
}

/* The calling thread's wait record (valid for the thread's lifetime). */
CT__HIDDEN struct ct__wait_record *ct__park_record(void);

/* A number unique to the calling thread among all live threads of all
 * processes (pid in the high half); never 0. Used as an owner id by
 * RLock, including in shared memory. Reset in a forked child. */
CT__HIDDEN uint64_t ct__self_id_slow(void);
/* The id is cached per thread; initial-exec keeps the read to one
 * instruction, even in the shared library (a few bytes of static TLS). */
extern _Thread_local uint64_t ct__self_id_cache __attribute__((tls_model("initial-exec")));
static inline uint64_t ct__self_id(void)
{
    uint64_t id = ct__self_id_cache;
    return __builtin_expect(id != 0, 1) ? id : ct__self_id_slow();
}

/* Whether id is one the calling thread had before the fork(s) that made
 * this process (only the forking thread has any). */
CT__HIDDEN bool ct__self_id_inherited(uint64_t id);

/* Chaos mode for tests: `percent` of waits return at once (0 turns it
 * off). Also set by the environment variable CT_PARK_CHAOS=percent. */
CT__HIDDEN void ct__park_set_chaos(int percent);

/* Name of the compiled-in backend: "futex" or "lot". */
CT__HIDDEN const char *ct__park_backend(void);

/* Spin briefly: a CPU pause hint. */
static inline void ct__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/*
 * Adaptive spinning before parking. A thread that must wait first spins
 * while `cond` holds, for up to its spin budget, then parks: far cheaper
 * than sleeping in the kernel when the partner is about to act. It does
 * not yield the CPU in between: on a machine busy with other processes a
 * sched_yield() hands the CPU away for a whole time slice (4-8 ms on the
 * development VM while other suites ran, against a 10-20 us futex
 * wake-up), so every hand-off that yielded took milliseconds. The budget
 * is per thread. A spin that paid off restores it in full; one that did
 * not halves it, so a thread whose partners are slow (or not running at
 * all, on a busy machine) soon stops burning its core. A thread at the
 * floor spins in full once every CT__SPIN_PROBE waits anyway: once both
 * sides of a hand-off park, each wakes the other late, so neither would
 * ever see a short spin pay off again and the pair would stay in the slow
 * mode for good (bench/ saw Condition ping-pong flip between 2 and 16 us).
 */
#define CT__SPIN_MIN 4
#define CT__SPIN_MAX 256
#define CT__SPIN_PROBE 16
extern _Thread_local int ct__spin_budget __attribute__((tls_model("initial-exec")));
extern _Thread_local unsigned ct__spin_waits __attribute__((tls_model("initial-exec")));

/*
 * Spinning is also rationed across the process: at most ct__spin_slots
 * threads spin at once, where ct__spin_slots is the number of CPUs this
 * process may run on, minus one. A spinner only helps when the thread it
 * waits for is running on another CPU; with slots = CPUs - 1 spinners can
 * never fill every CPU, so at least one CPU is always left to a thread
 * that does work, and with more waiters than CPUs (the oversubscribed
 * case) every waiter beyond the slots parks at once instead of burning a
 * core. On one CPU nobody spins. The count is touched only by threads
 * that already have to wait (two atomic operations per wait, none on a
 * path that does not wait).
 */
extern _Atomic int ct__spinners;
extern int ct__spin_slots;

static inline int ct__spin_enter(void)
{
    int n = atomic_load_explicit(&ct__spinners, memory_order_relaxed);
    do {
        if (n >= ct__spin_slots)
            return 0;
        /* relaxed: a count, guarding nothing but CPU time. */
    } while (!atomic_compare_exchange_weak_explicit(&ct__spinners, &n, n + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    return 1;
}

static inline void ct__spin_leave(void)
{
    atomic_fetch_sub_explicit(&ct__spinners, 1, memory_order_relaxed);
}

static inline int ct__spin_limit(void)
{
    int b = ct__spin_budget;
    if (!b)
        return CT__SPIN_MAX;
    if (b == CT__SPIN_MIN && ++ct__spin_waits % CT__SPIN_PROBE == 0)
        return CT__SPIN_MAX;
    return b;
}

static inline void ct__spin_paid_off(int yes)
{
    int b = ct__spin_budget ? ct__spin_budget : CT__SPIN_MAX;
    ct__spin_budget = yes ? CT__SPIN_MAX : (b > CT__SPIN_MIN ? b / 2 : CT__SPIN_MIN);
}

CT__HIDDEN void ct__yield(void);

/* How long (in pause instructions) a waiter polls for a spinning slot
 * before it parks: in a hand-off, the thread it is about to wait for is
 * still leaving its own slot (it saw its wait end a moment ago). */
#define CT__SPIN_SLOT_WAIT 48

#define CT__SPIN_WHILE(cond)                                                                \
    do {                                                                                    \
        if (!(cond))                                                                        \
            break;                                                                          \
        int ct__in = ct__spin_enter();                                                      \
        for (int ct__w = 0; !ct__in && ct__w < CT__SPIN_SLOT_WAIT && (cond); ct__w++) {     \
            ct__cpu_relax();                                                                \
            ct__in = ct__spin_enter();                                                      \
        }                                                                                   \
        if (!ct__in)                                                                        \
            break;                                                                          \
        int ct__lim = ct__spin_limit(), ct__i = 0;                                          \
        while (ct__i < ct__lim && (cond)) {                                                 \
            ct__cpu_relax();                                                                \
            ct__i++;                                                                        \
        }                                                                                   \
        ct__spin_leave();                                                                   \
        ct__spin_paid_off(ct__i < ct__lim);                                                 \
    } while (0)

/*
 * Backend entry points, implemented by park_futex.c or park_lot.c.
 * os_wait: park while *word == expected and, when intr is not NULL, while
 * *intr == intr_seen too; 0, CT_ETIMEDOUT or CT_EINTR (a signal handler
 * ran; only reported when `eintr` is set). os_interrupt: wake the owner
 * of r, whose intr word was just changed, if it is parked.
 */
CT__HIDDEN int ct__park_os_wait(_Atomic uint32_t *word, uint32_t expected, ct__deadline deadline,
                                int flags, _Atomic uint32_t *intr, uint32_t intr_seen, int eintr);
CT__HIDDEN int ct__park_os_wake(_Atomic uint32_t *word, int n, int flags);
CT__HIDDEN void ct__park_os_interrupt(struct ct__wait_record *r);

#endif
