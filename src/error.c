#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

struct entry {
    const char *name;
    const char *text;
};

static const struct entry table[] = {
    [CT_ETIMEDOUT - CT_EBASE_] = {"CT_ETIMEDOUT", "timed out"},
    [CT_EINVAL - CT_EBASE_] = {"CT_EINVAL", "invalid argument"},
    [CT_ETIMEOUT - CT_EBASE_] = {"CT_ETIMEOUT", "timeout must be a non-negative number or CT_FOREVER"},
    [CT_EOVERFLOW - CT_EBASE_] = {"CT_EOVERFLOW", "value too large (timeout above CT_TIMEOUT_MAX, or a count)"},
    [CT_ENOMEM - CT_EBASE_] = {"CT_ENOMEM", "out of memory"},
    [CT_EAGAIN - CT_EBASE_] = {"CT_EAGAIN", "can't start new thread"},
    [CT_ENOTLOCKED - CT_EBASE_] = {"CT_ENOTLOCKED", "release unlocked lock"},
    [CT_ENOTOWNER - CT_EBASE_] = {"CT_ENOTOWNER", "cannot release or wait on un-acquired lock"},
    [CT_ESTARTED - CT_EBASE_] = {"CT_ESTARTED", "threads can only be started once"},
    [CT_ENOTSTARTED - CT_EBASE_] = {"CT_ENOTSTARTED", "cannot join thread before it is started"},
    [CT_EDEADLK - CT_EBASE_] = {"CT_EDEADLK", "cannot join current thread"},
    [CT_EACTIVE - CT_EBASE_] = {"CT_EACTIVE", "cannot set daemon status of active thread"},
    [CT_EFOREIGN - CT_EBASE_] = {"CT_EFOREIGN", "cannot join a dummy thread"},
    [CT_EBOUND - CT_EBASE_] = {"CT_EBOUND", "semaphore released too many times"},
    [CT_ETASKDONE - CT_EBASE_] = {"CT_ETASKDONE", "task_done() called too many times"},
    [CT_EBROKEN - CT_EBASE_] = {"CT_EBROKEN", "barrier is broken"},
    [CT_EEMPTY - CT_EBASE_] = {"CT_EEMPTY", "queue is empty"},
    [CT_EFULL - CT_EBASE_] = {"CT_EFULL", "queue is full"},
    [CT_ESHUTDOWN - CT_EBASE_] = {"CT_ESHUTDOWN", "shut down"},
    [CT_ECANCELLED - CT_EBASE_] = {"CT_ECANCELLED", "future was cancelled"},
    [CT_EBROKENPOOL - CT_EBASE_] = {"CT_EBROKENPOOL", "executor is broken (a worker initializer failed, or it was inherited across fork)"},
    [CT_ESTATE - CT_EBASE_] = {"CT_ESTATE", "operation not valid in the object's current state"},
    [CT_EINTERRUPTED - CT_EBASE_] = {"CT_EINTERRUPTED", "wait interrupted by ct_thread_interrupt"},
    [CT_EINTR - CT_EBASE_] = {"CT_EINTR", "wait interrupted by a signal"},
    [CT_EDESTROYED - CT_EBASE_] = {"CT_EDESTROYED", "the object was destroyed"},
    [CT_ENORES - CT_EBASE_] = {"CT_ENORES", "the system is out of a resource (file descriptors)"},
};

_Static_assert(sizeof table / sizeof table[0] == CT_ELAST_ - CT_EBASE_, "one entry per code");

static const struct entry *lookup(int code)
{
    if (code <= CT_EBASE_ || code >= CT_ELAST_)
        return NULL;
    return &table[code - CT_EBASE_];
}

const char *ct_strerror(int code)
{
    const struct entry *e = lookup(code);
    if (code == 0)
        return "success";
    return e ? e->text : "error code not from cthreading";
}

const char *ct_errname(int code)
{
    const struct entry *e = lookup(code);
    if (code == 0)
        return "CT_OK";
    return e ? e->name : "CT_E?";
}

char *ct_describe_error(int code, char *buf, unsigned long size)
{
    const struct entry *e = lookup(code);
    if (size == 0)
        return buf;
    if (e)
        snprintf(buf, size, "%s (%s)", e->name, e->text);
    else if (code == 0)
        snprintf(buf, size, "success");
    else
        snprintf(buf, size, "error %d", code);
    return buf;
}

void ct__die(const char *call, int err)
{
    if (err)
        fprintf(stderr, "cthreading: %s failed: %s (errno %d)\n", call, strerror(err), err);
    else
        fprintf(stderr, "cthreading: %s failed\n", call);
    abort();
}
