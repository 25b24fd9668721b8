"""A sample that kills the process reading it (segfault) costs exactly its own pair, counted as
`poison_crash`, on every scheduler: in-process the first run dies and the re-run isolates it; on the
default LocalCluster and on a real `dask scheduler` + workers (daemonic processes, which may not start
multiprocessing children) the worker dies, dask retries the shard, and the retry reads each real in a
sandbox process, all in one run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, demo_args

# A plug-in source that segfaults the reading process on one origin (TOOLKIT_PLUGINS imports it in every
# process that looks kinds up: the CLI, dask workers, the sandbox).
_PLUGIN = textwrap.dedent("""
    import os, signal
    from dataclasses import dataclass
    from toolkit.config.registry import SOURCES
    from toolkit.sources.bundled import BundledConfig, BundledSource

    @dataclass
    class CrashyConfig(BundledConfig):
        kind: str = "crashy"

    @SOURCES.register("crashy", CrashyConfig)
    class Crashy(BundledSource):
        kind = "crashy"
        def read(self, ref):
            if ref.origin == sorted(r.origin for r in self.list())[3]:
                os.kill(os.getpid(), signal.SIGSEGV)
            return super().read(ref)
""")


@pytest.fixture
def plugin_env(tmp_path):
    (tmp_path / "crashy_plugin.py").write_text(_PLUGIN)
    return {**os.environ, "TOOLKIT_PLUGINS": "crashy_plugin",
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}


def _make(out, env, *extra, scheduler="synchronous"):
    args = [a for a in demo_args(out, "reals.kind=crashy", "reals.count=8", *extra)
            if a != "runner.scheduler=synchronous"]
    if scheduler == "synchronous":
        args.append("runner.scheduler=synchronous")
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          timeout=600)


def _check_isolated(out):
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["dropped"] == {"poison_crash": 1}
    assert summary["pairs"] == 7 and summary["complete"]
    markers = [json.loads(p.read_text()) for p in (out / "meta" / "shards").glob("*.json")]
    assert sum(m["isolated"] for m in markers) == 1
    log = [d for m in markers for d in m["drop_log"]]
    assert len(log) == 1 and "SIGSEGV" in log[0]["detail"]
    assert not (out / "_tmp").exists()
    verify = subprocess.run([sys.executable, "-m", "toolkit.cli", "verify", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stdout


def test_segfaulting_sample_is_isolated_on_retry_in_process(tmp_path, plugin_env):
    out = tmp_path / "poison"
    first = _make(out, plugin_env)
    assert first.returncode == -11, first.stderr.decode()[-1500:]  # the whole process died, as it would
    attempts = list((out / "_tmp" / "attempts").glob("*.json"))
    assert len(attempts) == 1  # the shard that was running when it died
    second = _make(out, plugin_env)
    assert second.returncode == 0, second.stderr.decode()[-1500:]
    _check_isolated(out)


@pytest.mark.slow
def test_segfaulting_sample_is_isolated_on_the_default_local_cluster(tmp_path, plugin_env):
    out = tmp_path / "poison-local"
    res = _make(out, plugin_env, "runner.workers=2", scheduler="local")
    assert res.returncode == 0, res.stderr.decode()[-1500:]
    _check_isolated(out)


@pytest.mark.slow
def test_segfaulting_sample_is_isolated_on_a_real_cluster(tmp_path, plugin_env):
    sys.path.insert(0, str(ROOT / "scripts"))
    from kill_resume import Cluster

    cluster = Cluster(tmp_path, group=False, env=plugin_env)
    try:
        out = tmp_path / "poison-cluster"
        res = _make(out, plugin_env, "--scheduler", cluster.address, scheduler="cluster")
        assert res.returncode == 0, res.stderr.decode()[-1500:]
        _check_isolated(out)
    finally:
        cluster.close()
