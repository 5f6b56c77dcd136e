/* Readiness descriptors (see readyfd.h). */
#include "readyfd.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fork.h"

struct entry {
    const void *object;
    ct__ready_fn ready;
    int fd;
    bool readable;
    struct entry *next;
};

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static struct entry *entries;
_Atomic unsigned long ct__readyfd_count;

static struct entry **find(const void *object)
{
    struct entry **at = &entries;
    while (*at && (*at)->object != object)
        at = &(*at)->next;
    return at;
}

/* Make the descriptor readable exactly when the object is ready. */
static void sync_locked(struct entry *e)
{
    bool ready = e->ready(e->object);
    if (ready == e->readable)
        return;
    uint64_t v = 1;
    ssize_t n = ready ? write(e->fd, &v, sizeof v) : read(e->fd, &v, sizeof v);
    if (n != (ssize_t)sizeof v && !(n < 0 && errno == EAGAIN))
        ct__die(ready ? "write(eventfd)" : "read(eventfd)", errno);
    e->readable = ready;
}

int ct__readyfd_get(const void *object, ct__ready_fn ready, int *fd)
{
    int rc = 0;
    pthread_mutex_lock(&mutex);
    struct entry **at = find(object);
    if (!*at) {
        struct entry *e = calloc(1, sizeof *e);
        int efd = e ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
        if (!e || efd < 0) {
            rc = e ? CT_ENORES : CT_ENOMEM;
            free(e);
            goto out;
        }
        *e = (struct entry){.object = object, .ready = ready, .fd = efd};
        *at = e;
        atomic_fetch_add_explicit(&ct__readyfd_count, 1, memory_order_relaxed);
        sync_locked(e);
    }
    *fd = (*at)->fd;
out:
    pthread_mutex_unlock(&mutex);
    return rc;
}

void ct__readyfd_sync(const void *object)
{
    pthread_mutex_lock(&mutex);
    struct entry *e = *find(object);
    if (e)
        sync_locked(e);
    pthread_mutex_unlock(&mutex);
}

void ct__readyfd_close(const void *object)
{
    if (!atomic_load_explicit(&ct__readyfd_count, memory_order_relaxed))
        return;
    pthread_mutex_lock(&mutex);
    struct entry **at = find(object);
    struct entry *e = *at;
    if (e) {
        *at = e->next;
        close(e->fd);
        free(e);
        atomic_fetch_sub_explicit(&ct__readyfd_count, 1, memory_order_relaxed);
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

static void fork_child(void)
{
    pthread_mutex_unlock(&mutex); /* taken by this thread in prepare */
}

CT__FORK_HOOKS(CT__FORK_WATCH, fork_prepare, fork_parent, fork_child)
