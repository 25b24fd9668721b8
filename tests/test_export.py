"""`toolkit export --format webdataset`: tar shards with the exact stored bytes, read back by the
`webdataset` package, by `tarfile` and (for a build with one image format) by `datasets`' webdataset builder."""

from __future__ import annotations

import json
import shutil
import tarfile

import pyarrow.parquet as pq
import pytest
from conftest import demo_args
from publish_demo import demo_build, files_under

EXT = {"png": "png", "jpeg": "jpg", "webp": "webp"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return demo_build(tmp_path_factory)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """A build without codec augmentation: every image is a PNG."""
    from toolkit.cli import main

    out = tmp_path_factory.mktemp("plain") / "plain"
    assert main([*demo_args(out), "reals.count=6", "augment.ops={}"]) == 0
    return out


def parquet_rows(build) -> dict:
    """{key: row} over every shard; key = <pair_id>_<real|source>."""
    rows = {}
    for f in sorted((build / "data").glob("*.parquet")):
        for r in pq.read_table(f).to_pylist():
            key = f"{r['pair_id']}_{'real' if r['source'] == 'real' else r['source']}"
            assert key not in rows
            rows[key] = {**r, "split": f.name.split("-", 1)[0]}
    return rows


def test_export_keeps_the_stored_bytes_and_whole_pairs(built, tmp_path, cli):
    import webdataset as wds

    before = files_under(built)
    dest = tmp_path / "wds"
    code, out, err = cli("export", built, "--format", "webdataset", "--to", dest, "--shard-size", "5")
    assert code == 0, err
    assert files_under(built) == before  # nothing written into the build (nor anywhere but DEST)
    assert "not loadable: images mix jpeg" in out  # the demo's JPEG augmentation mixes formats
    index = json.loads((dest / "export.json").read_text())
    rows = parquet_rows(built)
    tars = sorted(dest.glob("*.tar"))
    assert sorted(t["file"] for t in index["tars"]) == [t.name for t in tars]
    assert sorted(p.name for p in dest.iterdir()) == sorted([t.name for t in tars] + ["export.json"])  # no _tmp
    assert sum(t["samples"] for t in index["tars"]) == len(rows) == 24
    assert index["splits"]["train"]["tars"] == 5  # 20 rows, 2 per pair, at most 5 a tar: 4 (whole pairs)
    assert set(index["image_formats"]) == {r["format"] for r in rows.values()}

    seen = {}
    for t in tars:
        keys = []
        for s in wds.WebDataset(str(t), shardshuffle=False):
            row = rows[s["__key__"]]
            ext = EXT[row["format"]]
            assert set(s) - {"__key__", "__url__", "__local_path__"} == {ext, "json"}
            assert s[ext] == row["image"]["bytes"]  # exact bytes, no re-encode
            meta = json.loads(s["json"])
            assert (meta["pair_id"], meta["label"], meta["split"], meta["generator"]) == (
                row["pair_id"], row["label"], row["split"], row["generator"])
            assert meta["metadata"]["augment"] == row["augment"] and meta["metadata"]["origin"] == row["origin"]
            assert t.name.startswith(row["split"] + "-")
            keys.append(s["__key__"])
        assert 0 < len(keys) <= 5
        pair_ids = [k.split("_", 1)[0] for k in keys]
        for pid in set(pair_ids):  # a pair is never cut across tars
            seen.setdefault(pid, set()).add(t.name)
    assert all(len(v) == 1 for v in seen.values()) and len(seen) == 12
    # plain tarfile: <key>.<ext> entries, sample by sample, deterministic metadata
    with tarfile.open(tars[0]) as tf:
        names = tf.getnames()
        assert all(m.mtime == 0 for m in tf.getmembers())
    assert [n.split(".", 1)[1] for n in names[:2]] in (["png", "json"], ["jpg", "json"], ["webp", "json"])

    # the same build exported again (with --overwrite) gives the same bytes
    first = {t.name: t.read_bytes() for t in tars}
    assert cli("export", built, "--format", "webdataset", "--to", dest, "--shard-size", "5")[0] == 2
    assert cli("export", built, "--format", "webdataset", "--to", dest, "--shard-size", "5", "--overwrite")[0] == 0
    assert {t.name: t.read_bytes() for t in sorted(dest.glob("*.tar"))} == first


def test_a_one_format_export_loads_with_the_datasets_webdataset_builder(plain, tmp_path, cli):
    import datasets

    dest = tmp_path / "wds"
    code, out, _ = cli("export", plain, "--format", "webdataset", "--to", dest)
    assert code == 0 and "builder: loadable" in out
    n_tars = len(list((plain / "data").glob("*.parquet")))
    assert len(list(dest.glob("*.tar"))) == n_tars  # default: one tar per parquet shard
    files = {s: sorted(str(p) for p in dest.glob(f"{s}-*.tar")) for s in ("train", "test")}
    ds = datasets.load_dataset("webdataset", data_files=files).cast_column("png", datasets.Image(decode=False))
    rows = parquet_rows(plain)
    got = 0
    for split in ("train", "test"):
        for r in ds[split]:
            row = rows[r["__key__"]]
            assert r["png"]["bytes"] == row["image"]["bytes"]
            assert r["json"]["label"] == row["label"] and r["json"]["pair_id"] == row["pair_id"]
            assert r["json"]["split"] == split == row["split"]
            got += 1
    assert got == len(rows) == 12


def test_bad_input_is_one_line_and_writes_nothing(built, tmp_path, cli):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    broken = tmp_path / "broken"
    shutil.copytree(built, broken)
    next((broken / "data").glob("train-*.parquet")).unlink()
    cases = [
        (["--format", "tar", "--to", tmp_path / "a"], "--format 'tar': unknown"),
        (["--format", "webdataset", "--to", tmp_path / "a", "--shard-size", "0"], "--shard-size: must be at least 1"),
        (["--format", "webdataset", "--to", foreign], "not an earlier export"),
    ]
    for args, msg in cases:
        code, _, err = cli("export", built, *args)
        assert code == 2 and msg in err and err.count("\n") == 1 and "Traceback" not in err, err
    code, _, err = cli("export", tmp_path / "none", "--format", "webdataset", "--to", tmp_path / "a")
    assert code == 2 and "no such file" in err and err.count("\n") == 1
    code, _, err = cli("export", broken, "--format", "webdataset", "--to", tmp_path / "a")
    assert code == 2 and "refusing to export" in err and err.count("\n") == 1
    assert not (tmp_path / "a").exists() and files_under(foreign) == ["notes.txt"]
