#!/bin/sh
# Install into a scratch prefix, then build and run programs outside the
# tree against it with pkg-config, as a user would: tests/install/hello.c
# through the shared library, and the README's "taste" with an rpath.
# Check that the shared library exports only ct_ symbols, that LIBDIR is
# honoured, and the soname.
set -eu
CC=${1:-cc}
top=$(pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory V=plain CC="$CC" install PREFIX="$prefix" LIBDIR="$prefix/lib64" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib64/pkgconfig"
[ "$(pkg-config --variable=libdir cthreading)" = "$prefix/lib64" ] ||
    { echo "install: the .pc file does not point at LIBDIR"; exit 1; }
cp tests/install/hello.c "$prefix/hello.c"
awk '/^```c$/{f=1;next}/^```$/{f=0}f' README.md > "$prefix/taste.c"
cd "$prefix"
$CC -Wall -Wextra -Werror hello.c $(pkg-config --cflags --libs cthreading) -o hello
out=$(LD_LIBRARY_PATH="$prefix/lib64" ./hello)
echo "$out"
[ "$out" = "hello from worker-1, joined" ] || { echo "install: unexpected output"; exit 1; }
LD_LIBRARY_PATH="$prefix/lib64" ldd ./hello | grep -q "$prefix/lib64/libcthreading.so.0" ||
    { echo "install: hello is not linked against the installed shared library"; exit 1; }
$CC -std=c11 -Wall -Wextra -Werror taste.c $(pkg-config --cflags --libs cthreading) \
    -Wl,-rpath,"$(pkg-config --variable=libdir cthreading)" -o taste
[ "$(./taste)" = 400000 ] || { echo "install: the README's taste printed something else"; exit 1; }
bad=$(nm -D --defined-only "$prefix/lib64/libcthreading.so" | awk '{print $3}' | grep -v '^ct_' || true)
[ -z "$bad" ] || { echo "install: exported symbols without the ct_ prefix: $bad"; exit 1; }
soname=$(objdump -p "$prefix/lib64/libcthreading.so" | awk '/SONAME/ {print $2}')
[ "$soname" = libcthreading.so.0 ] || { echo "install: soname is '$soname'"; exit 1; }
cd "$top"
echo "install: ok"
