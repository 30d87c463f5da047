#!/usr/bin/env python3
"""Checks an ONNX file with onnx's own checker and runs it with onnxruntime.

Usage: run_onnx.py MODEL.onnx FEATURES.npy OUTPUTS.npy
Writes the model's outputs for the features (float32, [N, ...]) to
OUTPUTS.npy and prints one JSON object: the IR version, the opset, and the
input's and output's names and shapes (a free dimension as its name), the
operators and the metadata.
The tests use it to compare `backprop export` with `backprop predict`;
tools/test.sh installs onnx and onnxruntime into tools/.test-venv.
"""
import json
import sys

import numpy
import onnx
import onnxruntime


def shape(value):
    return [d.dim_param if d.dim_param else d.dim_value for d in value.type.tensor_type.shape.dim]


def main():
    path, features, outputs = sys.argv[1:4]
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = numpy.load(features).astype(numpy.float32)
    (result,) = session.run(None, {model.graph.input[0].name: x})
    numpy.save(outputs, result.astype(numpy.float32))
    print(json.dumps({
        "ir_version": model.ir_version,
        "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0],
        "input": [model.graph.input[0].name, shape(model.graph.input[0])],
        "output": [model.graph.output[0].name, shape(model.graph.output[0])],
        "operators": sorted({node.op_type for node in model.graph.node}),
        "metadata": {entry.key: entry.value for entry in model.metadata_props},
    }))


if __name__ == "__main__":
    main()
