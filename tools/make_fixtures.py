#!/usr/bin/env python3
"""Makes the PyTorch reference fixtures of Backprop's tests.

Writes Tests/BackpropTests/Fixtures/pytorch_reference.safetensors: small data,
initial weights, and for each configuration the weights after 10 full-batch
optimizer steps in PyTorch, plus the forward outputs and losses of a network
using every activation. The configurations are stored as JSON in the file's
metadata so the Swift tests read exactly what was run here.

Needs torch, numpy and safetensors, in a virtual environment of its own:
    python3 -m venv tools/.venv
    tools/.venv/bin/pip install torch numpy safetensors
    tools/.venv/bin/python tools/make_fixtures.py
"""
import json
import pathlib

import torch
from safetensors.torch import save_file

torch.manual_seed(1234)
torch.set_default_dtype(torch.float32)

ROWS, FEATURES = 16, 6
x = torch.randn(ROWS, FEATURES)
y_class = torch.randint(0, 3, (ROWS,))
y_binary = torch.randint(0, 2, (ROWS,)).float()
y_regression = torch.randn(ROWS, 2)

CONFIGS = [
    dict(name="sgd", model="6-5-tanh-3", loss="cross-entropy", optimizer="sgd", lr=0.1),
    dict(name="sgd_decay", model="6-5-tanh-3", loss="cross-entropy", optimizer="sgd", lr=0.1, weight_decay=0.01),
    dict(name="momentum", model="6-5-relu-3", loss="cross-entropy", optimizer="sgd", lr=0.1, momentum=0.9,
         weight_decay=0.001),
    dict(name="nesterov", model="6-5-relu-3", loss="cross-entropy", optimizer="sgd", lr=0.1, momentum=0.9,
         nesterov=True, weight_decay=0.001),
    dict(name="adam", model="6-5-gelu-3", loss="cross-entropy", optimizer="adam", lr=0.01),
    dict(name="adam_decay", model="6-5-gelu-3", loss="cross-entropy", optimizer="adam", lr=0.01, weight_decay=0.01),
    dict(name="adamw", model="6-5-sigmoid-3", loss="cross-entropy", optimizer="adamw", lr=0.01, weight_decay=0.1),
    dict(name="momentum_clip_cosine", model="6-5-leakyrelu0.1-3", loss="cross-entropy", optimizer="sgd", lr=0.2,
         momentum=0.9, clip=0.5, schedule="cosine"),
    dict(name="adam_step", model="6-5-tanh-3", loss="cross-entropy", optimizer="adam", lr=0.02, schedule="step:3:0.5"),
    dict(name="warmup", model="6-5-tanh-3", loss="cross-entropy", optimizer="sgd", lr=0.3, momentum=0.5,
         warmup=4),
    dict(name="bce", model="6-5-tanh-1", loss="binary-cross-entropy", optimizer="sgd", lr=0.1, momentum=0.9),
    dict(name="mse", model="6-5-relu-2", loss="mse", optimizer="adamw", lr=0.01, weight_decay=0.01),
]
STEPS = 10

ACTIVATIONS = {
    "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU,
    "identity": torch.nn.Identity,
}


def build(spec):
    """torch.nn.Sequential for a Backprop model spec such as 6-5-tanh-3."""
    parts = spec.split("-")
    width = int(parts[0])
    layers = []
    for part in parts[1:]:
        if part.isdigit():
            layers.append(torch.nn.Linear(width, int(part)))
            width = int(part)
        elif part.startswith("leakyrelu"):
            layers.append(torch.nn.LeakyReLU(float(part[len("leakyrelu"):] or 0.01)))
        else:
            layers.append(ACTIVATIONS[part]())
    return torch.nn.Sequential(*layers)


def loss_fn(name):
    return {"cross-entropy": torch.nn.CrossEntropyLoss(), "binary-cross-entropy": torch.nn.BCEWithLogitsLoss(),
            "mse": torch.nn.MSELoss()}[name]


def targets(name):
    return {"cross-entropy": y_class, "binary-cross-entropy": y_binary.unsqueeze(1), "mse": y_regression}[name]


tensors = {"x": x, "y_class": y_class.float(), "y_binary": y_binary, "y_regression": y_regression}
for config in CONFIGS:
    model = build(config["model"])
    for name, value in model.state_dict().items():
        tensors[f"{config['name']}/initial/{name}"] = value.clone()
    kind = config["optimizer"]
    if kind == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config.get("momentum", 0),
                                    nesterov=config.get("nesterov", False),
                                    weight_decay=config.get("weight_decay", 0))
    elif kind == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], weight_decay=config.get("weight_decay", 0))
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"], weight_decay=config.get("weight_decay", 0))
    schedule = config.get("schedule", "constant")
    scheduler = None
    if "warmup" in config:
        # Backprop's warm-up, lr·(t+1)/W for t < W, is LinearLR(1/W, 1, W-1).
        w = config["warmup"]
        scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1 / w, total_iters=w - 1)
    elif schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS)
    elif schedule.startswith("step:"):
        _, every, gamma = schedule.split(":")
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=int(every), gamma=float(gamma))
    criterion = loss_fn(config["loss"])
    losses = []
    for _ in range(STEPS):  # one full batch per epoch: a step per epoch
        optimizer.zero_grad()
        loss = criterion(model(x), targets(config["loss"]))
        losses.append(loss.item())
        loss.backward()
        if "clip" in config:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config["clip"])
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    config["losses"] = losses
    for name, value in model.state_dict().items():
        tensors[f"{config['name']}/final/{name}"] = value.clone()

# Forward parity: every activation in one network, and each loss on its logits.
FORWARD_SPEC = "6-8-gelu-8-sigmoid-8-tanh-8-leakyrelu0.2-8-relu-8-identity-3"
forward_model = build(FORWARD_SPEC)
for name, value in forward_model.state_dict().items():
    tensors[f"forward/{name}"] = value.clone()
with torch.no_grad():
    logits = forward_model(x)
    tensors["forward/output"] = logits
    forward_losses = {
        "cross-entropy": torch.nn.CrossEntropyLoss()(logits, y_class).item(),
        "binary-cross-entropy": torch.nn.BCEWithLogitsLoss()(logits[:, :1], y_binary.unsqueeze(1)).item(),
        "mse": torch.nn.MSELoss()(logits[:, :2], y_regression).item(),
    }

metadata = {
    "configs": json.dumps(CONFIGS),
    "steps": str(STEPS),
    "forward_spec": FORWARD_SPEC,
    "forward_losses": json.dumps(forward_losses),
    "torch_version": torch.__version__,
}
out = pathlib.Path(__file__).resolve().parent.parent / "Tests/BackpropTests/Fixtures/pytorch_reference.safetensors"
out.parent.mkdir(parents=True, exist_ok=True)
save_file({k: v.contiguous() for k, v in tensors.items()}, str(out), metadata=metadata)
print(f"wrote {out} ({out.stat().st_size} bytes)")
