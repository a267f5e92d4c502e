#!/usr/bin/env bash
# Installs what xminer needs from Debian (the RandomX library, gcc for the C batch loop,
# monerod for the daemon tests, PoCL for the OpenCL tests, Prometheus and Chromium with its
# WebDriver for the monitoring tests) when something is missing.
# Idempotent; needs root or sudo.
set -euo pipefail

packages=(gcc libc6-dev librandomx0 librandomx-dev monero pocl-opencl-icd ocl-icd-libopencl1 ocl-icd-opencl-dev clinfo
          prometheus chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root for: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
