"""CUDA devices (through pycuda) and the threads a device gets: threads x blocks hashes a launch.

Nothing here imports pycuda at module level; listing devices where there is no driver, no
pycuda or no device returns an empty list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xminer.backends.cuda.status import cuda_status
from xminer.backends.gpu.layout import per_hash_bytes
from xminer.randomx.binding import CACHE_SIZE, DATASET_ITEM_SIZE, dataset_item_count

#: memory left alone on every card (driver, context, local memory of the threads, display)
RESERVED_BYTES = 512 * 1024 * 1024
DEFAULT_THREADS = 32  # hashes a block: one warp (the executor's registers in shared memory)


def resident_blocks_per_sm(capability: tuple[int, int]) -> int:
    """The most blocks an SM keeps resident: 16 on sm_75/86/87, 24 on sm_89, else 32."""
    if capability in ((7, 5), (8, 6), (8, 7)):
        return 16
    return 24 if capability == (8, 9) else 32


def batch_that_fits(intensity: int, threads: int, free: int, on_card: int) -> int:
    """The hashes of a batch within the free memory less what stays on the card (cache or
    dataset) and the reserve, in whole blocks of threads (one block at least)."""
    room = max(0, free - on_card - RESERVED_BYTES) // per_hash_bytes()
    return min(intensity, max(threads, room - room % threads))


def dataset_bytes() -> int:
    return dataset_item_count() * DATASET_ITEM_SIZE


@dataclass(frozen=True)
class CudaDeviceInfo:
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


@dataclass
class CudaThreadConfig:
    """A mining thread on a device: ``threads`` per block x ``blocks`` = hashes per launch.

    ``intensity`` may be smaller than threads x blocks (the last block is partly idle).
    ``bfactor`` splits each RandomX program's 2048 iterations over 2^bfactor launches and
    ``bsleep`` (microseconds) is slept after each of them, so a card that drives a display
    stays responsive.  ``dataset_host`` puts the fast mode's dataset in mapped host memory
    instead of on the card; None: only when the card is too small for it.
    """

    index: int
    threads: int = DEFAULT_THREADS
    blocks: int = 1
    intensity: int = 0  # 0: threads * blocks
    bfactor: int = 0
    bsleep: int = 0
    dataset_host: bool | None = None

    def __post_init__(self) -> None:
        self.threads = max(1, int(self.threads))
        blocks = max(1, int(self.blocks))
        self.intensity = int(self.intensity) or self.threads * blocks
        self.blocks = -(-self.intensity // self.threads)  # intensity decides when given

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "threads": self.threads,
            "blocks": self.blocks,
            "intensity": self.intensity,
            "bfactor": self.bfactor,
            "bsleep": self.bsleep,
            **({} if self.dataset_host is None else {"dataset_host": self.dataset_host}),
        }


def _driver() -> Any:
    import pycuda.driver as drv

    return drv


def list_devices() -> list[CudaDeviceInfo]:
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
            CudaDeviceInfo(
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


def dataset_fits(total_mem: int) -> bool:
    """Whether a card of total_mem bytes holds the dataset, the reserve and one block."""
    return total_mem >= dataset_bytes() + RESERVED_BYTES + DEFAULT_THREADS * per_hash_bytes()


def default_thread(device: CudaDeviceInfo, fast: bool) -> CudaThreadConfig:
    """One warp a block, as many blocks as the memory holds after the reserve and what the
    mode keeps on the card (the 256 MiB cache in light mode, the 2080 MiB dataset in fast
    mode, nothing for a dataset in host memory, which a card too small for it gets), at
    most the blocks the SMs keep resident; at least one block.  (CudaRandomX lowers the
    batch to what the free memory holds when it allocates.)"""
    dataset_host = fast and not dataset_fits(device.total_mem)
    on_card = CACHE_SIZE if not fast else 0 if dataset_host else dataset_bytes()
    left = device.total_mem - RESERVED_BYTES - on_card
    by_memory = max(0, left) // per_hash_bytes()
    resident = device.sm_count * resident_blocks_per_sm(device.capability)
    blocks = max(1, min(resident, by_memory // DEFAULT_THREADS))
    return CudaThreadConfig(
        index=device.index, threads=DEFAULT_THREADS, blocks=blocks,
        dataset_host=True if dataset_host else None,
    )  # fmt: skip
