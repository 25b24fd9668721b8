"""The side files of the `features:` stage: their schema and how to read them back. The stage itself is each
feature kind's model step (`ddim_inversion.DDIMInversionStep`, toolkit/engine/steps.py), run after the fakes.

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


import pyarrow as pa
import pyarrow.parquet as pq


SCHEMA = pa.schema([
    ("pair_id", pa.string()), ("source", pa.string()), ("label", pa.int8()), ("split", pa.string()),
    ("latent", pa.binary()), ("latent_shape", pa.list_(pa.int32())), ("latent_dtype", pa.string()),
    ("noise_map", pa.binary()), ("reconstruction", pa.binary()), ("latent_error", pa.float64()),
    ("caption_used", pa.string()), ("params", pa.string()),
])


def read_features(output: str, kind: str = "ddim_inversion", split: str | None = None) -> pa.Table:
    """Every features row of a local build (optionally one split), as one Arrow table."""
    from pathlib import Path

    files = sorted((Path(output) / "features" / kind).glob(f"{split or '*'}-*.parquet"))
    if not files:
        return SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(f) for f in files])
