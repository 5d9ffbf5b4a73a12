#!/usr/bin/env bash
# Installs everything shufflec needs on a fresh Debian bookworm machine.
# Idempotent: packages already present are skipped; npm peers are installed once.
#   tools/setup.sh           build + test dependencies (Halide, json, gtest, torch, onnx, qemu...)
#   tools/setup.sh --peers   also ONNX Runtime (npm): bench/compare and the onnx_export test
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config libclang-rt-14-dev
  libhalide14-0-dev llvm-14 lld-14 clang-14
  nlohmann-json3-dev libgtest-dev googletest
  libonnx-dev libprotobuf-dev protobuf-compiler
  g++-aarch64-linux-gnu qemu-user llvm-19 openssh-server openssh-client dpkg-dev librsvg2-bin
  python3 python3-torch python3-torchvision python3-onnx python3-numpy python3-pil python3-opencv
  dataset-fashion-mnist
  libjpeg-dev libpng-dev
)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

if [ "${1:-}" = "--peers" ]; then
  # Node.js and npm: this machine kind ships them; Debian's nodejs conflicts with
  # that install, so only fall back to apt when neither is present.
  if ! command -v npm >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    ${SUDO:-} apt-get update -qq
    ${SUDO:-} apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  ort="$here/bench/peers/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
  if [ ! -f "$ort" ]; then
    mkdir -p "$here/bench/peers"
    (cd "$here/bench/peers" && npm install --no-audit --no-fund --save-exact --ignore-scripts onnxruntime-node@1.30.0)
  fi
  echo "setup: onnxruntime-node present"
fi
