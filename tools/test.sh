#!/usr/bin/env bash
# The test command: installs what is missing, runs the test suite, then
# checks that the package builds in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build -c release --product backprop
swift test
