/* Built outside the tree against an installed cthreading (pkg-config). */
#include <cthreading.h>
#include <stdio.h>

static int work(void *arg)
{
    (void)arg;
    return 0;
}

int main(void)
{
    ct_thread *t = ct_thread_new(&(ct_thread_opts){.target = work, .name = "worker-1"});
    if (!t || ct_thread_start(t) != 0 || ct_thread_join(t, CT_FOREVER) != 0)
        return 1;
    printf("hello from %s, joined\n", ct_thread_name(t));
    ct_thread_unref(t);
    return 0;
}
