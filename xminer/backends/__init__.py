"""Backend registry: cpu, opencl and cuda behind one interface, a name -> factory table.

Each factory takes the ``BackendContext`` (the running typed config among it) and reads its
own section.  Backends are imported lazily: a missing pyopencl, pycuda, ICD or driver raises
``BackendUnavailable`` with the reason; importing xminer never fails for it.  How a backend
shows itself (API, console) is its view, ``view_for(name)``, which needs no runtime.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xminer.backends.base import Backend, BackendContext, ResultSink, Worker
from xminer.backends.view import BackendView, view_for

KNOWN_BACKENDS = ("cpu", "opencl", "cuda")


class BackendUnavailable(Exception):
    """A backend whose runtime cannot be imported here; the message says why."""


def _lazy(name: str) -> Callable[[BackendContext], Backend]:
    def factory(ctx: BackendContext) -> Backend:
        try:
            module = importlib.import_module(f"xminer.backends.{name}")
        except ImportError as exc:
            raise BackendUnavailable(f"{name} backend not available: {exc}") from None
        return module.create_backend(ctx)  # type: ignore[no-any-return]

    return factory


FACTORIES: dict[str, Callable[[BackendContext], Backend]] = {
    name: _lazy(name) for name in KNOWN_BACKENDS
}


def create_backend(name: str, ctx: BackendContext) -> Backend:
    """The backend ``name`` built for ``ctx``; BackendUnavailable when its runtime is missing."""
    if name not in FACTORIES:
        raise KeyError(f"unknown backend {name!r}; known: {', '.join(KNOWN_BACKENDS)}")
    return FACTORIES[name](ctx)


__all__ = [
    "FACTORIES",
    "KNOWN_BACKENDS",
    "Backend",
    "BackendContext",
    "BackendUnavailable",
    "BackendView",
    "ResultSink",
    "Worker",
    "create_backend",
    "view_for",
]
