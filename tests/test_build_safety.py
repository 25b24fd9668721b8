"""One writer per output, --overwrite that deletes only builds, a non-zero exit for every incomplete
build, infrastructure faults that fail a shard instead of dropping its samples, and a resume that
rebuilds what was deleted or cut short."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import pytest

from conftest import ROOT, demo_args
from invariants import check_alignment, load


def _files(out):
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


# --- the lock --------------------------------------------------------------------------------------


def test_second_build_on_one_output_is_refused_and_a_dead_holder_is_taken_over(cli, tmp_path):
    out = tmp_path / "locked"
    args = demo_args(out, "reals.count=8")
    env = {**os.environ, "TOOLKIT_FAULT_DELAY_S": "1.0"}  # keep the first build busy
    first = subprocess.Popen([sys.executable, "-m", "toolkit.cli", *args], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        lock = out / "_lock"
        deadline = time.time() + 120
        planned = out / "meta" / "build.json"  # the first build holds the lock and has planned
        while time.time() < deadline and not (lock.exists() and lock.read_text().strip() and planned.exists()):
            time.sleep(0.05)
        holder = json.loads(lock.read_text())
        assert holder["pid"] == first.pid and holder["host"] == socket.gethostname()

        code, _, err = cli(*args)  # the same recipe, same output, while the first runs
        assert code == 2
        assert err.count("\n") == 1 and f"pid {first.pid}" in err and "another build is writing" in err
        code, _, err = cli(*args, "seed=7", "--overwrite")  # a different seed with --overwrite: refused too
        assert code == 2 and "another build is writing" in err
        assert (out / "meta" / "build.json").exists()  # nothing deleted
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert json.loads((out / "_lock").read_text())["pid"] == first.pid  # a stale lock file is left behind
    code, _, err = cli(*args)  # its holder is dead: taken over, the build resumes and completes
    assert code == 0, err
    assert not (out / "_lock").exists()
    check_alignment(load(out))


def test_advisory_lock_on_object_stores(tmp_path):
    """memory:// stands in for an object store: no flock, a lock file with the holder."""
    from toolkit.store.atomic import AtomicFolder
    from toolkit.store.lock import BuildLock, BuildLocked

    out = AtomicFolder("memory://locktest/out")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out.write_json("_lock", {"host": socket.gethostname(), "pid": dead.pid, "user": "x", "started": "then"})
    with BuildLock(out):  # same host, dead pid: stale, taken over
        assert json.loads(out.read_bytes("_lock"))["pid"] == os.getpid()
        with pytest.raises(BuildLocked, match=f"pid {os.getpid()}"):
            BuildLock(out).acquire()
    assert not out.exists("_lock")
    out.write_json("_lock", {"host": "gpu-node-7", "pid": 1234, "user": "ana", "started": "then"})
    with pytest.raises(BuildLocked, match=r"ana@gpu-node-7 pid 1234.*delete .*_lock"):
        BuildLock(out).acquire()


# --- --overwrite -----------------------------------------------------------------------------------


def test_overwrite_deletes_only_builds_and_only_after_the_source_checks(cli, tmp_path):
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("years of work")
    code, _, err = cli(*demo_args(foreign, "--overwrite"))
    assert code == 2 and "not a toolkit build" in err and "chapter1.tex" in err
    assert (foreign / "chapter1.tex").read_text() == "years of work"

    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    code, _, err = cli(*demo_args(a_file, "--overwrite"))
    assert code == 2 and "is a file" in err and a_file.read_text() == "keep"

    build = tmp_path / "build"
    assert cli(*demo_args(build, "reals.count=4"))[0] == 0
    before = _files(build)
    code, _, err = cli(*demo_args(build, "reals.kind=folder", "reals.path=" + str(tmp_path / "missing"),
                                  "--overwrite"))
    assert code == 2 and "missing" in err
    assert _files(build) == before  # the bad source was caught before anything was deleted
    code, _, err = cli(*demo_args(build, "reals={kind: laion, url_list: %s}" % (tmp_path / "no.parquet"),
                                  "--overwrite"))
    assert code == 2 and "no.parquet: no such file" in err
    assert _files(build) == before  # a URL list that is not there: nothing deleted, nothing downloaded

    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli(*demo_args(empty, "reals.count=4", "--overwrite"))[0] == 0
    code, _, err = cli(*demo_args(build, "reals.count=4", "image.size=48", "--overwrite"))
    assert code == 0, err
    assert {r["width"] for r in load(build)["train"]} == {48}


# --- faults that are not the data's ----------------------------------------------------------------


def _register_broken_source():
    """Module level (the poison sandbox of the retry unpickles the recipe, so its config class must be
    importable by name)."""
    from toolkit.config.registry import SOURCES, load_builtins

    load_builtins()
    from toolkit.sources.bundled import BundledConfig, BundledSource

    global UnmountedConfig, Unmounted
    if SOURCES.get("unmounted") is not None:
        return

    @dataclass
    class UnmountedConfig(BundledConfig):
        kind: str = "unmounted"

    @SOURCES.register("unmounted", UnmountedConfig)
    class Unmounted(BundledSource):
        """Lists fine, then every read fails the same way: a storage mount that went away."""

        kind = "unmounted"

        def read(self, ref):
            raise OSError(5, "Input/output error", "/mnt/photos")

    UnmountedConfig.__qualname__ = "UnmountedConfig"
    Unmounted.__qualname__ = "Unmounted"


_register_broken_source()


def test_a_shard_whose_every_sample_fails_alike_is_a_failed_shard(cli, tmp_path):
    out = tmp_path / "infra"
    code, stdout, err = cli(*demo_args(out, "reals.kind=unmounted", "reals.count=8"))
    assert code == 1  # never "complete" with every pair dropped
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert not summary["complete"] and summary["dropped"] == {}
    assert summary["failed_shards"] and "not a problem of the data" in summary["failed_shards"][0]["error"]
    assert "INCOMPLETE" in stdout
    from toolkit.verify import verify

    assert not verify(str(out)).ok
    assert not (out / "README.md").exists()


def test_a_generator_failing_every_sample_alike_fails_the_shard(cli, tmp_path, monkeypatch):
    from toolkit.generators import vae_roundtrip

    def broken(self, pixels, pair_ids, captions=None):
        def fail(idx):
            raise RuntimeError("CUDA error: an illegal memory access was encountered")

        res = self.batched(list(range(len(pixels))), fail)
        return [res[i] for i in range(len(pixels))]

    monkeypatch.setattr(vae_roundtrip.VaeRoundtrip, "__call__", broken)
    code, _, _ = cli(*demo_args(tmp_path / "gen", "reals.count=8"))
    summary = json.loads((tmp_path / "gen" / "meta" / "summary.json").read_text())
    assert code == 1 and not summary["complete"] and summary["dropped"] == {}
    assert "illegal memory access" in summary["failed_shards"][0]["error"]


def test_one_bad_sample_is_still_only_a_drop(cli, tmp_path, monkeypatch):
    """The rule above must not turn an ordinary bad sample into a failed shard."""
    from toolkit.sources import bundled

    real_read = bundled.BundledSource.read
    victims = []

    def flaky(self, ref):
        if not victims:
            victims.append(ref.origin)
            raise ValueError("unexpected bytes")
        return real_read(self, ref)

    monkeypatch.setattr(bundled.BundledSource, "read", flaky)
    code, _, err = cli(*demo_args(tmp_path / "one", "reals.count=8"))
    assert code == 0, err
    summary = json.loads((tmp_path / "one" / "meta" / "summary.json").read_text())
    assert summary["complete"] and summary["dropped"] == {"decode_error": 1}


# --- resume repairs what is missing ----------------------------------------------------------------


def test_rerun_rebuilds_a_deleted_data_file_and_a_cut_marker(cli, tmp_path):
    out = tmp_path / "repair"
    args = demo_args(out, "reals.count=8")
    assert cli(*args)[0] == 0
    before = _files(out)
    victim = sorted((out / "data").glob("*.parquet"))[0]
    victim.unlink()
    marker = sorted((out / "meta" / "shards").glob("*.json"))[-1]
    marker.write_text(marker.read_text()[:40])  # cut short
    (out / "data" / "train-00099-of-00100.parquet").write_bytes(b"PAR1 stray")  # claimed by no shard
    code, _, err = cli(*args)
    assert code == 0, err
    assert "is missing; rebuilding it" in err and "unreadable completion marker; rebuilding it" in err
    assert _files(out) == before
    from toolkit.verify import verify

    assert verify(str(out)).ok


def test_unreachable_scheduler_is_one_line(tmp_path):
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [a for a in demo_args(tmp_path / "x") if a != "runner.scheduler=synchronous"]
    res = subprocess.run([sys.executable, "-m", "toolkit.cli", *args, "--scheduler", f"tcp://127.0.0.1:{port}"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "cannot connect to the dask scheduler" in res.stderr and "Traceback" not in res.stderr


def test_sandbox_returns_results_and_turns_a_crash_into_one_drop():
    from toolkit.errors import DropSample
    from toolkit.engine.isolation import Sandbox

    with Sandbox(sample_timeout_s=5) as box:
        assert box.call(np.add, 2, 3) == 5
        with pytest.raises(DropSample) as crash:
            box.call(os.abort)
        assert crash.value.reason == "poison_crash" and "SIGABRT" in crash.value.detail
        assert box.call(sum, [1, 2]) == 3  # a fresh sandbox took over
        with pytest.raises(DropSample) as hang:
            box.call(time.sleep, 30)
        assert hang.value.reason == "poison_timeout"
        with pytest.raises(ZeroDivisionError):
            box.call(divmod, 1, 0)
        assert box.starts == 3
