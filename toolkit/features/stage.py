"""The `features:` stage of a shard: runs in `pipeline.model_stage` after the fakes (it needs them).

Every member of every pair still alive (the real and each fake) gets one record per feature kind,
computed on the aligned pixels the write stage will encode (before the pair's matched augmentation:
the augmentation is drawn once per pair and is the same for every member, and a recipe without
augmentation, the FakeInversion setting, stores exactly these pixels). The records are written to
`OUT/features/<kind>/<split>-NNNNN.parquet`, one file per shard, atomically (a retried shard
rewrites identical bytes). A member whose features cannot be computed drops its whole pair under
`feature_error` (counted in the shard marker like any drop), so features exist for every stored row.
With `caption: captioner` (ddim_inversion's default) each member is captioned from the same pixels,
in the same batch, right before its inversion; a captioner failure counts as the member's failure.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.features import features_file

SCHEMA = pa.schema([
    ("pair_id", pa.string()), ("source", pa.string()), ("label", pa.int8()), ("split", pa.string()),
    ("latent", pa.binary()), ("latent_shape", pa.list_(pa.int32())), ("latent_dtype", pa.string()),
    ("noise_map", pa.binary()), ("reconstruction", pa.binary()), ("latent_error", pa.float64()),
    ("caption_used", pa.string()), ("params", pa.string()),
])


def run_features(state) -> None:
    from toolkit.generators.base import resolve_device, run_batches
    from toolkit.store.atomic import Output
    from toolkit.features.ddim_inversion import get_feature_captioner, get_inverter, png_bytes, prompts_for

    task, recipe = state.task, state.task.recipe
    device = resolve_device(recipe.runner.device)
    level = recipe.store.png_compress_level
    for cfg in recipe.features:
        inverter = get_inverter(cfg, device)
        captioner = get_feature_captioner(cfg, device)  # None with caption: row
        params = json.dumps({**inverter.params(), "on": "aligned pixels, before augmentation"}, sort_keys=True)
        members = [m for r in state.reals if r.pair_id in state.alive for m in [r] + state.fakes[r.pair_id]]

        def fail(i, e, kind=cfg.kind):  # the failing member drops its whole pair
            m = members[i]
            if m.pair_id in state.alive:
                state.drop(m.origin, m.pair_id, "feature_error", f"{kind}: {type(e).__name__}: {e}")
                state.alive.discard(m.pair_id)

        def invert(ix, cfg=cfg, inverter=inverter, captioner=captioner):  # captioned and inverted together:
            images = [members[i].pixels for i in ix]  # an image the captioner fails on fails alone
            return inverter(images, prompts_for(cfg, captioner, images, [members[i].caption for i in ix]))

        records = run_batches(list(range(len(members))), cfg.batch_size, invert, fail)
        rows = []
        for i, m in enumerate(members):
            r = records[i]
            if r is None or m.pair_id not in state.alive:
                continue
            lat = r["latent"]
            rows.append({"pair_id": m.pair_id, "source": m.source, "label": m.label, "split": task.split,
                         "latent": lat.tobytes(), "latent_shape": list(lat.shape), "latent_dtype": str(lat.dtype),
                         "noise_map": png_bytes(r["noise_map"], level),
                         "reconstruction": png_bytes(r["reconstruction"], level),
                         "latent_error": r["latent_error"], "caption_used": r["caption_used"], "params": params})
        if not rows:
            continue
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        buf = io.BytesIO()
        pq.write_table(table, buf, row_group_size=max(1, recipe.store.row_group_size), compression="zstd")
        Output(task.output).write_bytes(features_file(cfg.kind, task.split, task.index), buf.getvalue())


def read_features(output: str, kind: str = "ddim_inversion", split: str | None = None) -> pa.Table:
    """Every features row of a local build (optionally one split), as one Arrow table."""
    from pathlib import Path

    files = sorted((Path(output) / "features" / kind).glob(f"{split or '*'}-*.parquet"))
    if not files:
        return SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(f) for f in files])
