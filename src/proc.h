/*
 * Internal: what the files of the process layer (layer 6 of DESIGN.md)
 * share: process.c (Process objects, children, exit), forkserver.c (the
 * helper process), shm_heap.c (anonymous shared arenas, the segment
 * registry), shm.c (named segments), value.c, process_queue.c and
 * process_pool.c.
 */
#ifndef CT_SRC_PROC_H
#define CT_SRC_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "cthreading/process.h"

/* ---- system calls that libc may lack ---- */

/* pidfd_open(pid): a descriptor that becomes readable when the process
 * ends; -1 with errno (ENOSYS on kernels before 5.3). Close-on-exec. */
CT__HIDDEN int ct__pidfd_open(pid_t pid);
/* pidfd_send_signal; -1 with errno. */
CT__HIDDEN int ct__pidfd_kill(int pidfd, int sig);
/* Whether pidfds work here (probed once; tests may turn them off to
 * exercise the fallback). */
CT__HIDDEN bool ct__pidfd_supported(void);
CT__HIDDEN void ct__set_no_pidfd(bool off);

/* A system error as a result code: EMFILE and friends are CT_ENORES, ENOMEM
 * CT_ENOMEM, EACCES / EPERM CT_EPERM, ENOENT CT_ENOENT, EEXIST CT_EEXIST,
 * EAGAIN CT_EAGAIN, anything else CT_ENORES. */
CT__HIDDEN int ct__errno_code(int err);

/* Write / read exactly n bytes, retrying after EINTR. 0, or the errno
 * (EPIPE / ECONNRESET when the peer is gone; read: EPIPE at end of file). */
CT__HIDDEN int ct__write_all(int fd, const void *buf, size_t n);
CT__HIDDEN int ct__read_all(int fd, void *buf, size_t n);

/* ---- descriptors that children must not inherit ---- */

/* The process layer's own descriptors (sentinels, pool channels,
 * forkserver channels): every process started by ct_process_start closes
 * them first thing, except the ones it was handed (ct__fds_close_inherited
 * `keep`). Raw fork() children inherit them, as they inherit everything. */
CT__HIDDEN void ct__fds_add(int fd);
CT__HIDDEN void ct__fds_remove(int fd);
CT__HIDDEN void ct__fds_close_inherited(const int *keep, int nkeep);

/* ---- shared segments (shm_heap.c) ---- */

/* The header at offset 0 of every segment the library creates: anonymous
 * arenas and named segments alike. An attaching process checks magic,
 * version and sizes before it trusts anything else. */
#define CT__SEG_MAGIC 0x31766d6873746300ull /* "\0ctshmv1" */
#define CT__SEG_VERSION 1u
#define CT__SEG_HEADER 64u
enum { CT__SEG_ARENA = 1, CT__SEG_NAMED = 2 };

struct ct__seg_header {
    uint64_t magic;
    uint64_t id;          /* random: tells a segment from another at one address */
    uint32_t version;
    uint32_t header_size; /* CT__SEG_HEADER */
    uint64_t size;        /* usable bytes after the header */
    uint32_t kind;
    _Atomic uint32_t ready; /* 1 once the creator has written the header */
    uint8_t pad[24];
};
_Static_assert(sizeof(struct ct__seg_header) == CT__SEG_HEADER, "segment header size");

/* A segment mapped in this process: where, how long, its descriptor. */
struct ct__segment {
    void *addr;
    size_t len; /* of the whole mapping, header included */
    int fd;
    uint64_t id;
};

/* Register / forget a mapped segment (named segments call these; arenas
 * are registered by shm_heap.c itself). */
CT__HIDDEN int ct__segment_add(void *addr, size_t len, int fd, uint64_t id, int kind);
CT__HIDDEN void ct__segment_remove(void *addr);
/* Copy the list of mapped segments, with duplicated descriptors the
 * caller closes (ct__segments_free). For the forkserver. */
CT__HIDDEN int ct__segments_snapshot(struct ct__segment **out, size_t *n);
CT__HIDDEN void ct__segments_free(struct ct__segment *segs, size_t n);
/* In a forkserver child: map a parent's segment at the parent's address
 * (or find it there already, inherited by the helper) and register it.
 * 0, or CT_ENORES when the address is taken by something else. */
CT__HIDDEN int ct__segment_adopt(const struct ct__segment *s, int kind);
/* Whether the block at p belongs to this process's allocator (it was
 * allocated by this process, not inherited). */
CT__HIDDEN bool ct__shared_block_owned(const void *p);
/* Whether addr lies in a named segment mapped here (the Barrier hook). */
CT__HIDDEN bool ct__in_named(const void *addr);
/* A random 64-bit number (getrandom, else the clock and the pid). */
CT__HIDDEN uint64_t ct__random64(void);
/* A new segment's descriptor: memfd, else an unlinked POSIX shm object. */
CT__HIDDEN int ct__anon_fd(size_t len, int *err);

/* ---- processes (process.c) ---- */

/* Start p with extra descriptors handed to the child (the pool's
 * channels): inherited as they are with fork, passed over the socket with
 * the forkserver. In the child, ct__process_passed_fd(i) gives the i-th. */
CT__HIDDEN int ct__process_start_fds(ct_process *p, const int *fds, int nfds);
CT__HIDDEN int ct__process_passed_fd(int i);

/* What a child needs to become itself (process.c), filled by the start
 * path of either method. */
struct ct__child_setup {
    const char *name, *identity, *parent_name;
    int daemon;
    pid_t parent_pid;
    int parent_sentinel; /* fallback only: readable once the parent ends; -1 */
    const int *passed;   /* descriptors handed over (ct__process_passed_fd) */
    int npassed;
};
/* Become the process described, run target(arg), and end with its code
 * (the exit sequence of ct_process_exit). Never returns. */
CT__HIDDEN _Noreturn void ct__process_child_run(const struct ct__child_setup *setup,
                                                ct_process *self, ct_process_fn target,
                                                void *arg);
/* The child's side of the protocol is done: the exit sequence. */
CT__HIDDEN _Noreturn void ct__process_exit_now(int code);

/* ---- the forkserver (forkserver.c) ---- */

/* Everything the forkserver needs to start p; fills pid, pidfd (or -1)
 * and chan (the channel that will carry the exit status). */
struct ct__fs_start {
    ct_process_fn target;
    const void *arg;
    size_t arg_size;
    const char *name, *identity, *parent_name;
    int daemon;
    const int *fds;
    int nfds;
    /* out */
    pid_t pid;
    int pidfd;    /* -1 without pidfds */
    int chan;     /* carries the exit status */
    int parent_w; /* without pidfds: keeps the child's parent sentinel open */
};
CT__HIDDEN int ct__forkserver_spawn(struct ct__fs_start *req);
/* Read, without blocking, the exit status the helper sends on chan once
 * it has reaped the child: 0 with *status (a waitpid status, or -1 when
 * the helper died and nobody knows), or CT_ETIMEDOUT when nothing is
 * there yet. */
CT__HIDDEN int ct__forkserver_read_status(int chan, int *status);
/* Start the helper unless it runs: 0, CT_ESTATE (the program has
 * threads), CT_EAGAIN / CT_ENORES. */
CT__HIDDEN int ct__forkserver_ensure(void);
/* The helper's pid when this process started it, else 0 (for tests). */
CT__HIDDEN pid_t ct__forkserver_helper_pid(void);

#endif
