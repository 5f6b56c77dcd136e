/*
 * 11. Processes sharing state.
 *
 * Four processes each add 1 to two counters: a plain global, and a value
 * in memory shared between the processes, guarded by a process-shared
 * Lock. Each process has its own copy of the global, so the parent's stays
 * 0; the shared value reaches 4.
 *
 * Any cthreading primitive works between processes when it lives in
 * memory mapped MAP_SHARED before fork() and is initialised with
 * CT_PSHARED. (Python spells this multiprocessing.Value with its lock.)
 */
#include <cthreading.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared {
    ct_lock lock; /* guards num */
    int num;
};

static int plain_num; /* each process gets its own copy at fork() */

static void work(struct shared *s)
{
    plain_num++;
    CT_WITH_LOCK(&s->lock)
    {
        int seen = s->num;
        usleep(1000); /* make a race likely, if the lock were missing */
        s->num = seen + 1;
    }
}

int main(void)
{
    /* The shared memory must exist before the processes are forked. */
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
    if (s == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    int rc = ct_lock_init(&s->lock, CT_PSHARED);
    if (rc != 0) {
        fprintf(stderr, "ct_lock_init: %s\n", ct_strerror(rc));
        return 1;
    }
    s->num = 0;

    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] < 0) {
            perror("fork");
            return 1;
        }
        if (kids[i] == 0) {
            work(s);
            _exit(0);
        }
    }
    int failed = 0;
    for (int i = 0; i < 4; i++) {
        int status;
        if (waitpid(kids[i], &status, 0) != kids[i] || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            failed = 1;
    }
    printf("4 processes each added 1 to both counters\n");
    printf("plain_num is %d, shared_num is %d\n", plain_num, s->num);
    munmap(s, sizeof *s);
    return failed;
}
