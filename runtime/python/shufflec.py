"""Run a model compiled with `shufflec compile --emit so` from Python.

    import shufflec
    model = shufflec.load("out/net.so")   # the model's name is the file's stem (or name="...")
    model.threads = 2                      # shufflec_set_num_threads (0: the default)
    y = model(x)                           # x: float32 (N, C, H, W); any batch that is a multiple
                                           # of the compiled one runs in chunks of it
    y = model.run_rgb8(image)              # image: uint8 (H, W, 3), any size, for specs with
                                           # input.preprocess (model.preprocess describes it)
    y = model.run_image(frame, "nv12")     # also "bgr8", "rgba8", "bgra8", "nv21": (H, W, 3|4)
                                           # or, for NV12/NV21, (H * 3 / 2, W) bytes

Needs only ctypes and numpy. The library holds the model, its weights (unless
compiled with --external-weights: then call model.load_weights(path)) and the
runtime. Calls are safe from several Python threads (docs/api.md).
"""

import ctypes
import json
import operator
import os

import numpy as np

__all__ = ["load", "Model", "ShufflecError", "PIXEL_FORMATS"]


_INT_MAX = 2**31 - 1  # C int: thread counts, image sizes and row strides

# runtime/shufflec_runtime.h's SHUFFLEC_PIXELS_*: name -> (code, bytes per pixel; 0: YUV 4:2:0)
PIXEL_FORMATS = {"rgb8": (0, 3), "bgr8": (1, 3), "rgba8": (2, 4), "bgra8": (3, 4), "nv12": (4, 0), "nv21": (5, 0)}


class ShufflecError(RuntimeError):
    """A status code from the compiled model (see docs/api.md)."""


class Model:
    def __init__(self, path, name=None):
        self.path = os.path.abspath(path)
        self.name = name or os.path.splitext(os.path.basename(path))[0]
        self._lib = ctypes.CDLL(self.path)
        try:
            info = getattr(self._lib, self.name + "_info")
        except AttributeError:
            raise ShufflecError(f"{path}: no model named {self.name!r} in this library (pass name=...)") from None
        info.restype = ctypes.c_char_p
        self.info = json.loads(info().decode())
        self.input_shape = tuple(self.info["input"])
        self.output_shape = tuple(self.info["output"])
        self._run = getattr(self._lib, self.name + "_run")
        self._run.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self._run.restype = ctypes.c_int
        self._status = self._lib.shufflec_status_string
        self._status.argtypes = [ctypes.c_int]
        self._status.restype = ctypes.c_char_p
        self._lib.shufflec_set_num_threads.argtypes = [ctypes.c_int]
        self._lib.shufflec_get_num_threads.restype = ctypes.c_int

    def _check(self, status, what):
        if status != 0:
            raise ShufflecError(f"{self.name}: {what}: {self._status(status).decode()} (status {status})")

    @property
    def threads(self):
        return self._lib.shufflec_get_num_threads()

    @threads.setter
    def threads(self, n):
        if isinstance(n, bool):
            raise TypeError(f"{self.name}: threads must be a whole number, got {n!r}")
        try:
            count = operator.index(n)  # no silent 1.7 -> 1
        except TypeError:
            raise TypeError(f"{self.name}: threads must be a whole number, got {n!r}") from None
        if not 0 <= count <= _INT_MAX:  # ctypes would wrap 2**40 to 0
            raise ValueError(f"{self.name}: threads = {count}: expected 0 (the default) or a thread count")
        self._check(self._lib.shufflec_set_num_threads(count), f"threads = {count}")

    def load_weights(self, path):
        """For a model compiled with --external-weights: read and check NAME.weights."""
        fn = getattr(self._lib, self.name + "_load_weights")
        fn.argtypes = [ctypes.c_char_p]
        self._check(fn(os.fsencode(path)), f"load_weights({path!r})")

    def __call__(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        n = self.input_shape[0]
        if x.ndim != len(self.input_shape) or x.shape[1:] != self.input_shape[1:] or x.shape[0] % n:
            raise ValueError(f"{self.name}: input of shape {x.shape}; the model takes {self.input_shape} "
                             f"(or a batch that is a multiple of {n})")
        chunks = x.shape[0] // n
        y = np.empty((chunks * self.output_shape[0],) + self.output_shape[1:], np.float32)
        per_in, per_out = x[:n].size, y[:self.output_shape[0]].size
        flat_x, flat_y = x.reshape(-1), y.reshape(-1)
        for k in range(chunks):
            status = self._run(flat_x[k * per_in:].ctypes.data, flat_y[k * per_out:].ctypes.data)
            self._check(status, "run")
        return y

    @property
    def preprocess(self):
        """The compiled input.preprocess in words, or None."""
        return self.info.get("preprocess")

    def _image(self, function, image, fmt, out_shape):
        if self.preprocess is None:
            raise ShufflecError(f"{self.name}: compiled without input.preprocess: no {function}")
        if fmt not in PIXEL_FORMATS:
            raise ValueError(f"{self.name}.{function}: unknown pixel format {fmt!r} (one of {', '.join(PIXEL_FORMATS)})")
        code, depth = PIXEL_FORMATS[fmt]
        image = np.asarray(image)
        if depth:
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != depth:
                raise ValueError(f"{self.name}.{function}: expected a uint8 (height, width, {depth}) {fmt} image, got "
                                 f"{image.dtype} {image.shape}")
            width, height = image.shape[1], image.shape[0]
            dense = image.strides[1] == depth and image.strides[2] == 1
        else:
            if image.dtype != np.uint8 or image.ndim != 2 or image.shape[0] % 3 != 0 or image.shape[1] % 2 != 0:
                raise ValueError(f"{self.name}.{function}: expected {fmt} as a uint8 (height * 3 / 2, width) array "
                                 f"with even width and height, got {image.dtype} {image.shape}")
            width, height = image.shape[1], image.shape[0] // 3 * 2
            dense = image.strides[1] == 1
        if not dense or not 0 <= image.strides[0] <= _INT_MAX:
            image = np.ascontiguousarray(image)  # the C entry points take a row stride of 32 bits
        if height > _INT_MAX or width * max(depth, 1) > _INT_MAX:
            raise ValueError(f"{self.name}.{function}: a {width}x{height} image is too large")
        fn = getattr(self._lib, f"{self.name}_{function}")
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
        fn.restype = ctypes.c_int
        out = np.empty(out_shape, np.float32)
        status = fn(image.ctypes.data, width, height, image.strides[0], code, out.ctypes.data)
        self._check(status, f"{function} on a {width}x{height} {fmt} image")
        return out

    def preprocess_image(self, image, fmt):
        """The network input the compiled preprocessing makes of an image in a pixel format (PIXEL_FORMATS)."""
        return self._image("preprocess_image", image, fmt, self.input_shape)

    def run_image(self, image, fmt):
        """Preprocesses an image in a pixel format (PIXEL_FORMATS) and runs the network on it."""
        return self._image("run_image", image, fmt, self.output_shape)

    def preprocess_rgb8(self, image):
        """The network input the compiled preprocessing makes of a uint8 (H, W, 3) RGB image."""
        return self.preprocess_image(image, "rgb8")

    def run_rgb8(self, image):
        """Preprocesses a uint8 (H, W, 3) RGB image and runs the network on it."""
        return self.run_image(image, "rgb8")

    def __repr__(self):
        return (f"<shufflec model {self.name}: {self.input_shape} -> {self.output_shape}, {self.info['target']}, "
                f"{self.info.get('precision', 'fp32')}>")


def load(path, name=None):
    """Loads NAME.so (from `shufflec compile --emit so`)."""
    return Model(path, name)
