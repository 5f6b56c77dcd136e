#!/bin/sh
# Run every example in order (make demo): 01..10 with threads, 11 and 12
# with processes (shared Value, process pool). Usage: run-all.sh BUILD_DIR
# Each example prints its own account; this adds a header line before each
# and fails as soon as one fails.
build=${1:-build/plain}
src=$(dirname "$0")
start=$(date +%s)
count=0
for c in "$src"/[0-9][0-9]_*.c; do
    name=$(basename "$c" .c)
    echo
    echo "=== $name ==="
    if ! "$build/examples/$name"; then
        echo "=== $name FAILED ==="
        exit 1
    fi
    count=$((count + 1))
done
echo
echo "=== all $count examples ran in about $(( $(date +%s) - start )) s ==="
