/*
 * ctbench - one measurement of one scenario for one implementation.
 *
 *     ctbench SCENARIO IMPL     print one JSON line with the measurement
 *     ctbench --list            print "SCENARIO IMPL" for every row built
 *     ctbench --sizes           print one JSON line per type: bytes per object
 *
 * bench/run.py calls this many times, interleaving implementations, and
 * does the statistics; this program only measures. Each measurement first
 * calibrates its operation count (doubling until a run takes a few tens of
 * milliseconds, which doubles as warm-up), then times one run of about
 * TARGET_SECONDS. It reports the figure in the scenario's unit, the
 * process CPU time over wall time during the timed run (a hand-off that
 * spins shows up as CPU > 1 on two threads), and the process CPU time per
 * operation in nanoseconds (what the operation cost the machine, whoever
 * burned it). Rows named scale_* are the points of bench/scaling.png.
 *
 * Helper threads that only drive a scenario are plain pthreads for every
 * implementation, started before the clock runs and released together by a
 * start gate; only thread_start_join and cpu_scaling time thread creation.
 *
 * Exit status: 0 measured, 2 bad usage, 3 this row was not built (GLib was
 * missing at build time).
 */
#include <cthreading.h>

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_GLIB
#include <glib.h>
#endif
#include <malloc.h>

#define TARGET_SECONDS 0.25
#define CALIBRATE_SECONDS 0.03
#define QUEUE_BOUND 1024

/* ------------------------------------------------------------------ */
/* Clocks, checks and the start gate                                   */

static double clock_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static double wall(void) { return clock_of(CLOCK_MONOTONIC); }
static double cpu(void) { return clock_of(CLOCK_PROCESS_CPUTIME_ID); }

/* A benchmark that computes a wrong answer must not report a figure. */
#define MUST(cond)                                                                     \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "ctbench: %s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                            \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

/*
 * Run fn(i, arg) on `n` pthreads released together; returns the seconds
 * from the release until the last one ended.
 */
typedef void (*team_fn)(int index, void *arg);

typedef struct team {
    team_fn fn;
    void *arg;
    atomic_int ready;
    atomic_int go;
} team;

typedef struct member {
    team *t;
    int index;
} member;

static void *member_main(void *p)
{
    member *m = p;
    atomic_fetch_add(&m->t->ready, 1);
    while (!atomic_load(&m->t->go))
        sched_yield();
    m->t->fn(m->index, m->t->arg);
    return NULL;
}

#define MAX_TEAM 64

static double run_team(int n, team_fn fn, void *arg)
{
    team t = {.fn = fn, .arg = arg};
    pthread_t tid[MAX_TEAM];
    member m[MAX_TEAM];
    MUST(n <= MAX_TEAM);
    for (int i = 0; i < n; i++) {
        m[i] = (member){&t, i};
        MUST(pthread_create(&tid[i], NULL, member_main, &m[i]) == 0);
    }
    while (atomic_load(&t.ready) < n)
        sched_yield();
    double t0 = wall();
    atomic_store(&t.go, 1);
    for (int i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
    return wall() - t0;
}

/* ------------------------------------------------------------------ */
/* Uncontended and contended locks, one generator per implementation   */

/*
 * UNCONTENDED(name, type, init, lock, unlock, fini) defines
 * name_uncontended (one thread, n acquire+release pairs); CONTENDED(...)
 * defines name_contended (two threads, n increments of one counter between
 * them). The loops are written out per implementation so that no indirect
 * call sits in the timed path.
 */
#define UNCONTENDED(name, type, init, lock, unlock, fini)              \
    static double name##_uncontended(long n)                           \
    {                                                                  \
        type l;                                                        \
        init(&l);                                                      \
        double t0 = wall();                                            \
        for (long i = 0; i < n; i++) {                                 \
            lock(&l);                                                  \
            unlock(&l);                                                \
        }                                                              \
        double t = wall() - t0;                                        \
        fini(&l);                                                      \
        return t;                                                      \
    }

#define CONTENDED(name, type, init, lock, unlock, fini)                \
    typedef struct {                                                   \
        type l;                                                        \
        long per_thread, counter;                                      \
    } name##_shared;                                                   \
    static void name##_hammer(int index, void *arg)                    \
    {                                                                  \
        name##_shared *s = arg;                                        \
        (void)index;                                                   \
        for (long i = 0; i < s->per_thread; i++) {                     \
            lock(&s->l);                                               \
            s->counter++;                                              \
            unlock(&s->l);                                             \
        }                                                              \
    }                                                                  \
    static double name##_contended_on(long n, int threads)             \
    {                                                                  \
        name##_shared s = {.per_thread = n / threads + 1};             \
        init(&s.l);                                                    \
        double t = run_team(threads, name##_hammer, &s);               \
        MUST(s.counter == threads * s.per_thread);                     \
        fini(&s.l);                                                    \
        return t * (double)n / (double)(threads * s.per_thread);       \
    }                                                                  \
    __attribute__((unused)) static double name##_contended(long n)     \
    {                                                                  \
        return name##_contended_on(n, 2);                              \
    }                                                                  \
    __attribute__((unused)) static double name##_contended_8(long n)   \
    {                                                                  \
        return name##_contended_on(n, 8);                              \
    }                                                                  \
    __attribute__((unused)) static double name##_contended_32(long n)  \
    {                                                                  \
        return name##_contended_on(n, 32);                             \
    }

#define BOTH(...) UNCONTENDED(__VA_ARGS__) CONTENDED(__VA_ARGS__)

static void ct_lock_setup(ct_lock *l) { MUST(ct_lock_init(l, 0) == 0); }
static void ct_lock_take(ct_lock *l) { ct_lock_acquire(l, CT_FOREVER); }
static void ct_lock_fini(ct_lock *l) { ct_lock_destroy(l); }
BOTH(ctlock, ct_lock, ct_lock_setup, ct_lock_take, ct_lock_release, ct_lock_fini)

static void ct_rlock_setup(ct_rlock *l) { MUST(ct_rlock_init(l, 0) == 0); }
static void ct_rlock_take(ct_rlock *l) { ct_rlock_acquire(l, CT_FOREVER); }
static void ct_rlock_fini(ct_rlock *l) { ct_rlock_destroy(l); }
UNCONTENDED(ctrlock, ct_rlock, ct_rlock_setup, ct_rlock_take, ct_rlock_release, ct_rlock_fini)

static void ct_sem_setup(ct_semaphore *s) { MUST(ct_semaphore_init(s, 1, 0) == 0); }
static void ct_sem_take(ct_semaphore *s) { ct_semaphore_acquire(s, CT_FOREVER); }
static void ct_sem_give(ct_semaphore *s) { ct_semaphore_release(s, 1); }
static void ct_sem_fini(ct_semaphore *s) { ct_semaphore_destroy(s); }
UNCONTENDED(ctsem, ct_semaphore, ct_sem_setup, ct_sem_take, ct_sem_give, ct_sem_fini)

static void mutex_setup_kind(pthread_mutex_t *m, int kind)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, kind);
    MUST(pthread_mutex_init(m, &a) == 0);
    pthread_mutexattr_destroy(&a);
}
static void mutex_setup(pthread_mutex_t *m) { mutex_setup_kind(m, PTHREAD_MUTEX_NORMAL); }
static void mutex_setup_recursive(pthread_mutex_t *m)
{
    mutex_setup_kind(m, PTHREAD_MUTEX_RECURSIVE);
}
static void mutex_setup_adaptive(pthread_mutex_t *m)
{
    mutex_setup_kind(m, PTHREAD_MUTEX_ADAPTIVE_NP);
}
BOTH(pmutex, pthread_mutex_t, mutex_setup, pthread_mutex_lock, pthread_mutex_unlock,
          pthread_mutex_destroy)
UNCONTENDED(precursive, pthread_mutex_t, mutex_setup_recursive, pthread_mutex_lock,
          pthread_mutex_unlock, pthread_mutex_destroy)
CONTENDED(padaptive, pthread_mutex_t, mutex_setup_adaptive, pthread_mutex_lock,
          pthread_mutex_unlock, pthread_mutex_destroy)

static void c11_setup(mtx_t *m) { MUST(mtx_init(m, mtx_plain) == thrd_success); }
UNCONTENDED(c11, mtx_t, c11_setup, mtx_lock, mtx_unlock, mtx_destroy)

static void posix_sem_setup(sem_t *s) { MUST(sem_init(s, 0, 1) == 0); }
UNCONTENDED(psem, sem_t, posix_sem_setup, sem_wait, sem_post, sem_destroy)

/* The physical floor: one compare-and-swap to take, one store to give. */
static void cas_setup(atomic_int *w) { atomic_init(w, 0); }
static void cas_take(atomic_int *w)
{
    int expected = 0;
    while (!atomic_compare_exchange_weak_explicit(w, &expected, 1, memory_order_acquire,
                                                  memory_order_relaxed))
        expected = 0;
}
static void cas_give(atomic_int *w) { atomic_store_explicit(w, 0, memory_order_release); }
static void cas_fini(atomic_int *w) { (void)w; }
UNCONTENDED(cas, atomic_int, cas_setup, cas_take, cas_give, cas_fini)

#ifdef HAVE_GLIB
BOTH(gmutex, GMutex, g_mutex_init, g_mutex_lock, g_mutex_unlock, g_mutex_clear)
UNCONTENDED(grecmutex, GRecMutex, g_rec_mutex_init, g_rec_mutex_lock, g_rec_mutex_unlock,
          g_rec_mutex_clear)
#endif

/* ------------------------------------------------------------------ */
/* Hand-offs between two threads: n round trips, measured by thread 0  */

typedef struct pingpong {
    long n;
    double elapsed;
    /* one of these is used per implementation */
    ct_event ev[2];
    ct_lock lock;
    ct_condition cond;
    pthread_mutex_t mutex;
    pthread_cond_t pcond;
    sem_t sem[2];
    atomic_uint turn;     /* futex_raw: whose turn it is; condvars: under the lock */
    atomic_uint sleepers; /* futex_raw: threads that may be in FUTEX_WAIT */
#ifdef HAVE_GLIB
    GMutex gmutex;
    GCond gcond;
#endif
} pingpong;

static double run_pingpong(long n, team_fn fn, pingpong *p)
{
    p->n = n;
    run_team(2, fn, p);
    return p->elapsed;
}

/* Thread 0 serves, thread 1 returns the ball; thread 0 times the rally. */
#define RALLY(p, index, serve, answer)                \
    do {                                              \
        if ((index) == 0) {                           \
            double t0_ = wall();                      \
            for (long i_ = 0; i_ < (p)->n; i_++) {    \
                serve;                                \
            }                                         \
            (p)->elapsed = wall() - t0_;              \
        } else {                                      \
            for (long i_ = 0; i_ < (p)->n; i_++) {    \
                answer;                               \
            }                                         \
        }                                             \
    } while (0)

static void ct_event_rally(int index, void *arg)
{
    pingpong *p = arg;
    RALLY(p, index,
          (ct_event_set(&p->ev[0]), ct_event_wait(&p->ev[1], CT_FOREVER), ct_event_clear(&p->ev[1])),
          (ct_event_wait(&p->ev[0], CT_FOREVER), ct_event_clear(&p->ev[0]), ct_event_set(&p->ev[1])));
}
static double ct_event_pingpong(long n)
{
    pingpong p = {0};
    ct_event_init(&p.ev[0], 0);
    ct_event_init(&p.ev[1], 0);
    return run_pingpong(n, ct_event_rally, &p);
}

/* Condition hand-off: wait for your turn, pass it, notify. */
static void ct_cond_turn(pingpong *p, unsigned mine)
{
    ct_condition_acquire(&p->cond, CT_FOREVER);
    while (atomic_load_explicit(&p->turn, memory_order_relaxed) != mine)
        ct_condition_wait(&p->cond, CT_FOREVER);
    atomic_store_explicit(&p->turn, !mine, memory_order_relaxed);
    ct_condition_notify(&p->cond, 1);
    ct_condition_release(&p->cond);
}
static void ct_cond_rally(int index, void *arg)
{
    pingpong *p = arg;
    RALLY(p, index, ct_cond_turn(p, 0), ct_cond_turn(p, 1));
}
static double ct_condition_pingpong(long n)
{
    pingpong p = {0};
    ct_lock_init(&p.lock, 0);
    MUST(ct_condition_init(&p.cond, &(ct_condition_opts){.lock = &p.lock}) == 0);
    double t = run_pingpong(n, ct_cond_rally, &p);
    ct_condition_destroy(&p.cond);
    return t;
}

static void pcond_turn(pingpong *p, unsigned mine)
{
    pthread_mutex_lock(&p->mutex);
    while (atomic_load_explicit(&p->turn, memory_order_relaxed) != mine)
        pthread_cond_wait(&p->pcond, &p->mutex);
    atomic_store_explicit(&p->turn, !mine, memory_order_relaxed);
    pthread_cond_signal(&p->pcond);
    pthread_mutex_unlock(&p->mutex);
}
static void pcond_rally(int index, void *arg)
{
    pingpong *p = arg;
    RALLY(p, index, pcond_turn(p, 0), pcond_turn(p, 1));
}
static double pcond_pingpong(long n)
{
    pingpong p = {0};
    pthread_mutex_init(&p.mutex, NULL);
    pthread_cond_init(&p.pcond, NULL);
    double t = run_pingpong(n, pcond_rally, &p);
    pthread_cond_destroy(&p.pcond);
    pthread_mutex_destroy(&p.mutex);
    return t;
}

static void psem_rally(int index, void *arg)
{
    pingpong *p = arg;
    RALLY(p, index, (sem_post(&p->sem[0]), sem_wait(&p->sem[1])),
          (sem_wait(&p->sem[0]), sem_post(&p->sem[1])));
}
static double psem_pingpong(long n)
{
    pingpong p = {0};
    sem_init(&p.sem[0], 0, 0);
    sem_init(&p.sem[1], 0, 0);
    double t = run_pingpong(n, psem_rally, &p);
    sem_destroy(&p.sem[0]);
    sem_destroy(&p.sem[1]);
    return t;
}

/*
 * futex_raw: the hand-off with nothing but a futex, as a reference for what
 * the hardware and kernel allow. Spin a little on the turn word, then
 * announce yourself in `sleepers` and sleep; the passer wakes only when
 * someone announced. Both sides use sequentially consistent operations, so
 * either the passer sees the sleeper or the sleeper sees the new turn.
 */
static void futex_turn(pingpong *p, unsigned mine)
{
    for (int spin = 0; atomic_load(&p->turn) != mine; spin++) {
        if (spin < 2000)
            continue;
        atomic_fetch_add(&p->sleepers, 1);
        if (atomic_load(&p->turn) != mine)
            syscall(SYS_futex, &p->turn, FUTEX_WAIT_PRIVATE, !mine, NULL, NULL, 0);
        atomic_fetch_sub(&p->sleepers, 1);
    }
    atomic_store(&p->turn, !mine);
    if (atomic_load(&p->sleepers))
        syscall(SYS_futex, &p->turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
static void futex_rally(int index, void *arg)
{
    pingpong *p = arg;
    RALLY(p, index, futex_turn(p, 0), futex_turn(p, 1));
}
static double futex_pingpong(long n)
{
    pingpong p = {0};
    return run_pingpong(n, futex_rally, &p);
}

#ifdef HAVE_GLIB
static void gcond_turn(pingpong *p, unsigned mine)
{
    g_mutex_lock(&p->gmutex);
    while (atomic_load_explicit(&p->turn, memory_order_relaxed) != mine)
        g_cond_wait(&p->gcond, &p->gmutex);
    atomic_store_explicit(&p->turn, !mine, memory_order_relaxed);
    g_cond_signal(&p->gcond);
    g_mutex_unlock(&p->gmutex);
}
static void gcond_rally(int index, void *arg)
{
    pingpong *p = arg;
    RALLY(p, index, gcond_turn(p, 0), gcond_turn(p, 1));
}
static double gcond_pingpong(long n)
{
    pingpong p = {0};
    g_mutex_init(&p.gmutex);
    g_cond_init(&p.gcond);
    double t = run_pingpong(n, gcond_rally, &p);
    g_cond_clear(&p.gcond);
    g_mutex_clear(&p.gmutex);
    return t;
}
#endif

/* ------------------------------------------------------------------ */
/* Barrier cycles between two threads                                  */

typedef struct barrier_run {
    long n;
    ct_barrier ct;
    pthread_barrier_t pb;
} barrier_run;

static void ct_barrier_cycles(int index, void *arg)
{
    barrier_run *b = arg;
    (void)index;
    for (long i = 0; i < b->n; i++)
        MUST(ct_barrier_wait(&b->ct, NULL, CT_FOREVER) == 0);
}
static double ct_barrier_2(long n)
{
    barrier_run b = {.n = n};
    MUST(ct_barrier_init(&b.ct, &(ct_barrier_opts){.parties = 2}) == 0);
    double t = run_team(2, ct_barrier_cycles, &b);
    ct_barrier_destroy(&b.ct);
    return t;
}

static void pbarrier_cycles(int index, void *arg)
{
    barrier_run *b = arg;
    (void)index;
    for (long i = 0; i < b->n; i++)
        pthread_barrier_wait(&b->pb);
}
static double pbarrier_2(long n)
{
    barrier_run b = {.n = n};
    pthread_barrier_init(&b.pb, NULL, 2);
    double t = run_team(2, pbarrier_cycles, &b);
    pthread_barrier_destroy(&b.pb);
    return t;
}

/* ------------------------------------------------------------------ */
/* A token passed round a ring of threads through events: n hops        */

typedef struct pevent {
    pthread_mutex_t m;
    pthread_cond_t c;
    int flag;
} pevent;

#ifdef HAVE_GLIB
typedef struct gevent {
    GMutex m;
    GCond c;
    int flag;
} gevent;
#endif

enum chain_kind { CHAIN_CT, CHAIN_PTHREAD, CHAIN_GLIB };

typedef struct chain {
    enum chain_kind kind;
    int threads;
    long rounds;
    double elapsed;
    ct_event ct[MAX_TEAM];
    pevent p[MAX_TEAM];
#ifdef HAVE_GLIB
    gevent g[MAX_TEAM];
#endif
} chain;

/* pthreads and GLib: an event is a flag under a mutex and a condition
 * variable; waiting and clearing share one critical section. */
static void chain_set(chain *c, int i)
{
    switch (c->kind) {
    case CHAIN_CT: ct_event_set(&c->ct[i]); break;
    case CHAIN_PTHREAD:
        pthread_mutex_lock(&c->p[i].m);
        c->p[i].flag = 1;
        pthread_cond_broadcast(&c->p[i].c);
        pthread_mutex_unlock(&c->p[i].m);
        break;
    case CHAIN_GLIB:
#ifdef HAVE_GLIB
        g_mutex_lock(&c->g[i].m);
        c->g[i].flag = 1;
        g_cond_broadcast(&c->g[i].c);
        g_mutex_unlock(&c->g[i].m);
#endif
        break;
    }
}

static void chain_wait_clear(chain *c, int i)
{
    switch (c->kind) {
    case CHAIN_CT:
        MUST(ct_event_wait(&c->ct[i], CT_FOREVER) == 0);
        ct_event_clear(&c->ct[i]);
        break;
    case CHAIN_PTHREAD:
        pthread_mutex_lock(&c->p[i].m);
        while (!c->p[i].flag)
            pthread_cond_wait(&c->p[i].c, &c->p[i].m);
        c->p[i].flag = 0;
        pthread_mutex_unlock(&c->p[i].m);
        break;
    case CHAIN_GLIB:
#ifdef HAVE_GLIB
        g_mutex_lock(&c->g[i].m);
        while (!c->g[i].flag)
            g_cond_wait(&c->g[i].c, &c->g[i].m);
        c->g[i].flag = 0;
        g_mutex_unlock(&c->g[i].m);
#endif
        break;
    }
}

static void chain_member(int i, void *arg)
{
    chain *c = arg;
    int next = (i + 1) % c->threads;
    if (i == 0) {
        double t0 = wall();
        for (long r = 0; r < c->rounds; r++) {
            chain_set(c, next);
            chain_wait_clear(c, 0);
        }
        c->elapsed = wall() - t0;
    } else {
        for (long r = 0; r < c->rounds; r++) {
            chain_wait_clear(c, i);
            chain_set(c, next);
        }
    }
}

static double run_chain(enum chain_kind kind, int threads, long n)
{
    chain *c = calloc(1, sizeof *c);
    MUST(c);
    c->kind = kind;
    c->threads = threads;
    c->rounds = n / threads + 1;
    for (int i = 0; i < threads; i++) {
        ct_event_init(&c->ct[i], 0);
        pthread_mutex_init(&c->p[i].m, NULL);
        pthread_cond_init(&c->p[i].c, NULL);
#ifdef HAVE_GLIB
        g_mutex_init(&c->g[i].m);
        g_cond_init(&c->g[i].c);
#endif
    }
    run_team(threads, chain_member, c);
    double t = c->elapsed * (double)n / (double)(c->rounds * threads);
    for (int i = 0; i < threads; i++) {
        pthread_mutex_destroy(&c->p[i].m);
        pthread_cond_destroy(&c->p[i].c);
#ifdef HAVE_GLIB
        g_mutex_clear(&c->g[i].m);
        g_cond_clear(&c->g[i].c);
#endif
    }
    free(c);
    return t;
}
static double ct_event_chain_8(long n) { return run_chain(CHAIN_CT, 8, n); }
static double pthread_event_chain_8(long n) { return run_chain(CHAIN_PTHREAD, 8, n); }
#ifdef HAVE_GLIB
static double glib_event_chain_8(long n) { return run_chain(CHAIN_GLIB, 8, n); }
#endif

/* ------------------------------------------------------------------ */
/* Thread start + join                                                 */

static int ct_noop(void *arg)
{
    (void)arg;
    return 0;
}
static double ct_start_join(long n)
{
    double t0 = wall();
    for (long i = 0; i < n; i++) {
        ct_thread *t;
        MUST(ct_thread_new(&t, &(ct_thread_opts){.target = ct_noop}) == 0);
        MUST(t && ct_thread_start(t) == 0);
        ct_thread_join(t, CT_FOREVER);
        ct_thread_unref(t);
    }
    return wall() - t0;
}

static void *pthread_noop(void *arg) { return arg; }
static double pthread_start_join(long n)
{
    double t0 = wall();
    for (long i = 0; i < n; i++) {
        pthread_t t;
        MUST(pthread_create(&t, NULL, pthread_noop, NULL) == 0);
        pthread_join(t, NULL);
    }
    return wall() - t0;
}

#ifdef HAVE_GLIB
static gpointer gthread_noop(gpointer arg) { return arg; }
static double gthread_start_join(long n)
{
    double t0 = wall();
    for (long i = 0; i < n; i++)
        g_thread_join(g_thread_new("bench", gthread_noop, NULL));
    return wall() - t0;
}
#endif

/* ------------------------------------------------------------------ */
/* Queues: P producers and C consumers move n items; every item counted */

/* The plain mutex + two condition variables ring a C programmer writes. */
typedef struct ring {
    pthread_mutex_t mutex;
    pthread_cond_t not_empty, not_full;
    void *slot[QUEUE_BOUND];
    size_t head, count, bound;
} ring;

static void ring_put(ring *r, void *item)
{
    pthread_mutex_lock(&r->mutex);
    while (r->count == r->bound)
        pthread_cond_wait(&r->not_full, &r->mutex);
    r->slot[(r->head + r->count++) % r->bound] = item;
    pthread_cond_signal(&r->not_empty);
    pthread_mutex_unlock(&r->mutex);
}

static void *ring_get(ring *r)
{
    pthread_mutex_lock(&r->mutex);
    while (r->count == 0)
        pthread_cond_wait(&r->not_empty, &r->mutex);
    void *item = r->slot[r->head];
    r->head = (r->head + 1) % r->bound;
    r->count--;
    pthread_cond_signal(&r->not_full);
    pthread_mutex_unlock(&r->mutex);
    return item;
}

enum queue_kind { Q_CT, Q_CT_SIMPLE, Q_RING, Q_GASYNC };

typedef struct queue_run {
    enum queue_kind kind;
    int producers, consumers;
    long per_producer, per_consumer;
    ct_queue *ct;
    ct_simple_queue *simple;
    ring *ring;
#ifdef HAVE_GLIB
    GAsyncQueue *gasync;
#endif
    atomic_ullong sum;
} queue_run;

static void queue_put(queue_run *q, void *item)
{
    switch (q->kind) {
    case Q_CT: MUST(ct_queue_put(q->ct, item, CT_FOREVER) == 0); break;
    case Q_CT_SIMPLE: MUST(ct_simple_queue_put(q->simple, item) == 0); break;
    case Q_RING: ring_put(q->ring, item); break;
#ifdef HAVE_GLIB
    case Q_GASYNC: g_async_queue_push(q->gasync, item); break;
#else
    case Q_GASYNC: break;
#endif
    }
}

static void *queue_get(queue_run *q)
{
    void *item = NULL;
    switch (q->kind) {
    case Q_CT: MUST(ct_queue_get(q->ct, &item, CT_FOREVER) == 0); break;
    case Q_CT_SIMPLE: MUST(ct_simple_queue_get(q->simple, &item, CT_FOREVER) == 0); break;
    case Q_RING: item = ring_get(q->ring); break;
#ifdef HAVE_GLIB
    case Q_GASYNC: item = g_async_queue_pop(q->gasync); break;
#else
    case Q_GASYNC: break;
#endif
    }
    return item;
}

/* Members 0..producers-1 produce, the rest consume; with no consumers,
 * the one member puts and gets in turn. */
static void queue_member(int index, void *arg)
{
    queue_run *q = arg;
    if (q->consumers == 0) {
        unsigned long long sum = 0;
        for (long i = 1; i <= q->per_producer; i++) {
            queue_put(q, (void *)(uintptr_t)i);
            sum += (uintptr_t)queue_get(q);
        }
        atomic_fetch_add(&q->sum, sum);
        return;
    }
    if (index < q->producers) {
        for (long i = 1; i <= q->per_producer; i++)
            queue_put(q, (void *)(uintptr_t)i);
    } else {
        unsigned long long sum = 0;
        for (long i = 0; i < q->per_consumer; i++)
            sum += (uintptr_t)queue_get(q);
        atomic_fetch_add(&q->sum, sum);
    }
}

static double run_queue_bounded(enum queue_kind kind, int producers, int consumers, long n,
                                long bound)
{
    /* Round n so that producers and consumers split it evenly. */
    long unit = (long)producers * (consumers ? consumers : 1);
    n = (n + unit - 1) / unit * unit;
    queue_run q = {.kind = kind,
                   .producers = producers,
                   .consumers = consumers,
                   .per_producer = n / producers,
                   .per_consumer = consumers ? n / consumers : 0};
    ring *r = NULL;
    switch (kind) {
    case Q_CT: MUST(ct_queue_new(&q.ct, &(ct_queue_opts){.maxsize = bound}) == 0); break;
    case Q_CT_SIMPLE: MUST(ct_simple_queue_new(&q.simple, NULL) == 0); break;
    case Q_RING:
        q.ring = r = calloc(1, sizeof *r);
        MUST(r && bound <= QUEUE_BOUND);
        r->bound = (size_t)bound;
        pthread_mutex_init(&r->mutex, NULL);
        pthread_cond_init(&r->not_empty, NULL);
        pthread_cond_init(&r->not_full, NULL);
        break;
#ifdef HAVE_GLIB
    case Q_GASYNC: q.gasync = g_async_queue_new(); break;
#else
    case Q_GASYNC: break;
#endif
    }
    double t = run_team(consumers ? producers + consumers : 1, queue_member, &q);
    unsigned long long each = (unsigned long long)q.per_producer;
    MUST(atomic_load(&q.sum) == producers * (each * (each + 1) / 2));
    if (q.ct)
        ct_queue_unref(q.ct);
    if (q.simple)
        ct_simple_queue_unref(q.simple);
    if (r) {
        pthread_cond_destroy(&r->not_full);
        pthread_cond_destroy(&r->not_empty);
        pthread_mutex_destroy(&r->mutex);
        free(r);
    }
#ifdef HAVE_GLIB
    if (q.gasync)
        g_async_queue_unref(q.gasync);
#endif
    return t;
}

static double run_queue(enum queue_kind kind, int producers, int consumers, long n)
{
    return run_queue_bounded(kind, producers, consumers, n, QUEUE_BOUND);
}

/* One row per implementation, threads and bound (GAsyncQueue has none). */
#define QUEUE_ROWS(P, C)                                                                    \
    static double ct_queue_##P##p##C##c(long n) { return run_queue(Q_CT, P, C, n); }        \
    static double ring_##P##p##C##c(long n) { return run_queue(Q_RING, P, C, n); }          \
    __attribute__((unused)) static double ct_queue_##P##p##C##c_b64(long n)                 \
    {                                                                                       \
        return run_queue_bounded(Q_CT, P, C, n, 64);                                        \
    }                                                                                       \
    __attribute__((unused)) static double ring_##P##p##C##c_b64(long n)                     \
    {                                                                                       \
        return run_queue_bounded(Q_RING, P, C, n, 64);                                      \
    }                                                                                       \
    __attribute__((unused)) static double gasync_##P##p##C##c(long n)                       \
    {                                                                                       \
        return run_queue(Q_GASYNC, P, C, n);                                                \
    }
QUEUE_ROWS(1, 1)
QUEUE_ROWS(2, 2)
QUEUE_ROWS(4, 4)
QUEUE_ROWS(8, 8)
static double ct_simple_2p2c(long n) { return run_queue(Q_CT_SIMPLE, 2, 2, n); }

/* ------------------------------------------------------------------ */
/* Thread pools: many tiny tasks on 2 workers; one task at a time      */

static int ct_tiny_task(void *arg, void **result)
{
    *result = arg;
    return 0;
}

static double ct_executor_tasks_on(long n, int workers)
{
    ct_executor *ex;
    MUST(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = workers}) == 0);
    MUST(ex);
    double t0 = wall();
    for (long i = 0; i < n; i++)
        MUST(ct_executor_submit(ex, ct_tiny_task, (void *)(uintptr_t)i, NULL) == 0);
    ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT);
    double t = wall() - t0;
    ct_executor_unref(ex);
    return t;
}
static double ct_executor_tasks(long n) { return ct_executor_tasks_on(n, 2); }
static double ct_executor_tasks_8w(long n) { return ct_executor_tasks_on(n, 8); }

static double ct_future_roundtrip(long n)
{
    ct_executor *ex;
    MUST(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 2}) == 0);
    MUST(ex);
    double t0 = wall();
    for (long i = 0; i < n; i++) {
        ct_future *f;
        void *r;
        MUST(ct_executor_submit(ex, ct_tiny_task, (void *)(uintptr_t)i, &f) == 0);
        MUST(ct_future_result(f, &r, CT_FOREVER) == 0 && r == (void *)(uintptr_t)i);
        ct_future_unref(f);
    }
    double t = wall() - t0;
    ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT);
    ct_executor_unref(ex);
    return t;
}

/*
 * naive_pool: what one writes in an afternoon - a mutex, a condition
 * variable, a linked list with one malloc per task, N workers.
 */
typedef struct naive_task {
    struct naive_task *next;
    void *(*fn)(void *);
    void *arg;
} naive_task;

typedef struct naive_pool {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    naive_task *head, **tail;
    int closing, workers;
    pthread_t worker[MAX_TEAM];
} naive_pool;

static void *naive_worker(void *arg)
{
    naive_pool *p = arg;
    pthread_mutex_lock(&p->mutex);
    for (;;) {
        while (!p->head && !p->closing)
            pthread_cond_wait(&p->cond, &p->mutex);
        naive_task *t = p->head;
        if (!t)
            break;
        p->head = t->next;
        if (!p->head)
            p->tail = &p->head;
        pthread_mutex_unlock(&p->mutex);
        t->fn(t->arg);
        free(t);
        pthread_mutex_lock(&p->mutex);
    }
    pthread_mutex_unlock(&p->mutex);
    return NULL;
}

static void *naive_tiny_task(void *arg) { return arg; }

static void naive_start(naive_pool *p, int workers)
{
    *p = (naive_pool){.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
                      .workers = workers};
    p->tail = &p->head;
    for (int i = 0; i < workers; i++)
        MUST(pthread_create(&p->worker[i], NULL, naive_worker, p) == 0);
}

static void naive_submit(naive_pool *p, void *(*fn)(void *), void *arg)
{
    naive_task *t = malloc(sizeof *t);
    MUST(t);
    *t = (naive_task){NULL, fn, arg};
    pthread_mutex_lock(&p->mutex);
    *p->tail = t;
    p->tail = &t->next;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mutex);
}

static void naive_stop(naive_pool *p)
{
    pthread_mutex_lock(&p->mutex);
    p->closing = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mutex);
    for (int i = 0; i < p->workers; i++)
        pthread_join(p->worker[i], NULL);
}

static double naive_pool_tasks_on(long n, int workers)
{
    naive_pool p;
    naive_start(&p, workers);
    double t0 = wall();
    for (long i = 0; i < n; i++)
        naive_submit(&p, naive_tiny_task, (void *)(uintptr_t)i);
    naive_stop(&p);
    return wall() - t0;
}
static double naive_pool_tasks(long n) { return naive_pool_tasks_on(n, 2); }
static double naive_pool_tasks_8w(long n) { return naive_pool_tasks_on(n, 8); }

/* A round trip through the naive pool needs its own "future": a flag
 * under a mutex and condition variable. */
typedef struct naive_job {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int done;
} naive_job;

static void *naive_signal_task(void *arg)
{
    naive_job *j = arg;
    pthread_mutex_lock(&j->mutex);
    j->done = 1;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->mutex);
    return NULL;
}

static double naive_pool_roundtrip(long n)
{
    naive_pool p;
    naive_job j = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    naive_start(&p, 2);
    double t0 = wall();
    for (long i = 0; i < n; i++) {
        naive_submit(&p, naive_signal_task, &j);
        pthread_mutex_lock(&j.mutex);
        while (!j.done)
            pthread_cond_wait(&j.cond, &j.mutex);
        j.done = 0;
        pthread_mutex_unlock(&j.mutex);
    }
    double t = wall() - t0;
    naive_stop(&p);
    return t;
}

#ifdef HAVE_GLIB
static void gpool_tiny_task(gpointer data, gpointer user) { (void)data, (void)user; }

static double gthreadpool_tasks_on(long n, int workers)
{
    GThreadPool *pool = g_thread_pool_new(gpool_tiny_task, NULL, workers, FALSE, NULL);
    MUST(pool);
    double t0 = wall();
    for (long i = 0; i < n; i++) /* GThreadPool refuses NULL data */
        g_thread_pool_push(pool, GSIZE_TO_POINTER(i + 1), NULL);
    g_thread_pool_free(pool, FALSE, TRUE);
    return wall() - t0;
}
static double gthreadpool_tasks(long n) { return gthreadpool_tasks_on(n, 2); }
static double gthreadpool_tasks_8w(long n) { return gthreadpool_tasks_on(n, 8); }

/* A round trip through GThreadPool needs its own "future": a flag under a lock. */
typedef struct gjob {
    GMutex mutex;
    GCond cond;
    int done;
} gjob;

static void gpool_signal_task(gpointer data, gpointer user)
{
    gjob *j = user;
    (void)data;
    g_mutex_lock(&j->mutex);
    j->done = 1;
    g_cond_signal(&j->cond);
    g_mutex_unlock(&j->mutex);
}

static double gthreadpool_roundtrip(long n)
{
    gjob j = {0};
    g_mutex_init(&j.mutex);
    g_cond_init(&j.cond);
    GThreadPool *pool = g_thread_pool_new(gpool_signal_task, &j, 2, FALSE, NULL);
    MUST(pool);
    double t0 = wall();
    for (long i = 0; i < n; i++) {
        g_thread_pool_push(pool, GSIZE_TO_POINTER(i + 1), NULL);
        g_mutex_lock(&j.mutex);
        while (!j.done)
            g_cond_wait(&j.cond, &j.mutex);
        j.done = 0;
        g_mutex_unlock(&j.mutex);
    }
    double t = wall() - t0;
    g_thread_pool_free(pool, FALSE, TRUE);
    g_cond_clear(&j.cond);
    g_mutex_clear(&j.mutex);
    return t;
}
#endif

/* ------------------------------------------------------------------ */
/* CPU scaling: a fixed job on 1 thread, then split over every core    */

typedef struct crunch {
    long rounds;
    uint64_t out;
} crunch;

static int crunch_main(void *arg)
{
    crunch *c = arg;
    uint64_t x = 88172645463325252ull + (uint64_t)c->rounds;
    for (long i = 0; i < c->rounds; i++) { /* xorshift64: pure ALU work */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    c->out = x;
    return 0;
}

static double crunch_on(int threads, long rounds)
{
    ct_thread *t[64];
    crunch c[64];
    double t0 = wall();
    for (int i = 0; i < threads; i++) {
        c[i] = (crunch){.rounds = rounds / threads};
        MUST(ct_thread_new(&t[i], &(ct_thread_opts){.target = crunch_main, .arg = &c[i]}) == 0);
        MUST(t[i] && ct_thread_start(t[i]) == 0);
    }
    for (int i = 0; i < threads; i++) {
        ct_thread_join(t[i], CT_FOREVER);
        ct_thread_unref(t[i]);
    }
    return wall() - t0;
}

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* ------------------------------------------------------------------ */
/* Scaling: Lock, Queue and Executor throughput against thread count   */

/*
 * scale_lock_T: T threads increment one counter under the lock.
 * scale_queue_T: T/2 producers and T/2 consumers through a queue bounded
 * at 1024 (one thread: it puts and gets in turn; GLib's is unbounded).
 * scale_executor_T: one submitter, T workers, tiny tasks.
 * Implementations: cthreading, pthreads (mutex, mutex+cond ring, naive
 * pool), glib (GMutex, GAsyncQueue, GThreadPool).
 */
static const int scale_threads[] = {1, 2, 4, 8, 16, 32};
static const char *const scale_kinds[] = {"lock", "queue", "executor"};
static const char *const scale_impls[] = {"cthreading", "pthreads", "glib"};

static double scale_queue(enum queue_kind kind, long n, int threads)
{
    return threads == 1 ? run_queue_bounded(kind, 1, 0, n, QUEUE_BOUND)
                        : run_queue_bounded(kind, threads / 2, threads / 2, n, QUEUE_BOUND);
}

static double run_scale(int kind, int impl, long n, int threads)
{
    switch (kind * 3 + impl) {
    case 0: return ctlock_contended_on(n, threads);
    case 1: return pmutex_contended_on(n, threads);
    case 3: return scale_queue(Q_CT, n, threads);
    case 4: return scale_queue(Q_RING, n, threads);
    case 6: return ct_executor_tasks_on(n, threads);
    case 7: return naive_pool_tasks_on(n, threads);
#ifdef HAVE_GLIB
    case 2: return gmutex_contended_on(n, threads);
    case 5: return scale_queue(Q_GASYNC, n, threads);
    case 8: return gthreadpool_tasks_on(n, threads);
#endif
    }
    MUST(!"a scaling row that was not built");
    return 0;
}

/* ------------------------------------------------------------------ */
/* The table of rows and the measurement loop                           */

enum unit { NS_PER_OP, US_PER_OP, MITEMS_PER_S, SPEEDUP };
static const char *const unit_name[] = {"ns", "us", "Mitems/s", "x"};

typedef struct row {
    const char *scenario, *impl;
    enum unit unit;
    double (*run)(long n); /* n operations; returns seconds */
} row;

/* The scale_* row being measured (its row has run NULL). */
static int scale_kind, scale_impl, scale_nthreads;

static const row rows[] = {
    {"lock_uncontended", "cthreading", NS_PER_OP, ctlock_uncontended},
    {"lock_uncontended", "pthread_mutex", NS_PER_OP, pmutex_uncontended},
#ifdef HAVE_GLIB
    {"lock_uncontended", "gmutex", NS_PER_OP, gmutex_uncontended},
#endif
    {"lock_uncontended", "c11_mtx", NS_PER_OP, c11_uncontended},
    {"lock_uncontended", "floor_cas", NS_PER_OP, cas_uncontended},
    {"rlock_uncontended", "cthreading", NS_PER_OP, ctrlock_uncontended},
    {"rlock_uncontended", "pthread_recursive", NS_PER_OP, precursive_uncontended},
#ifdef HAVE_GLIB
    {"rlock_uncontended", "grecmutex", NS_PER_OP, grecmutex_uncontended},
#endif
    {"rlock_uncontended", "floor_cas", NS_PER_OP, cas_uncontended},
    {"semaphore_uncontended", "cthreading", NS_PER_OP, ctsem_uncontended},
    {"semaphore_uncontended", "sem_t", NS_PER_OP, psem_uncontended},
    {"semaphore_uncontended", "floor_cas", NS_PER_OP, cas_uncontended},
    {"lock_contended_2t", "cthreading", NS_PER_OP, ctlock_contended},
    {"lock_contended_2t", "pthread_mutex", NS_PER_OP, pmutex_contended},
    {"lock_contended_2t", "pthread_adaptive", NS_PER_OP, padaptive_contended},
#ifdef HAVE_GLIB
    {"lock_contended_2t", "gmutex", NS_PER_OP, gmutex_contended},
#endif
    {"lock_contended_8t", "cthreading", NS_PER_OP, ctlock_contended_8},
    {"lock_contended_8t", "pthread_mutex", NS_PER_OP, pmutex_contended_8},
#ifdef HAVE_GLIB
    {"lock_contended_8t", "gmutex", NS_PER_OP, gmutex_contended_8},
#endif
    {"lock_contended_32t", "cthreading", NS_PER_OP, ctlock_contended_32},
    {"lock_contended_32t", "pthread_mutex", NS_PER_OP, pmutex_contended_32},
#ifdef HAVE_GLIB
    {"lock_contended_32t", "gmutex", NS_PER_OP, gmutex_contended_32},
#endif
    {"event_pingpong", "cthreading", US_PER_OP, ct_event_pingpong},
    {"event_pingpong", "pthread_cond", US_PER_OP, pcond_pingpong},
    {"event_pingpong", "sem_t", US_PER_OP, psem_pingpong},
#ifdef HAVE_GLIB
    {"event_pingpong", "gcond", US_PER_OP, gcond_pingpong},
#endif
    {"event_pingpong", "futex_raw", US_PER_OP, futex_pingpong},
    {"event_chain_8", "cthreading", US_PER_OP, ct_event_chain_8},
    {"event_chain_8", "pthread_cond", US_PER_OP, pthread_event_chain_8},
#ifdef HAVE_GLIB
    {"event_chain_8", "gcond", US_PER_OP, glib_event_chain_8},
#endif
    {"condition_pingpong", "cthreading", US_PER_OP, ct_condition_pingpong},
    {"condition_pingpong", "pthread_cond", US_PER_OP, pcond_pingpong},
    {"barrier_2", "cthreading", US_PER_OP, ct_barrier_2},
    {"barrier_2", "pthread_barrier", US_PER_OP, pbarrier_2},
    {"thread_start_join", "cthreading", US_PER_OP, ct_start_join},
    {"thread_start_join", "pthread", US_PER_OP, pthread_start_join},
#ifdef HAVE_GLIB
    {"thread_start_join", "gthread", US_PER_OP, gthread_start_join},
#endif
#ifdef HAVE_GLIB
#define GASYNC_ROW(scenario, fn) {scenario, "gasyncqueue", MITEMS_PER_S, fn},
#else
#define GASYNC_ROW(scenario, fn)
#endif
#define QUEUE_TABLE(name, P, C)                                                             \
    {name, "cthreading", MITEMS_PER_S, ct_queue_##P##p##C##c},                              \
    {name, "mutex_cond_ring", MITEMS_PER_S, ring_##P##p##C##c},                             \
    GASYNC_ROW(name, gasync_##P##p##C##c)                                                   \
    {name "_b64", "cthreading", MITEMS_PER_S, ct_queue_##P##p##C##c_b64},                   \
    {name "_b64", "mutex_cond_ring", MITEMS_PER_S, ring_##P##p##C##c_b64},
    QUEUE_TABLE("queue_1p1c", 1, 1)
    QUEUE_TABLE("queue_2p2c", 2, 2)
    QUEUE_TABLE("queue_4p4c", 4, 4)
    QUEUE_TABLE("queue_8p8c", 8, 8)
    {"simplequeue_2p2c", "cthreading", MITEMS_PER_S, ct_simple_2p2c},
    GASYNC_ROW("simplequeue_2p2c", gasync_2p2c)
    {"executor_tasks", "cthreading", US_PER_OP, ct_executor_tasks},
#ifdef HAVE_GLIB
    {"executor_tasks", "gthreadpool", US_PER_OP, gthreadpool_tasks},
#endif
    {"executor_tasks", "naive_pool", US_PER_OP, naive_pool_tasks},
    {"executor_tasks_8w", "cthreading", US_PER_OP, ct_executor_tasks_8w},
#ifdef HAVE_GLIB
    {"executor_tasks_8w", "gthreadpool", US_PER_OP, gthreadpool_tasks_8w},
#endif
    {"executor_tasks_8w", "naive_pool", US_PER_OP, naive_pool_tasks_8w},
    {"future_roundtrip", "cthreading", US_PER_OP, ct_future_roundtrip},
#ifdef HAVE_GLIB
    {"future_roundtrip", "gthreadpool", US_PER_OP, gthreadpool_roundtrip},
#endif
    {"future_roundtrip", "naive_pool", US_PER_OP, naive_pool_roundtrip},
    {"cpu_scaling", "cthreading", SPEEDUP, NULL},
};
#define NROWS (sizeof rows / sizeof rows[0])

/* Rows that need GLib, so that a build without it can say why a row is absent. */
static int glib_row(const char *impl)
{
    return impl[0] == 'g'; /* gmutex, grecmutex, gcond, gthread, gasyncqueue, ... */
}

static void report(const row *r, double value, double cpu_ratio, double cpu_ns, long n)
{
    printf("{\"scenario\": \"%s\", \"impl\": \"%s\", \"unit\": \"%s\", "
           "\"better\": \"%s\", \"value\": %.6g, \"cpu\": %.3f, \"cpu_ns\": %.4g, "
           "\"n\": %ld}\n",
           r->scenario, r->impl, unit_name[r->unit],
           r->unit == MITEMS_PER_S || r->unit == SPEEDUP ? "higher" : "lower", value,
           cpu_ratio, cpu_ns, n);
}

static double run_row(const row *r, long n)
{
    return r->run ? r->run(n) : run_scale(scale_kind, scale_impl, n, scale_nthreads);
}

static void measure(const row *r)
{
    long n = 16;
    double t;
    while ((t = run_row(r, n)) < CALIBRATE_SECONDS)
        n *= t < CALIBRATE_SECONDS / 16 ? 8 : 2;
    n = (long)((double)n * TARGET_SECONDS / t) + 1;

    /* A calibration run can be slow for reasons that have nothing to do
     * with n (32 threads waiting for a CPU to start): if the timed run
     * was much shorter than meant, it is redone with a larger n. */
    double c0, w0, c;
    for (int again = 0;; again++) {
        c0 = cpu();
        w0 = wall();
        t = run_row(r, n);
        c = cpu() - c0;
        if (t >= TARGET_SECONDS / 3 || again == 3)
            break;
        double grow = TARGET_SECONDS / (t > 0 ? t : 1e-6);
        n = (long)((double)n * (grow < 64 ? grow : 64)) + 1;
    }
    double cpu_ratio = c / (wall() - w0);

    double per_op = t / (double)n;
    double value = r->unit == NS_PER_OP   ? per_op * 1e9
                   : r->unit == US_PER_OP ? per_op * 1e6
                                          : (double)n / t / 1e6;
    report(r, value, cpu_ratio, c / (double)n * 1e9, n);
}

/* cpu_scaling: rounds calibrated so one thread takes about TARGET_SECONDS. */
static void measure_scaling(const row *r)
{
    long rounds = 1 << 20;
    double t;
    while ((t = crunch_on(1, rounds)) < CALIBRATE_SECONDS)
        rounds *= 2;
    rounds = (long)((double)rounds * TARGET_SECONDS / t);
    int n = cores();
    rounds = rounds / n * n;
    double one = crunch_on(1, rounds);
    double c0 = cpu();
    double all = crunch_on(n, rounds);
    double c = cpu() - c0;
    report(r, one / all, c / all, c / (double)rounds * 1e9, n);
}

/*
 * A lock is only needed once a second thread exists, and glibc knows it:
 * while a process has a single thread, pthread_mutex_lock and _unlock skip
 * their atomic instructions. Every row runs with this idle thread alive,
 * as a real program with locks would, so no peer is timed in that mode.
 */
static void *bystander_main(void *arg)
{
    pause();
    return arg;
}

static void start_bystander(void)
{
    pthread_t t;
    MUST(pthread_create(&t, NULL, bystander_main, NULL) == 0);
    pthread_detach(t);
}

/* ------------------------------------------------------------------ */
/* Bytes per object, for the README's memory table                      */

/* Heap bytes in use (malloc's own count, overhead included). */
static long heap_in_use(void)
{
    return (long)mallinfo2().uordblks;
}

static void size_line(const char *what, const char *how, long ct, long pthreads, long glib)
{
    printf("{\"what\": \"%s\", \"how\": \"%s\", \"cthreading\": %ld, \"pthreads\": %ld, "
           "\"glib\": %ld}\n",
           what, how, ct, pthreads, glib);
}

enum { SIZE_N = 20000 };

static void print_sizes(void)
{
    long g_mutex = -1, g_rec = -1, g_cond = -1;
#ifdef HAVE_GLIB
    g_mutex = sizeof(GMutex);
    g_rec = sizeof(GRecMutex);
    g_cond = sizeof(GCond);
#endif
    long pev = sizeof(pthread_mutex_t) + sizeof(pthread_cond_t) + sizeof(int);
    size_line("Lock", "sizeof", sizeof(ct_lock), sizeof(pthread_mutex_t), g_mutex);
    size_line("RLock", "sizeof", sizeof(ct_rlock), sizeof(pthread_mutex_t), g_rec);
    size_line("Condition", "sizeof (own lock included)", sizeof(ct_condition),
              sizeof(pthread_mutex_t) + sizeof(pthread_cond_t),
              g_mutex < 0 ? -1 : g_mutex + g_cond);
    size_line("Semaphore", "sizeof", sizeof(ct_semaphore), sizeof(sem_t), -1);
    size_line("Event", "sizeof (pthreads, GLib: flag + mutex + cond)", sizeof(ct_event), pev,
              g_mutex < 0 ? -1 : g_mutex + g_cond + (long)sizeof(int));
    size_line("Barrier", "sizeof", sizeof(ct_barrier), sizeof(pthread_barrier_t), -1);

    /* Heap objects: the growth of malloc's in-use bytes over SIZE_N. */
    static ct_thread *threads[SIZE_N / 10];
    long h0 = heap_in_use();
    for (int i = 0; i < SIZE_N / 10; i++)
        MUST(ct_thread_new(&threads[i], &(ct_thread_opts){.target = ct_noop}) == 0);
    long ct_thread_bytes = (heap_in_use() - h0) / (SIZE_N / 10);
    for (int i = 0; i < SIZE_N / 10; i++)
        ct_thread_unref(threads[i]);
    size_line("Thread object (not started; each thread's stack comes on top, as for any thread)",
              "heap", ct_thread_bytes, sizeof(pthread_t), -1);

    ct_queue *q;
    MUST(ct_queue_new(&q, NULL) == 0);
    h0 = heap_in_use();
    for (long i = 1; i <= SIZE_N; i++)
        MUST(ct_queue_put(q, (void *)i, 0) == 0);
    long ct_item = (heap_in_use() - h0) / SIZE_N;
    void *item;
    while (ct_queue_get_nowait(q, &item) == 0)
        ;
    ct_queue_unref(q);
    long g_item = -1;
#ifdef HAVE_GLIB
    GAsyncQueue *gq = g_async_queue_new();
    h0 = heap_in_use();
    for (long i = 1; i <= SIZE_N; i++)
        g_async_queue_push(gq, (void *)i);
    g_item = (heap_in_use() - h0) / SIZE_N;
    while (g_async_queue_try_pop(gq))
        ;
    g_async_queue_unref(gq);
#endif
    /* pthreads: the ring of this benchmark holds one pointer per slot. */
    size_line("queued item (unbounded Queue, GAsyncQueue; pthreads: a bounded ring's slot)",
              "heap", ct_item, sizeof(void *), g_item);
    size_line("queued item (bounded Queue: one slot each, allocated at creation)", "heap",
              16, sizeof(void *), -1);

    static ct_future *fs[SIZE_N];
    h0 = heap_in_use();
    for (int i = 0; i < SIZE_N; i++)
        MUST(ct_future_new(&fs[i]) == 0);
    long ct_future_bytes = (heap_in_use() - h0) / SIZE_N;
    for (int i = 0; i < SIZE_N; i++)
        ct_future_unref(fs[i]);
    size_line("Future", "heap", ct_future_bytes, -1, -1);
}

/* scale_<kind>_<threads> IMPL, or 0. */
static int scale_row(const char *scenario, const char *impl, row *out)
{
    for (int k = 0; k < 3; k++)
        for (int t = 0; t < (int)(sizeof scale_threads / sizeof *scale_threads); t++)
            for (int i = 0; i < 3; i++) {
                static char name[64];
                snprintf(name, sizeof name, "scale_%s_%d", scale_kinds[k], scale_threads[t]);
                if (strcmp(name, scenario) || strcmp(scale_impls[i], impl))
                    continue;
#ifndef HAVE_GLIB
                if (i == 2)
                    return 0;
#endif
                *out = (row){name, scale_impls[i], MITEMS_PER_S, NULL};
                scale_kind = k;
                scale_impl = i;
                scale_nthreads = scale_threads[t];
                return 1;
            }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NROWS; i++)
            printf("%s %s\n", rows[i].scenario, rows[i].impl);
        for (int k = 0; k < 3; k++)
            for (int t = 0; t < (int)(sizeof scale_threads / sizeof *scale_threads); t++)
                for (int i = 0; i < 3; i++) {
#ifndef HAVE_GLIB
                    if (i == 2)
                        continue;
#endif
                    printf("scale_%s_%d %s\n", scale_kinds[k], scale_threads[t], scale_impls[i]);
                }
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--sizes") == 0) {
        start_bystander();
        print_sizes();
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: ctbench SCENARIO IMPL | ctbench --list | ctbench --sizes\n");
        return 2;
    }
    row scale;
    if (scale_row(argv[1], argv[2], &scale)) {
        start_bystander();
        measure(&scale);
        return 0;
    }
    for (size_t i = 0; i < NROWS; i++) {
        if (strcmp(rows[i].scenario, argv[1]) || strcmp(rows[i].impl, argv[2]))
            continue;
        start_bystander();
        if (rows[i].run)
            measure(&rows[i]);
        else
            measure_scaling(&rows[i]);
        return 0;
    }
    if (glib_row(argv[2])) {
        fprintf(stderr, "ctbench: %s %s needs GLib, which was missing at build time\n",
                argv[1], argv[2]);
        return 3;
    }
    fprintf(stderr, "ctbench: no row %s %s (see ctbench --list)\n", argv[1], argv[2]);
    return 2;
}
