"""The CPU backend over librandomx.

backend.py: the Backend; worker.py: its thread (a VM and the C batch loop); threads.py: how
many threads and where; view.py: how it shows itself.
"""

from xminer.backends.cpu.backend import CpuBackend, create_backend
from xminer.backends.cpu.threads import CpuThread, plan_threads

__all__ = ["CpuBackend", "CpuThread", "create_backend", "plan_threads"]
