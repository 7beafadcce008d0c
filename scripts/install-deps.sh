#!/usr/bin/env bash
# Installs the Debian 12 packages rwkv-mlir needs to build and test.
# Safe to re-run: does nothing when everything is present.
set -euo pipefail

PACKAGES=(
  cmake ninja-build ccache python3 git gcc libc6-dev pkg-config
  clang-22 lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libtomlplusplus-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev
  libomp-22-dev libopenblas-dev libclang-rt-22-dev libcli11-dev
  python3-numpy python3-pytest
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
