"""What every golden-data writer does once its PyTorch model and input exist.

The model's float32 parameters are what shufflec gets (weights file or ONNX);
the expected output is the same model evaluated in float64, so the oracle's own
rounding stays far below the tests' tolerance.
"""

import os

import numpy as np
import torch

from . import safetensors_io


def write_weights(model, folder):
    """The state_dict (without BN's num_batches_tracked) as folder/weights.safetensors; returns it."""
    weights = {k: v for k, v in model.state_dict().items() if not k.endswith(".num_batches_tracked")}
    safetensors_io.write(os.path.join(folder, "weights.safetensors"), weights)
    return weights


def export_onnx(model, example, path, opset, constant_folding=True):
    """Exports the float32 `model` traced on `example`; input "input", output "output"."""
    torch.onnx.export(model, example, path, opset_version=opset, input_names=["input"], output_names=["output"],
                      do_constant_folding=constant_folding, training=torch.onnx.TrainingMode.EVAL)


def write_input_and_expected(model, x, folder):
    """folder/input.npy (x, float32) and folder/expected.npy (the model in float64, stored as float32).

    Leaves the model in float64; returns the expected output."""
    np.save(os.path.join(folder, "input.npy"), x.numpy())
    model.double()
    with torch.no_grad():
        expected = model(x.double()).numpy().astype(np.float32)
    np.save(os.path.join(folder, "expected.npy"), expected)
    return expected
