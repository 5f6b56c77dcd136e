/*
 * The examples (make demo), run as programs: each must exit 0 and print
 * the parts of its account that do not depend on timing. Speed-ups and
 * durations are printed by the examples but never asserted here.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "support.h"

#define OUT_CAP 65536
static char out[OUT_CAP];

/* Run example `name` (with `arg`, may be NULL); it must exit with 0. */
static void run(const char *name, const char *arg)
{
    int status = run_example(name, arg, out, sizeof out);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "%s exited with status 0x%x; its output:\n%s", name, (unsigned)status, out);
}

/* How many times `text` occurs in the output. */
static int count(const char *text)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, text)) != NULL; p += strlen(text))
        n++;
    return n;
}

#define expect(text) expect_n(text, 1)
#define expect_none(text) expect_n(text, 0)
#define expect_n(text, n)                                                                   \
    ck_assert_msg(count(text) == (n), "expected \"%s\" %d time(s), found %d; output:\n%s",  \
                  (text), (n), count(text), out)

START_TEST(test_01_start_join)
{
    run("01_start_join", NULL);
    /* The joined thread ran to the end before join returned. */
    expect("  worker: starting, will work for 0.3 s\n");
    expect("  main: waiting for worker to finish\n");
    expect("  worker: finishing\n");
    expect("its result is 0, alive: no\n");
    /* Daemon: the child process exits without waiting for it. */
    expect_none("  daemon: finishing\n");
    expect("did not wait for the daemon thread");
    /* Non-daemon: the child process waits for it even though unjoined. */
    expect("  non-daemon: finishing\n");
    expect_n("  main: returning from main() without joining\n", 2);
    expect("it waited for the non-daemon thread\n");
}
END_TEST

START_TEST(test_02_io_bound)
{
    run("02_io_bound", NULL);
    for (int i = 0; i <= 4; i++) {
        char line[64];
        snprintf(line, sizeof line, "  download %d done\n", i);
        expect(line);
    }
    expect("  1 download took ");
    expect("  4 downloads took ");
}
END_TEST

START_TEST(test_03_cpu_bound)
{
    run("03_cpu_bound", NULL);
    /* pi(4000000) = 283146, on one thread and on all of them. */
    expect_n("  found 283146 primes in ", 2);
    expect("  same answer: yes\n");
    expect("  speed-up: ");
}
END_TEST

START_TEST(test_04_race_condition)
{
    run("04_race_condition", NULL);
    expect(" updates lost\n"); /* how many is up to the scheduler */
    expect("  expected 80000, got 80000: exact total\n");
}
END_TEST

START_TEST(test_05_deadlock)
{
    run("05_deadlock", NULL);
    /* Both hold their first lock before asking for the second, so at
     * least one of them must time out and back off. */
    ck_assert_msg(count("stall detected, backing off\n") >= 1, "no stall detected:\n%s", out);
    expect("  left: got A then B on attempt ");
    expect("  right: got B then A on attempt ");
    expect("  both threads finished");
    for (int i = 0; i < 5; i++) {
        char line[64];
        snprintf(line, sizeof line, "  philosopher %d ate 3 of 3 meals\n", i);
        expect(line);
    }
    expect("  15 of 15 meals eaten, no deadlock\n");
    /* The lock-order checker: part 1's inversion and part 3's cycle of
     * five, each reported once, before anything could deadlock. */
    ck_assert_msg(count("[lock-order checker]\n") == 2, "reports:\n%s", out);
    expect_n("cthreading: lock-order inversion: a deadlock is possible\n", 2);
    expect("  thread \"MainThread\" acquires lock \"fork 0\"");
    expect_n("while holding lock \"fork 4\"", 2);
    expect("  philosopher 4 eats\n");
    expect("lock-order reports: 2\n");
}
END_TEST

START_TEST(test_06_producer_consumer)
{
    run("06_producer_consumer", NULL);
    for (int b = 1; b <= 3; b++) {
        char line[64];
        snprintf(line, sizeof line, "  producer: burst %d: 10 items put in ", b);
        expect(line);
    }
    expect("2. join returned: all 30 items put were marked done\n");
    expect("3. queue shut down: the consumers leave\n");
    int a = -1, b = -1;
    const char *p = strstr(out, "  consumer-1 handled ");
    const char *q = strstr(out, "  consumer-2 handled ");
    ck_assert_msg(p && q && sscanf(p, "  consumer-1 handled %d", &a) == 1 &&
                      sscanf(q, "  consumer-2 handled %d", &b) == 1,
                  "consumer counts missing:\n%s", out);
    ck_assert_int_eq(a + b, 30);
    expect("30 of 30 items consumed exactly once\n");
}
END_TEST

START_TEST(test_07_semaphore_pool)
{
    run("07_semaphore_pool", NULL);
    for (int i = 1; i <= 10; i++) {
        char line[64];
        snprintf(line, sizeof line, "  worker %d: connected\n", i);
        expect(line);
    }
    expect("most inside at once: 5 (the pool size is 5)\n");
    expect("free connections now: 5\n");
    expect("one release too many: CT_EBOUND");
    expect("free connections still: 5\n");
}
END_TEST

START_TEST(test_08_event_condition_timer_barrier)
{
    run("08_event_condition_timer_barrier", NULL);
    expect("  main: setting the event\n");
    for (int i = 1; i <= 3; i++) {
        char line[64];
        snprintf(line, sizeof line, "  worker %d: saw the event, running\n", i);
        expect(line);
    }
    expect_n("  producer: stock is now ", 3);
    expect("  consumer: stock is 3, taking 3\n");
    expect("  stock left: 0\n");
    expect("  timer A: fired\n");
    expect_none("  timer B: fired\n");
    expect("  main: cancelled timer B\n");
    for (int p = 1; p <= 3; p++) {
        char line[64];
        snprintf(line, sizeof line, "  phase %d: all 3 workers done\n", p);
        expect(line);
    }
}
END_TEST

START_TEST(test_09_thread_pool)
{
    run("09_thread_pool", NULL);
    static const char *const lines[] = {
        "fetch 1 (0.35 s): 100 bytes\n", "fetch 2 (0.10 s): 200 bytes\n",
        "fetch 3 (0.50 s): 300 bytes\n", "fetch 4 (0.15 s): 400 bytes\n",
        "fetch 5 (0.05 s): 500 bytes\n"};
    /* map: every result, in submission order, before part 2. */
    const char *part2 = strstr(out, "2. submit + as_completed");
    ck_assert_ptr_nonnull(part2);
    const char *prev = out;
    for (int i = 0; i < 5; i++) {
        char line[64];
        snprintf(line, sizeof line, "  %s", lines[i]);
        const char *at = strstr(prev, line);
        ck_assert_msg(at != NULL && at < part2, "map result %d missing or out of order:\n%s",
                      i + 1, out);
        prev = at;
    }
    /* as_completed: every result once more (in whatever order they finished). */
    for (int i = 0; i < 5; i++) {
        const char *at = strstr(part2, lines[i]);
        ck_assert_msg(at != NULL, "as_completed result %d missing:\n%s", i + 1, out);
        expect_n(lines[i], 2);
    }
    expect("3. pool shut down\n");
}
END_TEST

START_TEST(test_10_local_and_introspection)
{
    run("10_local_and_introspection", NULL);
    expect("  active_count(): 4\n");
    expect("  enumerate():");
    const char *names[] = {" MainThread", " worker-1", " worker-2", " worker-3"};
    const char *line = strstr(out, "  enumerate():");
    const char *end = line ? strchr(line, '\n') : NULL;
    ck_assert_ptr_nonnull(end);
    for (int i = 0; i < 4; i++) {
        const char *at = strstr(line, names[i]);
        ck_assert_msg(at != NULL && at < end, "%s missing from enumerate():\n%s", names[i], out);
    }
    expect("  current_thread(): MainThread\n");
    expect("  main_thread(): MainThread, the current thread: yes\n");
    expect("  main's own session: none");
    expect("  worker-1: my session: user alice, id 101\n");
    expect("  worker-2: my session: user bob, id 102\n");
    expect("  worker-3: my session: user carol, id 103\n");
    expect("  (alice's session freed as its thread ended)\n");
    expect("  (bob's session freed as its thread ended)\n");
    expect("  (carol's session freed as its thread ended)\n");
    expect("after join: active_count(): 1\n");
}
END_TEST

START_TEST(test_11_processes_shared_state)
{
    run("11_processes_shared_state", NULL);
    expect("plain_num is 0, shared_num is 4\n");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("examples");
    /* Each example takes a few seconds; far more under the sanitizers. */
    CT_ADD_TEST(s, test_01_start_join, 60);
    CT_ADD_TEST(s, test_02_io_bound, 60);
    CT_ADD_TEST(s, test_03_cpu_bound, 60);
    CT_ADD_TEST(s, test_04_race_condition, 60);
    CT_ADD_TEST(s, test_05_deadlock, 60);
    CT_ADD_TEST(s, test_06_producer_consumer, 60);
    CT_ADD_TEST(s, test_07_semaphore_pool, 60);
    CT_ADD_TEST(s, test_08_event_condition_timer_barrier, 60);
    CT_ADD_TEST(s, test_09_thread_pool, 60);
    CT_ADD_TEST(s, test_10_local_and_introspection, 60);
    CT_ADD_TEST(s, test_11_processes_shared_state, 60);
    return s;
}

CT_TEST_MAIN(make_suite)
