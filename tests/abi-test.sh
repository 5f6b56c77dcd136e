#!/bin/sh
# The exported symbols of the shared library must be exactly those listed
# in abi/cthreading.symbols (one per line, sorted), so that a public
# symbol cannot vanish or appear unnoticed. After a deliberate change of
# the API, `make abi` rewrites the list; the diff then shows in review.
set -eu
CC=${1:-cc}
make --no-print-directory V=plain CC="$CC" lib >/dev/null
lib=build/plain/libcthreading.so
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort > build/plain/abi-now.txt
if ! diff -u abi/cthreading.symbols build/plain/abi-now.txt; then
    echo "abi: the exported symbols differ from abi/cthreading.symbols (- listed, + exported)."
    echo "abi: if the change is deliberate, run 'make abi' and commit the list."
    exit 1
fi
echo "abi: $(wc -l < abi/cthreading.symbols) symbols, as listed"
