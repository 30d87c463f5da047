#!/usr/bin/env python3
"""Makes the PyTorch reference for `backprop summary`.

Writes Tests/BackpropTests/Fixtures/pytorch_summaries.json: for each model of
the README's recipes, built here by hand as the torch.nn.Sequential Backprop
names it, the trained parameters (sum of numel over parameters()), the buffers
(batch norm's running statistics and count), and each layer's output shape
for one sample (from a forward pass of a batch of 2 in eval mode).

Needs torch, in a virtual environment of its own:
    python3 -m venv tools/.venv
    tools/.venv/bin/pip install torch
    tools/.venv/bin/python tools/make_summary_fixtures.py
"""
import json
import pathlib

import torch
from torch import nn


def recipe_b():
    layers = []
    channels = 1
    for out in (32, 32):
        layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
        channels = out
    layers.append(nn.MaxPool2d(2))
    for out in (64, 64):
        layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
        channels = out
    layers += [nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, 256), nn.BatchNorm1d(256),
               nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 10)]
    return nn.Sequential(*layers)


MODELS = {
    "784-256-relu-128-relu-10": (
        (784,), lambda: nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                      nn.Linear(128, 10))),
    "4-16-relu-3": ((4,), lambda: nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))),
    "784-128-relu-10": ((784,), lambda: nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))),
    "1x28x28-conv32k5p2-relu-maxpool2-conv64k5p2-relu-maxpool2-flatten-10": (
        (1, 28, 28), lambda: nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 10))),
    "1x28x28-conv32k3p1-bn-relu-conv32k3p1-bn-relu-maxpool2-conv64k3p1-bn-relu-conv64k3p1-bn-relu-maxpool2"
    "-flatten-dropout0.3-256-bn-relu-dropout0.3-10": ((1, 28, 28), recipe_b),
    "3x32x32-conv16k3s2p1-relu-avgpool2s1-conv8k1-tanh-gap-flatten-5-sigmoid-2": (
        (3, 32, 32), lambda: nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(2, stride=1), nn.Conv2d(16, 8, 1),
            nn.Tanh(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5), nn.Sigmoid(), nn.Linear(5, 2))),
}


def describe(spec, shape, build):
    model = build().eval()
    shapes = []
    for layer in model:
        layer.register_forward_hook(lambda _m, _i, out: shapes.append(list(out.shape[1:])))
    with torch.no_grad():
        model(torch.zeros((2,) + shape))
    return {
        "spec": spec,
        "parameters": sum(p.numel() for p in model.parameters()),
        "buffers": sum(b.numel() for b in model.buffers()),
        "output_shapes": shapes,
    }


def main():
    out = pathlib.Path(__file__).resolve().parent.parent / "Tests/BackpropTests/Fixtures/pytorch_summaries.json"
    summaries = [describe(spec, shape, build) for spec, (shape, build) in MODELS.items()]
    lines = ",\n  ".join(json.dumps(summary) for summary in summaries)
    out.write_text(f'{{"torch": "{torch.__version__}", "models": [\n  {lines}\n]}}\n')
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
