#!/usr/bin/env bash
# Build a pycuda wheel on a machine with the CUDA toolkit but no driver (PyPI has only the
# sdist, and it needs libcuda to link and curand, which the toolkit here lacks).
#
#   tools/build_pycuda_wheel.sh PYTHON OUT_DIR      e.g. python3.12 /tmp/xminer-wheels
#
# Links against the no-device stub (tools/cuda_nodev_stub.py; on a GPU machine the real
# libcuda.so.1 is found at run time), CURAND off.  Takes about 3-4 minutes on 2 cores.
set -euo pipefail
python=${1:?usage: build_pycuda_wheel.sh PYTHON OUT_DIR}
out=$(realpath -m "${2:?usage: build_pycuda_wheel.sh PYTHON OUT_DIR}")
version=${PYCUDA_VERSION:-2026.1}
cuda=${CUDA_HOME:-/usr/local/cuda}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/pycuda-build.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$python" "$here/cuda_nodev_stub.py" "$work/stub" --header "$cuda/include/cuda.h" >/dev/null
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q "setuptools>=70" wheel numpy
# the sdist only (metadata needs CUDA_ROOT and wheel in the environment, hence no isolation)
CUDA_ROOT=$cuda "$work/venv/bin/pip" download -q --no-deps --no-binary=pycuda \
    --no-build-isolation -d "$work" "pycuda==$version"
tar -xzf "$work/pycuda-$version.tar.gz" -C "$work"
cat >"$work/pycuda-$version/siteconf.py" <<EOF
BOOST_INC_DIR = []
BOOST_LIB_DIR = []
BOOST_COMPILER = "gcc43"
USE_SHIPPED_BOOST = True
BOOST_PYTHON_LIBNAME = []
BOOST_THREAD_LIBNAME = []
CUDA_TRACE = False
CUDA_ROOT = "$cuda"
CUDA_ENABLE_GL = False
CUDA_ENABLE_CURAND = False
CUDADRV_LIB_DIR = ["$work/stub"]
CUDADRV_LIBNAME = ["cuda"]
CUDART_LIB_DIR = ["$cuda/lib", "$cuda/lib64"]
CUDART_LIBNAME = ["cudart"]
CXXFLAGS = []
LDFLAGS = []
EOF
mkdir -p "$out"
(cd "$work/pycuda-$version" &&
    nice -n 10 "$work/venv/bin/pip" wheel -q --no-deps --no-build-isolation -w "$out" .)
ls "$out"/pycuda-"$version"-*.whl
