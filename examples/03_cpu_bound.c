/*
 * 03_cpu_bound.c - CPU-bound work runs in parallel, unlike Python.
 *
 * The work: count the primes below LIMIT by trial division. First on one
 * thread, then split over one thread per core. In CPython the global
 * interpreter lock lets only one thread run Python code at a time, so the
 * speed-up stays near 1x; cthreading threads are plain OS threads, so it
 * should approach the number of cores (less if the machine is busy).
 *
 * The numbers are dealt out in blocks of BLOCK, like cards: with n
 * threads, thread k checks blocks k, k + n, k + 2n, ... Large numbers cost
 * more to check, so giving each thread one contiguous range would leave
 * the first threads idle while the last one works; dealing small blocks
 * gives each thread a fair share. Each thread counts into its own slot, so the
 * threads share nothing while they run and need no lock; join makes
 * their results visible to main.
 */
#include <cthreading.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LIMIT 4000000
#define BLOCK 1000
#define MAX_THREADS 64

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

struct share {
    int k, n_threads; /* this is thread k of n_threads */
    long primes;      /* the result, written only by this share's thread */
};

static int count_primes(void *arg)
{
    struct share *s = arg;
    long count = 0;
    for (long block = (long)s->k * BLOCK; block < LIMIT; block += (long)s->n_threads * BLOCK)
        for (long n = block; n < block + BLOCK && n < LIMIT; n++)
            count += is_prime(n);
    s->primes = count;
    return 0;
}

int main(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : (int)cores;

    printf("1. count the primes below %d on 1 thread\n", LIMIT);
    double t0 = ct_monotonic();
    struct share all = {.k = 0, .n_threads = 1};
    count_primes(&all);
    double serial = ct_monotonic() - t0;
    printf("  found %ld primes in %.2f s\n", all.primes, serial);

    printf("2. the same work split over %d threads (%ld cores online)\n", n, cores);
    struct share shares[MAX_THREADS];
    ct_thread *threads[MAX_THREADS];
    t0 = ct_monotonic();
    for (int i = 0; i < n; i++) {
        shares[i] = (struct share){.k = i, .n_threads = n};
        int rc = ct_thread_new(&threads[i], &(ct_thread_opts){.target = count_primes, .arg = &shares[i]});
        if (rc != 0) {
            fprintf(stderr, "ct_thread_new failed: %s\n", ct_strerror(rc));
            return EXIT_FAILURE;
        }
        CHECK(ct_thread_start(threads[i]));
    }
    long total = 0;
    for (int i = 0; i < n; i++) {
        CHECK(ct_thread_join(threads[i], CT_FOREVER));
        ct_thread_unref(threads[i]);
        total += shares[i].primes;
    }
    double parallel = ct_monotonic() - t0;
    printf("  found %ld primes in %.2f s\n", total, parallel);

    printf("  same answer: %s\n", total == all.primes ? "yes" : "NO");
    printf("  speed-up: %.1fx on %d threads (Python's GIL would keep it near 1x;\n"
           "  here it approaches %d unless other programs keep the cores busy)\n",
           serial / parallel, n, n);
    return total == all.primes ? 0 : EXIT_FAILURE;
}
