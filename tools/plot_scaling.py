#!/usr/bin/env python3
"""Plots a `backprop scale` table: speedup against threads, with the ideal line.

    python3 tools/plot_scaling.py scaling.json [scaling.png]

Reads the JSON that `backprop scale --output BASE` writes (BASE.json) and
draws one line per pinning policy, plus efficiency as labels. Needs matplotlib
(tools/plot-scaling.sh installs it into tools/.venv first).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: plot_scaling.py scaling.json [scaling.png]")
    source = sys.argv[1]
    target = sys.argv[2] if len(sys.argv) > 2 else source.rsplit(".", 1)[0] + ".png"
    with open(source) as f:
        table = json.load(f)
    rows = table["rows"]
    if not rows:
        sys.exit(f"{source}: no rows")
    figure, axes = plt.subplots(figsize=(6, 4.5), dpi=120)
    most = max(row["threads"] for row in rows)
    axes.plot([1, most], [1, most], linestyle="--", color="grey", label="ideal")
    for index, pin in enumerate(dict.fromkeys(row["pin"] for row in rows)):
        points = sorted((row["threads"], row["speedup"], row["efficiency"]) for row in rows if row["pin"] == pin)
        threads = [p[0] for p in points]
        speedups = [p[1] for p in points]
        axes.plot(threads, speedups, marker="o", label=f"pin {pin}")
        for t, s, e in points:
            axes.annotate(f"{s:.2f}× ({e:.0%})", (t, s), textcoords="offset points", xytext=(4, -12 - 11 * index), fontsize=8)
    axes.set_xlabel("threads")
    axes.set_ylabel("speedup")
    axes.set_title(f"{table['model']}, batch {table['batch_size']}")
    axes.set_xticks(sorted({row["threads"] for row in rows}))
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
