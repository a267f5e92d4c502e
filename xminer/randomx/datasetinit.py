"""The dataset build in generated C: the 8 SuperscalarHash programs of a seed, 8 items per vector.

The library builds one dataset item at a time (scalar JIT code, one cache line in flight).  Here
the seed's programs (:mod:`xminer.randomx.superscalar`) become straight-line C over GCC vector
extensions: each of the 8 registers holds one 64-bit lane per item, a few groups of 8
items are interleaved so their cache-line loads overlap, and every line is prefetched one
program ahead.  With AVX-512 (DQ for the 64-bit multiply) one instruction serves 8 items;
``mulhi`` is built from 32-bit multiplies.  The C is compiled once per seed with the system
compiler into the native cache and called through ctypes (no GIL) on the init threads.  Without
a compiler, AVX-512 or with ``XMINER_NATIVE=0`` the caller falls back to the library.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xminer.randomx import superscalar as ss
from xminer.randomx.native import CompileCancelled, compile_into_cache

log = logging.getLogger("xminer.rx")

HEADER = Path(__file__).with_name("csrc") / "dsinit.h"
COMPILE_TIMEOUT_S = 300
KEEP_BUILT = 4

ItemsFn = Callable[[int, int, int, int], None]  # cache address, out address, start, count


@dataclass(frozen=True)
class Isa:
    """A vector instruction set the generated code is written for."""

    name: str
    cpu_flags: frozenset[str]  # /proc/cpuinfo flags it needs
    lanes: int  # items per vector (64-bit lanes)
    batches: int  # groups of ``lanes`` items interleaved (their cache lines overlap)
    cflags: tuple[str, ...]


ISAS = (
    Isa(
        "AVX-512",
        frozenset({"avx512f", "avx512dq", "avx512vl", "avx512bw"}),
        8,
        2,  # 3 builds about 12% faster but compiles about 1 s longer: a loss for a new seed
        ("-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx512bw"),
    ),
    Isa("AVX2", frozenset({"avx2"}), 4, 1, ("-mavx2",)),
)
CFLAGS = ("-O2", "-fno-strict-aliasing")


# Each instruction as a C statement; {d}/{s}: destination/source register of the batch,
# {imm}: the immediate as used (sign-extended, or IMUL_RCP's reciprocal), {ror}/{rol}: IROR_C's
# rotation as two shifts.
LANE_C = {
    ss.ISUB_R: "{d} -= {s};",
    ss.IXOR_R: "{d} ^= {s};",
    ss.IADD_RS: "{d} += {s} << {shift};",
    ss.IMUL_R: "{d} *= {s};",
    ss.IROR_C: "{d} = ({d} >> {ror}) | ({d} << {rol});",
    **dict.fromkeys((ss.IADD_C7, ss.IADD_C8, ss.IADD_C9), "{d} += {imm:#x}ULL;"),
    **dict.fromkeys((ss.IXOR_C7, ss.IXOR_C8, ss.IXOR_C9), "{d} ^= {imm:#x}ULL;"),
    ss.IMULH_R: "{d} = mulhi({d}, {s});",
    ss.ISMULH_R: "{d} = smulhi({d}, {s});",
    ss.IMUL_RCP: "{d} *= {imm:#x}ULL;",
}


def _lane(ins: ss.Instruction, v: str) -> str:
    """One instruction on the registers of batch ``v`` (C statement)."""
    template = LANE_C.get(ins.type)
    if template is None:
        raise ValueError(f"unknown superscalar instruction type {ins.type}")
    imm = ss.reciprocal(ins.imm32) if ins.type == ss.IMUL_RCP else ss._sign_extend32(ins.imm32)
    ror = ins.imm32 & 63
    d, s = f"{v}{ins.dst}", f"{v}{ins.src}"
    return template.format(d=d, s=s, shift=ins.shift, imm=imm, ror=ror, rol=64 - ror)


def generate_source(programs: list[ss.Program], isa: Isa) -> str:
    """C source of ``xminer_dsinit(cache, out, start, count)`` for one seed's programs."""
    names = "abcd"[: isa.batches]
    lines = [f"#define LANES {isa.lanes}", f"#define BATCHES {isa.batches}"]
    lines += [f'#include "{HEADER}"', "BEGIN_ITEMS"]
    for v_i, v in enumerate(names):
        lines.append(f"INIT_REGS({v}, {v_i})")
    for program in programs:
        for v in names:
            lines.append(f"FETCH({v})")
        for ins in program.instructions:
            lines.append(" ".join(_lane(ins, v) for v in names))
        for v in names:
            lines.append(f"MIX({v}, {v}{program.address_register})")
    for v_i, v in enumerate(names):
        lines.append(f"STORE({v}, {v_i})")
    lines.append("END_ITEMS")
    return "\n".join(lines) + "\n"


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return set(next((x for x in text.splitlines() if x.startswith("flags")), "").split())


def supported_isas() -> list[Isa]:
    """The instruction sets of ISAS this CPU has, best first."""
    have = cpu_flags()
    return [isa for isa in ISAS if isa.cpu_flags <= have]


def _compile(source: str, isa: Isa, cancel: threading.Event | None = None) -> Path:
    """Compile ``source`` once into the native cache (keyed by the source, header and flags);
    the compiler is killed when ``cancel`` is set, so a stop never waits for it."""
    flags = CFLAGS + isa.cflags
    digest = hashlib.sha256(source.encode() + HEADER.read_bytes() + " ".join(flags).encode())
    name = f"dsinit-{digest.hexdigest()[:20]}.so"
    target = compile_into_cache(name, source, flags, cancel=cancel, timeout=COMPILE_TIMEOUT_S)
    _prune(target)
    return target


def _prune(keep: Path) -> None:
    """One library per seed: keep the newest few (a seed lasts about 2.8 days)."""
    built = sorted(keep.parent.glob("dsinit-*.so"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in built[KEEP_BUILT:]:
        if old != keep:
            old.unlink(missing_ok=True)


_lock = threading.Lock()
_by_key: dict[tuple[bytes, str], ItemsFn] = {}
_failed = False


def _load(path: Path) -> ItemsFn:
    fn = ctypes.CDLL(str(path)).xminer_dsinit
    fn.restype = None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64]
    return fn


def items_function(
    key: bytes, cancel: threading.Event | None = None, isa: Isa | None = None
) -> ItemsFn | None:
    """The compiled item builder for cache key ``key`` (in ``isa``, else the best this CPU
    has), or None where it cannot be used here (XMINER_NATIVE=0, no AVX2, no compiler: logged
    once) or ``cancel`` was set meanwhile.  Keeps the last seed's only."""
    global _failed
    with _lock:
        reason = ""
        if os.environ.get("XMINER_NATIVE", "1") == "0":
            reason = "XMINER_NATIVE=0"
        elif isa is None:
            isas = supported_isas()
            isa = isas[0] if isas else None
            if isa is None:
                reason = "neither AVX-512 nor AVX2 on this CPU"
        if isa is not None and (key, isa.name) in _by_key:
            return _by_key[key, isa.name]
        if _failed:
            return None
        if not reason and isa is not None:
            try:
                started = time.monotonic()
                fn = _load(_compile(generate_source(ss.generate_programs(key), isa), isa, cancel))
                log.info(
                    "dataset build: seed programs as %s C, %d items a step (cc %.1f s)",
                    isa.name,
                    isa.lanes * isa.batches,
                    time.monotonic() - started,
                )
            except CompileCancelled:
                return None
            except (OSError, subprocess.SubprocessError) as exc:
                reason = str(exc)
        if reason or isa is None:
            _failed = True
            log.info("dataset build by the library (%s)", reason)
            return None
        _by_key.clear()
        _by_key[key, isa.name] = fn
        return fn
