/*
 * The forkserver start method: a helper process, forked while the program
 * still had one thread, forks every child on request. A child so made
 * inherits no lock that another thread of the program held (the helper
 * never had other threads), which is why Python moved Linux to this
 * method. The helper is a fork of this program, so a target's function
 * pointer means the same in it; the argument crosses as bytes.
 *
 * Channels (AF_UNIX SOCK_SEQPACKET: messages keep their boundaries, and
 * one message is never interleaved with another sender's):
 *   control   one socket pair for the program's lifetime. A request is one
 *             message carrying (SCM_RIGHTS) a fresh per-child channel and
 *             a copy of the control socket, so any thread, and any child
 *             (which inherits or receives the socket), may ask at once.
 *   per child the requester sends: a header; the names; the argument in
 *             pieces; the shared segments it has mapped (address, length,
 *             id, kind, with their descriptors); the descriptors it hands
 *             over. The helper forks and sends PID (with a pidfd of the
 *             child); the child maps every segment at the requester's
 *             address and sends READY (or the error); later the helper,
 *             which reaps the child, sends its STATUS. PID and READY may
 *             arrive in either order.
 * The helper exits when the process that started it ends (it watches a
 * pidfd of it) or when every holder of the control socket has closed it.
 * If the helper dies, a running child's channel reads end of file: its
 * exit code becomes 255, as in Python, once the child has really ended
 * (its pidfd says when); the next start restarts the helper if the
 * program is single-threaded again, and fails with CT_ESTATE otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fork.h"
#include "prim.h"
#include "proc.h"

#define MAGIC 0x6b726f66u /* "fork" */
#define CHUNK (32u << 10)
#define SEGS_PER_MSG 32
#define MAX_FDS 16

enum { MSG_PID = 1, MSG_READY = 2, MSG_STATUS = 3 };

struct header {
    uint32_t magic;
    int32_t daemon;
    uint64_t fn;
    uint64_t arg_size;
    uint32_t names_len;
    int32_t parent_pid;
    uint32_t nsegs;
    uint32_t nfds;
    int32_t has_alive; /* the last passed descriptor is the parent sentinel */
    uint32_t unused;
};

struct seg_entry {
    uint64_t addr, len, id;
    uint32_t kind, unused;
};

struct reply {
    int32_t kind;
    int32_t value;
};

static ct_lock fs_lock = CT_LOCK_INIT; /* guards the three below */
static int ctl = -1;                    /* our end of the control socket */
static pid_t helper_pid;                /* 0 unless the helper is our child */
static bool started;

/* ---- messages with descriptors ---- */

static int send_msg(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
        memset(&u, 0, sizeof u);
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    for (;;) {
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return 0;
        if (errno != EINTR)
            return errno;
    }
}

/* Receive one message: its length (0 at end of file) or -errno. The
 * descriptors that came with it go to fds (close-on-exec). */
static ssize_t recv_msg(int fd, void *buf, size_t len, int *fds, int *nfds, int flags)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = sizeof u.buf};
    ssize_t n;
    do
        n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | flags);
    while (n < 0 && errno == EINTR);
    if (nfds)
        *nfds = 0;
    if (n < 0)
        return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int got[MAX_FDS];
        memcpy(got, CMSG_DATA(c), sizeof(int) * (size_t)k);
        for (int i = 0; i < k; i++) {
            if (fds && nfds && *nfds < MAX_FDS)
                fds[(*nfds)++] = got[i];
            else
                close(got[i]);
        }
    }
    if (msg.msg_flags & MSG_TRUNC)
        return -EMSGSIZE;
    return n;
}

/* ---- the helper ---- */

struct kid {
    pid_t pid;
    int death; /* pidfd, or the read end of a pipe the child holds */
    int chan;
};

static struct kid *kids;
static size_t nkids, capkids;

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* Read a request and start its child. Returns with every descriptor of
 * the request handed to the child or closed. */
static void spawn(int chan, int client, int srv, int watch)
{
    struct header h;
    char *names = NULL, *arg = NULL;
    struct ct__segment *segs = NULL;
    int *seg_kinds = NULL;
    int passed[MAX_FDS], npassed = 0, nsegs_got = 0;
    bool ok = false;
    if (recv_msg(chan, &h, sizeof h, NULL, NULL, 0) != (ssize_t)sizeof h || h.magic != MAGIC ||
        h.names_len > 4096 || h.nfds > MAX_FDS - 1 || h.nsegs > 1u << 20)
        goto out;
    names = calloc(1, h.names_len + 1);
    arg = malloc(h.arg_size ? h.arg_size : 1);
    segs = calloc(h.nsegs ? h.nsegs : 1, sizeof *segs);
    seg_kinds = calloc(h.nsegs ? h.nsegs : 1, sizeof *seg_kinds);
    if (!names || !arg || !segs || !seg_kinds)
        goto out;
    if (h.names_len && recv_msg(chan, names, h.names_len, NULL, NULL, 0) != (ssize_t)h.names_len)
        goto out;
    for (uint64_t at = 0; at < h.arg_size;) {
        size_t want = h.arg_size - at < CHUNK ? (size_t)(h.arg_size - at) : CHUNK;
        if (recv_msg(chan, arg + at, want, NULL, NULL, 0) != (ssize_t)want)
            goto out;
        at += want;
    }
    while ((uint32_t)nsegs_got < h.nsegs) {
        struct seg_entry e[SEGS_PER_MSG];
        int fds[MAX_FDS], nfds;
        ssize_t n = recv_msg(chan, e, sizeof e, fds, &nfds, 0);
        int k = n > 0 ? (int)(n / (ssize_t)sizeof e[0]) : 0;
        if (k == 0 || nfds != k || (uint32_t)(nsegs_got + k) > h.nsegs) {
            close_all(fds, nfds);
            goto out;
        }
        for (int i = 0; i < k; i++) {
            segs[nsegs_got] = (struct ct__segment){(void *)(uintptr_t)e[i].addr, e[i].len,
                                                   fds[i], e[i].id};
            seg_kinds[nsegs_got++] = (int)e[i].kind;
        }
    }
    if (h.nfds) {
        uint32_t count;
        if (recv_msg(chan, &count, sizeof count, passed, &npassed, 0) != (ssize_t)sizeof count ||
            (uint32_t)npassed != h.nfds)
            goto out;
    }
    int dp[2] = {-1, -1};
    if (!ct__pidfd_supported() && pipe2(dp, O_CLOEXEC) != 0)
        goto out;
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: nothing of the helper's may stay open. */
        close(srv);
        if (watch >= 0)
            close(watch);
        for (size_t i = 0; i < nkids; i++) {
            close(kids[i].death);
            close(kids[i].chan);
        }
        if (dp[0] >= 0)
            close(dp[0]);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        int err = 0;
        for (int i = 0; i < nsegs_got && !err; i++) {
            err = ct__segment_adopt(&segs[i], seg_kinds[i]);
            segs[i].fd = -1; /* adopted or closed */
        }
        struct reply r = {MSG_READY, err};
        send_msg(chan, &r, sizeof r, NULL, 0);
        close(chan);
        if (err) {
            fprintf(stderr, "cthreading: forkserver child: could not map the parent's shared "
                            "memory at its address\n");
            _exit(1);
        }
        /* This child may use the forkserver too, through the copy of the
         * control socket that came with the request. */
        ctl = client;
        started = true;
        helper_pid = 0;
        ct__fds_add(dp[1]);
        struct ct__child_setup setup = {
            .name = names,
            .identity = names + strlen(names) + 1,
            .daemon = h.daemon,
            .parent_pid = h.parent_pid,
            .parent_sentinel = h.has_alive ? passed[npassed - 1] : -1,
            .passed = passed,
            .npassed = npassed - (h.has_alive ? 1 : 0),
        };
        const char *identity = setup.identity;
        setup.parent_name = identity + strlen(identity) + 1;
        ct_process_fn fn = (ct_process_fn)(uintptr_t)h.fn;
        ct__process_child_run(&setup, NULL, fn, h.arg_size ? arg : NULL);
    }
    if (dp[1] >= 0)
        close(dp[1]);
    if (pid < 0) {
        if (dp[0] >= 0)
            close(dp[0]);
        goto out;
    }
    int pidfd = ct__pidfd_open(pid);
    struct reply r = {MSG_PID, pid};
    send_msg(chan, &r, sizeof r, pidfd >= 0 ? &pidfd : NULL, pidfd >= 0 ? 1 : 0);
    if (nkids == capkids) {
        size_t cap = capkids ? capkids * 2 : 16;
        struct kid *grown = realloc(kids, cap * sizeof *grown);
        if (!grown) {
            /* Cannot watch it: its status will be lost (255). */
            if (pidfd >= 0)
                close(pidfd);
            if (dp[0] >= 0)
                close(dp[0]);
            goto out;
        }
        kids = grown;
        capkids = cap;
    }
    kids[nkids++] = (struct kid){pid, pidfd >= 0 ? pidfd : dp[0], chan};
    chan = -1;
    ok = true;
out:
    (void)ok;
    if (chan >= 0)
        close(chan);
    close(client);
    for (int i = 0; i < nsegs_got; i++)
        if (segs[i].fd >= 0)
            close(segs[i].fd);
    close_all(passed, npassed);
    free(names);
    free(arg);
    free(segs);
    free(seg_kinds);
}

static void reap_kid(size_t i)
{
    int status = -1;
    pid_t r;
    do
        r = waitpid(kids[i].pid, &status, 0);
    while (r < 0 && errno == EINTR);
    struct reply rep = {MSG_STATUS, r == kids[i].pid ? status : -1};
    send_msg(kids[i].chan, &rep, sizeof rep, NULL, 0);
    close(kids[i].chan);
    close(kids[i].death);
    kids[i] = kids[--nkids];
}

static _Noreturn void helper_main(int srv, pid_t parent_pid)
{
    signal(SIGINT, SIG_IGN); /* Ctrl-C goes to the program, not its helper */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_DFL); /* the helper reaps its children itself */
    /* Nothing of the program's process layer is the helper's business. */
    ct__fds_close_inherited(NULL, 0);
    if (ctl >= 0)
        close(ctl); /* a dead helper's socket, when this is a restart */
    ctl = -1;
    started = false;
    int watch = ct__pidfd_open(parent_pid);
    struct pollfd *pfds = NULL;
    for (;;) {
        struct pollfd *grown = realloc(pfds, (nkids + 2) * sizeof *pfds);
        if (!grown)
            _exit(1);
        pfds = grown;
        pfds[0] = (struct pollfd){.fd = srv, .events = POLLIN};
        pfds[1] = (struct pollfd){.fd = watch, .events = POLLIN};
        for (size_t i = 0; i < nkids; i++)
            pfds[i + 2] = (struct pollfd){.fd = kids[i].death, .events = POLLIN};
        if (poll(pfds, nkids + 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        if (watch >= 0 && pfds[1].revents)
            _exit(0); /* the program ended */
        for (size_t i = nkids; i-- > 0;)
            if (pfds[i + 2].revents)
                reap_kid(i);
        if (pfds[0].revents) {
            char op;
            int fds[MAX_FDS], nfds;
            ssize_t n = recv_msg(srv, &op, 1, fds, &nfds, 0);
            if (n == 0)
                _exit(0); /* nobody can ask any more */
            if (n == 1 && nfds == 2)
                spawn(fds[0], fds[1], srv, watch);
            else if (n >= 0)
                close_all(fds, nfds);
        }
    }
}

/* ---- the program's side ---- */

/* The number of threads of this process (/proc), or -1 when unknown.
 * ThreadSanitizer runs a background thread of its own: not counted. */
static int thread_count(void)
{
#ifdef CT_TSAN
    const int own = 1;
#else
    const int own = 0;
#endif
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f)
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p += 2;
    for (int field = 3; field < 20 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p ? atoi(p) - own : -1;
}

static void lock_fs(void)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&fs_lock);
}

static void unlock_fs(void)
{
    ct_lock_release(&fs_lock);
}

/* Start the helper. Caller holds nothing; the program is single-threaded
 * (checked), so nobody races with this. */
static int start_helper(void)
{
    int threads = thread_count();
    if (threads > 1 || (threads < 0 && ct_active_count() > 1))
        return CT_ESTATE;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return ct__errno_code(errno);
    pid_t me = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        helper_main(sv[1], me);
    }
    close(sv[1]);
    if (pid < 0) {
        int err = errno;
        close(sv[0]);
        return err == EAGAIN ? CT_EAGAIN : ct__errno_code(err);
    }
    lock_fs();
    if (ctl >= 0)
        close(ctl);
    if (helper_pid > 0)
        waitpid(helper_pid, NULL, WNOHANG);
    ctl = sv[0];
    helper_pid = pid;
    started = true;
    unlock_fs();
    return 0;
}

pid_t ct__forkserver_helper_pid(void)
{
    lock_fs();
    pid_t pid = started ? helper_pid : 0;
    unlock_fs();
    return pid;
}

int ct__forkserver_ensure(void)
{
    lock_fs();
    bool running = started;
    unlock_fs();
    return running ? 0 : start_helper();
}

/* Send the request message on the control socket. 0, or EPIPE-like when
 * the helper is gone. */
static int ask(int chan)
{
    char op = 'S';
    lock_fs();
    int rc = started ? send_msg(ctl, &op, 1, (int[]){chan, ctl}, 2) : EPIPE;
    if (rc)
        started = false;
    unlock_fs();
    return rc;
}

static int send_request(int chan, const struct ct__fs_start *r, const struct ct__segment *segs,
                        size_t nsegs, int alive)
{
    size_t n1 = strlen(r->name) + 1, n2 = strlen(r->identity) + 1, n3 = strlen(r->parent_name) + 1;
    struct header h = {
        .magic = MAGIC,
        .daemon = r->daemon,
        .fn = (uint64_t)(uintptr_t)r->target,
        .arg_size = r->arg_size,
        .names_len = (uint32_t)(n1 + n2 + n3),
        .parent_pid = (int32_t)getpid(),
        .nsegs = (uint32_t)nsegs,
        .nfds = (uint32_t)r->nfds + (alive >= 0),
        .has_alive = alive >= 0,
    };
    if (h.names_len > 4096)
        return CT_EINVAL;
    char names[4096];
    memcpy(names, r->name, n1);
    memcpy(names + n1, r->identity, n2);
    memcpy(names + n1 + n2, r->parent_name, n3);
    int err = send_msg(chan, &h, sizeof h, NULL, 0);
    if (!err)
        err = send_msg(chan, names, h.names_len, NULL, 0);
    for (size_t at = 0; !err && at < r->arg_size; at += CHUNK) {
        size_t n = r->arg_size - at < CHUNK ? r->arg_size - at : CHUNK;
        err = send_msg(chan, (const char *)r->arg + at, n, NULL, 0);
    }
    for (size_t at = 0; !err && at < nsegs; at += SEGS_PER_MSG) {
        struct seg_entry e[SEGS_PER_MSG];
        int fds[SEGS_PER_MSG];
        size_t k = nsegs - at < SEGS_PER_MSG ? nsegs - at : SEGS_PER_MSG;
        for (size_t i = 0; i < k; i++) {
            const struct ct__segment *s = &segs[at + i];
            e[i] = (struct seg_entry){(uint64_t)(uintptr_t)s->addr, s->len, s->id,
                                      ((const struct ct__seg_header *)s->addr)->kind, 0};
            fds[i] = s->fd;
        }
        err = send_msg(chan, e, k * sizeof e[0], fds, (int)k);
    }
    if (!err && h.nfds) {
        int fds[MAX_FDS];
        for (int i = 0; i < r->nfds; i++)
            fds[i] = r->fds[i];
        if (alive >= 0)
            fds[r->nfds] = alive;
        uint32_t count = h.nfds;
        err = send_msg(chan, &count, sizeof count, fds, (int)h.nfds);
    }
    return err ? ct__errno_code(err) : 0;
}

int ct__forkserver_spawn(struct ct__fs_start *r)
{
    if (r->nfds < 0 || r->nfds > MAX_FDS - 2)
        return CT_EINVAL;
    int rc = ct__forkserver_ensure();
    if (rc)
        return rc;
    struct ct__segment *segs;
    size_t nsegs;
    if ((rc = ct__segments_snapshot(&segs, &nsegs)) != 0)
        return rc;
    int ch[2] = {-1, -1}, alive[2] = {-1, -1};
    r->pid = 0;
    r->pidfd = r->chan = r->parent_w = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch) != 0) {
        rc = ct__errno_code(errno);
        goto fail;
    }
    ct__fds_add(ch[0]);
    if (!ct__pidfd_supported()) {
        if (pipe2(alive, O_CLOEXEC) != 0) {
            rc = ct__errno_code(errno);
            goto fail;
        }
        ct__fds_add(alive[1]);
    }
    int err = ask(ch[1]);
    if (err) {
        /* The helper is gone: restart it if the program is single-threaded. */
        if ((rc = start_helper()) != 0 || (err = ask(ch[1])) != 0) {
            rc = rc ? rc : CT_EAGAIN;
            goto fail;
        }
    }
    close(ch[1]);
    ch[1] = -1;
    if ((rc = send_request(ch[0], r, segs, nsegs, alive[0])) != 0)
        goto fail;
    bool have_pid = false, have_ready = false;
    while (!(have_pid && have_ready)) {
        struct reply rep;
        int fds[MAX_FDS], nfds;
        ssize_t n = recv_msg(ch[0], &rep, sizeof rep, fds, &nfds, 0);
        if (n != (ssize_t)sizeof rep) {
            close_all(fds, nfds);
            rc = CT_EAGAIN; /* the helper died, or could not fork */
            goto fail;
        }
        if (rep.kind == MSG_PID) {
            have_pid = true;
            r->pid = rep.value;
            if (nfds > 0) {
                r->pidfd = fds[0];
                ct__fds_add(r->pidfd);
                close_all(fds + 1, nfds - 1);
            }
        } else if (rep.kind == MSG_READY) {
            close_all(fds, nfds);
            have_ready = true;
            if (rep.value) {
                rc = rep.value;
                goto fail;
            }
        } else {
            /* STATUS before READY: the child died at once. Not expected
             * (READY is sent before the target runs); treat as failure. */
            close_all(fds, nfds);
            rc = CT_EAGAIN;
            goto fail;
        }
    }
    ct__segments_free(segs, nsegs);
    if (alive[0] >= 0)
        close(alive[0]);
    r->chan = ch[0];
    r->parent_w = alive[1];
    return 0;
fail:
    ct__segments_free(segs, nsegs);
    if (r->pidfd >= 0) {
        ct__fds_remove(r->pidfd);
        close(r->pidfd);
        r->pidfd = -1;
    }
    if (ch[0] >= 0) {
        ct__fds_remove(ch[0]);
        close(ch[0]);
    }
    if (ch[1] >= 0)
        close(ch[1]);
    if (alive[0] >= 0)
        close(alive[0]);
    if (alive[1] >= 0) {
        ct__fds_remove(alive[1]);
        close(alive[1]);
    }
    return rc;
}

int ct__forkserver_read_status(int chan, int *status)
{
    struct reply rep;
    ssize_t n = recv_msg(chan, &rep, sizeof rep, NULL, NULL, MSG_DONTWAIT);
    if (n == -EAGAIN || n == -EWOULDBLOCK)
        return CT_ETIMEDOUT;
    *status = n == (ssize_t)sizeof rep && rep.kind == MSG_STATUS ? rep.value : -1;
    return 0;
}

/* A forked child shares the control socket (it may ask the helper too);
 * the helper is not its child. */
static void fs_prepare(void)
{
    lock_fs();
}

static void fs_parent(void)
{
    unlock_fs();
}

static void fs_child(void)
{
    ct_lock_init(&fs_lock, 0);
    helper_pid = 0;
}

CT__FORK_HOOKS(CT__FORK_FORKSERVER, fs_prepare, fs_parent, fs_child)
