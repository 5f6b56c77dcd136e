/* Child program for test_diag.c: two locks taken in both orders, one
 * after the other (so nothing can deadlock). Lock-order checking is
 * switched on by the environment (CT_LOCK_ORDER) only. */
#include <cthreading.h>
#include <stdio.h>

static ct_lock a, b;

static void both(ct_lock *first, ct_lock *second)
{
    ct_lock_acquire(first, CT_FOREVER);
    ct_lock_acquire(second, CT_FOREVER);
    ct_lock_release(second);
    ct_lock_release(first);
}

int main(void)
{
    ct_lock_init(&a, 0);
    ct_lock_init(&b, 0);
    ct_object_set_name(&a, "first");
    ct_object_set_name(&b, "second");
    both(&a, &b);
    both(&b, &a);
    printf("done, %lu report(s)\n", ct_diag_lock_order_reports());
    return 0;
}
