"""Access to the Argon2 memory of a library-built cache (for GPU light mode).

randomx.h has no getter for the cache memory.  In RandomX 1.1.x the first field of
``struct randomx_cache`` is ``uint8_t* memory`` (src/dataset.hpp), so the address is the
first pointer stored at the cache handle.  This is the only place that relies on that layout;
the GPU hash tests (official vectors) fail loudly if it ever changes.
"""

from __future__ import annotations

import ctypes

from xminer.randomx.binding import CACHE_SIZE, Cache


def cache_memory_address(cache: Cache) -> int:
    """Address of the 256 MiB Argon2 memory of an initialised cache (layout hack, see above)."""
    if not cache.handle or cache.key is None:
        raise ValueError("cache is not initialised")
    address = ctypes.c_void_p.from_address(cache.handle).value
    if not address:
        raise ValueError("cache memory pointer is null")
    return int(address)


def cache_memory(cache: Cache) -> memoryview:
    """The cache memory as a read-only view (valid while the cache lives and keeps its key)."""
    buf = (ctypes.c_uint8 * CACHE_SIZE).from_address(cache_memory_address(cache))
    return memoryview(buf).cast("B").toreadonly()
