"""The retrieval-matched evaluation set: every fake of an evaluation set with its nearest pool real.

FakeInversion evaluates against reals *retrieved for each fake* (reverse image search), so real and
fake share content and style and a detector cannot win on topic or dataset bias. Offline: the pool
is any number of datasets (toolkit builds or hub ids; their real rows are the candidates), the score
is `(1 - text_weight) * cos(CLIP image) + text_weight * cos(CLIP caption)` (a missing caption adds 0;
no text tower: image only), found by `index.search` with exclusions: same sha256 as the fake or as
the fake's source real (exact duplicates), same pair_id or origin as the fake (its own source).

Written to OUT as a dataset of the toolkit row schema that `toolkit eval` and `load_dataset` read
like a build: `data/<split>-NNNNN-of-NNNNN.parquet` with, per fake, the fake row and its matched real
(the real carries the fake's pair_id, so pair-wise metrics hold; its own pair_id/origin and the
similarities are in its provenance), plus `meta/matches.parquet` (one row per fake: the match and
its similarities) and `meta/retrieval.json` (counts, fakes left without a candidate, timings).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.errors import ToolkitError
from toolkit.retrieval.embed import TextEmbedder, image_embeddings
from toolkit.retrieval.index import KeyCodes, Pool, search

PAIRS_PER_SHARD = 1000


def _rows(dataset: str):
    """{split: (Split, datasets.Dataset)}: the detectors' Split (undecoded bytes) and the table,
    from one opening of the dataset."""
    from toolkit.dataset_io import load_undecoded
    from toolkit.detectors.data import load_splits

    dsd = load_undecoded(dataset)
    splits = load_splits(dataset, dsd)
    return {name: (splits[name], dsd[name]) for name in splits}


def _col(ds, name):
    return list(ds[name]) if name in ds.column_names else [None] * len(ds)


def retrieve(eval_ds: str, pools: list[str], model: str, out: str, split: str = "test", text_weight: float = 0.5,
             device: str = "auto", block: int = 65536, cache_dir: str | None = None, echo=print) -> dict:
    if not 0.0 <= text_weight <= 1.0:
        raise ToolkitError(f"--text-weight must be within 0..1, got {text_weight}")
    t0 = time.time()
    ev = _rows(eval_ds)
    if split not in ev:
        raise ToolkitError(f"{eval_ds}: no split {split!r} (has: {', '.join(ev)})")
    esplit, eds = ev[split]
    fakes = [i for i in range(len(esplit)) if esplit.labels[i] == 1]
    if not fakes:
        raise ToolkitError(f"{eval_ds}: split {split} has no fake rows to match")
    e_caps, e_orig = _col(eds, "caption"), _col(eds, "origin")
    e_sha = [hashlib.sha256(esplit.images[i]).hexdigest() for i in range(len(esplit))]
    source_sha = {esplit.pair_ids[i]: e_sha[i] for i in range(len(esplit)) if esplit.labels[i] == 0}

    # --- the pool: every real row of every pool dataset ------------------------------------------
    cand = []  # (dataset, split name, row index)
    p_vec_img, p_caps, p_sha, p_pair, p_orig, p_tables = [], [], [], [], [], {}
    for ds_name in pools:
        for sname, (sp, table) in _rows(ds_name).items():
            reals = [i for i in range(len(sp)) if sp.labels[i] == 0]
            if not reals:
                continue
            sub = sp.subset(reals)
            p_vec_img.append(image_embeddings(sub, model, device, cache_dir=cache_dir, desc=f"pool {sname}"))
            caps, origs = _col(table, "caption"), _col(table, "origin")
            p_caps += [caps[i] for i in reals]
            p_orig += [origs[i] for i in reals]
            p_pair += [sp.pair_ids[i] for i in reals]
            p_sha += [hashlib.sha256(sub.images[j]).hexdigest() for j in range(len(sub))]
            cand += [(ds_name, sname, i) for i in reals]
            p_tables[(ds_name, sname)] = table
    if not cand:
        raise ToolkitError(f"pool {', '.join(pools)}: no real rows to retrieve from")
    t_embed0 = time.time()
    q_img = image_embeddings(esplit.subset(fakes), model, device, cache_dir=cache_dir, desc="eval fakes")
    p_img = np.concatenate(p_vec_img)
    text = TextEmbedder(model, device) if text_weight > 0 else None
    use_text = text is not None and text.available
    if text is not None and not text.available:
        echo(f"  {model}: no CLIP text tower; matching on image embeddings only")
    w_img = 1.0 if not use_text else 1.0 - text_weight
    q_parts, p_parts = [q_img * math.sqrt(w_img)], [p_img * math.sqrt(w_img)]
    if use_text:
        q_parts.append(text([e_caps[i] for i in fakes]) * math.sqrt(text_weight))
        p_parts.append(text(p_caps) * math.sqrt(text_weight))
    t_search0 = time.time()

    codes = KeyCodes()
    p_keys = np.stack([codes.fit([f"sha:{s}" for s in p_sha]), codes.fit([f"pair:{p}" for p in p_pair]),
                       codes.fit([f"origin:{o}" if o else None for o in p_orig])], axis=1)
    q_keys = np.stack([codes.lookup([f"sha:{e_sha[i]}" for i in fakes]),
                       codes.lookup([f"sha:{source_sha.get(esplit.pair_ids[i], '')}" for i in fakes]),
                       codes.lookup([f"pair:{esplit.pair_ids[i]}" for i in fakes]),
                       codes.lookup([f"origin:{e_orig[i]}" if e_orig[i] else None for i in fakes])], axis=1)
    pool = Pool.build(np.concatenate(p_parts, axis=1), p_keys)
    idx, sim = search(pool, np.concatenate(q_parts, axis=1), q_keys, k=1, block=block)
    t_search = time.time() - t_search0

    # --- write the matched set --------------------------------------------------------------------
    from toolkit.store.parquet import parquet_bytes

    rows, matches, unmatched = [], [], 0
    for qi, ei in enumerate(fakes):
        j = int(idx[qi, 0])
        if j < 0:
            unmatched += 1
            continue
        ds_name, sname, ri = cand[j]
        fake_row = dict(eds[int(ei)])
        real_row = dict(p_tables[(ds_name, sname)][int(ri)])
        img_sim = float(p_img[j] @ q_img[qi])
        cap_sim = float(p_parts[1][j] @ q_parts[1][qi] / text_weight) if use_text and text_weight > 0 else None
        info = {"dataset": ds_name, "split": sname, "pair_id": real_row["pair_id"], "origin": real_row.get("origin"),
                "sha256": p_sha[j], "similarity": float(sim[qi, 0]), "image_similarity": img_sim,
                "caption_similarity": cap_sim, "matched_to": {"pair_id": fake_row["pair_id"], "source": fake_row["source"]}}
        prov = json.loads(real_row.get("provenance") or "{}")
        real_row.update(pair_id=fake_row["pair_id"], provenance=json.dumps({**prov, "retrieved": info}, sort_keys=True))
        rows += [_schema_row(fake_row), _schema_row(real_row)]
        matches.append({"fake_pair_id": fake_row["pair_id"], "fake_source": fake_row["source"], "fake_sha256": e_sha[ei],
                        "real_dataset": ds_name, "real_split": sname, "real_pair_id": info["pair_id"],
                        "real_origin": info["origin"], "real_sha256": p_sha[j], "similarity": info["similarity"],
                        "image_similarity": img_sim, "caption_similarity": cap_sim})
    root = Path(out)
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "meta").mkdir(parents=True, exist_ok=True)
    for old in (root / "data").glob(f"{split}-*.parquet"):
        old.unlink()
    per = 2 * PAIRS_PER_SHARD
    total = max(1, math.ceil(len(rows) / per))
    for s in range(total):
        if rows[s * per : (s + 1) * per]:
            (root / "data" / f"{split}-{s:05d}-of-{total:05d}.parquet").write_bytes(parquet_bytes(rows[s * per : (s + 1) * per]))
    pq.write_table(pa.Table.from_pylist(matches) if matches else pa.table({}), root / "meta" / "matches.parquet")
    n_feat = _carry_features(eval_ds, matches, root, split)
    sims = np.array([m["similarity"] for m in matches]) if matches else np.zeros(0)
    summary = {
        "eval": eval_ds, "split": split, "pool": pools, "model": model, "text_weight": text_weight if use_text else 0.0,
        "text_used": use_text, "fakes": len(fakes), "matched": len(matches), "unmatched_no_candidate": unmatched,
        "pool_reals": len(cand), "distinct_reals_matched": len({m["real_sha256"] for m in matches}),
        "similarity": {"mean": float(sims.mean()) if len(sims) else None, "min": float(sims.min()) if len(sims) else None,
                       "max": float(sims.max()) if len(sims) else None},
        "features_carried": n_feat, "pool_index_bytes": pool.nbytes, "seconds": {"embed": round(t_search0 - t_embed0 + (t_embed0 - t0), 3),
                                                     "search": round(t_search, 3), "total": round(time.time() - t0, 3)},
    }
    (root / "meta" / "retrieval.json").write_text(json.dumps(summary, indent=1) + "\n")
    echo(f"  {len(matches)} of {len(fakes)} fakes matched to a pool real ({unmatched} without a candidate); "
         f"pool {len(cand)} reals; search {t_search:.2f}s -> {root}")
    return summary


def _schema_row(row: dict) -> dict:
    from toolkit.sample import COLUMNS

    return {k: row.get(k) for k in COLUMNS}


def _carry_features(eval_ds: str, matches: list[dict], root: Path, split: str) -> int:
    """Copy the rows' `ddim_inversion` features (when the eval set and the pool builds have them) into
    OUT/features/, keyed like the matched set's rows, so `fakeinversion` evaluates on it. Returns rows copied."""
    from toolkit.features.stage import SCHEMA, read_features

    kind = "ddim_inversion"
    cache: dict = {}

    def lookup(ds: str, pair_id: str, source: str):
        if ds not in cache:
            t = read_features(ds, kind).to_pylist() if Path(ds).is_dir() else []
            cache[ds] = {(r["pair_id"], r["source"]): r for r in t}
        return cache[ds].get((pair_id, source))

    rows = []
    for m in matches:
        f = lookup(eval_ds, m["fake_pair_id"], m["fake_source"])
        r = lookup(m["real_dataset"], m["real_pair_id"], "real")
        if f is None or r is None:
            continue
        rows += [{**f, "split": split}, {**r, "pair_id": m["fake_pair_id"], "split": split}]
    out = root / "features" / kind
    for old in out.glob(f"{split}-*.parquet") if out.is_dir() else []:
        old.unlink()
    if rows:
        out.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), out / f"{split}-00000.parquet")
    return len(rows)
