/*
 * Lock-order checking: a potential deadlock is reported the first time it
 * becomes possible, before any thread blocks on it.
 *
 * The graph has one node per lock (the side table's entries) and an edge
 * A -> B the first time some thread acquires B, blocking, while it holds
 * A. Before a blocking acquire of B, for every lock A the thread holds, a
 * missing edge A -> B is added; if B already reaches A, the new edge
 * closes a cycle: threads that take those locks in those orders can
 * deadlock. The cycle is reported once, with the thread and the stack
 * where each of its edges was first seen. A try-acquire (timeout 0) adds
 * no edge (it cannot block), and re-entering an RLock is not an acquire.
 * When a lock is destroyed or initialised again its node and every edge
 * to or from it go, so a reused address starts afresh.
 */
#include <execinfo.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag_internal.h"

static unsigned mark;
static _Atomic unsigned long reports;
static ct_diag_report_fn report_hook;
static void *report_arg;

unsigned long ct_diag_lock_order_reports(void)
{
    return atomic_load_explicit(&reports, memory_order_relaxed);
}

void ct_diag_set_report_hook(ct_diag_report_fn hook, void *arg)
{
    pthread_mutex_lock(&ct__diag_mutex);
    report_hook = hook;
    report_arg = arg;
    pthread_mutex_unlock(&ct__diag_mutex);
}

/* A growing string for a report. */
struct text {
    char *s;
    size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void add(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (t->s && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *s = realloc(t->s, cap);
        if (!s)
            return;
        t->s = s;
        t->cap = cap;
    }
}

static void add_lock(struct text *t, const struct ct__obj *o)
{
    if (o->name)
        add(t, "lock \"%s\" (%p)", o->name, o->addr);
    else
        add(t, "lock %p", o->addr);
}

static void add_frames(struct text *t, void *const *frames, int n)
{
    char **sym = backtrace_symbols(frames, n);
    for (int i = 0; i < n; i++)
        add(t, "        #%d %s\n", i, sym ? sym[i] : "?");
    free(sym);
}

static struct ct__edge *edge_of(struct ct__obj *from, struct ct__obj *to)
{
    for (struct ct__edge *e = from->edges; e; e = e->next)
        if (e->to == to)
            return e;
    return NULL;
}

/* Depth-first search for a path from `from` to `to`; on success path[]
 * holds its nodes, from first to last, and the length is returned. */
static int find_path(struct ct__obj *from, struct ct__obj *to, struct ct__obj **path, int depth,
                     int max)
{
    if (depth >= max)
        return 0;
    path[depth] = from;
    if (from == to)
        return depth + 1;
    from->mark = mark;
    for (struct ct__edge *e = from->edges; e; e = e->next) {
        if (e->to->mark == mark && e->to != to)
            continue;
        int n = find_path(e->to, to, path, depth + 1, max);
        if (n)
            return n;
    }
    return 0;
}

#define MAX_CYCLE 64

void ct__lockorder_before_acquire(const void *lock, void *caller)
{
    struct ct__held *h = ct__held_mine();
    size_t n = atomic_load_explicit(&h->n, memory_order_relaxed);
    if (n == 0)
        return;
    if (n > CT__HELD_MAX)
        n = CT__HELD_MAX;
    char me[CT_INFO_NAME_MAX];
    ct__diag_thread_name(me, sizeof me, NULL);
    /* The stack from the user's call on: leave out the library's frames
     * (the first frame whose address is the caller's return address). */
    void *frames[CT__DIAG_FRAMES + 6];
    int nframes = backtrace(frames, CT__DIAG_FRAMES + 6);
    int skip = 0;
    while (caller && skip < nframes && frames[skip] != caller)
        skip++;
    if (skip == nframes)
        skip = 0;

    struct text report = {0};
    pthread_mutex_lock(&ct__diag_mutex);
    struct ct__obj *b = ct__obj_find(lock, true);
    for (size_t i = 0; b && i < n; i++) {
        const void *held_addr = atomic_load_explicit(&h->locks[i], memory_order_relaxed);
        if (held_addr == lock)
            continue;
        struct ct__obj *a = ct__obj_find(held_addr, true);
        if (!a || edge_of(a, b))
            continue;
        struct ct__edge *e = calloc(1, sizeof *e);
        if (!e)
            continue;
        e->to = b;
        snprintf(e->thread, sizeof e->thread, "%s", me);
        e->nframes = nframes - skip < CT__DIAG_FRAMES ? nframes - skip : CT__DIAG_FRAMES;
        memcpy(e->frames, frames + skip, (size_t)e->nframes * sizeof *frames);
        /* Does b already reach a? Then a -> b closes a cycle. */
        struct ct__obj *path[MAX_CYCLE];
        mark++;
        int len = find_path(b, a, path, 0, MAX_CYCLE);
        e->next = a->edges;
        a->edges = e;
        b->incoming++;
        if (!len)
            continue;
        atomic_fetch_add_explicit(&reports, 1, memory_order_relaxed);
        add(&report, "cthreading: lock-order inversion: a deadlock is possible\n");
        add(&report, "  thread \"%s\" acquires ", me);
        add_lock(&report, b);
        add(&report, " while holding ");
        add_lock(&report, a);
        add(&report, ",\n  but these orders were seen before:\n");
        for (int k = 0; k + 1 < len; k++) {
            struct ct__edge *seen = edge_of(path[k], path[k + 1]);
            add(&report, "    ");
            add_lock(&report, path[k + 1]);
            add(&report, " taken while holding ");
            add_lock(&report, path[k]);
            add(&report, ", first by thread \"%s\" at:\n", seen->thread);
            add_frames(&report, seen->frames, seen->nframes);
        }
        add(&report, "  and now ");
        add_lock(&report, b);
        add(&report, " taken while holding ");
        add_lock(&report, a);
        add(&report, " by thread \"%s\" at:\n", me);
        add_frames(&report, e->frames, e->nframes);
        add(&report, "  cycle:");
        for (int k = 0; k < len; k++) {
            add(&report, " ");
            add_lock(&report, path[k]);
            add(&report, " ->");
        }
        add(&report, " ");
        add_lock(&report, b);
        add(&report, "\n");
    }
    ct_diag_report_fn hook = report_hook;
    void *arg = report_arg;
    pthread_mutex_unlock(&ct__diag_mutex);
    if (!report.s)
        return;
    if (hook)
        hook(report.s, arg);
    else
        fputs(report.s, stderr);
    free(report.s);
    if (ct__diag_flags() & CT_DIAG_ABORT)
        abort();
}

static void drop_edges_to(struct ct__obj *from, void *arg)
{
    struct ct__edge **at = &from->edges;
    while (*at) {
        if ((*at)->to == arg) {
            struct ct__edge *dead = *at;
            *at = dead->next;
            dead->to->incoming--;
            free(dead);
        } else {
            at = &(*at)->next;
        }
    }
}

/* Remove o from the graph: its edges and every edge to it. Mutex held. */
void ct__lockorder_drop(struct ct__obj *o)
{
    for (struct ct__edge *e = o->edges, *next; e; e = next) {
        next = e->next;
        e->to->incoming--;
        free(e);
    }
    o->edges = NULL;
    ct__obj_each(drop_edges_to, o);
}
