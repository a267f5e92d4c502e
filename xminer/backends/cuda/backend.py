"""The CUDA backend behind xminer's Backend interface: one worker thread per device thread.

Each worker owns a :class:`~xminer.backends.cuda.randomx.CudaRandomX` (device buffers,
scratchpads, a stream) and hashes ``threads x blocks`` nonces a launch.  It follows the
miner's RandomX context: light mode uploads the context's cache, fast mode builds the dataset
on the device from that cache; a card too small for it reads the context's from host memory.
Results are checked on the CPU by the miner before they count, as for OpenCL.

Where there is no driver, no pycuda, no device or no nvcc (and no cached kernels), the
backend reports itself unavailable with the reason, and the miner goes on without it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from typing import Any

from xminer.backends.base import Backend, BackendContext, GpuWorker, Worker
from xminer.backends.cuda.compile import cached_binary, find_nvcc, nvcc_info
from xminer.backends.cuda.devices import (
    CudaDeviceInfo,
    CudaThreadConfig,
    default_thread,
    list_devices,
)
from xminer.backends.cuda.nvml import Nvml
from xminer.backends.cuda.status import cuda_status
from xminer.config.model import Cuda
from xminer.state import ThreadInfo

log = logging.getLogger("xminer.cuda")

THREAD_KEYS = ("index", "threads", "blocks", "intensity", "bfactor", "bsleep", "dataset_host")
HEALTH_INTERVAL = 5.0  # seconds between NVML readings


def _profile(section: Cuda) -> list[dict[str, Any]] | None:
    """The rx profile's thread list, else the "threads" option's; None when neither."""
    profile = section.threads_profile()
    threads = section.extra.get("threads")
    if profile is None and isinstance(threads, list):
        return [t.to_json() if isinstance(t, CudaThreadConfig) else dict(t) for t in threads]
    return profile


def plan_threads(
    section: Cuda, devices: list[CudaDeviceInfo], fast: bool
) -> list[CudaThreadConfig]:
    """Thread entries from the cuda config section and the CLI.

    An "rx" (or "rx/0") profile lists threads explicitly as XMRig writes them:
    ``[{"index": 0, "threads": 32, "blocks": 264, "bfactor": 0, "bsleep": 0}]``
    ("intensity" may replace "blocks"; "dataset_host": true keeps the dataset in host
    memory); ``false`` turns CUDA off for RandomX.  Without one,
    every selected device gets :func:`default_thread`, with "threads", "blocks",
    "intensity", "bfactor-hint" and "bsleep-hint" of the options applied when given.
    The device selection (--cuda-devices) filters either list.
    """
    wanted = section.devices()
    known = {d.index for d in devices}
    explicit = _profile(section)
    options = section.extra  # the older section-wide keys: threads, blocks, intensity
    if explicit is not None:
        plans = []
        for entry in explicit:
            fields = {k: entry[k] for k in THREAD_KEYS if entry.get(k) is not None}
            plans.append(CudaThreadConfig(**fields))
        return [p for p in plans if p.index in known and (wanted is None or p.index in wanted)]
    plans = []
    for device in devices:
        if wanted is not None and device.index not in wanted:
            continue
        plan = default_thread(device, fast)
        threads = int(options.get("threads") or plan.threads)
        blocks = int(options.get("blocks") or 0)
        intensity = int(options.get("intensity") or 0)
        if not blocks and not intensity:
            intensity = plan.intensity  # the default's hash count, whatever the block size
        plans.append(
            CudaThreadConfig(
                index=device.index, threads=threads, blocks=blocks, intensity=intensity,
                bfactor=int(section.bfactor_hint or 0),
                bsleep=int(section.bsleep_hint or 0),
                dataset_host=plan.dataset_host,
            )
        )  # fmt: skip
    return plans


class CudaWorker(GpuWorker):
    config: CudaThreadConfig

    def make_gpu(self, mode: str) -> Any:
        from xminer.backends.cuda.randomx import CudaRandomX

        gpu = CudaRandomX(
            self.config.index, mode=mode, intensity=self.config.intensity,
            threads=self.config.threads, bfactor=self.config.bfactor, bsleep=self.config.bsleep,
            dataset_host=self.config.dataset_host,
        )  # fmt: skip
        self.info.details["dataset_host"] = gpu.dataset_host  # what it does, not the hint
        return gpu


class CudaBackend(Backend):
    name = "cuda"

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.section = ctx.config.cuda
        self.devices: list[CudaDeviceInfo] = []
        self.plan: list[CudaThreadConfig] = []
        self.nvml = Nvml(self.section.nvml)
        self._health_stop = threading.Event()
        self._health_thread: threading.Thread | None = None

    def availability(self) -> str | None:
        ok, reason = cuda_status()
        if not ok:
            return reason
        try:
            import numpy  # noqa: F401
        except ImportError as exc:
            return f"unavailable: numpy missing ({exc})"
        self.devices = list_devices()
        try:
            self.plan = plan_threads(self.section, self.devices, self.ctx.rx.fast)
        except (TypeError, ValueError) as exc:
            return f"unavailable: bad cuda thread settings ({exc})"
        if not self.plan:
            return "unavailable: no CUDA device selected"
        if find_nvcc() is None:
            by_index = {d.index: d for d in self.devices}
            for t in self.plan:
                if cached_binary(by_index[t.index].capability) is None:
                    return "unavailable: nvcc not found and no cached kernels (CUDA_HOME)"
        return None

    def make_workers(self) -> list[Worker]:
        if not self.plan:
            self.availability()
        from xminer.backends.cuda.randomx import cuda_device

        for index in sorted({t.index for t in self.plan}):
            cuda_device(index, load=False)  # contexts owned by this (long-lived) thread
        by_index = {d.index: d for d in self.devices}
        new_counter = self.ctx.state.new_counter
        return [
            CudaWorker(
                self,
                ThreadInfo(
                    i, new_counter(), -1, t.intensity, self._details(t),
                    self._device(by_index.get(t.index)),
                ),
                t,
            )
            for i, t in enumerate(self.plan)
        ]  # fmt: skip

    @staticmethod
    def _details(t: CudaThreadConfig) -> dict[str, object]:
        """A thread's /2/backends keys, in XMRig's order (then hashrate, then the device's)."""
        return {
            "index": t.index, "threads": t.threads, "blocks": t.blocks,
            "bfactor": t.bfactor, "bsleep": t.bsleep, "affinity": -1,
            "dataset_host": bool(t.dataset_host),
        }  # fmt: skip

    @staticmethod
    def _device(device: CudaDeviceInfo | None) -> dict[str, object]:
        """A thread's device keys in /2/backends (after its hashrate); health comes later."""
        return device.to_json() if device is not None else {}

    # -- health (NVML) -----------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        reason = self.nvml.start()
        if reason:
            (log.info if self.nvml.library is False else log.warning)("%s", reason)
            return
        log.info("NVML %s, driver %s: health every %g s", self.nvml.version, self.nvml.driver,
                 HEALTH_INTERVAL)  # fmt: skip
        self.publish()  # versions with NVML's
        self.read_health()
        self._health_stop.clear()
        self._health_thread = threading.Thread(
            target=self._health_loop, name="cuda-health", daemon=True
        )
        self._health_thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        self._health_stop.set()
        if self._health_thread is not None:
            self._health_thread.join(timeout)
            self._health_thread = None
        ended = super().stop(timeout)
        if self.nvml.running:
            self.nvml.close()
            self.publish()
        return ended

    def _health_loop(self) -> None:
        while not self._health_stop.wait(HEALTH_INTERVAL):
            self.read_health()

    def read_health(self) -> None:
        """Every thread's ``health`` in the shared state from one NVML reading per device."""
        readings: dict[str, dict[str, object] | None] = {}
        for worker in self.workers:
            bus = str(worker.info.device.get("bus_id", ""))
            if bus not in readings:
                health = self.nvml.read(bus) if bus else None
                readings[bus] = health.to_json() if health is not None else None
            if readings[bus] is not None:
                worker.info.device = {**worker.info.device, "health": readings[bus]}

    def describe(self) -> list[str]:
        by_index = {d.index: d for d in self.devices}
        lines = []
        for t in self.plan:
            dev = by_index.get(t.index)
            name = dev.describe() if dev else f"#{t.index}"
            lines.append(
                f"{name} threads {t.threads} blocks {t.blocks} intensity {t.intensity} "
                f"mode {'fast' if self.ctx.rx.fast else 'light'}"
            )
        return lines

    def api_fields(self) -> dict[str, object]:
        versions = self.versions()
        if self.nvml.running:
            versions.update(nvml=self.nvml.version, driver=self.nvml.driver)
        return {"versions": versions}

    @staticmethod
    def versions() -> dict[str, str]:
        """XMRig's head key: CUDA runtime (here nvcc's release), driver, and the plugin
        (and, from api_fields, NVML's version and the driver's when NVML runs)."""
        out: dict[str, str] = {}
        nvcc = find_nvcc()
        if nvcc is not None:
            found = re.search(r"release (\d+\.\d+)", nvcc_info(nvcc)[0])
            if found:
                out["cuda-runtime"] = found.group(1)
        with contextlib.suppress(Exception):  # a version string is not worth failing for
            import pycuda
            import pycuda.driver as drv

            version = drv.get_driver_version()
            out["cuda-driver"] = f"{version // 1000}.{version % 1000 // 10}"
            out["plugin"] = f"pycuda {pycuda.VERSION_TEXT}"
        return out


def create_backend(ctx: BackendContext) -> CudaBackend:
    return CudaBackend(ctx)
