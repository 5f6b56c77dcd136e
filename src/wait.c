/*
 * Waiting on many objects (cthreading/wait.h), on the watch machinery of
 * watch.h.
 *
 * Link a watch node per object and start watching each (a semaphore
 * counts its watchers for the whole wait). Then loop: re-arm the objects
 * that keep a "somebody may be parked" mark (their change clears it),
 * note the watcher's sequence word, look at every object; if the
 * condition holds, stop; else park on the sequence word until a notify
 * moves it, the deadline passes, or an interrupt. Arming before looking
 * is what makes a change between the look and the park impossible to
 * miss: the change either came before the look (the look sees it) or
 * after the arming (it notifies, and the sequence word no longer holds
 * the value noted).
 *
 * A process tells that it ended through a descriptor (its sentinel), not
 * a word, so a set with processes sleeps in poll() instead: on the
 * sentinels and on an eventfd that notify writes to as well as bumping
 * the word.
 */
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cthreading/process.h"
#include "cthreading/wait.h"
#include "future_internal.h"
#include "prim.h"
#include "queue_internal.h"
#include "thread_internal.h"
#include "watch.h"

enum phase { START, REARM, STOP };

/* 0, or why the entry cannot be waited on (START only). */
static int watch(const ct_waitable *e, enum phase phase)
{
    switch (e->kind) {
    case CT_WAIT_EVENT:
        return phase == STOP ? 0 : ct__event_arm(e->object);
    case CT_WAIT_SEMAPHORE:
        return phase == REARM ? 0 : ct__sem_watch(e->object, phase == START);
    case CT_WAIT_THREAD:
        return 0; /* a thread's end always notifies */
    case CT_WAIT_PROCESS: {
        int fd;
        return phase == START ? ct_process_sentinel((ct_process *)e->object, &fd) : 0;
    }
    case CT_WAIT_FUTURE:
        if (phase != STOP)
            ct__future_arm((ct_future *)e->object);
        return 0;
    case CT_WAIT_QUEUE_NOT_EMPTY:
    case CT_WAIT_QUEUE_NOT_FULL:
        if (phase != REARM)
            ct__queue_watch((ct_queue *)e->object, e->kind == CT_WAIT_QUEUE_NOT_FULL,
                            phase == START);
        return 0;
    default:
        return CT_EINVAL;
    }
}

/* The address the entry's object notifies watchers on. */
static const void *key_of(const ct_waitable *e)
{
    if (e->kind == CT_WAIT_QUEUE_NOT_EMPTY || e->kind == CT_WAIT_QUEUE_NOT_FULL)
        return ct__queue_watch_key(e->object, e->kind == CT_WAIT_QUEUE_NOT_FULL);
    return e->object;
}

static bool ready(const ct_waitable *e)
{
    switch (e->kind) {
    case CT_WAIT_EVENT:
        return ct_event_is_set(e->object);
    case CT_WAIT_SEMAPHORE:
        return ct__sem_ready(e->object);
    case CT_WAIT_THREAD:
        return ct__thread_ended(e->object);
    case CT_WAIT_PROCESS:
        return !ct_process_is_alive((ct_process *)e->object);
    case CT_WAIT_FUTURE:
        return ct__future_ready(e->object);
    case CT_WAIT_QUEUE_NOT_EMPTY:
    case CT_WAIT_QUEUE_NOT_FULL:
        return ct__queue_ready(e->object, e->kind == CT_WAIT_QUEUE_NOT_FULL);
    default:
        return false;
    }
}

/* Sleep until notified, a process ends, the deadline or an interrupt:
 * poll the watcher's eventfd and every process's sentinel. */
static int poll_processes(struct ct__watcher *w, const ct_waitable *set, size_t n,
                          ct__deadline dl)
{
    struct pollfd stack[16], *fds = n + 1 <= 16 ? stack : malloc((n + 1) * sizeof *fds);
    if (!fds)
        return CT_ENOMEM;
    size_t k = 0;
    fds[k++] = (struct pollfd){.fd = w->fd, .events = POLLIN};
    for (size_t i = 0; i < n; i++) {
        int fd;
        if (set[i].kind == CT_WAIT_PROCESS &&
            ct_process_sentinel((ct_process *)set[i].object, &fd) == 0)
            fds[k++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    int rc = ct__park_wait_fds(fds, k, dl, CT__PARK_INTERRUPTIBLE, set, "many");
    uint64_t drained;
    ssize_t r = read(w->fd, &drained, sizeof drained); /* non-blocking */
    (void)r;
    if (fds != stack)
        free(fds);
    return rc;
}

static int wait_many(ct_waitable *set, size_t n, bool all, size_t *first, double timeout)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!set[i].object)
            return CT_EINVAL;
    struct ct__watch *nodes = calloc(n ? n : 1, sizeof *nodes);
    if (!nodes)
        return CT_ENOMEM;
    struct ct__watcher w = {.fd = -1};
    bool processes = false;
    for (size_t i = 0; i < n; i++)
        processes |= set[i].kind == CT_WAIT_PROCESS;
    if (processes && (w.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        free(nodes);
        return CT_ENORES;
    }
    for (size_t i = 0; i < n; i++)
        ct__watch_add(&nodes[i], key_of(&set[i]), &w);
    size_t started = 0;
    while (started < n && (rc = watch(&set[started], START)) == 0)
        started++;
    while (rc == 0) {
        for (size_t i = 0; i < n; i++)
            watch(&set[i], REARM);
        uint32_t seq = atomic_load_explicit(&w.seq, memory_order_seq_cst);
        size_t nready = 0;
        for (size_t i = 0; i < n; i++) {
            set[i].ready = ready(&set[i]);
            if (set[i].ready && nready++ == 0 && first)
                *first = i;
        }
        if (all ? nready == n : nready > 0)
            break;
        if (ct__deadline_passed(dl)) {
            rc = CT_ETIMEDOUT;
            break;
        }
        rc = processes ? poll_processes(&w, set, n, dl)
                       : ct__park_wait(&w.seq, seq, dl, CT__PARK_INTERRUPTIBLE, set, "many");
        if (rc == CT_ETIMEDOUT)
            rc = 0; /* the loop looks once more, then reports the timeout */
    }
    for (size_t i = 0; i < started; i++)
        watch(&set[i], STOP);
    for (size_t i = 0; i < n; i++)
        ct__watch_remove(&nodes[i]);
    if (w.fd >= 0)
        close(w.fd);
    free(nodes);
    return rc;
}

int ct_wait_any(ct_waitable *set, size_t n, size_t *first, double timeout)
{
    if (n == 0)
        return CT_EINVAL;
    return wait_many(set, n, false, first, timeout);
}

int ct_wait_all(ct_waitable *set, size_t n, double timeout)
{
    return wait_many(set, n, true, NULL, timeout);
}
