"""The C batch loop (``csrc/scanloop.c``), compiled on first use and cached.

One ctypes call hashes a whole batch, so the GIL is taken once per batch instead of once per
hash: a busy HTTP API then costs the hashing threads (almost) nothing.  Without a C compiler,
or with ``XMINER_NATIVE=0``, the scanner falls back to its Python loop (same hashes).
``compile_into_cache`` is the compile step it shares with the dataset build (``datasetinit``).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("xminer.rx")

SOURCE = Path(__file__).with_name("csrc") / "scanloop.c"
SCAN_LOOP_COMPILE_S = 120
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
    """Compile the loop once per source version into the cache."""
    source = SOURCE.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    return compile_into_cache(
        f"scanloop-{digest}.so",
        source.decode(),
        ("-O2", "-Wall", "-Werror"),
        ["-l:librandomx.so.0"],
        timeout=SCAN_LOOP_COMPILE_S,
    )


class CompileCancelled(Exception):
    """The build was cancelled while the compiler ran (the compiler was killed)."""


def compile_into_cache(
    name: str,
    source: str,
    flags: Sequence[str],
    libraries: Sequence[str] = (),
    cancel: threading.Event | None = None,
    timeout: float = 300,
) -> Path:
    """The shared library ``name`` in the native cache, compiled from the C text ``source``
    first where it is missing.  The compiler writes a temporary file that is renamed into
    place once complete, so neither a crash nor a build in another process leaves half a
    library under the name.  A set ``cancel`` kills the compiler (CompileCancelled)."""
    target = cache_dir() / name
    if target.exists():
        return target
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise OSError("no C compiler (cc)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    src = tmp[:-3] + ".c"
    try:
        Path(src).write_text(source)
        cmd = [compiler, *flags, "-shared", "-fPIC", "-o", tmp, src, *libraries]
        run_compiler(cmd, cancel, timeout)
        os.replace(tmp, target)
    finally:
        for path in (tmp, src):
            if os.path.exists(path):
                os.unlink(path)
    return target


def run_compiler(cmd: list[str], cancel: threading.Event | None, timeout: float) -> None:
    """Run ``cmd``; OSError when it fails or takes over ``timeout`` seconds."""
    # A session of its own: the stop reaches the compiler proper (cc1), not only the driver;
    # SIGTERM lets the driver delete its temporary files.
    with subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if (cancel is not None and cancel.is_set()) or time.monotonic() > deadline:
                _stop_group(proc)
                if cancel is not None and cancel.is_set():
                    raise CompileCancelled()
                raise OSError(f"{cmd[0]} took over {timeout:g} s")
            time.sleep(0.05)
        errors = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise OSError(f"{cmd[0]} failed: {errors.strip().splitlines()[:1]}")


def _stop_group(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
