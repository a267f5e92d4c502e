from xminer.backends.cpu.backend import CpuBackend
from xminer.backends.cpu.threads import CpuThread, plan_threads

__all__ = ["CpuBackend", "CpuThread", "plan_threads"]
