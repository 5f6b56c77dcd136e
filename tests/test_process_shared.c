/*
 * Shared memory: ports of CPython's _TestValue, _TestArray and the
 * shared_memory tests of _TestSharedMemory (_test_multiprocessing.py),
 * with both start methods; the raw shared heap; named segments attached
 * by an unrelated program; the checks against foreign segments; and the
 * process-shared Condition and Barrier rules for named segments.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "proc.h"
#include "process_support.h"

/* ---- _TestValue ---- */

#define NVALUES 5
static const char codes[NVALUES] = {'i', 'd', 'h', 'q', 'c'};

struct values {
    ct_value *v[NVALUES];
};

static void set_second(ct_value *const *v)
{
    int i = 24234;
    double d = -4.25;
    short h = 234;
    long long q = 1LL << 34;
    char c = 'y';
    ct_value_set(v[0], &i);
    ct_value_set(v[1], &d);
    ct_value_set(v[2], &h);
    ct_value_set(v[3], &q);
    ct_value_set(v[4], &c);
}

static int set_values(void *arg)
{
    set_second(((struct values *)arg)->v);
    return 0;
}

static void check_values(ct_value *const *v, int which)
{
    int i;
    double d;
    short h;
    long long q;
    char c;
    ck_assert_ct(ct_value_get(v[0], &i));
    ck_assert_ct(ct_value_get(v[1], &d));
    ck_assert_ct(ct_value_get(v[2], &h));
    ck_assert_ct(ct_value_get(v[3], &q));
    ck_assert_ct(ct_value_get(v[4], &c));
    ck_assert_int_eq(i, which ? 24234 : 4343);
    ck_assert(d == (which ? -4.25 : 3.625));
    ck_assert_int_eq(h, which ? 234 : -232);
    ck_assert(q == (which ? 1LL << 34 : 1LL << 33));
    ck_assert_int_eq(c, which ? 'y' : 'x');
}

static void test_value_kind(int raw)
{
    int i = 4343;
    double d = 3.625;
    short h = -232;
    long long q = 1LL << 33;
    char c = 'x';
    const void *init[NVALUES] = {&i, &d, &h, &q, &c};
    struct values vs;
    for (int k = 0; k < NVALUES; k++) {
        ck_assert_ct(ct_value_new(&vs.v[k], &(ct_value_opts){.typecode = codes[k],
                                                               .init = init[k],
                                                               .flags = raw ? CT_SHARED_RAW : 0}));
        ck_assert_int_eq(ct_value_typecode(vs.v[k]), codes[k]);
        ck_assert((ct_value_get_lock(vs.v[k]) == NULL) == raw);
    }
    check_values(vs.v, 0);
    ct_process *p = spawn_opts(&(ct_process_opts){.target = set_values, .arg = &vs,
                                                  .arg_size = sizeof vs, .daemon = CT_DAEMON});
    expect_exit(p, 0);
    check_values(vs.v, 1);
    for (int k = 0; k < NVALUES; k++)
        ct_value_unref(vs.v[k]);
}

START_TEST(test_value)
{
    START_METHOD();
    test_value_kind(0);
}
END_TEST

START_TEST(test_rawvalue)
{
    START_METHOD();
    test_value_kind(1);
}
END_TEST

START_TEST(test_getobj_getlock)
{
    ct_value *val1, *val3, *val4, *val5;
    int five = 5;
    ck_assert_ct(ct_value_new(&val1, &(ct_value_opts){.typecode = 'i', .init = &five}));
    ct_rlock *lock1 = ct_value_get_lock(val1);
    ck_assert_ptr_nonnull(lock1);
    ck_assert_int_eq(*(int *)ct_value_ptr(val1), 5);
    ct_rlock *lock;
    ck_assert_ct(ct_shared_alloc((void **)&lock, sizeof *lock));
    ck_assert_ct(ct_rlock_init(lock, CT_PSHARED));
    ck_assert_ct(ct_value_new(&val3, &(ct_value_opts){.typecode = 'i', .init = &five,
                                                       .rlock = lock}));
    ck_assert_ptr_eq(ct_value_get_lock(val3), lock);
    ck_assert_ct(ct_value_new(&val4, &(ct_value_opts){.typecode = 'i', .flags = CT_SHARED_RAW}));
    ck_assert_ptr_null(ct_value_get_lock(val4));
    ck_assert_ct_err(ct_value_new(&val5, &(ct_value_opts){.typecode = 'i', .flags = CT_SHARED_RAW,
                                                           .rlock = lock}),
                     CT_EINVAL);
    ck_assert_ct_err(ct_value_new(&val5, &(ct_value_opts){.typecode = 'z'}), CT_EINVAL);
    ck_assert_ct_err(ct_value_new(&val5, &(ct_value_opts){.typecode = 'i', .size = 4}),
                     CT_EINVAL);
    ck_assert_ct_err(ct_value_new(&val5, NULL), CT_EINVAL);
    /* A struct of the caller's as the element. */
    struct point {
        double x, y;
    } pt = {1.5, -2};
    ck_assert_ct(ct_value_new(&val5, &(ct_value_opts){.size = sizeof pt, .init = &pt}));
    ck_assert_int_eq(ct_value_size(val5), sizeof pt);
    struct point back;
    ck_assert_ct(ct_value_get(val5, &back));
    ck_assert(back.x == 1.5 && back.y == -2);
    ct_value_unref(val1);
    ct_value_unref(val3);
    ct_value_unref(val4);
    ct_value_unref(val5);
    ck_assert_ct(ct_shared_free(lock));
}
END_TEST

/* Four processes add to one Value under its lock (Python's idiom,
 * `with v.get_lock(): v.value += 1`). */
static int add_many(void *arg)
{
    ct_value *v = *(ct_value **)arg;
    for (int i = 0; i < 1000; i++)
        CT_WITH_RLOCK(ct_value_get_lock(v)) (*(long *)ct_value_ptr(v))++;
    return 0;
}

START_TEST(test_value_lock_across_processes)
{
    START_METHOD();
    ct_value *v;
    ck_assert_ct(ct_value_new(&v, &(ct_value_opts){.typecode = 'l'}));
    ct_process *p[4];
    for (int i = 0; i < 4; i++)
        p[i] = spawn(add_many, &v, sizeof v);
    for (int i = 0; i < 4; i++)
        expect_exit(p[i], 0);
    long n;
    ck_assert_ct(ct_value_get(v, &n));
    ck_assert_int_eq(n, 4000);
    ct_value_unref(v);
}
END_TEST

/* ---- _TestArray ---- */

static const int seq0[10] = {680, 626, 934, 821, 150, 233, 548, 982, 714, 831};

static void running_sum(int *seq, size_t n)
{
    for (size_t i = 1; i < n; i++)
        seq[i] += seq[i - 1];
}

static int f_array(void *arg)
{
    ct_array *a = *(ct_array **)arg;
    size_t n = ct_array_length(a);
    for (size_t i = 1; i < n; i++) {
        int prev, cur;
        if (ct_array_get(a, i - 1, &prev) || ct_array_get(a, i, &cur))
            return 1;
        cur += prev;
        if (ct_array_set(a, i, &cur))
            return 1;
    }
    return 0;
}

static void test_array_kind(int raw)
{
    int seq[10];
    memcpy(seq, seq0, sizeof seq);
    ct_array *a;
    ck_assert_ct(ct_array_new(&a, &(ct_array_opts){.typecode = 'i', .length = 10, .init = seq,
                                                    .flags = raw ? CT_SHARED_RAW : 0}));
    ck_assert_int_eq(ct_array_length(a), 10);
    int x;
    ck_assert_ct(ct_array_get(a, 3, &x));
    ck_assert_int_eq(x, seq[3]);
    int slice[5];
    ck_assert_ct(ct_array_read(a, 2, 5, slice));
    ck_assert_mem_eq(slice, seq + 2, sizeof slice);
    static const int four[4] = {1, 2, 3, 4};
    ck_assert_ct(ct_array_write(a, 4, 4, four));
    memcpy(seq + 4, four, sizeof four);
    int all[10];
    ck_assert_ct(ct_array_read(a, 0, 10, all));
    ck_assert_mem_eq(all, seq, sizeof all);
    ck_assert_ct_err(ct_array_get(a, 10, &x), CT_EINVAL);
    ck_assert_ct_err(ct_array_read(a, 8, 3, all), CT_EINVAL);
    running_sum(seq, 10);
    expect_exit(spawn_opts(&(ct_process_opts){.target = f_array, .arg = &a, .arg_size = sizeof a,
                                              .daemon = CT_DAEMON}),
                0);
    ck_assert_ct(ct_array_read(a, 0, 10, all));
    ck_assert_mem_eq(all, seq, sizeof all);
    ct_array_unref(a);
}

START_TEST(test_array)
{
    START_METHOD();
    test_array_kind(0);
}
END_TEST

START_TEST(test_rawarray)
{
    START_METHOD();
    test_array_kind(1);
}
END_TEST

START_TEST(test_array_from_size)
{
    for (int round = 0; round < 3; round++) {
        ct_array *a;
        ck_assert_ct(ct_array_new(&a, &(ct_array_opts){.typecode = 'i', .length = 10}));
        ck_assert_int_eq(ct_array_length(a), 10);
        int all[10], zeros[10] = {0}, range[10];
        ck_assert_ct(ct_array_read(a, 0, 10, all));
        ck_assert_mem_eq(all, zeros, sizeof all);
        for (int i = 0; i < 10; i++)
            range[i] = i + 1;
        ck_assert_ct(ct_array_write(a, 0, 10, range));
        ck_assert_ct(ct_array_read(a, 0, 10, all));
        ck_assert_mem_eq(all, range, sizeof all);
        ct_array_unref(a); /* the next round may get the same block: zeroed again */
    }
}
END_TEST

START_TEST(test_getobj_getlock_obj)
{
    ct_array *a1, *a4;
    ck_assert_ct(ct_array_new(&a1, &(ct_array_opts){.typecode = 'i', .length = 10}));
    ck_assert_ptr_nonnull(ct_array_get_lock(a1));
    ck_assert_ptr_nonnull(ct_array_ptr(a1));
    ck_assert_int_eq(ct_array_itemsize(a1), sizeof(int));
    ck_assert_ct(ct_array_new(&a4, &(ct_array_opts){.typecode = 'i', .length = 10,
                                                     .flags = CT_SHARED_RAW}));
    ck_assert_ptr_null(ct_array_get_lock(a4));
    ck_assert_ct_err(ct_array_new(&a4, &(ct_array_opts){.typecode = 'i'}), CT_EINVAL);
    ct_array_unref(a1);
    ct_array_unref(a4);
}
END_TEST

/* ---- the raw shared heap ---- */

struct big {
    ct_event done;
    char bytes[300000]; /* a segment of its own */
};

static int fill_big(void *arg)
{
    struct big *b = *(struct big **)arg;
    for (size_t i = 0; i < sizeof b->bytes; i++)
        b->bytes[i] = (char)(i % 251);
    ct_event_set(&b->done);
    return 0;
}

START_TEST(test_shared_alloc)
{
    START_METHOD();
    void *small[64];
    for (int i = 0; i < 64; i++) {
        ck_assert_ct(ct_shared_alloc(&small[i], (size_t)(i + 1) * 40));
        ck_assert_uint_eq((uintptr_t)small[i] % 64, 0);
        memset(small[i], 0xab, (size_t)(i + 1) * 40);
    }
    for (int i = 0; i < 64; i += 2)
        ck_assert_ct(ct_shared_free(small[i]));
    ck_assert_ct_err(ct_shared_free(small[0]), CT_EINVAL); /* twice */
    int local;
    ck_assert_ct_err(ct_shared_free(&local), CT_EINVAL);
    ck_assert_ct_err(ct_shared_free((char *)small[1] + 8), CT_EINVAL);
    ck_assert_ct_err(ct_shared_alloc(&small[0], 0), CT_EINVAL);
    for (int i = 0; i < 64; i += 2) {
        /* Reused space comes back zeroed. */
        ck_assert_ct(ct_shared_alloc(&small[i], (size_t)(i + 1) * 40));
        for (int k = 0; k < (i + 1) * 40; k++)
            ck_assert_int_eq(((unsigned char *)small[i])[k], 0);
    }
    for (int i = 0; i < 64; i++)
        ck_assert_ct(ct_shared_free(small[i]));
    /* Allocated after the forkserver started: a child maps it anyway. */
    struct big *b = shared(sizeof *b);
    ck_assert_ct(ct_event_init(&b->done, CT_PSHARED));
    expect_exit(spawn(fill_big, &b, sizeof b), 0);
    ck_assert(ct_event_is_set(&b->done));
    for (size_t i = 0; i < sizeof b->bytes; i += 997)
        ck_assert_int_eq(b->bytes[i], (char)(i % 251));
    ck_assert_ct(ct_shared_free(b));
}
END_TEST

/* A child's free of its parent's block does nothing: the block stays the
 * parent's (Python's heap also starts afresh in a child). */
static int child_frees(void *arg)
{
    ct_value *v = *(ct_value **)arg;
    ct_value_unref(v);
    void *mine;
    if (ct_shared_alloc(&mine, 64) != 0)
        return 1;
    return ct_shared_free(mine) == 0 ? 0 : 2;
}

START_TEST(test_shared_free_in_child)
{
    START_METHOD();
    ct_value *v;
    int seven = 7;
    ck_assert_ct(ct_value_new(&v, &(ct_value_opts){.typecode = 'i', .init = &seven}));
    expect_exit(spawn(child_frees, &v, sizeof v), 0);
    int x;
    ck_assert_ct(ct_value_get(v, &x));
    ck_assert_int_eq(x, 7);
    ct_value_unref(v);
}
END_TEST

/* ---- shared_memory ---- */

static char *unique_name(char *buf, size_t n)
{
    snprintf(buf, n, "ct_test_%d_%llx", getpid(), (unsigned long long)ct__random64());
    return buf;
}

START_TEST(test_shared_memory_basics)
{
    char name[64];
    unique_name(name, sizeof name);
    ct_shared_memory *sms;
    ck_assert_ct(ct_shared_memory_new(&sms, &(ct_shared_memory_opts){.flags = CT_SHM_CREATE,
                                                                      .name = name,
                                                                      .size = 512}));
    ck_assert_str_eq(ct_shared_memory_name(sms), name);
    ck_assert_uint_eq(ct_shared_memory_size(sms), 512);
    unsigned char *buf = ct_shared_memory_buf(sms);
    ck_assert_uint_eq((uintptr_t)buf % 64, 0);
    buf[0] = 'a';
    buf[511] = 'z';
    /* Owner only, created exclusively. */
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    struct stat st;
    if (stat(path, &st) == 0)
        ck_assert_int_eq(st.st_mode & 0777, 0600);
    ct_shared_memory *dup;
    ck_assert_ct_err(ct_shared_memory_new(&dup, &(ct_shared_memory_opts){.flags = CT_SHM_CREATE,
                                                                          .name = name,
                                                                          .size = 512}),
                     CT_EEXIST);
    /* Attach by name (with or without the slash): another mapping of the
     * same bytes. */
    char slashed[80];
    snprintf(slashed, sizeof slashed, "/%s", name);
    ct_shared_memory *also;
    ck_assert_ct(ct_shared_memory_new(&also, &(ct_shared_memory_opts){.name = slashed}));
    unsigned char *buf2 = ct_shared_memory_buf(also);
    ck_assert_ptr_ne(buf2, buf);
    ck_assert_uint_eq(ct_shared_memory_size(also), 512);
    ck_assert_int_eq(buf2[0], 'a');
    ck_assert_int_eq(buf2[511], 'z');
    buf2[1] = 'b';
    ck_assert_int_eq(buf[1], 'b');
    ct_shared_memory *big;
    ck_assert_ct_err(ct_shared_memory_new(&big, &(ct_shared_memory_opts){.name = name,
                                                                          .size = 4096}),
                     CT_EINVAL);
    ck_assert_ct(ct_shared_memory_close(also));
    ck_assert_ptr_null(ct_shared_memory_buf(also));
    ck_assert_ct(ct_shared_memory_close(also));
    ct_shared_memory_unref(also);
    ck_assert_ct(ct_shared_memory_unlink(sms));
    ck_assert_ct_err(ct_shared_memory_unlink(sms), CT_ENOENT);
    ck_assert_ct_err(ct_shared_memory_new(&also, &(ct_shared_memory_opts){.name = name}),
                     CT_ENOENT);
    ck_assert_int_eq(buf[0], 'a'); /* still mapped here */
    ct_shared_memory_unref(sms);

    ck_assert_ct_err(ct_shared_memory_new(&also, &(ct_shared_memory_opts){.flags = CT_SHM_CREATE,
                                                                           .name = name}),
                     CT_EINVAL); /* size 0 */
    ck_assert_ct_err(ct_shared_memory_new(&also, &(ct_shared_memory_opts){.name = "a/b"}),
                     CT_EINVAL);
    ck_assert_ct_err(ct_shared_memory_new(&also, &(ct_shared_memory_opts){.name = ""}),
                     CT_EINVAL);
    ck_assert_ct_err(ct_shared_memory_new(&also, NULL), CT_EINVAL);
    /* The mode asked for, not the umask's. */
    unique_name(name, sizeof name);
    ck_assert_ct(ct_shared_memory_new(&sms, &(ct_shared_memory_opts){.flags = CT_SHM_CREATE,
                                                                      .name = name, .size = 64,
                                                                      .mode = 0640}));
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    if (stat(path, &st) == 0)
        ck_assert_int_eq(st.st_mode & 0777, 0640);
    ct_shared_memory_unlink(sms);
    ct_shared_memory_unref(sms);
}
END_TEST

/* test_shared_memory_recreate: new random names never collide with a
 * segment that exists. */
START_TEST(test_shared_memory_recreate)
{
    ct_shared_memory *a, *b;
    ck_assert_ct(ct_shared_memory_new(&a, &(ct_shared_memory_opts){.flags = CT_SHM_CREATE,
                                                                    .size = 100}));
    ck_assert_ct(ct_shared_memory_new(&b, &(ct_shared_memory_opts){.flags = CT_SHM_CREATE,
                                                                    .size = 100}));
    ck_assert_str_ne(ct_shared_memory_name(a), ct_shared_memory_name(b));
    ck_assert_int_eq(strncmp(ct_shared_memory_name(a), "ct_", 3), 0);
    ct_shared_memory_unlink(a);
    ct_shared_memory_unlink(b);
    ct_shared_memory_unref(a);
    ct_shared_memory_unref(b);
}
END_TEST

/* A foreign, stale or half-made segment is refused, never trusted. */
static void make_raw(const char *name, const void *bytes, size_t n, off_t size)
{
    char path[80];
    snprintf(path, sizeof path, "/%s", name);
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    if (n)
        ck_assert_int_eq(write(fd, bytes, n), (ssize_t)n);
    close(fd);
}

START_TEST(test_shared_memory_foreign_segment)
{
    char name[64];
    ct_shared_memory *m;
    /* Empty, as if its creator had not sized it yet. */
    make_raw(unique_name(name, sizeof name), NULL, 0, 0);
    ck_assert_ct_err(ct_shared_memory_new(&m, &(ct_shared_memory_opts){.name = name}),
                     CT_EFORMAT);
    shm_unlink(name);
    /* Somebody else's data. */
    char junk[256];
    memset(junk, 'x', sizeof junk);
    make_raw(unique_name(name, sizeof name), junk, sizeof junk, 4096);
    ck_assert_ct_err(ct_shared_memory_new(&m, &(ct_shared_memory_opts){.name = name}),
                     CT_EFORMAT);
    shm_unlink(name);
    /* Ours, but of another layout version. */
    struct ct__seg_header h = {.magic = CT__SEG_MAGIC, .version = CT__SEG_VERSION + 1,
                               .header_size = CT__SEG_HEADER, .size = 64,
                               .kind = CT__SEG_NAMED};
    atomic_init(&h.ready, 1);
    make_raw(unique_name(name, sizeof name), &h, sizeof h, 4096);
    ck_assert_ct_err(ct_shared_memory_new(&m, &(ct_shared_memory_opts){.name = name}),
                     CT_EFORMAT);
    shm_unlink(name);
    /* Right version, but the header claims more than the segment holds. */
    h.version = CT__SEG_VERSION;
    h.size = 1 << 20;
    make_raw(unique_name(name, sizeof name), &h, sizeof h, 4096);
    ck_assert_ct_err(ct_shared_memory_new(&m, &(ct_shared_memory_opts){.name = name}),
                     CT_EFORMAT);
    shm_unlink(name);
    /* Not finished by its creator. */
    h.size = 64;
    atomic_init(&h.ready, 0);
    make_raw(unique_name(name, sizeof name), &h, sizeof h, 4096);
    ck_assert_ct_err(ct_shared_memory_new(&m, &(ct_shared_memory_opts){.name = name}),
                     CT_EFORMAT);
    shm_unlink(name);
}
END_TEST

/* test_shared_memory_across_processes: a child attaches by name. */
struct named {
    char name[64];
};

static int attach_and_write(void *arg)
{
    struct named *n = arg;
    ct_shared_memory *m;
    if (ct_shared_memory_new(&m, &(ct_shared_memory_opts){.name = n->name}) != 0)
        return 1;
    memcpy(ct_shared_memory_buf(m), "howdy", 5);
    ct_shared_memory_unref(m);
    return 0;
}

START_TEST(test_shared_memory_across_processes)
{
    START_METHOD();
    struct named n;
    unique_name(n.name, sizeof n.name);
    ct_shared_memory *m;
    ck_assert_ct(ct_shared_memory_new(&m, &(ct_shared_memory_opts){.flags = CT_SHM_CREATE,
                                                                    .name = n.name, .size = 8}));
    expect_exit(spawn(attach_and_write, &n, sizeof n), 0);
    ck_assert_mem_eq(ct_shared_memory_buf(m), "howdy", 5);
    ct_shared_memory_unlink(m);
    ct_shared_memory_unref(m);
}
END_TEST

/* An unrelated program (tests/progs/shm_attach, exec'd) attaches by name,
 * at an address of its own, and waits on a Condition whose Lock lives in
 * the segment too: the condition finds it by offset. */
struct rendezvous {
    ct_lock lock;
    ct_condition cond;
    int state;
};

START_TEST(test_shared_memory_unrelated_process)
{
    default_signals();
    char name[64];
    unique_name(name, sizeof name);
    ct_shared_memory *m;
    ck_assert_ct(ct_shared_memory_new(&m, &(ct_shared_memory_opts){.flags = CT_SHM_CREATE,
                                                                    .name = name,
                                                                    .size = sizeof(struct rendezvous)}));
    struct rendezvous *r = ct_shared_memory_buf(m);
    ck_assert_ct(ct_lock_init(&r->lock, CT_PSHARED));
    ck_assert_ct(ct_condition_init(&r->cond, &(ct_condition_opts){.flags = CT_PSHARED,
                                                                   .lock = &r->lock}));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        die_with_parent();
        execl(CT_BUILD_DIR "/progs/shm_attach", "shm_attach", name, (char *)NULL);
        _exit(127);
    }
    /* Wait for the program to wait, then wake it. */
    ck_assert_ct(ct_condition_acquire(&r->cond, 30));
    int rc = 0;
    while (r->state != 1 && rc == 0)
        rc = ct_condition_wait(&r->cond, 30);
    ck_assert_ct(rc);
    r->state = 2;
    ck_assert_ct(ct_condition_notify_all(&r->cond));
    while (r->state != 3 && rc == 0)
        rc = ct_condition_wait(&r->cond, 30);
    ck_assert_ct(rc);
    ck_assert_ct(ct_condition_release(&r->cond));
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "shm_attach status %d", status);
    ct_shared_memory_unlink(m);
    ct_shared_memory_unref(m);
}
END_TEST

/* A Barrier action is a function pointer: refused in a named segment. */
static int action(void *arg)
{
    (void)arg;
    return 0;
}

START_TEST(test_barrier_action_refused_in_named_segment)
{
    ct_shared_memory *m;
    ck_assert_ct(ct_shared_memory_new(&m, &(ct_shared_memory_opts){.flags = CT_SHM_CREATE,
                                                                    .size = 4096}));
    ct_barrier *b = ct_shared_memory_buf(m);
    ck_assert_ct_err(ct_barrier_init(b, &(ct_barrier_opts){.flags = CT_PSHARED, .parties = 2,
                                                            .action = action}),
                     CT_EINVAL);
    ck_assert_ct(ct_barrier_init(b, &(ct_barrier_opts){.flags = CT_PSHARED, .parties = 2}));
    /* Anonymous shared memory maps only in forked children: allowed. */
    ct_barrier *anon = shared(sizeof *anon);
    ck_assert_ct(ct_barrier_init(anon, &(ct_barrier_opts){.flags = CT_PSHARED, .parties = 2,
                                                           .action = action}));
    ck_assert_ct(ct_shared_free(anon));
    ct_shared_memory_unlink(m);
    ct_shared_memory_unref(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("process_shared");
    CT_ADD_TEST_METHODS(s, test_value, 30);
    CT_ADD_TEST_METHODS(s, test_rawvalue, 30);
    CT_ADD_TEST(s, test_getobj_getlock, 30);
    CT_ADD_TEST_METHODS(s, test_value_lock_across_processes, 30);
    CT_ADD_TEST_METHODS(s, test_array, 30);
    CT_ADD_TEST_METHODS(s, test_rawarray, 30);
    CT_ADD_TEST(s, test_array_from_size, 30);
    CT_ADD_TEST(s, test_getobj_getlock_obj, 30);
    CT_ADD_TEST_METHODS(s, test_shared_alloc, 30);
    CT_ADD_TEST_METHODS(s, test_shared_free_in_child, 30);
    CT_ADD_TEST(s, test_shared_memory_basics, 30);
    CT_ADD_TEST(s, test_shared_memory_recreate, 30);
    CT_ADD_TEST(s, test_shared_memory_foreign_segment, 30);
    CT_ADD_TEST_METHODS(s, test_shared_memory_across_processes, 30);
    CT_ADD_TEST(s, test_shared_memory_unrelated_process, 30);
    CT_ADD_TEST(s, test_barrier_action_refused_in_named_segment, 30);
    return s;
}

CT_TEST_MAIN(make_suite)
