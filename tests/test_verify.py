"""`toolkit verify`: a sound build passes; every kind of damage is named; a build SIGKILLed in the
middle of writing a shard file verifies after the re-run."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import textwrap

import pyarrow.parquet as pq
import pytest
from PIL import Image

from conftest import ROOT, demo_args


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from toolkit.cli import main

    out = tmp_path_factory.mktemp("verify") / "ds"
    assert main(demo_args(out, "augment.ops.jpeg.p=0.5")) == 0
    return out


def _copy(built, tmp_path):
    dst = tmp_path / "ds"
    shutil.copytree(built, dst)
    return dst


def test_sound_build_verifies(cli, built):
    code, out, _ = cli("verify", built)
    assert code == 0, out
    assert "OK: 4 shards, 12 pairs, 24 rows (24 checked" in out


def test_corrupted_shard_is_named(cli, built, tmp_path):
    ds = _copy(built, tmp_path)
    victim = sorted((ds / "data").glob("*.parquet"))[1]
    blob = bytearray(victim.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    victim.write_bytes(bytes(blob))
    code, out, _ = cli("verify", ds)
    assert code == 1
    assert f"data/{victim.name}: sha256 differs from its completion marker" in out
    assert "1 problem(s)" in out


def test_missing_marker_stray_file_and_missing_file(cli, built, tmp_path):
    ds = _copy(built, tmp_path)
    files = sorted((ds / "data").glob("*.parquet"))
    shutil.copy(files[0], ds / "data" / "train-00009-of-00009.parquet")  # a duplicate shard
    (ds / "meta" / "shards" / "test-00000.json").unlink()
    files[-1].unlink()
    code, out, _ = cli("verify", ds, "--quick")
    assert code == 1
    assert "shard test-00000: not built (no completion marker" in out
    assert "data/train-00009-of-00009.parquet: stray file claimed by no completion marker" in out
    assert f"data/{files[-1].name}: missing" in out


def test_contract_violation_is_named_even_with_a_consistent_marker(cli, built, tmp_path):
    """Re-encode one fake as JPEG (its real stays PNG) and fix up the marker's hash: only the
    alignment-contract check can catch it, and it names the pair."""
    import hashlib

    from toolkit.store.parquet import parquet_bytes

    ds = _copy(built, tmp_path)
    for marker_path in sorted((ds / "meta" / "shards").glob("*.json")):
        marker = json.loads(marker_path.read_text())
        f = ds / marker["file"]
        rows = pq.read_table(f).to_pylist()
        victim = next((r for r in rows if r["source"] != "real" and r["format"] == "png"), None)
        if victim:
            break
    buf = io.BytesIO()
    Image.open(io.BytesIO(victim["image"]["bytes"])).save(buf, "JPEG", quality=90)
    victim["image"]["bytes"] = buf.getvalue()
    blob = parquet_bytes(rows)
    f.write_bytes(blob)
    marker["sha256"] = hashlib.sha256(blob).hexdigest()
    marker_path.write_text(json.dumps(marker))
    code, out, _ = cli("verify", ds)
    assert code == 1
    assert f"pair {victim['pair_id']}: {victim['source']} row says png but bytes are JPEG" in out
    assert cli("verify", ds, "--quick")[0] == 0  # hashes and counts alone cannot see it


def test_edited_plan_is_detected(cli, built, tmp_path):
    import pyarrow as pa

    ds = _copy(built, tmp_path)
    t = pq.read_table(ds / "meta" / "plan.parquet")
    pq.write_table(t.slice(1), ds / "meta" / "plan.parquet")
    code, out, _ = cli("verify", ds)
    assert code == 1 and "does not match the plan fingerprint" in out
    assert isinstance(t, pa.Table)


_KILL_IN_WRITE = textwrap.dedent("""
    import os, signal, sys
    from toolkit.store import atomic
    real_mv = None
    count = {"data": 0}
    def write_bytes(self, rel, data):
        if rel.startswith("data/"):
            count["data"] += 1
            if count["data"] == 3:  # third shard file: half of it lands in _tmp, then the process dies
                tmp = self.path("_tmp/partial-" + rel.replace("/", "_"))
                self.fs.makedirs(self.path("_tmp"), exist_ok=True)
                with self.fs.open(tmp, "wb") as f:
                    f.write(data[: len(data) // 2])
                    f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        return orig(self, rel, data)
    orig = atomic.AtomicFolder.write_bytes
    atomic.AtomicFolder.write_bytes = write_bytes
    from toolkit.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_sigkill_while_writing_then_rerun_verifies(cli, tmp_path):
    out = tmp_path / "killed"
    args = demo_args(out, "reals.count=10", "runner.shard_size=2")
    proc = subprocess.run([sys.executable, "-c", _KILL_IN_WRITE, *args], cwd=ROOT, capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert any((out / "_tmp").iterdir())  # the half-written file is there
    assert len(list((out / "meta" / "shards").glob("*.json"))) == 2
    code, report, _ = cli("verify", out)
    assert code == 1 and "not built (no completion marker" in report

    code, _, err = cli(*args)  # the same command again
    assert code == 0, err
    code, report, _ = cli("verify", out)
    assert code == 0, report
    assert "10 pairs, 20 rows" in report
