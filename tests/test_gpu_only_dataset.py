"""A GPU-only rig in fast mode builds no host dataset: the RandomX context keeps the cache
alone (GPUs that build their datasets on the device need nothing more, and shares are checked
by a light VM); a backend that reads the host's dataset (the CPU's VMs, a GPU thread that
copies or maps it) has it built, also when a live change starts one.

PoCL's CPU device copies the host's dataset by default; tests that need "a GPU that builds on
the device" set ``OpenCLRandomX.build_on_device`` (the existing switch of the runtime).  Its
device build takes a quarter of an hour on PoCL, so they stop the miner once it has begun."""

from __future__ import annotations

import asyncio
from typing import Any

import psutil
import pytest

from tests.config_support import gpu_only, miner_config
from tests.net_support import log_records, messages, run, running, wait_until
from tests.rx_vectors import VECTORS
from xminer.backends.base import BackendContext
from xminer.backends.cpu.backend import CpuBackend
from xminer.config.model import Config
from xminer.config.profiles import CpuThread
from xminer.job import Job, JobSlot, Result
from xminer.miner import Miner
from xminer.randomx import hugepages
from xminer.randomx.binding import hash_once
from xminer.randomx.constants import DATASET_BYTES
from xminer.randomx.context import RandomXContext
from xminer.state import SharedState

FAST_MEMORY = DATASET_BYTES + 2 * 1024**3
NOT_BUILT = "dataset: not built on the host (no backend reads it)"
SEED = bytes(range(32))
NEXT = bytes(range(1, 33))


class Sink:
    def batch_done(self, *args: object) -> None:
        pass


def gpu_fast(**section_wide: Any) -> Config:
    """OpenCL alone (the CPU backend off: PoCL's device is used), fast mode."""
    config = gpu_only(intensity=1, **section_wide)
    config.randomx.mode = "fast"
    return config


@pytest.fixture
def device_builds(monkeypatch: pytest.MonkeyPatch, opencl_kernels: Any) -> Any:
    """PoCL's CPU device builds fast mode's dataset on the device, as a GPU does (the
    OpenCL runtime's class is returned)."""
    from xminer.backends.opencl.randomx import OpenCLRandomX

    monkeypatch.setattr(OpenCLRandomX, "build_on_device", True)
    return OpenCLRandomX


# ---- the context: cache-only fast -------------------------------------------------------
def test_cache_only_fast_context_builds_and_verifies_without_a_dataset() -> None:
    """Fast mode without a backend that reads the host's dataset: prepare and build_ahead make
    the cache alone, VMs (the share checker's) hash in light mode and equal the library's."""
    key, data, want = VECTORS[0]
    rx = RandomXContext(mode="fast", huge_pages=False)
    rx.dataset_needed = False
    try:
        assert rx.prepare(key)
        assert rx.cache is not None and rx.dataset is None
        assert rx.hashing_fast and not rx.vm_fast and not rx.builds_dataset
        assert rx.verify_hash(data).hex() == want
        rx.build_ahead(VECTORS[3][0])
        assert rx.prepare(VECTORS[3][0])  # the cache built ahead, swapped in
        assert rx.dataset is None and rx.init_ms == 0
        assert rx.verify_hash(VECTORS[3][1]).hex() == VECTORS[3][2]
    finally:
        rx.release()


def test_huge_pages_count_the_dataset_only_when_built() -> None:
    assert hugepages.pages_needed(True, 2) == 1040 + 128 + 2
    assert hugepages.pages_needed(False, 2) == 128 + 2


# ---- what each backend reports ------------------------------------------------------------
def test_cpu_and_cuda_backends_report_whether_they_read_the_host_dataset() -> None:
    from xminer.backends.cuda.backend import CudaBackend
    from xminer.backends.cuda.threads import CudaThread

    rx = RandomXContext(mode="light", huge_pages=False)
    ctx = BackendContext(SharedState(), rx, JobSlot(), Sink(), Config())
    assert CpuBackend(ctx, [CpuThread(-1)]).needs_host_dataset()
    assert not CpuBackend(ctx, []).needs_host_dataset()
    cuda = CudaBackend(BackendContext(SharedState(), rx, JobSlot(), Sink(), gpu_only("cuda")))
    cuda.plan = [CudaThread(index=0, threads=32, blocks=4)]
    assert not cuda.needs_host_dataset()  # built on the card
    cuda.plan.append(CudaThread(index=1, threads=32, blocks=4, dataset_host=True))
    assert cuda.needs_host_dataset()  # that card maps the host's


@pytest.mark.opencl
def test_opencl_backend_reports_whether_it_reads_the_host_dataset(
    opencl_kernels: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PoCL's CPU device copies the host's dataset (the library builds it faster), a device
    that builds its own does not read it."""
    from xminer.backends import create_backend
    from xminer.backends.opencl.randomx import OpenCLRandomX

    rx = RandomXContext(mode="light", huge_pages=False)
    ctx = BackendContext(SharedState(), rx, JobSlot(), Sink(), gpu_fast())
    backend = create_backend("opencl", ctx)
    assert backend.availability() is None
    assert backend.needs_host_dataset()
    monkeypatch.setattr(OpenCLRandomX, "build_on_device", True)
    assert not backend.needs_host_dataset()


# ---- the miner ----------------------------------------------------------------------------
class Recorder:
    """A work source of one job (given to the miner when it starts) that keeps the shares."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.shares: list[Result] = []

    async def start(self, miner: Miner) -> None:
        await miner.set_job(self.job)

    async def submit(self, result: Result) -> None:
        self.shares.append(result)

    async def stop(self) -> None:
        pass


def device_build_begun(miner: Miner) -> bool:
    backend = miner.backends.get("opencl")
    workers = backend.workers if backend is not None else []
    return any(w.gpu is not None and len(w.gpu._chunks) >= 3 for w in workers)


@pytest.mark.opencl
def test_gpu_only_fast_miner_builds_no_host_dataset(device_builds: Any) -> None:
    """--no-cpu --opencl in fast mode, the device building its own dataset: the host builds
    the cache alone (logged once), the GPU starts its build from it, shares would be checked
    by a light VM that equals the library; a seed switch builds the new cache alone."""
    assert device_builds.build_on_device
    key, data, want = VECTORS[0]

    async def body() -> None:
        source = Recorder(Job("j", bytes(76), key, target=0))
        miner = Miner(gpu_fast(), source)
        with log_records() as records:
            async with running(miner):
                await wait_until(lambda: device_build_begun(miner), 300, "the device's build")
                rx = miner.rx
                assert rx.fast and rx.seed == key and rx.cache is not None
                assert rx.dataset is None and not rx.builds_dataset
                assert miner.huge_pages_needed() == 128 + 1
                assert rx.verify_hash(data).hex() == want
                assert miner.state.dataset.ready
                await miner.set_job(Job("k", bytes(76), NEXT, target=0, height=2048))
                assert rx.seed == NEXT and rx.dataset is None
                assert rx.verify_hash(data) == hash_once(NEXT, data)
        text = messages(records)
        assert text.count(NOT_BUILT) == 1
        assert "cache (no host dataset: the GPUs build theirs) ready" in "\n".join(text)
        switch = miner.state.dataset.last_switch
        assert switch is not None and switch.path == "rebuild"
        assert switch.reason.startswith("no backend reads the host's dataset")

    run(body(), 600)


@pytest.mark.opencl
def test_cpu_and_gpu_miner_needs_the_host_dataset(device_builds: Any) -> None:
    """The CPU backend beside a GPU that builds on the device: the dataset is built (counted
    in the huge pages); PoCL's device named in devices-hint, so both backends run."""
    assert device_builds.build_on_device
    config = miner_config(1, "fast", opencl={"enabled": True, "devices-hint": "0"})
    config.opencl.extra["intensity"] = 1
    miner = Miner(config)
    miner.build_backends()
    assert set(miner.backends) == {"cpu", "opencl"}
    miner._set_dataset_need()
    assert miner.rx.builds_dataset
    assert miner.huge_pages_needed() > 1040 + 128  # (the threads count once started)


@pytest.mark.opencl
@pytest.mark.slow
@pytest.mark.skipif(
    psutil.virtual_memory().available < FAST_MEMORY, reason="fast mode needs 2 GiB free"
)
def test_live_change_turning_the_cpu_on_builds_the_dataset(device_builds: Any) -> None:
    """A GPU-only fast miner (cache only) given a config with the CPU backend on: the host's
    dataset is built behind the light-mode bridge, then the CPU hashes in fast mode and its
    shares equal the library's."""
    assert device_builds.build_on_device

    async def body() -> None:
        source = Recorder(Job("j", bytes(76), SEED, target=2**64 - 1))
        miner = Miner(gpu_fast(), source)
        with log_records() as records:
            async with running(miner):
                await wait_until(lambda: device_build_begun(miner), 300, "the device's build")
                assert miner.rx.dataset is None
                await miner.apply_config(miner_config(1, "fast"))
                assert "cpu" in miner.backends
                assert miner.huge_pages_needed() > 1040 + 128
                await wait_until(lambda: miner.rx.vm_fast, 900, "the host's dataset")
                assert miner.state.dataset.ready
                before = len(source.shares)
                await wait_until(lambda: len(source.shares) >= before + 3, 300, "fast shares")
                worker = miner.backends["cpu"].workers[0]
                assert worker.vm is not None and worker.vm.full_mem  # type: ignore[attr-defined]
                shares = source.shares[before : before + 3]
        text = "\n".join(messages(records))
        assert NOT_BUILT in text and "dataset: built on the host (read by cpu)" in text
        assert "fast mode again after" in text and " failed " not in text
        for share in shares:
            assert share.backend == "cpu"
            assert share.hash == hash_once(SEED, share.job.blob_with_nonce(share.nonce))

    run(body(), 1500)


def test_dataset_need_is_asked_of_the_backends_on_every_rebuild() -> None:
    """Light mode: the need is still tracked (nothing to build); the CPU backend on, then off."""

    async def body() -> None:
        miner = Miner(miner_config(1, "light"))
        miner.build_backends()
        assert not miner._set_dataset_need() and miner.rx.dataset_needed
        with log_records() as records:
            await miner.apply_config(miner_config(0, "light", opencl={"enabled": False}))
            assert not miner.backends and not miner.rx.dataset_needed
        await asyncio.get_running_loop().run_in_executor(None, miner.stop_backends)
        assert NOT_BUILT not in messages(records)  # light mode builds none anyway

    run(body(), 60)
