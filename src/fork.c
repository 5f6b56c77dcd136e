/* Fork hooks: one pthread_atfork registration that runs every layer's
 * hooks in level order (see fork.h). */
#include "fork.h"

#include <pthread.h>
#include <stdatomic.h>

static pthread_mutex_t hooks_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct ct__fork_hooks *hooks; /* ascending level */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Atomic unsigned generation;

/* Prepare runs from the highest level down: walk the list into a small
 * array, as it is singly linked. Levels are few. */
#define MAX_HOOKS 16

static void prepare(void)
{
    struct ct__fork_hooks *order[MAX_HOOKS];
    int n = 0;
    pthread_mutex_lock(&hooks_mutex);
    for (struct ct__fork_hooks *h = hooks; h && n < MAX_HOOKS; h = h->next)
        order[n++] = h;
    while (n-- > 0)
        if (order[n]->prepare)
            order[n]->prepare();
    /* hooks_mutex stays held across fork, so no registration can race
     * with the walks after it. */
}

static void parent(void)
{
    for (struct ct__fork_hooks *h = hooks; h; h = h->next)
        if (h->parent)
            h->parent();
    pthread_mutex_unlock(&hooks_mutex);
}

static void child(void)
{
    atomic_fetch_add_explicit(&generation, 1, memory_order_relaxed);
    for (struct ct__fork_hooks *h = hooks; h; h = h->next)
        if (h->child)
            h->child();
    pthread_mutex_unlock(&hooks_mutex); /* taken by this thread in prepare */
}

static void install(void)
{
    int rc = pthread_atfork(prepare, parent, child);
    if (rc != 0)
        ct__die("pthread_atfork", rc);
}

void ct__fork_register(struct ct__fork_hooks *h)
{
    pthread_once(&once, install);
    pthread_mutex_lock(&hooks_mutex);
    struct ct__fork_hooks **at = &hooks;
    while (*at && (*at)->level <= h->level)
        at = &(*at)->next;
    h->next = *at;
    *at = h;
    pthread_mutex_unlock(&hooks_mutex);
}

unsigned ct__fork_generation(void)
{
    return atomic_load_explicit(&generation, memory_order_relaxed);
}
