/* Readiness descriptors for event loops (ct_event_fd, and the same for
 * queues and futures). Python asks for this (an Event one can select()
 * on: cpython gh-84665); the names say the behaviour. */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "support.h"

/* How many events epoll reports for fd within timeout_ms. */
static int poll_once(int ep, int timeout_ms)
{
    struct epoll_event got[4];
    int n = epoll_wait(ep, got, 4, timeout_ms);
    ck_assert_int_ge(n, 0);
    return n;
}

static int watch(int fd, unsigned events)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    ck_assert_int_ge(ep, 0);
    struct epoll_event ev = {.events = events, .data.fd = fd};
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    return ep;
}

/* Level-triggered: readable exactly while the flag is set. */
START_TEST(test_event_fd_level_triggered)
{
    ct_event e;
    ck_assert_ct(ct_event_init(&e, 0));
    int fd, again;
    ck_assert_ct(ct_event_fd(&e, &fd));
    ck_assert_ct(ct_event_fd(&e, &again));
    ck_assert_int_eq(fd, again); /* one descriptor per event */
    int ep = watch(fd, EPOLLIN);
    ck_assert_int_eq(poll_once(ep, 0), 0);
    ck_assert_ct(ct_event_set(&e));
    ck_assert_int_eq(poll_once(ep, 0), 1);
    ck_assert_int_eq(poll_once(ep, 0), 1); /* level: still readable */
    ck_assert_ct(ct_event_set(&e));        /* already set: no change */
    ck_assert_ct(ct_event_clear(&e));
    ck_assert_int_eq(poll_once(ep, 0), 0);
    ck_assert_ct(ct_event_clear(&e));
    ck_assert_int_eq(poll_once(ep, 0), 0);
    close(ep);
    ck_assert_ct(ct_event_destroy(&e));
    /* The event closed its descriptor. */
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
    ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* Edge-triggered: one report per clear -> set. */
START_TEST(test_event_fd_edge_triggered)
{
    ct_event e;
    ck_assert_ct(ct_event_init(&e, 0));
    ck_assert_ct(ct_event_set(&e)); /* set before the descriptor exists */
    int fd;
    ck_assert_ct(ct_event_fd(&e, &fd));
    int ep = watch(fd, EPOLLIN | EPOLLET);
    ck_assert_int_eq(poll_once(ep, 0), 1);
    ck_assert_int_eq(poll_once(ep, 0), 0); /* no new edge */
    ck_assert_ct(ct_event_clear(&e));
    ck_assert_ct(ct_event_set(&e));
    ck_assert_int_eq(poll_once(ep, 0), 1);
    close(ep);
    ck_assert_ct(ct_event_destroy(&e));
}
END_TEST

/* A set from another thread wakes an epoll_wait at once. */
static void set_it(void *arg, int i)
{
    (void)i;
    ct_event_set(arg);
}

START_TEST(test_event_fd_wakes_epoll)
{
    ct_event e;
    ck_assert_ct(ct_event_init(&e, 0));
    int fd;
    ck_assert_ct(ct_event_fd(&e, &fd));
    int ep = watch(fd, EPOLLIN);
    bunch *b = bunch_start(set_it, &e, 1);
    ck_assert_int_eq(poll_once(ep, 10000), 1);
    ck_assert(ct_event_is_set(&e));
    bunch_join(b);
    close(ep);
    ck_assert_ct(ct_event_destroy(&e));
}
END_TEST

/* Overlapping sets and clears from several threads: whenever they stop,
 * the descriptor agrees with the flag. */
static ct_event churned;
static void churn(void *arg, int i)
{
    (void)arg;
    for (int r = 0; r < 20000; r++) {
        if ((r + i) % 2)
            ct_event_set(&churned);
        else
            ct_event_clear(&churned);
    }
}

START_TEST(test_event_fd_agrees_after_races)
{
    ck_assert_ct(ct_event_init(&churned, 0));
    int fd;
    ck_assert_ct(ct_event_fd(&churned, &fd));
    int ep = watch(fd, EPOLLIN);
    for (int round = 0; round < 5; round++) {
        bunch_join(bunch_start(churn, NULL, 3));
        ck_assert_int_eq(poll_once(ep, 0), ct_event_is_set(&churned) ? 1 : 0);
    }
    close(ep);
    ck_assert_ct(ct_event_destroy(&churned));
}
END_TEST

/* Refused for a process-shared or destroyed event. */
START_TEST(test_event_fd_refusals)
{
    ct_event e;
    int fd;
    ck_assert_ct(ct_event_init(&e, CT_PSHARED));
    ck_assert_ct_err(ct_event_fd(&e, &fd), CT_EINVAL);
    ck_assert_ct(ct_event_init(&e, 0));
    ck_assert_ct(ct_event_destroy(&e));
    ck_assert_ct_err(ct_event_fd(&e, &fd), CT_EDESTROYED);
}
END_TEST

/* A Queue's descriptor: readable exactly while a get would not wait (an
 * item is there, or the queue is shut down); level and edge. */
START_TEST(test_queue_fd)
{
    ct_queue *q;
    ck_assert_ct(ct_queue_new(&q, NULL));
    int fd, again;
    ck_assert_ct(ct_queue_fd(q, &fd));
    ck_assert_ct(ct_queue_fd(q, &again));
    ck_assert_int_eq(fd, again);
    int level = watch(fd, EPOLLIN), edge = watch(fd, EPOLLIN | EPOLLET);
    ck_assert_int_eq(poll_once(level, 0), 0);
    ck_assert_ct(ct_queue_put(q, &fd, 0));
    ck_assert_int_eq(poll_once(level, 0), 1);
    ck_assert_int_eq(poll_once(edge, 0), 1);
    ck_assert_ct(ct_queue_put(q, &again, 0));
    ck_assert_int_eq(poll_once(level, 0), 1);
    ck_assert_int_eq(poll_once(edge, 0), 0); /* still not empty: no new edge */
    void *item;
    ck_assert_ct(ct_queue_get(q, &item, 0));
    ck_assert_int_eq(poll_once(level, 0), 1);
    ck_assert_ct(ct_queue_get(q, &item, 0));
    ck_assert_int_eq(poll_once(level, 0), 0); /* empty again */
    ck_assert_ct(ct_queue_shutdown(q, 0));
    ck_assert_int_eq(poll_once(level, 0), 1); /* a get would not wait */
    ck_assert_int_eq(poll_once(edge, 0), 1);
    close(level);
    close(edge);
    ct_queue_unref(q);
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
}
END_TEST

/* Producers and consumers racing on a queue with a descriptor: whenever
 * they stop, the descriptor agrees with the queue. */
static ct_queue *raced;
static void race_queue(void *arg, int i)
{
    (void)arg;
    for (int r = 0; r < 20000; r++) {
        void *item;
        if (i % 2)
            ct_queue_put(raced, &raced, 0);
        else
            ct_queue_get(raced, &item, 0);
    }
}

START_TEST(test_queue_fd_agrees_after_races)
{
    ck_assert_ct(ct_queue_new(&raced, &(ct_queue_opts){.maxsize = 4}));
    int fd;
    ck_assert_ct(ct_queue_fd(raced, &fd));
    int ep = watch(fd, EPOLLIN);
    for (int round = 0; round < 5; round++) {
        bunch_join(bunch_start(race_queue, NULL, 4));
        ck_assert_int_eq(poll_once(ep, 0), ct_queue_empty(raced) ? 0 : 1);
    }
    close(ep);
    void *item;
    while (ct_queue_get(raced, &item, 0) == 0)
        ;
    ct_queue_unref(raced);
}
END_TEST

/* A Future's descriptor: readable once it is done, and from then on. */
static ct_future *done_later;
static void finish_future(void *arg, int i)
{
    (void)arg;
    (void)i;
    ct_future_set_result(done_later, NULL);
}

START_TEST(test_future_fd)
{
    ck_assert_ct(ct_future_new(&done_later));
    int fd;
    ck_assert_ct(ct_future_fd(done_later, &fd));
    int ep = watch(fd, EPOLLIN);
    ck_assert_int_eq(poll_once(ep, 0), 0);
    bunch *b = bunch_start(finish_future, NULL, 1);
    ck_assert_int_eq(poll_once(ep, 10000), 1);
    bunch_join(b);
    ck_assert(ct_future_done(done_later));
    ck_assert_int_eq(poll_once(ep, 0), 1);
    close(ep);
    /* A future done before the descriptor was asked for starts readable. */
    ct_future *cancelled;
    ck_assert_ct(ct_future_new(&cancelled));
    ck_assert_ct(ct_future_cancel(cancelled));
    int fd2;
    ck_assert_ct(ct_future_fd(cancelled, &fd2));
    ep = watch(fd2, EPOLLIN);
    ck_assert_int_eq(poll_once(ep, 0), 1);
    close(ep);
    ct_future_unref(cancelled);
    ct_future_unref(done_later);
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1); /* closed with the last unref */
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("fd");
    CT_ADD_TEST(s, test_event_fd_level_triggered, 10);
    CT_ADD_TEST(s, test_event_fd_edge_triggered, 10);
    CT_ADD_TEST(s, test_event_fd_wakes_epoll, 10);
    CT_ADD_TEST(s, test_event_fd_agrees_after_races, 30);
    CT_ADD_TEST(s, test_event_fd_refusals, 10);
    CT_ADD_TEST(s, test_queue_fd, 10);
    CT_ADD_TEST(s, test_queue_fd_agrees_after_races, 60);
    CT_ADD_TEST(s, test_future_fd, 10);
    return s;
}

CT_TEST_MAIN(make_suite)
