"""The C batch loop (``csrc/scanloop.c``), compiled on first use and cached.

One ctypes call hashes a whole batch, so the GIL is taken once per batch instead of once per
hash: a busy HTTP API then costs the hashing threads (almost) nothing.  Without a C compiler,
or with ``XMINER_NATIVE=0``, the scanner falls back to its Python loop (same hashes).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

log = logging.getLogger("xminer.rx")

SOURCE = Path(__file__).with_name("csrc") / "scanloop.c"
_lock = threading.Lock()
_loaded: ctypes.CDLL | None = None
_tried = False


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xminer" / "native"


def scan_loop() -> ctypes.CDLL | None:
    """The compiled loop, or None (logged once) where it cannot be built or is switched off."""
    global _loaded, _tried
    with _lock:
        if not _tried:
            _tried = True
            if os.environ.get("XMINER_NATIVE", "1") == "0":
                log.info("C batch loop off (XMINER_NATIVE=0): hashing loop in Python")
            else:
                _loaded = _load()
        return _loaded


def _load() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(str(_build()))
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("C batch loop unavailable (%s): hashing loop in Python", exc)
        return None
    fn = lib.xminer_scan
    fn.restype = ctypes.c_uint32
    u32p, u64p = ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint64)
    fn.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,  # vm, blob, size
        ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint64,  # start, count, target
        u32p, ctypes.c_uint32, u32p,  # epoch, seen, halt
        ctypes.c_uint32, u64p,  # stop_at_share, progress
        u64p, u32p, ctypes.c_char_p, u32p,  # tail_xor, share_nonces, share_hashes, share_count
    ]  # fmt: skip
    return lib


def _build() -> Path:
    """Compile the loop once per source version into the cache (atomic rename)."""
    source = SOURCE.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    target = cache_dir() / f"scanloop-{digest}.so"
    if target.exists():
        return target
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise OSError("no C compiler (cc)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    cmd = [compiler, "-O2", "-shared", "-fPIC", "-Wall", "-Werror", "-o", tmp, str(SOURCE)]
    cmd += ["-l:librandomx.so.0"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise OSError(f"{compiler} failed: {proc.stderr.strip().splitlines()[:1]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
