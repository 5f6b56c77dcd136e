/*
 * ctbench - one measurement of one scenario for one implementation.
 *
 *     ctbench SCENARIO IMPL     print one JSON line with the measurement
 *     ctbench --list            print "SCENARIO IMPL" for every row built
 *
 * bench/run.py calls this many times, interleaving implementations, and
 * does the statistics; this program only measures. Each measurement first
 * calibrates its operation count (doubling until a run takes a few tens of
 * milliseconds, which doubles as warm-up), then times one run of about
 * TARGET_SECONDS. It reports the figure in the scenario's unit and the
 * process CPU time over wall time during the timed run, so a hand-off that
 * spins shows up as CPU > 1 on two threads.
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

static double run_team(int n, team_fn fn, void *arg)
{
    team t = {.fn = fn, .arg = arg};
    pthread_t tid[8];
    member m[8];
    MUST(n <= 8);
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
    static double name##_contended(long n)                             \
    {                                                                  \
        name##_shared s = {.per_thread = n / 2};                       \
        init(&s.l);                                                    \
        double t = run_team(2, name##_hammer, &s);                     \
        MUST(s.counter == 2 * (n / 2));                                \
        fini(&s.l);                                                    \
        return t;                                                      \
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
    size_t head, count;
} ring;

static void ring_put(ring *r, void *item)
{
    pthread_mutex_lock(&r->mutex);
    while (r->count == QUEUE_BOUND)
        pthread_cond_wait(&r->not_full, &r->mutex);
    r->slot[(r->head + r->count++) % QUEUE_BOUND] = item;
    pthread_cond_signal(&r->not_empty);
    pthread_mutex_unlock(&r->mutex);
}

static void *ring_get(ring *r)
{
    pthread_mutex_lock(&r->mutex);
    while (r->count == 0)
        pthread_cond_wait(&r->not_empty, &r->mutex);
    void *item = r->slot[r->head];
    r->head = (r->head + 1) % QUEUE_BOUND;
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

/* Members 0..producers-1 produce, the rest consume. */
static void queue_member(int index, void *arg)
{
    queue_run *q = arg;
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

static double run_queue(enum queue_kind kind, int producers, int consumers, long n)
{
    /* Round n so that producers and consumers split it evenly. */
    long unit = (long)producers * consumers;
    n = (n + unit - 1) / unit * unit;
    queue_run q = {.kind = kind,
                   .producers = producers,
                   .consumers = consumers,
                   .per_producer = n / producers,
                   .per_consumer = n / consumers};
    ring *r = NULL;
    switch (kind) {
    case Q_CT: MUST(ct_queue_new(&q.ct, &(ct_queue_opts){.maxsize = QUEUE_BOUND}) == 0); break;
    case Q_CT_SIMPLE: MUST(ct_simple_queue_new(&q.simple, NULL) == 0); break;
    case Q_RING:
        q.ring = r = calloc(1, sizeof *r);
        MUST(r);
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
    double t = run_team(producers + consumers, queue_member, &q);
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

static double ct_queue_1p1c(long n) { return run_queue(Q_CT, 1, 1, n); }
static double ct_queue_2p2c(long n) { return run_queue(Q_CT, 2, 2, n); }
static double ring_1p1c(long n) { return run_queue(Q_RING, 1, 1, n); }
static double ring_2p2c(long n) { return run_queue(Q_RING, 2, 2, n); }
static double ct_simple_2p2c(long n) { return run_queue(Q_CT_SIMPLE, 2, 2, n); }
#ifdef HAVE_GLIB
static double gasync_1p1c(long n) { return run_queue(Q_GASYNC, 1, 1, n); }
static double gasync_2p2c(long n) { return run_queue(Q_GASYNC, 2, 2, n); }
#endif

/* ------------------------------------------------------------------ */
/* Thread pools: many tiny tasks on 2 workers; one task at a time      */

static int ct_tiny_task(void *arg, void **result)
{
    *result = arg;
    return 0;
}

static double ct_executor_tasks(long n)
{
    ct_executor *ex;
    MUST(ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 2}) == 0);
    MUST(ex);
    double t0 = wall();
    for (long i = 0; i < n; i++)
        MUST(ct_executor_submit(ex, ct_tiny_task, (void *)(uintptr_t)i, NULL) == 0);
    ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT);
    double t = wall() - t0;
    ct_executor_unref(ex);
    return t;
}

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
 * variable, a linked list with one malloc per task, two workers.
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
    int closing;
    pthread_t worker[2];
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

static double naive_pool_tasks(long n)
{
    naive_pool p = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    p.tail = &p.head;
    for (int i = 0; i < 2; i++)
        MUST(pthread_create(&p.worker[i], NULL, naive_worker, &p) == 0);
    double t0 = wall();
    for (long i = 0; i < n; i++) {
        naive_task *t = malloc(sizeof *t);
        MUST(t);
        *t = (naive_task){NULL, naive_tiny_task, (void *)(uintptr_t)i};
        pthread_mutex_lock(&p.mutex);
        *p.tail = t;
        p.tail = &t->next;
        pthread_cond_signal(&p.cond);
        pthread_mutex_unlock(&p.mutex);
    }
    pthread_mutex_lock(&p.mutex);
    p.closing = 1;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.mutex);
    for (int i = 0; i < 2; i++)
        pthread_join(p.worker[i], NULL);
    return wall() - t0;
}

#ifdef HAVE_GLIB
static void gpool_tiny_task(gpointer data, gpointer user) { (void)data, (void)user; }

static double gthreadpool_tasks(long n)
{
    GThreadPool *pool = g_thread_pool_new(gpool_tiny_task, NULL, 2, FALSE, NULL);
    MUST(pool);
    double t0 = wall();
    for (long i = 0; i < n; i++) /* GThreadPool refuses NULL data */
        g_thread_pool_push(pool, GSIZE_TO_POINTER(i + 1), NULL);
    g_thread_pool_free(pool, FALSE, TRUE);
    return wall() - t0;
}

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
/* The table of rows and the measurement loop                           */

enum unit { NS_PER_OP, US_PER_OP, MITEMS_PER_S, SPEEDUP };
static const char *const unit_name[] = {"ns", "us", "Mitems/s", "x"};

typedef struct row {
    const char *scenario, *impl;
    enum unit unit;
    double (*run)(long n); /* n operations; returns seconds */
} row;

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
    {"semaphore_uncontended", "cthreading", NS_PER_OP, ctsem_uncontended},
    {"semaphore_uncontended", "sem_t", NS_PER_OP, psem_uncontended},
    {"lock_contended_2t", "cthreading", NS_PER_OP, ctlock_contended},
    {"lock_contended_2t", "pthread_mutex", NS_PER_OP, pmutex_contended},
    {"lock_contended_2t", "pthread_adaptive", NS_PER_OP, padaptive_contended},
#ifdef HAVE_GLIB
    {"lock_contended_2t", "gmutex", NS_PER_OP, gmutex_contended},
#endif
    {"event_pingpong", "cthreading", US_PER_OP, ct_event_pingpong},
    {"event_pingpong", "pthread_cond", US_PER_OP, pcond_pingpong},
    {"event_pingpong", "sem_t", US_PER_OP, psem_pingpong},
#ifdef HAVE_GLIB
    {"event_pingpong", "gcond", US_PER_OP, gcond_pingpong},
#endif
    {"event_pingpong", "futex_raw", US_PER_OP, futex_pingpong},
    {"condition_pingpong", "cthreading", US_PER_OP, ct_condition_pingpong},
    {"condition_pingpong", "pthread_cond", US_PER_OP, pcond_pingpong},
    {"barrier_2", "cthreading", US_PER_OP, ct_barrier_2},
    {"barrier_2", "pthread_barrier", US_PER_OP, pbarrier_2},
    {"thread_start_join", "cthreading", US_PER_OP, ct_start_join},
    {"thread_start_join", "pthread", US_PER_OP, pthread_start_join},
#ifdef HAVE_GLIB
    {"thread_start_join", "gthread", US_PER_OP, gthread_start_join},
#endif
    {"queue_1p1c", "cthreading", MITEMS_PER_S, ct_queue_1p1c},
    {"queue_1p1c", "mutex_cond_ring", MITEMS_PER_S, ring_1p1c},
#ifdef HAVE_GLIB
    {"queue_1p1c", "gasyncqueue", MITEMS_PER_S, gasync_1p1c},
#endif
    {"queue_2p2c", "cthreading", MITEMS_PER_S, ct_queue_2p2c},
    {"queue_2p2c", "mutex_cond_ring", MITEMS_PER_S, ring_2p2c},
#ifdef HAVE_GLIB
    {"queue_2p2c", "gasyncqueue", MITEMS_PER_S, gasync_2p2c},
#endif
    {"simplequeue_2p2c", "cthreading", MITEMS_PER_S, ct_simple_2p2c},
#ifdef HAVE_GLIB
    {"simplequeue_2p2c", "gasyncqueue", MITEMS_PER_S, gasync_2p2c},
#endif
    {"executor_tasks", "cthreading", US_PER_OP, ct_executor_tasks},
#ifdef HAVE_GLIB
    {"executor_tasks", "gthreadpool", US_PER_OP, gthreadpool_tasks},
#endif
    {"executor_tasks", "naive_pool", US_PER_OP, naive_pool_tasks},
    {"future_roundtrip", "cthreading", US_PER_OP, ct_future_roundtrip},
#ifdef HAVE_GLIB
    {"future_roundtrip", "gthreadpool", US_PER_OP, gthreadpool_roundtrip},
#endif
    {"cpu_scaling", "cthreading", SPEEDUP, NULL},
};
#define NROWS (sizeof rows / sizeof rows[0])

/* Rows that need GLib, so that a build without it can say why a row is absent. */
static int glib_row(const char *impl)
{
    return impl[0] == 'g'; /* gmutex, grecmutex, gcond, gthread, gasyncqueue, ... */
}

static void report(const row *r, double value, double cpu_ratio, long n)
{
    printf("{\"scenario\": \"%s\", \"impl\": \"%s\", \"unit\": \"%s\", "
           "\"better\": \"%s\", \"value\": %.6g, \"cpu\": %.3f, \"n\": %ld}\n",
           r->scenario, r->impl, unit_name[r->unit],
           r->unit == MITEMS_PER_S || r->unit == SPEEDUP ? "higher" : "lower", value,
           cpu_ratio, n);
}

static void measure(const row *r)
{
    long n = 16;
    double t;
    while ((t = r->run(n)) < CALIBRATE_SECONDS)
        n *= t < CALIBRATE_SECONDS / 16 ? 8 : 2;
    n = (long)((double)n * TARGET_SECONDS / t) + 1;

    double c0 = cpu(), w0 = wall();
    t = r->run(n);
    double cpu_ratio = (cpu() - c0) / (wall() - w0);

    double per_op = t / (double)n;
    double value = r->unit == NS_PER_OP   ? per_op * 1e9
                   : r->unit == US_PER_OP ? per_op * 1e6
                                          : (double)n / t / 1e6;
    report(r, value, cpu_ratio, n);
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
    report(r, one / all, (cpu() - c0) / all, n);
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

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NROWS; i++)
            printf("%s %s\n", rows[i].scenario, rows[i].impl);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: ctbench SCENARIO IMPL | ctbench --list\n");
        return 2;
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
