#!/usr/bin/python3
"""The Python wrapper (runtime/python/shufflec.py) on a golden case: a model
compiled with --emit so, called on numpy arrays, matches PyTorch's float64
output (tools/golden.py) within the project's tolerance; a batch runs in chunks
of the compiled batch; thread counts give the same bits; errors are exceptions.

    python_wrapper_test.py SHUFFLEC_BINARY GOLDEN_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "runtime", "python"))
import shufflec  # noqa: E402

shufflec_bin, golden = sys.argv[1], sys.argv[2]
case = json.load(open(os.path.join(golden, "g3_0.5x", "case.json")))
with tempfile.TemporaryDirectory() as out:
    subprocess.run([shufflec_bin, "compile", case["spec"], "--weights", case["weights"], "--target", "x86-64-linux",
                    "--emit", "so", "--name", "net", "-o", out, "--quiet"], check=True)
    model = shufflec.load(os.path.join(out, "net.so"))
    x = np.load(case["input"])
    expected = np.load(case["expected"])
    y = model(x)
    scale = np.abs(expected).max()
    error = np.abs(y - expected).max()
    print(f"[ python   ] {model}: vs PyTorch {error / scale:.2e} (relative to max|expected| {scale:.4g})")
    assert y.shape == expected.shape, (y.shape, expected.shape)
    assert error <= 1e-4 * scale, error

    # A batch of three runs in chunks of the compiled batch of one.
    batch = np.concatenate([x, -x, 0.5 * x])
    yb = model(batch)
    assert yb.shape == (3, 1000)
    for k, xk in enumerate([x, -x, 0.5 * x]):
        assert np.array_equal(yb[k:k + 1], model(xk)), k

    # Any thread count, the same bits.
    model.threads = 1
    y1 = model(x)
    model.threads = 2
    assert model.threads == 2
    assert np.array_equal(y1, model(x))

    # Wrong shapes and bad thread counts are Python exceptions, not crashes.
    for bad in (np.zeros((1, 3, 224, 223), np.float32), np.zeros((3, 224, 224), np.float32)):
        try:
            model(bad)
            raise AssertionError(f"shape {bad.shape} accepted")
        except ValueError:
            pass
    for bad, error in ((1000, shufflec.ShufflecError), (2**40, ValueError), (-1, ValueError), (1.7, TypeError),
                       (True, TypeError), ("2", TypeError)):
        try:
            model.threads = bad
            raise AssertionError(f"threads = {bad!r} accepted")
        except error:
            pass
    assert model.threads == 2, model.threads

    # NaN in, NaN out, as PyTorch and the reference interpreter: a broken frame never looks like an answer.
    for where in ((0, 0, 0, 0), (0, 2, 111, 57), (0, 1, 223, 223)):
        bad = x.copy()
        bad[where] = np.nan
        assert np.isnan(model(bad)).all(), where
    assert np.isnan(model(np.full_like(x, np.nan))).all()
print("ok: golden case, batches, threads and errors through the Python wrapper")

# NaN and infinities op by op, against the reference interpreter (`shufflec run`):
# clip, a 3x3/2 max pool with a NaN at each of the nine taps of one window (one
# channel per tap), +-inf and a negative NaN, then ReLU.
OPS_SPEC = {"format": "shufflec-spec/1", "name": "nan_ops", "input": {"shape": [1, 16, 9, 11]},
            "layers": [{"op": "clip", "name": "clip", "min": -1.5, "max": 4.0},
                       {"op": "maxpool", "name": "pool", "kernel": 3, "stride": 2, "pad": 1},
                       {"op": "relu", "name": "relu"}]}
with tempfile.TemporaryDirectory() as out:
    spec = os.path.join(out, "nan_ops.json")
    json.dump(OPS_SPEC, open(spec, "w"))
    x = np.random.default_rng(5).normal(0, 3, (1, 16, 9, 11)).astype(np.float32)
    for tap in range(9):  # window (2, 2) reads rows 3..5 and columns 3..5
        x[0, tap, 3 + tap // 3, 3 + tap % 3] = np.nan
    x[0, 9, 4, 4], x[0, 10, 4, 4], x[0, 11, 0, 0] = np.inf, -np.inf, np.nan
    x[0, 12, 8, 10] = np.frombuffer(np.uint32(0xFFC00000).tobytes(), np.float32)[0]  # a NaN with its sign bit set
    np.save(os.path.join(out, "x.npy"), x)
    subprocess.run([shufflec_bin, "run", spec, "--random-weights", "1", "--input", os.path.join(out, "x.npy"), "-o", os.path.join(out, "ref.npy")],
                   check=True)
    expected = np.load(os.path.join(out, "ref.npy"))
    for target in ("x86-64-linux", "host"):
        subprocess.run([shufflec_bin, "compile", spec, "--random-weights", "1", "--target", target, "--emit", "so", "--name", "nan_ops",
                        "-o", os.path.join(out, target), "--quiet"], check=True)
        y = shufflec.load(os.path.join(out, target, "nan_ops.so"))(x)
        assert np.array_equal(np.isnan(y), np.isnan(expected)), (target, np.argwhere(np.isnan(y) != np.isnan(expected)))
        assert np.isnan(expected).sum() >= 9 + 2, np.isnan(expected).sum()
        finite = ~np.isnan(expected)
        assert np.array_equal(y[finite], expected[finite]), target  # max, clip and relu are exact
    print(f"ok: NaN and +-inf through clip, max pool (NaN at each of 9 taps) and ReLU: "
          f"{int(np.isnan(expected).sum())} NaN outputs, as the reference, on x86-64-linux and host")
