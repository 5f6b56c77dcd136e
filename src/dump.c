/*
 * Thread snapshots and dumps: every live thread's state, what it waits
 * on (from its wait record, which park keeps), and what it holds (from
 * the held list that diag.c keeps while tracking). The dump on a signal
 * is written by a helper thread; the handler only writes one byte to a
 * pipe, which is async-signal-safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag_internal.h"
#include "fork.h"
#include "park.h"
#include "thread_internal.h"

struct visit {
    ct_thread_info *buf;
    size_t cap, n;
    int64_t now;
};

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Under the thread layer's locks; takes the diagnostics mutex. */
static void take_one(const struct ct__thread_view *v, void *arg)
{
    struct visit *s = arg;
    if (s->n++ >= s->cap)
        return;
    ct_thread_info *in = &s->buf[s->n - 1];
    memset(in, 0, sizeof *in);
    copy_str(in->name, sizeof in->name, v->name);
    in->ident = v->ident;
    in->native_id = v->native_id;
    in->daemon = v->daemon;
    in->is_main = v->is_main;
    in->is_dummy = v->is_dummy;
    in->state = v->state;
    struct ct__wait_record *r = v->record;
    in->tracked = ct__diag_flags() & CT_DIAG_TRACK;
    pthread_mutex_lock(&ct__diag_mutex);
    if (r && v->state == CT_STATE_BLOCKED) {
        in->blocked_on = atomic_load_explicit(&r->object, memory_order_acquire);
        copy_str(in->blocked_kind, sizeof in->blocked_kind,
                 atomic_load_explicit(&r->kind, memory_order_relaxed));
        int64_t since = atomic_load_explicit(&r->since_ns, memory_order_relaxed);
        in->blocked_seconds = since && s->now > since ? (double)(s->now - since) / 1e9 : 0;
        if (in->blocked_on) {
            struct ct__obj *o = ct__obj_find(in->blocked_on, false);
            if (o) {
                copy_str(in->blocked_name, sizeof in->blocked_name, o->name);
                in->holder_ident = o->holder;
                copy_str(in->holder_name, sizeof in->holder_name, o->holder_name);
            }
        }
    }
    struct ct__held *h = r ? atomic_load_explicit(&r->diag, memory_order_acquire) : NULL;
    if (h) {
        size_t n = atomic_load_explicit(&h->n, memory_order_acquire);
        in->nheld = n;
        for (size_t i = 0; i < n && i < CT_INFO_HELD_MAX && i < CT__HELD_MAX; i++) {
            in->held[i] = atomic_load_explicit(&h->locks[i], memory_order_relaxed);
            ct__obj_name(in->held[i], in->held_names[i], sizeof in->held_names[i]);
        }
    }
    pthread_mutex_unlock(&ct__diag_mutex);
}

/* The kernel's letter for a thread of this process, or 0. */
static char os_state(uint64_t tid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/self/task/%llu/stat", (unsigned long long)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, line, sizeof line - 1);
    close(fd);
    if (n <= 0)
        return 0;
    line[n] = '\0';
    /* "tid (comm) S ...": comm may hold spaces and parentheses. */
    char *close_paren = strrchr(line, ')');
    return close_paren && close_paren[1] == ' ' ? close_paren[2] : 0;
}

size_t ct_thread_snapshot(ct_thread_info *buf, size_t cap)
{
    ct_current_thread(); /* the caller is listed too, as a dummy if need be */
    struct visit s = {.buf = buf, .cap = buf ? cap : 0, .now = ct__now_ns()};
    ct__thread_visit(take_one, &s);
    for (size_t i = 0; i < s.n && i < s.cap; i++)
        buf[i].os_state = buf[i].native_id ? os_state(buf[i].native_id) : 0;
    return s.n;
}

static void print_lock(FILE *out, const char *kind, const void *addr, const char *name)
{
    if (name && *name)
        fprintf(out, "%s \"%s\" (%p)", kind, name, addr);
    else
        fprintf(out, "%s %p", kind, addr);
}

static void print_one(FILE *out, const ct_thread_info *in)
{
    fprintf(out, "\"%s\" ident=%llu native_id=%llu%s%s%s\n", in->name,
            (unsigned long long)in->ident, (unsigned long long)in->native_id,
            in->daemon ? " daemon" : "", in->is_main ? " main" : "", in->is_dummy ? " dummy" : "");
    fprintf(out, "    state: %s", ct_state_name(in->state));
    if (in->os_state)
        fprintf(out, " (kernel: %c)", in->os_state);
    fputc('\n', out);
    if (in->state == CT_STATE_BLOCKED && in->blocked_on) {
        fprintf(out, "    blocked on ");
        print_lock(out, in->blocked_kind, in->blocked_on, in->blocked_name);
        fprintf(out, " for %.3f s", in->blocked_seconds);
        if (in->holder_ident)
            fprintf(out, ", held by \"%s\" (ident=%llu)", in->holder_name,
                    (unsigned long long)in->holder_ident);
        fputc('\n', out);
    }
    if (!in->tracked) {
        fprintf(out, "    holds: not tracked (ct_diag_set(CT_DIAG_TRACK))\n");
    } else if (in->nheld == 0) {
        fprintf(out, "    holds: nothing\n");
    } else {
        fprintf(out, "    holds:");
        for (size_t i = 0; i < in->nheld && i < CT_INFO_HELD_MAX; i++) {
            fputs(i ? ", " : " ", out);
            print_lock(out, "lock", in->held[i], in->held_names[i]);
        }
        if (in->nheld > CT_INFO_HELD_MAX)
            fprintf(out, " and %zu more", in->nheld - CT_INFO_HELD_MAX);
        fputc('\n', out);
    }
}

int ct_dump_threads(FILE *out)
{
    size_t cap = ct_thread_snapshot(NULL, 0) + 8;
    for (;;) {
        ct_thread_info *all = malloc(cap * sizeof *all);
        if (!all)
            return CT_ENOMEM;
        size_t n = ct_thread_snapshot(all, cap);
        if (n > cap) {
            free(all);
            cap = n + 8;
            continue;
        }
        fprintf(out, "Thread dump: %zu thread%s\n", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++)
            print_one(out, &all[i]);
        fflush(out);
        free(all);
        return 0;
    }
}

/* ---- the dump on a signal ---- */

static pthread_mutex_t signal_mutex = PTHREAD_MUTEX_INITIALIZER;
static int pipe_fds[2] = {-1, -1};
static ct_thread *helper;
static int handled_signal;
static struct sigaction previous;

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    char one = 1;
    ssize_t n = write(pipe_fds[1], &one, 1); /* non-blocking: a full pipe drops it */
    (void)n;
    errno = saved;
}

static int helper_main(void *arg)
{
    (void)arg;
    char buf[64];
    for (;;) {
        ssize_t n = read(pipe_fds[0], buf, sizeof buf);
        if (n > 0)
            ct_dump_threads(stderr);
        else if (n == 0 || errno != EINTR)
            return 0;
    }
}

int ct_dump_on_signal(int sig)
{
    if (sig < 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP)
        return CT_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&signal_mutex);
    if (handled_signal) {
        sigaction(handled_signal, &previous, NULL);
        handled_signal = 0;
    }
    if (sig == 0)
        goto out;
    if (!helper) {
        if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
            rc = CT_EAGAIN;
            goto out;
        }
        fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK);
        rc = ct_thread_new(&helper, &(ct_thread_opts){.target = helper_main, .name = "ct-dump",
                                                      .daemon = CT_DAEMON});
        if (rc == 0 && (rc = ct_thread_start(helper)) != 0) {
            ct_thread_unref(helper);
            helper = NULL;
        }
        if (rc) {
            close(pipe_fds[0]);
            close(pipe_fds[1]);
            pipe_fds[0] = pipe_fds[1] = -1;
            rc = CT_EAGAIN;
            goto out;
        }
    }
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &previous) != 0) {
        rc = CT_EINVAL;
        goto out;
    }
    handled_signal = sig;
out:
    pthread_mutex_unlock(&signal_mutex);
    return rc;
}

/* ---- fork: the diagnostics mutexes, consistent in the child ---- */

static void fork_prepare(void)
{
    pthread_mutex_lock(&signal_mutex);
    pthread_mutex_lock(&ct__diag_mutex);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&ct__diag_mutex);
    pthread_mutex_unlock(&signal_mutex);
}

/* The helper thread is gone in the child: the handler stays, but nothing
 * writes a dump until ct_dump_on_signal is called again there. */
static void fork_child(void)
{
    /* The forking thread took both in prepare and is the child's only
     * thread: it lets them go (reinitialising a held mutex is undefined). */
    pthread_mutex_unlock(&ct__diag_mutex);
    pthread_mutex_unlock(&signal_mutex);
    ct_thread_unref(helper); /* ended by the fork */
    helper = NULL;
    for (int i = 0; i < 2; i++) {
        if (pipe_fds[i] >= 0)
            close(pipe_fds[i]);
        pipe_fds[i] = -1;
    }
}

CT__FORK_HOOKS(CT__FORK_DIAG, fork_prepare, fork_parent, fork_child)
