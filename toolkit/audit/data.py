"""Reading the rows to audit, image bytes undecoded: what is stored is what is audited.

A local toolkit build is read straight from its parquet shards (fast, and the split comes from the
file name); anything else goes through `datasets.load_dataset(path)` with the image column cast to
`decode=False`, so a dataset from another tool (a local imagefolder, parquet files, a Hub id when
online) can be audited too. A dataset without `pair_id` gets one group per row (folds then cannot
keep pairs together: said in the report).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.errors import ToolkitError

COLUMNS = ("image", "label", "pair_id", "source", "format", "augment", "origin")
_SHARD = re.compile(r"^(?P<split>.+?)-\d{5}-of-\d{5}\.parquet$")


@dataclass
class Rows:
    image: list[bytes] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    pair_id: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    split: list[str] = field(default_factory=list)
    augment: list[str] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total_pairs: int = 0  # before sampling

    def __len__(self) -> int:
        return len(self.label)

    def append(self, **kw) -> None:
        for k, v in kw.items():
            getattr(self, k).append(v)


def is_local_build(path: str) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "data").is_dir() and any((p / "data").glob("*.parquet"))


def _label_of(value, names) -> int:
    if isinstance(value, str):
        return 0 if value.lower() in ("real", "0") else 1
    if names and 0 <= int(value) < len(names):
        return 0 if str(names[int(value)]).lower() == "real" else 1
    return int(value)


def _iter_local(path: str):
    import pyarrow.parquet as pq

    files = sorted((Path(path) / "data").glob("*.parquet"))
    for f in files:
        m = _SHARD.match(f.name)
        split = m.group("split") if m else f.stem
        t = pq.read_table(f)
        cols = {c: t.column(c).to_pylist() if c in t.column_names else None for c in COLUMNS}
        if cols["image"] is None or cols["label"] is None:
            raise ToolkitError(f"{f}: no image/label columns; is this a toolkit build?")
        for i in range(t.num_rows):
            yield split, {c: (v[i] if v is not None else None) for c, v in cols.items()}, None


def _iter_hub(path: str):
    from toolkit.dataset_io import load_undecoded

    for split, ds in load_undecoded(path).items():
        if "image" not in ds.column_names or "label" not in ds.column_names:
            raise ToolkitError(f"{path}: split {split!r} has no image/label columns")
        names = getattr(ds.features["label"], "names", None)
        for row in ds:
            yield split, {c: row.get(c) for c in COLUMNS}, names


def load_rows(path: str, max_pairs: int | None = None) -> Rows:
    """All rows of `path` (or of `max_pairs` pairs chosen by a hash of pair_id: deterministic, and
    always whole pairs)."""
    local = is_local_build(path)
    if not local and Path(path).is_dir() and (Path(path) / "recipe.yaml").exists():
        raise ToolkitError(f"{path}: a toolkit build without data/*.parquet (unfinished build?)")
    raw = []
    for split, row, names in (_iter_local(path) if local else _iter_hub(path)):
        img = row["image"]
        data = img.get("bytes") if isinstance(img, dict) else None
        if data is None and isinstance(img, dict) and img.get("path"):
            data = Path(img["path"]).read_bytes()
        raw.append((split, row, names, data))
    rows = Rows()
    if not raw:
        raise ToolkitError(f"{path}: no rows to audit")
    if all(r[1]["pair_id"] is None for r in raw):
        rows.notes.append("no pair_id column: every row is its own group, so folds cannot keep pairs together")
    pids = [r[1]["pair_id"] if r[1]["pair_id"] is not None else f"row{i}" for i, r in enumerate(raw)]
    unique = sorted(set(pids))
    rows.total_pairs = len(unique)
    chosen = None
    if max_pairs and len(unique) > max_pairs:
        chosen = set(sorted(unique, key=lambda p: hashlib.sha256(p.encode()).hexdigest())[:max_pairs])
        rows.notes.append(f"sampled {max_pairs} of {len(unique)} pairs (by a hash of pair_id)")
    for (split, row, names, data), pid in zip(raw, pids):
        if chosen is not None and pid not in chosen:
            continue
        label = _label_of(row["label"], names)
        rows.append(image=data or b"", label=label, pair_id=pid,
                    source=row["source"] or ("real" if label == 0 else "fake"), split=split,
                    augment=row["augment"] or "", origin=row["origin"] or "")
    return rows
