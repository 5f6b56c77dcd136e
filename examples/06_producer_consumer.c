/*
 * 06_producer_consumer.c - a producer and consumers over a bounded Queue.
 *
 * The producer makes items in bursts (10 at once, then a pause); two
 * consumers take them one at a time and spend a moment on each. The
 * queue holds at most 5: when it is full, put blocks until a consumer
 * makes room, so a burst is spread out over time instead of piling up
 * without limit, and the consumers keep working through the pauses.
 *
 * Shutting down cleanly, as in Python 3.13:
 *  - every get is followed by task_done once the item is handled, so
 *    ct_queue_join returns exactly when every item put has been handled;
 *  - then ct_queue_shutdown: consumers blocked in get wake up with
 *    CT_ESHUTDOWN (once the queue is empty), which is their signal to
 *    leave. No "poison pill" items are needed.
 */
#include <cthreading.h>

#include <stdio.h>
#include <stdlib.h>

#define BURSTS 3
#define BURST_SIZE 10
#define N_ITEMS (BURSTS * BURST_SIZE)
#define QUEUE_SIZE 5
#define N_CONSUMERS 2

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

struct item {
    int id;
    int times_consumed; /* each item goes to one consumer only, so no two
                           threads ever touch the same counter */
};

static struct item items[N_ITEMS];
static ct_queue *queue;

static int producer(void *arg)
{
    (void)arg;
    int rc;
    for (int burst = 0; burst < BURSTS; burst++) {
        double t0 = ct_monotonic();
        int waited = 0;
        for (int i = 0; i < BURST_SIZE; i++) {
            struct item *it = &items[burst * BURST_SIZE + i];
            /* A plain ct_queue_put(queue, it, CT_FOREVER) is all it takes;
             * trying put_nowait first only lets us count the times the
             * queue was full (CT_EFULL) and put had to wait for room. */
            rc = ct_queue_put_nowait(queue, it);
            if (rc == CT_EFULL) {
                waited++;
                rc = ct_queue_put(queue, it, CT_FOREVER);
            }
            if (rc != 0)
                return rc;
        }
        printf("  producer: burst %d: %d items put in %.2f s, %d of them waited for room\n",
               burst + 1, BURST_SIZE, ct_monotonic() - t0, waited);
        if ((rc = ct_sleep(0.15)) != 0) /* the pause between bursts */
            return rc;
    }
    return 0;
}

struct consumer {
    int handled;
};

static int consumer(void *arg)
{
    struct consumer *me = arg;
    for (;;) {
        void *p;
        int rc = ct_queue_get(queue, &p, CT_FOREVER);
        if (rc == CT_ESHUTDOWN)
            return 0; /* shut down and empty: time to go */
        if (rc != 0)
            return rc;
        struct item *it = p;
        it->times_consumed++;
        me->handled++;
        if ((rc = ct_sleep(0.03)) != 0) /* handle the item */
            return rc;
        if ((rc = ct_queue_task_done(queue)) != 0)
            return rc;
    }
}

/* Start a named thread running fn(arg); exits on failure. */
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

int main(void)
{
    int rc = ct_queue_new(&queue, &(ct_queue_opts){.maxsize = QUEUE_SIZE});
    if (rc != 0) {
        fprintf(stderr, "ct_queue_new failed: %s\n", ct_strerror(rc));
        return EXIT_FAILURE;
    }
    for (int i = 0; i < N_ITEMS; i++)
        items[i].id = i;

    printf("1. %d bursts of %d items, %d consumers, a queue of at most %d\n", BURSTS, BURST_SIZE,
           N_CONSUMERS, QUEUE_SIZE);
    struct consumer consumers[N_CONSUMERS] = {{0}};
    ct_thread *threads[N_CONSUMERS];
    for (int i = 0; i < N_CONSUMERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "consumer-%d", i + 1);
        threads[i] = start(consumer, &consumers[i], name); /* the name is copied */
    }
    ct_thread *producer_thread = start(producer, NULL, "producer");

    /* Wait for the producer, then for every item to be handled. */
    CHECK(ct_thread_join(producer_thread, CT_FOREVER));
    CHECK(ct_thread_result(producer_thread));
    ct_thread_unref(producer_thread);
    CHECK(ct_queue_join(queue, CT_FOREVER));
    printf("2. join returned: all %d items put were marked done\n", N_ITEMS);

    CHECK(ct_queue_shutdown(queue, 0));
    printf("3. queue shut down: the consumers leave\n");
    for (int i = 0; i < N_CONSUMERS; i++) {
        CHECK(ct_thread_join(threads[i], CT_FOREVER));
        CHECK(ct_thread_result(threads[i]));
        ct_thread_unref(threads[i]);
    }
    for (int i = 0; i < N_CONSUMERS; i++)
        printf("  consumer-%d handled %d items\n", i + 1, consumers[i].handled);

    int exactly_once = 0;
    for (int i = 0; i < N_ITEMS; i++)
        exactly_once += items[i].times_consumed == 1;
    printf("%d of %d items consumed exactly once\n", exactly_once, N_ITEMS);
    ct_queue_unref(queue);
    return exactly_once == N_ITEMS ? 0 : EXIT_FAILURE;
}
