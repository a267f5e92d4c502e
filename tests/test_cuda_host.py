"""The CUDA host side (CudaRandomX, the backend) over a recording stand-in for pycuda.driver.

No GPU and no pycuda needed: ``tests/fake_pycuda.py`` checks each launch against its
prepared format and the grid rule, and makes hashes with the CPU library, so these tests
prove the buffers, the launch order and arguments (the OpenCL host's), the context
discipline and the worker's plumbing.  That the kernels hash right on a GPU is
``tests/test_cuda_hashes.py``'s job.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import fake_pycuda
from xminer.backends.base import BackendContext
from xminer.backends.cuda.compile import DeviceBinary
from xminer.backends.cuda.devices import CudaDeviceInfo, default_thread
from xminer.backends.gpu_common import per_hash_bytes
from xminer.job import Job, JobSlot
from xminer.randomx import VM, Cache, Flags, dataset_item_count, recommended_flags
from xminer.randomx.context import RandomXContext
from xminer.randomx.scan import ScanResult
from xminer.state import SharedState

FLAGS = recommended_flags() & ~Flags.LARGE_PAGES
KEY = b"cuda host test key"
RANDOMX_MODULE = "xminer.backends.cuda.randomx"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """xminer.backends.cuda.randomx imported over the fake driver (and forgotten after)."""
    fake_pycuda.GPU.__init__()  # type: ignore[misc]
    for name, module in fake_pycuda.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    ok = lambda: (True, "1 CUDA device(s)")  # noqa: E731
    monkeypatch.setattr("xminer.backends.cuda.devices.cuda_status", ok)
    monkeypatch.setattr("xminer.backends.cuda.backend.cuda_status", ok)
    # no nvcc needed: the backend sees cached kernels, the module loads a fake image
    monkeypatch.setattr("xminer.backends.cuda.backend.find_nvcc", lambda: None)
    monkeypatch.setattr("xminer.backends.cuda.backend.cached_binary", lambda cap: Path("k"))
    previous = sys.modules.pop(RANDOMX_MODULE, None)
    import xminer.backends.cuda.randomx as randomx

    image = DeviceBinary("cubin", "sm_90", b"fake", Path("fake.cubin"), cached=True)
    monkeypatch.setattr(randomx, "device_binary", lambda capability: image)
    try:
        yield randomx
    finally:
        randomx.release_devices()
        sys.modules.pop(RANDOMX_MODULE, None)
        if previous is not None:
            sys.modules[RANDOMX_MODULE] = previous


@pytest.fixture(scope="module")
def library() -> Iterator[Any]:
    """A light-mode library cache + VM for KEY (the CPU reference)."""
    cache = Cache(FLAGS)
    cache.init(KEY)
    vm = VM(FLAGS, cache, None)
    yield cache, vm
    vm.destroy()
    cache.release()


def pipeline(count: int, threads: int) -> list[tuple[str, tuple[int, ...], tuple[int, ...]]]:
    """What the OpenCL host enqueues for one batch, as (kernel, grid, block)."""
    grid, block = (-(-count // threads), 1), (threads, 1, 1)
    names = ["rx_init", "rx_fill_scratchpad", *["rx_run_program"] * 8, "rx_finish"]
    return [(name, grid, block) for name in names]


def test_light_batches_launch_like_opencl(fake: Any, library: Any) -> None:
    cache, vm = library
    gpu = fake_pycuda.GPU
    gpu.hasher = vm.hash
    rx = fake.CudaRandomX(0, mode="light", intensity=8, threads=3)
    rx.set_key(KEY, cache)
    gpu.launches.clear()
    blob = bytes(range(76))
    digests = rx.hash_nonces(blob, 0xFFFFFFFE, 10)  # two batches: 8 then 2, nonce wraps
    assert [(x.name, x.grid, x.block) for x in gpu.launches] == pipeline(8, 3) + pipeline(2, 3)
    for i, digest in enumerate(digests):
        nonce = (0xFFFFFFFE + i) & 0xFFFFFFFF
        assert digest == vm.hash(blob[:39] + nonce.to_bytes(4, "little") + blob[43:])

    init, fill, *runs, finish = gpu.launches[:11]
    inputs, meta, stride, with_nonce, nonce, state, count = init.args
    assert (inputs, meta) == (int(rx._inputs), int(rx._meta))
    assert (stride, with_nonce, nonce, count) == (0, 1, 0xFFFFFFFE, 8)
    assert fill.args == (state, int(rx._scratchpads), 8)
    cache_buf = gpu.memory[runs[0].args[4]]
    assert cache_buf.size == 256 * 1024 * 1024  # ds0 = the cache in light mode
    dummy = int(rx._dummy)
    for p, run in enumerate(runs):
        assert run.args[:4] == (state, int(rx._scratchpads), int(rx._programs), int(rx._decoded))
        assert run.args[5:8] == (dummy, dummy, dummy)
        assert gpu.memory[run.args[8]].size == 8 * (2 + 2 * 512) * 8  # SuperscalarHash x8
        assert run.args[9:] == (1, 1, int(p == 7), 8)  # chunk_items, light, last, count
    assert finish.args == (state, int(rx._scratchpads), int(rx._hashes), 8)
    assert gpu.launches[11].args[4] == 6  # second batch starts at nonce 0xFFFFFFFE + 8
    rx.close()
    assert gpu.memory == {}  # every device buffer freed


def test_hash_inputs_and_scan(fake: Any, library: Any) -> None:
    cache, vm = library
    fake_pycuda.GPU.hasher = vm.hash
    rx = fake.CudaRandomX(0, mode="light", intensity=4, threads=32)
    rx.set_key(KEY, cache)
    inputs = [b"", b"a", bytes(300), b"The quick brown fox", bytes(range(256)) * 3]
    fake_pycuda.GPU.launches.clear()
    assert rx.hash_inputs(inputs) == [vm.hash(x) for x in inputs]
    inits = [x for x in fake_pycuda.GPU.launches if x.name == "rx_init"]
    assert [x.args[2:5] for x in inits] == [(1, 0, 0), (1, 0, 0)]  # meta_stride 1, no nonce
    assert [x.grid for x in inits] == [(1, 1), (1, 1)]

    blob = bytes(76)
    tails = sorted(int.from_bytes(d[24:32], "little") for d in rx.hash_nonces(blob, 5, 6))
    result = rx.scan(blob, 5, 6, tails[3])
    assert (result.hashes, len(result.shares)) == (6, 3)
    expected = 0
    for nonce in range(5, 11):
        digest = vm.hash(blob[:39] + nonce.to_bytes(4, "little") + blob[43:])
        expected ^= int.from_bytes(digest[24:], "little")
    assert result.tail_xor == expected
    rx.close()
    rx.close()  # twice is harmless


def test_fast_mode_uploads_one_dataset_or_falls_back(fake: Any, library: Any) -> None:
    cache, _ = library
    size = dataset_item_count() * 64
    with mmap.mmap(-1, size) as memory:  # never touched: the fake copies no big buffer
        address = ctypes.addressof(ctypes.c_char.from_buffer(memory))

        class HostDataset:
            def memory(self) -> int:
                return address

        rx = fake.CudaRandomX(0, mode="fast", intensity=2, threads=2)
        assert (rx.mode, rx.fallback) == ("fast", "")
        rx.set_key(KEY, cache, HostDataset())  # type: ignore[arg-type]
        fake_pycuda.GPU.hasher = lambda data: bytes(32)
        rx.hash_nonces(bytes(76), 0, 2)
        run = next(x for x in fake_pycuda.GPU.launches if x.name == "rx_run_program")
        assert fake_pycuda.GPU.memory[run.args[4]].size == size
        dummy = int(rx._dummy)
        assert run.args[5:9] == (dummy, dummy, dummy, dummy)  # no SuperscalarHash programs
        assert run.args[9:11] == (dataset_item_count(), 0)
        rx.close()
        del memory  # the buffer export ends before the mmap closes

    fake_pycuda.GPU.total_mem = 2 * 1024**3  # a card too small for the dataset
    small = fake.CudaRandomX(0, mode="fast", intensity=2, threads=2)
    assert small.mode == "light" and "does not fit" in small.fallback
    small.close()


def test_context_pushed_only_inside_calls(fake: Any, library: Any) -> None:
    """Every call pushes the device's context and pops it; other threads may call too."""
    cache, vm = library
    fake_pycuda.GPU.hasher = vm.hash
    depth = fake_pycuda.GPU.context_depth
    rx = fake.CudaRandomX(0, mode="light", intensity=2, threads=2)
    assert depth.get(threading.get_ident(), 0) == 0
    rx.set_key(KEY, cache)
    results: list[bytes] = []
    worker = threading.Thread(target=lambda: results.extend(rx.hash_inputs([b"x"])))
    worker.start()
    worker.join()
    assert results == [vm.hash(b"x")]
    assert all(d == 0 for d in depth.values())
    rx.close()
    assert all(d == 0 for d in depth.values())


class CollectingSink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.results: list[ScanResult] = []

    def batch_done(self, backend: str, job: Job, result: ScanResult) -> None:
        with self.lock:
            self.results.append(result)

    def hashes(self) -> int:
        with self.lock:
            return sum(r.hashes for r in self.results)


def test_backend_benchmark_sum_equals_cpu(fake: Any) -> None:
    """The worker under the miner's machinery: the benchmark's XOR sum and shares."""
    from xminer.backends.cuda.backend import create_backend

    rx = RandomXContext(mode="light", huge_pages=False)
    seed = bytes(32)
    rx.prepare(seed)
    fake_pycuda.GPU.hasher = rx.verify_hash
    sink = CollectingSink()
    ctx = BackendContext(SharedState(), rx, JobSlot(), sink)
    backend = create_backend(ctx, {"devices-hint": "0", "intensity": 5, "threads": 2})
    try:
        assert backend.availability() is None
        assert [(t.index, t.threads, t.blocks, t.intensity) for t in backend.plan] == [(0, 2, 3, 5)]
        bench = 12
        job = Job("bench", bytes(76), seed, target=2**64 // 3, bench_size=bench)
        ctx.slot.set(job)
        backend.start()
        details = dict(ctx.state.backend("cuda").threads[0].details)
        try:
            deadline = time.monotonic() + 60
            while sink.hashes() < bench and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            backend.stop()
        assert sink.hashes() == bench
        tail_xor, shares, expected = 0, [], 0
        for result in sink.results:
            tail_xor ^= result.tail_xor
            shares += result.shares
        for nonce in range(bench):
            digest = rx.verify_hash(job.blob_with_nonce(nonce))
            expected ^= int.from_bytes(digest[24:32], "little")
            is_share = int.from_bytes(digest[24:], "little") < job.target
            assert ((nonce, digest) in shares) == is_share
        assert tail_xor == expected
        assert max(len(r.shares) for r in sink.results) <= 5  # batches of intensity 5
        assert list(details)[:6] == ["index", "threads", "blocks", "bfactor", "bsleep", "affinity"]
        assert details["name"] == "Fake GPU" and details["arch"] == 90
        assert backend.api_fields()["versions"]["plugin"] == "pycuda fake"  # type: ignore[index]
    finally:
        rx.release()


def test_plan_threads_from_options() -> None:
    from xminer.backends.cuda.backend import plan_threads

    gib = 1024**3
    big = CudaDeviceInfo(0, "big", (9, 0), 132, 80 * gib, "0000:01:00.0")
    small = CudaDeviceInfo(1, "small", (7, 5), 40, 4 * gib, "0000:02:00.0")
    devices = [big, small]

    default_big = default_thread(big, fast=True)
    assert (default_big.threads, default_big.blocks) == (32, 528)  # 4 blocks per SM
    default_small = default_thread(small, fast=True)  # memory-bound: half of what is left
    left = 4 * gib - 512 * 1024**2 - dataset_item_count() * 64
    assert default_small.intensity == (left // 2 // per_hash_bytes()) // 32 * 32
    assert default_thread(small, fast=False).intensity > default_small.intensity

    plans = plan_threads({}, devices, fast=True)
    assert [(p.index, p.intensity) for p in plans] == [
        (0, default_big.intensity), (1, default_small.intensity)
    ]  # fmt: skip
    assert [p.index for p in plan_threads({"devices-hint": "1"}, devices, True)] == [1]
    assert [p.index for p in plan_threads({"devices-hint": [0, 1]}, devices, True)] == [0, 1]
    p = plan_threads({"devices-hint": "0", "threads": 64, "bsleep-hint": 25}, devices, True)[0]
    assert (p.threads, p.intensity, p.blocks, p.bsleep) == (64, default_big.intensity, 264, 25)
    p = plan_threads({"devices-hint": "0", "intensity": 100}, devices, True)[0]
    assert (p.threads, p.blocks, p.intensity) == (32, 4, 100)
    p = plan_threads({"devices-hint": "0", "blocks": 10}, devices, True)[0]
    assert (p.threads, p.blocks, p.intensity) == (32, 10, 320)

    profile = {"rx": [{"index": 1, "threads": 16, "blocks": 8, "bfactor": 6, "bsleep": 0},
                      {"index": 0, "threads": 32, "intensity": 40}, {"index": 7}]}  # fmt: skip
    plans = plan_threads(profile, devices, True)  # device 7 does not exist
    assert [(p.index, p.threads, p.blocks, p.intensity) for p in plans] == [
        (1, 16, 8, 128), (0, 32, 2, 40)
    ]  # fmt: skip
    assert plans[0].bfactor == 6
    assert [p.index for p in plan_threads({**profile, "devices-hint": "0"}, devices, True)] == [0]
    alias = {"rx/0": "rx", "rx": [{"index": 0, "threads": 8, "blocks": 2}]}
    assert [p.intensity for p in plan_threads(alias, devices, True)] == [16]
    assert plan_threads({"rx": False}, devices, True) == []


SITE = {
    "pycuda/__init__.py": "from tests.fake_pycuda import modules\nVERSION_TEXT = 'fake'\n",
    "pycuda/driver.py": "from tests.fake_pycuda import *  # noqa\n"
    "from tests.fake_pycuda import GPU, Error\n",
    "sitecustomize.py": """
import functools
from pathlib import Path
from tests import fake_pycuda
from xminer import bench
from xminer.randomx import VM, Cache, Flags, recommended_flags

@functools.cache
def _vm():
    flags = recommended_flags() & ~Flags.LARGE_PAGES
    cache = Cache(flags)
    cache.init(bench.BENCH_SEED)
    return VM(flags, cache, None)

fake_pycuda.GPU.hasher = lambda data: _vm().hash(data)
ok = lambda: (True, "1 CUDA device(s)")
import xminer.backends.cuda as package, xminer.backends.cuda.status as status
import xminer.backends.cuda.backend as backend, xminer.backends.cuda.devices as devices
import xminer.backends.cuda.randomx as randomx
from xminer.backends.cuda.compile import DeviceBinary
package.cuda_status = status.cuda_status = devices.cuda_status = backend.cuda_status = ok
backend.find_nvcc, backend.cached_binary = (lambda: None), (lambda cap: Path("k"))
randomx.device_binary = lambda cap: DeviceBinary("cubin", "sm_90", b"", Path("k"), True)
""",
}


def test_cli_benchmark_over_the_fake_driver(tmp_path: Path) -> None:
    """``xminer --no-cpu --cuda --bench=24`` end to end (config, backend, worker, sum) with the
    fake driver hashing on the CPU: the sum is the CPU backend's."""
    import os
    import re
    import subprocess

    site = tmp_path / "site"
    for name, text in SITE.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    root = str(Path(__file__).resolve().parents[1])

    def bench_sum(*args: str, fake_driver: bool) -> tuple[str, str]:
        paths = [str(site), root] if fake_driver else [root]
        env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": os.pathsep.join(paths)}
        proc = subprocess.run(
            [sys.executable, "-m", "xminer", "--no-color", "--print-time=0", *args],
            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        found = re.search(r"hash sum = ([0-9A-F]{16})", proc.stdout)
        assert found, proc.stdout
        return found.group(1), proc.stdout

    gpu, log = bench_sum(
        "--no-cpu", "--cuda", "--bench=24", "--randomx-mode=light", fake_driver=True
    )
    assert re.search(r"cuda +#0 Fake GPU \(sm_90, 4 SMs.*threads 32 blocks 16 intensity 512", log)
    cpu, _ = bench_sum("-t", "2", "--bench=24", "--randomx-mode=light", fake_driver=False)
    assert gpu == cpu
