"""The threads of the CUDA backend: threads x blocks hashes a launch, the default of a device
from its SMs and memory, and the plan from the cuda section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xminer.backends.cuda.devices import RESERVED_BYTES, CudaDevice, dataset_bytes
from xminer.backends.gpu.layout import per_hash_bytes
from xminer.backends.gpu.plan import plan_threads as plan_from_profile
from xminer.config.model import Cuda
from xminer.randomx.constants import CACHE_SIZE

THREAD_KEYS = ("index", "threads", "blocks", "intensity", "bfactor", "bsleep", "dataset_host")
DEFAULT_THREADS = 32  # hashes a block: one warp (the executor's registers in shared memory)


@dataclass
class CudaThread:
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

    @property
    def device_key(self) -> int:
        return self.index

    @property
    def affinity(self) -> int:
        """CUDA threads are not pinned to a CPU."""
        return -1

    def api_fields(self) -> dict[str, object]:
        """Its /2/backends keys, in XMRig's order (then hashrate, then the device's)."""
        return {
            "index": self.index, "threads": self.threads, "blocks": self.blocks,
            "bfactor": self.bfactor, "bsleep": self.bsleep, "affinity": self.affinity,
            "dataset_host": bool(self.dataset_host),
        }  # fmt: skip

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


def resident_blocks_per_sm(capability: tuple[int, int]) -> int:
    """The most blocks an SM keeps resident: 16 on sm_75/86/87, 24 on sm_89, else 32."""
    if capability in ((7, 5), (8, 6), (8, 7)):
        return 16
    return 24 if capability == (8, 9) else 32


def dataset_fits(total_mem: int) -> bool:
    """Whether a card of total_mem bytes holds the dataset, the reserve and one block."""
    return total_mem >= dataset_bytes() + RESERVED_BYTES + DEFAULT_THREADS * per_hash_bytes()


def default_thread(device: CudaDevice, fast: bool) -> CudaThread:
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
    return CudaThread(
        index=device.index, threads=DEFAULT_THREADS, blocks=blocks,
        dataset_host=True if dataset_host else None,
    )  # fmt: skip


def _profile(section: Cuda) -> list[dict[str, Any]] | None:
    """The rx profile's thread list, else the "threads" option's; None when neither."""
    profile = section.threads_profile()
    threads = section.extra.get("threads")
    if profile is None and isinstance(threads, list):
        return [t.to_json() if isinstance(t, CudaThread) else dict(t) for t in threads]
    return profile


def plan_threads(section: Cuda, devices: list[CudaDevice], fast: bool) -> list[CudaThread]:
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
    options = section.extra  # the older section-wide keys: threads, blocks, intensity
    usable = [d for d in devices if wanted is None or d.index in wanted]

    def with_options(device: CudaDevice) -> CudaThread:
        plan = default_thread(device, fast)
        threads = int(options.get("threads") or plan.threads)
        blocks = int(options.get("blocks") or 0)
        intensity = int(options.get("intensity") or 0)
        if not blocks and not intensity:
            intensity = plan.intensity  # the default's hash count, whatever the block size
        return CudaThread(
            index=device.index, threads=threads, blocks=blocks, intensity=intensity,
            bfactor=int(section.bfactor_hint or 0),
            bsleep=int(section.bsleep_hint or 0),
            dataset_host=plan.dataset_host,
        )  # fmt: skip

    return plan_from_profile(_profile(section), usable, _from_entry, with_options)


def _from_entry(entry: dict[str, Any], usable: list[CudaDevice]) -> list[CudaThread]:
    """An XMRig thread entry as it stands, when its device (``index``) is a usable one."""
    fields = {k: entry[k] for k in THREAD_KEYS if entry.get(k) is not None}
    thread = CudaThread(**fields)
    return [thread] if any(d.index == thread.index for d in usable) else []
