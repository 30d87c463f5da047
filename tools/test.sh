#!/usr/bin/env bash
# The test command: installs what is missing, builds the package in release
# mode and runs the test suite against that build (the tests train small
# models and run the `backprop` binary, which is only fast optimised), fuzzes
# the file readers for a minute, then runs the tests of the parallel engine,
# checkpoints and cross-validation again under the thread sanitizer. The
# release build has the MPI backend (`--traits MPI`: its tests run `mpirun`);
# the sanitizer's build has not, so the package is also built without MPI.
# TensorBoard logs and ONNX exports are read back by TensorBoard's and ONNX's
# own Python packages, in tools/.test-venv (tools/test-venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
# TensorBoard and ONNX readers for the tests that check Backprop's files with them.
BACKPROP_TEST_PYTHON="$(tools/test-venv.sh)"
export BACKPROP_TEST_PYTHON
swift build -c release --traits MPI
swift test -c release --traits MPI
BACKPROP_FUZZ_SECONDS="${BACKPROP_FUZZ_SECONDS:-60}" swift test -c release --traits MPI --skip-build --filter FuzzTests
swift build --build-tests --sanitize=thread
# halt_on_error: a reported race fails the run instead of only printing.
TSAN_OPTIONS=halt_on_error=1 swift test --sanitize=thread --skip-build --filter 'ParallelEngineTests|CheckpointTests|CrossValidationTests'
