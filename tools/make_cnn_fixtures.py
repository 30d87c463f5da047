#!/usr/bin/env python3
"""Makes the PyTorch reference fixture for Backprop's convolutional layers.

Writes Tests/BackpropTests/Fixtures/pytorch_cnn_reference.safetensors: a batch
of small two-channel images, the initial state_dict of a network with every
image layer (conv with stride and padding, 2-D and 1-D batch norm, max and
average pooling, global average pooling, flatten, dense), and for SGD with
momentum and for AdamW the state_dict after 10 full-batch steps in training
mode (running statistics and num_batches_tracked included), the losses, and
the trained network's outputs in eval mode (running statistics).

Needs torch, numpy and safetensors, in a virtual environment of its own:
    python3 -m venv tools/.venv
    tools/.venv/bin/pip install torch numpy safetensors
    tools/.venv/bin/python tools/make_cnn_fixtures.py
"""
import json
import pathlib

import torch
from safetensors.torch import save_file

torch.manual_seed(2026)
torch.set_default_dtype(torch.float32)

# Backprop's spec for the nn.Sequential below, layer for layer.
# Batch norm comes after each activation: a bias right before batch norm
# has a gradient that is 0 but for rounding, which AdamW turns into full
# steps of arbitrary sign in any two programs (PyTorch's own runs included).
SPEC = "2x11x11-conv4k3s2p1-relu-bn-maxpool2-conv6k3p1-relu-avgpool2s1-conv5k1-relu-bn-gap-flatten-7-tanh-bn-3"
ROWS, STEPS = 16, 10


def build():
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, stride=2, padding=1), torch.nn.ReLU(), torch.nn.BatchNorm2d(4),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.ReLU(), torch.nn.AvgPool2d(2, stride=1),
        torch.nn.Conv2d(6, 5, 1), torch.nn.ReLU(), torch.nn.BatchNorm2d(5),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.BatchNorm1d(7), torch.nn.Linear(7, 3))


x = torch.randn(ROWS, 2, 11, 11)
y = torch.randint(0, 3, (ROWS,))
CONFIGS = [
    dict(name="sgd_momentum", optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=0.001),
    dict(name="adamw", optimizer="adamw", lr=0.01, weight_decay=0.01),
]

initial = build()
tensors = {"x": x, "y": y.float()}
for name, value in initial.state_dict().items():
    tensors[f"initial/{name}"] = value.clone()
for config in CONFIGS:
    model = build()
    model.load_state_dict(initial.state_dict())
    model.train()
    if config["optimizer"] == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"],
                                    weight_decay=config["weight_decay"])
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    losses = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    config["losses"] = losses
    for name, value in model.state_dict().items():
        tensors[f"{config['name']}/final/{name}"] = value.clone()
    model.eval()
    with torch.no_grad():
        tensors[f"{config['name']}/eval_output"] = model(x)

metadata = {"spec": SPEC, "steps": str(STEPS), "configs": json.dumps(CONFIGS), "torch_version": torch.__version__}
out = pathlib.Path(__file__).resolve().parent.parent / "Tests/BackpropTests/Fixtures/pytorch_cnn_reference.safetensors"
save_file({k: v.contiguous() for k, v in tensors.items()}, str(out), metadata=metadata)
print(f"wrote {out} ({out.stat().st_size} bytes)")
