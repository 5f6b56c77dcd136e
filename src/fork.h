/*
 * Internal: fork handling, in one place and one order.
 *
 * Every layer that owns a process-wide lock or list registers one set of
 * hooks here. Before fork, prepare hooks run from the highest level down,
 * so locks are taken in the same order the code takes them (an upper
 * layer may call into a lower one while it holds its own lock, never the
 * reverse); after fork, parent and child hooks run from the lowest level
 * up, so a layer's child hook finds the layers below it already
 * consistent. A child hook runs in the new process while it has only the
 * forking thread: it may reset locks and lists and call malloc (glibc
 * makes that safe in fork handlers), never user code.
 */
#ifndef CT_SRC_FORK_H
#define CT_SRC_FORK_H

#include "common.h"

enum {
    CT__FORK_PARK = 10,     /* thread ids, the parking lot */
    CT__FORK_WATCH = 15,    /* the table of watch nodes (waiting on many) */
    CT__FORK_THREADS = 20,  /* the thread registry, hooks, exit handlers */
    CT__FORK_LOCAL = 30,    /* thread-local tables */
    CT__FORK_EXECUTOR = 40, /* the executor registry and every executor */
    CT__FORK_DIAG = 50,     /* the diagnostics side table, the dump helper */
};

struct ct__fork_hooks {
    int level;
    void (*prepare)(void); /* any of the three may be NULL */
    void (*parent)(void);
    void (*child)(void);
    struct ct__fork_hooks *next;
};

/* Register hooks (a static struct, never freed); safe from constructors
 * in any order. */
CT__HIDDEN void ct__fork_register(struct ct__fork_hooks *h);

/* Define a file's hooks and register them when the library loads. */
#define CT__FORK_HOOKS(lvl, pre, par, chi)                                                  \
    static struct ct__fork_hooks ct__fork_hooks_ = {                                        \
        .level = (lvl), .prepare = (pre), .parent = (par), .child = (chi)};                 \
    __attribute__((constructor)) static void ct__fork_hooks_register_(void)                 \
    {                                                                                       \
        ct__fork_register(&ct__fork_hooks_);                                                \
    }

/* A number that changes in every forked child (0 in the first process):
 * objects note it to tell that they were inherited across a fork. */
CT__HIDDEN unsigned ct__fork_generation(void);

#endif
