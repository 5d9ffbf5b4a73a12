#!/usr/bin/env bash
# The main job on a fresh machine: install what shufflec needs, build it,
# compile the default spec (ShuffleNet V1 1x g3) into a static library, link it
# into the example C app and classify an image with it (decoded by the app,
# preprocessed by the compiled model: shufflenet_run_rgb8); then classify real
# Fashion-MNIST test images with the committed trained model (specs/fashion_mnist/)
# in fp32 and in int8 (its committed quantization file).
#   tools/main.sh [IMAGE.jpg|IMAGE.png|IMAGE.ppm|TENSOR.npy]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
ninja -C "$root/build" shufflec classify classify_cpp fashion_mnist
input=${1:-}
if [ -z "$input" ]; then
    # A synthetic 640x480 JPEG (no network access needed).
    input="$root/build/example.jpg"
    /usr/bin/python3 - "$input" <<'PY'
import sys
import numpy as np
from PIL import Image
h, w = 480, 640
y, x = np.mgrid[0:h, 0:w]
img = np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (h + w)], -1).astype(np.uint8)
Image.fromarray(img).save(sys.argv[1], quality=90)
PY
fi
echo "== shufflec info (default spec)"
"$root/build/compiler/shufflec" info "$root/specs/shufflenet_v1_g3_1.0x.json" | tail -n 1
echo "== classify $input (random weights: see README for real ones)"
"$root/build/examples/classify" "$input"

echo "== a trained model on real images: Fashion-MNIST test set, ShuffleNet V1 0.5x g3 (specs/fashion_mnist/), fp32, int8 and fp16"
data=/usr/share/datasets/fashion-mnist
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    if [ ! -f "$root/build/$f" ]; then
        gunzip -c "$data/$f.gz" > "$root/build/$f.tmp" && mv "$root/build/$f.tmp" "$root/build/$f"
    fi
done
"$root/build/examples/fashion_mnist" "$root/build/t10k-images-idx3-ubyte" "$root/build/t10k-labels-idx1-ubyte" 8
