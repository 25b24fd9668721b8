"""Counts a card needs that the shard markers do not hold, read from the parquet shards themselves.

Only the small columns are read (never `image`), one data file at a time (`file_stats`): in a build,
each shard task reads its own file right after writing it (toolkit/card/parts.py), so after the last
shard only the merge (`merge_stats`) is left, whatever the build's size. What it measures is what the alignment contract promises and a reader wants
to check at a glance: per label, the same augmentations and formats in the same numbers (a codec that
tells the label is the classic shortcut), the same sizes (every pair same width and height), and every
pair in exactly one split.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter, defaultdict

import pyarrow.parquet as pq

from toolkit.sample import LABELS
from toolkit.store.layout import split_of
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


def file_stats(out, rel: str) -> dict:
    """One data file's contribution to the statistics: its counters, and its pairs in row order with the
    size of their rows (packed `w << 32 | h`, 8 bytes a pair: a part is held on the client until the
    card; `mixed` lists the pairs whose rows differ in size). Computed where the shard was built, right
    after it was written (`toolkit/card/parts.py`), or here on the client for a shard without one;
    `merge_stats` folds them in file order into what the card shows."""
    split = split_of(rel)
    part = {"split": split, "by_label": Counter(), "by_source": Counter(), "augment_label": defaultdict(Counter),
            "format_label": defaultdict(Counter), "quality_label": defaultdict(Counter),
            "sides": {lab: Counter() for lab in LABELS}}
    sizes: dict[str, set] = defaultdict(set)
    with out.fs.open(out.path(rel), "rb") as f:
        t = pq.read_table(f, columns=COLUMNS, use_threads=False)  # no Arrow pool thread at exit
    for r in t.to_pylist():
        lab = LABELS[r["label"]]
        part["by_label"][lab] += 1
        part["by_source"][r["source"]] += 1
        part["augment_label"][augment_name(r["augment"])][lab] += 1
        part["format_label"][r["format"]][lab] += 1
        codec, q = jpeg_quality(r["augment"])
        if q is not None:
            part["quality_label"][q][lab] += 1
        part["sides"][lab][min(r["width"], r["height"])] += 1
        sizes[r["pair_id"]].add((r["width"], r["height"]))
    part["pair_ids"] = list(sizes)
    part["pair_sizes"] = array("q", (min(s)[0] << 32 | min(s)[1] for s in sizes.values()))
    part["mixed"] = [pid for pid, s in sizes.items() if len(s) > 1]
    return part


def merge_stats(parts: list[dict]) -> dict:
    """Counts per split/label/source/format/augmentation, size agreement within pairs, split leaks, from
    the data files' parts in `data_files` order (the order in which keys first appear is the order of a
    single pass over the files, so the result does not depend on where the parts were computed)."""
    by_split_label: dict = defaultdict(Counter)
    by_split_source: dict = defaultdict(Counter)
    aug_label: dict = defaultdict(Counter)
    fmt_label: dict = defaultdict(Counter)
    quality_label: dict = defaultdict(Counter)  # "jpeg q71" -> label counts
    sides = {lab: Counter() for lab in LABELS}
    first: dict[str, tuple[int, str]] = {}  # pair_id -> (size, split) where it first appeared
    mixed: set[str] = set()  # pairs whose rows are not all one size
    several: set[str] = set()  # pairs in more than one split
    for part in parts:
        split = part["split"]
        by_split_label[split].update(part["by_label"])
        by_split_source[split].update(part["by_source"])
        for into, table in ((aug_label, part["augment_label"]), (fmt_label, part["format_label"]),
                            (quality_label, part["quality_label"])):
            for k, c in table.items():
                into[k].update(c)
        for lab in LABELS:
            sides[lab].update(part["sides"][lab])
        mixed.update(part["mixed"])
        for pid, size in zip(part["pair_ids"], part["pair_sizes"]):
            prev = first.setdefault(pid, (size, split))
            if prev[0] != size:
                mixed.add(pid)
            if prev[1] != split:
                several.add(pid)
    return {
        "by_split_label": {s: dict(c) for s, c in by_split_label.items()},
        "by_split_source": {s: dict(c) for s, c in by_split_source.items()},
        "augment_by_label": {k: dict(v) for k, v in sorted(aug_label.items())},
        "format_by_label": {k: dict(v) for k, v in sorted(fmt_label.items())},
        "quality_by_label": {int(k): dict(v) for k, v in sorted(quality_label.items())},
        "short_side_by_label": {lab: {int(k): v for k, v in sorted(c.items())} for lab, c in sides.items()},
        "pairs": len(first),
        "pairs_size_mismatch": len(mixed),
        "pairs_in_several_splits": len(several),
    }


def collect_stats(out, parts: dict | None = None) -> dict:
    """The card's statistics over every data file; `parts` maps a data file to its `toolkit/card/parts.py`
    contribution (those computed in the shard tasks), and any file without one is read here."""
    parts = parts or {}
    return merge_stats([p["stats"] if (p := parts.get(rel)) is not None else file_stats(out, rel)
                        for rel in data_files(out)])
