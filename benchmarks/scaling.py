"""Scaling: pairs/s of a whole build with 1 and with 2 dask worker processes (one thread each).

The CPU path (decode, align, encode, write) with the `identity` generator, at 256 px, on a LocalCluster
made the way `toolkit make` makes its own (`executors.local_cluster`), started and warmed up (imports,
a small build) before timing, so the figure is the steady throughput of `toolkit make` through dask,
including planning, task dispatch, progress, markers and the card. Target on a 2-core machine (issue
18): 2 workers >= 1.8x 1 worker. Wall time, so the machine must be otherwise idle: the load average is
printed before and after, each worker count is timed `--repeat` times in turns (1, 2, 1, 2, ...) and
every run is printed; the ratio is of the best runs (a neighbour only ever slows a run down).

`--breakdown` also prints where the wall time of each run went: before the shards (plan, checks),
the shard phase (and, from dask's task stream, how busy each worker was in it), and the card after
the last shard. docs/performance.md, "Scaling and memory".

    .venv/bin/python benchmarks/scaling.py [--n 256] [--size 256] [--repeat 3] [--breakdown]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from common import cores, folder_recipe, write_sources


class Phases:
    """Wall time of `make`'s phases, by wrapping the runner's shard phase and the card."""

    def __init__(self):
        import toolkit.card.render as render
        import toolkit.engine.runner as runner

        self.t: dict[str, float] = {}
        self._undo = []
        for mod, name, label in ((runner, "run_shards", "shards"), (render, "write_card", "card")):
            fn = getattr(mod, name)
            setattr(mod, name, self._timed(fn, label))
            self._undo.append((mod, name, fn))

    def _timed(self, fn, label):
        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.t[f"{label}_start"], self.t[label] = t0, time.perf_counter() - t0
        return timed

    def close(self) -> None:
        for mod, name, fn in self._undo:
            setattr(mod, name, fn)


def one_run(cluster, client, folder: Path, n: int, size: int, workers: int, shard_size: int,
            breakdown: bool) -> dict:
    from distributed import get_task_stream

    from toolkit.engine.runner import make

    warm = folder_recipe(folder, size, workers * 4, shard_size=4)
    warm.runner.workers = workers
    warm_out = tempfile.mkdtemp()
    make(warm, output=warm_out, scheduler=cluster.scheduler_address, echo=lambda s: None)
    shutil.rmtree(warm_out, ignore_errors=True)
    recipe = folder_recipe(folder, size, n, shard_size=shard_size)
    recipe.runner.workers = workers
    out = tempfile.mkdtemp()
    phases = Phases() if breakdown else None
    try:
        with get_task_stream(client) as ts:
            w0, t0 = time.time(), time.perf_counter()
            res = make(recipe, output=out, scheduler=cluster.scheduler_address, echo=lambda s: None)
            dt = time.perf_counter() - t0
    finally:
        if phases is not None:
            phases.close()
    assert res.ok and res.summary["pairs"] == n, res.summary
    shutil.rmtree(out, ignore_errors=True)
    row = {"workers": workers, "seconds": dt, "pairs_s": n / dt}
    if phases is not None:
        p = phases.t
        row["before_shards_s"] = p["shards_start"] - t0
        row["shards_s"] = p["shards"]
        row["card_s"] = p["card"]
        row["other_s"] = dt - row["before_shards_s"] - p["shards"] - p["card"]
        busy: dict[str, float] = {}
        last: dict[str, float] = {}
        for task in ts.data:
            for ss in task["startstops"]:
                if ss["action"] == "compute":
                    busy[task["worker"]] = busy.get(task["worker"], 0.0) + ss["stop"] - ss["start"]
                    last[task["worker"]] = max(last.get(task["worker"], 0.0), ss["stop"] - w0)
        row["worker_busy_s"] = sorted(round(b, 2) for b in busy.values())
        row["last_task_end_s"] = sorted(round(b, 2) for b in last.values())
    return row


def measure(n: int, size: int, repeat: int = 3, breakdown: bool = False) -> dict:
    from distributed import Client

    from toolkit.engine.executors import local_cluster

    folder = Path(tempfile.mkdtemp()) / "src"
    write_sources(folder, n, size)
    shard = max(4, n // 16)
    load_before = os.getloadavg()[0]
    runs = []
    for _ in range(repeat):
        for workers in (1, 2):
            with local_cluster(workers) as cluster, Client(cluster) as client:
                client.wait_for_workers(workers)
                runs.append(one_run(cluster, client, folder, n, size, workers, shard, breakdown))
    shutil.rmtree(folder.parent, ignore_errors=True)
    best = {w: max(r["pairs_s"] for r in runs if r["workers"] == w) for w in (1, 2)}
    return {"n": n, "size": size, "cores": cores(), "shard_size": shard, "runs": runs,
            "one_worker_pairs_s": best[1], "two_workers_pairs_s": best[2], "speedup": best[2] / best[1],
            "load_before": load_before, "load_after": os.getloadavg()[0]}


def report(r: dict) -> str:
    lines = [f"{r['n']} pairs at {r['size']} px, {r['cores']} cores, shards of {r['shard_size']}, load average "
             f"{r['load_before']:.2f} before, {r['load_after']:.2f} after"]
    for x in r["runs"]:
        line = f"  {x['workers']} worker{'s' if x['workers'] > 1 else ' '}: {x['pairs_s']:5.1f} pairs/s ({x['seconds']:.2f} s)"
        if "shards_s" in x:
            line += (f"  before shards {x['before_shards_s']:.2f} s, shards {x['shards_s']:.2f} s (workers busy "
                     f"{x['worker_busy_s']} s, last task ends {x['last_task_end_s']} s), card {x['card_s']:.2f} s, "
                     f"other {x['other_s']:.2f} s")
        lines.append(line)
    lines.append(f"best: 1 worker {r['one_worker_pairs_s']:.1f} pairs/s, 2 workers {r['two_workers_pairs_s']:.1f} pairs/s "
                 f"-> {r['speedup']:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--breakdown", action="store_true", help="phases of each run and worker busy time")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = measure(a.n, a.size, a.repeat, a.breakdown)
    print(json.dumps(r) if a.json else report(r))
