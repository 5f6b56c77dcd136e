/*
 * 01_start_join.c - start a thread, wait for it, and what happens to
 * threads that nobody waits for.
 *
 * Python:                               C with cthreading:
 *   t = Thread(target=f, name="worker")   t = ct_thread_new(&(ct_thread_opts){...})
 *   t.start()                             ct_thread_start(t)
 *   t.join()                              ct_thread_join(t, CT_FOREVER)
 *
 * As in Python, when main() returns the process first waits for every
 * non-daemon thread; daemon threads are simply abandoned. To show that,
 * the example runs itself twice more as a child process (argv[0] plus
 * "daemon" or "non-daemon") and times how long each child takes to exit.
 */
#include <cthreading.h>

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ; /* POSIX: our environment, handed on to the child */

/* Every cthreading call returns 0 or a CT_E* code: stop the demo with a
 * message naming the call if one fails. */
#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

/* The thread's target: log, "work" (sleep), log. Returning 0 means
 * success; a non-zero return (here: ct_sleep's error code) is the
 * thread's error: the library reports it on stderr, and the joiner can
 * read it with ct_thread_result. */
static int worker(void *arg)
{
    double seconds = *(const double *)arg;
    const char *name = ct_thread_name(ct_current_thread());
    printf("  %s: starting, will work for %.1f s\n", name, seconds);
    int rc = ct_sleep(seconds);
    if (rc != 0)
        return rc;
    printf("  %s: finishing\n", name);
    return 0;
}

/* Create and start a thread running worker(&seconds). The thread keeps
 * itself alive while it runs, so the caller may drop its reference at any
 * time with ct_thread_unref. */
static ct_thread *start_worker(const char *name, int daemon, double *seconds)
{
    ct_thread *t;
    int rc = ct_thread_new(&t, &(ct_thread_opts){
        .target = worker, .arg = seconds, .name = name, .daemon = daemon});
    if (rc != 0) {
        fprintf(stderr, "ct_thread_new failed: %s\n", ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
    CHECK(ct_thread_start(t));
    return t;
}

/* Child mode: start one thread, then return from main without joining. */
static int child(int daemon)
{
    static double seconds; /* outlives main's frame: the thread may run on */
    seconds = daemon ? 2.0 : 0.5;
    ct_thread *t = start_worker(daemon ? "daemon" : "non-daemon",
                                daemon ? CT_DAEMON : CT_NOT_DAEMON, &seconds);
    ct_thread_unref(t); /* we will not join it */
    CHECK(ct_sleep(0.1)); /* main's own work; the thread gets going meanwhile */
    printf("  main: returning from main() without joining\n");
    return 0;
}

/* Run this program again with one argument; return how long it took. */
static double run_self(const char *self, const char *mode)
{
    char *args[] = {(char *)self, (char *)mode, NULL};
    fflush(stdout); /* so our lines come before the child's */
    double t0 = ct_monotonic();
    pid_t pid;
    int err = posix_spawn(&pid, self, NULL, NULL, args, environ);
    if (err != 0) {
        fprintf(stderr, "posix_spawn %s: %s\n", self, strerror(err));
        exit(EXIT_FAILURE);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child %s %s did not exit cleanly (wait status 0x%x)\n", self, mode,
                (unsigned)status);
        exit(EXIT_FAILURE);
    }
    return ct_monotonic() - t0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child(strcmp(argv[1], "daemon") == 0);

    printf("1. start a thread and join it\n");
    double seconds = 0.3;
    double t0 = ct_monotonic();
    ct_thread *t = start_worker("worker", CT_NOT_DAEMON, &seconds);
    printf("  main: waiting for %s to finish\n", ct_thread_name(t));
    CHECK(ct_thread_join(t, CT_FOREVER));
    printf("  main: joined %s after %.2f s; its result is %d, alive: %s\n", ct_thread_name(t),
           ct_monotonic() - t0, ct_thread_result(t), ct_thread_is_alive(t) ? "yes" : "no");
    ct_thread_unref(t);

    printf("2. a daemon thread (2 s of work) that main does not join\n");
    double took = run_self(argv[0], "daemon");
    printf("  the program exited after %.2f s: it did not wait for the daemon thread,\n"
           "  whose \"finishing\" line never printed\n",
           took);

    printf("3. a non-daemon thread (0.5 s of work) that main does not join\n");
    took = run_self(argv[0], "non-daemon");
    printf("  the program exited after %.2f s: it waited for the non-daemon thread\n", took);
    return 0;
}
