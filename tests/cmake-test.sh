#!/bin/sh
# Install into a scratch prefix and build an outside project with CMake
# against it (find_package(cthreading), both imported targets), as a CMake
# user would; run both programs.
set -eu
CC=${1:-cc}
top=$(pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory V=plain CC="$CC" install PREFIX="$prefix" >/dev/null
cmake -S "$top/tests/cmake" -B "$prefix/build" -DCMAKE_C_COMPILER="$CC" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$prefix/cmake.log" 2>&1 ||
    { cat "$prefix/cmake.log"; echo "cmake: configure failed"; exit 1; }
cmake --build "$prefix/build" >>"$prefix/cmake.log" 2>&1 ||
    { cat "$prefix/cmake.log"; echo "cmake: build failed"; exit 1; }
want="from cmake $(sed -n 's/^#define CT_VERSION_STRING "\(.*\)"/\1/p' include/cthreading/version.h)"
out=$(LD_LIBRARY_PATH="$prefix/lib" "$prefix/build/consumer")
[ "$out" = "$want" ] || { echo "cmake: consumer printed '$out'"; exit 1; }
out=$("$prefix/build/consumer_static")
[ "$out" = "$want" ] || { echo "cmake: consumer_static printed '$out'"; exit 1; }
# An incompatible version request must fail to find the package.
sed 's/find_package(cthreading 0.2 REQUIRED)/find_package(cthreading 9.0 REQUIRED)/' \
    "$top/tests/cmake/CMakeLists.txt" > "$prefix/bad.txt"
mkdir -p "$prefix/bad" && cp "$prefix/bad.txt" "$prefix/bad/CMakeLists.txt" && cp "$top/tests/cmake/consumer.c" "$prefix/bad/"
if cmake -S "$prefix/bad" -B "$prefix/badbuild" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null 2>&1; then
    echo "cmake: find_package(cthreading 9.0) should have failed"; exit 1
fi
echo "cmake: ok ($out)"
