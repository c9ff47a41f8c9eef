"""PyTorch peer of bench/hardware.bench.ts: memory copy bandwidth and float32 GEMM throughput.

Usage: /usr/bin/python3 hardware.py MANIFEST.json  -> prints JSON {copy_gbs, gemm_gflops, blas}.
Copy bandwidth counts the bytes read plus the bytes written (the STREAM "copy" convention); each
figure is the fastest of the timed iterations.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from engine_block import loaded_blas, read_manifest  # noqa: E402


def best_ms(fn, iterations, warmup=2):
    """The fastest timed call: contention only slows a run down, and a limit is what the machine reaches."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def main():
    m = read_manifest(sys.argv[1])
    n = m["copy_bytes"] // 4
    src, dst = torch.rand(n), torch.empty(n)
    copy_ms = best_ms(lambda: dst.copy_(src), m["iterations"])
    rows, inner, cols = m["gemm"]
    a, b = torch.rand(rows, inner), torch.rand(inner, cols)
    out = torch.empty(rows, cols)
    gemm_ms = best_ms(lambda: torch.matmul(a, b, out=out), m["iterations"])
    json.dump({
        "copy_gbs": 2 * n * 4 / (copy_ms / 1000) / 1e9,
        "gemm_gflops": 2 * rows * inner * cols / (gemm_ms / 1000) / 1e9,
        "blas": loaded_blas(),
    }, sys.stdout)


if __name__ == "__main__":
    main()
