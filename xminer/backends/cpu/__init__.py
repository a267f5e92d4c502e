from xminer.backends.cpu.backend import CpuBackend, create_backend
from xminer.backends.cpu.threads import CpuThread, plan_threads

__all__ = ["CpuBackend", "CpuThread", "create_backend", "plan_threads"]
