"""Re-runs skip finished shards, --overwrite restarts, a resume on another device is refused. (A build
killed anywhere, on every scheduler, resumes to the same bytes: tests/test_faults.py.)"""

from __future__ import annotations

import json

from conftest import demo_args
from invariants import load


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
