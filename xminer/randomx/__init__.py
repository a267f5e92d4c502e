"""RandomX through the official library: binding, hot scan loop, huge pages."""

from xminer.randomx.binding import (
    CACHE_SIZE,
    HASH_SIZE,
    VM,
    Cache,
    Dataset,
    Flags,
    RandomXError,
    dataset_item_count,
    hash_once,
    recommended_flags,
)
from xminer.randomx.scan import NONCE_OFFSET, Scanner, ScanResult, hash_tail

__all__ = [
    "CACHE_SIZE",
    "HASH_SIZE",
    "NONCE_OFFSET",
    "VM",
    "Cache",
    "Dataset",
    "Flags",
    "RandomXError",
    "ScanResult",
    "Scanner",
    "dataset_item_count",
    "hash_once",
    "hash_tail",
    "recommended_flags",
]
