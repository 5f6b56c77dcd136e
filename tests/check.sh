#!/bin/sh
# make check: install what the tests need, then run the whole suite in
# every build (plain -O2, ThreadSanitizer, AddressSanitizer+UBSan, the
# portable park backend, and plain built with clang), plus the
# install/pkg-config test and the CMake package test. Ends with one summary line per run and a total;
# fails if any run fails.
set -u
MAKE=${MAKE:-make}
CC=${CC:-cc}
jobs=$(nproc 2>/dev/null || echo 2)

need=""
pkg-config --version >/dev/null 2>&1 || need="$need pkg-config"
pkg-config --exists check 2>/dev/null || need="$need check"
command -v clang >/dev/null 2>&1 || need="$need clang"
command -v cmake >/dev/null 2>&1 || need="$need cmake"
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "check: installing$need"
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $need; } >/dev/null ||
            { echo "check: apt-get install$need failed"; exit 1; }
    else
        echo "check: the tests need:$need. Install them with:"
        echo "    sudo apt-get install$need"
        exit 1
    fi
fi

summary=""; total_p=0; total_f=0; total_s=0; status=0
# run NAME MAKE-ARGS...: build and run one variant of the suite.
run() {
    name=$1; shift
    echo "== $name =="
    if ! $MAKE --no-print-directory -j"$jobs" "$@" tests >build-$name.log 2>&1; then
        cat build-$name.log; rm -f build-$name.log
        line="$name: build failed"; status=1; total_f=$((total_f + 1))
    else
        rm -f build-$name.log
        out=$($MAKE --no-print-directory "$@" test 2>&1); rc=$?
        printf '%s\n' "$out"
        line=$(printf '%s\n' "$out" | tail -n 1)
        p=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
        f=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
        s=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
        total_p=$((total_p + ${p:-0})); total_f=$((total_f + ${f:-1})); total_s=$((total_s + ${s:-0}))
        [ $rc -eq 0 ] || status=1
    fi
    summary="$summary$line
"
}

for v in plain tsan asan lot; do
    run $v V=$v CC="$CC"
done
run clang V=plain CC=clang BUILD=build/clang

# script NAME SCRIPT: one check that is a shell script (pass or fail).
script() {
    echo "== $1 =="
    if sh "$2" "$CC"; then
        summary="${summary}$1: 1 passed, 0 failed, 0 skipped
"; total_p=$((total_p + 1))
    else
        summary="${summary}$1: 0 passed, 1 failed, 0 skipped
"; total_f=$((total_f + 1)); status=1
    fi
}
script abi tests/abi-test.sh
script install tests/install-test.sh
script cmake tests/cmake-test.sh

echo
echo "== summary =="
printf '%s' "$summary"
echo "check: $total_p passed, $total_f failed, $total_s skipped"
exit $status
