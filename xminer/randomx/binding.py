"""Thin ctypes binding over the official RandomX library (librandomx, Debian ``librandomx0``).

ctypes releases the GIL for every foreign call, so dataset initialisation and hashing run in
parallel on Python threads.  Only the library's public C API (``randomx.h``) is used.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
import threading
from collections.abc import Callable

# the sizes are imported from here too (xminer.randomx re-exports them)
from xminer.randomx.constants import CACHE_SIZE, DATASET_ITEM_SIZE, HASH_SIZE  # noqa: F401


class Flags(enum.IntFlag):
    """``randomx_flags`` from randomx.h."""

    DEFAULT = 0
    LARGE_PAGES = 1
    HARD_AES = 2
    FULL_MEM = 4
    JIT = 8
    SECURE = 16
    ARGON2_SSSE3 = 32
    ARGON2_AVX2 = 64


class RandomXError(RuntimeError):
    """The library is missing or refused an allocation."""


_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def _declare(lib: ctypes.CDLL) -> None:
    p, c, u, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_size_t
    signatures: dict[str, tuple[object, list[object]]] = {
        "randomx_get_flags": (ctypes.c_int, []),
        "randomx_alloc_cache": (p, [ctypes.c_int]),
        "randomx_init_cache": (None, [p, c, sz]),
        "randomx_release_cache": (None, [p]),
        "randomx_alloc_dataset": (p, [ctypes.c_int]),
        "randomx_dataset_item_count": (u, []),
        "randomx_init_dataset": (None, [p, p, u, u]),
        "randomx_get_dataset_memory": (p, [p]),
        "randomx_release_dataset": (None, [p]),
        "randomx_create_vm": (p, [ctypes.c_int, p, p]),
        "randomx_vm_set_cache": (None, [p, p]),
        "randomx_vm_set_dataset": (None, [p, p]),
        "randomx_destroy_vm": (None, [p]),
        "randomx_calculate_hash": (None, [p, p, sz, p]),
        "randomx_calculate_hash_first": (None, [p, p, sz]),
        "randomx_calculate_hash_next": (None, [p, p, sz, p]),
        "randomx_calculate_hash_last": (None, [p, p]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def library() -> ctypes.CDLL:
    """Load librandomx once; raise RandomXError with the reason when it is missing."""
    global _lib
    with _lib_lock:
        if _lib is None:
            name = ctypes.util.find_library("randomx") or "librandomx.so.0"
            try:
                lib = ctypes.CDLL(name)
            except OSError as exc:
                raise RandomXError(
                    f"librandomx not found ({exc}); install Debian's librandomx0"
                ) from exc
            _declare(lib)
            _lib = lib
        return _lib


def library_path() -> str:
    return ctypes.util.find_library("randomx") or "librandomx.so.0"


def recommended_flags() -> Flags:
    """What ``randomx_get_flags()`` says this CPU supports (JIT, hardware AES, Argon2 SIMD)."""
    return Flags(library().randomx_get_flags())


def dataset_item_count() -> int:
    return int(library().randomx_dataset_item_count())


def _alloc(fn: Callable[[int], int | None], flags: Flags, what: str) -> tuple[int, Flags]:
    """Allocate with large pages when asked, falling back to normal pages."""
    handle = fn(int(flags))
    if not handle and flags & Flags.LARGE_PAGES:
        flags &= ~Flags.LARGE_PAGES
        handle = fn(int(flags))
    if not handle:
        raise RandomXError(f"cannot allocate RandomX {what} (out of memory?)")
    return handle, flags


class Cache:
    """The 256 MiB Argon2 cache for one key (seed)."""

    def __init__(self, flags: Flags) -> None:
        self._lib = library()
        self.handle, self.flags = _alloc(self._lib.randomx_alloc_cache, flags, "cache")
        self.key: bytes | None = None

    def init(self, key: bytes) -> None:
        self._lib.randomx_init_cache(self.handle, key, len(key))
        self.key = bytes(key)

    def release(self) -> None:
        if self.handle:
            self._lib.randomx_release_cache(self.handle)
            self.handle = 0


class Dataset:
    """The 2080 MiB dataset, built from a cache, in slices so that many threads share the work."""

    def __init__(self, flags: Flags) -> None:
        self._lib = library()
        self.handle, self.flags = _alloc(
            self._lib.randomx_alloc_dataset, flags | Flags.FULL_MEM, "dataset"
        )
        self.key: bytes | None = None

    def init_items(self, cache: Cache, start: int, count: int) -> None:
        """Compute items [start, start+count); the GIL is released for the whole call."""
        self._lib.randomx_init_dataset(self.handle, cache.handle, start, count)

    def memory(self) -> int:
        """Address of the dataset's memory (for uploading it to a GPU)."""
        return int(self._lib.randomx_get_dataset_memory(self.handle))

    def release(self) -> None:
        if self.handle:
            self._lib.randomx_release_dataset(self.handle)
            self.handle = 0


class VM:
    """One RandomX virtual machine; use it from one thread only."""

    def __init__(self, flags: Flags, cache: Cache | None, dataset: Dataset | None) -> None:
        self._lib = library()
        if dataset is not None:
            flags |= Flags.FULL_MEM
        else:
            flags &= ~Flags.FULL_MEM
        create = self._lib.randomx_create_vm

        def make(f: int) -> int | None:
            return create(f, cache.handle if cache else None, dataset.handle if dataset else None)

        self.handle, self.flags = _alloc(make, flags, "VM")
        self.full_mem = dataset is not None
        self._out = ctypes.create_string_buffer(HASH_SIZE)

    def set_cache(self, cache: Cache) -> None:
        self._lib.randomx_vm_set_cache(self.handle, cache.handle)

    def set_dataset(self, dataset: Dataset) -> None:
        self._lib.randomx_vm_set_dataset(self.handle, dataset.handle)

    def hash(self, data: bytes) -> bytes:
        """One hash, not pipelined."""
        self._lib.randomx_calculate_hash(self.handle, data, len(data), self._out)
        return self._out.raw

    def destroy(self) -> None:
        if self.handle:
            self._lib.randomx_destroy_vm(self.handle)
            self.handle = 0


def hash_once(key: bytes, data: bytes, flags: Flags | None = None) -> bytes:
    """Light-mode hash of one input with a throw-away cache (slow: builds the cache)."""
    f = recommended_flags() if flags is None else flags
    cache = Cache(f & ~Flags.LARGE_PAGES)
    try:
        cache.init(key)
        vm = VM(f & ~Flags.LARGE_PAGES, cache, None)
        try:
            return vm.hash(data)
        finally:
            vm.destroy()
    finally:
        cache.release()
