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
    ct_thread *t;
    if (ct_thread_new(&t, &(ct_thread_opts){.target = work, .name = "worker-1"}) != 0 ||
        ct_thread_start(t) != 0 || ct_thread_join(t, CT_FOREVER) != 0)
        return 1;
    if (ct_version() != CT_VERSION || CT_VERSION < CT_VERSION_NUMBER(0, 2, 0))
        return 2;
    printf("hello from %s, joined\n", ct_thread_name(t));
    ct_thread_unref(t);
    return 0;
}
