#!/usr/bin/python3
"""The example apps (examples/classify.c, classify.cpp) as a user builds and
runs them: torchvision's ShuffleNet V2 1.0x (specs/shufflenet_v2_x1.0.json,
the golden case's torchvision weights) compiled to a static library, the apps
compiled and linked against it with libjpeg and libpng by hand (cc), JPEG and
PNG files (written by PIL) classified through shufflenet_run_rgb8 and the
top-5 printed with ImageNet names. PyTorch on the same files (PIL decoding,
torchvision's evaluation transforms, torchvision's model with the same
weights) gives the same five classes, named as torchvision names them.
Tensors run unchanged; broken files are errors naming the file, exit 1.

    example_app_test.py SHUFFLEC_BINARY GOLDEN_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image
from torchvision.models._meta import _IMAGENET_CATEGORIES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from shufflec_py import safetensors_io  # noqa: E402


def picture(h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([128 + 90 * np.sin(x / 13.0), 128 + 90 * np.cos(y / 9.0), 255.0 * ((x // 40 + y // 40) % 2)], -1)
    return np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)


def build_apps(binary, weights, tmp):
    """The model as a static library and both apps linked against it, as README's "link it into your app"."""
    model = os.path.join(tmp, "model")
    subprocess.run([binary, "compile", os.path.join(ROOT, "specs", "shufflenet_v2_x1.0.json"), "--weights", weights,
                    "--name", "shufflenet", "-o", model, "--quiet"], check=True)
    ex = os.path.join(ROOT, "examples")
    common = [f"-I{model}", f"-I{ex}", "-DEXAMPLES_HAVE_JPEG", "-DEXAMPLES_HAVE_PNG", "-O2", "-Wall", "-Werror"]
    libs = [os.path.join(model, "shufflenet.a"), "-ljpeg", "-lpng", "-lpthread", "-lm"]
    objects = []
    for src in ("image_input.c", "imagenet_classes.c"):
        obj = os.path.join(tmp, src + ".o")
        subprocess.run(["cc", "-c", os.path.join(ex, src), "-o", obj] + common, check=True)
        objects.append(obj)
    apps = {}
    for src, compiler in (("classify.c", "cc"), ("classify.cpp", "c++")):
        apps[src] = os.path.join(tmp, src.replace(".", "_"))
        subprocess.run([compiler, os.path.join(ex, src), "-o", apps[src]] + common + objects + libs, check=True)
    return apps["classify.c"], apps["classify.cpp"]


def torchvision_top5(weights, path):
    net = torchvision.models.shufflenet_v2_x1_0(weights=None)
    state = {k: torch.from_numpy(v) for k, v in safetensors_io.read(weights)[0].items()}
    net.load_state_dict(state, strict=False)
    net.double().eval()
    transform = T.Compose([T.PILToTensor(), T.Resize(256, antialias=True), T.CenterCrop(224),
                           T.ConvertImageDtype(torch.float), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    x = transform(Image.open(path).convert("RGB")).unsqueeze(0).double()
    with torch.no_grad():
        return list(np.argsort(-net(x).numpy().reshape(-1))[:5])


def main():
    binary, golden = sys.argv[1], sys.argv[2]
    weights = os.path.join(golden, "tv_shufflenet_v2_x1_0", "weights.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        classify, classify_cpp = build_apps(binary, weights, tmp)
        for k, (h, w, ext) in enumerate([(480, 640, "jpg"), (500, 300, "png"), (224, 224, "png")]):
            path = os.path.join(tmp, f"image{k}.{ext}")
            Image.fromarray(picture(h, w, k)).save(path, quality=90)
            out = subprocess.run([classify, path], check=True, capture_output=True, text=True).stdout
            rows = re.findall(r"#(\d)  (.*?) +class +(\d+)  p = ([0-9.]+)", out)
            assert len(rows) == 5, out
            app = [int(r[2]) for r in rows]
            for r in rows:
                assert r[1] == _IMAGENET_CATEGORIES[int(r[2])], (r, out)
            expected = torchvision_top5(weights, path)
            assert app == expected, f"{path}: the app says {app}, PyTorch {expected}"
            cpp = subprocess.run([classify_cpp, path], check=True, capture_output=True, text=True).stdout
            assert [int(v) for v in re.findall(r" (\d+) \(", cpp)] == app, cpp
            print(f"[ example  ] {os.path.basename(path)} ({w}x{h}): " + ", ".join(r[1] for r in rows) +
                  " (as PyTorch)")
        # A tensor goes to shufflenet_run unchanged.
        x = np.random.default_rng(5).standard_normal((1, 3, 224, 224)).astype(np.float32)
        np.save(os.path.join(tmp, "x.npy"), x)
        out = subprocess.run([classify, os.path.join(tmp, "x.npy")], check=True, capture_output=True, text=True).stdout
        net = torchvision.models.shufflenet_v2_x1_0(weights=None)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in safetensors_io.read(weights)[0].items()}, strict=False)
        with torch.no_grad():
            want = list(np.argsort(-net.double().eval()(torch.from_numpy(x).double()).numpy().reshape(-1))[:5])
        assert [int(v) for v in re.findall(r"class +(\d+)", out)] == want, out
        # Files that are not images: an error naming the file, exit 1.
        bad = {"truncated.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF", "text.png": b"hello", "short.ppm": b"P6\n4 4\n255\nab"}
        for name, data in bad.items():
            path = os.path.join(tmp, name)
            open(path, "wb").write(data)
            r = subprocess.run([classify, path], capture_output=True, text=True)
            assert r.returncode == 1 and path in r.stderr and not r.stdout, (name, r)
        print("[ example  ] tensors run unchanged; broken files are errors naming the file")


if __name__ == "__main__":
    main()
