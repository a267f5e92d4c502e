#!/usr/bin/env bash
# Fill .whl/ for tools/device_cuda_check.sh (run here, before the device call; the folder is
# git-ignored through info/exclude and travels with `carry: [".whl"]`):
#   .whl/pycuda-*-cp312-*.whl   from $PYCUDA_WHEELS (default: /work/shared/gpu-wheels, then
#                               /tmp/xminer-wheels; build one with tools/build_pycuda_wheel.sh)
#   .whl/tornado-*.whl          downloaded for CPython 3.12 (the GPU image lacks it)
# (PY_TAG=311 prepares for CPython 3.11 instead, to try the check script on this machine.)
#   .whl/lib/librandomx.so.0    this machine's RandomX library (Debian's librandomx0)
#
#   tools/device_cuda_prepare.sh [REPO]     REPO: the checkout the device call sends (default: this one)
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
dest="$repo/.whl"
exclude=$(git -C "$repo" rev-parse --path-format=absolute --git-path info/exclude)
grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >>"$exclude"
tag=${PY_TAG:-312}
mkdir -p "$dest/lib"

wheel=""
for dir in ${PYCUDA_WHEELS:-/work/shared/gpu-wheels /tmp/xminer-wheels}; do
    found=$(ls "$dir"/pycuda-*-cp$tag-cp$tag-*.whl 2>/dev/null | tail -n 1 || true)
    [ -n "$found" ] && { wheel=$found; break; }
done
[ -n "$wheel" ] || {
    echo "no cp$tag pycuda wheel: tools/build_pycuda_wheel.sh python3.12 /tmp/xminer-wheels" >&2
    exit 1
}
rm -f "$dest"/pycuda-*.whl "$dest"/tornado-*.whl  # (nvidia-ml-py is in the GPU image)
cp "$wheel" "$dest/"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "${tag:0:1}.${tag:1}" \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$dest" "tornado>=6.3"

lib=$(ldconfig -p | awk '/librandomx\.so\.0 .*x86-64/ {print $NF; exit}')
[ -n "$lib" ] || { echo "librandomx.so.0 not installed (tools/install-deps.sh)" >&2; exit 1; }
cp -L "$lib" "$dest/lib/librandomx.so.0"
du -sh "$dest"
ls -R "$dest"
