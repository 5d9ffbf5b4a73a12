#!/usr/bin/env bash
# int8 output SNR against fp32 on torchvision's ShuffleNet V2 1.0x and MobileNet V2
# (random weights with calibrated BatchNorm, tools/torchvision_golden.py), exported
# to ONNX by PyTorch and imported by shufflec. The int8 model is the one
# `shufflec run --quantization` simulates (the compiled int8 code computes the same
# integers, docs/quantization.md), calibrated on CALIBRATION random inputs and
# measured on EVAL others: SNR = 10 log10(sum y^2 / sum (y - y_int8)^2) over the
# logits, and how often the top-1 class is the same. For comparison, the same
# for the committed trained Fashion-MNIST models (calibrated on the first 500
# training images, measured on the first 64 test images).
#   bench/int8_snr.sh [CALIBRATION [EVAL]]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
calibration=${1:-8}; eval=${2:-4}
shufflec="$root/build/compiler/shufflec"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for model in shufflenet_v2_x1_0 mobilenet_v2; do
    /usr/bin/python3 "$root/tools/torchvision_golden.py" "$model" -o "$tmp/$model" --onnx "$tmp/$model/m.onnx" --opset 13 \
        > /dev/null
    "$shufflec" import-onnx "$tmp/$model/m.onnx" -o "$tmp" --name "$model" --quiet
    /usr/bin/python3 - "$tmp/$model" "$calibration" "$eval" <<'PY'
import sys
import numpy as np
folder, n_cal, n_eval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(7)
np.save(f"{folder}/cal.npy", rng.standard_normal((n_cal, 3, 224, 224)).astype(np.float32))
np.save(f"{folder}/eval.npy", rng.standard_normal((n_eval, 3, 224, 224)).astype(np.float32))
PY
    for method in percentile minmax; do
        "$shufflec" quantize "$tmp/$model.json" --calibration "$tmp/$model/cal.npy" --method "$method" \
            -o "$tmp/$model/q-$method.json" --quiet
        "$shufflec" run "$tmp/$model.json" --input "$tmp/$model/eval.npy" --quantization "$tmp/$model/q-$method.json" \
            -o "$tmp/$model/int8-$method.npy"
    done
    "$shufflec" run "$tmp/$model.json" --input "$tmp/$model/eval.npy" -o "$tmp/$model/fp32.npy"
    /usr/bin/python3 - "$tmp/$model" "$model" "$calibration" <<'PY'
import sys
import numpy as np
folder, model, n_cal = sys.argv[1], sys.argv[2], sys.argv[3]
y = np.load(f"{folder}/fp32.npy").astype(np.float64)
for method in ("percentile", "minmax"):
    q = np.load(f"{folder}/int8-{method}.npy").astype(np.float64)
    snr = 10 * np.log10((y ** 2).sum() / ((y - q) ** 2).sum())
    same = (y.argmax(1) == q.argmax(1)).mean()
    print(f"{model}: int8 ({method}, {n_cal} calibration inputs) against fp32 on {len(y)} inputs: "
          f"SNR {snr:.1f} dB, same top-1 class {100 * same:.0f}%")
PY
done
/usr/bin/python3 - "$tmp" <<'PY'
import sys
import numpy as np
sys.path.insert(0, "tools")
from shufflec_py import fashion_mnist
train, _ = fashion_mnist.load("train")
test, _ = fashion_mnist.load("test")
np.save(f"{sys.argv[1]}/fashion_cal.npy", fashion_mnist.model_inputs(fashion_mnist.upscale(train[:500])).numpy())
np.save(f"{sys.argv[1]}/fashion_eval.npy", fashion_mnist.model_inputs(fashion_mnist.upscale(test[:64])).numpy())
PY
for model in fashion_shufflenet_v1_g3 fashion_shufflenet_v1_g8 fashion_shufflenet_v2; do
    spec="$root/specs/fashion_mnist/$model.json"
    "$shufflec" quantize "$spec" --calibration "$tmp/fashion_cal.npy" -o "$tmp/q.json" --quiet
    "$shufflec" run "$spec" --input "$tmp/fashion_eval.npy" -o "$tmp/fp32.npy"
    "$shufflec" run "$spec" --input "$tmp/fashion_eval.npy" --quantization "$tmp/q.json" -o "$tmp/int8.npy"
    /usr/bin/python3 - "$tmp" "$model" <<'PY'
import sys
import numpy as np
y, q = (np.load(f"{sys.argv[1]}/{name}.npy").astype(np.float64) for name in ("fp32", "int8"))
snr = 10 * np.log10((y ** 2).sum() / ((y - q) ** 2).sum())
print(f"{sys.argv[2]} (trained): int8 (percentile, 500 training images) against fp32 on 64 test images: "
      f"SNR {snr:.1f} dB, same top-1 class {100 * (y.argmax(1) == q.argmax(1)).mean():.0f}%")
PY
done
