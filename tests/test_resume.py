"""A build killed half way completes on re-run: no duplicate pair, no missing pair, same bytes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq

from conftest import demo_args
from invariants import check_alignment, load


def _rows(out):
    rows = []
    for f in sorted((out / "data").glob("*.parquet")):
        rows += pq.read_table(f, columns=["pair_id", "source", "image"]).to_pylist()
    return rows


def test_killed_build_resumes(cli, tmp_path):
    out = tmp_path / "resumed"
    args = demo_args(out, "reals.count=16", "runner.shard_size=2")
    env = {**os.environ, "TOOLKIT_FAULT_DELAY_S": "0.25"}  # slow each real down so the kill lands mid-build
    proc = subprocess.Popen([sys.executable, "-m", "toolkit.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    markers = out / "meta" / "shards"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if markers.exists() and len(list(markers.glob("*.json"))) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(markers.glob("*.json")))
    planned = len(json.loads((out / "meta" / "build.json").read_text())["shards"])
    assert 2 <= done_before < planned, (done_before, planned)  # killed part way

    code, stdout, err = cli(*args)  # the same command again
    assert code == 0, err
    assert f"{planned - done_before} to build" in err
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["complete"] and summary["pairs"] == 16
    assert not (out / "_tmp").exists()
    rows = _rows(out)
    keys = [(r["pair_id"], r["source"]) for r in rows]
    assert len(keys) == len(set(keys)) == 32  # no duplicate, none missing
    pairs = check_alignment(load(out))
    assert len(pairs) == 16

    # and the resumed build is byte-identical to an uninterrupted one
    clean = tmp_path / "clean"
    assert cli(*demo_args(clean, "reals.count=16", "runner.shard_size=2"))[0] == 0
    assert _rows(clean) == rows


def test_rerun_skips_finished_and_overwrite_restarts(cli, tmp_path):
    out = tmp_path / "d"
    assert cli(*demo_args(out))[0] == 0
    planned = len(json.loads((out / "meta" / "build.json").read_text())["shards"])
    code, _, err = cli(*demo_args(out))
    assert code == 0 and f"{planned} already done, 0 to build" in err
    code, _, err = cli(*demo_args(out, "image.size=48"))
    assert code == 2 and "different recipe" in err and "--overwrite" in err
    code, _, err = cli(*demo_args(out, "image.size=48", "--overwrite"))
    assert code == 0 and "0 already done" in err
    assert {r["width"] for r in load(out)["train"]} == {48}


def test_resume_on_another_device_is_refused(cli, tmp_path):
    """Shards finished on CUDA (marker says so) + a CPU run: refused, unless explicitly allowed."""
    out = tmp_path / "mixed"
    assert cli(*demo_args(out))[0] == 0
    markers = sorted((out / "meta" / "shards").glob("*.json"))
    first = json.loads(markers[0].read_text())
    first["device"] = "cuda:0"
    markers[0].write_text(json.dumps(first))
    markers[-1].unlink()  # one shard left to build
    code, _, err = cli(*demo_args(out, "runner.device=cpu"))
    assert code == 2 and "ran on cuda, this run would use cpu" in err and "allow_mixed_devices" in err
    code, _, err = cli(*demo_args(out, "runner.device=cpu", "runner.allow_mixed_devices=true"))
    assert code == 0, err
