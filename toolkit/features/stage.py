"""The `features:` stage of a shard: a model step (toolkit/engine/steps.py) run after the fakes (it needs them).

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

from toolkit.engine.steps import ModelStep
from toolkit.errors import DropSample
from toolkit.features import features_file

SCHEMA = pa.schema([
    ("pair_id", pa.string()), ("source", pa.string()), ("label", pa.int8()), ("split", pa.string()),
    ("latent", pa.binary()), ("latent_shape", pa.list_(pa.int32())), ("latent_dtype", pa.string()),
    ("noise_map", pa.binary()), ("reconstruction", pa.binary()), ("latent_error", pa.float64()),
    ("caption_used", pa.string()), ("params", pa.string()),
])


class FeatureStep(ModelStep):
    """One `features:` section as a model step: every member of every live pair in, one record each out,
    written to the shard's side file; a member that fails alone drops its pair under `feature_error`."""

    drop_reason = "feature_error"

    def __init__(self, cfg, device: str):
        self.cfg = cfg
        self.device = device
        self.name = cfg.kind
        self.batch_size = cfg.batch_size
        self.inverter = self.captioner = None

    def setup(self) -> None:
        from toolkit.features.ddim_inversion import get_feature_captioner, get_inverter

        self.inverter = get_inverter(self.cfg, self.device)
        self.captioner = get_feature_captioner(self.cfg, self.device)  # None with caption: row

    def select(self, state) -> list:
        return [m for r in state.reals if r.pair_id in state.alive for m in [r] + state.fakes[r.pair_id]]

    def process_batch(self, items: list) -> list:  # captioned and inverted together: an image the
        from toolkit.features.ddim_inversion import prompts_for  # captioner fails on fails alone

        images = [m.pixels for m in items]
        return self.inverter(images, prompts_for(self.cfg, self.captioner, images, [m.caption for m in items]))

    def collect(self, state, items: list, results: list) -> None:
        from toolkit.features.ddim_inversion import png_bytes
        from toolkit.store.atomic import Output

        task, recipe = state.task, state.task.recipe
        level = recipe.store.png_compress_level
        rows = []
        if items:
            params = json.dumps({**self.inverter.params(), "on": "aligned pixels, before augmentation"},
                                sort_keys=True)
        for m, r in zip(items, results):
            if r is None or isinstance(r, DropSample) or m.pair_id not in state.alive:
                continue
            lat = r["latent"]
            rows.append({"pair_id": m.pair_id, "source": m.source, "label": m.label, "split": task.split,
                         "latent": lat.tobytes(), "latent_shape": list(lat.shape), "latent_dtype": str(lat.dtype),
                         "noise_map": png_bytes(r["noise_map"], level),
                         "reconstruction": png_bytes(r["reconstruction"], level),
                         "latent_error": r["latent_error"], "caption_used": r["caption_used"], "params": params})
        if not rows:
            return
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        buf = io.BytesIO()
        pq.write_table(table, buf, row_group_size=max(1, recipe.store.row_group_size), compression="zstd")
        Output(task.output).write_bytes(features_file(self.cfg.kind, task.split, task.index), buf.getvalue())


def read_features(output: str, kind: str = "ddim_inversion", split: str | None = None) -> pa.Table:
    """Every features row of a local build (optionally one split), as one Arrow table."""
    from pathlib import Path

    files = sorted((Path(output) / "features" / kind).glob(f"{split or '*'}-*.parquet"))
    if not files:
        return SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(f) for f in files])
