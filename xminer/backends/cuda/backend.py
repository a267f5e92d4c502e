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

from xminer.backends.base import BackendContext
from xminer.backends.cuda.compile import cached_binary, find_nvcc, nvcc_info
from xminer.backends.cuda.devices import CudaDevice, list_devices
from xminer.backends.cuda.nvml import Nvml
from xminer.backends.cuda.status import cuda_status
from xminer.backends.cuda.threads import CudaThread, plan_threads
from xminer.backends.cuda.worker import CudaWorker
from xminer.backends.gpu.backend import GpuBackend

log = logging.getLogger("xminer.cuda")

HEALTH_INTERVAL = 5.0  # seconds between NVML readings


class CudaBackend(GpuBackend):
    name = "cuda"
    worker_class = CudaWorker
    devices: list[CudaDevice]
    plan: list[CudaThread]

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.section = ctx.config.cuda
        self.nvml = Nvml(self.section.nvml)
        self._health_stop = threading.Event()
        self._health_thread: threading.Thread | None = None

    def runtime_unavailable(self) -> str | None:
        ok, reason = cuda_status()
        if not ok:
            return reason
        try:
            import numpy  # noqa: F401
        except ImportError as exc:
            return f"unavailable: numpy missing ({exc})"
        return None

    def find_devices(self) -> list[CudaDevice]:
        return list_devices()

    def plan_threads(self) -> list[CudaThread]:
        return plan_threads(self.section, self.devices, self.ctx.rx.fast)

    def bad_settings(self, exc: Exception) -> str:
        return f"unavailable: bad cuda thread settings ({exc})"

    def why_no_threads(self) -> str:
        return "unavailable: no CUDA device selected"

    def plan_unavailable(self) -> str | None:
        """Without nvcc, every device needs the kernels cached for its architecture."""
        if find_nvcc() is None:
            by_index = {d.index: d for d in self.devices}
            for t in self.plan:
                if cached_binary(by_index[t.index].capability) is None:
                    return "unavailable: nvcc not found and no cached kernels (CUDA_HOME)"
        return None

    def reads_host_dataset(self, thread: CudaThread, device: CudaDevice | None) -> bool:  # type: ignore[override]
        """dataset_host (the card too small, or asked): the card maps the host's dataset."""
        return bool(thread.dataset_host)

    def prepare_devices(self) -> None:
        from xminer.backends.cuda.randomx import cuda_device

        for index in sorted({t.index for t in self.plan}):
            cuda_device(index, load=False)  # contexts owned by this (long-lived) thread

    def thread_line(self, thread: CudaThread, device: CudaDevice | None) -> str:  # type: ignore[override]
        name = device.describe() if device else f"#{thread.index}"
        return (
            f"{name} threads {thread.threads} blocks {thread.blocks} intensity {thread.intensity}"
        )

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
