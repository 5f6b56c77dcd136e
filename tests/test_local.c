/* Thread-local data: test_threading_local.py, as it applies to C. */
#include <pthread.h>
#include <stdlib.h>

#include "support.h"

/* The calling thread's value, checked to succeed. */
static void *lget(ct_local *l)
{
    void *v = &v;
    ck_assert_ct(ct_local_get(l, &v));
    return v;
}

static _Atomic int inits, destroys;

static void *make_value(void *arg)
{
    atomic_fetch_add(&inits, 1);
    int *v = malloc(sizeof *v);
    *v = (int)(long)arg;
    return v;
}

static void free_value(void *value, void *arg)
{
    (void)arg;
    atomic_fetch_add(&destroys, 1);
    free(value);
}

static ct_local *counted(void)
{
    atomic_store(&inits, 0);
    atomic_store(&destroys, 0);
    ct_local *l;
    ck_assert_ct(ct_local_new(&l, &(ct_local_opts){.init = make_value, .destroy = free_value,
                                                .arg = (void *)42L}));
    ck_assert_ptr_nonnull(l);
    return l;
}

static int set_and_check(void *arg)
{
    ct_local *l = arg;
    ck_assert_ptr_null(lget(l)); /* nothing leaks in from other threads */
    int mine;
    ck_assert_ct(ct_local_set(l, &mine));
    ck_assert_ptr_eq(lget(l), &mine);
    ck_assert_ct(ct_local_set(l, NULL));
    return 0;
}

/* A value set in one thread is invisible to the others. */
START_TEST(test_local_isolation)
{
    ct_local *l;
    ck_assert_ct(ct_local_new(&l, NULL));
    int main_value;
    ck_assert_ct(ct_local_set(l, &main_value));
    ct_thread *t[4];
    for (int i = 0; i < 4; i++) {
        ck_assert_ct(ct_thread_new(&t[i], &(ct_thread_opts){.target = set_and_check, .arg = l}));
        ck_assert_ct(ct_thread_start(t[i]));
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_ct(ct_thread_join(t[i], CT_FOREVER));
        ck_assert_int_eq(ct_thread_result(t[i]), 0);
        ct_thread_unref(t[i]);
    }
    ck_assert_ptr_eq(lget(l), &main_value);
    ct_local_unref(l);
}
END_TEST

static int use_value(void *arg)
{
    int *v = lget(arg);
    ck_assert_int_eq(*v, 42);
    ck_assert_ptr_eq(lget(arg), v); /* init runs once per thread */
    return 0;
}

/* test_threading_local.BaseLocalTest.test_derived: each thread sees its
 * own value, set up by the initialiser (a subclass's __init__ in Python),
 * which runs once in each thread that reads the local, with its
 * argument; test_local_refs: each thread's value is destroyed when the
 * thread ends. */
START_TEST(test_local_init_per_thread_and_destroy_at_end)
{
    ct_local *l = counted();
    for (int i = 0; i < 10; i++) {
        ct_thread *t;
        ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = use_value, .arg = l}));
        ck_assert_ct(ct_thread_start(t));
        ck_assert_ct(ct_thread_join(t, CT_FOREVER));
        /* join returns after the thread's values were destroyed */
        ck_assert_int_eq(atomic_load(&destroys), i + 1);
        ct_thread_unref(t);
    }
    ck_assert_int_eq(atomic_load(&inits), 10);
    ct_local_unref(l);
}
END_TEST

static void *foreign_use(void *arg)
{
    use_value(arg);
    return NULL;
}

/* Destructors run for threads not started by cthreading too. */
START_TEST(test_local_foreign_thread_destructor)
{
    ct_local *l = counted();
    pthread_t tid;
    ck_assert_int_eq(pthread_create(&tid, NULL, foreign_use, l), 0);
    pthread_join(tid, NULL);
    ck_assert_int_eq(atomic_load(&inits), 1);
    ck_assert_int_eq(atomic_load(&destroys), 1);
    ct_local_unref(l);
}
END_TEST

static ct_event hold, release_them;
static _Atomic int holding;

static int hold_value(void *arg)
{
    ck_assert_ptr_nonnull(lget(arg));
    if (atomic_fetch_add(&holding, 1) + 1 == 3)
        ct_event_set(&hold);
    return ct_event_wait(&release_them, CT_FOREVER);
}

/* test_threading_local.BaseLocalTest.test_local_refs (and _local_refs
 * after deletion): dropping the local while threads still hold values
 * destroys those values at once; the threads end cleanly afterwards. */
START_TEST(test_local_unref_while_threads_alive)
{
    ct_local *l = counted();
    ct_thread *t[3];
    for (int i = 0; i < 3; i++) {
        ck_assert_ct(ct_thread_new(&t[i], &(ct_thread_opts){.target = hold_value, .arg = l}));
        ck_assert_ct(ct_thread_start(t[i]));
    }
    ck_assert_ct(ct_event_wait(&hold, CT_FOREVER));
    ck_assert_ptr_nonnull(lget(l)); /* main's own value too */
    ct_local_unref(l);
    ck_assert_int_eq(atomic_load(&destroys), 4);
    ct_event_set(&release_them);
    for (int i = 0; i < 3; i++) {
        ck_assert_ct(ct_thread_join(t[i], CT_FOREVER));
        ct_thread_unref(t[i]);
    }
    ck_assert_int_eq(atomic_load(&destroys), 4);
}
END_TEST

/* Not limited by the OS's key count (PTHREAD_KEYS_MAX is 1024). */
START_TEST(test_local_many_locals)
{
    enum { N = 3000 };
    static ct_local *ls[N];
    for (int i = 0; i < N; i++) {
        ck_assert_ct(ct_local_new(&ls[i], NULL));
        ck_assert_ptr_nonnull(ls[i]);
        ck_assert_ct(ct_local_set(ls[i], (void *)(long)(i + 1)));
    }
    for (int i = 0; i < N; i++)
        ck_assert_ptr_eq(lget(ls[i]), (void *)(long)(i + 1));
    for (int i = 0; i < N; i++)
        ct_local_unref(ls[i]);
    /* indices are reused, without stale values */
    ct_local *l;
    ck_assert_ct(ct_local_new(&l, NULL));
    ck_assert_ptr_null(lget(l));
    ct_local_unref(l);
}
END_TEST

/* Setting a new value destroys the old one; references keep a local. */
START_TEST(test_local_set_replaces_and_refs)
{
    ct_local *l = counted();
    void *first = lget(l);
    ck_assert_ptr_nonnull(first);
    int *second = malloc(sizeof *second);
    ck_assert_ct(ct_local_set(l, second));
    ck_assert_int_eq(atomic_load(&destroys), 1);
    ck_assert_ct(ct_local_set(l, second)); /* same value: nothing destroyed */
    ck_assert_int_eq(atomic_load(&destroys), 1);
    ct_local_ref(l);
    ct_local_unref(l);
    ck_assert_int_eq(atomic_load(&destroys), 1);
    ct_local_unref(l);
    ck_assert_int_eq(atomic_load(&destroys), 2);
    ck_assert_ct_err(ct_local_new(&l, &(ct_local_opts){.flags = 8}), CT_EINVAL);
}
END_TEST

static _Atomic int null_destroys;
static void note_destroy(void *value, void *arg)
{
    (void)arg;
    if (!value)
        atomic_fetch_add(&null_destroys, 1);
}

static int get_only(void *arg)
{
    ck_assert_ptr_null(lget(arg));
    return 0;
}

/* A thread that only read a local without an initialiser has nothing to
 * destroy: destroy never sees NULL. */
START_TEST(test_local_destroy_never_gets_null)
{
    ct_local *l;
    ck_assert_ct(ct_local_new(&l, &(ct_local_opts){.destroy = note_destroy}));
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = get_only, .arg = l}));
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct(ct_thread_join(t, CT_FOREVER));
    ct_thread_unref(t);
    ck_assert_ptr_null(lget(l));
    ck_assert_ct(ct_local_set(l, NULL));
    ct_local_unref(l);
    ck_assert_int_eq(atomic_load(&null_destroys), 0);
}
END_TEST

/* ---- callbacks that wait for other threads ---- */

static ct_local *waiting_local;
static ct_event in_callback, other_done;
static _Atomic int callback_wait_rc = -1;

/* A destroy callback that waits (up to 10 s) for another thread to use
 * locals: if callbacks ran under a lock of the library, that thread
 * would block on it and this wait would time out. */
static int other_value; /* what the other thread sets: no wait for it */

static void wait_for_other(void *value, void *arg)
{
    (void)arg;
    if (value == &other_value)
        return;
    ct_event_set(&in_callback);
    int rc = ct_event_wait(&other_done, 10);
    int unset = -1;
    atomic_compare_exchange_strong(&callback_wait_rc, &unset, rc); /* the first one counts */
}

static void use_locals_meanwhile(void *arg, int i)
{
    (void)i;
    int set_waiting = arg != NULL;
    ck_assert_ct(ct_event_wait(&in_callback, CT_FOREVER));
    ct_local *l;
    ck_assert_ct(ct_local_new(&l, &(ct_local_opts){.destroy = free_value}));
    ck_assert_ct(ct_local_set(l, malloc(8)));
    void *v;
    ck_assert_ct(ct_local_get(l, &v));
    ct_local_unref(l);
    if (set_waiting)
        ck_assert_ct(ct_local_set(waiting_local, &other_value));
    ct_event_set(&other_done);
}

static int set_waiting_value(void *arg)
{
    return ct_local_set(waiting_local, arg);
}

static void *foreign_set_waiting_value(void *arg)
{
    set_waiting_value(arg);
    return NULL;
}

/* Run `trigger`, which makes a wait_for_other callback run, while another
 * thread creates, sets and drops locals (and, with set_waiting, sets the
 * local whose callback runs); the callback's wait must succeed. */
static void check_callback_may_wait(void (*trigger)(void), int set_waiting)
{
    static int value;
    ck_assert_ct(ct_local_new(&waiting_local, &(ct_local_opts){.destroy = wait_for_other}));
    ct_event_clear(&in_callback);
    ct_event_clear(&other_done);
    atomic_store(&callback_wait_rc, -1);
    bunch *b = bunch_start(use_locals_meanwhile, set_waiting ? &value : NULL, 1);
    trigger();
    bunch_join(b);
    ck_assert_ct(atomic_load(&callback_wait_rc));
    if (waiting_local)
        ct_local_unref(waiting_local);
}

static void end_a_thread(void)
{
    static int value;
    ct_thread *t;
    ck_assert_ct(ct_thread_new(&t, &(ct_thread_opts){.target = set_waiting_value, .arg = &value}));
    ck_assert_ct(ct_thread_start(t));
    ck_assert_ct(ct_thread_join(t, CT_FOREVER));
    ct_thread_unref(t);
}

static void end_a_foreign_thread(void)
{
    static int value;
    pthread_t tid;
    ck_assert_int_eq(pthread_create(&tid, NULL, foreign_set_waiting_value, &value), 0);
    ck_assert_int_eq(pthread_join(tid, NULL), 0);
}

static void replace_a_value(void)
{
    static int first, second;
    ck_assert_ct(ct_local_set(waiting_local, &first));
    ck_assert_ct(ct_local_set(waiting_local, &second)); /* destroys &first */
    ck_assert_ct(ct_local_set(waiting_local, NULL));    /* destroys &second, no wait */
}

static void drop_the_local(void)
{
    static int value;
    ck_assert_ct(ct_local_set(waiting_local, &value));
    ct_local_unref(waiting_local); /* destroys the value, then frees */
    waiting_local = NULL;
}

/* Destroy callbacks run with no lock of the library held (local.h), on
 * each path that runs them: a thread ending (started by cthreading or
 * not), a value replaced, the last unref. Before, they ran under a
 * process-wide lock and this deadlocked. No Python counterpart. */
START_TEST(test_local_destroy_callback_may_wait_for_other_threads)
{
    check_callback_may_wait(end_a_thread, 1);
    check_callback_may_wait(end_a_foreign_thread, 1);
    check_callback_may_wait(replace_a_value, 1);
    check_callback_may_wait(drop_the_local, 0);
}
END_TEST

static ct_event foreign_may_end;
static ct_local *foreign_locals[50];

static void *use_then_end(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++)
        ck_assert_ct(ct_local_set(foreign_locals[i], malloc(8)));
    ck_assert_ct(ct_event_wait(&foreign_may_end, CT_FOREVER));
    return NULL; /* its values are destroyed by the key destructor now */
}

/* test_threading_local.BaseLocalTest.test_threading_local_clear_race
 * (gh-100892): a thread not started by cthreading that used locals ends
 * while the main thread creates and drops 1000 locals. */
START_TEST(test_local_threading_local_clear_race)
{
    for (int i = 0; i < 50; i++)
        ck_assert_ct(ct_local_new(&foreign_locals[i], &(ct_local_opts){.destroy = free_value}));
    pthread_t tid;
    ck_assert_int_eq(pthread_create(&tid, NULL, use_then_end, NULL), 0);
    ct_event_set(&foreign_may_end);
    for (int i = 0; i < 1000; i++) {
        ct_local *l;
        ck_assert_ct(ct_local_new(&l, &(ct_local_opts){.destroy = free_value}));
        ck_assert_ct(ct_local_set(l, malloc(8)));
        ct_local_unref(l);
    }
    ck_assert_int_eq(pthread_join(tid, NULL), 0);
    for (int i = 0; i < 50; i++)
        ct_local_unref(foreign_locals[i]);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("local");
    CT_ADD_TEST(s, test_local_isolation, 10);
    CT_ADD_TEST(s, test_local_init_per_thread_and_destroy_at_end, 10);
    CT_ADD_TEST(s, test_local_foreign_thread_destructor, 10);
    CT_ADD_TEST(s, test_local_unref_while_threads_alive, 10);
    CT_ADD_TEST(s, test_local_many_locals, 20);
    CT_ADD_TEST(s, test_local_set_replaces_and_refs, 10);
    CT_ADD_TEST(s, test_local_destroy_never_gets_null, 10);
    CT_ADD_TEST(s, test_local_destroy_callback_may_wait_for_other_threads, 60);
    CT_ADD_TEST(s, test_local_threading_local_clear_race, 20);
    return s;
}

CT_TEST_MAIN(make_suite)
