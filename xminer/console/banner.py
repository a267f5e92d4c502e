"""The start-up summary, laid out as XMRig's (`* ABOUT`, `* CPU`, ... lines)."""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable

import psutil

from xminer.cpuinfo import CpuInfo, cpu_info
from xminer.version import APP_NAME, __version__

GREEN, CYAN, BOLD, RESET = "\x1b[32;1m", "\x1b[36;1m", "\x1b[1m", "\x1b[0m"


def banner_rows(
    library: str,
    huge_pages: str,
    extra: Iterable[tuple[str, str]] = (),
    info: CpuInfo | None = None,
) -> list[tuple[str, str]]:
    info = info or cpu_info()
    mem = psutil.virtual_memory()
    used = (mem.total - mem.available) / 2**30
    rows = [
        (
            "ABOUT",
            f"{APP_NAME}/{__version__} Python/{platform.python_version()} "
            f"(built for {platform.system()} {platform.machine()}, 64 bit)",
        ),
        ("LIBS", f"RandomX ({library})"),
        ("HUGE PAGES", huge_pages),
        (
            "CPU",
            f"{info.brand} ({info.packages}) {'64-bit' if sys.maxsize > 2**32 else '32-bit'}"
            f"{' AES' if info.aes else ''}{' AVX2' if info.avx2 else ''}",
        ),
        (
            "",
            f"L2:{info.l2 / 2**20:.1f} MB L3:{info.l3 / 2**20:.1f} MB "
            f"{info.cores}C/{info.threads}T NUMA:{info.nodes}",
        ),
        ("MEMORY", f"{used:.1f}/{mem.total / 2**30:.1f} GB ({mem.percent:.0f}%)"),
        ("DONATE", "0%"),
    ]
    rows.extend(extra)
    return rows


def print_banner(rows: list[tuple[str, str]], color: bool) -> None:
    for key, value in rows:
        if not key:
            print(f"{'':16}{value}")
        elif color:
            print(f" {GREEN}*{RESET} {BOLD}{key:<13}{RESET}{CYAN}{value}{RESET}")
        else:
            print(f" * {key:<13}{value}")
    sys.stdout.flush()
