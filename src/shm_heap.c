/*
 * Shared memory for related processes: the arenas behind ct_shared_alloc
 * (and so behind Value, Array and the process queue), and the registry
 * of every shared segment mapped in this process.
 *
 * An arena is a memfd (or an unlinked POSIX shm object) mapped
 * MAP_SHARED, 1 MiB, starting with the common segment header (proc.h).
 * Blocks are carved first-fit from a free list that lives in the memory
 * of the process that created the arena; each block is preceded by 64
 * bytes holding a check word and its size, so a pointer that did not
 * come from ct_shared_alloc is refused rather than trusted. A request of
 * more than 256 KiB gets a segment of its own.
 *
 * Fork: a child shares every arena (the mappings are inherited), but it
 * must never allocate from its parent's arenas, whose free lists both
 * processes would then hand out (Python's heap starts afresh after fork
 * too). So an arena is allocatable only in the fork generation that
 * created it; a child makes arenas of its own, and a free of a block in
 * an inherited arena is a no-op there: the block belongs to its creator.
 *
 * Descriptors stay open (close-on-exec) for as long as a segment is
 * mapped, so that the forkserver can hand them to its children, which
 * map every segment of the parent at the parent's address
 * (ct__segment_adopt): pointers into shared memory mean the same thing
 * in every process of the family, whichever start method made it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cthreading/lock.h"
#include "cthreading/shared.h"
#include "fork.h"
#include "prim.h"
#include "proc.h"

#define ARENA_SIZE (1u << 20)
#define BIG_BLOCK (256u << 10)
#define ALIGN 64u
#define BLOCK_MAGIC 0x6b636f6c42746300ull

struct range {
    size_t off, len;
};

struct seg {
    struct ct__seg_header *hdr; /* the mapping */
    size_t len;
    int fd;
    uint64_t id;
    int kind;
    unsigned generation; /* the fork generation that may allocate from it */
    bool allocatable;    /* a shared arena of this process (not dedicated) */
    bool dedicated;      /* one block, unmapped when it is freed */
    struct range *free;  /* sorted by offset, coalesced */
    size_t nfree, capfree;
    struct seg *next;
};

struct block {
    uint64_t check;
    uint64_t size; /* usable bytes, a multiple of ALIGN */
};

static ct_lock heap_lock = CT_LOCK_INIT; /* guards the list and the free lists */
static struct seg *segs;

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

uint64_t ct__random64(void)
{
    uint64_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 17);
    return r * 0x9E3779B97F4A7C15ull;
}

int ct__anon_fd(size_t len, int *err)
{
    int fd = -1;
#ifdef MFD_CLOEXEC
    fd = memfd_create("cthreading", MFD_CLOEXEC);
#endif
    if (fd < 0) {
        char name[40];
        for (int tries = 0; fd < 0 && tries < 8; tries++) {
            snprintf(name, sizeof name, "/ct-anon-%016llx", (unsigned long long)ct__random64());
            fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd >= 0)
                shm_unlink(name);
            else if (errno != EEXIST)
                break;
        }
    }
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (ftruncate(fd, (off_t)len) != 0) {
        *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

static struct seg *find(const void *p)
{
    for (struct seg *s = segs; s; s = s->next)
        if ((const char *)p >= (const char *)s->hdr && (const char *)p < (const char *)s->hdr + s->len)
            return s;
    return NULL;
}

/* Link a mapping into the registry. Caller holds heap_lock. */
static struct seg *link_seg(void *addr, size_t len, int fd, uint64_t id, int kind)
{
    struct seg *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->hdr = addr;
    s->len = len;
    s->fd = fd;
    s->id = id;
    s->kind = kind;
    s->generation = ct__fork_generation();
    s->next = segs;
    segs = s;
    return s;
}

static void unlink_seg(struct seg *s)
{
    for (struct seg **at = &segs; *at; at = &(*at)->next)
        if (*at == s) {
            *at = s->next;
            break;
        }
    free(s->free);
    free(s);
}

/* Map a new segment of `len` bytes with its header written. */
static int new_segment(size_t len, int kind, void **addr, int *fd_out, uint64_t *id_out)
{
    int err = 0;
    int fd = ct__anon_fd(len, &err);
    if (fd < 0)
        return ct__errno_code(err);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        err = errno;
        close(fd);
        return err == ENOMEM ? CT_ENOMEM : CT_ENORES;
    }
    struct ct__seg_header *h = p;
    h->magic = CT__SEG_MAGIC;
    h->id = ct__random64();
    h->version = CT__SEG_VERSION;
    h->header_size = CT__SEG_HEADER;
    h->size = len - CT__SEG_HEADER;
    h->kind = (uint32_t)kind;
    atomic_store_explicit(&h->ready, 1, memory_order_release);
    *addr = p;
    *fd_out = fd;
    *id_out = h->id;
    return 0;
}

static int push_range(struct seg *s, size_t at, struct range r)
{
    if (s->nfree == s->capfree) {
        size_t cap = s->capfree ? s->capfree * 2 : 8;
        struct range *grown = realloc(s->free, cap * sizeof *grown);
        if (!grown)
            return CT_ENOMEM;
        s->free = grown;
        s->capfree = cap;
    }
    memmove(&s->free[at + 1], &s->free[at], (s->nfree - at) * sizeof *s->free);
    s->free[at] = r;
    s->nfree++;
    return 0;
}

static void drop_range(struct seg *s, size_t at)
{
    memmove(&s->free[at], &s->free[at + 1], (s->nfree - at - 1) * sizeof *s->free);
    s->nfree--;
}

/* First fit in s: the offset of `need` bytes, or 0 when there is no room. */
static size_t take_from(struct seg *s, size_t need)
{
    for (size_t i = 0; i < s->nfree; i++) {
        if (s->free[i].len < need)
            continue;
        size_t off = s->free[i].off;
        s->free[i].off += need;
        s->free[i].len -= need;
        if (s->free[i].len == 0)
            drop_range(s, i);
        return off;
    }
    return 0;
}

/* Give [off, off+len) back to s, merging with its neighbours. */
static int give_back(struct seg *s, size_t off, size_t len)
{
    size_t i = 0;
    while (i < s->nfree && s->free[i].off < off)
        i++;
    bool left = i > 0 && s->free[i - 1].off + s->free[i - 1].len == off;
    bool right = i < s->nfree && off + len == s->free[i].off;
    if (left && right) {
        s->free[i - 1].len += len + s->free[i].len;
        drop_range(s, i);
    } else if (left) {
        s->free[i - 1].len += len;
    } else if (right) {
        s->free[i].off = off;
        s->free[i].len += len;
    } else {
        return push_range(s, i, (struct range){off, len});
    }
    return 0;
}

static struct block *block_of(void *p)
{
    return (struct block *)((char *)p - ALIGN);
}

static uint64_t check_of(const void *p, uint64_t id)
{
    return (uint64_t)(uintptr_t)p ^ BLOCK_MAGIC ^ id;
}

int ct_shared_alloc(void **out, size_t size)
{
    if (size == 0 || size > SIZE_MAX / 2)
        return CT_EINVAL;
    size_t usable = round_up(size, ALIGN);
    size_t need = usable + ALIGN;
    ct__lock_acquire_forever((struct ct__lock *)(void *)&heap_lock);
    struct seg *s = NULL;
    size_t off = 0;
    int rc = 0;
    if (need > BIG_BLOCK) {
        size_t len = round_up(CT__SEG_HEADER + need, (size_t)sysconf(_SC_PAGESIZE));
        void *addr;
        int fd;
        uint64_t id;
        rc = new_segment(len, CT__SEG_ARENA, &addr, &fd, &id);
        if (rc == 0 && !(s = link_seg(addr, len, fd, id, CT__SEG_ARENA))) {
            munmap(addr, len);
            close(fd);
            rc = CT_ENOMEM;
        }
        if (s) {
            s->dedicated = true;
            off = CT__SEG_HEADER;
        }
    } else {
        unsigned gen = ct__fork_generation();
        for (s = segs; s; s = s->next)
            if (s->allocatable && s->generation == gen && (off = take_from(s, need)) != 0)
                break;
        if (!s) {
            void *addr;
            int fd;
            uint64_t id;
            rc = new_segment(ARENA_SIZE, CT__SEG_ARENA, &addr, &fd, &id);
            if (rc == 0 && !(s = link_seg(addr, ARENA_SIZE, fd, id, CT__SEG_ARENA))) {
                munmap(addr, ARENA_SIZE);
                close(fd);
                rc = CT_ENOMEM;
            }
            if (s) {
                s->allocatable = true;
                if (push_range(s, 0, (struct range){CT__SEG_HEADER, ARENA_SIZE - CT__SEG_HEADER})) {
                    munmap(addr, ARENA_SIZE);
                    close(fd);
                    unlink_seg(s);
                    s = NULL;
                    rc = CT_ENOMEM;
                } else {
                    off = take_from(s, need);
                }
            }
        }
    }
    if (s) {
        char *p = (char *)s->hdr + off + ALIGN;
        struct block *b = block_of(p);
        b->check = check_of(p, s->id);
        b->size = usable;
        memset(p, 0, usable); /* a block may be reused: Python's RawArray is zeroed too */
        *out = p;
    }
    ct_lock_release(&heap_lock);
    return rc;
}

int ct_shared_free(void *p)
{
    if (!p)
        return 0;
    ct__lock_acquire_forever((struct ct__lock *)(void *)&heap_lock);
    struct seg *s = find(p);
    int rc = 0;
    if (!s || s->kind != CT__SEG_ARENA || ((uintptr_t)p % ALIGN) != 0 ||
        (char *)p < (char *)s->hdr + CT__SEG_HEADER + ALIGN ||
        block_of(p)->check != check_of(p, s->id)) {
        rc = CT_EINVAL;
    } else if (s->generation != ct__fork_generation()) {
        rc = 0; /* inherited: the block belongs to the process that made it */
    } else if (s->dedicated) {
        block_of(p)->check = 0;
        munmap(s->hdr, s->len);
        close(s->fd);
        unlink_seg(s);
    } else {
        struct block *b = block_of(p);
        size_t off = (size_t)((char *)b - (char *)s->hdr);
        size_t len = b->size + ALIGN;
        b->check = 0; /* a second free is refused */
        rc = give_back(s, off, len);
    }
    ct_lock_release(&heap_lock);
    return rc;
}

bool ct__shared_block_owned(const void *p)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&heap_lock);
    struct seg *s = find(p);
    bool mine = s && s->generation == ct__fork_generation();
    ct_lock_release(&heap_lock);
    return mine;
}

/* ---- the segment registry ---- */

int ct__segment_add(void *addr, size_t len, int fd, uint64_t id, int kind)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&heap_lock);
    struct seg *s = link_seg(addr, len, fd, id, kind);
    ct_lock_release(&heap_lock);
    return s ? 0 : CT_ENOMEM;
}

void ct__segment_remove(void *addr)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&heap_lock);
    for (struct seg *s = segs; s; s = s->next)
        if ((void *)s->hdr == addr) {
            unlink_seg(s);
            break;
        }
    ct_lock_release(&heap_lock);
}

bool ct__in_named(const void *addr)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&heap_lock);
    struct seg *s = find(addr);
    bool named = s && s->kind == CT__SEG_NAMED;
    ct_lock_release(&heap_lock);
    return named;
}

int ct__segments_snapshot(struct ct__segment **out, size_t *n)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&heap_lock);
    size_t count = 0;
    for (struct seg *s = segs; s; s = s->next)
        count++;
    struct ct__segment *list = calloc(count ? count : 1, sizeof *list);
    int rc = list ? 0 : CT_ENOMEM;
    size_t i = 0;
    for (struct seg *s = segs; s && rc == 0; s = s->next) {
        int fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            rc = ct__errno_code(errno);
            break;
        }
        list[i++] = (struct ct__segment){s->hdr, s->len, fd, s->id};
    }
    ct_lock_release(&heap_lock);
    if (rc) {
        if (list)
            ct__segments_free(list, i);
        return rc;
    }
    *out = list;
    *n = i;
    return 0;
}

void ct__segments_free(struct ct__segment *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].fd >= 0)
            close(list[i].fd);
    free(list);
}

int ct__segment_adopt(const struct ct__segment *want, int kind)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&heap_lock);
    int rc = 0;
    for (struct seg *s = segs, *next; s; s = next) {
        next = s->next;
        bool overlaps = (char *)s->hdr < (char *)want->addr + want->len &&
                        (char *)want->addr < (char *)s->hdr + s->len;
        if (!overlaps)
            continue;
        if (s->id == want->id && (void *)s->hdr == want->addr && s->len == want->len) {
            /* Inherited by the helper already: the same memory. */
            close(want->fd);
            ct_lock_release(&heap_lock);
            return 0;
        }
        /* A segment the parent has unmapped since the helper started. */
        munmap(s->hdr, s->len);
        close(s->fd);
        unlink_seg(s);
    }
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
    void *p = mmap(want->addr, want->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
                   want->fd, 0);
    if (p != MAP_FAILED && p != want->addr) {
        /* An old kernel took the flag as a hint and chose elsewhere. */
        munmap(p, want->len);
        p = MAP_FAILED;
    }
    if (p == MAP_FAILED) {
        rc = CT_ENORES;
        close(want->fd);
    } else {
        struct seg *s = link_seg(p, want->len, want->fd, want->id, kind);
        if (!s) {
            munmap(p, want->len);
            close(want->fd);
            rc = CT_ENOMEM;
        } else {
            s->generation = ~0u; /* never allocated from here */
        }
    }
    ct_lock_release(&heap_lock);
    return rc;
}

static void heap_prepare(void)
{
    ct__lock_acquire_forever((struct ct__lock *)(void *)&heap_lock);
}

static void heap_parent(void)
{
    ct_lock_release(&heap_lock);
}

static void heap_child(void)
{
    ct_lock_init(&heap_lock, 0);
}

CT__FORK_HOOKS(CT__FORK_SHM, heap_prepare, heap_parent, heap_child)
