"""The RandomX kernel source shared by the OpenCL and CUDA backends.

The kernels are written once in the dialect of ``kernels/compat.h``; this module concatenates
the header and the kernel files (no include paths) with ``#line`` markers so that compiler
messages point at the right file and line.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

KERNEL_FILES: tuple[str, ...] = (
    "compat.h",
    "aes_tables.h",
    "fpround.cl",
    "blake2b.cl",
    "aes.cl",
    "dataset.cl",
    "uops.cl",
    "vm_switch.cl",
    "randomx.cl",
)

#: Kernel entry points, by file (every one must compile for OpenCL and CUDA).
KERNEL_NAMES: tuple[str, ...] = (
    "test_fp_round",
    "test_blake2b",
    "test_aes_gen",
    "test_aes_hash",
    "test_dataset_items",
    "rx_init_dataset",
    "rx_init",
    "rx_fill_scratchpad",
    "rx_compile_program",
    "rx_run_program",
    "rx_run_program_piece",
    "rx_finish",
)


def kernel_dir() -> Path:
    """Where the kernel files are: $XMINER_KERNELS_DIR or the repository's kernels/."""
    override = os.environ.get("XMINER_KERNELS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "kernels"


def kernel_source(defines: dict[str, str] | None = None) -> str:
    """compat.h + all kernel files as one translation unit, after the given #defines."""
    directory = kernel_dir()
    parts = [f"#define {name} {value}\n" for name, value in (defines or {}).items()]
    for name in KERNEL_FILES:
        text = (directory / name).read_text()
        parts.append(f'#line 1 "{name}"\n{text}\n')
    return "".join(parts)


def source_digest(source: str, *extra: str) -> str:
    """A cache key for a compiled form of the source."""
    h = hashlib.sha256(source.encode())
    for item in extra:
        h.update(b"\0" + item.encode())
    return h.hexdigest()
