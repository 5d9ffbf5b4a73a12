#!/usr/bin/python3
"""NAME_run_rgb8 and NAME_preprocess_rgb8 (a spec's input.preprocess, compiled
into the model) against the conventions they reproduce, on synthetic RGB8
images of many sizes (shrinking, enlarging, odd sizes, a row stride):

  torchvision: import-onnx --preprocess torchvision of torchvision's ShuffleNet
    V2 1.0x vs Resize(256, antialias=True), CenterCrop(224), ConvertImageDtype,
    Normalize (torchvision 0.14 on uint8 tensors). The compiled resize stays in
    float where torchvision rounds to uint8: at most half a grey level apart,
    0.5 / 255 / 0.225 = 0.0087 on the normalized tensor; required <= 1e-2.
  megvii: tools/import_megvii.py's spec of an official-layout ShuffleNet V1
    checkpoint vs megvii's evaluation transform (OpencvResize(256) with
    OpenCV's INTER_LINEAR, CenterCrop(224), ToBGRTensor: BGR 0..255), written
    here from its description. OpenCV interpolates uint8 in fixed point and
    rounds; required <= 1 grey level.

Both: the top-5 classes of run_rgb8 equal PyTorch's on the reference input.

Pixel formats (NAME_run_image / NAME_preprocess_image): BGR8, RGBA8 and BGRA8
made from each image with numpy give exactly RGB8's input; NV12 and NV21 made
with OpenCV (COLOR_RGB2YUV_I420, chroma interleaved) give the input of
OpenCV's own conversion back (COLOR_YUV2RGB_NV12 / NV21) through RGB8, within
one grey level before normalization (1 / 255 / std in the tensor).
Also `shufflec info` names the preprocessing, thread counts give the same bits,
and bad arguments are errors, not crashes.

    preprocess_test.py SHUFFLEC_BINARY GOLDEN_DIR
"""
import ctypes
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "runtime", "python"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import megvii_shufflenet  # noqa: E402
import shufflec  # noqa: E402
from shufflec_py import safetensors_io  # noqa: E402

# (height, width): shrinking, enlarging, square, odd, extreme aspect ratios, a single pixel.
SIZES = [(480, 640), (640, 480), (333, 500), (256, 256), (224, 300), (150, 199), (750, 1000), (257, 1024),
         (1, 1), (2, 3), (7, 900), (1200, 5)]


def image(h, w, seed):
    """A smooth picture with edges and noise, so resizing matters."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([128 + 100 * np.sin(x / 17.0 + y / 29.0), 128 + 100 * np.cos(x / 7.0 - y / 11.0),
                    255.0 * ((x // 23 + y // 31) % 2)], -1)
    img += rng.normal(0, 20, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def compile_so(binary, spec, weights, out, name):
    subprocess.run([binary, "compile", spec, "--weights", weights, "--target", "x86-64-linux", "--emit", "so",
                    "--name", name, "-o", out, "--quiet"], check=True)
    info = subprocess.run([binary, "info", spec], check=True, capture_output=True, text=True).stdout
    line = [s for s in info.splitlines() if s.startswith("preprocess (NAME_run_rgb8): ")]
    assert len(line) == 1, info[:400]
    return shufflec.load(os.path.join(out, name + ".so")), line[0]


def top5(logits):
    return list(np.argsort(-logits.reshape(-1))[:5])


def check(label, model, transform, net, tolerance):
    worst, exact, total = 0.0, 0, 0
    for k, (h, w) in enumerate(SIZES):
        img = image(h, w, k)
        ours = model.preprocess_rgb8(img)
        ref = transform(img)
        assert ours.shape == ref.shape, (ours.shape, ref.shape)
        error = float(np.abs(ours - ref).max())
        worst = max(worst, error)
        exact += int((np.abs(ours - ref) <= 1e-5 * max(1.0, float(np.abs(ref).max()))).sum())
        total += ref.size
        assert error <= tolerance, f"{label} {w}x{h}: preprocess differs by {error}"
        y = model.run_rgb8(img)
        assert np.array_equal(y, model(ours)), f"{label} {w}x{h}: run_rgb8 is not run(preprocess_rgb8)"
        with torch.no_grad():
            expected = net(torch.from_numpy(ref).double()).numpy()
        assert top5(y) == top5(expected), f"{label} {w}x{h}: top-5 {top5(y)} vs PyTorch {top5(expected)}"
    print(f"[ preproc  ] {label}: {len(SIZES)} images, max |compiled - reference| {worst:.4g} "
          f"(limit {tolerance}), {100.0 * exact / total:.3f}% of {total} values equal to float precision, "
          f"top-5 identical")


def torchvision_case(binary, golden, out):
    case = json.load(open(os.path.join(golden, "onnx_tv_shufflenet_v2_x1_0_opset13", "case.json")))
    imported = os.path.join(out, "tv")
    subprocess.run([binary, "import-onnx", case["onnx"], "-o", imported, "--name", "tv", "--preprocess",
                    "torchvision", "--quiet"], check=True)
    model, line = compile_so(binary, os.path.join(imported, "tv.json"), os.path.join(imported, "tv.safetensors"),
                             out, "tv")
    assert "antialias" in line and "RGB" in line and "0.485" in line, line
    net = torchvision.models.shufflenet_v2_x1_0(weights=None)
    state = {k: torch.from_numpy(v) for k, v in safetensors_io.read(case["weights"])[0].items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    net.double().eval()
    transform = T.Compose([T.Resize(256, antialias=True), T.CenterCrop(224), T.ConvertImageDtype(torch.float),
                           T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    check("torchvision", model, lambda img: transform(torch.from_numpy(img).permute(2, 0, 1)).unsqueeze(0).numpy(),
          net, 1e-2)
    return model


def megvii_eval_transform(img):
    """megvii's OpencvResize(256) + CenterCrop(224) + ToBGRTensor on an RGB array."""
    h, w, _ = img.shape
    bgr = np.ascontiguousarray(img[:, :, ::-1])
    size = (int(256 / h * w + 0.5), 256) if h < w else (256, int(256 / w * h + 0.5))
    resized = np.ascontiguousarray(cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR)[:, :, ::-1])
    cropped = np.asarray(T.CenterCrop(224)(Image.fromarray(resized)))
    return np.ascontiguousarray(cropped[:, :, ::-1].transpose(2, 0, 1))[None].astype(np.float32)


def megvii_case(binary, golden, out):
    folder = os.path.join(golden, "megvii_g3_1.0x")
    model, line = compile_so(binary, os.path.join(folder, "imported", "megvii.json"),
                             os.path.join(folder, "imported", "megvii.safetensors"), out, "megvii")
    assert "BGR" in line and "no antialias" in line, line
    net = megvii_shufflenet.ShuffleNetV1(3, "1.0x")
    state = torch.load(os.path.join(folder, "checkpoint.pth.tar"), map_location="cpu")["state_dict"]
    net.load_state_dict({k[len("module."):]: v for k, v in state.items()})
    net.double().eval()
    check("megvii", model, megvii_eval_transform, net, 1.0)


def to_nv(rgb, v_first):
    """NV12 (NV21 with v_first) bytes of an even-sized RGB image: OpenCV's I420 with U and V interleaved."""
    h, w, _ = rgb.shape
    flat = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)  # Y plane, U plane, V plane
    u = flat[h * w:h * w + h * w // 4].reshape(h // 2, w // 2)
    v = flat[h * w + h * w // 4:].reshape(h // 2, w // 2)
    chroma = np.stack([v, u] if v_first else [u, v], -1).reshape(h // 2, w)
    return np.ascontiguousarray(np.concatenate([flat[:h * w].reshape(h, w), chroma], 0))


def pixel_formats(model):
    level = 1.0 / 255.0 / 0.225  # one grey level in the tensor (ImageNet's std: 0.229, 0.224, 0.225)
    worst, exact, total = 0.0, 0, 0
    rng = np.random.default_rng(5)
    for k, (h, w) in enumerate(SIZES):
        rgb = image(h, w, 40 + k)
        ours = model.preprocess_rgb8(rgb)
        alpha = rng.integers(0, 256, (h, w, 1), dtype=np.uint8)  # ignored
        for fmt, pixels in (("bgr8", rgb[:, :, ::-1]), ("rgba8", np.concatenate([rgb, alpha], -1)),
                            ("bgra8", np.concatenate([rgb[:, :, ::-1], alpha], -1))):
            got = model.preprocess_image(np.ascontiguousarray(pixels), fmt)
            assert np.array_equal(got, ours), f"{fmt} {w}x{h}: differs from RGB8 by {np.abs(got - ours).max()}"
        if h % 2 or w % 2:
            continue
        for fmt, code in (("nv12", cv2.COLOR_YUV2RGB_NV12), ("nv21", cv2.COLOR_YUV2RGB_NV21)):
            nv = to_nv(rgb, fmt == "nv21")
            expected = model.preprocess_rgb8(cv2.cvtColor(nv, code))
            got = model.preprocess_image(nv, fmt)
            error = float(np.abs(got - expected).max())
            worst = max(worst, error)
            exact += int((got == expected).sum())
            total += got.size
            assert error <= level * 1.0001, f"{fmt} {w}x{h}: {error} is more than one grey level ({level})"
            assert np.array_equal(model.run_image(nv, fmt), model(got)), f"{fmt} {w}x{h}: run_image"
    # A row stride: an NV12 frame inside wider rows (as camera buffers are padded).
    nv = to_nv(image(240, 320, 9), False)
    padded = np.zeros((nv.shape[0], 384), np.uint8)
    padded[:, :320] = nv
    assert np.array_equal(model.preprocess_image(padded[:, :320], "nv12"), model.preprocess_image(nv, "nv12"))
    # Bad formats and sizes are errors, not crashes.
    fn = getattr(model._lib, model.name + "_preprocess_image")
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    buf, out = np.zeros(64 * 64 * 4, np.uint8), np.zeros(model.input_shape, np.float32)
    codes = {"format -1": fn(buf.ctypes.data, 8, 8, 32, -1, out.ctypes.data),
             "format 6": fn(buf.ctypes.data, 8, 8, 32, 6, out.ctypes.data),
             "NV12 odd width": fn(buf.ctypes.data, 7, 8, 32, 4, out.ctypes.data),
             "NV12 odd height": fn(buf.ctypes.data, 8, 7, 32, 4, out.ctypes.data),
             "RGBA8 stride < 4 * width": fn(buf.ctypes.data, 8, 8, 31, 2, out.ctypes.data),
             "NV21 stride < width": fn(buf.ctypes.data, 8, 8, 7, 5, out.ctypes.data)}
    for what, status in codes.items():
        assert status == 2, f"{what}: status {status}, expected SHUFFLEC_ERROR_BAD_ARGUMENT"
    for bad, fmt in ((np.zeros((10, 10, 3), np.uint8), "rgba8"), (np.zeros((15, 9), np.uint8), "nv12"),
                     (np.zeros((10, 10, 3), np.uint8), "yuyv")):
        try:
            model.preprocess_image(bad, fmt)
            raise AssertionError(f"{fmt} {bad.shape} accepted")
        except ValueError:
            pass
    print(f"[ preproc  ] BGR8, RGBA8, BGRA8: equal to RGB8 on {len(SIZES)} images; NV12/NV21 vs OpenCV's "
          f"conversion: max {worst:.4g} (one grey level: {level:.4g}), {100.0 * exact / max(total, 1):.3f}% of "
          f"{total} values equal; bad formats refused")


def bad_arguments(model):
    for bad in (np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32), np.zeros((10, 30), np.uint8)):
        try:
            model.run_rgb8(bad)
            raise AssertionError(f"{bad.dtype} {bad.shape} accepted")
        except ValueError:
            pass
    fn = getattr(model._lib, model.name + "_run_rgb8")
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    pixels = np.zeros((8, 8, 3), np.uint8)
    out = np.zeros(1000, np.float32)
    codes = {"null pixels": fn(None, 8, 8, 24, out.ctypes.data),
             "null output": fn(pixels.ctypes.data, 8, 8, 24, None),
             "width 0": fn(pixels.ctypes.data, 0, 8, 24, out.ctypes.data),
             "height -1": fn(pixels.ctypes.data, 8, -1, 24, out.ctypes.data),
             "stride < 3 * width": fn(pixels.ctypes.data, 8, 8, 23, out.ctypes.data),
             "2^31 bytes": fn(pixels.ctypes.data, 60000, 60000, 180000, out.ctypes.data)}
    for what, status in codes.items():
        assert status != 0, what
    # A row stride: a crop of a larger image gives the same as the crop copied.
    big = image(300, 400, 7)
    view = big[10:250, 20:340]
    assert view.strides[0] == 1200
    assert np.array_equal(model.run_rgb8(view), model.run_rgb8(np.ascontiguousarray(view)))
    # A row stride beyond 32 bits (rows 2^32 + 1200 bytes apart, in a sparse file) is not cut to 1200.
    with tempfile.TemporaryDirectory() as sparse:
        rows, stride = 64, 2**32 + 1200
        mapped = np.memmap(os.path.join(sparse, "rows"), np.uint8, "w+", shape=((rows - 1) * stride + 1200,))
        far = np.lib.stride_tricks.as_strided(mapped, (rows, 400, 3), (stride, 3, 1))
        far[:] = image(rows, 400, 11)
        assert far.strides[0] == stride
        assert np.array_equal(model.run_rgb8(far), model.run_rgb8(np.ascontiguousarray(far)))
        del far, mapped
    # Any thread count, the same bits.
    img = image(480, 640, 3)
    model.threads = 1
    y1 = model.run_rgb8(img)
    model.threads = 2
    assert np.array_equal(y1, model.run_rgb8(img))
    print("[ preproc  ] bad arguments refused; row strides and thread counts give the same bits")


def main():
    binary, golden = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as out:
        model = torchvision_case(binary, golden, out)
        pixel_formats(model)
        bad_arguments(model)
        megvii_case(binary, golden, out)


if __name__ == "__main__":
    main()
