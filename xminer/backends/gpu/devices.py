"""What the OpenCL and CUDA backends know of a device, and how a host finds the one it is given."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol, TypeVar


class GpuDevice(Protocol):
    """A device as a GPU backend lists it (OclDevice, CudaDevice)."""

    @property
    def key(self) -> Hashable:
        """What names it in a thread entry and to the host (OpenCL "0:1", CUDA 0)."""
        ...

    def describe(self) -> str:
        """A line for the listings and the banner."""
        ...

    def to_json(self) -> dict[str, object]:
        """Its keys in a thread's /2/backends entry, after the hashrate."""
        ...


D = TypeVar("D", bound=GpuDevice)


def resolve_device(devices: list[D], key: Hashable | None, runtime: str) -> D:
    """The device of ``key`` (the first for None) among ``devices``; RuntimeError when there
    is none at all, ValueError when none has that key."""
    if not devices:
        raise RuntimeError(f"no {runtime} device")
    if key is None:
        return devices[0]
    for device in devices:
        if device.key == key:
            return device
    raise ValueError(f"no {runtime} device {key!r}")
