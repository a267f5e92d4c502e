#!/usr/bin/env python3
"""GPU RandomX hashrate (OpenCL: PoCL here; or CUDA) and its ratio to the CPU library.

Benchmark input: key = 32 zero bytes, blob = 112 zero bytes, nonces from 0.  The CPU figure
uses librandomx VMs (JIT when available) with xminer's Scanner, one VM per thread, in the same
mode (light: cache only; fast: the dataset the GPU run uploaded).  The GPU's tail XOR is
checked against the CPU library's for the same nonces (--check hashes, 0 to skip).

    python3 tools/bench_gpu.py --mode light --intensity 8 --seconds 20
    python3 tools/bench_gpu.py --cuda --mode fast --threads 32 --intensity 8448 --seconds 30
    python3 tools/bench_gpu.py --compare-executors --intensity 16 --worksize 8 --seconds 60

--compare-executors (OpenCL): the grouped executor against the first kernels' switch executor
(kernels/vm_switch.cl) in one run, in alternating rounds, both checked against the CPU.

--compare-readback: the miner's scan path (shares found on the device, rx_finish's results
read back: a header and the hits) against reading every hash back and scanning it on the host
(the path before), a launch of each in turn on one device at target 2^64 / --difficulty; the
bytes read back a launch and the hashrates.

    python3 tools/bench_gpu.py --compare-readback --intensity 16 --worksize 8 --seconds 90

--dataset-build: fast mode's dataset built on the device (set_key, rx_init_dataset) against the
CPU library's build on --cpu-threads threads, in items a second; sampled items (first, last,
chunk edges, random) compared with the library's.  --items N builds only the first N items on
the device (PoCL needs a quarter of an hour for all 34 M) and projects the full build.

    python3 tools/bench_gpu.py --dataset-build --items 1000000
    python3 tools/bench_gpu.py --cuda --dataset-build
"""

from __future__ import annotations

import argparse
import ctypes
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.gpu_reference import LibraryReference
from xminer.backends.gpu import host as gpu_host
from xminer.backends.gpu.result import scan_digests
from xminer.randomx import VM, Cache, Dataset, Flags, Scanner, dataset_item_count
from xminer.randomx.binding import DATASET_ITEM_SIZE, recommended_flags
from xminer.randomx.context import build_dataset

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


#: a batch: (device, first nonce, nonces, target) -> (hashes, XOR of their tails)
Batch = Callable[[object, int, int, int], tuple[int, int]]


def scan_on_device(rx: object, nonce: int, count: int, target64: int) -> tuple[int, int]:
    """The miner's path: shares found on the device, only the results come back."""
    result = rx.scan(BLOB, nonce, count, target64)  # type: ignore[attr-defined]
    return result.hashes, result.tail_xor


def scan_every_hash(rx: object, nonce: int, count: int, target64: int) -> tuple[int, int]:
    """The path before: every hash read back and scanned on the host."""
    digests = rx.hash_nonces(BLOB, nonce, count)  # type: ignore[attr-defined]
    result = scan_digests(digests, nonce, target64)
    return result.hashes, result.tail_xor


def bench_gpu(rx: object, seconds: float) -> Rate:
    """Whole batches of `intensity` nonces until `seconds` have passed (after one warm-up)."""
    intensity = rx.intensity  # type: ignore[attr-defined]
    scan_on_device(rx, 0, intensity, 0)  # warm-up, codegen
    hashes, xor, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        n, tail_xor = scan_on_device(rx, hashes, intensity, 0)
        hashes += n
        xor ^= tail_xor
    return Rate(hashes, time.perf_counter() - start, xor)


def check_gpu(rx: object, ref: LibraryReference, count: int) -> str:
    """The GPU's tail XOR of nonces 0..count-1 against the CPU library's."""
    if count <= 0:
        return "not checked"
    _, gpu_xor, _ = rx.hash_batch(BLOB, 0, count, 0)  # type: ignore[attr-defined]
    cpu_xor = ref.scan(BLOB, 0, count, 0).tail_xor
    verdict = "OK" if gpu_xor == cpu_xor else "MISMATCH"
    return f"{verdict}: {count} hashes, GPU {gpu_xor:016X}, CPU {cpu_xor:016X}"


def make_gpu(mode: str, args: argparse.Namespace, executor: str = "grouped") -> object:
    if args.cuda:
        from xminer.backends.cuda.randomx import CudaRandomX

        device = int(args.device) if args.device is not None else None
        return CudaRandomX(
            device, mode=mode, intensity=args.intensity, threads=args.threads,
            bfactor=args.bfactor, dataset_host=args.dataset_host,
        )  # fmt: skip
    from xminer.backends.opencl.randomx import OpenCLRandomX

    return OpenCLRandomX(
        args.device, mode=mode, intensity=args.intensity, worksize=args.worksize,
        bfactor=args.bfactor, executor=executor,
    )  # fmt: skip


def bench_cpu(ref: LibraryReference, threads: int, seconds: float) -> Rate:
    counts = [0] * threads
    xors = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        vm = VM(ref.flags, ref.cache, ref.dataset)
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


def compare_executors(mode: str, args: argparse.Namespace) -> bool:
    """Grouped vs switch executor on the same device, alternating rounds of seconds / 6."""
    ref = LibraryReference(KEY, fast=mode == "fast")
    rates: dict[str, list[Rate]] = {"switch": [], "grouped": []}
    good = True
    try:
        gpus = {name: make_gpu(mode, args, name) for name in rates}
        for name, rx in gpus.items():
            rx.set_key(KEY, ref.cache, ref.dataset)  # type: ignore[attr-defined]
            check = check_gpu(rx, ref, args.check)
            good = good and not check.startswith("MISMATCH")
            print(f"[{mode}] {name} executor vs CPU library: {check}")
        for _ in range(3):
            for name, rx in gpus.items():
                rates[name].append(bench_gpu(rx, args.seconds / 6))
        for rx in gpus.values():
            rx.close()  # type: ignore[attr-defined]
    finally:
        ref.close()
    per_second = {}
    for name, runs in rates.items():
        hashes, seconds = sum(r.hashes for r in runs), sum(r.seconds for r in runs)
        per_second[name] = hashes / seconds
        print(f"[{mode}] {name}: {per_second[name]:.2f} H/s ({hashes} hashes in {seconds:.1f} s)")
    ratio = per_second["grouped"] / per_second["switch"]
    print(
        f"[{mode}] grouped/switch = {ratio:.3f} (intensity {args.intensity}, worksize"
        f" {args.worksize})"
    )
    return good


def compare_readback(mode: str, args: argparse.Namespace) -> bool:
    """Shares found on the device vs every hash read back on one device, a batch of each in
    turn (so that the load of the machine weighs on both alike) until `seconds` have passed;
    bytes read back a launch and H/s of each."""
    paths: dict[str, Batch] = {"device shares": scan_on_device, "every hash": scan_every_hash}
    target64 = (1 << 64) // args.difficulty
    ref = LibraryReference(KEY, fast=mode == "fast")
    hashes = dict.fromkeys(paths, 0)
    seconds = dict.fromkeys(paths, 0.0)
    read = dict.fromkeys(paths, 0)
    launches, nonce = 0, 0
    try:
        rx = make_gpu(mode, args)
        intensity = rx.intensity  # type: ignore[attr-defined]
        rx.set_key(KEY, ref.cache, ref.dataset)  # type: ignore[attr-defined]
        check = check_gpu(rx, ref, args.check)
        print(f"[{mode}] device shares vs CPU library: {check}")
        for batch in paths.values():
            batch(rx, nonce, intensity, target64)  # warm-up, codegen
        deadline = time.perf_counter() + args.seconds
        while time.perf_counter() < deadline:
            for name, batch in paths.items():
                before, began = rx.read_back_bytes, time.perf_counter()  # type: ignore[attr-defined]
                n, _ = batch(rx, nonce, intensity, target64)
                seconds[name] += time.perf_counter() - began
                read[name] += rx.read_back_bytes - before  # type: ignore[attr-defined]
                hashes[name] += n
                nonce += n
            launches += 1
        rx.close()  # type: ignore[attr-defined]
    finally:
        ref.close()
    rate = {name: hashes[name] / seconds[name] for name in paths}
    for name in paths:
        print(
            f"[{mode}] {name}: {rate[name]:.2f} H/s ({hashes[name]} hashes in"
            f" {seconds[name]:.1f} s), {read[name] / launches:.0f} bytes read back a launch"
            f" of {intensity}"
        )
    ratio = rate["device shares"] / rate["every hash"]
    print(
        f"[{mode}] device shares/every hash = {ratio:.3f} ({launches} launches each,"
        f" difficulty {args.difficulty})"
    )
    return not check.startswith("MISMATCH")


def sample_items(items: int, per_chunk: int) -> list[int]:
    """Items to compare: the first and last, both sides of each chunk edge, 8 random."""
    edges = range(per_chunk, items, per_chunk)
    rng = random.Random(items)
    picks = [0, items - 1, *(e - 1 for e in edges), *edges]
    return sorted(set(picks + [rng.randrange(items) for _ in range(8)]))


def dataset_build(args: argparse.Namespace) -> bool:
    """The device's dataset build against the CPU library's; False on a mismatched item."""
    label = "CUDA" if args.cuda else "OpenCL"
    total = dataset_item_count()
    items = min(args.items or total, total)
    flags = recommended_flags() & ~Flags.LARGE_PAGES
    cache = Cache(flags)
    cache.init(KEY)
    dataset = Dataset(flags)
    rx = make_gpu("fast", args)
    rx.build_on_device = True  # type: ignore[attr-defined]  # also on a CPU device (PoCL)
    try:
        started = time.perf_counter()
        build_dataset(dataset, cache, args.cpu_threads)
        cpu_s = time.perf_counter() - started
        if items < total:  # the build's own item count, lowered for a partial run
            gpu_host.dataset_item_count = lambda: items  # type: ignore[assignment]
        started = time.perf_counter()
        rx.set_key(KEY, cache)  # type: ignore[attr-defined]
        gpu_s = time.perf_counter() - started
        good = True
        for item in sample_items(items, rx._chunk_items):  # type: ignore[attr-defined]
            want = ctypes.string_at(dataset.memory() + item * DATASET_ITEM_SIZE, DATASET_ITEM_SIZE)
            if rx.dataset_items(item, 1) != want:  # type: ignore[attr-defined]
                print(f"[dataset] item {item}: MISMATCH")
                good = False
        checked = len(sample_items(items, rx._chunk_items))  # type: ignore[attr-defined]
    finally:
        rx.close()  # type: ignore[attr-defined]
        dataset.release()
        cache.release()
    cpu_rate, gpu_rate = total / cpu_s, items / gpu_s
    print(f"[dataset] CPU library ({args.cpu_threads} threads): {total} items in {cpu_s:.1f} s")
    projected = "" if items == total else f", {total / gpu_rate:.1f} s for all {total} projected"
    print(f"[dataset] {label} device build: {items} items in {gpu_s:.1f} s{projected}")
    print(f"[dataset] {label}/CPU build speed = {gpu_rate / cpu_rate:.3f}")
    print(f"[dataset] {checked} sampled items vs the library's: {'OK' if good else 'MISMATCH'}")
    return good


def run_mode(mode: str, args: argparse.Namespace) -> bool:
    """One mode's figures; False when the GPU's hashes do not match the CPU's."""
    label = "CUDA" if args.cuda else "OpenCL"
    started = time.perf_counter()
    ref = LibraryReference(KEY, fast=mode == "fast")
    try:
        rx = make_gpu(mode, args)
        if getattr(rx, "fallback", ""):
            print(f"[{mode}] {label}: {rx.fallback}")  # type: ignore[attr-defined]
        rx.set_key(KEY, ref.cache, ref.dataset)  # type: ignore[attr-defined]
        print(f"[{mode}] key setup {time.perf_counter() - started:.1f} s")
        check = check_gpu(rx, ref, args.check)
        print(f"[{mode}] {label} hashes vs CPU library: {check}")
        gpu = bench_gpu(rx, args.seconds)
        rx.close()  # type: ignore[attr-defined]
        cpu = bench_cpu(ref, args.cpu_threads, args.cpu_seconds)
    finally:
        ref.close()
    ratio = gpu.per_second / cpu.per_second if cpu.per_second else float("nan")
    shape = f"threads {args.threads}, " if args.cuda else ""
    print(
        f"[{mode}] {label}: {gpu.per_second:.2f} H/s ({gpu.hashes} hashes in {gpu.seconds:.1f} s,"
        f" {shape}intensity {args.intensity})"
    )
    print(
        f"[{mode}] CPU library ({args.cpu_threads} threads, flags {int(ref.flags)}): "
        f"{cpu.per_second:.2f} H/s ({cpu.hashes} hashes in {cpu.seconds:.1f} s)"
    )
    print(f"[{mode}] ratio {label}/CPU = {ratio:.3f}")
    return not check.startswith("MISMATCH")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuda", action="store_true", help="the CUDA backend (pycuda)")
    parser.add_argument("--mode", choices=["light", "fast", "both"], default="light")
    parser.add_argument(
        "--device", default=None, help="OpenCL platform:device (0:0) or CUDA index (0)"
    )
    parser.add_argument("--intensity", type=int, default=8, help="hashes a launch")
    parser.add_argument("--threads", type=int, default=32, help="CUDA threads a block")
    parser.add_argument("--worksize", type=int, default=8, help="OpenCL work-group size")
    parser.add_argument(
        "--compare-executors", action="store_true", help="OpenCL: grouped vs switch executor"
    )
    parser.add_argument(
        "--compare-readback", action="store_true", help="device shares vs every hash read back"
    )
    parser.add_argument(
        "--difficulty", type=int, default=100_000, help="--compare-readback: the share target's"
    )
    parser.add_argument("--bfactor", type=int, default=0, help="each program in 2^N launches")
    parser.add_argument(
        "--dataset-host", action="store_true", help="CUDA fast mode: the dataset in host memory"
    )
    parser.add_argument(
        "--dataset-build", action="store_true", help="the device's dataset build vs the CPU's"
    )
    parser.add_argument("--items", type=int, default=0, help="--dataset-build: first N only")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--check", type=int, default=16, help="hashes checked on the CPU")
    parser.add_argument("--cpu-seconds", type=float, default=10.0)
    parser.add_argument("--cpu-threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if args.cuda:
        from xminer.backends.cuda import cuda_status as status
        from xminer.backends.cuda import device_listing
    else:
        from xminer.backends.opencl import device_listing
        from xminer.backends.opencl import opencl_status as status
    ok, reason = status()
    if not ok:
        print(f"{'CUDA' if args.cuda else 'OpenCL'} unavailable: {reason}")
        return 1
    print(device_listing())
    if args.dataset_build:
        return 0 if dataset_build(args) else 2
    good = True
    for mode in ("light", "fast") if args.mode == "both" else (args.mode,):
        run = compare_executors if args.compare_executors and not args.cuda else run_mode
        run = compare_readback if args.compare_readback else run
        good = run(mode, args) and good
    return 0 if good else 2


if __name__ == "__main__":
    raise SystemExit(main())
