"""Scaling: pairs/s of a whole build with 1 and with 2 dask worker processes (one thread each).

The CPU path (decode, align, encode, write) with the `identity` generator, at 256 px, on a LocalCluster
that is started and warmed up (imports, a small build) before timing, so the figure is the steady
throughput of `toolkit make` through dask, including planning, task dispatch, markers and the card.
Target on a 2-core machine (issue 18): 2 workers >= 1.8x 1 worker. The card (figures decoded and drawn
after the last shard, on one core) is part of the timed `make`: docs/performance.md, "Scaling".

    .venv/bin/python benchmarks/scaling.py [--n 256] [--size 256]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

from common import cores, folder_recipe, write_sources


def throughput(folder: Path, n: int, size: int, workers: int, shard_size: int) -> float:
    from distributed import Client, LocalCluster

    from toolkit.engine.runner import make

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        warm = folder_recipe(folder, size, workers * 4, shard_size=4)
        warm.runner.workers = workers
        make(warm, output=tempfile.mkdtemp(), scheduler=cluster.scheduler_address, echo=lambda s: None)
        recipe = folder_recipe(folder, size, n, shard_size=shard_size)
        recipe.runner.workers = workers
        out = tempfile.mkdtemp()
        t0 = time.perf_counter()
        res = make(recipe, output=out, scheduler=cluster.scheduler_address, echo=lambda s: None)
        dt = time.perf_counter() - t0
        assert res.ok and res.summary["pairs"] == n, res.summary
        shutil.rmtree(out, ignore_errors=True)
    return n / dt


def measure(n: int, size: int) -> dict:
    folder = Path(tempfile.mkdtemp()) / "src"
    write_sources(folder, n, size)
    shard = max(4, n // 16)
    one = throughput(folder, n, size, 1, shard)
    two = throughput(folder, n, size, 2, shard)
    return {"n": n, "size": size, "cores": cores(), "shard_size": shard, "one_worker_pairs_s": one,
            "two_workers_pairs_s": two, "speedup": two / one}


def report(r: dict) -> str:
    return (f"{r['n']} pairs at {r['size']} px, {r['cores']} cores, shards of {r['shard_size']}: "
            f"1 worker {r['one_worker_pairs_s']:.1f} pairs/s, 2 workers {r['two_workers_pairs_s']:.1f} pairs/s "
            f"-> {r['speedup']:.2f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = measure(a.n, a.size)
    print(json.dumps(r) if a.json else report(r))
