"""GPU health through NVML (the ``nvidia-ml-py`` package, module ``pynvml``): temperature,
power, SM and memory clocks and fan speeds of each CUDA device, as XMRig reports them.

NVML is optional.  Where the package, the library (``libnvidia-ml.so.1``, installed with the
NVIDIA driver) or a device handle is missing, :class:`Nvml` says why and reads nothing; no
call here raises.  The ``cuda.nvml`` config key is ``true`` (the driver's library), ``false``
(``--no-nvml``: off) or the path of the library to load.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger("xminer.cuda")


@dataclass
class GpuHealth:
    """One reading of a device's sensors; 0 (or no fans) where NVML has no value."""

    temperature: int = 0  # °C
    power: int = 0  # W
    clock: int = 0  # SM clock, MHz
    mem_clock: int = 0  # MHz
    fan_speed: list[int] = field(default_factory=list)  # percent, one per fan

    def to_json(self) -> dict[str, object]:
        """The ``health`` object of a CUDA thread in /2/backends (XMRig's keys: the fields)."""
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> GpuHealth:
        return cls(**doc)

    def describe(self) -> str:
        """XMRig's health line after the device: ``250W 65C 1755/1593 MHz fan0:30%``."""
        fans = " ".join(f"fan{i}:{speed}%" for i, speed in enumerate(self.fan_speed))
        text = f"{self.power}W {self.temperature}C {self.clock}/{self.mem_clock} MHz"
        return f"{text} {fans}" if fans else text


class Nvml:
    """A session with NVML: :meth:`start` once, :meth:`read` per device, :meth:`close`."""

    def __init__(self, library: bool | str = True) -> None:
        self.library = library
        self.unavailable = "not started"
        self.driver = ""
        self.version = ""
        self._nvml: Any = None
        self._handles: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._nvml is not None

    def start(self) -> str | None:
        """Load and initialise NVML; None when it runs, else the reason it does not."""
        if self.library is False:
            self.unavailable = "NVML disabled (--no-nvml)"
            return self.unavailable
        try:
            import pynvml
        except ImportError as exc:
            self.unavailable = f"NVML unavailable: nvidia-ml-py missing ({exc})"
            return self.unavailable
        # a path: that library instead of the driver's libnvidia-ml.so.1 (pynvml's handle)
        chosen = isinstance(self.library, str) and pynvml.nvmlLib is None
        try:
            if chosen:
                pynvml.nvmlLib = ctypes.CDLL(str(self.library))
            pynvml.nvmlInit()
        except (OSError, pynvml.NVMLError) as exc:
            if chosen:
                pynvml.nvmlLib = None  # not NVML after all: the next start looks again
            where = f" ({self.library})" if isinstance(self.library, str) else ""
            self.unavailable = f"NVML unavailable{where}: {exc}"
            return self.unavailable
        self._nvml = pynvml
        self.driver = self._text(pynvml.nvmlSystemGetDriverVersion)
        self.version = self._text(pynvml.nvmlSystemGetNVMLVersion)
        self.unavailable = ""
        return None

    def _text(self, call: Any, *args: Any) -> str:
        try:
            value = call(*args)
        except self._nvml.NVMLError:
            return ""
        return value.decode() if isinstance(value, bytes) else str(value)

    def _value(self, call: Any, *args: Any) -> int:
        """An NVML reading, 0 where the device does not support it (or it fails)."""
        try:
            return int(call(*args))
        except self._nvml.NVMLError:
            return 0

    def _handle(self, bus_id: str) -> Any:
        """The device's handle by PCI bus id (pycuda's ``0000:01:00.0``), None if NVML has none."""
        if bus_id not in self._handles:
            try:
                self._handles[bus_id] = self._nvml.nvmlDeviceGetHandleByPciBusId(bus_id)
            except self._nvml.NVMLError as exc:
                log.warning("NVML has no device at bus %s: %s", bus_id, exc)
                self._handles[bus_id] = None
        return self._handles[bus_id]

    def read(self, bus_id: str) -> GpuHealth | None:
        """The device's sensors now; None when NVML is not running or has no such device."""
        with self._lock:
            if self._nvml is None:
                return None
            nv = self._nvml
            handle = self._handle(bus_id)
            if handle is None:
                return None
            fans = [
                self._value(nv.nvmlDeviceGetFanSpeed_v2, handle, i)
                for i in range(self._value(nv.nvmlDeviceGetNumFans, handle))
            ]
            value = self._value
            return GpuHealth(
                temperature=value(nv.nvmlDeviceGetTemperature, handle, nv.NVML_TEMPERATURE_GPU),
                power=value(nv.nvmlDeviceGetPowerUsage, handle) // 1000,  # mW
                clock=value(nv.nvmlDeviceGetClockInfo, handle, nv.NVML_CLOCK_SM),
                mem_clock=value(nv.nvmlDeviceGetClockInfo, handle, nv.NVML_CLOCK_MEM),
                fan_speed=fans,
            )

    def close(self) -> None:
        with self._lock:
            if self._nvml is None:
                return
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError as exc:
                log.debug("nvmlShutdown: %s", exc)
            self._nvml, self._handles = None, {}
            self.unavailable = "stopped"
