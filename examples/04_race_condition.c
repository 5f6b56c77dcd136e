/*
 * 04_race_condition.c - a race condition that loses updates, and the Lock
 * that fixes it.
 *
 * Several threads each add 1 to a shared counter many times. Each
 * increment is three steps: read the counter, compute +1, write it back.
 * If another thread writes between our read and our write, our write
 * overwrites its update, which is lost. A sched_yield() between the read
 * and the write hands the CPU to another thread right there, so the race
 * shows up on every run instead of once in a while.
 *
 * A note on C: two threads touching a plain int without synchronisation
 * is a data race, which is undefined behaviour in C (the compiler may
 * assume it never happens). So the "unsafe" counter is an atomic that we
 * deliberately use the wrong way: a relaxed load, then a separate relaxed
 * store, instead of one atomic read-modify-write (atomic_fetch_add). The
 * lost updates are real, the program stays well defined, and
 * ThreadSanitizer has nothing to report. The fixed version uses a plain
 * int, because the Lock orders every access to it.
 */
#include <cthreading.h>

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define N_THREADS 4
#define N_INCREMENTS 20000

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

static atomic_long unsafe_counter;

static int increment_unsafely(void *arg)
{
    (void)arg;
    for (int i = 0; i < N_INCREMENTS; i++) {
        long value = atomic_load_explicit(&unsafe_counter, memory_order_relaxed);
        sched_yield(); /* let another thread run between read and write */
        atomic_store_explicit(&unsafe_counter, value + 1, memory_order_relaxed);
    }
    return 0;
}

static long safe_counter;
static ct_lock counter_lock = CT_LOCK_INIT;

static int increment_safely(void *arg)
{
    (void)arg;
    for (int i = 0; i < N_INCREMENTS; i++) {
        /* The same read, yield, write, but nobody else can touch the
         * counter until the block ends and releases the lock (Python's
         * `with lock:`; see cthreading/with.h). */
        CT_WITH_LOCK(&counter_lock) {
            long value = safe_counter;
            sched_yield();
            safe_counter = value + 1;
        }
    }
    return 0;
}

/* Run `fn` on N_THREADS threads and wait for all of them. */
static void run_threads(ct_thread_fn fn)
{
    ct_thread *threads[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        int rc = ct_thread_new(&threads[i], &(ct_thread_opts){.target = fn});
        if (rc != 0) {
            fprintf(stderr, "ct_thread_new failed: %s\n", ct_strerror(rc));
            exit(EXIT_FAILURE);
        }
        CHECK(ct_thread_start(threads[i]));
    }
    for (int i = 0; i < N_THREADS; i++) {
        CHECK(ct_thread_join(threads[i], CT_FOREVER));
        CHECK(ct_thread_result(threads[i])); /* the target's own return */
        ct_thread_unref(threads[i]);
    }
}

int main(void)
{
    long expected = (long)N_THREADS * N_INCREMENTS;

    printf("1. %d threads each add 1 to a shared counter %d times, without a lock\n", N_THREADS,
           N_INCREMENTS);
    run_threads(increment_unsafely);
    long got = atomic_load(&unsafe_counter);
    printf("  expected %ld, got %ld: %ld updates lost\n", expected, got, expected - got);

    printf("2. the same with a Lock around each read-modify-write\n");
    run_threads(increment_safely);
    printf("  expected %ld, got %ld: %s\n", expected, safe_counter,
           safe_counter == expected ? "exact total" : "WRONG");
    return safe_counter == expected ? 0 : EXIT_FAILURE;
}
