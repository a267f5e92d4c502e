"""The hashing hot path: scan a batch of nonces with one VM, pipelined through the library.

``randomx_calculate_hash_first/next/last`` overlap the Blake2b of the next input with the
program of the current one.  The batch runs in the C loop of ``native`` (one ctypes call, the
GIL released for the whole batch) where it could be built, else in Python (the GIL released in
every library call, taken again after each hash).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from xminer.randomx.binding import HASH_SIZE, VM
from xminer.randomx.native import scan_loop

NONCE_OFFSET = 39
_NONCE = struct.Struct("<I")
_TAIL = struct.Struct("<Q")
_libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
_FENV_BYTES = 64  # room for any platform's fenv_t (x86-64: 32 bytes, arm64: 8)


@contextmanager
def _fp_env_kept() -> Iterator[None]:
    """Give the thread back its floating-point environment.  randomx_calculate_hash_first/
    next/last (unlike randomx_calculate_hash) leave it as the last RandomX program set it:
    subnormals flushed (FTZ/DAZ) and that program's rounding mode, which every later float
    operation of the thread (Python's, numpy's) would inherit."""
    saved = ctypes.create_string_buffer(_FENV_BYTES)
    _libm.fegetenv(saved)
    try:
        yield
    finally:
        _libm.fesetenv(saved)


@dataclass
class ScanResult:
    """What one batch produced: hash count, XOR of hash tails (the benchmark sum) and shares."""

    hashes: int = 0
    tail_xor: int = 0
    shares: list[tuple[int, bytes]] = field(default_factory=list)


def hash_tail(digest: bytes) -> int:
    """Bytes 24..31 of a hash as a little-endian uint64: what targets and sums are made of."""
    return _TAIL.unpack_from(digest, 24)[0]


@dataclass
class Interrupt:
    """Ends a batch early: the loop stops once ``epoch`` no longer holds ``seen`` (a new
    job) or ``halt`` is non-zero (pause, stop)."""

    epoch: ctypes.c_uint32
    seen: int
    halt: ctypes.c_uint32 = field(default_factory=ctypes.c_uint32)

    def hit(self) -> bool:
        return self.epoch.value != self.seen or self.halt.value != 0


class Scanner:
    """Scans nonce ranges of one blob on one VM; keeps its own input and output buffers.

    ``progress`` (a thread's live hash count, see :class:`~xminer.state.HashCounter`) grows
    by one per hash while a batch runs, so that the hashrate moves inside long batches.
    """

    def __init__(self, vm: VM, native: bool = True, progress: ctypes.c_uint64 | None = None):
        self.vm = vm
        self._lib = vm._lib
        self._native = scan_loop() if native else None
        self.progress = progress if progress is not None else ctypes.c_uint64(0)
        self._out = ctypes.create_string_buffer(HASH_SIZE)
        self._buf = ctypes.create_string_buffer(0)
        self._size = 0
        self._share_nonces = (ctypes.c_uint32 * 0)()
        self._share_hashes = ctypes.create_string_buffer(0)
        self._never = Interrupt(ctypes.c_uint32(0), 0)

    @property
    def native(self) -> bool:
        return self._native is not None

    def set_blob(self, blob: bytes) -> None:
        """ValueError for a blob with no room for the nonce (bytes 39..42)."""
        if len(blob) < NONCE_OFFSET + 4:
            raise ValueError(f"a blob of {len(blob)} bytes has no nonce (needs 43 or more)")
        self._buf = ctypes.create_string_buffer(bytes(blob), len(blob))
        self._size = len(blob)

    def scan(
        self,
        start: int,
        count: int,
        target: int,
        interrupt: Interrupt | None = None,
        stop_at_share: bool = False,
    ) -> ScanResult:
        """Hash nonces start..start+count-1; a share is a hash whose tail is below ``target``.

        The batch may end early, ``hashes`` says how far it got: on ``interrupt``, or with
        ``stop_at_share`` one hash after the first share (so that it is sent at once).
        """
        if count <= 0:
            return ScanResult()
        if self._size < NONCE_OFFSET + 4:
            raise ValueError("set_blob() first")
        interrupt = interrupt or self._never
        with _fp_env_kept():
            if self._native is not None:
                return self._scan_native(start, count, target, interrupt, stop_at_share)
            return self._scan_python(start, count, target, interrupt, stop_at_share)

    def _scan_native(
        self, start: int, count: int, target: int, interrupt: Interrupt, stop_at_share: bool
    ) -> ScanResult:
        assert self._native is not None
        if len(self._share_nonces) < count:
            self._share_nonces = (ctypes.c_uint32 * count)()
            self._share_hashes = ctypes.create_string_buffer(count * HASH_SIZE)
        xor, found = ctypes.c_uint64(0), ctypes.c_uint32(0)
        done = self._native.xminer_scan(
            self.vm.handle, self._buf, self._size, start & 0xFFFFFFFF, count,
            min(target, 2**64 - 1), ctypes.byref(interrupt.epoch), interrupt.seen,
            ctypes.byref(interrupt.halt), int(stop_at_share), ctypes.byref(self.progress),
            ctypes.byref(xor), self._share_nonces, self._share_hashes, ctypes.byref(found),
        )  # fmt: skip
        raw = self._share_hashes.raw if found.value else b""
        shares = [
            (self._share_nonces[i], raw[i * HASH_SIZE : (i + 1) * HASH_SIZE])
            for i in range(found.value)
        ]
        return ScanResult(hashes=done, tail_xor=xor.value, shares=shares)

    def _scan_python(
        self, start: int, count: int, target: int, interrupt: Interrupt, stop_at_share: bool
    ) -> ScanResult:
        """The C loop's rules in Python (the GIL released in every library call)."""
        lib, handle, buf, size, out = self._lib, self.vm.handle, self._buf, self._size, self._out
        pack, unpack, progress = _NONCE.pack_into, _TAIL.unpack_from, self.progress
        first, nxt, last = (
            lib.randomx_calculate_hash_first,
            lib.randomx_calculate_hash_next,
            lib.randomx_calculate_hash_last,
        )
        pack(buf, NONCE_OFFSET, start & 0xFFFFFFFF)
        first(handle, buf, size)
        done, xor = 0, 0
        shares: list[tuple[int, bytes]] = []
        while True:
            nonce = (start + done) & 0xFFFFFFFF
            more = done + 1 < count and not interrupt.hit() and not (stop_at_share and shares)
            if more:
                pack(buf, NONCE_OFFSET, (nonce + 1) & 0xFFFFFFFF)
                nxt(handle, buf, size, out)
            else:
                last(handle, out)
            tail = unpack(out, 24)[0]
            xor ^= tail
            done += 1
            progress.value += 1
            if tail < target:
                shares.append((nonce, out.raw))
            if not more:
                return ScanResult(hashes=done, tail_xor=xor, shares=shares)

    def chained(
        self, start: int, count: int, chain: ChainState, interrupt: Interrupt | None = None
    ) -> int:
        """XMRig's one-thread benchmark rule, so that one thread's sum cannot come from many;
        returns how many nonces were hashed (fewer than ``count`` on ``interrupt``).

        XMRig XORs the running sum into the blob's first 8 bytes before every hash, on a blob
        that keeps those changes, and pipelines its hashes: input k therefore carries
        ``base ^ S_0 ^ ... ^ S_(k-1)`` where ``S_i`` is the sum of the tails of hashes 0..i-1.
        Not pipelined here, since every input depends on the hashes before it.
        """
        lib, handle, buf, size, out = self._lib, self.vm.handle, self._buf, self._size, self._out
        interrupt = interrupt or self._never
        base = _TAIL.unpack_from(buf, 0)[0]
        done = 0
        while done < count and not interrupt.hit():
            _TAIL.pack_into(buf, 0, chain.prefix(base))
            _NONCE.pack_into(buf, NONCE_OFFSET, (start + done) & 0xFFFFFFFF)
            lib.randomx_calculate_hash(handle, buf, size, out)
            chain.advance(_TAIL.unpack_from(out, 24)[0])
            done += 1
            self.progress.value += 1
        _TAIL.pack_into(buf, 0, base)
        return done


@dataclass
class ChainState:
    """Running values of the one-thread benchmark chain: the sum and the XOR of past sums."""

    total: int = 0
    folded: int = 0

    def prefix(self, base: int) -> int:
        """The next input's first 8 bytes (LE uint64), given the blob's own."""
        return base ^ self.folded

    def advance(self, tail: int) -> None:
        """Account for the hash just made of that input."""
        self.folded ^= self.total
        self.total ^= tail
