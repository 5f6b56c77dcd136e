/*
 * The operating-system side of the process layer: pidfds, whole reads
 * and writes, errno to result codes, and the registry of descriptors that
 * children must not inherit.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cthreading/lock.h"
#include "fork.h"
#include "prim.h"
#include "proc.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* 0 unknown, 1 supported, -1 not (or turned off by a test). */
static _Atomic int pidfd_state;

int ct__pidfd_open(pid_t pid)
{
    if (atomic_load_explicit(&pidfd_state, memory_order_relaxed) < 0) {
        errno = ENOSYS;
        return -1;
    }
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int ct__pidfd_kill(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

bool ct__pidfd_supported(void)
{
    int s = atomic_load_explicit(&pidfd_state, memory_order_relaxed);
    if (s == 0) {
        int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        s = fd >= 0 ? 1 : -1;
        if (fd >= 0)
            close(fd);
        int expected = 0;
        atomic_compare_exchange_strong_explicit(&pidfd_state, &expected, s,
                                                memory_order_relaxed, memory_order_relaxed);
        s = atomic_load_explicit(&pidfd_state, memory_order_relaxed);
    }
    return s > 0;
}

void ct__set_no_pidfd(bool off)
{
    atomic_store_explicit(&pidfd_state, off ? -1 : 0, memory_order_relaxed);
}

int ct__errno_code(int err)
{
    switch (err) {
    case 0:
        return 0;
    case ENOMEM:
        return CT_ENOMEM;
    case EACCES:
    case EPERM:
        return CT_EPERM;
    case ENOENT:
        return CT_ENOENT;
    case EEXIST:
        return CT_EEXIST;
    case EAGAIN:
        return CT_EAGAIN;
    case EINVAL:
    case ENAMETOOLONG:
        return CT_EINVAL;
    default:
        return CT_ENORES;
    }
}

int ct__write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK)
            w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ct__read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (r == 0)
            return EPIPE;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* ---- the descriptor registry ---- */

static ct_lock fds_lock = CT_LOCK_INIT;
static int *fds;
static size_t nfds, capfds;

void ct__fds_add(int fd)
{
    if (fd < 0)
        return;
    ct__lock_acquire_forever((struct ct__lock *)(void *)&fds_lock);
    if (nfds == capfds) {
        size_t cap = capfds ? capfds * 2 : 32;
        int *grown = realloc(fds, cap * sizeof *grown);
        if (!grown) {
            /* Not fatal: a child would inherit one more descriptor. */
            ct_lock_release(&fds_lock);
            return;
        }
        fds = grown;
        capfds = cap;
    }
    fds[nfds++] = fd;
    ct_lock_release(&fds_lock);
}

void ct__fds_remove(int fd)
{
    if (fd < 0)
        return;
    ct__lock_acquire_forever((struct ct__lock *)(void *)&fds_lock);
    for (size_t i = 0; i < nfds; i++)
        if (fds[i] == fd) {
            fds[i] = fds[--nfds];
            break;
        }
    ct_lock_release(&fds_lock);
}

/* In a child just forked (one thread; the fork hooks made the lock
 * free): close every registered descriptor but those kept, and forget
 * them. */
void ct__fds_close_inherited(const int *keep, int nkeep)
{
    for (size_t i = 0; i < nfds; i++) {
        bool kept = false;
        for (int k = 0; k < nkeep && !kept; k++)
            kept = keep[k] == fds[i];
        if (!kept)
            close(fds[i]);
    }
    nfds = 0;
}

static void fds_prepare(void)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&fds_lock);
}

static void fds_parent(void)
{
    ct_lock_release(&fds_lock);
}

static void fds_child(void)
{
    ct_lock_init(&fds_lock, 0);
}

CT__FORK_HOOKS(CT__FORK_PROCESS_OS, fds_prepare, fds_parent, fds_child)
