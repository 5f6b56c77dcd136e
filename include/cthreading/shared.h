/*
 * cthreading/shared.h - memory shared between processes (Python's
 * multiprocessing.Value / RawValue / Array / RawArray, the heap behind
 * them, and multiprocessing.shared_memory.SharedMemory).
 *
 * Three ways to share:
 * - ct_shared_alloc: zeroed memory for your own structs, visible to every
 *   process started afterwards (ct_process, either start method, or
 *   fork()). Put primitives there (ct_lock_init(&s->lock, CT_PSHARED))
 *   and they work between those processes.
 * - Value and Array: a typed scalar or fixed-length array in shared
 *   memory, with a process-shared RLock of its own (get_lock), or none
 *   (CT_SHARED_RAW, Python's RawValue / RawArray).
 * - Named shared memory (ct_shared_memory): a segment with a name that
 *   any process, related or not, can attach to.
 *
 * Lifetime. Value, Array and ct_shared_alloc memory is reference counted
 * (Value, Array) or freed (ct_shared_free) by the process that created
 * it; in any other process those calls do nothing and the memory lives
 * as long as that process maps it. Free it only once no other process
 * uses it any more (join them first): its space is reused. Every shared
 * byte stays mapped in a process until it exits.
 *
 * Addresses. Memory from ct_shared_alloc (and Values, Arrays, process
 * queues) has the same address in every process of the family: fork
 * copies the mappings, and the forkserver maps each segment of the parent
 * at the parent's address in the child. So pointers to it, and pointers
 * inside it to other shared memory, may be passed to children as they
 * are. A named segment attached by an unrelated process may be mapped at
 * any address there: put no pointers in it; a CT_PSHARED Condition finds
 * its lock by offset, so a Condition and its lock in one named segment
 * work; a Barrier action is refused there.
 *
 * Visibility: Value and Array get/set take the object's RLock, so a get
 * sees every set that released the lock before it. Raw objects and
 * ct_shared_alloc memory are plain memory: order accesses with
 * primitives (or C11 atomics) as between threads.
 */
#ifndef CTHREADING_SHARED_H
#define CTHREADING_SHARED_H

#include <stddef.h>

#include "cthreading/error.h"
#include "cthreading/lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- raw shared memory (Python's multiprocessing.heap) ---- */

/*
 * ct_shared_alloc - `size` bytes of zeroed shared memory, aligned to 64
 * bytes, in *out. Does not block for long. Returns 0, CT_EINVAL (size 0
 * or absurd), CT_ENOMEM, CT_ENORES (no descriptor or shared memory left).
 */
CT_API int ct_shared_alloc(void **out, size_t size);

/*
 * ct_shared_free - give back memory from ct_shared_alloc (NULL is
 * allowed). In a process other than the one that allocated it, does
 * nothing. Returns 0, or CT_EINVAL for a pointer that ct_shared_alloc did
 * not return (or one freed already): it is left alone.
 */
CT_API int ct_shared_free(void *p);

/* ---- Value and Array ---- */

/* Flag of ct_value_opts / ct_array_opts: no lock (RawValue, RawArray). */
#define CT_SHARED_RAW 1u

/*
 * Typecodes, Python's (array module / ctypes): 'c' char, 'b' signed
 * char, 'B' unsigned char, '?' bool, 'h' short, 'H' unsigned short, 'i'
 * int, 'I' unsigned, 'l' long, 'L' unsigned long, 'q' long long, 'Q'
 * unsigned long long, 'f' float, 'd' double. Typecode 0 with a size: an
 * element of `size` bytes (a struct of yours; Python's ctypes type).
 */

typedef struct ct_value ct_value;

typedef struct ct_value_opts {
    unsigned flags;     /* 0 or CT_SHARED_RAW */
    char typecode;      /* see above */
    size_t size;        /* typecode 0: the element size; else 0 */
    const void *init;   /* the initial value (one element); NULL: zero */
    ct_rlock *rlock;    /* the lock to use (Python's lock=...): a CT_PSHARED
                           RLock in shared memory; NULL: a new one */
} ct_value_opts;

/*
 * ct_value_new - a Value in shared memory (Python's Value(typecode, v)).
 * Stores one reference in *out. Returns 0, CT_EINVAL (unknown typecode,
 * size given with a typecode or missing without, CT_SHARED_RAW with
 * rlock, unknown flag), CT_ENOMEM, CT_ENORES.
 */
CT_API int ct_value_new(ct_value **out, const ct_value_opts *opts);
CT_API ct_value *ct_value_ref(ct_value *v);
/* The last unref in the creating process frees it (see Lifetime). */
CT_API void ct_value_unref(ct_value *v);

/*
 * ct_value_get / ct_value_set - copy the value out / in, holding its lock
 * (Python's .value). Block while another process holds the lock. Return
 * 0, or CT_EOWNERDEAD when a process died holding the lock (the copy is
 * made anyway; see cthreading/lock.h), or CT_EINTERRUPTED / CT_EINTR
 * (nothing copied). Raw values copy without a lock and return 0.
 */
CT_API int ct_value_get(ct_value *v, void *out);
CT_API int ct_value_set(ct_value *v, const void *in);

/* ct_value_ptr - the value's storage (Python's get_obj()): read and
 * write it holding get_lock(). ct_value_get_lock - its RLock (Python's
 * get_lock()), NULL for a raw value. */
CT_API void *ct_value_ptr(ct_value *v);
CT_API ct_rlock *ct_value_get_lock(ct_value *v);

/* The typecode (0 for a sized element) and the element size. */
CT_API char ct_value_typecode(const ct_value *v);
CT_API size_t ct_value_size(const ct_value *v);

typedef struct ct_array ct_array;

typedef struct ct_array_opts {
    unsigned flags;     /* 0 or CT_SHARED_RAW */
    char typecode;      /* as for ct_value_opts */
    size_t size;        /* typecode 0: the element size; else 0 */
    size_t length;      /* number of elements, >= 1 */
    const void *init;   /* `length` initial elements; NULL: zeros */
    ct_rlock *rlock;    /* as for ct_value_opts */
} ct_array_opts;

/* ct_array_new - an Array (Python's Array(typecode, length or items)).
 * Errors as ct_value_new, and CT_EINVAL for length 0. */
CT_API int ct_array_new(ct_array **out, const ct_array_opts *opts);
CT_API ct_array *ct_array_ref(ct_array *a);
CT_API void ct_array_unref(ct_array *a);

/*
 * ct_array_get / ct_array_set - one element, under the lock (a[i]).
 * ct_array_read / ct_array_write - `count` elements from `start`, under
 * the lock, in one piece (a[start:start+count]). Return 0, CT_EINVAL
 * (index or range out of bounds; nothing copied), CT_EOWNERDEAD,
 * CT_EINTERRUPTED / CT_EINTR, as ct_value_get.
 */
CT_API int ct_array_get(ct_array *a, size_t index, void *out);
CT_API int ct_array_set(ct_array *a, size_t index, const void *in);
CT_API int ct_array_read(ct_array *a, size_t start, size_t count, void *out);
CT_API int ct_array_write(ct_array *a, size_t start, size_t count, const void *in);

/* ct_array_ptr - the elements (get_obj()); ct_array_get_lock - the RLock
 * (NULL when raw); ct_array_length - len(a); the typecode and element
 * size. */
CT_API void *ct_array_ptr(ct_array *a);
CT_API ct_rlock *ct_array_get_lock(ct_array *a);
CT_API size_t ct_array_length(const ct_array *a);
CT_API char ct_array_typecode(const ct_array *a);
CT_API size_t ct_array_itemsize(const ct_array *a);

/* ---- named shared memory (Python's shared_memory.SharedMemory) ---- */

typedef struct ct_shared_memory ct_shared_memory;

/* Flag of ct_shared_memory_opts: create a new segment (create=True). */
#define CT_SHM_CREATE 1u

typedef struct ct_shared_memory_opts {
    unsigned flags;   /* 0 (attach) or CT_SHM_CREATE */
    const char *name; /* with or without a leading '/'; no other '/'. NULL
                         with CT_SHM_CREATE: a new random name */
    size_t size;      /* create: the size, > 0; attach: 0 (all) or at most
                         the segment's size */
    unsigned mode;    /* create: permission bits; 0 gives 0600 (owner only) */
} ct_shared_memory_opts;

/*
 * ct_shared_memory_new - create or attach to a named segment and map it.
 * Creating is exclusive: a name that exists is CT_EEXIST, never a silent
 * attach. The segment starts with a header (magic, layout version, size)
 * that an attaching process checks first, so a foreign, stale or
 * half-created segment gives CT_EFORMAT rather than undefined behaviour.
 * Stores one reference in *out. Returns 0, CT_EINVAL (bad name, size 0
 * on create, size larger than the segment on attach, unknown flag),
 * CT_EEXIST, CT_ENOENT (attach: no such name), CT_EPERM, CT_EFORMAT,
 * CT_ENOMEM, CT_ENORES.
 */
CT_API int ct_shared_memory_new(ct_shared_memory **out, const ct_shared_memory_opts *opts);
CT_API ct_shared_memory *ct_shared_memory_ref(ct_shared_memory *m);
/* The last unref closes it (it does not unlink it). */
CT_API void ct_shared_memory_unref(ct_shared_memory *m);

/* ct_shared_memory_buf - the segment's bytes (Python's buf), aligned to
 * 64 bytes; NULL once closed. ct_shared_memory_size - their number (the
 * size created, or asked for when attaching). ct_shared_memory_name - the
 * name, without the leading '/'. */
CT_API void *ct_shared_memory_buf(const ct_shared_memory *m);
CT_API size_t ct_shared_memory_size(const ct_shared_memory *m);
CT_API const char *ct_shared_memory_name(const ct_shared_memory *m);

/* ct_shared_memory_close - unmap the segment in this process (Python's
 * close()); the handle stays for unlink. Returns 0 (again: 0). */
CT_API int ct_shared_memory_close(ct_shared_memory *m);

/* ct_shared_memory_unlink - remove the name (Python's unlink()): nobody
 * can attach any more; the memory lives until the last process unmaps
 * it. Returns 0, CT_ENOENT (removed already), CT_EPERM. */
CT_API int ct_shared_memory_unlink(ct_shared_memory *m);

#ifdef __cplusplus
}
#endif
#endif
