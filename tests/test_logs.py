"""`toolkit make ... > build.log 2>&1` gives a readable log: no carriage returns or cursor codes, plain
progress lines, `-q` / `-v`, and no dask "Port 8787 is already in use" warning when two builds run at
once on one machine (each on its default LocalCluster). The LocalCluster path of the logs is exercised
by the fault tests (tests/test_faults.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, demo_args


def test_piped_logs_are_plain_with_progress_lines_and_quiet_is_quiet(tmp_path):
    env = {**os.environ, "TOOLKIT_PROGRESS_INTERVAL_S": "0"}
    env.pop("TQDM_DISABLE", None)
    cmd = [sys.executable, "-m", "toolkit.cli"]
    args = [a for a in demo_args(tmp_path / "a", "reals.count=8") if a != "runner.progress=false"]
    a = subprocess.run([*cmd, *args, "-v"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=600)
    args = [a for a in demo_args(tmp_path / "b", "reals.count=8") if a != "runner.progress=false"]
    b = subprocess.run([*cmd, *args, "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert a.returncode == 0 and b.returncode == 0, a.stdout + b.stderr
    for text in (a.stdout, b.stdout, b.stderr):
        assert "\r" not in text and "\x1b" not in text
    assert "progress: align 8/8 | vae_roundtrip 8/8 | augment 8/8 | write 8/8 pairs" in a.stdout
    assert a.stdout.count("shard train-0000") >= 1 and "pairs, " in a.stdout  # -v: a line per shard
    assert b.stderr == ""  # -q: nothing on stderr
    assert "dataset 'demo': 8 pairs" in b.stdout  # the summary still goes to stdout


def test_two_local_clusters_on_one_machine_do_not_warn_about_port_8787():
    """Started as the executor starts its LocalCluster (executors.Dask): the scheduler's HTTP server on a
    free loopback port, so a second build on the machine does not print 'Port 8787 is already in use'."""
    import logging
    import warnings

    from distributed import LocalCluster

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with LocalCluster(n_workers=0, processes=False, dashboard_address="127.0.0.1:0",
                          silence_logs=logging.ERROR) as a, \
                LocalCluster(n_workers=0, processes=False, dashboard_address="127.0.0.1:0",
                             silence_logs=logging.ERROR) as b:
            assert a.scheduler.http_server.port != b.scheduler.http_server.port
    assert not [w for w in caught if "already in use" in str(w.message)]
    import inspect

    from toolkit.engine import executors

    assert 'dashboard_address="127.0.0.1:0"' in inspect.getsource(executors.Dask._connect)


def test_version_and_python_dash_m():
    from toolkit import __version__

    for cmd in ([sys.executable, "-m", "toolkit", "--version"], [sys.executable, "-m", "toolkit.cli", "--version"]):
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and res.stdout.strip() == f"toolkit {__version__}"


def test_every_tqdm_bar_is_off_on_a_pipe():
    """The detectors' and libraries' tqdm bars too, not only the build's: TQDM_DISABLE for the process."""
    code = ("import os, sys\nfrom toolkit import cli\ntry:\n    cli.main(['--version'])\nexcept SystemExit:\n"
            "    pass\nfrom tqdm import tqdm\nprint(os.environ.get('TQDM_DISABLE'), tqdm(range(3)).disable)")
    env = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "TOOLKIT_PROGRESS")}
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert res.stdout.strip().splitlines()[-1] == "1 True", res.stdout + res.stderr
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "TOOLKIT_PROGRESS": "bars"},
                         capture_output=True, text=True, timeout=60)
    assert res.stdout.strip().splitlines()[-1] == "None False", res.stdout + res.stderr

