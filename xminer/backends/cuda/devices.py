"""CUDA devices (through pycuda) and the memory a batch may take on one.

Nothing here imports pycuda at module level; listing devices where there is no driver, no
pycuda or no device returns an empty list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xminer.backends.cuda.status import cuda_status
from xminer.backends.gpu.layout import per_hash_bytes
from xminer.randomx.binding import DATASET_ITEM_SIZE, dataset_item_count

#: memory left alone on every card (driver, context, local memory of the threads, display)
RESERVED_BYTES = 512 * 1024 * 1024


def batch_that_fits(intensity: int, threads: int, free: int, on_card: int) -> int:
    """The hashes of a batch within the free memory less what stays on the card (cache or
    dataset) and the reserve, in whole blocks of threads (one block at least)."""
    room = max(0, free - on_card - RESERVED_BYTES) // per_hash_bytes()
    return min(intensity, max(threads, room - room % threads))


def dataset_bytes() -> int:
    return dataset_item_count() * DATASET_ITEM_SIZE


@dataclass(frozen=True)
class CudaDevice:
    """One CUDA device as pycuda reports it."""

    index: int
    name: str
    capability: tuple[int, int]
    sm_count: int
    total_mem: int
    pci_bus_id: str
    clock_khz: int = 0
    memory_clock_khz: int = 0

    @property
    def key(self) -> int:
        """What names it in a thread entry (``index``) and to the host."""
        return self.index

    @property
    def arch(self) -> str:
        return f"sm_{self.capability[0]}{self.capability[1]}"

    def describe(self) -> str:
        return (
            f"#{self.index} {self.name} ({self.arch}, {self.sm_count} SMs, "
            f"{self.total_mem >> 20} MiB, {self.clock_khz // 1000}/{self.memory_clock_khz // 1000}"
            f" MHz, bus {self.pci_bus_id})"
        )

    def to_json(self) -> dict[str, object]:
        """Its keys in a CUDA thread's /2/backends entry, after the hashrate (XMRig's names;
        the thread's own "index" says which device)."""
        return {
            "name": self.name,
            "bus_id": self.pci_bus_id,
            "smx": self.sm_count,
            "arch": self.capability[0] * 10 + self.capability[1],
            "global_mem": self.total_mem,
            "clock": self.clock_khz // 1000,
            "memory_clock": self.memory_clock_khz // 1000,
        }


def _driver() -> Any:
    import pycuda.driver as drv

    return drv


def list_devices() -> list[CudaDevice]:
    """Every CUDA device; empty when the driver, pycuda or a device is missing."""
    ok, _ = cuda_status()
    if not ok:
        return []
    drv = _driver()
    attr = drv.device_attribute

    def attribute(dev: Any, name: str) -> int:
        try:
            return int(dev.get_attribute(getattr(attr, name)))
        except (AttributeError, drv.Error):  # deprecated clocks may be refused
            return 0

    found = []
    for index in range(drv.Device.count()):
        dev = drv.Device(index)
        major, minor = dev.compute_capability()
        found.append(
            CudaDevice(
                index=index,
                name=dev.name().strip(),
                capability=(int(major), int(minor)),
                sm_count=attribute(dev, "MULTIPROCESSOR_COUNT"),
                total_mem=int(dev.total_memory()),
                pci_bus_id=str(dev.pci_bus_id()),
                clock_khz=attribute(dev, "CLOCK_RATE"),
                memory_clock_khz=attribute(dev, "MEMORY_CLOCK_RATE"),
            )
        )
    return found


def device_listing() -> str:
    ok, reason = cuda_status()
    if not ok:
        return f"CUDA: {reason}"
    return "\n".join(d.describe() for d in list_devices())
