/*
 * Named shared memory (Python's shared_memory.SharedMemory), on POSIX
 * shm_open.
 *
 * A segment is [header][size bytes]: the common segment header of
 * proc.h (magic, id, layout version, header size, size, kind, ready).
 * The creator makes the name exclusively (O_EXCL) with mode 0600 unless
 * told otherwise, sizes the object, maps it, writes the header and sets
 * `ready` last (release). An attacher maps what is there and trusts
 * nothing until magic, version, header size, kind, ready (acquire) and
 * sizes all check out: a foreign, older, truncated or half-created
 * segment is CT_EFORMAT, never undefined behaviour.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cthreading/shared.h"
#include "prim.h"
#include "proc.h"

#define NAME_MAX_LEN 250

struct ct_shared_memory {
    _Atomic int refs;
    char name[NAME_MAX_LEN + 2]; /* with the leading '/' */
    _Atomic(void *) map;         /* the whole mapping; NULL once closed */
    size_t maplen;
    size_t size;
    int fd;
};

static int check_name(const char *name, char *out)
{
    if (name[0] == '/')
        name++;
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || strchr(name, '/'))
        return CT_EINVAL;
    out[0] = '/';
    memcpy(out + 1, name, n + 1);
    return 0;
}

/* Refuse Barrier actions in named segments from now on. */
static void install_barrier_hook(void)
{
    bool (*expected)(const void *) = NULL;
    atomic_compare_exchange_strong_explicit(&ct__in_named_segment, &expected, ct__in_named,
                                            memory_order_release, memory_order_relaxed);
}

static int create(struct ct_shared_memory *m, const ct_shared_memory_opts *opts)
{
    if (opts->size == 0 || opts->size > (size_t)INT64_MAX - CT__SEG_HEADER)
        return CT_EINVAL;
    mode_t mode = opts->mode ? (mode_t)opts->mode : 0600;
    int fd = -1;
    for (int tries = 0; fd < 0; tries++) {
        if (opts->name) {
            if (check_name(opts->name, m->name))
                return CT_EINVAL;
        } else {
            snprintf(m->name, sizeof m->name, "/ct_%016llx", (unsigned long long)ct__random64());
        }
        fd = shm_open(m->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0 && (opts->name || errno != EEXIST || tries == 16))
            return ct__errno_code(errno);
    }
    size_t len = CT__SEG_HEADER + opts->size;
    /* shm_open's mode passes through the umask; the caller's word wins. */
    if (fchmod(fd, mode) != 0 || ftruncate(fd, (off_t)len) != 0) {
        int err = errno;
        shm_unlink(m->name);
        close(fd);
        return ct__errno_code(err);
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        shm_unlink(m->name);
        close(fd);
        return ct__errno_code(err);
    }
    struct ct__seg_header *h = p;
    h->magic = CT__SEG_MAGIC;
    h->id = ct__random64();
    h->version = CT__SEG_VERSION;
    h->header_size = CT__SEG_HEADER;
    h->size = opts->size;
    h->kind = CT__SEG_NAMED;
    /* release: an attacher that sees ready sees the whole header. */
    atomic_store_explicit(&h->ready, 1, memory_order_release);
    m->fd = fd;
    m->maplen = len;
    m->size = opts->size;
    atomic_init(&m->map, p);
    return 0;
}

static int attach(struct ct_shared_memory *m, const ct_shared_memory_opts *opts)
{
    if (!opts->name || check_name(opts->name, m->name))
        return CT_EINVAL;
    int fd = shm_open(m->name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return ct__errno_code(errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return ct__errno_code(err);
    }
    if (st.st_size < (off_t)CT__SEG_HEADER) {
        close(fd);
        return CT_EFORMAT;
    }
    size_t len = (size_t)st.st_size;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        close(fd);
        return ct__errno_code(err);
    }
    const struct ct__seg_header *h = p;
    int rc = 0;
    /* ready first (acquire): it orders the reads of the header after it. */
    if (atomic_load_explicit(&((struct ct__seg_header *)p)->ready, memory_order_acquire) != 1 ||
        h->magic != CT__SEG_MAGIC || h->version != CT__SEG_VERSION ||
        h->header_size != CT__SEG_HEADER || h->kind != CT__SEG_NAMED ||
        h->size > len - CT__SEG_HEADER)
        rc = CT_EFORMAT;
    else if (opts->size > h->size)
        rc = CT_EINVAL;
    if (rc) {
        munmap(p, len);
        close(fd);
        return rc;
    }
    m->fd = fd;
    m->maplen = len;
    m->size = h->size;
    atomic_init(&m->map, p);
    return 0;
}

int ct_shared_memory_new(ct_shared_memory **out, const ct_shared_memory_opts *opts)
{
    if (!opts || (opts->flags & ~CT_SHM_CREATE) || (opts->mode & ~07777u))
        return CT_EINVAL;
    struct ct_shared_memory *m = calloc(1, sizeof *m);
    if (!m)
        return CT_ENOMEM;
    atomic_init(&m->refs, 1);
    int rc = (opts->flags & CT_SHM_CREATE) ? create(m, opts) : attach(m, opts);
    if (rc == 0) {
        void *p = atomic_load_explicit(&m->map, memory_order_relaxed);
        struct ct__seg_header *h = p;
        rc = ct__segment_add(p, m->maplen, m->fd, h->id, CT__SEG_NAMED);
        if (rc) {
            munmap(p, m->maplen);
            close(m->fd);
            if (opts->flags & CT_SHM_CREATE)
                shm_unlink(m->name);
        }
    }
    if (rc) {
        free(m);
        return rc;
    }
    install_barrier_hook();
    *out = m;
    return 0;
}

ct_shared_memory *ct_shared_memory_ref(ct_shared_memory *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void ct_shared_memory_unref(ct_shared_memory *m)
{
    if (!m || atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    ct_shared_memory_close(m);
    free(m);
}

void *ct_shared_memory_buf(const ct_shared_memory *m)
{
    char *p = atomic_load_explicit(&((struct ct_shared_memory *)m)->map, memory_order_acquire);
    return p ? p + CT__SEG_HEADER : NULL;
}

size_t ct_shared_memory_size(const ct_shared_memory *m)
{
    return m->size;
}

const char *ct_shared_memory_name(const ct_shared_memory *m)
{
    return m->name + 1;
}

int ct_shared_memory_close(ct_shared_memory *m)
{
    void *p = atomic_exchange_explicit(&m->map, NULL, memory_order_acq_rel);
    if (p) {
        ct__segment_remove(p);
        munmap(p, m->maplen);
        close(m->fd);
        m->fd = -1;
    }
    return 0;
}

int ct_shared_memory_unlink(ct_shared_memory *m)
{
    return shm_unlink(m->name) == 0 ? 0 : ct__errno_code(errno);
}
