#!/usr/bin/env bash
# Installs the Debian 12 packages uklp needs to build, test and run its demo.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config clang
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libunwind-dev binutils curl python3
  libsodium-dev libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "uklp: installing: ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "uklp: error: missing packages and not root; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
