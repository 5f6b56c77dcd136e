/*
 * 07_semaphore_pool.c - a BoundedSemaphore as a connection pool.
 *
 * A server accepts at most 5 connections at once; ten workers want one.
 * A semaphore starting at 5 counts the free connections: acquire takes
 * one (blocking while none is free), release gives it back. The
 * *bounded* kind also catches the classic bug of releasing more than was
 * acquired, which would silently grow the pool past its limit.
 *
 * CT_WITH_BOUNDED_SEMAPHORE is Python's `with pool:`: it acquires, and
 * releases when the block is left, however it is left. A small Lock
 * protects the two counters that record how many workers are inside at
 * once and the most there ever were.
 */
#include <cthreading.h>

#include <stdio.h>
#include <stdlib.h>

#define POOL_SIZE 5
#define N_WORKERS 10

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

static ct_bounded_semaphore pool = CT_BOUNDED_SEMAPHORE_INIT(POOL_SIZE);
static ct_event start_gate = CT_EVENT_INIT; /* lets every worker go at once */

static ct_lock stats_lock = CT_LOCK_INIT;
static int inside, most_inside; /* guarded by stats_lock */

/* Add `delta` to the number of workers inside; keep the maximum. */
static void count_inside(int delta)
{
    CT_WITH_LOCK(&stats_lock) {
        inside += delta;
        if (inside > most_inside)
            most_inside = inside;
    }
}

static int worker(void *arg)
{
    int id = *(const int *)arg;
    int rc = ct_event_wait(&start_gate, CT_FOREVER);
    if (rc != 0)
        return rc;
    /* Take a connection for the length of the block; it goes back to the
     * pool on every way out, the early return included. */
    CT_WITH_BOUNDED_SEMAPHORE(&pool) {
        count_inside(+1);
        printf("  worker %d: connected\n", id);
        rc = ct_sleep(0.2); /* use the connection */
        count_inside(-1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int main(void)
{
    printf("%d workers share a pool of %d connections\n", N_WORKERS, POOL_SIZE);
    ct_thread *threads[N_WORKERS];
    int ids[N_WORKERS];
    for (int i = 0; i < N_WORKERS; i++) {
        ids[i] = i + 1;
        int rc = ct_thread_new(&threads[i], &(ct_thread_opts){.target = worker, .arg = &ids[i]});
        if (rc != 0) {
            fprintf(stderr, "ct_thread_new failed: %s\n", ct_strerror(rc));
            return EXIT_FAILURE;
        }
        CHECK(ct_thread_start(threads[i]));
    }
    double t0 = ct_monotonic();
    CHECK(ct_event_set(&start_gate));
    for (int i = 0; i < N_WORKERS; i++) {
        CHECK(ct_thread_join(threads[i], CT_FOREVER));
        CHECK(ct_thread_result(threads[i]));
        ct_thread_unref(threads[i]);
    }
    printf("all %d workers done in %.2f s\n", N_WORKERS, ct_monotonic() - t0);
    printf("most inside at once: %d (the pool size is %d)\n", most_inside, POOL_SIZE);
    printf("free connections now: %d\n", ct_bounded_semaphore_value(&pool));

    /* The bug a bounded semaphore catches: one release too many. */
    int rc = ct_bounded_semaphore_release(&pool, 1);
    printf("one release too many: %s (%s)\n", ct_errname(rc), ct_strerror(rc));
    if (rc != CT_EBOUND)
        return EXIT_FAILURE;
    printf("free connections still: %d\n", ct_bounded_semaphore_value(&pool));
    return 0;
}
