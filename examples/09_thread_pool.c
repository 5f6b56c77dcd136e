/*
 * 09_thread_pool.c - a ThreadPoolExecutor: map and as_completed.
 *
 * Five "fetches" of different lengths run on a pool of 3 worker threads.
 *  - ct_executor_map gives the results in the order the work was
 *    submitted, however the tasks finish (Python's executor.map).
 *  - ct_executor_submit returns a Future per task; ct_as_completed hands
 *    the futures back in the order they finish, so each result can be
 *    used as soon as it is ready (Python's as_completed).
 *
 * A task is `int fn(void *arg, void **result)`: it returns 0 and stores
 * its result, or returns its own non-zero error code (Python: raises),
 * which the caller gets back from map or ct_future_result.
 */
#include <cthreading.h>

#include <stdio.h>
#include <stdlib.h>

#define N_TASKS 5
#define N_WORKERS 3

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

struct fetch {
    int id;
    double seconds; /* how long this fetch takes */
    int size;       /* its result, set by the task */
};

static int do_fetch(void *arg, void **result)
{
    struct fetch *f = arg;
    int rc = ct_sleep(f->seconds); /* stands in for the network */
    if (rc != 0)
        return rc;
    f->size = f->id * 100;
    *result = f;
    return 0;
}

int main(void)
{
    /* Spaced so that the finishing order is clear: 2, 4, 5, 1, 3. */
    static const double seconds[N_TASKS] = {0.35, 0.1, 0.5, 0.15, 0.05};
    struct fetch fetches[N_TASKS];

    ct_executor *pool;
    CHECK(ct_executor_new(&pool, &(ct_executor_opts){.max_workers = N_WORKERS,
                                                     .thread_name_prefix = "pool"}));

    printf("1. map: %d tasks on %d workers, results in submission order\n", N_TASKS, N_WORKERS);
    void *args[N_TASKS], *results[N_TASKS];
    for (int i = 0; i < N_TASKS; i++) {
        fetches[i] = (struct fetch){.id = i + 1, .seconds = seconds[i]};
        args[i] = &fetches[i];
    }
    double t0 = ct_monotonic();
    CHECK(ct_executor_map(pool, do_fetch, args, N_TASKS, results, NULL, CT_FOREVER));
    for (int i = 0; i < N_TASKS; i++) {
        const struct fetch *f = results[i];
        printf("  fetch %d (%.2f s): %d bytes\n", f->id, f->seconds, f->size);
    }
    printf("  all done in %.2f s\n", ct_monotonic() - t0);

    printf("2. submit + as_completed: results in completion order\n");
    ct_future *futures[N_TASKS];
    for (int i = 0; i < N_TASKS; i++) {
        fetches[i].size = 0;
        CHECK(ct_executor_submit(pool, do_fetch, &fetches[i], &futures[i]));
    }
    t0 = ct_monotonic();
    ct_as_completed *it;
    CHECK(ct_as_completed_new(&it, futures, N_TASKS, CT_FOREVER));
    ct_future *done;
    int rc;
    while ((rc = ct_as_completed_next(it, &done)) == 0) {
        void *result;
        CHECK(ct_future_result(done, &result, 0)); /* done: does not wait */
        const struct fetch *f = result;
        printf("  after %.2f s: fetch %d (%.2f s): %d bytes\n", ct_monotonic() - t0, f->id,
               f->seconds, f->size);
    }
    if (rc != CT_EEMPTY) /* CT_EEMPTY: every future was handed out */
        CHECK(rc);
    ct_as_completed_unref(it);
    for (int i = 0; i < N_TASKS; i++)
        ct_future_unref(futures[i]);

    /* Wait for the workers to finish and end, then free the pool. */
    CHECK(ct_executor_shutdown(pool, CT_SHUTDOWN_WAIT));
    ct_executor_unref(pool);
    printf("3. pool shut down\n");
    return 0;
}
