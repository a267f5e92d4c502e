"""What the OpenCL and CUDA backends share: finding the devices, planning the threads on them,
one GpuWorker a thread, and the banner's lines.  Each runtime gives its primitives."""

from __future__ import annotations

import abc
from collections.abc import Hashable
from typing import Any

from xminer.backends.base import Backend, BackendContext, Worker
from xminer.backends.gpu.devices import GpuDevice
from xminer.backends.gpu.worker import GpuWorker
from xminer.state import ThreadInfo


class GpuBackend(Backend):
    """A GPU backend over a runtime: ``availability`` finds the devices and plans the threads
    (kept for ``make_workers`` and ``describe``), or says why it cannot run.

    A planned thread (OclThread, CudaThread) has ``intensity``, ``affinity``, ``device_key``
    (its device's ``key``) and ``api_fields()`` (its keys in /2/backends).
    """

    worker_class: type[GpuWorker]

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.devices: list[Any] = []  # the runtime's devices the threads may go to
        self.plan: list[Any] = []  # the threads planned on them

    # -- the runtime's part ---------------------------------------------------------------
    @abc.abstractmethod
    def runtime_unavailable(self) -> str | None:
        """Why the runtime (its library, driver, numpy) cannot run here; None when it can."""

    @abc.abstractmethod
    def find_devices(self) -> list[Any]:
        """The devices threads may go to (ValueError with the reason: none of them)."""

    @abc.abstractmethod
    def plan_threads(self) -> list[Any]:
        """The threads on ``self.devices`` from its config section (TypeError, ValueError: bad
        ones)."""

    @abc.abstractmethod
    def bad_settings(self, exc: Exception) -> str:
        """Why it cannot run when its thread settings are wrong."""

    @abc.abstractmethod
    def why_no_threads(self) -> str:
        """Why it cannot run when no thread is planned."""

    def plan_unavailable(self) -> str | None:
        """Why the planned threads cannot run here after all (None: they can)."""
        return None

    def reads_host_dataset(self, thread: Any, device: GpuDevice | None) -> bool:
        """Whether a planned thread's fast mode copies or maps the host's dataset instead of
        building its own on the device (what GpuRandomX.builds_on_device will say)."""
        return False

    def prepare_devices(self) -> None:
        """Before the workers are made, on the thread that makes them."""

    @abc.abstractmethod
    def thread_line(self, thread: Any, device: GpuDevice | None) -> str:
        """A planned thread in the banner (its mode follows)."""

    # -- shared ---------------------------------------------------------------------------
    def availability(self) -> str | None:
        reason = self.runtime_unavailable()
        if reason:
            return reason
        try:
            self.devices = self.find_devices()
        except ValueError as exc:
            return str(exc)
        try:
            self.plan = self.plan_threads()
        except (TypeError, ValueError) as exc:
            return self.bad_settings(exc)
        if not self.plan:
            return self.why_no_threads()
        return self.plan_unavailable()

    def needs_host_dataset(self) -> bool:
        by_key = self._by_key()
        return any(self.reads_host_dataset(t, by_key.get(t.device_key)) for t in self.plan)

    def _by_key(self) -> dict[Hashable, GpuDevice]:
        return {d.key: d for d in self.devices}

    def make_workers(self) -> list[Worker]:
        if not self.plan:
            self.availability()
        self.prepare_devices()
        by_key = self._by_key()
        new_counter = self.ctx.state.new_counter
        workers: list[Worker] = []
        for i, t in enumerate(self.plan):
            device = by_key.get(t.device_key)
            info = ThreadInfo(
                i, new_counter(), t.affinity, t.intensity, t.api_fields(),
                device.to_json() if device is not None else {},
            )  # fmt: skip
            workers.append(self.worker_class(self, info, t))
        return workers

    def describe(self) -> list[str]:
        by_key = self._by_key()
        mode = "fast" if self.ctx.rx.fast else "light"
        return [f"{self.thread_line(t, by_key.get(t.device_key))} mode {mode}" for t in self.plan]
