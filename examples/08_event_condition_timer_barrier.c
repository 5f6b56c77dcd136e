/*
 * 08_event_condition_timer_barrier.c - the other coordination tools.
 *
 * 1. Event: a flag threads can wait for. Workers block in ct_event_wait
 *    until main sets the event, which releases all of them at once.
 * 2. Condition: wait until some shared state is right. A consumer waits
 *    (wait_for) until the stock reaches 3; a producer adds items and
 *    notifies. wait_for re-checks the predicate after every wake-up, so
 *    the consumer never acts on a state it did not see.
 * 3. Timer: run a function after a delay, unless cancelled first.
 * 4. Barrier: threads doing work in phases wait for each other at the end
 *    of each phase, so no one starts phase 2 before all finished phase 1.
 *    The thread that gets index 0 from the barrier reports the phase.
 */
#include <cthreading.h>

#include <stdio.h>
#include <stdlib.h>

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

/* Start n threads running fn(&args[i]); exits on failure. */
static void start_all(ct_thread **threads, int n, ct_thread_fn fn, int *args)
{
    for (int i = 0; i < n; i++) {
        args[i] = i + 1;
        int rc = ct_thread_new(&threads[i], &(ct_thread_opts){.target = fn, .arg = &args[i]});
        if (rc != 0) {
            fprintf(stderr, "ct_thread_new failed: %s\n", ct_strerror(rc));
            exit(EXIT_FAILURE);
        }
        CHECK(ct_thread_start(threads[i]));
    }
}

/* Join n threads, check each target returned 0, drop our references. */
static void join_all(ct_thread **threads, int n)
{
    for (int i = 0; i < n; i++) {
        CHECK(ct_thread_join(threads[i], CT_FOREVER));
        CHECK(ct_thread_result(threads[i]));
        ct_thread_unref(threads[i]);
    }
}

/* ---- 1. Event ---- */

static ct_event go = CT_EVENT_INIT;

static int wait_for_go(void *arg)
{
    int id = *(const int *)arg;
    int rc = ct_event_wait(&go, CT_FOREVER);
    if (rc == 0)
        printf("  worker %d: saw the event, running\n", id);
    return rc;
}

static void event_demo(void)
{
    printf("1. Event: three workers wait until main sets it\n");
    ct_thread *threads[3];
    int ids[3];
    start_all(threads, 3, wait_for_go, ids);
    CHECK(ct_sleep(0.2)); /* main prepares something */
    printf("  main: setting the event\n");
    CHECK(ct_event_set(&go));
    join_all(threads, 3);
}

/* ---- 2. Condition ---- */

static ct_lock stock_lock = CT_LOCK_INIT;
static ct_condition stock_changed; /* a condition over stock_lock */
static int stock;                  /* guarded by stock_lock */

static int enough_stock(void *arg)
{
    (void)arg;
    return stock >= 3; /* called with the lock held */
}

static int consumer(void *arg)
{
    (void)arg;
    int rc;
    /* Python's `with cond:` -- holds the lock for the block. */
    CT_WITH_CONDITION(&stock_changed) {
        /* Releases the lock while waiting, re-takes it before each check. */
        rc = ct_condition_wait_for(&stock_changed, enough_stock, NULL, NULL, CT_FOREVER);
        if (rc == 0) {
            printf("  consumer: stock is %d, taking 3\n", stock);
            stock -= 3;
        }
    }
    return rc;
}

static int producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        int rc = ct_sleep(0.05); /* making an item */
        if (rc != 0)
            return rc;
        CT_WITH_CONDITION(&stock_changed) {
            stock++;
            printf("  producer: stock is now %d\n", stock);
            rc = ct_condition_notify(&stock_changed, 1);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void condition_demo(void)
{
    printf("2. Condition: the consumer waits until the stock reaches 3\n");
    CHECK(ct_condition_init(&stock_changed, &(ct_condition_opts){.lock = &stock_lock}));
    ct_thread *threads[2];
    int unused[2];
    start_all(&threads[0], 1, consumer, &unused[0]);
    start_all(&threads[1], 1, producer, &unused[1]);
    join_all(threads, 2);
    CHECK(ct_condition_destroy(&stock_changed));
    printf("  stock left: %d\n", stock);
}

/* ---- 3. Timer ---- */

static int ring(void *arg)
{
    printf("  timer %s: fired\n", (const char *)arg);
    return 0;
}

static ct_thread *new_timer(double interval, const char *name)
{
    ct_thread *t;
    int rc = ct_timer_new(&t, &(ct_timer_opts){
        .interval = interval, .function = ring, .arg = (void *)name, .name = name});
    if (rc != 0) {
        fprintf(stderr, "ct_timer_new failed: %s\n", ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
    return t;
}

static void timer_demo(void)
{
    printf("3. Timer: one fires after 0.2 s, one is cancelled before its 2 s\n");
    ct_thread *fires = new_timer(0.2, "A");
    ct_thread *cancelled = new_timer(2.0, "B");
    double t0 = ct_monotonic();
    CHECK(ct_thread_start(fires));
    CHECK(ct_thread_start(cancelled));
    CHECK(ct_sleep(0.1));
    CHECK(ct_timer_cancel(cancelled));
    printf("  main: cancelled timer B\n");
    CHECK(ct_thread_join(fires, CT_FOREVER));
    CHECK(ct_thread_join(cancelled, CT_FOREVER));
    printf("  both timers ended after %.2f s; B never ran\n", ct_monotonic() - t0);
    ct_thread_unref(fires);
    ct_thread_unref(cancelled);
}

/* ---- 4. Barrier ---- */

#define N_PHASES 3
static ct_barrier phase_end;

static int phased_worker(void *arg)
{
    int id = *(const int *)arg;
    int rc;
    for (int phase = 1; phase <= N_PHASES; phase++) {
        /* Workers take different times; the barrier keeps them in step. */
        if ((rc = ct_sleep(0.02 * id)) != 0)
            return rc;
        int index;
        if ((rc = ct_barrier_wait(&phase_end, &index, CT_FOREVER)) != 0)
            return rc;
        if (index == 0) /* exactly one thread per phase gets index 0 */
            printf("  phase %d: all 3 workers done\n", phase);
    }
    return 0;
}

static void barrier_demo(void)
{
    printf("4. Barrier: three workers, %d phases, in step\n", N_PHASES);
    CHECK(ct_barrier_init(&phase_end, &(ct_barrier_opts){.parties = 3}));
    ct_thread *threads[3];
    int ids[3];
    start_all(threads, 3, phased_worker, ids);
    join_all(threads, 3);
    CHECK(ct_barrier_destroy(&phase_end));
}

int main(void)
{
    event_demo();
    condition_demo();
    timer_demo();
    barrier_demo();
    return 0;
}
