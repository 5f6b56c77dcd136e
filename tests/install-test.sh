#!/bin/sh
# Install into a scratch prefix, then build and run a program outside the
# tree against it with pkg-config, as a user would; check that the shared
# library exports only ct_ symbols.
set -eu
CC=${1:-cc}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory V=plain CC="$CC" install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cp tests/install/hello.c "$prefix/hello.c"
cd "$prefix"
$CC -Wall -Wextra -Werror hello.c $(pkg-config --cflags --libs cthreading) -o hello
out=$(LD_LIBRARY_PATH="$prefix/lib" ./hello)
echo "$out"
[ "$out" = "hello from worker-1, joined" ] || { echo "install: unexpected output"; exit 1; }
ldd ./hello | grep -q "$prefix/lib/libcthreading.so.0" ||
    LD_LIBRARY_PATH="$prefix/lib" ldd ./hello | grep -q "$prefix/lib/libcthreading.so.0" ||
    { echo "install: hello is not linked against the installed shared library"; exit 1; }
bad=$(nm -D --defined-only "$prefix/lib/libcthreading.so" | awk '{print $3}' | grep -v '^ct_' || true)
[ -z "$bad" ] || { echo "install: exported symbols without the ct_ prefix: $bad"; exit 1; }
soname=$(objdump -p "$prefix/lib/libcthreading.so" | awk '/SONAME/ {print $2}')
[ "$soname" = libcthreading.so.0 ] || { echo "install: soname is '$soname'"; exit 1; }
echo "install: ok"
