#!/usr/bin/env bash
# The main job: installs what is missing, builds Backprop in release mode and
# trains 784-256-relu-128-relu-10 on Fashion-MNIST (extra arguments are passed
# on to `backprop train`).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build -c release --traits MPI --product backprop
exec .build/release/backprop train --data fashion-mnist --model 784-256-relu-128-relu-10 \
  --optimizer sgd --lr 0.05 --momentum 0.9 --batch-size 128 --epochs 10 "$@"
