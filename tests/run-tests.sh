#!/bin/sh
# Run every test binary of one build variant and print one summary line:
#   <variant>: N passed, N failed
# Usage: run-tests.sh VARIANT BUILD_DIR TEST_BINARY...
variant=$1; build=$2; shift 2
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

passed=0; failed=0
for t in "$@"; do
    name=$(basename "$t")
    out=$(timeout 900 "$t" 2>&1); rc=$?
    printf '%s\n' "$out" >> "$log"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
    n=$(printf '%s' "$line" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.*Failures: \([0-9]*\).*/\1/p')
    e=$(printf '%s' "$line" | sed -n 's/.*Errors: \([0-9]*\).*/\1/p')
    if [ -z "$n" ]; then
        # No summary: the binary itself died.
        echo "  $variant/$name: FAILED to run (exit $rc)"
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
        failed=$((failed + 1)); continue
    fi
    bad=$((f + e))
    passed=$((passed + n - bad)); failed=$((failed + bad))
    if [ "$bad" -ne 0 ] || [ "$rc" -ne 0 ]; then
        echo "  $variant/$name: $((n - bad)) passed, $bad failed"
        printf '%s\n' "$out" | grep -vE '^(Running suite|[0-9]+%: Checks)' | head -n 40 | sed 's/^/    /'
        [ "$bad" -eq 0 ] && failed=$((failed + 1))
    else
        echo "  $variant/$name: $n passed"
    fi
done
echo "$variant: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
