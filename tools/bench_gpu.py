#!/usr/bin/env python3
"""OpenCL RandomX hashrate (PoCL here) and its ratio to the CPU library in the same run.

Benchmark input: key = 32 zero bytes, blob = 112 zero bytes, nonces from 0.  The CPU figure
uses librandomx VMs (JIT when available) with xminer's Scanner, one VM per thread, in the same
mode (light: cache only; fast: the dataset the GPU run uploaded).

    python3 tools/bench_gpu.py --mode light --intensity 8 --seconds 20
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xminer.backends.opencl import device_listing, opencl_status
from xminer.randomx import (
    VM,
    Cache,
    Dataset,
    Flags,
    Scanner,
    dataset_item_count,
    recommended_flags,
)

KEY = bytes(32)
BLOB = bytes(112)


@dataclass
class Rate:
    hashes: int
    seconds: float
    tail_xor: int

    @property
    def per_second(self) -> float:
        return self.hashes / self.seconds if self.seconds else 0.0


def bench_gpu(rx: object, seconds: float) -> Rate:
    """Whole batches of `intensity` nonces until `seconds` have passed (after one warm-up)."""
    intensity = rx.intensity  # type: ignore[attr-defined]
    rx.hash_batch(BLOB, 0, intensity, 0)  # type: ignore[attr-defined]  # warm-up, codegen
    hashes, xor, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        n, tail_xor, _ = rx.hash_batch(BLOB, hashes, intensity, 0)  # type: ignore[attr-defined]
        hashes += n
        xor ^= tail_xor
    return Rate(hashes, time.perf_counter() - start, xor)


def bench_cpu(cache: Cache, dataset: Dataset | None, threads: int, seconds: float) -> Rate:
    flags = recommended_flags() & ~Flags.LARGE_PAGES
    counts = [0] * threads
    xors = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        vm = VM(flags, cache, dataset)
        try:
            scanner = Scanner(vm)
            scanner.set_blob(BLOB)
            nonce = index << 24
            while time.perf_counter() < deadline:
                result = scanner.scan(nonce, 4, 0)
                counts[index] += result.hashes
                xors[index] ^= result.tail_xor
                nonce += 4
        finally:
            vm.destroy()

    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    xor = 0
    for x in xors:
        xor ^= x
    return Rate(sum(counts), time.perf_counter() - start, xor)


def run_mode(mode: str, args: argparse.Namespace) -> None:
    from xminer.backends.opencl.randomx import OpenCLRandomX, _init_dataset_threaded

    flags = recommended_flags() & ~Flags.LARGE_PAGES
    cache = Cache(flags)
    dataset: Dataset | None = None
    try:
        started = time.perf_counter()
        cache.init(KEY)
        if mode == "fast":
            dataset = Dataset(flags)
            _init_dataset_threaded(dataset, cache, dataset_item_count())
        rx = OpenCLRandomX(args.device, mode=mode, intensity=args.intensity)
        rx.set_key(KEY, cache, dataset)
        print(f"[{mode}] key setup {time.perf_counter() - started:.1f} s")
        gpu = bench_gpu(rx, args.seconds)
        rx.close()
        cpu = bench_cpu(cache, dataset, args.cpu_threads, args.cpu_seconds)
    finally:
        if dataset is not None:
            dataset.release()
        cache.release()
    ratio = gpu.per_second / cpu.per_second if cpu.per_second else float("nan")
    print(
        f"[{mode}] OpenCL: {gpu.per_second:.2f} H/s ({gpu.hashes} hashes in {gpu.seconds:.1f} s,"
        f" intensity {args.intensity})"
    )
    print(
        f"[{mode}] CPU library ({args.cpu_threads} threads, flags {int(flags)}): "
        f"{cpu.per_second:.2f} H/s ({cpu.hashes} hashes in {cpu.seconds:.1f} s)"
    )
    print(f"[{mode}] ratio OpenCL/CPU = {ratio:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["light", "fast", "both"], default="light")
    parser.add_argument("--device", default=None, help="platform:device, e.g. 0:0")
    parser.add_argument("--intensity", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cpu-seconds", type=float, default=10.0)
    parser.add_argument("--cpu-threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    ok, reason = opencl_status()
    if not ok:
        print(f"OpenCL unavailable: {reason}")
        return 1
    print(device_listing())
    for mode in ("light", "fast") if args.mode == "both" else (args.mode,):
        run_mode(mode, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
