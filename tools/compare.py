"""Backprop, PyTorch and JAX side by side (run through tools/compare).

Every framework trains the same ReLU MLP with softmax cross-entropy and SGD
with momentum, on the same Fashion-MNIST samples (written once as .npy), from
the same initial weights (PyTorch's default initialisation, seeded, exported
as safetensors), in a process of its own restricted to the first T CPUs.
Throughput is samples/s over one epoch after a warm-up epoch, the median of
--repeats runs, frameworks interleaved (XOR's µs per step too). MFU is
training FLOP/s (6 · params · samples/s) over T times the single-thread
SGEMM rate measured first (NumPy's OpenBLAS, 2048³). Peak memory is each
process's maximum resident set.
"""

import argparse
import re
import gzip
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

FASHION = pathlib.Path(os.environ.get("BACKPROP_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
DEFAULT_CONFIGS = ["784-256-relu-128-relu-10:128", "784-2048-relu-2048-relu-10:512"]


def parse_spec(text):
    """784-256-relu-10 -> (784, [("dense", 784, 256), ("relu",), ("dense", 256, 10)]).

    Every layer of Backprop's specs: widths, relu, tanh, sigmoid, gelu,
    identity, leakyrelu[SLOPE], dropout[RATE], and after an image shape
    (1x28x28) conv<C>k<K>[s<S>][p<P>], maxpool<K>[s<S>], avgpool<K>[s<S>],
    gap, bn and flatten (one index each, as in Backprop and
    torch.nn.Sequential). The input is a width or a (C, H, W) tuple."""
    tokens = text.lower().split("-")
    head = tokens[0].split("x")
    if not all(t.isdigit() for t in head) or len(head) not in (1, 3) or not any(t.isdigit() for t in tokens[1:]):
        sys.exit(f"'{text}' is not a model spec such as 784-256-relu-128-relu-10 or 1x28x28-conv8k3-flatten-10")
    shape = tuple(int(t) for t in head) if len(head) == 3 else int(head[0])
    current = shape
    layers = []

    def window(token, name):
        match = re.fullmatch(name + r"(\d+)(?:s(\d+))?", token)
        kernel = int(match.group(1))
        return kernel, int(match.group(2) or kernel)

    for token in tokens[1:]:
        flat = isinstance(current, int)
        if token.isdigit():
            if not flat:
                sys.exit(f"'{text}': a dense layer needs flatten before it")
            layers.append(("dense", current, int(token)))
            current = int(token)
        elif token in ("relu", "tanh", "sigmoid", "gelu", "identity"):
            layers.append((token,))
        elif token.startswith("leakyrelu"):
            layers.append(("leakyrelu", float(token[len("leakyrelu"):] or 0.01)))
        elif token.startswith("dropout"):
            layers.append(("dropout", float(token[len("dropout"):] or 0.5)))
        elif re.fullmatch(r"conv\d+k\d+(s\d+)?(p\d+)?", token) and not flat:
            match = re.fullmatch(r"conv(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?", token)
            out, k, stride, pad = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1), int(match.group(4) or 0)
            c, h, w = current
            layers.append(("conv", c, out, k, stride, pad, (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1))
            current = (out, layers[-1][6], layers[-1][7])
        elif re.fullmatch(r"(max|avg)pool\d+(s\d+)?", token) and not flat:
            k, stride = window(token, token[:7])
            c, h, w = current
            current = (c, (h - k) // stride + 1, (w - k) // stride + 1)
            layers.append((token[:7], k, stride))
        elif token == "gap" and not flat:
            current = (current[0], 1, 1)
            layers.append(("gap",))
        elif token == "flatten":
            layers.append(("flatten",))
            current = current if flat else current[0] * current[1] * current[2]
        elif token == "bn":
            layers.append(("bn", current if flat else current[0], not flat))
        else:
            sys.exit(f"'{text}': layer '{token}' is not one Backprop has (or does not fit its input)")
    return shape, layers


def parameter_count(layers):
    count = 0
    for l in layers:
        if l[0] == "dense":
            count += l[1] * l[2] + l[2]
        elif l[0] == "conv":
            count += l[1] * l[2] * l[3] * l[3] + l[2]
        elif l[0] == "bn":
            count += 2 * l[1]
    return count


def training_flops(layers):
    """Multiply-adds × 2 of a training step per sample, counted as Backprop's
    layers count them: forward and weight gradient of every dense layer and
    convolution, the input gradient of all but the first of them."""
    total, first = 0, True
    for l in layers:
        if l[0] == "dense":
            product = 2 * l[1] * l[2]
        elif l[0] == "conv":
            product = 2 * l[1] * l[2] * l[3] * l[3] * l[6] * l[7]
        else:
            continue
        total += product * (2 if first else 3)
        first = False
    return total


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def limit_cpus(threads):
    """Restrict this process to the first `threads` CPUs it may use."""
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, allowed[:threads])


# ---------------------------------------------------------------- workers


def torch_model(layers):
    """torch.nn.Sequential for parsed layers (same indices, so same state_dict names as Backprop's)."""
    import torch

    def module(layer):
        kind = layer[0]
        if kind == "dense":
            return torch.nn.Linear(layer[1], layer[2])
        if kind == "conv":
            return torch.nn.Conv2d(layer[1], layer[2], layer[3], stride=layer[4], padding=layer[5])
        if kind == "maxpool":
            return torch.nn.MaxPool2d(layer[1], stride=layer[2])
        if kind == "avgpool":
            return torch.nn.AvgPool2d(layer[1], stride=layer[2])
        if kind == "bn":
            return torch.nn.BatchNorm2d(layer[1]) if layer[2] else torch.nn.BatchNorm1d(layer[1])
        if kind == "leakyrelu":
            return torch.nn.LeakyReLU(layer[1])
        if kind == "dropout":
            return torch.nn.Dropout(layer[1])
        return {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU,
                "identity": torch.nn.Identity, "gap": lambda: torch.nn.AdaptiveAvgPool2d(1),
                "flatten": torch.nn.Flatten}[kind]()

    return torch.nn.Sequential(*[module(layer) for layer in layers])


def make_optimizer(args, parameters):
    import torch

    if args.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=args.lr)
    return torch.optim.SGD(parameters, lr=args.lr, momentum=args.momentum)


def torch_worker(args):
    limit_cpus(args.threads)
    import torch
    from safetensors.torch import load_file

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    shape, layers = parse_spec(args.spec)
    model = torch_model(layers)
    model.load_state_dict(load_file(args.weights))
    data = np.load(args.data)
    image = (-1,) + shape if isinstance(shape, tuple) else (-1, shape)
    x, y = torch.from_numpy(data["train_x"]).reshape(image), torch.from_numpy(data["train_y"]).long()
    optimizer = make_optimizer(args, model.parameters())
    generator = torch.Generator().manual_seed(0)
    seconds = []
    for _ in range(args.epochs):
        order = torch.randperm(len(x), generator=generator)
        started = time.perf_counter()
        for start in range(0, len(x), args.batch):
            batch = order[start : start + args.batch]
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - started)
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(data["test_x"]).reshape(image)).argmax(1).numpy()
    return {"seconds": seconds, "test_accuracy": float((predicted == data["test_y"]).mean())}


def jax_worker(args):
    limit_cpus(args.threads)
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + (
        " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" if args.threads == 1 else ""
    )
    import jax
    import jax.numpy as jnp
    from safetensors.numpy import load_file

    _, layers = parse_spec(args.spec)
    weights = load_file(args.weights)
    params = [
        (jnp.asarray(weights[f"{i}.weight"]), jnp.asarray(weights[f"{i}.bias"]))
        for i, layer in enumerate(layers)
        if layer[0] == "dense"
    ]

    def forward(params, x):
        dense = 0
        for layer in layers:
            if layer[0] == "dense":
                w, b = params[dense]
                x = x @ w.T + b
                dense += 1
            else:
                x = {
                    "relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid,
                    "gelu": lambda v: jax.nn.gelu(v, approximate=False),
                }[layer[0]](x)
        return x

    def loss(params, x, y):
        logits = forward(params, x)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

    lr, momentum = args.lr, args.momentum

    @jax.jit
    def step(params, velocity, x, y):
        grads = jax.grad(loss)(params, x, y)
        velocity = jax.tree_util.tree_map(lambda v, g: momentum * v + g, velocity, grads)
        params = jax.tree_util.tree_map(lambda p, v: p - lr * v, params, velocity)
        return params, velocity

    data = np.load(args.data)
    x, y = data["train_x"], data["train_y"].astype(np.int32)
    velocity = jax.tree_util.tree_map(jnp.zeros_like, params)
    rng = np.random.default_rng(0)
    seconds = []
    for _ in range(args.epochs):
        order = rng.permutation(len(x))
        started = time.perf_counter()
        for start in range(0, len(x), args.batch):
            batch = order[start : start + args.batch]
            params, velocity = step(params, velocity, x[batch], y[batch])
        jax.block_until_ready(params)
        seconds.append(time.perf_counter() - started)
    predicted = np.asarray(forward(params, jnp.asarray(data["test_x"]))).argmax(1)
    return {"seconds": seconds, "test_accuracy": float((predicted == data["test_y"]).mean())}


def xor_worker(args):
    """Microseconds per step of a 2-8-tanh-1 network on the 4 XOR points."""
    limit_cpus(1)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    steps = args.steps
    if args.framework == "pytorch":
        import torch

        torch.set_num_threads(1)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def run(n):
            for _ in range(n):
                optimizer.zero_grad(set_to_none=True)
                torch.nn.functional.binary_cross_entropy_with_logits(model(tx), ty).backward()
                optimizer.step()

        run(100)
        started = time.perf_counter()
        run(steps)
    else:
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        import jax
        import jax.numpy as jnp

        key = jax.random.PRNGKey(0)
        params = [jax.random.uniform(key, (2, 8)) - 0.5, jnp.zeros(8), jax.random.uniform(key, (8, 1)) - 0.5, jnp.zeros(1)]

        def loss(p, x, y):
            z = jnp.tanh(x @ p[0] + p[1]) @ p[2] + p[3]
            return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))

        @jax.jit
        def step(p, v):
            g = jax.grad(loss)(p, x, y)
            v = [0.9 * a + b for a, b in zip(v, g)]
            return [a - 0.1 * b for a, b in zip(p, v)], v

        velocity = [jnp.zeros_like(p) for p in params]
        for _ in range(100):
            params, velocity = step(params, velocity)
        jax.block_until_ready(params)
        started = time.perf_counter()
        for _ in range(steps):
            params, velocity = step(params, velocity)
        jax.block_until_ready(params)
    return {"microseconds_per_step": (time.perf_counter() - started) / steps * 1e6}


def prepare_worker(args):
    """Writes the first `steps` training samples and the test set as .npy and .npz."""
    images, labels = read_idx(FASHION / "train-images-idx3-ubyte.gz"), read_idx(FASHION / "train-labels-idx1-ubyte.gz")
    test_images, test_labels = read_idx(FASHION / "t10k-images-idx3-ubyte.gz"), read_idx(FASHION / "t10k-labels-idx1-ubyte.gz")
    n = args.steps
    files = pathlib.Path(args.data)
    arrays = {
        "train_x": (images[:n].reshape(n, -1) / np.float32(255)).astype(np.float32),
        "train_y": labels[:n].astype(np.int64),
        "test_x": (test_images.reshape(len(test_images), -1) / np.float32(255)).astype(np.float32),
        "test_y": test_labels.astype(np.int64),
    }
    for name, array in arrays.items():
        np.save(files / f"{name}.npy", array)
    # Image models take [N, 1, 28, 28] (a flat file is refused by them).
    for name in ("train_x", "test_x"):
        np.save(files / f"{name}_images.npy", arrays[name].reshape(-1, 1, 28, 28))
    np.savez(files / "data.npz", **arrays)
    return {"samples": n}


def init_worker(args):
    """PyTorch's default initialisation of the model, seeded, as safetensors."""
    import torch
    from safetensors.torch import save_file

    _, layers = parse_spec(args.spec)
    torch.manual_seed(0)
    save_file(dict(torch_model(layers).state_dict()), args.weights)
    return {"written": args.weights}


def gemm_worker(args):
    """Single-thread SGEMM FLOP/s (NumPy's OpenBLAS), the per-core ceiling."""
    limit_cpus(1)
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - started)
    return {"flops": 2 * 2048**3 / best}


# ---------------------------------------------------------------- driver


def run_measured(command, env=None):
    """Runs `command` to its end; returns (stdout, peak resident memory of that process in MB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        # wait4 rather than wait: it gives this child's own resource usage.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            sys.exit(f"compare: {' '.join(map(str, command[:4]))}… failed:\n{err.read().decode().strip()[-2000:]}")
        return out.read().decode(), usage.ru_maxrss / 1024


def run_child(command, env=None):
    """Runs a worker; returns (its last stdout line as JSON, its peak memory in MB)."""
    out, peak = run_measured(command, env)
    return json.loads(out.strip().splitlines()[-1]), peak


def child(kind, **options):
    """The command and environment of a worker process of `kind` (a framework, xor or gemm)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS=str(options.get("threads", 1)))
    command = [sys.executable, __file__, "--worker", kind]
    for key, value in options.items():
        command += [f"--{key}", str(value)]
    return command, env


def measure_backprop(args, spec, batch, threads, files):
    """Backprop's samples/s in its second epoch, test accuracy and peak memory."""
    metrics = files / f"metrics-{threads}.jsonl"
    images = "_images" if isinstance(parse_spec(spec)[0], tuple) else ""
    optimizer = ["--optimizer", "adam"] if args.optimizer == "adam" else ["--optimizer", "sgd", "--momentum", str(args.momentum)]
    command = [
        args.backprop, "train", "--data", str(files / f"train_x{images}.npy"), "--labels", str(files / "train_y.npy"),
        "--test-data", str(files / f"test_x{images}.npy"), "--test-labels", str(files / "test_y.npy"),
        "--init", str(files / "initial.safetensors"), "--model", spec, "--batch-size", str(batch),
        *optimizer, "--lr", str(args.lr), "--epochs", "2",
        "--threads", str(threads), "--metrics", str(metrics), "--quiet", "--json",
    ]
    cpus = ",".join(map(str, sorted(os.sched_getaffinity(0))[:threads]))
    out, peak = run_measured(["taskset", "-c", cpus] + command)
    epochs = [json.loads(line) for line in metrics.read_text().splitlines()]
    return epochs[-1]["samples_per_second"], json.loads(out)["test_accuracy"], peak


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backprop", required=True, help="the backprop binary")
    parser.add_argument("--config", action="append", help="MODEL:BATCH (default: the README's two models)")
    parser.add_argument("--threads", help="thread counts, such as 1,2 (default: 1 and all allowed CPUs)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell; the median is reported")
    parser.add_argument("--train-samples", type=int, default=60000, help="train on the first N samples")
    parser.add_argument("--frameworks", default="backprop,pytorch,jax")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--lr", type=float, help="default: 0.05 for SGD (with --momentum), 0.001 for Adam")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--xor-steps", type=int, default=20000, help="steps timed for XOR (0: skip XOR)")
    parser.add_argument("--output", help="also write the results as JSON here")
    args = parser.parse_args()

    if args.lr is None:
        args.lr = 0.001 if args.optimizer == "adam" else 0.05
    if args.repeats < 1:
        sys.exit(f"compare: --repeats must be at least 1, got {args.repeats}")
    if not 1 <= args.train_samples <= 60000:
        sys.exit(f"compare: --train-samples must be in 1...60000, got {args.train_samples}")
    configs = []
    for config in args.config or DEFAULT_CONFIGS:
        spec, _, batch = config.partition(":")
        parse_spec(spec)
        if batch and (not batch.isdigit() or int(batch) < 1):
            sys.exit(f"compare: --config: '{config}' needs a positive batch size after the colon")
        configs.append((spec, int(batch or 128)))
    frameworks = args.frameworks.split(",")
    unknown = [f for f in frameworks if f not in ("backprop", "pytorch", "jax")]
    if unknown or not frameworks:
        sys.exit(f"compare: --frameworks: unknown {', '.join(unknown)} (choose from backprop, pytorch, jax)")
    if "jax" in frameworks and subprocess.run([sys.executable, "-c", "import jax"], capture_output=True).returncode:
        print("compare: JAX is not installed; skipping it", file=sys.stderr)
        frameworks.remove("jax")
    cpus = len(os.sched_getaffinity(0))
    try:
        threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, cpus})
    except ValueError:
        sys.exit(f"compare: --threads: '{args.threads}' is not a list of counts such as 1,2")
    if any(t < 1 or t > cpus for t in threads):
        sys.exit(f"compare: --threads: each count must be in 1...{cpus} (the CPUs this process may use)")
    load = open("/proc/loadavg").read().split()[:3]
    print(f"machine: {cpus} CPUs, load average {' '.join(load)} before", file=sys.stderr)

    gemm, _ = run_child(*child("gemm"))
    ceiling = gemm["flops"]
    print(f"single-thread SGEMM 2048³: {ceiling / 1e9:.1f} GFLOP/s", file=sys.stderr)

    n = min(args.train_samples, 60000)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        files = pathlib.Path(folder)
        # Data and initial weights are made by workers, so that this process
        # stays small: a child's peak memory counts its parent's pages until exec.
        run_child(*child("prepare", data=files, steps=n))
        for spec, batch in configs:
            _, layers = parse_spec(spec)
            run_child(*child("init", spec=spec, weights=files / "initial.safetensors"))
            work = training_flops(layers)
            # The JAX worker builds dense networks trained by SGD only.
            dense = {l[0] for l in layers} <= {"dense", "relu", "tanh", "sigmoid", "gelu"} and args.optimizer == "sgd"
            if "jax" in frameworks and not dense:
                print(f"compare: JAX compares dense networks under SGD only; skipping it for {spec}", file=sys.stderr)
            names = [f for f in frameworks if f != "jax" or dense]
            for t in threads:
                results = {f: [] for f in names}
                peaks = {f: 0.0 for f in names}
                accuracy = {}
                for _ in range(args.repeats):
                    for framework in names:
                        if framework == "backprop":
                            rate, accuracy[framework], peak = measure_backprop(args, spec, batch, t, files)
                        else:
                            result, peak = run_child(*child(
                                framework, threads=t, spec=spec, batch=batch, lr=args.lr, momentum=args.momentum,
                                optimizer=args.optimizer, epochs=2, weights=files / "initial.safetensors", data=files / "data.npz"))
                            rate = n / result["seconds"][-1]
                            accuracy[framework] = result["test_accuracy"]
                        results[framework].append(rate)
                        peaks[framework] = max(peaks[framework], peak)
                        print(f"  {spec} B={batch} threads={t} {framework}: {rate:,.0f} samples/s", file=sys.stderr)
                reference = statistics.median(results["pytorch"]) if "pytorch" in results else None
                for framework in names:
                    rate = statistics.median(results[framework])
                    rows.append({
                        "model": spec, "batch": batch, "threads": t, "framework": framework,
                        "samples_per_second": rate, "runs": results[framework],
                        "vs_pytorch": rate / reference if reference else None,
                        "mfu": work * rate / (ceiling * t), "peak_rss_mb": peaks[framework],
                        "test_accuracy": accuracy[framework],
                    })

    xor = {}
    if args.xor_steps > 0:
        # The median of --repeats runs, frameworks interleaved, as for the models.
        times = {f: [] for f in frameworks}
        for _ in range(args.repeats):
            for framework in frameworks:
                if framework == "backprop":
                    # One step per epoch: the epoch's own bookkeeping is in the
                    # figure (samples/s over the epochs' time; the scoring of
                    # the 4 test samples after each epoch is not).
                    steps = args.xor_steps * 10
                    out, _ = run_measured([
                        "taskset", "-c", str(sorted(os.sched_getaffinity(0))[0]), args.backprop, "train", "--data",
                        "xor", "--model", "2-8-tanh-1", "--batch-size", "4", "--threads", "1", "--lr", "0.1",
                        "--momentum", "0.9", "--epochs", str(steps), "--quiet", "--json"])
                    times[framework].append(4 / json.loads(out)["samples_per_second"] * 1e6)
                else:
                    result, _ = run_child(*child("xor", framework=framework, steps=args.xor_steps))
                    times[framework].append(result["microseconds_per_step"])
        for framework in frameworks:
            xor[framework] = statistics.median(times[framework])
            print(f"  XOR 2-8-tanh-1: {framework}: {', '.join(f'{t:.2f}' for t in times[framework])} µs per step",
                  file=sys.stderr)

    load = open("/proc/loadavg").read().split()[:3]
    print_table(rows, xor, ceiling, load)
    if args.output:
        pathlib.Path(args.output).write_text(json.dumps({
            "sgemm_flops_one_thread": ceiling, "rows": rows, "xor_microseconds_per_step": xor,
            "load_average_after": load}, indent=1) + "\n")


def print_table(rows, xor, ceiling, load):
    print(f"single-thread SGEMM ceiling: {ceiling / 1e9:.1f} GFLOP/s; load average after: {' '.join(load)}")
    print()
    print("| model, batch | threads | framework | samples/s | vs PyTorch | MFU | peak RSS (MB) | test accuracy |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        ratio = f"{row['vs_pytorch']:.2f}×" if row["vs_pytorch"] else "-"
        print(
            f"| {row['model']}, {row['batch']} | {row['threads']} | {row['framework']} | "
            f"{row['samples_per_second']:,.0f} | {ratio} | {row['mfu']:.2f} | "
            f"{row['peak_rss_mb']:,.0f} | {row['test_accuracy']:.4f} |")
    if xor:
        print()
        print("| XOR 2-8-tanh-1, 4 samples | " + " | ".join(xor) + " |")
        print("|---|" + "---|" * len(xor))
        print("| µs per step | " + " | ".join(f"{v:.1f}" for v in xor.values()) + " |")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        kind = sys.argv[2]
        worker = argparse.ArgumentParser()
        for name in ("spec", "weights", "data", "framework", "optimizer"):
            worker.add_argument(f"--{name}")
        for name in ("threads", "batch", "epochs", "steps"):
            worker.add_argument(f"--{name}", type=int, default=1)
        for name in ("lr", "momentum"):
            worker.add_argument(f"--{name}", type=float, default=0)
        options = worker.parse_args(sys.argv[3:])
        function = {
            "pytorch": torch_worker, "jax": jax_worker, "xor": xor_worker, "gemm": gemm_worker,
            "prepare": prepare_worker, "init": init_worker,
        }[kind]
        print(json.dumps(function(options)))
    else:
        main()
