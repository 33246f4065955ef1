#!/usr/bin/env bash
# package_test.sh: the installed package, as users see it.
#
#   package_test.sh BUILD_DIR EXTERNAL_PROJECT_DIR CMAKE_GENERATOR LIBDIR
#
# 1. `cmake --install BUILD_DIR --prefix TMP` installs the programs, the
#    runtime, the headers, the CMake package and the pkg-config files;
# 2. pkg-config (PKG_CONFIG_PATH=TMP/LIBDIR/pkgconfig) gives the flags;
# 3. a patch module built by hand with those flags converts with the
#    installed uklp-klp-convert;
# 4. an external CMake project (find_package(uklp) + uklp_add_patch_module)
#    configures and builds, and its module is converted.
set -euo pipefail
build=$1 external=$2 generator=$3 libdir=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
has_word() { [[ " $1 " == *" $2 "* ]]; }

# 1. install
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install"; }
for f in bin/uklp-klp-convert "$libdir/libuklp.so" include/uklp/livepatch.h \
         "$libdir/cmake/uklp/uklpConfig.cmake" "$libdir/cmake/uklp/uklpConfigVersion.cmake" \
         "$libdir/cmake/uklp/UklpPatch.cmake" "$libdir/pkgconfig/uklp.pc" "$libdir/pkgconfig/uklp-patch.pc"; do
  [[ -e $prefix/$f ]] || fail "$f not installed"
done

# 2. pkg-config
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
cflags=$(pkg-config --cflags uklp-patch)
for want in "-I$prefix/include" -fPIC -fno-plt -fpatchable-function-entry=16,14; do
  has_word "$cflags" "$want" || fail "pkg-config --cflags uklp-patch: '$cflags' lacks $want"
done
libs=$(pkg-config --libs uklp-patch)
for want in -shared -Wl,-z,now; do has_word "$libs" "$want" || fail "pkg-config --libs uklp-patch: '$libs' lacks $want"; done
has_word "$(pkg-config --cflags uklp)" -fpatchable-function-entry=16,14 || fail "pkg-config --cflags uklp: $(pkg-config --cflags uklp)"
has_word "$(pkg-config --libs uklp)" "-L$prefix/$libdir" || fail "pkg-config --libs uklp: $(pkg-config --libs uklp)"
convert=$(pkg-config --variable=klp_convert uklp-patch)
[[ -x $convert ]] || fail "klp_convert variable: $convert"

# 3. by hand, with the pkg-config flags (a Makefile user's view)
cc $(pkg-config --cflags uklp) -Wl,--build-id -o "$tmp/target" "$external/target.c"
cc $(pkg-config --cflags uklp-patch) -DKBUILD_MODNAME='"livepatch_ext"' -o "$tmp/livepatch-ext.so" \
   "$external/livepatch-ext.c" $(pkg-config --libs uklp-patch)
"$convert" --target main="$tmp/target" "$tmp/livepatch-ext.so" "$tmp/livepatch-ext.so"
readelf -W -S "$tmp/livepatch-ext.so" | grep -q '\.klp\.rela\.main\.got' || fail "hand-built module not converted"

# 4. an external CMake project
cmake -S "$external" -B "$tmp/ext" -G "$generator" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/configure.log" 2>&1 ||
  { cat "$tmp/configure.log"; fail "external project: configure"; }
cmake --build "$tmp/ext" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "external project: build"; }
module=$tmp/ext/livepatch-ext.so
[[ -f $module ]] || fail "external project: no livepatch-ext.so"
readelf -W -S "$module" | grep -q '\.uklp\.targets' || fail "external module has no .uklp.targets"
readelf -W -s "$module" | grep -q 'OS \[0xff20\] \.klp\.sym\.main\.ext_value,0' || fail "external module has no klp symbol"
grep -rqF 'KBUILD_MODNAME=\"livepatch_ext\"' "$tmp/ext" || fail "KBUILD_MODNAME is not \"livepatch_ext\""
echo "package_test: ok"
