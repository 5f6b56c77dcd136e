/*
 * Processes (layer 6): Process objects, the registry of children, the
 * module functions, and the life of a child from fork to _exit.
 *
 * Life of a child: NEW -> STARTING (start() won the race to start it) ->
 * STARTED -> ENDED (reaped: its exit code is known). ENDED is published
 * with release after the exit code, so a reader that sees ENDED reads
 * the code. Reaping happens once, under the object's lock, by whichever
 * caller (join, is_alive, exitcode, active_children, terminate) first
 * finds the child gone; nobody ever blocks in waitpid on a child that
 * still runs (join waits on a descriptor, then reaps).
 *
 * Descriptors, per start method and kernel:
 *   fork, pidfd        sentinel = pidfd; reap with waitpid(WNOHANG)
 *   fork, no pidfd     sentinel = read end of a pipe whose write end only
 *                      the child holds: end of file when it exits
 *   forkserver         the helper is the real parent and reaps; it sends
 *                      the wait status on `chan`, and a pidfd for signals
 *                      and for the sentinel (chan is the sentinel without
 *                      pidfds). If the helper dies, chan reads end of file
 *                      and the exit code becomes 255 (as in Python) once
 *                      the child has really ended.
 * Every such descriptor is in the registry of process_os.c, so that no
 * other child started by the library inherits it (an inherited write end
 * would keep a sentinel from ever firing).
 *
 * References: the creator holds one; a started child is also in the
 * `children` list with a reference of its own until it is reaped, so it
 * can be joined at exit even if the caller dropped it.
 *
 * Fork: the registry moves to `inherited` in every forked child (those
 * are the parent's children; a Process object copied into a child is
 * "foreign" there, by its fork generation, and refuses to act). A child
 * started by ct_process_start also forgets the parent's exit handlers
 * and becomes its Process object (current), with a parent object whose
 * sentinel is a pidfd of the parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cthreading/lock.h"
#include "fork.h"
#include "park.h"
#include "prim.h"
#include "proc.h"
#include "thread_internal.h"
#include "cthreading/shared.h"

enum { NEW, STARTING, STARTED, ENDED };
enum { KIND_NORMAL, KIND_MAIN, KIND_SELF, KIND_PARENT };

#define MAX_PASSED 8

struct old_name {
    struct old_name *next;
    char text[];
};

struct ct_process {
    _Atomic int refs;
    int kind;
    unsigned generation; /* of the process this object belongs to */
    ct_process_fn target;
    void *arg;           /* the caller's pointer (arg_size 0) or our copy */
    size_t arg_size;
    bool own_arg;
    _Atomic int daemon;
    int method;
    _Atomic(char *) name;
    char *identity;      /* "1:2" for Process-1:2 */
    ct_lock lock;        /* guards everything below */
    struct old_name *old_names;
    _Atomic int state;
    _Atomic int pid;
    _Atomic int exitcode;
    int pidfd;           /* -1 when none */
    int sentinel;        /* the descriptor that fires at the end, -1 */
    int chan;            /* forkserver: carries the exit status, -1 */
    bool chan_eof;       /* the helper died: wait on the pidfd instead */
    int parent_w;        /* no pidfd: keeps the child's parent sentinel open */
    _Atomic bool closed; /* written under lock, read without */
    bool registered;     /* in `children`, under reg_lock */
    struct ct__node link;
};

static ct_lock reg_lock = CT_LOCK_INIT; /* guards everything below */
static struct ct__list children;        /* started, not yet reaped */
static struct ct__list inherited;       /* an ancestor's, never used again */
static unsigned child_counter;
static char *my_identity;               /* NULL in the first process */
static struct ct_process *current, *parent;
static _Atomic int default_method = CT_START_FORK;
static bool atexit_registered;
static int passed[MAX_PASSED];
static int npassed;

static struct ct_process *of(struct ct__node *n)
{
    return CT__CONTAINER_OF(n, struct ct_process, link);
}

/* The library's own short waits: never interrupted. */
static void locked(ct_lock *l)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)l);
}

static void unlocked(ct_lock *l)
{
    ct_lock_release(l);
}

static bool is_closed(const struct ct_process *p)
{
    return atomic_load_explicit(&((struct ct_process *)p)->closed, memory_order_relaxed);
}

static bool foreign(const struct ct_process *p)
{
    return p->generation != ct__fork_generation();
}

static char *copy_name(const char *name)
{
    size_t n = strlen(name) + 1;
    struct old_name *node = malloc(sizeof *node + n);
    if (!node)
        return NULL;
    node->next = NULL;
    memcpy(node->text, name, n);
    return node->text;
}

static void free_name(char *text)
{
    if (text)
        free(CT__CONTAINER_OF(text, struct old_name, text));
}

static struct ct_process *alloc_process(int kind, const char *name)
{
    struct ct_process *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    char *copy = copy_name(name);
    if (!copy) {
        free(p);
        return NULL;
    }
    atomic_init(&p->refs, 1);
    atomic_init(&p->name, copy);
    atomic_init(&p->state, NEW);
    atomic_init(&p->exitcode, CT_EXITCODE_NONE);
    p->kind = kind;
    p->generation = ct__fork_generation();
    p->pidfd = p->sentinel = p->chan = p->parent_w = -1;
    return p;
}

static int validate_daemon(int daemon)
{
    return daemon == CT_DAEMON_INHERIT || daemon == CT_DAEMON || daemon == CT_NOT_DAEMON
               ? 0
               : CT_EINVAL;
}

static bool current_daemon(void)
{
    ct_process *self = ct_current_process();
    return self && ct_process_daemon(self);
}

/* ---- objects ---- */

int ct_process_new(ct_process **out, const ct_process_opts *opts)
{
    static const ct_process_opts defaults;
    if (!opts)
        opts = &defaults;
    if (opts->flags || validate_daemon(opts->daemon) || opts->start_method < CT_START_DEFAULT ||
        opts->start_method > CT_START_FORKSERVER ||
        (opts->start_method == CT_START_FORKSERVER && opts->arg && opts->arg_size == 0))
        return CT_EINVAL;
    locked(&reg_lock);
    unsigned no = ++child_counter;
    char identity[256];
    snprintf(identity, sizeof identity, "%s%s%u", my_identity ? my_identity : "",
             my_identity ? ":" : "", no);
    unlocked(&reg_lock);
    char name[300];
    snprintf(name, sizeof name, "Process-%s", identity);
    struct ct_process *p = alloc_process(KIND_NORMAL, opts->name ? opts->name : name);
    if (!p)
        return CT_ENOMEM;
    p->identity = strdup(identity);
    if (!p->identity) {
        ct_process_unref(p);
        return CT_ENOMEM;
    }
    p->target = opts->target;
    p->arg = opts->arg;
    p->arg_size = opts->arg_size;
    if (opts->arg_size) {
        p->arg = malloc(opts->arg_size);
        if (!p->arg) {
            ct_process_unref(p);
            return CT_ENOMEM;
        }
        memcpy(p->arg, opts->arg, opts->arg_size);
        p->own_arg = true;
    }
    p->method = opts->start_method;
    atomic_init(&p->daemon, opts->daemon == CT_DAEMON_INHERIT ? current_daemon()
                                                             : opts->daemon == CT_DAEMON);
    *out = p;
    return 0;
}

ct_process *ct_process_ref(ct_process *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        ct__fds_remove(*fd);
        close(*fd);
        *fd = -1;
    }
}

/* Close every descriptor of p (not for foreign objects: their numbers
 * mean other files here). Caller holds p->lock or the last reference. */
static void close_fds(struct ct_process *p)
{
    if (p->sentinel == p->pidfd || p->sentinel == p->chan)
        p->sentinel = -1;
    close_fd(&p->sentinel);
    close_fd(&p->pidfd);
    close_fd(&p->chan);
    close_fd(&p->parent_w);
}

void ct_process_unref(ct_process *p)
{
    if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (!foreign(p))
        close_fds(p);
    for (struct old_name *n = p->old_names, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    free_name(atomic_load_explicit(&p->name, memory_order_relaxed));
    if (p->own_arg)
        free(p->arg);
    free(p->identity);
    free(p);
}

/* ---- reaping ---- */

static int code_of(int status)
{
    if (status == -1)
        return 255; /* unknown: reaped elsewhere, or the forkserver died */
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return 255;
}

static bool readable(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n;
    do
        n = poll(&pfd, 1, 0);
    while (n < 0 && errno == EINTR);
    return n > 0;
}

static void finish(struct ct_process *p, int status)
{
    atomic_store_explicit(&p->exitcode, code_of(status), memory_order_relaxed);
    /* release: pairs with the acquire loads of `state`; the code is set. */
    atomic_store_explicit(&p->state, ENDED, memory_order_release);
}

/* Reap p if it has ended, without blocking on a running child. Returns
 * whether it has ended. Caller holds p->lock. */
static bool try_reap(struct ct_process *p)
{
    int st = atomic_load_explicit(&p->state, memory_order_acquire);
    if (st == ENDED)
        return true;
    if (st != STARTED)
        return false;
    int status = -1;
    if (p->chan >= 0 || p->chan_eof) {
        if (!p->chan_eof) {
            if (!readable(p->chan))
                return false;
            if (ct__forkserver_read_status(p->chan, &status) == CT_ETIMEDOUT)
                return false;
            if (status != -1) {
                finish(p, status);
                return true;
            }
            /* The helper died: the child may still run; follow its pidfd. */
            p->chan_eof = true;
            if (p->sentinel == p->chan)
                p->sentinel = p->pidfd;
            close_fd(&p->chan);
        }
        if (p->pidfd >= 0 && !readable(p->pidfd))
            return false;
        finish(p, -1);
        return true;
    }
    pid_t pid = atomic_load_explicit(&p->pid, memory_order_relaxed);
    pid_t r;
    do
        r = waitpid(pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        /* Without a pidfd, end of file on the pipe says the child is
         * exiting; it becomes reapable an instant later. */
        if (p->pidfd >= 0 || !readable(p->sentinel))
            return false;
        do
            r = waitpid(pid, &status, 0);
        while (r < 0 && errno == EINTR);
    }
    finish(p, r == pid ? status : -1);
    return true;
}

static void unregister(struct ct_process *p)
{
    locked(&reg_lock);
    bool was = p->registered;
    if (was) {
        ct__list_unlink(&children, &p->link);
        p->registered = false;
    }
    unlocked(&reg_lock);
    if (was)
        ct_process_unref(p);
}

/* try_reap, taking the locks; drops the registry's reference once ended. */
static bool reap(struct ct_process *p)
{
    locked(&p->lock);
    bool ended = try_reap(p);
    unlocked(&p->lock);
    if (ended)
        unregister(p);
    return ended;
}

/* ---- starting ---- */

static void process_exit_handler(void *arg);

/* Register the exit handler that joins this process's children. Once
 * exit has begun that is no longer possible (CT_ESHUTDOWN): a child
 * started from then on (by a pool's manager finishing queued work, say)
 * is joined by whoever started it, not by the handler. */
static int ensure_exit_handler(void)
{
    locked(&reg_lock);
    int rc = 0;
    if (!atexit_registered) {
        rc = ct_register_atexit(process_exit_handler, NULL, CT_ATEXIT_AFTER_JOIN);
        atexit_registered = rc == 0;
        if (rc == CT_ESHUTDOWN)
            rc = 0;
    }
    unlocked(&reg_lock);
    return rc;
}

static void add_child(struct ct_process *p)
{
    ct_process_ref(p);
    locked(&reg_lock);
    ct__list_push_back(&children, &p->link);
    p->registered = true;
    unlocked(&reg_lock);
}

static int pipe_registered(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return ct__errno_code(errno);
    ct__fds_add(fds[0]);
    ct__fds_add(fds[1]);
    return 0;
}

static int start_fork(struct ct_process *p, const int *fds, int nfds)
{
    bool use_pidfd = ct__pidfd_supported();
    int death[2] = {-1, -1}, alive[2] = {-1, -1};
    int rc = 0;
    if (!use_pidfd && ((rc = pipe_registered(death)) != 0 || (rc = pipe_registered(alive)) != 0)) {
        close_fd(&death[0]);
        close_fd(&death[1]);
        return rc;
    }
    ct_process *self = ct_current_process();
    const char *parent_name = self ? ct_process_name(self) : "MainProcess";
    pid_t parent_pid = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int keep[MAX_PASSED + 2], nkeep = 0;
        for (int i = 0; i < nfds; i++)
            keep[nkeep++] = fds[i];
        keep[nkeep++] = death[1];
        keep[nkeep++] = alive[0];
        ct__fds_close_inherited(keep, nkeep);
        struct ct__child_setup setup = {
            .name = ct_process_name(p),
            .identity = p->identity,
            .parent_name = parent_name,
            .daemon = ct_process_daemon(p),
            .parent_pid = parent_pid,
            .parent_sentinel = alive[0],
            .passed = fds,
            .npassed = nfds,
        };
        ct__process_child_run(&setup, p, p->target, p->arg);
    }
    if (pid < 0) {
        int err = errno;
        close_fd(&death[0]);
        close_fd(&death[1]);
        close_fd(&alive[0]);
        close_fd(&alive[1]);
        return err == EAGAIN ? CT_EAGAIN : ct__errno_code(err);
    }
    locked(&p->lock);
    atomic_store_explicit(&p->pid, pid, memory_order_relaxed);
    if (use_pidfd) {
        /* The child cannot be reaped before we do, so its pid is still
         * its own here, even if it has already exited. */
        p->pidfd = ct__pidfd_open(pid);
        if (p->pidfd < 0) {
            rc = ct__errno_code(errno);
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        } else {
            ct__fds_add(p->pidfd);
            p->sentinel = p->pidfd;
        }
    } else {
        close_fd(&death[1]);
        close_fd(&alive[0]);
        p->sentinel = death[0];
        p->parent_w = alive[1];
    }
    unlocked(&p->lock);
    return rc;
}

static int start_forkserver(struct ct_process *p, const int *fds, int nfds)
{
    ct_process *self = ct_current_process();
    struct ct__fs_start req = {
        .target = p->target,
        .arg = p->arg,
        .arg_size = p->arg_size,
        .name = ct_process_name(p),
        .identity = p->identity,
        .parent_name = self ? ct_process_name(self) : "MainProcess",
        .daemon = ct_process_daemon(p),
        .fds = fds,
        .nfds = nfds,
    };
    int rc = ct__forkserver_spawn(&req);
    if (rc)
        return rc;
    locked(&p->lock);
    atomic_store_explicit(&p->pid, req.pid, memory_order_relaxed);
    p->pidfd = req.pidfd;
    p->chan = req.chan;
    p->parent_w = req.parent_w;
    p->sentinel = p->pidfd >= 0 ? p->pidfd : p->chan;
    unlocked(&p->lock);
    return 0;
}

int ct__process_start_fds(ct_process *p, const int *fds, int nfds)
{
    if (nfds < 0 || nfds > MAX_PASSED)
        return CT_EINVAL;
    if (p->kind != KIND_NORMAL)
        return CT_ESTARTED;
    if (foreign(p))
        return CT_ESTATE;
    if (is_closed(p))
        return CT_ECLOSED;
    int method = p->method ? p->method : atomic_load_explicit(&default_method, memory_order_relaxed);
    if (method == CT_START_FORKSERVER && p->arg && p->arg_size == 0)
        return CT_EINVAL;
    if (current_daemon())
        return CT_ESTATE; /* Python: daemonic processes are not allowed to have children */
    int expected = NEW;
    if (!atomic_compare_exchange_strong_explicit(&p->state, &expected, STARTING,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return CT_ESTARTED;
    int rc = ensure_exit_handler();
    if (rc == 0) {
        fflush(NULL); /* so that the child cannot write it again */
        rc = method == CT_START_FORKSERVER ? start_forkserver(p, fds, nfds)
                                           : start_fork(p, fds, nfds);
    }
    if (rc) {
        atomic_store_explicit(&p->state, NEW, memory_order_release);
        return rc;
    }
    add_child(p);
    atomic_store_explicit(&p->state, STARTED, memory_order_release);
    return 0;
}

int ct_process_start(ct_process *p)
{
    return ct__process_start_fds(p, NULL, 0);
}

int ct__process_passed_fd(int i)
{
    return i >= 0 && i < npassed ? passed[i] : -1;
}

/* ---- the child ---- */

_Noreturn void ct__process_exit_now(int code)
{
    ct__thread_run_exit(); /* handlers, non-daemon threads, then children */
    fflush(NULL);
    _exit(code >= 0 && code <= 255 ? code : 1);
}

_Noreturn void ct__process_child_run(const struct ct__child_setup *setup, ct_process *self,
                                     ct_process_fn target, void *arg)
{
    /* Whatever another thread of the parent buffered between the parent's
     * flush and fork belongs to the parent: drop the child's copy. */
    __fpurge(stdin);
    __fpurge(stdout);
    __fpurge(stderr);
    ct__thread_exit_reset();

    /* One thread, the fork hooks have run: no lock is needed below. */
    struct ct_process *me = self;
    if (!me) {
        me = alloc_process(KIND_SELF, setup->name);
        if (!me)
            _exit(1);
    }
    me->kind = KIND_SELF;
    me->generation = ct__fork_generation();
    ct_lock_init(&me->lock, 0);
    me->pidfd = me->sentinel = me->chan = me->parent_w = -1;
    me->registered = false;
    atomic_store_explicit(&me->closed, false, memory_order_relaxed);
    atomic_store_explicit(&me->daemon, setup->daemon, memory_order_relaxed);
    atomic_store_explicit(&me->pid, getpid(), memory_order_relaxed);
    atomic_store_explicit(&me->state, STARTED, memory_order_relaxed);
    ct_process_ref(me); /* current's, never dropped */
    current = me;
    free(my_identity);
    my_identity = strdup(setup->identity);
    child_counter = 0;
    atexit_registered = false;

    struct ct_process *par = alloc_process(KIND_PARENT, setup->parent_name);
    if (par) {
        atomic_store_explicit(&par->pid, setup->parent_pid, memory_order_relaxed);
        atomic_store_explicit(&par->state, STARTED, memory_order_relaxed);
        par->pidfd = ct__pidfd_open(setup->parent_pid);
        /* fork: a parent that died before the pidfd was opened left us to
         * another; its pid may even be someone else's by now. */
        if (par->pidfd >= 0 && self && getppid() != setup->parent_pid)
            close_fd(&par->pidfd);
        if (par->pidfd >= 0)
            ct__fds_add(par->pidfd);
        par->sentinel = par->pidfd >= 0 ? par->pidfd : setup->parent_sentinel;
        if (par->pidfd >= 0 && setup->parent_sentinel >= 0)
            close(setup->parent_sentinel);
        else if (par->sentinel >= 0)
            ct__fds_add(par->sentinel);
        if (par->sentinel < 0)
            finish(par, -1); /* it is gone already */
    }
    parent = par;

    npassed = setup->npassed < MAX_PASSED ? setup->npassed : MAX_PASSED;
    for (int i = 0; i < npassed; i++)
        passed[i] = setup->passed[i];

    int code = target ? target(arg) : 0;
    ct__process_exit_now(code);
}

_Noreturn void ct_process_exit(int code)
{
    if (current && current->kind == KIND_SELF && !foreign(current))
        ct__process_exit_now(code);
    exit(code);
}

/* ---- the parent's view of a child ---- */

static int check_child(struct ct_process *p)
{
    if (is_closed(p))
        return CT_ECLOSED;
    if (p->kind == KIND_SELF || p->kind == KIND_MAIN)
        return CT_EDEADLK;
    if (p->kind == KIND_NORMAL && foreign(p))
        return CT_ESTATE;
    if (atomic_load_explicit(&p->state, memory_order_acquire) < STARTED)
        return CT_ENOTSTARTED;
    return 0;
}

/* The parent process (of the caller): ended when its sentinel fires. */
static bool parent_ended(struct ct_process *p)
{
    if (atomic_load_explicit(&p->state, memory_order_acquire) == ENDED)
        return true;
    if (p->sentinel >= 0 && !readable(p->sentinel))
        return false;
    finish(p, -1);
    return true;
}

int ct_process_join(ct_process *p, double timeout)
{
    ct__deadline dl;
    int rc = ct__deadline_make(timeout, &dl);
    if (rc)
        return rc;
    if ((rc = check_child(p)) != 0)
        return rc;
    for (;;) {
        int fd;
        bool ended;
        if (p->kind == KIND_PARENT) {
            ended = parent_ended(p);
            fd = p->sentinel;
        } else {
            locked(&p->lock);
            ended = try_reap(p);
            fd = p->chan >= 0 ? p->chan : p->sentinel;
            unlocked(&p->lock);
            if (ended)
                unregister(p);
        }
        if (ended)
            return 0;
        if (ct__deadline_passed(dl))
            return CT_ETIMEDOUT;
        rc = ct__park_wait_fd(fd, POLLIN, dl, CT__PARK_INTERRUPTIBLE, p, "process");
        if (rc == CT_EINTERRUPTED || rc == CT_EINTR)
            return rc;
    }
}

bool ct_process_is_alive(ct_process *p)
{
    if (is_closed(p))
        return false;
    switch (p->kind) {
    case KIND_SELF:
    case KIND_MAIN:
        return true;
    case KIND_PARENT:
        return !parent_ended(p);
    default:
        if (foreign(p) || atomic_load_explicit(&p->state, memory_order_acquire) != STARTED)
            return false;
        return !reap(p);
    }
}

int ct_process_exitcode(ct_process *p)
{
    if (p->kind == KIND_NORMAL && !is_closed(p) && !foreign(p) &&
        atomic_load_explicit(&p->state, memory_order_acquire) == STARTED)
        reap(p);
    if (atomic_load_explicit(&p->state, memory_order_acquire) != ENDED || p->kind != KIND_NORMAL)
        return CT_EXITCODE_NONE;
    return atomic_load_explicit(&p->exitcode, memory_order_relaxed);
}

int ct_process_pid(const ct_process *p)
{
    if (p->kind == KIND_SELF || p->kind == KIND_MAIN)
        return (int)getpid();
    return atomic_load_explicit(&((struct ct_process *)p)->pid, memory_order_relaxed);
}

const char *ct_process_name(const ct_process *p)
{
    return atomic_load_explicit(&((struct ct_process *)p)->name, memory_order_acquire);
}

int ct_process_set_name(ct_process *p, const char *name)
{
    if (!name)
        return CT_EINVAL;
    char *copy = copy_name(name);
    if (!copy)
        return CT_ENOMEM;
    locked(&p->lock);
    char *old = atomic_exchange_explicit(&p->name, copy, memory_order_acq_rel);
    struct old_name *node = CT__CONTAINER_OF(old, struct old_name, text);
    node->next = p->old_names;
    p->old_names = node;
    unlocked(&p->lock);
    return 0;
}

bool ct_process_daemon(const ct_process *p)
{
    return atomic_load_explicit(&((struct ct_process *)p)->daemon, memory_order_relaxed) != 0;
}

int ct_process_set_daemon(ct_process *p, int daemon)
{
    if (validate_daemon(daemon))
        return CT_EINVAL;
    if (p->kind != KIND_NORMAL || atomic_load_explicit(&p->state, memory_order_acquire) != NEW)
        return CT_EACTIVE;
    atomic_store_explicit(&p->daemon,
                          daemon == CT_DAEMON_INHERIT ? current_daemon() : daemon == CT_DAEMON,
                          memory_order_relaxed);
    return 0;
}

static int send_signal(struct ct_process *p, int sig)
{
    int rc = check_child(p);
    if (rc == CT_EDEADLK || p->kind == KIND_PARENT)
        return CT_ESTATE;
    if (rc)
        return rc;
    locked(&p->lock);
    bool ended = try_reap(p);
    if (!ended) {
        /* Not reaped: the pid (or pidfd) still names our child. */
        int r = p->pidfd >= 0 ? ct__pidfd_kill(p->pidfd, sig)
                              : kill(atomic_load_explicit(&p->pid, memory_order_relaxed), sig);
        if (r < 0 && errno != ESRCH)
            rc = ct__errno_code(errno);
    }
    unlocked(&p->lock);
    if (ended)
        unregister(p);
    return rc;
}

int ct_process_terminate(ct_process *p)
{
    return send_signal(p, SIGTERM);
}

int ct_process_kill(ct_process *p)
{
    return send_signal(p, SIGKILL);
}

int ct_process_close(ct_process *p)
{
    if (p->kind != KIND_NORMAL || foreign(p))
        return CT_ESTATE;
    locked(&p->lock);
    int st = atomic_load_explicit(&p->state, memory_order_acquire);
    bool ended = st == ENDED || (st == STARTED && try_reap(p));
    int rc = 0;
    if (st == STARTING || (st == STARTED && !ended)) {
        rc = CT_ESTATE;
    } else {
        close_fds(p);
        atomic_store_explicit(&p->closed, true, memory_order_relaxed);
    }
    unlocked(&p->lock);
    if (ended)
        unregister(p);
    return rc;
}

int ct_process_sentinel(ct_process *p, int *fd)
{
    if (is_closed(p))
        return CT_ECLOSED;
    if (p->kind == KIND_PARENT && p->sentinel >= 0) {
        *fd = p->sentinel;
        return 0;
    }
    if (p->kind != KIND_NORMAL || atomic_load_explicit(&p->state, memory_order_acquire) < STARTED)
        return CT_ENOTSTARTED;
    locked(&p->lock);
    int s = p->pidfd >= 0 ? p->pidfd : p->sentinel;
    unlocked(&p->lock);
    if (s < 0)
        return CT_ECLOSED;
    *fd = s;
    return 0;
}

/* ---- module functions ---- */

ct_process *ct_current_process(void)
{
    return current;
}

ct_process *ct_parent_process(void)
{
    return parent;
}

size_t ct_active_children(ct_process **buf, size_t cap)
{
    /* Snapshot with references, then reap outside the registry lock (reap
     * takes each object's lock, which never nests inside reg_lock). */
    locked(&reg_lock);
    size_t n = 0;
    CT__LIST_FOREACH(it, &children)
    n++;
    ct_process **all = malloc((n ? n : 1) * sizeof *all);
    if (!all) {
        unlocked(&reg_lock);
        return 0;
    }
    size_t i = 0;
    CT__LIST_FOREACH(it, &children)
    all[i++] = ct_process_ref(of(it));
    unlocked(&reg_lock);
    size_t alive = 0;
    for (i = 0; i < n; i++) {
        if (!reap(all[i])) {
            if (alive < cap)
                buf[alive] = ct_process_ref(all[i]);
            alive++;
        }
        ct_process_unref(all[i]);
    }
    free(all);
    return alive;
}

int ct_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
}

int ct_set_start_method(int method)
{
    if (method != CT_START_FORK && method != CT_START_FORKSERVER)
        return CT_EINVAL;
    /* Set first: the helper, a fork of this process, inherits the setting,
     * so its children start their own children the same way. */
    int old = atomic_exchange_explicit(&default_method, method, memory_order_relaxed);
    int rc = method == CT_START_FORKSERVER ? ct__forkserver_ensure() : 0;
    if (rc)
        atomic_store_explicit(&default_method, old, memory_order_relaxed);
    return rc;
}

int ct_get_start_method(void)
{
    return atomic_load_explicit(&default_method, memory_order_relaxed);
}

/* At exit (after the non-daemon threads were joined): terminate the
 * daemon children, then join every child, as Python's multiprocessing
 * does. */
static void process_exit_handler(void *arg)
{
    (void)arg;
    for (int pass = 0; pass < 2; pass++) {
        size_t n = ct_active_children(NULL, 0);
        if (n == 0)
            return;
        ct_process **all = malloc(n * sizeof *all);
        if (!all)
            return;
        n = ct_active_children(all, n);
        for (size_t i = 0; i < n; i++) {
            if (pass == 0 && ct_process_daemon(all[i]))
                ct_process_terminate(all[i]);
            if (pass == 1)
                ct_process_join(all[i], CT_FOREVER);
            ct_process_unref(all[i]);
        }
        free(all);
    }
}

/* ---- fork ---- */

static void proc_prepare(void)
{
    locked(&reg_lock);
}

static void proc_parent(void)
{
    unlocked(&reg_lock);
}

static void proc_child(void)
{
    struct ct__node *n;
    while ((n = ct__list_pop_front(&children)) != NULL) {
        of(n)->registered = false;
        ct__list_push_back(&inherited, n);
    }
    ct_lock_init(&reg_lock, 0);
}

CT__FORK_HOOKS(CT__FORK_PROCESS, proc_prepare, proc_parent, proc_child)

__attribute__((constructor)) static void process_init(void)
{
    current = alloc_process(KIND_MAIN, "MainProcess");
    if (!current)
        ct__die("allocating the main process", 0);
    atomic_store_explicit(&current->state, STARTED, memory_order_relaxed);
}
