"""A minimal reader and writer of safetensors files holding float32 tensors.

Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian
unsigned header length L, then L bytes of JSON header, then the raw data. The
header maps each tensor name to {"dtype": "F32", "shape": [...],
"data_offsets": [begin, end]} (byte offsets into the data area) and may hold a
"__metadata__" object of string to string. This writer pads the header with
spaces to a multiple of 8 bytes, stores tensors in sorted name order and back
to back, as the reference implementation does.
"""

import json
import os
import struct

import numpy as np

_METADATA_KEY = "__metadata__"


def write(path, tensors, metadata=None):
    """Writes `tensors` (a mapping name -> array-like) as float32 to `path`.

    Every value is converted to a C-contiguous little-endian float32 array.
    `metadata`, if given, is a mapping whose keys and values are stored as
    strings under "__metadata__".
    """
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        if name == _METADATA_KEY:
            raise ValueError(f"a tensor may not be named {_METADATA_KEY!r}")
        array = np.ascontiguousarray(np.asarray(tensors[name]), dtype="<f4")
        blob = array.tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header[_METADATA_KEY] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read(path):
    """Reads a safetensors file of float32 tensors.

    Returns (tensors, metadata): a dict name -> numpy float32 array (in header
    order) and the "__metadata__" dict (empty if absent). Raises ValueError,
    naming the file and the tensor, on a malformed file or a dtype other than F32.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw_len = f.read(8)
        if len(raw_len) != 8:
            raise ValueError(f"{path}: too short for a safetensors file")
        (header_len,) = struct.unpack("<Q", raw_len)
        if header_len > size - 8:
            raise ValueError(f"{path}: header length {header_len} exceeds the file size {size}")
        try:
            header = json.loads(f.read(header_len).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: the header is not valid JSON: {e}") from None
        data = f.read()
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the header is not a JSON object")
    metadata = header.pop(_METADATA_KEY, None) or {}
    tensors = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"{path}: tensor '{name}': expected dtype, shape and data_offsets")
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor '{name}' has dtype {info['dtype']}; only F32 is supported")
        shape = tuple(int(d) for d in info["shape"])
        begin, end = (int(v) for v in info["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= len(data) or end - begin != 4 * count:
            raise ValueError(f"{path}: tensor '{name}': data_offsets [{begin}, {end}] do not fit shape "
                             f"{list(shape)} in {len(data)} data bytes")
        tensors[name] = np.frombuffer(data, dtype="<f4", count=count, offset=begin).reshape(shape).copy()
    return tensors, metadata
