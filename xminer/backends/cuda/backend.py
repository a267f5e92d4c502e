"""The CUDA backend behind xminer's Backend interface: one worker thread per device thread.

Each worker owns a :class:`~xminer.backends.cuda.randomx.CudaRandomX` (device buffers,
scratchpads, a stream) and hashes ``threads x blocks`` nonces a launch.  It follows the
miner's RandomX context: light mode uploads the context's cache, fast mode the context's
dataset (nothing is rebuilt here), and a card too small for the dataset hashes in light mode.
Results are checked on the CPU by the miner before they count, as for OpenCL.

Where there is no driver, no pycuda, no device or no nvcc (and no cached kernels), the
backend reports itself unavailable with the reason, and the miner goes on without it.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

from xminer.backends.base import Backend, BackendContext, GpuWorker, Worker
from xminer.backends.cuda.compile import cached_binary, find_nvcc, nvcc_info
from xminer.backends.cuda.devices import (
    CudaDeviceInfo,
    CudaThreadConfig,
    default_thread,
    list_devices,
)
from xminer.backends.cuda.status import cuda_status
from xminer.randomx.binding import Dataset
from xminer.randomx.context import RandomXContext
from xminer.state import ThreadInfo

log = logging.getLogger("xminer.cuda")

PROFILE_KEYS = ("rx/0", "rx")  # XMRig's thread profiles for Monero's RandomX, most specific first
THREAD_KEYS = ("index", "threads", "blocks", "intensity", "bfactor", "bsleep")


def _wanted_devices(options: dict[str, Any]) -> list[int] | None:
    """--cuda-devices / "devices-hint" (or "devices"): "0,1", [0, 1] or 0; None = all."""
    wanted = options.get("devices-hint", options.get("devices"))
    if wanted is None or wanted == "":
        return None
    if isinstance(wanted, int):
        return [wanted]
    if isinstance(wanted, str):
        wanted = [w for w in wanted.replace(" ", "").split(",") if w]
    return [int(w) for w in wanted]


def _profile(options: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The thread list of the rx profile (aliases followed); None when there is none."""
    for key in PROFILE_KEYS:
        value = options.get(key)
        seen = {key}
        while isinstance(value, str) and value not in seen:  # "rx/0": "rx" style alias
            seen.add(value)
            value = options.get(value)
        if value is False:
            return []
        if isinstance(value, list):
            return [dict(v) for v in value if isinstance(v, dict)]
    threads = options.get("threads")
    if isinstance(threads, list):
        return [t.to_json() if isinstance(t, CudaThreadConfig) else dict(t) for t in threads]
    return None


def plan_threads(
    options: dict[str, Any], devices: list[CudaDeviceInfo], fast: bool
) -> list[CudaThreadConfig]:
    """Thread entries from the cuda config section and the CLI.

    An "rx" (or "rx/0") profile lists threads explicitly as XMRig writes them:
    ``[{"index": 0, "threads": 32, "blocks": 264, "bfactor": 0, "bsleep": 0}]``
    ("intensity" may replace "blocks"); ``false`` turns CUDA off for RandomX.  Without one,
    every selected device gets :func:`default_thread`, with "threads", "blocks",
    "intensity", "bfactor-hint" and "bsleep-hint" of the options applied when given.
    The device selection (--cuda-devices) filters either list.
    """
    wanted = _wanted_devices(options)
    known = {d.index for d in devices}
    explicit = _profile(options)
    if explicit is not None:
        plans = []
        for entry in explicit:
            fields = {k: entry[k] for k in THREAD_KEYS if entry.get(k) is not None}
            if "intensity" in fields and "blocks" not in fields:
                fields["blocks"] = 0
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
                bfactor=int(options.get("bfactor-hint") or 0),
                bsleep=int(options.get("bsleep-hint") or 0),
            )
        )  # fmt: skip
    return plans


class CudaWorker(GpuWorker):
    config: CudaThreadConfig

    def make_gpu(self, mode: str) -> Any:
        from xminer.backends.cuda.randomx import CudaRandomX

        return CudaRandomX(
            self.config.index, mode=mode, intensity=self.config.intensity,
            threads=self.config.threads, bsleep=self.config.bsleep,
        )  # fmt: skip

    def key_dataset(self, rx: RandomXContext) -> Dataset | None:
        """By the host's mode: a card too small for the dataset hashes in light mode."""
        return rx.dataset if self.gpu.mode == "fast" else None


class CudaBackend(Backend):
    name = "cuda"

    def __init__(self, ctx: BackendContext, options: dict[str, Any] | None = None) -> None:
        super().__init__(ctx)
        self.options = dict(options or {})
        self.devices: list[CudaDeviceInfo] = []
        self.plan: list[CudaThreadConfig] = []

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
            self.plan = plan_threads(self.options, self.devices, self.ctx.rx.fast)
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
                ThreadInfo(i, new_counter(), -1, t.intensity, self._details(t, by_index)),
                t,
            )
            for i, t in enumerate(self.plan)
        ]

    @staticmethod
    def _details(t: CudaThreadConfig, by_index: dict[int, CudaDeviceInfo]) -> dict[str, object]:
        """A thread's /2/backends keys, in XMRig's order (hashrate goes after affinity)."""
        out: dict[str, object] = {
            "index": t.index, "threads": t.threads, "blocks": t.blocks,
            "bfactor": t.bfactor, "bsleep": t.bsleep, "affinity": -1,
        }  # fmt: skip
        device = by_index.get(t.index)
        if device is not None:
            info = device.to_json()
            info.pop("index")
            out.update(info)
        return out

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
        return {"versions": self.versions()}

    @staticmethod
    def versions() -> dict[str, str]:
        """XMRig's head key: CUDA runtime (here nvcc's release), driver, and the plugin."""
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


def create_backend(ctx: BackendContext, options: dict[str, Any] | None = None) -> CudaBackend:
    return CudaBackend(ctx, options)
