#!/usr/bin/env bash
# Installs the Debian packages Backprop needs, if any is missing:
# OpenBLAS, oneDNN (convolutions), libdeflate (gzip), hwloc (headers and pkg-config
# files), Open MPI (several processes), Python's venv (the tools and the tests'
# readers of TensorBoard and ONNX files) and the Fashion-MNIST data set.
set -euo pipefail

packages=(pkg-config libopenblas-dev libdnnl-dev libdeflate-dev libhwloc-dev libopenmpi-dev openmpi-bin
  python3-venv dataset-fashion-mnist)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
  echo "setup: the Swift toolchain (6.1 or later) is not on PATH; install it from swift.org" >&2
  exit 1
fi
