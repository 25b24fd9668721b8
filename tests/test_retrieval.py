"""Retrieval-matched evaluation: exact chunked search (planted neighbours, exclusions, ties) and the
matched set written by `toolkit retrieve` on tiny datasets with a tiny CLIP built in the test."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from tiny_clip_full import build_tiny_clip_full
from tiny_detect import write_pairs
from toolkit.retrieval.index import KeyCodes, Pool, normalise, search


def synthetic(n=5000, d=32, q=20, seed=0):
    rng = np.random.default_rng(seed)
    pool = normalise(rng.normal(size=(n, d)))
    queries = normalise(rng.normal(size=(q, d)))
    planted = rng.choice(n, size=q, replace=False)
    pool[planted] = normalise(queries + 0.05 * rng.normal(size=(q, d)))  # each query's near twin
    return pool, queries, planted


def test_planted_nearest_neighbour_is_found_whatever_the_block_size():
    pool, queries, planted = synthetic()
    keys = np.full((len(pool), 1), -1)
    results = [search(Pool.build(pool, keys), queries, np.full((len(queries), 1), -1), k=3, block=b, query_block=qb)
               for b, qb in ((64, 7), (1000, 1024), (100000, 3))]
    for idx, sim in results:
        assert np.array_equal(idx[:, 0], planted)
        assert (sim[:, 0] > 0.9).all() and (np.diff(sim, axis=1) <= 0).all()
        assert np.array_equal(idx, results[0][0])
    # exact: agrees with a brute-force float32 argmax over the float16 pool
    brute = np.argsort(-(queries @ pool.astype(np.float16).astype(np.float32).T), axis=1, kind="stable")[:, :3]
    assert np.array_equal(results[0][0], brute)


def test_exclusions_remove_duplicates_and_own_source():
    pool, queries, planted = synthetic(n=300, q=4)
    codes = KeyCodes()
    sha = [f"sha{i}" for i in range(len(pool))]
    sha[planted[0]] = "dup"  # the query's own bytes sit in the pool -> excluded, next best returned
    origin = [f"o{i}" for i in range(len(pool))]
    origin[planted[1]] = "src1"  # the fake's source real -> excluded
    p_keys = np.stack([codes.fit(sha), codes.fit(origin)], axis=1)
    q_keys = np.stack([codes.lookup(["dup", "x", "x", "never-seen"]), codes.lookup(["y", "src1", "y", None])], axis=1)
    idx, sim = search(Pool.build(pool, p_keys), queries, q_keys, k=1, block=50)
    assert idx[0, 0] != planted[0] and idx[1, 0] != planted[1]
    assert idx[2, 0] == planted[2] and idx[3, 0] == planted[3]  # unknown keys (-1) exclude nothing
    full = queries @ pool.astype(np.float16).astype(np.float32).T
    full[0, planted[0]] = full[1, planted[1]] = -np.inf
    assert np.array_equal(idx[:2, 0], full[:2].argmax(axis=1))
    # every candidate excluded: -1, -inf
    all_same = np.stack([codes.fit(["z"] * len(pool))], axis=1)
    idx, sim = search(Pool.build(pool, all_same), queries[:1], codes.lookup(["z"])[:, None], k=2)
    assert (idx == -1).all() and np.isneginf(sim).all()


def test_ties_go_to_the_lowest_index():
    v = normalise(np.ones((1, 4)))
    pool = np.concatenate([normalise(np.eye(4)[[1]]), v, v, v])  # rows 1, 2, 3 tie
    idx, _ = search(Pool.build(pool, np.full((4, 1), -1)), v, np.full((1, 1), -1), k=2, block=2)
    assert idx.tolist() == [[1, 2]]


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> str:
    return build_tiny_clip_full(tmp_path_factory.mktemp("clip") / "tiny-clip")


def _png(arr):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_retrieve_command_writes_a_matched_set(cli, tmp_path, tiny_clip, monkeypatch):
    from toolkit.store.parquet import parquet_bytes

    monkeypatch.setenv("TOOLKIT_CACHE", str(tmp_path / "cache"))
    ev = write_pairs(tmp_path / "eval", {"test": 6}, seed=0)
    # plant: a pool real that is a near copy of eval fake #2 (other origin), and a byte copy of fake #3
    t = pq.read_table(f"{ev}/data/test-00000-of-00001.parquet").to_pylist()
    fakes = [r for r in t if r["label"] == 1]
    near = np.asarray(Image.open(io.BytesIO(fakes[2]["image"]["bytes"])).convert("RGB")).astype(int)
    near = np.clip(near + np.random.default_rng(0).integers(-2, 3, near.shape), 0, 255).astype(np.uint8)
    extra = [{**fakes[0], "image": {"bytes": img, "path": None}, "label": 0, "source": "real", "generator": None,
              "pair_id": f"planted-{tag}", "origin": f"planted://{tag}"}
             for img, tag in [(_png(near), "near"), (fakes[3]["image"]["bytes"], "copy")]]
    own = [r for r in t if r["label"] == 0]  # eval's own reals in the pool too: each excluded for its fake
    other = write_pairs(tmp_path / "other", {"train": 10}, seed=1)
    rows = pq.read_table(f"{other}/data/train-00000-of-00001.parquet").to_pylist() + extra + own
    (tmp_path / "pool" / "data").mkdir(parents=True)
    (tmp_path / "pool" / "data" / "train-00000-of-00001.parquet").write_bytes(parquet_bytes(rows))
    pool = str(tmp_path / "pool")
    out = tmp_path / "matched"
    code, stdout, err = cli("retrieve", ev, "--pool", pool, "--model", tiny_clip, "--out", out, "--block", "5")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["fakes"] == 6 and summary["matched"] == 6 and summary["pool_reals"] == 10 + 2 + 6
    m = pq.read_table(out / "meta" / "matches.parquet").to_pylist()
    by_fake = {r["fake_pair_id"]: r for r in m}
    assert by_fake[fakes[2]["pair_id"]]["real_pair_id"] == "planted-near"
    assert by_fake[fakes[2]["pair_id"]]["image_similarity"] > 0.99
    for r in m:
        assert r["real_pair_id"] != r["fake_pair_id"]  # never the fake's own source
        assert r["real_sha256"] != r["fake_sha256"]  # never a byte copy
    assert by_fake[fakes[3]["pair_id"]]["real_pair_id"] != "planted-copy"
    # the matched set loads as a dataset with one real per fake, sharing its pair_id
    import datasets

    ds = datasets.load_dataset(str(out))["test"]
    assert len(ds) == 12 and sorted(ds["label"]) == [0] * 6 + [1] * 6
    reals = [r for r in ds if r["label"] == 0]
    assert {r["pair_id"] for r in reals} == {f["pair_id"] for f in fakes}
    assert all("retrieved" in json.loads(r["provenance"]) for r in reals)
