/*
 * 10_local_and_introspection.c - thread-local data, and asking the
 * library which threads exist.
 *
 * A ct_local (Python's threading.local) is one variable with a separate
 * value in every thread: each worker stores its own "session" in it and
 * never sees another's. The destroy function frees a thread's value when
 * that thread ends, so nothing leaks.
 *
 * While the workers are alive, main lists them: active_count(),
 * enumerate(), current_thread() and main_thread().
 */
#include <cthreading.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_WORKERS 3

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

struct session {
    char user[16];
    int id;
};

static ct_local *session;   /* one value per thread */
static ct_barrier all_set;  /* workers + main: every worker has its value */
static ct_event may_finish; /* main has finished looking around */

static void free_session(void *value, void *arg)
{
    (void)arg;
    struct session *s = value;
    if (s == NULL) /* a thread that only read the local (main) has no session */
        return;
    printf("  (%s's session freed as its thread ended)\n", s->user);
    free(s);
}

static int worker(void *arg)
{
    static const char *const users[N_WORKERS] = {"alice", "bob", "carol"};
    int i = *(const int *)arg;
    struct session *s = malloc(sizeof *s);
    if (s == NULL)
        return CT_ENOMEM;
    snprintf(s->user, sizeof s->user, "%s", users[i]);
    s->id = 101 + i;
    int rc = ct_local_set(session, s);
    if (rc != 0) {
        free(s);
        return rc;
    }
    /* Wait until every worker has stored its value and main has looked. */
    if ((rc = ct_barrier_wait(&all_set, NULL, CT_FOREVER)) != 0 ||
        (rc = ct_event_wait(&may_finish, CT_FOREVER)) != 0)
        return rc;
    /* Every thread reads the same variable and finds its own value. */
    void *value;
    if ((rc = ct_local_get(session, &value)) != 0)
        return rc;
    struct session *mine = value;
    printf("  %s: my session: user %s, id %d\n", ct_thread_name(ct_current_thread()), mine->user,
           mine->id);
    return 0;
}

int main(void)
{
    int rc = ct_local_new(&session, &(ct_local_opts){.destroy = free_session});
    if (rc != 0) {
        fprintf(stderr, "ct_local_new failed: %s\n", ct_strerror(rc));
        return EXIT_FAILURE;
    }
    CHECK(ct_barrier_init(&all_set, &(ct_barrier_opts){.parties = N_WORKERS + 1}));
    CHECK(ct_event_init(&may_finish, 0));

    ct_thread *threads[N_WORKERS];
    int index[N_WORKERS];
    for (int i = 0; i < N_WORKERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "worker-%d", i + 1);
        index[i] = i;
        /* The name is copied. */
        int rc = ct_thread_new(&threads[i], &(ct_thread_opts){.target = worker, .arg = &index[i],
                                                              .name = name});
        if (rc != 0) {
            fprintf(stderr, "ct_thread_new failed: %s\n", ct_strerror(rc));
            return EXIT_FAILURE;
        }
        CHECK(ct_thread_start(threads[i]));
    }
    CHECK(ct_barrier_wait(&all_set, NULL, CT_FOREVER));

    printf("1. introspection while %d workers are alive\n", N_WORKERS);
    printf("  active_count(): %d\n", ct_active_count());
    /* enumerate fills the array with new references (drop each one) and
     * returns how many threads are alive, which may exceed the array. */
    ct_thread *list[16];
    size_t n = ct_enumerate(list, 16);
    printf("  enumerate():");
    for (size_t i = 0; i < n && i < 16; i++) {
        printf(" %s", ct_thread_name(list[i]));
        ct_thread_unref(list[i]);
    }
    printf("\n");
    ct_thread *me = ct_current_thread();
    printf("  current_thread(): %s\n", ct_thread_name(me));
    printf("  main_thread(): %s, the current thread: %s\n", ct_thread_name(ct_main_thread()),
           ct_main_thread() == me ? "yes" : "no");
    void *own;
    CHECK(ct_local_get(session, &own));
    printf("  main's own session: %s\n",
           own == NULL ? "none (the workers' values are theirs alone)" : "SET?");

    printf("2. each worker reads the same ct_local\n");
    CHECK(ct_event_set(&may_finish));
    for (int i = 0; i < N_WORKERS; i++) {
        CHECK(ct_thread_join(threads[i], CT_FOREVER));
        CHECK(ct_thread_result(threads[i]));
        ct_thread_unref(threads[i]);
    }
    printf("3. after join: active_count(): %d\n", ct_active_count());

    ct_local_unref(session);
    CHECK(ct_barrier_destroy(&all_set));
    CHECK(ct_event_destroy(&may_finish));
    return 0;
}
