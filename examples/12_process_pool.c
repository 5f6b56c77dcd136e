/*
 * 12. A process pool for CPU-bound work (Python's ProcessPoolExecutor).
 *
 * The same work as example 03, counting the primes below LIMIT, cut into
 * CHUNKS ranges that a pool of worker processes counts in parallel.
 * Python programmers reach for processes because the GIL keeps threads
 * from running Python code in parallel; in C threads would do (example
 * 03), but a pool of processes also isolates the work: a task that
 * crashes breaks the pool (every pending future fails with
 * CT_EBROKENPOOL), never the program.
 *
 * A task is a function pointer and a byte string: here the range, as a
 * struct's bytes. Its result is a byte string too: the count.
 *
 *     with ProcessPoolExecutor() as pool:
 *         counts = pool.map(count_primes, ranges)
 *     print(sum(counts))
 */
#include <cthreading.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT 3000000
#define CHUNKS 24

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

static int is_prime(long n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (long d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

struct range {
    long from, to;
};

/* Runs in a worker process. */
static int count_primes(const void *arg, size_t size, ct_bytes *result)
{
    struct range r;
    if (size != sizeof r)
        return CT_EINVAL;
    memcpy(&r, arg, sizeof r);
    long count = 0;
    for (long n = r.from; n < r.to; n++)
        count += is_prime(n);
    result->data = malloc(sizeof count);
    if (!result->data)
        return CT_ENOMEM;
    memcpy(result->data, &count, sizeof count);
    result->size = sizeof count;
    return 0;
}

int main(void)
{
    printf("1. count the primes below %d in this process\n", LIMIT);
    double t0 = ct_monotonic();
    struct range all = {0, LIMIT};
    ct_bytes one;
    CHECK(count_primes(&all, sizeof all, &one));
    long serial_count;
    memcpy(&serial_count, one.data, sizeof serial_count);
    free(one.data);
    double serial = ct_monotonic() - t0;
    printf("  found %ld primes in %.2f s\n", serial_count, serial);

    ct_process_pool *pool;
    CHECK(ct_process_pool_new(&pool, NULL)); /* max_workers: one per CPU */
    printf("2. the same work in %d ranges on a pool of %d worker processes\n", CHUNKS,
           ct_process_pool_max_workers(pool));
    struct range ranges[CHUNKS];
    ct_bytes args[CHUNKS], counts[CHUNKS];
    for (int i = 0; i < CHUNKS; i++) {
        ranges[i] = (struct range){(long)LIMIT / CHUNKS * i,
                                   i == CHUNKS - 1 ? LIMIT : (long)LIMIT / CHUNKS * (i + 1)};
        args[i] = (ct_bytes){&ranges[i], sizeof ranges[i]};
    }
    t0 = ct_monotonic();
    CHECK(ct_process_pool_map(pool, count_primes, args, CHUNKS, counts, NULL, CT_FOREVER));
    long total = 0;
    for (int i = 0; i < CHUNKS; i++) {
        long c;
        memcpy(&c, counts[i].data, sizeof c);
        total += c;
        free(counts[i].data);
    }
    double parallel = ct_monotonic() - t0;
    printf("  found %ld primes in %.2f s (workers started on demand)\n", total, parallel);
    printf("  same answer: %s\n", total == serial_count ? "yes" : "NO");
    printf("  speed-up: %.1fx\n", serial / parallel);
    CHECK(ct_process_pool_shutdown(pool, CT_SHUTDOWN_WAIT));
    printf("3. pool shut down: %d worker processes left\n", ct_process_pool_worker_count(pool));
    ct_process_pool_unref(pool);
    return total == serial_count ? 0 : EXIT_FAILURE;
}
