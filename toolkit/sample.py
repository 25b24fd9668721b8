"""The records that flow through a build, and the schema of a published row.

A source enumerates `RealRef`s (cheap, picklable pointers: origin + caption), the planner gives each a
`pair_id` and a split, a shard task turns them into `Member`s (pixels in memory), and the writer turns
members into rows of the schema below. One pair = one real + one fake per generator, all sharing
`pair_id`, all in the same split and the same shard.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

LABELS = ["real", "fake"]

# column -> HF feature spec; the order is the column order of every parquet shard.
COLUMNS = {
    "image": "image",  # struct {bytes, path}: the exact bytes the augmentation produced
    "label": "class_label",  # 0 real, 1 fake
    "pair_id": "string",
    "source": "string",  # "real" or the generator's name (vae_roundtrip, ...)
    "generator": "string",  # model id of the generator, null for reals
    "caption": "string",
    "width": "int32",
    "height": "int32",
    "format": "string",  # png | jpeg | webp (the container; never tells the label)
    "augment": "string",  # JSON list of the ops applied, codec last
    "origin": "string",  # URL or path the real came from (fakes: their real's origin)
    "provenance": "string",  # JSON: decode/align info for reals, generator parameters for fakes
}

# The optional label column of builds whose recipe has a generator that makes masks (inpainting with a
# rectangle, brush or object mask; `Recipe.makes_masks()`), after every other column. Builds without one keep
# exactly the columns above (same schema, same bytes). What it holds (docs/regeneration.md):
# - fakes: lossless PNG of a single-channel (mode L) 0/255 mask at the row's width x height, 255 where the
#   generator made the pixel; a full regeneration (img2img, inpaint `mask: empty`, vae_roundtrip,
#   text2image) carries an all-255 mask;
# - reals: null (no pixel was generated; read it as all zeros).
# Geometry-aligned with the row's image (a geometric augmentation such as `resize` is applied to it,
# nearest-neighbour), never touched by codecs or pixel ops: it is a label, not a member of the pair.
MASK_COLUMN = "mask"


def columns(masks: bool = False) -> dict:
    """The column -> feature spec of a build's rows: COLUMNS, plus `mask` when the build has masks."""
    return {**COLUMNS, MASK_COLUMN: "image"} if masks else dict(COLUMNS)


def hf_features(masks: bool = False):
    """The `datasets.Features` of a row (imported lazily: workers need pyarrow, not datasets)."""
    from datasets import ClassLabel, Features, Image, Value

    spec = {}
    for name, kind in columns(masks).items():
        if kind == "image":
            spec[name] = Image()
        elif kind == "class_label":
            spec[name] = ClassLabel(names=LABELS)
        else:
            spec[name] = Value(kind)
    return Features(spec)


def make_pair_id(source_kind: str, origin: str) -> str:
    """Stable id from where the real came from: adding or removing other reals never renames a pair."""
    return hashlib.sha256(f"{source_kind}\x1f{origin}".encode()).hexdigest()[:16]


@dataclass
class RealRef:
    origin: str
    caption: Optional[str] = None
    meta: dict = field(default_factory=dict)
    pair_id: str = ""


@dataclass
class Member:
    pair_id: str
    source: str
    label: int
    pixels: np.ndarray
    origin: str
    caption: Optional[str] = None
    generator: Optional[str] = None
    provenance: dict[str, Any] = field(default_factory=dict)
    mask: Optional[np.ndarray] = None  # fakes: uint8 0/255 H x W, 255 = generated; None = every pixel (or a real)


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=_json_default)


def _json_default(o: Any):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (tuple, set)):
        return list(o)
    return str(o)
