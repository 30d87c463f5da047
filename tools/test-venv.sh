#!/usr/bin/env bash
# Makes (once) the Python environment the tests read Backprop's files back
# with: TensorBoard's EventAccumulator for --tensorboard logs, onnx's checker
# and onnxruntime for exported models, matplotlib for tools/plot-metrics. Prints its python's path on standard
# output; when it cannot be made (no network for pip), says so on standard
# error and prints nothing, and those tests are skipped.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.test-venv"
python="$venv/bin/python"
check='import tensorboard, onnx, onnxruntime, numpy, matplotlib'
if [[ -x "$python" ]] && "$python" -c "$check" 2>/dev/null; then
  echo "$python"
  exit 0
fi
if python3 -m venv "$venv" >&2 && "$venv/bin/pip" install -q --disable-pip-version-check \
  tensorboard onnx onnxruntime numpy matplotlib >&2 && "$python" -c "$check" 2>/dev/null; then
  echo "$python"
else
  echo "test-venv: could not install tensorboard, onnx and onnxruntime into $venv; the tests that read TensorBoard logs and ONNX files are skipped" >&2
fi
