/*
 * 02_io_bound.c - I/O-bound work runs in parallel.
 *
 * A "download" here is a blocking 0.5 s wait (ct_sleep stands in for a
 * network or disk call). One takes 0.5 s. Four of them, one per thread,
 * also take about 0.5 s, because a thread blocked on I/O holds nothing
 * the others need. (In Python this is the case where threads already
 * help despite the GIL.)
 */
#include <cthreading.h>

#include <stdio.h>
#include <stdlib.h>

#define N_DOWNLOADS 4
#define SECONDS 0.5

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

/* A thread target: returns 0, or the error code of the failed call (the
 * library reports a non-zero return through its excepthook, and the
 * joiner can read it with ct_thread_result). */
static int download(void *arg)
{
    int n = *(const int *)arg;
    int rc = ct_sleep(SECONDS);
    if (rc == 0)
        printf("  download %d done\n", n);
    return rc;
}

int main(void)
{
    printf("1. one download on the main thread\n");
    double t0 = ct_monotonic();
    int only = 0;
    CHECK(download(&only));
    double one = ct_monotonic() - t0;
    printf("  1 download took %.2f s\n", one);

    printf("2. %d downloads, one per thread\n", N_DOWNLOADS);
    ct_thread *threads[N_DOWNLOADS];
    int ids[N_DOWNLOADS];
    t0 = ct_monotonic();
    for (int i = 0; i < N_DOWNLOADS; i++) {
        ids[i] = i + 1;
        int rc = ct_thread_new(&threads[i], &(ct_thread_opts){.target = download, .arg = &ids[i]});
        if (rc != 0) {
            fprintf(stderr, "ct_thread_new failed: %s\n", ct_strerror(rc));
            return EXIT_FAILURE;
        }
        CHECK(ct_thread_start(threads[i]));
    }
    for (int i = 0; i < N_DOWNLOADS; i++) {
        CHECK(ct_thread_join(threads[i], CT_FOREVER));
        CHECK(ct_thread_result(threads[i])); /* the target's own return */
        ct_thread_unref(threads[i]);
    }
    double many = ct_monotonic() - t0;
    printf("  %d downloads took %.2f s (one after another: %.2f s)\n", N_DOWNLOADS, many,
           N_DOWNLOADS * one);
    return 0;
}
