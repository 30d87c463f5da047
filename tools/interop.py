"""Checks with PyTorch that models move between Backprop and torch.nn.Sequential
in one line either way, with the same predictions (within 1e-5):

  1. a model trained by `backprop train --save` loads into torch.nn.Sequential
     with load_state_dict(load_file(path)), and so do the parameters of a
     `--checkpoint` file (its optimizer.* and best.* tensors left aside);
  2. a model made and trained in PyTorch, saved with safetensors' save_file,
     loads into `backprop predict --weights FILE --model SPEC`.

Every layer kind is covered (relu, tanh, sigmoid, gelu, leakyrelu, identity,
dropout), for softmax and for a single sigmoid output. Run by tools/interop.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import parse_spec, torch_model  # noqa: E402

SPECS = [
    "20-32-relu-16-tanh-4",
    "20-24-sigmoid-dropout0.3-12-leakyrelu-4",
    "20-16-gelu-8-leakyrelu0.2-identity-3",
    "20-16-tanh-1",
]
TOLERANCE = 1e-5


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"interop: {' '.join(command)} failed: {result.stderr.strip()}")


def probabilities(model, x):
    import torch

    with torch.no_grad():
        model.eval()
        out = model(torch.from_numpy(x))
        return (torch.sigmoid(out) if out.shape[1] == 1 else torch.softmax(out, dim=1)).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backprop", required=True, help="the backprop binary")
    args = parser.parse_args()
    import torch
    from safetensors.torch import load_file, save_file

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 20)).astype(np.float32)
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        path = lambda name: os.path.join(folder, name)  # noqa: E731
        np.save(path("x.npy"), x)
        for spec in SPECS:
            _, layers = parse_spec(spec)
            outputs = [layer for layer in layers if layer[0] == "dense"][-1][2]
            labels = (x[:, 0] > 0).astype(np.int64) if outputs == 1 else rng.integers(0, outputs, 300)
            np.save(path("y.npy"), labels)

            # 1. Backprop -> PyTorch, from the saved weights and from a checkpoint.
            run([args.backprop, "train", "--data", path("x.npy"), "--labels", path("y.npy"), "--model", spec,
                 "--epochs", "3", "--optimizer", "adam", "--save", path("b.safetensors"),
                 "--checkpoint", path("c.safetensors"), "--quiet"])
            run([args.backprop, "predict", "--weights", path("b.safetensors"), "--data", path("x.npy"),
                 "--output", path("b.npy")])
            ours = np.load(path("b.npy"))
            model = torch_model(layers)
            model.load_state_dict(load_file(path("b.safetensors")))
            difference = float(np.abs(probabilities(model, x) - ours).max())
            checkpoint = {k: v for k, v in load_file(path("c.safetensors")).items() if k[0].isdigit()}
            model.load_state_dict(checkpoint)
            difference = max(difference, float(np.abs(probabilities(model, x) - ours).max()))
            print(f"Backprop -> PyTorch  {spec:42s} max |difference| {difference:.2e}")
            worst = max(worst, difference)

            # 2. PyTorch -> Backprop: made and trained in PyTorch, saved with save_file.
            torch.manual_seed(1)
            model = torch_model(layers)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
            target = torch.from_numpy(labels)
            for _ in range(20):
                optimizer.zero_grad()
                out = model(torch.from_numpy(x))
                loss = (torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], target.float())
                        if outputs == 1 else torch.nn.functional.cross_entropy(out, target))
                loss.backward()
                optimizer.step()
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path("t.safetensors"))
            run([args.backprop, "predict", "--weights", path("t.safetensors"), "--model", spec,
                 "--data", path("x.npy"), "--output", path("t.npy")])
            difference = float(np.abs(probabilities(model, x) - np.load(path("t.npy"))).max())
            print(f"PyTorch  -> Backprop {spec:42s} max |difference| {difference:.2e}")
            worst = max(worst, difference)
    if worst > TOLERANCE:
        sys.exit(f"interop: predictions differ by {worst:.2e}, more than {TOLERANCE}")
    print(f"interop: all models agree within {TOLERANCE} (worst {worst:.2e})")


if __name__ == "__main__":
    main()
