#include "support.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "park.h"

void ct_add_test(Suite *s, const char *name, const TTest *fn, double seconds)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, seconds);
    _tcase_add_test(tc, fn, 0, 0, 0, 1);
    suite_add_tcase(s, tc);
}

int ct_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

void ct_skip(const char *reason)
{
    printf("CT-SKIP: %s: %s\n", tcase_name(), reason);
    fflush(stdout);
}

int ct_under_tsan(void)
{
#ifdef CT_TSAN
    return 1;
#else
    return 0;
#endif
}

int ct_under_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#else
    return 0;
#endif
#else
    return 0;
#endif
}

struct bunch_thread {
    pthread_t tid;
    struct bunch *b;
    int index;
    _Atomic(struct ct__wait_record *) record;
};

struct bunch {
    void (*fn)(void *arg, int i);
    void *arg;
    int n;
    _Atomic int started, finished;
    struct bunch_thread *threads;
};

static void *bunch_main(void *p)
{
    struct bunch_thread *t = p;
    atomic_store(&t->record, ct__park_record());
    atomic_fetch_add(&t->b->started, 1);
    t->b->fn(t->b->arg, t->index);
    atomic_fetch_add(&t->b->finished, 1);
    return NULL;
}

bunch *bunch_start(void (*fn)(void *arg, int i), void *arg, int n)
{
    struct bunch *b = calloc(1, sizeof *b);
    ck_assert_ptr_nonnull(b);
    b->fn = fn;
    b->arg = arg;
    b->n = n;
    b->threads = calloc((size_t)n, sizeof *b->threads);
    ck_assert_ptr_nonnull(b->threads);
    for (int i = 0; i < n; i++) {
        b->threads[i].b = b;
        b->threads[i].index = i;
        ck_assert_int_eq(pthread_create(&b->threads[i].tid, NULL, bunch_main, &b->threads[i]), 0);
    }
    return b;
}

void bunch_wait_started(bunch *b)
{
    while (atomic_load(&b->started) < b->n)
        sched_yield();
}

void bunch_wait_parked(bunch *b, int k)
{
    bunch_wait_parked_in(b, k, NULL);
}

int bunch_parked_in(bunch *b, const char *kind)
{
    int parked = 0;
    for (int i = 0; i < b->n; i++) {
        struct ct__wait_record *r = atomic_load(&b->threads[i].record);
        if (!r || atomic_load(&r->object) == NULL)
            continue;
        const char *k2 = atomic_load(&r->kind);
        if (!kind || (k2 && strcmp(k2, kind) == 0))
            parked++;
    }
    return parked;
}

void bunch_wait_parked_in(bunch *b, int k, const char *kind)
{
    while (bunch_parked_in(b, kind) < k)
        sched_yield();
}

int bunch_finished(bunch *b)
{
    return atomic_load(&b->finished);
}

void bunch_wait_finished(bunch *b, int n)
{
    while (atomic_load(&b->finished) < n)
        sched_yield();
}

void bunch_join(bunch *b)
{
    for (int i = 0; i < b->n; i++)
        pthread_join(b->threads[i].tid, NULL);
    free(b->threads);
    free(b);
}

/* Run the program at `path`; see run_prog. */
static int run_path(const char *path, const char *arg, char *out, size_t cap)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execl(path, path, arg, (char *)NULL);
        perror(path);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    char sink[256];
    while ((r = read(fds[0], len + 1 < cap ? out + len : sink,
                     len + 1 < cap ? cap - 1 - len : sizeof sink)) > 0)
        if (len + 1 < cap)
            len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

int run_prog(const char *name, const char *arg, char *out, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/progs/%s", CT_BUILD_DIR, name);
    return run_path(path, arg, out, cap);
}

int run_example(const char *name, const char *arg, char *out, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/examples/%s", CT_BUILD_DIR, name);
    return run_path(path, arg, out, cap);
}
