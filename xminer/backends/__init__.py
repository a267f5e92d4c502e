"""Backend registry: cpu, opencl and cuda behind one interface.

Optional backends are imported lazily: a missing pyopencl, pycuda, ICD or driver makes that
backend report itself unavailable with the reason; importing xminer never fails for it.
How a backend shows itself (API, console) is its view, ``view_for(name)``, which needs no
runtime.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from xminer.backends.base import Backend, BackendContext, ResultSink, Worker
from xminer.backends.view import BackendView, view_for

KNOWN_BACKENDS = ("cpu", "opencl", "cuda")
_MODULES = {
    "cpu": "xminer.backends.cpu",
    "opencl": "xminer.backends.opencl",
    "cuda": "xminer.backends.cuda",
}


@dataclass(frozen=True)
class BackendModule:
    name: str
    module: object | None
    unavailable: str | None  # why it cannot be loaded, or None


def load_backend_module(name: str) -> BackendModule:
    """Import a backend's package; report (never raise) when its runtime is missing."""
    if name not in _MODULES:
        raise KeyError(f"unknown backend {name!r}; known: {', '.join(KNOWN_BACKENDS)}")
    try:
        module = importlib.import_module(_MODULES[name])
    except ImportError as exc:
        return BackendModule(name, None, f"{name} backend not available: {exc}")
    return BackendModule(name, module, None)


__all__ = [
    "KNOWN_BACKENDS",
    "Backend",
    "BackendContext",
    "BackendModule",
    "BackendView",
    "ResultSink",
    "Worker",
    "load_backend_module",
    "view_for",
]
