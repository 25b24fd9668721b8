"""Counts a card needs that the shard markers do not hold, read from the parquet shards themselves.

Only the small columns are read (never `image`), so this costs a fraction of a second for the demo and
seconds for a large build. What it measures is what the alignment contract promises and a reader wants
to check at a glance: per label, the same augmentations and formats in the same numbers (a codec that
tells the label is the classic shortcut), the same sizes (every pair same width and height), and every
pair in exactly one split.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pyarrow.parquet as pq

from toolkit.sample import LABELS
from toolkit.store.manifest import data_files

COLUMNS = ["label", "source", "format", "augment", "width", "height", "pair_id"]


def augment_name(augment_json: str | None) -> str:
    """`[{"op": "blur", ...}, {"op": "jpeg", "quality": 71}]` -> `blur+jpeg`."""
    try:
        ops = json.loads(augment_json or "[]")
    except ValueError:
        return "unknown"
    return "+".join(str(o.get("op", "?")) for o in ops) or "none"


def jpeg_quality(augment_json: str | None):
    try:
        for o in json.loads(augment_json or "[]"):
            if o.get("op") in ("jpeg", "webp") and "quality" in o:
                return o["op"], int(o["quality"])
    except (ValueError, AttributeError):
        pass
    return None, None


def collect_stats(out) -> dict:
    """Counts per split/label/source/format/augmentation, size agreement within pairs, split leaks."""
    by_split_label: dict = defaultdict(Counter)
    by_split_source: dict = defaultdict(Counter)
    aug_label: dict = defaultdict(Counter)
    fmt_label: dict = defaultdict(Counter)
    quality_label: dict = defaultdict(Counter)  # "jpeg q71" -> label counts
    sides = {lab: Counter() for lab in LABELS}
    pair_sizes: dict = defaultdict(set)
    pair_splits: dict = defaultdict(set)
    for rel in data_files(out):
        split = rel.split("/")[1].rsplit("-", 3)[0]
        with out.fs.open(out.path(rel), "rb") as f:
            t = pq.read_table(f, columns=COLUMNS, use_threads=False)  # no Arrow pool thread at exit
        for r in t.to_pylist():
            lab = LABELS[r["label"]]
            by_split_label[split][lab] += 1
            by_split_source[split][r["source"]] += 1
            aug_label[augment_name(r["augment"])][lab] += 1
            fmt_label[r["format"]][lab] += 1
            codec, q = jpeg_quality(r["augment"])
            if q is not None:
                quality_label[q][lab] += 1
            sides[lab][min(r["width"], r["height"])] += 1
            pair_sizes[r["pair_id"]].add((r["width"], r["height"]))
            pair_splits[r["pair_id"]].add(split)
    return {
        "by_split_label": {s: dict(c) for s, c in by_split_label.items()},
        "by_split_source": {s: dict(c) for s, c in by_split_source.items()},
        "augment_by_label": {k: dict(v) for k, v in sorted(aug_label.items())},
        "format_by_label": {k: dict(v) for k, v in sorted(fmt_label.items())},
        "quality_by_label": {int(k): dict(v) for k, v in sorted(quality_label.items())},
        "short_side_by_label": {lab: {int(k): v for k, v in sorted(c.items())} for lab, c in sides.items()},
        "pairs": len(pair_sizes),
        "pairs_size_mismatch": sum(1 for s in pair_sizes.values() if len(s) > 1),
        "pairs_in_several_splits": sum(1 for s in pair_splits.values() if len(s) > 1),
    }
