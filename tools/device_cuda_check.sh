#!/usr/bin/env bash
# The CUDA backend's checks on a lent GPU machine (kernels/README.md, "CUDA on a GPU").
# Run there from the repository root, with the folder .whl (made here by
# tools/device_cuda_prepare.sh) carried along:
#
#   bash tools/device_cuda_check.sh
#
# It installs the carried wheels (pycuda for the machine's python3, tornado) into /tmp/site,
# puts the carried librandomx on LD_LIBRARY_PATH, builds nothing else, and runs, each under
# its own timeout (about 9.5 minutes in all at most):
#   1. status: the driver, the device, the kernels compiled for it (nvcc, cached)     60 s
#   2. xminer --no-cpu --cuda --bench=10K (the issue's "done when": XMRig's sum)      150 s
#   3. pytest tests/test_cuda_*.py tests/test_gpu_health.py (GPU hashes vs the CPU
#      library, dataset on the card and in host memory, bfactor; NVML)                  200 s
#   4. tools/bench_gpu.py --cuda --mode fast (H/s, the CPU library's for comparison)   90 s
#   5. tools/bench_gpu.py --cuda --dataset-build (the device's dataset build against the
#      CPU library's, sampled items compared)                                           90 s
# Logs go to $OUT (or /tmp/xminer-device) and the last lines sum the steps up.
set -u
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/xminer-device}
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || { echo "wheels did not install" | tee -a "$summary"; exit 1; }
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
export LD_LIBRARY_PATH="$PWD/.whl/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export XDG_CACHE_HOME=/tmp/xminer-cache  # the compiled kernels, shared by every step
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"

step() {  # step NAME SECONDS COMMAND...: run with a timeout, log to $out/NAME.log
    local name=$1 limit=$2 started rc
    shift 2
    started=$(date +%s)
    echo "=== $name: $*"
    timeout -k 10 "$limit" "$@" >"$out/$name.log" 2>&1
    rc=$?
    tail -n 40 "$out/$name.log"
    echo "$name: rc=$rc in $(($(date +%s) - started)) s" | tee -a "$summary"
}

step status 60 python3 - <<'EOF'
import time

import pycuda.driver as drv

from xminer.backends.cuda import cuda_status, device_listing, find_nvcc
from xminer.backends.cuda.randomx import cuda_device

print(cuda_status())
print(device_listing())
print("nvcc", find_nvcc(), "driver", drv.get_driver_version())
started = time.perf_counter()
dev = cuda_device(0)
print(f"kernels: {dev.binary.kind} {dev.binary.arch} cached={dev.binary.cached} "
      f"in {time.perf_counter() - started:.1f} s, max threads a block {dev.max_threads}")
a = drv.function_attribute
for name, fn in dev.functions.items():
    print(name, "regs", fn.get_attribute(a.NUM_REGS), "local", fn.get_attribute(a.LOCAL_SIZE_BYTES))
print("free/total MiB", [x >> 20 for x in dev.mem_info()])
from xminer.backends.cuda.devices import list_devices
from xminer.backends.cuda.nvml import Nvml

nvml = Nvml(True)
print("nvml", nvml.start() or "running", nvml.version, nvml.driver)
print("health", nvml.read(list_devices()[0].pci_bus_id))
nvml.close()
EOF

step bench10k 150 python3 -m xminer --no-color --print-time=10 --health-print-time=10 --no-cpu \
    --cuda --bench=10K
grep -h "hash sum\|reference\|hardware error\|HEALTH\|NVML" "$out/bench10k.log" | tail -n 6 |
    tee -a "$summary"

step pytest 200 python3 -m pytest -q -p no:cacheprovider -rs tests/test_cuda_compile.py \
    tests/test_cuda_nodev.py tests/test_cuda_hashes.py tests/test_cuda_plan.py tests/test_gpu_health.py
tail -n 1 "$out/pytest.log" | tee -a "$summary"

step bench_gpu 90 python3 tools/bench_gpu.py --cuda --mode fast --threads 32 --intensity 4224 \
    --seconds 15 --cpu-seconds 5 --check 64
grep -h "vs CPU\|H/s\|ratio" "$out/bench_gpu.log" | tee -a "$summary"

step dataset_build 90 python3 tools/bench_gpu.py --cuda --dataset-build
grep -h "^\[dataset\]" "$out/dataset_build.log" | tee -a "$summary"

echo "=== summary"
cat "$summary"
