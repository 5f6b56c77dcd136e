/* Child program for test_process_pool.c (test_queued_work_runs_at_exit):
 * tasks still queued when main returns run before the program ends, as
 * Python's ProcessPoolExecutor lets them; nothing is lost and no worker
 * outlives the program. argv[1] is the start method. */
#include <cthreading.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int report(const void *arg, size_t size, ct_bytes *res)
{
    (void)arg;
    (void)size;
    (void)res;
    /* One write per line, unbuffered: the workers share the pipe. */
    const char line[] = "task done\n";
    return write(1, line, sizeof line - 1) == (ssize_t)(sizeof line - 1) ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "forkserver") == 0 &&
        ct_set_start_method(CT_START_FORKSERVER) != 0)
        return 91;
    ct_process_pool *p;
    if (ct_process_pool_new(&p, &(ct_process_pool_opts){.max_workers = 2}) != 0)
        return 92;
    for (int i = 0; i < 20; i++)
        if (ct_process_pool_submit(p, report, NULL, 0, NULL) != 0)
            return 93;
    ct_process_pool_unref(p); /* no shutdown, no wait: the exit does it */
    return 0;
}
