"""xminer: a RandomX miner with CPU, OpenCL and CUDA backends and an XMRig-compatible API."""

from xminer.version import __version__

__all__ = ["__version__"]
