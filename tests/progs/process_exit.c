/* Child program for test_process.c (test_stdio_and_exit_handlers): what a
 * process started by ct_process_start writes and runs, and what the
 * parent does at its exit. argv[1] is the start method ("fork" or
 * "forkserver"). The test counts the lines of the output: each must be
 * there exactly once (or never, for the daemon child). */
#include <cthreading.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shared {
    ct_event go, never;
};

static struct shared *sh;

static void parent_atexit(void)
{
    printf("parent: atexit handler\n");
}

static void parent_ct_atexit(void *arg)
{
    (void)arg;
    printf("parent: ct_register_atexit handler\n");
    ct_event_set(&sh->go); /* lets the non-daemon child finish */
}

static int buffered_child(void *arg)
{
    (void)arg;
    printf("child: buffered line\n"); /* flushed at the child's end */
    fprintf(stderr, "child: stderr line\n");
    return 3;
}

static int non_daemon(void *arg)
{
    struct shared *s = *(struct shared **)arg;
    if (ct_event_wait(&s->go, 30) != 0)
        return 1;
    printf("non-daemon child: done\n");
    return 0;
}

static int daemon_child(void *arg)
{
    struct shared *s = *(struct shared **)arg;
    ct_event_wait(&s->never, 60); /* terminated at the parent's exit */
    printf("daemon: done\n");
    return 0;
}

static ct_process *start(ct_process_fn fn, int daemon)
{
    ct_process *p;
    if (ct_process_new(&p, &(ct_process_opts){.target = fn, .arg = &sh, .arg_size = sizeof sh,
                                               .daemon = daemon}) != 0 ||
        ct_process_start(p) != 0)
        exit(90);
    return p;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "forkserver") == 0 &&
        ct_set_start_method(CT_START_FORKSERVER) != 0)
        return 91;
    if (ct_shared_alloc((void **)&sh, sizeof *sh) != 0 || ct_event_init(&sh->go, CT_PSHARED) ||
        ct_event_init(&sh->never, CT_PSHARED))
        return 92;
    atexit(parent_atexit);
    if (ct_register_atexit(parent_ct_atexit, NULL, 0) != 0)
        return 93;
    printf("parent: unflushed line\n"); /* stdout is a pipe: fully buffered */
    ct_process *p = start(buffered_child, CT_NOT_DAEMON);
    if (ct_process_join(p, 30) != 0)
        return 94;
    printf("parent: child exit code %d\n", ct_process_exitcode(p));
    ct_process_unref(p);
    ct_process_unref(start(non_daemon, CT_NOT_DAEMON));
    ct_process_unref(start(daemon_child, CT_DAEMON));
    return 0; /* exit: handlers, then daemon children terminated, the rest joined */
}
