"""Fault injection: a build killed anywhere, on any scheduler, resumes to the uninterrupted build's bytes.

Each trial runs `toolkit make` in a process group of its own, kills the group at a named point
(toolkit/engine/faults.py) with SIGKILL (or SIGINT, as Ctrl-C does), runs the same command again, and checks
the data files against an uninterrupted build, `verify`, and that nothing was dropped. The harness is
`scripts/kill_resume.py` (run it at a larger scale there). Marked slow: `pytest -m "not slow"` skips
them; CI runs them all.
"""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import kill_resume as kr  # noqa: E402

PAIRS, SHARD = 8, 2

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("kill")


@pytest.fixture(scope="module")
def ref(work):
    return kr.reference(work, PAIRS, SHARD)


def _check(t: kr.Trial, killed_rc=-9):
    assert t.ok, t.row()
    assert t.killed_rc == killed_rc, t.row()
    assert t.pairs == PAIRS


@pytest.mark.parametrize("point", kr.POINTS)
def test_sigkill_synchronous(work, ref, point):
    _check(kr.trial(work, "synchronous", point, ref, PAIRS, SHARD))


def test_sigkill_local_cluster(work, ref):
    """The default scheduler: client, nannies and workers all die between a data file and its marker,
    other shards mid-read; those are retried in the poison sandbox on the re-run (this lost them all as
    decode_error before). scripts/kill_resume.py runs every point on every scheduler."""
    _check(kr.trial(work, "local", "data_file", ref, PAIRS, SHARD))


def test_sigkill_real_cluster_whole_tree(work, ref):
    """`dask scheduler` + 2 `dask worker` (daemonic, the default) + the client in one process group,
    killed from a worker between a data file and its marker; a fresh cluster for the re-run."""
    _check(kr.trial(work, "cluster", "data_file", ref, PAIRS, SHARD))


def test_lost_worker_build_finishes_on_the_other(work, ref):
    """One `dask worker` (and its nanny) killed mid-shard: the task moves to the other worker, the build
    completes in the same run."""
    t = kr.trial(work, "cluster-worker", "data_file", ref, PAIRS, SHARD)
    _check(t, killed_rc=0)
    assert "lost" in t.note


@pytest.mark.parametrize("scheduler,point", [("synchronous", "shard_read"), ("local", "data_file")])
def test_ctrl_c_then_rerun(work, ref, scheduler, point):
    t = kr.trial(work, scheduler, point, ref, PAIRS, SHARD, sig="INT")
    _check(t, killed_rc=130)
