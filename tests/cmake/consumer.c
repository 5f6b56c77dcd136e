/* Built by CMake against an installed cthreading (find_package). */
#include <cthreading.h>
#include <stdio.h>

static int work(void *arg, void **result)
{
    *result = arg;
    return 0;
}

int main(void)
{
    ct_executor *ex;
    ct_future *f;
    void *r = NULL;
    if (ct_executor_new(&ex, &(ct_executor_opts){.max_workers = 2}) != 0 ||
        ct_executor_submit(ex, work, "from cmake", &f) != 0 ||
        ct_future_result(f, &r, CT_FOREVER) != 0)
        return 1;
    printf("%s %s\n", (const char *)r, ct_version_string());
    ct_future_unref(f);
    ct_executor_shutdown(ex, CT_SHUTDOWN_WAIT);
    ct_executor_unref(ex);
    return 0;
}
