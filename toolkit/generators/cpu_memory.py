"""Keep freed activation memory in the process on a CPU, instead of handing it back to the kernel.

Why: glibc's malloc serves every block above its mmap threshold (at most 32 MiB, adapted on the fly)
with a fresh `mmap`, and returns it to the kernel on `free`. A CPU forward pass of an autoencoder at
batch 8 allocates dozens of activations of 30-1000 MiB, so every layer pays page faults and the
kernel's zeroing of every page it touches: measured on the stand-in VAE at 256 px, batch 8, one
thread, the elementwise ops (SiLU, GroupNorm) ran 3.5x slower per element than at batch 1, and the
batch as a whole 1.5x slower than the same images one by one (docs/performance.md). Raising the mmap
and trim thresholds keeps those blocks in the heap for the next layer and the next batch: the same
kernels on the same values (the bytes of a build do not change), no page-fault storm. What PyTorch's
own CPU tuning guide gets from jemalloc/tcmalloc, with the allocator already loaded.

The cost: the process keeps its peak heap (it does not shrink between batches), which a worker that
runs batch after batch needs again anyway; it does not grow with the number of shards.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3
THRESHOLD = 1 << 30  # blocks up to 1 GiB from the heap; free memory above it kept up to 1 GiB

_done: list[bool] = []


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds once per process; True when they are set (Linux with glibc),
    False elsewhere (musl, macOS, Windows: nothing is changed)."""
    if _done:
        return _done[0]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
            ok = bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, THRESHOLD))
        except (OSError, AttributeError):  # not glibc
            ok = False
    _done.append(ok)
    return ok
