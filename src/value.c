/*
 * Value and Array (Python's multiprocessing.Value / Array and their Raw
 * forms): a header and the elements, in one block of shared memory from
 * ct_shared_alloc, so a child sees the very same object at the same
 * address. A Value is an array of one.
 *
 * The header holds the object's own RLock (CT_PSHARED, so robust) and a
 * pointer to the lock in use: its own, one the caller gave, or none. The
 * pointer is valid in every process of the family (shared memory has the
 * same address in all of them, see shared.h). References are counted in
 * the creating process only: in another process ref and unref do nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "cthreading/shared.h"
#include "prim.h"
#include "proc.h"

#define VALUE_MAGIC 0x756c6176u /* "valu" */
#define ARRAY_MAGIC 0x79617261u /* "aray" */

struct shared_obj {
    uint32_t magic;
    char typecode;
    uint8_t raw;
    uint16_t unused;
    uint32_t itemsize;
    uint32_t unused2;
    uint64_t length;
    _Atomic int64_t refs; /* in the creating process */
    ct_rlock own;
    ct_rlock *lock; /* &own, the caller's, or NULL */
    _Alignas(64) unsigned char data[];
};

/* ct_value and ct_array are never defined: both are a shared_obj. */
#define O(x) ((struct shared_obj *)(void *)(x))
#define CO(x) ((const struct shared_obj *)(const void *)(x))

static size_t size_of(char typecode)
{
    switch (typecode) {
    case 'c':
    case 'b':
    case 'B':
        return 1;
    case '?':
        return sizeof(_Bool);
    case 'h':
    case 'H':
        return sizeof(short);
    case 'i':
    case 'I':
        return sizeof(int);
    case 'l':
    case 'L':
        return sizeof(long);
    case 'q':
    case 'Q':
        return sizeof(long long);
    case 'f':
        return sizeof(float);
    case 'd':
        return sizeof(double);
    default:
        return 0;
    }
}

static int make(struct shared_obj **out, uint32_t magic, unsigned flags, char typecode,
                size_t size, size_t length, const void *init, ct_rlock *rlock)
{
    if ((flags & ~CT_SHARED_RAW) || length == 0 || ((flags & CT_SHARED_RAW) && rlock))
        return CT_EINVAL;
    size_t item = typecode ? size_of(typecode) : size;
    if (item == 0 || (typecode && size != 0) || item > UINT32_MAX ||
        length > (SIZE_MAX - sizeof(struct shared_obj)) / item)
        return CT_EINVAL;
    struct shared_obj *o;
    int rc = ct_shared_alloc((void **)&o, sizeof *o + item * length);
    if (rc)
        return rc;
    o->magic = magic;
    o->typecode = typecode;
    o->raw = (flags & CT_SHARED_RAW) != 0;
    o->itemsize = (uint32_t)item;
    o->length = length;
    atomic_init(&o->refs, 1);
    ct_rlock_init(&o->own, CT_PSHARED);
    o->lock = o->raw ? NULL : rlock ? rlock : &o->own;
    if (init)
        memcpy(o->data, init, item * length);
    *out = o;
    return 0;
}

static void ref(struct shared_obj *o)
{
    if (ct__shared_block_owned(o))
        atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

static void unref(struct shared_obj *o)
{
    if (!o || !ct__shared_block_owned(o))
        return;
    if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1) {
        o->magic = 0;
        ct_shared_free(o);
    }
}

/* Copy n elements from `start` out to `user` (or in from it), under the
 * lock. */
static int copy(struct shared_obj *o, size_t start, size_t n, void *user, bool in)
{
    if (start > o->length || n > o->length - start)
        return CT_EINVAL;
    int rc = 0;
    if (o->lock) {
        rc = ct_rlock_acquire(o->lock, CT_FOREVER);
        if (rc && rc != CT_EOWNERDEAD)
            return rc;
    }
    size_t bytes = n * o->itemsize, at = start * o->itemsize;
    if (in)
        memcpy(o->data + at, user, bytes);
    else
        memcpy(user, o->data + at, bytes);
    if (o->lock)
        ct_rlock_release(o->lock);
    return rc;
}

/* ---- Value ---- */

int ct_value_new(ct_value **out, const ct_value_opts *opts)
{
    static const ct_value_opts none;
    if (!opts)
        opts = &none;
    if (opts->typecode == 0 && opts->size == 0)
        return CT_EINVAL;
    return make((struct shared_obj **)out, VALUE_MAGIC, opts->flags, opts->typecode, opts->size, 1,
                opts->init, opts->rlock);
}

ct_value *ct_value_ref(ct_value *v)
{
    ref(O(v));
    return v;
}

void ct_value_unref(ct_value *v)
{
    unref(O(v));
}

int ct_value_get(ct_value *v, void *out)
{
    return copy(O(v), 0, 1, out, false);
}

int ct_value_set(ct_value *v, const void *in)
{
    return copy(O(v), 0, 1, (void *)in, true);
}

void *ct_value_ptr(ct_value *v)
{
    return O(v)->data;
}

ct_rlock *ct_value_get_lock(ct_value *v)
{
    return O(v)->lock;
}

char ct_value_typecode(const ct_value *v)
{
    return O(v)->typecode;
}

size_t ct_value_size(const ct_value *v)
{
    return O(v)->itemsize;
}

/* ---- Array ---- */

int ct_array_new(ct_array **out, const ct_array_opts *opts)
{
    if (!opts)
        return CT_EINVAL;
    return make((struct shared_obj **)out, ARRAY_MAGIC, opts->flags, opts->typecode, opts->size,
                opts->length, opts->init, opts->rlock);
}

ct_array *ct_array_ref(ct_array *a)
{
    ref(O(a));
    return a;
}

void ct_array_unref(ct_array *a)
{
    unref(O(a));
}

int ct_array_get(ct_array *a, size_t index, void *out)
{
    return copy(O(a), index, 1, out, false);
}

int ct_array_set(ct_array *a, size_t index, const void *in)
{
    return copy(O(a), index, 1, (void *)in, true);
}

int ct_array_read(ct_array *a, size_t start, size_t count, void *out)
{
    return copy(O(a), start, count, out, false);
}

int ct_array_write(ct_array *a, size_t start, size_t count, const void *in)
{
    return copy(O(a), start, count, (void *)in, true);
}

void *ct_array_ptr(ct_array *a)
{
    return O(a)->data;
}

ct_rlock *ct_array_get_lock(ct_array *a)
{
    return O(a)->lock;
}

size_t ct_array_length(const ct_array *a)
{
    return (size_t)O(a)->length;
}

char ct_array_typecode(const ct_array *a)
{
    return O(a)->typecode;
}

size_t ct_array_itemsize(const ct_array *a)
{
    return O(a)->itemsize;
}
