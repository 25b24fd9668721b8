"""`toolkit make ... > build.log 2>&1` gives a readable log: no carriage returns or cursor codes, plain
progress lines, `-q` / `-v`, and no dask "Port 8787 is already in use" warning when two builds run at
once on one machine (each on its default LocalCluster)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, demo_args


def _local(out, *extra):
    return [a for a in demo_args(out, "reals.count=8", "runner.workers=1", *extra)
            if a not in ("runner.scheduler=synchronous", "runner.progress=false")]


def test_piped_logs_are_plain_and_two_local_clusters_do_not_warn(tmp_path):
    env = {**os.environ, "TOOLKIT_PROGRESS_INTERVAL_S": "0"}
    env.pop("TQDM_DISABLE", None)
    cmd = [sys.executable, "-m", "toolkit.cli"]
    a = subprocess.Popen([*cmd, *_local(tmp_path / "a", "-v")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    b = subprocess.Popen([*cmd, *_local(tmp_path / "b", "-q")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    log_a, _ = a.communicate(timeout=600)
    out_b, err_b = b.communicate(timeout=600)
    assert a.returncode == 0 and b.returncode == 0, log_a + err_b
    for text in (log_a, out_b, err_b):
        assert "\r" not in text and "\x1b" not in text
        assert "already in use" not in text and "Warning" not in text
    assert "progress: align 8/8 | vae_roundtrip 8/8 | augment 8/8 | write 8/8 pairs" in log_a
    assert log_a.count("shard train-0000") >= 1 and "pairs, " in log_a  # -v: a line per shard
    assert err_b == ""  # -q: nothing on stderr
    assert "dataset 'demo': 8 pairs" in out_b  # the summary still goes to stdout


def test_version_and_python_dash_m():
    from toolkit import __version__

    for cmd in ([sys.executable, "-m", "toolkit", "--version"], [sys.executable, "-m", "toolkit.cli", "--version"]):
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and res.stdout.strip() == f"toolkit {__version__}"
