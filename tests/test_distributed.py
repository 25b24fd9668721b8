"""A real dask.distributed cluster (a `dask scheduler` and two `dask worker` processes on 127.0.0.1):
the same recipe builds through it to byte-identical output as the in-process build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, demo_args

DASK = Path(sys.executable).with_name("dask")


@pytest.fixture
def cluster(tmp_path):
    yield from _cluster(tmp_path, gpu_worker=False)


@pytest.fixture
def gpu_cluster(tmp_path):
    """Two workers of which only w1 offers the resource GPU=1 (what a GPU node's worker is started with)."""
    yield from _cluster(tmp_path, gpu_worker=True)


def _cluster(tmp_path, gpu_worker: bool):
    if not DASK.exists():
        pytest.skip(f"{DASK} not installed")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(DASK), "worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"w{i}",
                 "--host", "127.0.0.1", *(["--resources", "GPU=1"] if gpu_worker and i == 1 else [])],
                env=env, cwd=tmp_path,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


def test_build_on_a_real_cluster_matches_local(cli, tmp_path, cluster):
    remote = tmp_path / "remote"
    args = [a for a in demo_args(remote, "reals.count=16") if a != "runner.scheduler=synchronous"]
    code, _, err = cli(*args, "--scheduler", cluster)
    assert code == 0, err
    assert "dask: connected to tcp://127.0.0.1:" in err and "(2 workers)" in err
    markers = [json.loads(p.read_text()) for p in (remote / "meta" / "shards").glob("*.json")]
    assert len(markers) == 5

    local = tmp_path / "local"
    assert cli(*demo_args(local, "reals.count=16"))[0] == 0
    assert _files(remote) == _files(local) and len(_files(local)) == 5
    assert cli("verify", remote)[0] == 0


def test_model_stage_runs_only_where_the_resource_is(cli, tmp_path, gpu_cluster):
    """runner.gpu_resource=GPU: read/write stages spread over both workers, the model stage runs only on
    the worker that offers GPU=1, and the bytes equal an in-process build's."""
    from distributed import Client

    with Client(gpu_cluster) as c:
        info = c.scheduler_info()["workers"]
    gpu = {addr for addr, w in info.items() if w.get("resources", {}).get("GPU")}
    assert len(gpu) == 1 and len(info) == 2
    out = tmp_path / "staged"
    args = [a for a in demo_args(out, "reals.count=24", "runner.shard_size=3", "runner.gpu_resource=GPU")
            if a != "runner.scheduler=synchronous"]
    code, _, err = cli(*args, "--scheduler", gpu_cluster)
    assert code == 0, err
    markers = [json.loads(p.read_text()) for p in (out / "meta" / "shards").glob("*.json")]
    assert len(markers) == 9  # 19 train pairs + 5 test pairs, shards of 3
    assert {m["workers"]["model"] for m in markers} == gpu
    assert {m["workers"][s] for m in markers for s in ("read", "write")} == set(info)

    local = tmp_path / "local"
    assert cli(*demo_args(local, "reals.count=24", "runner.shard_size=3"))[0] == 0
    assert _files(out) == _files(local)
