#!/usr/bin/env bash
# The installed compiler, as a user gets it:
#   1. cmake --install into a temporary prefix, then build examples/ out of tree
#      against it (find_package(shufflec) -> shufflec_add_model) and run the app;
#   2. cpack -G DEB: check the package's declared dependencies, unpack it into a
#      folder (as dpkg would into /usr) and build and run the classify example
#      against that (only it, as in the cross build: the prefix built them all);
#   3. the Python wrapper from the prefix loads a model compiled with --emit so.
#   tests/check_install.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

image="$tmp/input.ppm"
/usr/bin/python3 - "$image" <<'PY'
import sys
w, h = 64, 48
pixels = bytes((x * 4 + y * 2 + c * 60) % 256 for y in range(h) for x in range(w) for c in range(3))
open(sys.argv[1], "wb").write(b"P6\n%d %d\n255\n" % (w, h) + pixels)
PY

build_examples() {  # PREFIX NAME [TARGET...: only these (default: all)]
    local prefix=$1 name=$2
    shift 2
    cmake -S "$prefix/share/doc/shufflec/examples" -B "$tmp/examples-$name" -G Ninja \
          -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$tmp/configure-$name.log" \
        || { cat "$tmp/configure-$name.log"; exit 1; }
    ninja -C "$tmp/examples-$name" "$@" > "$tmp/build-$name.log" || { cat "$tmp/build-$name.log"; exit 1; }
    out=$("$tmp/examples-$name/classify" "$image")
    echo "$out" | grep -q "#5" || { echo "FAIL: the $name example printed no top-5:"; echo "$out"; exit 1; }
    # The compiler that ran was the installed one (no source tree path in the example's build).
    grep -q "$prefix/bin/shufflec" "$tmp/examples-$name/build.ninja" \
        || { echo "FAIL: the $name example did not use $prefix/bin/shufflec"; exit 1; }
    echo "ok: examples built against the $name ($prefix) and classified an image"
}

# 1. Install into a prefix; move it, to show nothing points back at the build.
cmake --install "$build" --prefix "$tmp/staging" > /dev/null
mv "$tmp/staging" "$tmp/prefix"
for f in bin/shufflec share/shufflec/schedules/x86-64-linux/default.json share/shufflec/runtime/shufflec_runtime.c \
         share/shufflec/specs/shufflenet_v1_g3_1.0x.json lib/python3/dist-packages/shufflec.py; do
    [ -e "$tmp/prefix/$f" ] || { echo "FAIL: $f is not installed"; exit 1; }
done
[ -n "$(find "$tmp/prefix" -name shufflecConfig.cmake)" ] || { echo "FAIL: no shufflecConfig.cmake"; exit 1; }
"$tmp/prefix/bin/shufflec" compile "$src/specs/shufflenet_v1_g3_0.5x.json" --random-weights 1 --name net \
    -o "$tmp/so" --emit so | grep -q "schedule $tmp/prefix/bin/../share/shufflec/schedules" \
    || { echo "FAIL: the installed compiler did not read its installed schedules"; exit 1; }
build_examples "$tmp/prefix" prefix

# A cross build against the same prefix: shufflec_add_model takes the target from
# the aarch64 toolchain; the app runs under qemu-aarch64.
cat > "$tmp/aarch64.cmake" <<'CMAKE'
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
CMAKE
cmake -S "$tmp/prefix/share/doc/shufflec/examples" -B "$tmp/examples-arm" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" \
      -DCMAKE_TOOLCHAIN_FILE="$tmp/aarch64.cmake" > "$tmp/configure-arm.log" || { cat "$tmp/configure-arm.log"; exit 1; }
ninja -C "$tmp/examples-arm" classify > "$tmp/build-arm.log" || { cat "$tmp/build-arm.log"; exit 1; }
grep -q -- "--target arm-64-linux" "$tmp/examples-arm/build.ninja" \
    || { echo "FAIL: the cross build did not compile the model for arm-64-linux"; exit 1; }
qemu-aarch64 -L /usr/aarch64-linux-gnu "$tmp/examples-arm/classify" "$image" | grep -q "#5" \
    || { echo "FAIL: the cross-built example did not classify under qemu"; exit 1; }
echo "ok: a cross build (aarch64 toolchain) compiled the model for arm-64-linux; the app ran under qemu"
# Android: the NDK's toolchain sets ANDROID; the target follows (and liblog is linked).
cat > "$tmp/arch.cmake" <<CMAKE
set(CMAKE_CROSSCOMPILING ON)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(ANDROID ON)
include("$src/cmake/ShufflecModel.cmake")
shufflec_default_arch(arch)
message("\${arch}")
CMAKE
[ "$(cmake -P "$tmp/arch.cmake" 2>&1)" = "arm-64-android" ] || { echo "FAIL: Android toolchain -> $(cmake -P "$tmp/arch.cmake" 2>&1)"; exit 1; }

# 3. Python from the prefix.
PYTHONPATH="$tmp/prefix/lib/python3/dist-packages" /usr/bin/python3 - "$tmp/so/net.so" <<'PY'
import sys
import numpy as np
import shufflec
model = shufflec.load(sys.argv[1])
y = model(np.zeros(model.input_shape, np.float32))
assert y.shape == (1, 1000) and np.isfinite(y).all(), y.shape
print("ok: the installed Python wrapper ran", model)
PY

# 2. The Debian package.
(cd "$build" && cpack -G DEB > "$tmp/cpack.log") || { cat "$tmp/cpack.log"; exit 1; }
deb=$(ls "$build"/shufflec_*.deb | head -1)
depends=$(dpkg-deb -f "$deb" Depends)
for want in libhalide14-0-dev clang-14 lld-14 llvm-14 gcc libc6 libstdc++6 libonnx1 libprotobuf32; do
    [[ "$depends" == *"$want"* ]] || { echo "FAIL: $deb does not depend on $want (Depends: $depends)"; exit 1; }
done
echo "ok: $(basename "$deb") depends on: $depends"
dpkg-deb -x "$deb" "$tmp/root"
build_examples "$tmp/root/usr" package classify
