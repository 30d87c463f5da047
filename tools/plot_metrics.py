#!/usr/bin/env python3
"""Plots learning curves from `backprop train --metrics` files.

    python3 tools/plot_metrics.py [-o curves.png] [--title T] run.jsonl [other.jsonl ...]

Draws loss (left) and accuracy (right) per epoch: each file is one run, its
training curve solid and its validation or test curve dashed, in one colour
named by the file. With one file the PNG goes beside it (run.png); with
several, to -o (default curves.png). Needs matplotlib (tools/plot-metrics
installs it into tools/.venv first).
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    """The epochs of a metrics file, or exits with one line naming the file and what is wrong."""
    try:
        with open(path) as f:
            lines = [line for line in f if line.strip()]
    except OSError as error:
        sys.exit(f"plot-metrics: error: {path}: cannot read: {error.strerror}")
    epochs = []
    for number, line in enumerate(lines, 1):
        try:
            epoch = json.loads(line)
        except json.JSONDecodeError:
            sys.exit(f"plot-metrics: error: {path}: line {number} is not JSON (give files written by --metrics)")
        if not isinstance(epoch, dict) or "epoch" not in epoch or "train_loss" not in epoch:
            sys.exit(f"plot-metrics: error: {path}: line {number} has no epoch and train_loss (give files written by --metrics)")
        epochs.append(epoch)
    if not epochs:
        sys.exit(f"plot-metrics: error: {path}: no epochs")
    return epochs


def evaluation_name(epochs):
    """`val` or `test`: which evaluation set the run scored each epoch, if any."""
    for name in ("val", "test"):
        if any(f"{name}_loss" in epoch for epoch in epochs):
            return name
    return None


def main():
    parser = argparse.ArgumentParser(description="Plot loss and accuracy per epoch from --metrics files.")
    parser.add_argument("files", nargs="+", help="--metrics files (JSON lines), one run each")
    parser.add_argument("-o", "--output", help="the PNG to write")
    parser.add_argument("--title", help="the figure's title")
    arguments = parser.parse_args()
    runs = [(path, read(path)) for path in arguments.files]
    target = arguments.output or (
        os.path.splitext(arguments.files[0])[0] + ".png" if len(runs) == 1 else "curves.png")
    if not target.lower().endswith(".png"):
        sys.exit(f"plot-metrics: error: {target}: give a .png file to write")
    accuracy = any(e.get("train_accuracy") is not None for _, epochs in runs for e in epochs)
    figure, axes = plt.subplots(1, 2 if accuracy else 1, figsize=(11 if accuracy else 6, 4.5), dpi=120, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (path, epochs) in enumerate(runs):
        label = os.path.splitext(os.path.basename(path))[0]
        colour = colours[index % len(colours)]
        name = evaluation_name(epochs)
        x = [e["epoch"] for e in epochs]
        panels = [("loss", axes[0][0])] + ([("accuracy", axes[0][1])] if accuracy else [])
        for metric, axis in panels:
            train = [e.get(f"train_{metric}") for e in epochs]
            if any(v is not None for v in train):
                axis.plot(x, train, color=colour, label=f"{label} train")
            if name:
                scored = [e.get(f"{name}_{metric}") for e in epochs]
                if any(v is not None for v in scored):
                    axis.plot(x, scored, color=colour, linestyle="--", label=f"{label} {name}")
    for column, metric in enumerate(["loss", "accuracy"][: 2 if accuracy else 1]):
        axis = axes[0][column]
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if arguments.title:
        figure.suptitle(arguments.title)
    figure.tight_layout()
    try:
        figure.savefig(target)
    except OSError as error:
        sys.exit(f"plot-metrics: error: {target}: cannot write: {error.strerror}")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
