"""Per-row features computed during a build, after the fakes (recipe `features:` list).

Each kind is a typed config (validated with the recipe) and a module that computes one record per row
(reals and fakes alike) and writes it to a side file per shard, `OUT/features/<kind>/<split>-NNNNN.parquet`.
Side files, not new columns: the rows' Hugging Face schema (sample.COLUMNS) stays the same for every
recipe, so `datasets.load_dataset(OUT)` (whose card `configs` match only `data/<split>-*`) and every
existing build's bytes and recipe hash are untouched; the heavy arrays (a float16 latent and two PNGs
per row) are read only by whoever asks for them (the `fakeinversion` detector).

A feature kind is one module here that registers its config and its model step
(`@FEATURES.register("NAME", Config)` on a `toolkit.engine.steps.ModelStep`), as `ddim_inversion` does.
"""

from __future__ import annotations


def features_file(kind: str, split: str, index: int) -> str:
    return f"features/{kind}/{split}-{index:05d}.parquet"
