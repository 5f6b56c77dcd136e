/* Child program for test_process_shared.c: an unrelated process (exec'd,
 * so nothing is inherited) attaches to the named segment argv[1], at an
 * address of its own, and meets the test through a process-shared
 * Condition and Lock that live in the segment. Exit 0 when all went
 * well. */
#include <cthreading.h>
#include <stdio.h>
#include <sys/mman.h>

struct rendezvous {
    ct_lock lock;
    ct_condition cond;
    int state;
};

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    /* Take some address space first, so that the segment is very likely
     * mapped elsewhere than in the test. */
    void *pad = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    (void)pad;
    ct_shared_memory *m;
    int rc = ct_shared_memory_new(&m, &(ct_shared_memory_opts){.name = argv[1]});
    if (rc) {
        fprintf(stderr, "shm_attach: %s\n", ct_strerror(rc));
        return 3;
    }
    struct rendezvous *r = ct_shared_memory_buf(m);
    if (ct_condition_acquire(&r->cond, 30))
        return 4;
    r->state = 1;
    ct_condition_notify_all(&r->cond);
    while (r->state != 2)
        if (ct_condition_wait(&r->cond, 30))
            return 5;
    r->state = 3;
    ct_condition_notify_all(&r->cond);
    ct_condition_release(&r->cond);
    ct_shared_memory_unref(m);
    return 0;
}
