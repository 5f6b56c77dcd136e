#!/bin/sh
# Run every test binary of one build variant and print one summary line:
#   <build>: N passed, N failed, N skipped
# A test that cannot run in this build prints "CT-SKIP: <test>: <reason>"
# (tests/support.h) and counts as skipped, not passed.
# Usage: run-tests.sh VARIANT BUILD_DIR TEST_BINARY...
variant=$1; build=$2; shift 2
name=$(basename "$build") # the build's name: plain, tsan, ..., clang
log=$build/test-log.txt
: > "$log"

export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-20}
case $variant in
tsan)
    export TSAN_OPTIONS="exitcode=66 halt_on_error=1 second_deadlock_stack=1 $TSAN_OPTIONS"
    export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4} ;;
asan)
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:$ASAN_OPTIONS"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:$UBSAN_OPTIONS"
    export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-3} ;;
lot)
    # The portable backend also runs with chaos: a tenth of all parks
    # return at once, half of them claiming a timeout, to prove that every
    # caller re-checks its state and deadline.
    export CT_PARK_CHAOS=${CT_PARK_CHAOS:-10} ;;
esac

passed=0; failed=0; skipped=0
for t in "$@"; do
    tname=$(basename "$t")
    out=$(timeout 900 "$t" 2>&1); rc=$?
    printf '%s\n' "$out" >> "$log"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
    n=$(printf '%s' "$line" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.*Failures: \([0-9]*\).*/\1/p')
    e=$(printf '%s' "$line" | sed -n 's/.*Errors: \([0-9]*\).*/\1/p')
    if [ -z "$n" ]; then
        # No summary: the binary itself died.
        echo "  $name/$tname: FAILED to run (exit $rc)"
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
        failed=$((failed + 1)); continue
    fi
    # Skipped tests that also failed count as failed only.
    s=$(printf '%s\n' "$out" | grep -c '^CT-SKIP: ')
    bad=$((f + e))
    ok=$((n - bad - s)); [ $ok -lt 0 ] && ok=0
    passed=$((passed + ok)); failed=$((failed + bad)); skipped=$((skipped + s))
    extra=""; [ "$s" -ne 0 ] && extra=", $s skipped"
    if [ "$bad" -ne 0 ] || [ "$rc" -ne 0 ]; then
        echo "  $name/$tname: $ok passed, $bad failed$extra"
        printf '%s\n' "$out" | grep -vE '^(Running suite|[0-9]+%: Checks|CT-SKIP)' | head -n 40 | sed 's/^/    /'
        [ "$bad" -eq 0 ] && failed=$((failed + 1))
    else
        echo "  $name/$tname: $ok passed$extra"
    fi
    printf '%s\n' "$out" | grep '^CT-SKIP: ' | sed 's/^CT-SKIP: /    skipped: /'
done
echo "$name: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
