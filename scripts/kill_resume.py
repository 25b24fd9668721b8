#!/usr/bin/env python
"""Kill a build anywhere, re-run the same command, and check the result is the uninterrupted build.

For each scheduler and each kill point (toolkit/engine/faults.py), or at random moments, this runs
`toolkit make` in a process group of its own, kills the group there (SIGKILL, or SIGINT for Ctrl-C),
runs the same command again, and checks: the re-run exits 0, every data file is byte-identical to an
uninterrupted build's, `toolkit verify` finds nothing wrong (plan, markers, hashes, no pair lost or
duplicated, the alignment contract), and no pair was dropped. The tests (tests/test_faults.py) run a
small fixed set; run it yourself at a larger scale:

    .venv/bin/python scripts/kill_resume.py                                  # every point, 3 schedulers
    .venv/bin/python scripts/kill_resume.py --schedulers local --random 20 --pairs 200 --shard-size 10
    .venv/bin/python scripts/kill_resume.py --signal INT --points shard_read,data_file

Schedulers: `synchronous` (in-process), `local` (the default LocalCluster, 2 workers), `cluster` (a real
`dask scheduler` + 2 `dask worker` processes on 127.0.0.1, killed together with the client: the whole
tree), `cluster-worker` (the same cluster, but a shard point kills only the worker that reaches it, as
a lost node would: the build must finish on the other worker, in the same run).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POINTS = ("plan", "planned", "shard_read", "data_file", "marker", "card", "finished")
SHARD_POINTS = ("shard_read", "data_file", "marker")
SCHEDULERS = ("synchronous", "local", "cluster", "cluster-worker")


def recipe_args(out: Path, pairs: int, shard_size: int, extra: tuple[str, ...] = ()) -> list[str]:
    return ["make", str(ROOT / "recipes" / "demo.yaml"), "--out", str(out), f"reals.count={pairs}",
            "image.size=64", f"runner.shard_size={shard_size}", "runner.progress=false", "detector=null", *extra]


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_KILL")}
    env.setdefault("HF_HUB_OFFLINE", "1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def _toolkit(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "toolkit.cli", *args]


class Cluster:
    """A `dask scheduler` and `workers` `dask worker` processes on 127.0.0.1. `group=True`: all in one
    process group (`pgid`, the scheduler's; same session as the caller, so the build can join it), so a
    kill takes the whole tree; otherwise each worker in a session of its own (a kill takes one node)."""

    def __init__(self, workdir: Path, workers: int = 2, group: bool = True, env: dict | None = None):
        dask = Path(sys.executable).with_name("dask")
        env = env or _env()  # workers are daemonic, as `dask worker` makes them by default
        self.workdir = workdir
        sched_file = workdir / f"scheduler-{time.time_ns()}.json"
        self.procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                        "--no-dashboard", "--scheduler-file", str(sched_file)], env=env, cwd=workdir,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       **({"process_group": 0} if group else {"start_new_session": True}))]
        self.pgid = self.procs[0].pid if group else None
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        self.address = json.loads(sched_file.read_text())["address"]
        self._worker_cmd = lambda i: [str(dask), "worker", self.address, "--nthreads", "1", "--no-dashboard",
                                      "--name", f"w{i}", "--host", "127.0.0.1"]
        self._env = env
        self.workers: list[subprocess.Popen] = []
        for i in range(workers):
            self._start_worker(i)
        self.wait_for(workers)

    def _start_worker(self, i: int) -> None:
        kw = {"process_group": self.pgid} if self.pgid else {"start_new_session": True}
        p = subprocess.Popen(self._worker_cmd(i), env=self._env, cwd=self.workdir,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        self.workers.append(p)
        self.procs.append(p)

    def wait_for(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=60) as c:
            c.wait_for_workers(n, timeout=120)

    def dead(self) -> bool:
        return self.procs[0].poll() is not None

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL) if not self.pgid else p.kill()
                except (ProcessLookupError, PermissionError):
                    p.kill()
        if self.pgid:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass


@dataclass
class Trial:
    scheduler: str
    point: str  # a kill point, or "t=<seconds>" for a timed kill
    killed_rc: int | None = None
    resumed_rc: int | None = None
    identical: bool = False
    verify_ok: bool = False
    pairs: int = 0
    dropped: dict | None = None
    note: str = ""
    seconds: tuple = ()

    @property
    def ok(self) -> bool:
        return self.resumed_rc == 0 and self.identical and self.verify_ok and not self.dropped

    def row(self) -> str:
        return (f"{self.scheduler:15} {self.point:22} killed rc {str(self.killed_rc):5} resumed rc "
                f"{str(self.resumed_rc):4} identical {str(self.identical):5} verify {str(self.verify_ok):5} "
                f"pairs {self.pairs:4} dropped {self.dropped or {}}  {'OK' if self.ok else 'FAIL'} "
                f"({'/'.join(f'{x:.0f}' for x in self.seconds)} s) {self.note}")


def data_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


def reference(workdir: Path, pairs: int, shard_size: int) -> dict[str, bytes]:
    out = workdir / "reference"
    if not (out / "meta" / "summary.json").exists():
        subprocess.run(_toolkit(recipe_args(out, pairs, shard_size, ("runner.scheduler=synchronous",))),
                       env=_env(), cwd=ROOT, check=True, capture_output=True, timeout=900)
    return data_files(out)


def _run(args: list[str], env: dict, timeout: float, group: int | None = None, kill_after: float | None = None,
         cluster: Cluster | None = None) -> int | None:
    kw = {"process_group": group} if group else {"start_new_session": True}
    proc = subprocess.Popen(_toolkit(args), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, **kw)
    t0 = time.time()
    try:
        while proc.poll() is None and time.time() - t0 < timeout:
            if kill_after is not None and time.time() - t0 >= kill_after:
                os.killpg(group or proc.pid, signal.SIGKILL)
                kill_after = None
            if cluster is not None and cluster.pgid and cluster.dead():  # the tree was killed from a worker
                os.killpg(proc.pid if not group else group, signal.SIGKILL)
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(group or proc.pid, signal.SIGKILL)
            proc.wait()
            return None
        return proc.returncode
    finally:
        if proc.stderr:
            proc.stderr.close()


def trial(workdir: Path, scheduler: str, point: str, ref: dict[str, bytes], pairs: int, shard_size: int,
          sig: str = "KILL", kill_after: float | None = None, shard: str = "train-00001",
          timeout: float = 600) -> Trial:
    from toolkit.verify import verify

    out = workdir / f"{scheduler}-{point}-{sig}".replace("=", "").replace(".", "_")
    shutil.rmtree(out, ignore_errors=True)
    t = Trial(scheduler, point)
    extra: tuple[str, ...] = ()
    if scheduler == "synchronous":
        extra = ("runner.scheduler=synchronous",)
    elif scheduler == "local":
        extra = ("runner.workers=2",)
    fault_env = {}
    if kill_after is None:
        fault_env = {"TOOLKIT_KILL_AT": f"{point}@{shard}" if point in SHARD_POINTS else point,
                     "TOOLKIT_KILL_SIGNAL": sig}

    cluster = None
    stamps = [time.time()]
    try:
        if scheduler.startswith("cluster"):
            cluster = Cluster(workdir, group=scheduler == "cluster")
            extra = ("--scheduler", cluster.address)
        args = recipe_args(out, pairs, shard_size, extra)
        t.killed_rc = _run(args, _env(**fault_env), timeout, group=cluster.pgid if cluster else None,
                           kill_after=kill_after, cluster=cluster)
        stamps.append(time.time())
        if cluster is not None and (scheduler == "cluster" or cluster.dead()):
            cluster.close()  # whatever survived the kill goes too: a fresh cluster for the re-run
            cluster = Cluster(workdir, group=True)
            args = recipe_args(out, pairs, shard_size, ("--scheduler", cluster.address))
        elif cluster is not None:
            alive = [w for w in cluster.workers if w.poll() is None]
            if len(alive) < 2:
                t.note = f"{2 - len(alive)} worker(s) lost during the first run"
        stamps.append(time.time())
        t.resumed_rc = _run(args, _env(), timeout, group=cluster.pgid if cluster else None)
        stamps.append(time.time())
    finally:
        if cluster is not None:
            cluster.close()
    stamps.append(time.time())
    t.seconds = tuple(b - a for a, b in zip(stamps, stamps[1:]))
    files = data_files(out)
    t.identical = files == ref
    rep = verify(str(out))
    t.verify_ok = rep.ok
    if not rep.ok:
        t.note += " verify: " + "; ".join(rep.problems[:3])
    summary_path = out / "meta" / "summary.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        t.pairs, t.dropped = summary.get("pairs", 0), summary.get("dropped")
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--schedulers", default="synchronous,local,cluster,cluster-worker")
    p.add_argument("--points", default=",".join(POINTS), help="kill points (toolkit/engine/faults.py), comma-separated")
    p.add_argument("--random", type=int, default=0, metavar="N", help="also N kills at random moments")
    p.add_argument("--signal", default="KILL", choices=["KILL", "INT"])
    p.add_argument("--pairs", type=int, default=16)
    p.add_argument("--shard-size", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", help="keep the builds here (default: a temporary folder, removed)")
    a = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    workdir = Path(a.workdir or tempfile.mkdtemp(prefix="kill-resume-"))
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    ref = reference(workdir, a.pairs, a.shard_size)
    ref_s = time.time() - t0
    rng = random.Random(a.seed)
    results = []
    for scheduler in a.schedulers.split(","):
        for point in a.points.split(","):
            if point:
                results.append(trial(workdir, scheduler, point, ref, a.pairs, a.shard_size, a.signal))
                print(results[-1].row(), flush=True)
        for i in range(a.random):
            at = round(rng.uniform(0.5, max(1.0, ref_s * 0.9)), 2)  # within a build, mostly
            results.append(trial(workdir, scheduler, f"t={at}s", ref, a.pairs, a.shard_size, kill_after=at))
            print(results[-1].row(), flush=True)
    bad = [r for r in results if not r.ok]
    print(f"{len(results)} kills, {len(results) - len(bad)} resumed to the uninterrupted build's bytes, "
          f"{len(bad)} failed ({time.time() - t0:.0f} s)")
    if not a.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
