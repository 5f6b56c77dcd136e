/* Watching objects: the table of watch nodes (see watch.h). */
#include "watch.h"

#include <pthread.h>
#include <unistd.h>

#include "fork.h"
#include "park.h"

#define NBUCKETS 128

/* One lock for the table: it is taken only by threads that wait on many
 * objects and by changes of objects they watch, both slow paths. */
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;

struct bucket {
    struct ct__list nodes;
};

static struct bucket buckets[NBUCKETS];
_Atomic unsigned long ct__watch_count;

static struct bucket *bucket_of(const void *addr)
{
    uintptr_t h = (uintptr_t)addr;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return &buckets[(h >> 40) % NBUCKETS];
}

void ct__watch_add(struct ct__watch *node, const void *object, struct ct__watcher *w)
{
    node->object = object;
    node->watcher = w;
    struct bucket *b = bucket_of(object);
    pthread_mutex_lock(&mutex);
    ct__list_push_back(&b->nodes, &node->link);
    pthread_mutex_unlock(&mutex);
    /* seq_cst: counted before the watcher marks the object and looks at
     * it; the object's changer reads the count after its change. */
    atomic_fetch_add_explicit(&ct__watch_count, 1, memory_order_seq_cst);
}

void ct__watch_remove(struct ct__watch *node)
{
    struct bucket *b = bucket_of(node->object);
    pthread_mutex_lock(&mutex);
    ct__list_unlink(&b->nodes, &node->link);
    pthread_mutex_unlock(&mutex);
    atomic_fetch_sub_explicit(&ct__watch_count, 1, memory_order_relaxed);
}

void ct__watch_notify_slow(const void *object)
{
    struct bucket *b = bucket_of(object);
    pthread_mutex_lock(&mutex);
    CT__LIST_FOREACH(it, &b->nodes)
    {
        struct ct__watch *n = CT__CONTAINER_OF(it, struct ct__watch, link);
        if (n->object != object)
            continue;
        /* Under the lock, so the watcher (which unlinks under it) is
         * still there. */
        if (n->on_notify)
            n->on_notify(n);
        atomic_fetch_add_explicit(&n->watcher->seq, 1, memory_order_release);
        ct__park_wake(&n->watcher->seq, 1, 0);
        if (n->watcher->fd >= 0) {
            uint64_t one = 1;
            ssize_t w = write(n->watcher->fd, &one, sizeof one); /* non-blocking */
            (void)w;
        }
    }
    pthread_mutex_unlock(&mutex);
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&mutex);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&mutex);
}

/* Only the forking thread lives on, and it was not waiting: every node
 * belonged to a thread that is gone. */
static void fork_child(void)
{
    for (int i = 0; i < NBUCKETS; i++)
        buckets[i].nodes = (struct ct__list){0};
    atomic_store_explicit(&ct__watch_count, 0, memory_order_relaxed);
    pthread_mutex_unlock(&mutex);
}

CT__FORK_HOOKS(CT__FORK_WATCH, fork_prepare, fork_parent, fork_child)
