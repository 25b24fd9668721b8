"""Rows -> one parquet shard with the Hugging Face features schema in its metadata.

The `image` column is a struct {bytes, path}: the bytes are exactly what the augmentation produced
(never a PIL object, which `datasets` would re-encode). The schema carries the `huggingface` features
metadata, so `load_dataset` decodes `image` as Image and `label` as ClassLabel(real, fake).
"""

from __future__ import annotations

import io
from functools import lru_cache

import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.sample import columns


@lru_cache(maxsize=2)
def arrow_schema(masks: bool = False) -> pa.Schema:
    from toolkit.sample import hf_features

    return hf_features(masks).arrow_schema


def table_from_rows(rows: list[dict], masks: bool = False) -> pa.Table:
    """`masks`: the build has the `mask` column (sample.MASK_COLUMN, last); without it the schema is
    exactly sample.COLUMNS'."""
    cols = {name: [r[name] for r in rows] for name in columns(masks)}
    return pa.Table.from_pydict(cols, schema=arrow_schema(masks))


def parquet_bytes(rows: list[dict], row_group_size: int = 100, masks: bool = False) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table_from_rows(rows, masks), buf, row_group_size=max(1, row_group_size), compression="zstd",
                   use_dictionary=["pair_id", "source", "generator", "caption", "format", "origin"],
                   write_statistics=True)
    return buf.getvalue()
