/*
 * procbench - one measurement of one process scenario for one
 * implementation, with ctbench's protocol:
 *
 *     procbench SCENARIO IMPL     print one JSON line with the measurement
 *     procbench --list            print "SCENARIO IMPL" for every row
 *
 * The JSON line has ctbench's fields (scenario, impl, unit, better,
 * value, cpu, n). Each measurement calibrates its operation count
 * (doubling until a run takes a few tens of milliseconds, which doubles
 * as warm-up), then times one run of about TARGET_SECONDS. cpu is the CPU
 * time of this process and of its children that ended during the run,
 * over wall time. The CPython rows (multiprocessing) come from
 * bench/procpeers.py, with the same protocol.
 *
 * Scenarios:
 *   process_start_join  start a process that does nothing and join it (us)
 *                       cthreading: ct_process, fork start method
 *                       cthreading_forkserver: ct_process, forkserver
 *                       fork_waitpid: fork() + _exit + waitpid()
 *   pqueue_2proc        8-byte messages from one process to another
 *                       (Mitems/s): cthreading: ct_process_queue of 1024;
 *                       pipe: one write() and one read() per message
 *   procpool_tasks      tiny tasks through a process pool of 2 workers,
 *                       submitted at once, then all waited for (us per
 *                       task): cthreading: ct_process_pool
 *
 * Exit status: 0 measured, 2 bad usage.
 */
#include <cthreading.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TARGET_SECONDS 0.25
#define CALIBRATE_SECONDS 0.03

#define MUST(cond)                                                                     \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "procbench: %s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                            \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static double clock_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall(void)
{
    return clock_of(CLOCK_MONOTONIC);
}

/* This process's CPU time plus that of its children that were waited for. */
static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return clock_of(CLOCK_PROCESS_CPUTIME_ID) + (double)ru.ru_utime.tv_sec +
           (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

/* ---- process_start_join ---- */

static int nothing(void *arg)
{
    (void)arg;
    return 0;
}

static double ct_start_join(long n)
{
    double t0 = wall();
    for (long i = 0; i < n; i++) {
        ct_process *p;
        MUST(ct_process_new(&p, &(ct_process_opts){.target = nothing}) == 0);
        MUST(ct_process_start(p) == 0);
        MUST(ct_process_join(p, CT_FOREVER) == 0);
        MUST(ct_process_exitcode(p) == 0);
        ct_process_unref(p);
    }
    return wall() - t0;
}

static double ct_forkserver_start_join(long n)
{
    return ct_start_join(n); /* main() switched the start method */
}

static double fork_waitpid(long n)
{
    double t0 = wall();
    for (long i = 0; i < n; i++) {
        fflush(NULL);
        pid_t pid = fork();
        MUST(pid >= 0);
        if (pid == 0)
            _exit(0);
        int status;
        MUST(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    }
    return wall() - t0;
}

/* ---- pqueue_2proc ---- */

struct feed {
    ct_process_queue *q;
    long n;
    int fd;
};

static int ct_consumer(void *arg)
{
    struct feed *f = arg;
    long sum = 0;
    for (long i = 0; i < f->n; i++) {
        long v;
        size_t size;
        if (ct_process_queue_get(f->q, &v, sizeof v, &size, CT_FOREVER) != 0)
            return 1;
        sum += v;
    }
    return sum == f->n * (f->n - 1) / 2 ? 0 : 2;
}

static double ct_pqueue(long n)
{
    struct feed f = {.n = n};
    MUST(ct_process_queue_new(&f.q, &(ct_process_queue_opts){.maxsize = 1024,
                                                              .msgsize = sizeof(long)}) == 0);
    ct_process *p;
    MUST(ct_process_new(&p, &(ct_process_opts){.target = ct_consumer, .arg = &f,
                                               .arg_size = sizeof f}) == 0);
    MUST(ct_process_start(p) == 0);
    double t0 = wall();
    for (long i = 0; i < n; i++)
        MUST(ct_process_queue_put(f.q, &i, sizeof i, CT_FOREVER) == 0);
    MUST(ct_process_join(p, CT_FOREVER) == 0);
    double t = wall() - t0;
    MUST(ct_process_exitcode(p) == 0);
    ct_process_unref(p);
    ct_process_queue_unref(f.q);
    return t;
}

static double pipe_pqueue(long n)
{
    int fds[2];
    MUST(pipe(fds) == 0);
    pid_t pid = fork();
    MUST(pid >= 0);
    if (pid == 0) {
        close(fds[1]);
        long sum = 0, v;
        for (long i = 0; i < n; i++) {
            if (read(fds[0], &v, sizeof v) != (ssize_t)sizeof v)
                _exit(1);
            sum += v;
        }
        _exit(sum == n * (n - 1) / 2 ? 0 : 2);
    }
    close(fds[0]);
    double t0 = wall();
    for (long i = 0; i < n; i++)
        MUST(write(fds[1], &i, sizeof i) == (ssize_t)sizeof i);
    int status;
    MUST(waitpid(pid, &status, 0) == pid);
    double t = wall() - t0;
    MUST(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fds[1]);
    return t;
}

/* ---- procpool_tasks ---- */

static int tiny(const void *arg, size_t size, ct_bytes *res)
{
    (void)res;
    return size == sizeof(long) && *(const long *)arg >= 0 ? 0 : 1;
}

static ct_process_pool *pool;

static double ct_pool_tasks(long n)
{
    ct_future **fs = malloc((size_t)n * sizeof *fs);
    MUST(fs);
    double t0 = wall();
    for (long i = 0; i < n; i++)
        MUST(ct_process_pool_submit(pool, tiny, &i, sizeof i, &fs[i]) == 0);
    for (long i = 0; i < n; i++) {
        MUST(ct_future_result(fs[i], NULL, CT_FOREVER) == 0);
        ct_future_unref(fs[i]);
    }
    double t = wall() - t0;
    free(fs);
    return t;
}

/* ---- table and driver ---- */

enum unit { US_PER_OP, MITEMS_PER_S };
static const char *const unit_name[] = {"us", "Mitems/s"};

typedef struct row {
    const char *scenario, *impl;
    enum unit unit;
    double (*run)(long n);
} row;

static const row rows[] = {
    {"process_start_join", "cthreading", US_PER_OP, ct_start_join},
    {"process_start_join", "cthreading_forkserver", US_PER_OP, ct_forkserver_start_join},
    {"process_start_join", "fork_waitpid", US_PER_OP, fork_waitpid},
    {"pqueue_2proc", "cthreading", MITEMS_PER_S, ct_pqueue},
    {"pqueue_2proc", "pipe", MITEMS_PER_S, pipe_pqueue},
    {"procpool_tasks", "cthreading", US_PER_OP, ct_pool_tasks},
};
#define NROWS (sizeof rows / sizeof rows[0])

static void measure(const row *r)
{
    long n = 4;
    double t;
    while ((t = r->run(n)) < CALIBRATE_SECONDS)
        n *= t < CALIBRATE_SECONDS / 16 ? 8 : 2;
    n = (long)((double)n * TARGET_SECONDS / t) + 1;
    double c0 = cpu(), w0 = wall();
    t = r->run(n);
    double cpu_ratio = (cpu() - c0) / (wall() - w0);
    double value = r->unit == US_PER_OP ? t / (double)n * 1e6 : (double)n / t / 1e6;
    printf("{\"scenario\": \"%s\", \"impl\": \"%s\", \"unit\": \"%s\", "
           "\"better\": \"%s\", \"value\": %.6g, \"cpu\": %.3f, \"n\": %ld}\n",
           r->scenario, r->impl, unit_name[r->unit],
           r->unit == MITEMS_PER_S ? "higher" : "lower", value, cpu_ratio, n);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NROWS; i++)
            printf("%s %s\n", rows[i].scenario, rows[i].impl);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: procbench SCENARIO IMPL | procbench --list\n");
        return 2;
    }
    for (size_t i = 0; i < NROWS; i++) {
        if (strcmp(rows[i].scenario, argv[1]) || strcmp(rows[i].impl, argv[2]))
            continue;
        /* The forkserver must start while this program has one thread. */
        if (strcmp(argv[2], "cthreading_forkserver") == 0)
            MUST(ct_set_start_method(CT_START_FORKSERVER) == 0);
        if (strcmp(argv[1], "procpool_tasks") == 0) {
            MUST(ct_process_pool_new(&pool, &(ct_process_pool_opts){.max_workers = 2}) == 0);
            ct_future *f; /* start the workers before the clock runs */
            long zero = 0;
            for (int k = 0; k < 2; k++) {
                MUST(ct_process_pool_submit(pool, tiny, &zero, sizeof zero, &f) == 0);
                MUST(ct_future_result(f, NULL, CT_FOREVER) == 0);
                ct_future_unref(f);
            }
        }
        measure(&rows[i]);
        if (pool) {
            ct_process_pool_shutdown(pool, CT_SHUTDOWN_WAIT);
            ct_process_pool_unref(pool);
        }
        return 0;
    }
    fprintf(stderr, "procbench: no row %s %s (see procbench --list)\n", argv[1], argv[2]);
    return 2;
}
