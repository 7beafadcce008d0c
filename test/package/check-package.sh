#!/usr/bin/env bash
# Installs the build into a scratch prefix and builds test/package/consumer.c
# against it twice: with find_package(rwkv-runtime) and with pkg-config. Both
# programs and the installed rwkv-run must run on an artifact compiled by the
# installed rwkvc, and the two programs must print the same top token.
#
# usage: check-package.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/rwkv-package.XXXXXX")
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
"$work/prefix/bin/rwkvc" "$src/specs/rwkvcpp-tiny-7v0.toml" \
  --target=x86-64-v3 -o "$work/artifact"

# The versioned library and its links.
lib=$(dirname "$(find "$work/prefix" -name 'librwkv-runtime.so.*.*.*')")
test -L "$lib/librwkv-runtime.so"
test -L "$lib/librwkv-runtime.so.0"

cmake -S "$src/test/package" -B "$work/cmake" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
by_cmake=$("$work/cmake/consumer" "$work/artifact")

pc=$(dirname "$(find "$work/prefix" -name rwkv-runtime.pc)")
flags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs rwkv-runtime)
cc -std=c99 -Wall -Werror "$src/test/package/consumer.c" $flags \
  -Wl,-rpath,"$lib" -o "$work/consumer-pc"
by_pkgconfig=$("$work/consumer-pc" "$work/artifact")

echo "find_package: $by_cmake"
echo "pkg-config:   $by_pkgconfig"
[ "$by_cmake" = "$by_pkgconfig" ]
case "$by_cmake" in
"model rwkvcpp-tiny-7v0: top token "*) ;;
*) echo "unexpected output" >&2; exit 1 ;;
esac
"$work/prefix/bin/rwkv-run" --model "$work/artifact" --tokens 1,2,3 |
  grep -q "top-5 next tokens"
echo "package OK"
