#!/usr/bin/env bash
# Writes Tests/BackpropTests/Fixtures/legacy-checkpoint-xor.safetensors: a
# checkpoint of the kind Backprop wrote before checkpoints kept typed options
# (its metadata holds the command line, 'backprop.command'), made by the
# commit before that change. CheckpointCommandTests resumes it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/tree" >/dev/null 2>&1; rm -rf "$work"' EXIT
git -C "$root" worktree add --detach "$work/tree" f4178ee >/dev/null
(cd "$work/tree" && swift build -c release >/dev/null)
(cd "$work" && tree/.build/release/backprop train --data xor --model 2-4-tanh-1 --epochs 10 --threads 1 \
  --checkpoint legacy.safetensors --quiet)
cp "$work/legacy.safetensors" "$root/Tests/BackpropTests/Fixtures/legacy-checkpoint-xor.safetensors"
