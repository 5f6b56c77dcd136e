/*
 * 11. Processes sharing state.
 *
 * Four processes each add 1 to two counters: a plain global, and a Value
 * in shared memory (Python's multiprocessing.Value), under the Value's
 * own process-shared lock. Each process has its own copy of the global,
 * so the parent's stays 0; the shared value reaches 4.
 *
 * The Python original:
 *
 *     def work(shared):
 *         global plain_num
 *         plain_num += 1
 *         with shared.get_lock():
 *             shared.value += 1
 *
 *     shared = Value('i', 0)
 *     procs = [Process(target=work, args=(shared,)) for _ in range(4)]
 *     for p in procs: p.start()
 *     for p in procs: p.join()
 *
 * A Value lives in shared memory at the same address in every process
 * started afterwards, so its pointer can be handed to the children as it
 * is (here as the argument bytes, which also works with the forkserver
 * start method: run this program with the argument "forkserver").
 */
#include <cthreading.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int plain_num; /* each process gets its own copy */

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s failed: %s\n", what, ct_strerror(rc));
        exit(EXIT_FAILURE);
    }
}

static int work(void *arg)
{
    ct_value *shared = *(ct_value **)arg;
    plain_num++;
    CT_WITH_RLOCK(ct_value_get_lock(shared))
    {
        int *num = ct_value_ptr(shared);
        int seen = *num;
        usleep(1000); /* make a race likely, if the lock were missing */
        *num = seen + 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "forkserver") == 0)
        CHECK(ct_set_start_method(CT_START_FORKSERVER)); /* while single-threaded */

    ct_value *shared;
    CHECK(ct_value_new(&shared, &(ct_value_opts){.typecode = 'i'}));

    ct_process *procs[4];
    for (int i = 0; i < 4; i++) {
        CHECK(ct_process_new(&procs[i], &(ct_process_opts){.target = work,
                                                           .arg = &shared,
                                                           .arg_size = sizeof shared}));
        CHECK(ct_process_start(procs[i]));
    }
    int failed = 0;
    for (int i = 0; i < 4; i++) {
        CHECK(ct_process_join(procs[i], CT_FOREVER));
        failed |= ct_process_exitcode(procs[i]) != 0;
        ct_process_unref(procs[i]);
    }
    int num;
    CHECK(ct_value_get(shared, &num));
    printf("4 processes each added 1 to both counters\n");
    printf("plain_num is %d, shared_num is %d\n", plain_num, num);
    ct_value_unref(shared);
    return failed;
}
