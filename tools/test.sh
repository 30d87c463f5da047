#!/usr/bin/env bash
# The test command: installs what is missing, then builds the package in
# release mode and runs the test suite against that build (the tests train
# small models and run the `backprop` binary, which is only fast optimised).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build -c release
swift test -c release
