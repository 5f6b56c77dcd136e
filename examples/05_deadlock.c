/*
 * 05_deadlock.c - a deadlock, detected with a timeout, and avoided by
 * lock ordering.
 *
 * Part 1: thread "left" takes lock A then B; thread "right" takes B then
 * A. If each gets its first lock, each waits forever for the other's: a
 * deadlock. (A barrier makes sure both hold their first lock before
 * either asks for its second, so the stall happens on every run.) Asking
 * for the second lock with a timeout turns "hang forever" into an error
 * we can handle: give back the first lock, wait a little (a different
 * time in each thread, so they do not collide again in step), retry.
 *
 * Part 2: the dining philosophers. Five philosophers sit at a round table
 * with one fork between each pair; eating needs both neighbouring forks.
 * If everyone picks up the left fork first, all can end up holding one
 * fork and waiting forever. The classic fix: number the forks and always
 * pick up the lower-numbered one first. A cycle of waits would need
 * someone to hold a higher fork while waiting for a lower one, which the
 * rule forbids, so there is no deadlock and every meal gets eaten.
 *
 * All along, cthreading's lock-order checker watches (ct_diag_set with
 * CT_DIAG_LOCK_ORDER; CT_LOCK_ORDER=1 in the environment does the same
 * for any program). It reports part 1's inversion the moment "right" asks
 * for A while holding B, before anything blocks; it stays silent in part
 * 2; and in part 3 it finds the unordered philosophers' cycle of five
 * even though they eat one at a time, so nothing ever deadlocks there.
 */
#include <cthreading.h>

#include <stdio.h>
#include <stdlib.h>

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

/* Start a thread running fn(arg) with a name; exits on failure. */
static ct_thread *start(ct_thread_fn fn, void *arg, const char *name)
{
    ct_thread *t;
    int rc = ct_thread_new(&t, &(ct_thread_opts){.target = fn, .arg = arg, .name = name});
    if (rc != 0) {
        fprintf(stderr, "ct_thread_new failed: %s\n", ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
    CHECK(ct_thread_start(t));
    return t;
}

/* Wait for a thread, check its target returned 0, drop our reference. */
static void join(ct_thread *t)
{
    CHECK(ct_thread_join(t, CT_FOREVER));
    CHECK(ct_thread_result(t));
    ct_thread_unref(t);
}

/* ---- Part 1: two locks taken in opposite orders ---- */

static ct_lock lock_a = CT_LOCK_INIT, lock_b = CT_LOCK_INIT;
static ct_barrier both_hold_first;

struct mover {
    const char *name;
    ct_lock *first, *second;
    const char *first_name, *second_name;
    double backoff; /* seconds to wait before retrying */
};

static int move(void *arg)
{
    struct mover *m = arg;
    int rc;
    for (int attempt = 1; attempt <= 20; attempt++) {
        if ((rc = ct_lock_acquire(m->first, CT_FOREVER)) != 0)
            return rc;
        if (attempt == 1 && (rc = ct_barrier_wait(&both_hold_first, NULL, CT_FOREVER)) != 0)
            return rc;
        /* Holding one lock, ask for the other, but not forever. */
        rc = ct_lock_acquire(m->second, 0.1);
        if (rc == 0) {
            printf("  %s: got %s then %s on attempt %d, working\n", m->name, m->first_name,
                   m->second_name, attempt);
            if ((rc = ct_sleep(0.01)) != 0 || (rc = ct_lock_release(m->second)) != 0 ||
                (rc = ct_lock_release(m->first)) != 0)
                return rc;
            return 0;
        }
        if (rc != CT_ETIMEDOUT)
            return rc;
        printf("  %s: holding %s, no %s after 0.1 s: stall detected, backing off\n", m->name,
               m->first_name, m->second_name);
        if ((rc = ct_lock_release(m->first)) != 0 || (rc = ct_sleep(m->backoff)) != 0)
            return rc;
    }
    printf("  %s: gave up after 20 attempts\n", m->name);
    return CT_ETIMEDOUT;
}

static void part1(void)
{
    printf("1. two threads take locks A and B in opposite orders\n");
    CHECK(ct_barrier_init(&both_hold_first, &(ct_barrier_opts){.parties = 2}));
    struct mover left = {"left", &lock_a, &lock_b, "A", "B", 0.05};
    struct mover right = {"right", &lock_b, &lock_a, "B", "A", 0.2};
    ct_thread *l = start(move, &left, "left");
    ct_thread *r = start(move, &right, "right");
    join(l);
    join(r);
    CHECK(ct_barrier_destroy(&both_hold_first));
    printf("  both threads finished: the timeout turned a deadlock into a retry\n");
}

/* ---- Part 2: dining philosophers with ordered forks ---- */

#define N_PHILOSOPHERS 5
#define MEALS 3

static ct_lock forks[N_PHILOSOPHERS];

struct philosopher {
    int seat;
    int meals;
};

static int dine(void *arg)
{
    struct philosopher *p = arg;
    int left = p->seat, right = (p->seat + 1) % N_PHILOSOPHERS;
    /* The whole fix: lower-numbered fork first. */
    int first = left < right ? left : right;
    int second = left < right ? right : left;
    int rc;
    for (int meal = 0; meal < MEALS; meal++) {
        if ((rc = ct_sleep(0.01)) != 0) /* think */
            return rc;
        CT_WITH_LOCK(&forks[first]) {
            CT_WITH_LOCK(&forks[second]) {
                rc = ct_sleep(0.02); /* eat */
                p->meals++;
            }
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void part2(void)
{
    printf("2. dining philosophers: %d threads, %d forks, lower-numbered fork first\n",
           N_PHILOSOPHERS, N_PHILOSOPHERS);
    struct philosopher ps[N_PHILOSOPHERS];
    ct_thread *threads[N_PHILOSOPHERS];
    for (int i = 0; i < N_PHILOSOPHERS; i++) {
        CHECK(ct_lock_init(&forks[i], 0));
        char name[32];
        snprintf(name, sizeof name, "fork %d", i);
        CHECK(ct_object_set_name(&forks[i], name));
    }
    for (int i = 0; i < N_PHILOSOPHERS; i++) {
        ps[i] = (struct philosopher){.seat = i};
        threads[i] = start(dine, &ps[i], NULL);
    }
    int eaten = 0;
    for (int i = 0; i < N_PHILOSOPHERS; i++) {
        join(threads[i]);
        printf("  philosopher %d ate %d of %d meals\n", i, ps[i].meals, MEALS);
        eaten += ps[i].meals;
    }
    for (int i = 0; i < N_PHILOSOPHERS; i++)
        CHECK(ct_lock_destroy(&forks[i]));
    printf("  %d of %d meals eaten, no deadlock\n", eaten, N_PHILOSOPHERS * MEALS);
}

/* ---- Part 3: the checker finds the cycle before any deadlock ---- */

static void part3(void)
{
    printf("3. unordered philosophers, one at a time: left fork, then right fork\n");
    for (int i = 0; i < N_PHILOSOPHERS; i++) {
        CHECK(ct_lock_init(&forks[i], 0)); /* a fresh start: old orders forgotten */
        char name[32];
        snprintf(name, sizeof name, "fork %d", i);
        CHECK(ct_object_set_name(&forks[i], name));
    }
    for (int seat = 0; seat < N_PHILOSOPHERS; seat++) {
        CT_WITH_LOCK(&forks[seat]) {
            CT_WITH_LOCK(&forks[(seat + 1) % N_PHILOSOPHERS]) {
                printf("  philosopher %d eats\n", seat);
            }
        }
    }
    for (int i = 0; i < N_PHILOSOPHERS; i++)
        CHECK(ct_lock_destroy(&forks[i]));
}

/* The checker's report, as it comes (addresses and stacks included). */
static void print_report(const char *report, void *arg)
{
    (void)arg;
    printf("  [lock-order checker]\n%s", report);
}

int main(void)
{
    ct_diag_set_report_hook(print_report, NULL);
    CHECK(ct_diag_set(CT_DIAG_LOCK_ORDER) < 0 ? CT_EINVAL : 0);
    CHECK(ct_object_set_name(&lock_a, "A"));
    CHECK(ct_object_set_name(&lock_b, "B"));
    part1();
    part2();
    part3();
    printf("lock-order reports: %lu\n", ct_diag_lock_order_reports());
    return 0;
}
