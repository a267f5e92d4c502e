"""RandomX's sizes (rx/0, as randomx.h and configuration.h define them), defined once here."""

from __future__ import annotations

HASH_SIZE = 32
DATASET_ITEM_SIZE = 64
CACHE_SIZE = 256 * 1024 * 1024  # the key's cache: RANDOMX_ARGON_MEMORY KiB
SCRATCHPAD_SIZE = 2 * 1024 * 1024  # a VM's scratchpad (RANDOMX_SCRATCHPAD_L3): one per hash
DATASET_BYTES = 2080 * 1024 * 1024  # the dataset's memory (its items, rounded up)
