"""The CPU library as a reference for a GPU's hashes (tests and tools/bench_gpu.py)."""

from __future__ import annotations

from xminer.randomx.context import RandomXContext
from xminer.randomx.scan import Scanner, ScanResult


class LibraryReference(RandomXContext):
    """The CPU library for one key, to check a GPU's hashes against: light mode (cache only)
    or fast (a dataset built on all CPUs); no large pages."""

    def __init__(self, key: bytes, fast: bool = False) -> None:
        super().__init__("fast" if fast else "light", huge_pages=False)
        self.prepare(key)

    def hash(self, data: bytes) -> bytes:
        return self.verify_hash(data)

    def scan(self, blob: bytes, start_nonce: int, count: int, target64: int) -> ScanResult:
        """Nonces start_nonce.. of blob as xminer's Scanner hashes them on the CPU."""
        vm = self.create_vm()
        try:
            scanner = Scanner(vm)
            scanner.set_blob(blob)
            return scanner.scan(start_nonce, count, target64)
        finally:
            vm.destroy()

    def close(self) -> None:
        self.release()
