"""Export a finished build as WebDataset tar shards, for training pipelines that stream samples.

Why tar shards next to the parquet: `webdataset`, img2dataset-style loaders and many training scripts
stream `.tar` files sequentially, without Arrow. The export keeps what makes a toolkit build useful:

- the **exact stored image bytes** (no decode, no re-encode: a JPEG-augmented member stays that JPEG);
- one sample per row, keyed `<pair_id>_<role>` (`role` = `real` or the fake's source name), so a key is
  stable across re-exports and the members of a pair sort next to each other;
- the image entry named by its real format (`.png`, `.jpg`, `.webp`), a `.json` entry with `pair_id`,
  `label` (0 real, 1 fake), `label_name`, `split`, `source`, `generator` and `metadata` (caption, size,
  format, augment, origin, provenance as stored), and `.mask.png` in builds with a `mask` column (reals,
  whose stored mask is null, get an all-zero mask so that every sample has the same entries);
- the members of a pair in the same tar, in build order (a tar is never cut inside a pair).

Tars are `<split>-NNNNN-of-MMMMM.tar`, one per parquet shard by default, or re-cut to at most
`shard_size` samples (more only when one pair alone is larger). `export.json` (written last) lists the
tars, their sample counts and the image formats. Every file is written under DEST/_tmp and moved into
place when complete (store/atomic.py); nothing is written outside DEST.

`datasets.load_dataset("webdataset", data_files=...)` infers one schema from the first samples and
refuses samples with other entries, so it can load an export only when every image has one format
(no `jpeg`/`webp` augmentation mixed with PNG): `export.json` says so in `datasets_builder`, and the
command prints it. The `webdataset` package and `tarfile` read any export.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass, field

from toolkit.errors import ToolkitError
from toolkit.sample import LABELS, MASK_COLUMN
from toolkit.store.atomic import AtomicFolder
from toolkit.store.build_dir import read_file, read_parquet

EXT = {"png": "png", "jpeg": "jpg", "webp": "webp"}
INDEX = "export.json"
FORMAT_VERSION = 1
META_KEYS = ("caption", "width", "height", "format", "augment", "origin", "provenance")
_ROLE_RE = re.compile(r"[^A-Za-z0-9_-]+")
_SHARD_RE = re.compile(r"^(.+)-\d+-of-\d+\.parquet$")


def sample_key(pair_id: str, source: str) -> str:
    """`<pair_id>_<role>`: no dot (WebDataset splits a name at its first dot) and no slash."""
    role = "real" if source == "real" else _ROLE_RE.sub("-", str(source))
    return f"{pair_id}_{role}"


@dataclass
class TarPlan:
    split: str
    parts: list = field(default_factory=list)  # (parquet rel, [pair_id, ...]) in order
    samples: int = 0


def _pairs_in_order(pair_ids: list[str]) -> list[tuple[str, int]]:
    """(pair_id, members) in first-appearance order."""
    counts: dict[str, int] = {}
    for pid in pair_ids:
        counts[pid] = counts.get(pid, 0) + 1
    return list(counts.items())


def plan_tars(shards: dict[str, list[tuple[str, list[str]]]], shard_size: int | None) -> list[TarPlan]:
    """One tar per parquet shard, or pairs packed into tars of at most `shard_size` samples."""
    plans: list[TarPlan] = []
    for split, files in shards.items():
        if shard_size is None:
            for rel, pids in files:
                plans.append(TarPlan(split, [(rel, [p for p, _ in _pairs_in_order(pids)])], len(pids)))
            continue
        cur = TarPlan(split)
        for rel, pids in files:
            for pid, n in _pairs_in_order(pids):
                if cur.samples and cur.samples + n > shard_size:
                    plans.append(cur)
                    cur = TarPlan(split)
                if not cur.parts or cur.parts[-1][0] != rel:
                    cur.parts.append((rel, []))
                cur.parts[-1][1].append(pid)
                cur.samples += n
        if cur.samples:
            plans.append(cur)
    return plans


def _member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o444
    info.mtime = 0  # the same build exports to the same bytes
    info.uname = info.gname = "toolkit"
    tar.addfile(info, io.BytesIO(data))


def _zero_mask(width: int, height: int) -> bytes:
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((height, width), dtype=np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()


def sample_entries(row: dict, split: str, masks: bool) -> tuple[str, list[tuple[str, bytes]]]:
    """The key and the (extension, bytes) entries of one row."""
    fmt = row["format"]
    if fmt not in EXT:
        raise ToolkitError(f"pair {row['pair_id']}: unknown image format {fmt!r} (expected png, jpeg or webp)")
    label = int(row["label"])
    meta = {"pair_id": row["pair_id"], "label": label, "label_name": LABELS[label], "split": split,
            "source": row["source"], "generator": row["generator"],
            "metadata": {k: row.get(k) for k in META_KEYS}}
    entries = [(EXT[fmt], row["image"]["bytes"]),
               ("json", json.dumps(meta, sort_keys=True, ensure_ascii=False).encode("utf-8"))]
    if masks:
        mask = (row.get(MASK_COLUMN) or {}).get("bytes")
        entries.append(("mask.png", mask if mask else _zero_mask(int(row["width"]), int(row["height"]))))
    return sample_key(row["pair_id"], row["source"]), entries


def tar_bytes(plan: TarPlan, rows_of, masks: bool) -> tuple[bytes, set[str]]:
    """The tar of `plan` (`rows_of(rel)` gives a shard's rows grouped by pair id) and its image formats."""
    buf = io.BytesIO()
    formats: set[str] = set()
    seen: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for rel, pids in plan.parts:
            by_pair = rows_of(rel)
            for pid in pids:
                for row in by_pair[pid]:
                    key, entries = sample_entries(row, plan.split, masks)
                    if key in seen:
                        raise ToolkitError(f"{rel}: two rows of pair {pid} share the key {key!r}")
                    seen.add(key)
                    formats.add(row["format"])
                    for ext, data in entries:
                        _member(tar, f"{key}.{ext}", data)
    return buf.getvalue(), formats


def _shard_list(out: AtomicFolder, files: list[str]) -> tuple[dict[str, list[tuple[str, list[str]]]], bool]:
    """{split: [(parquet rel, pair ids per row)]} in build order, reading only the pair_id column, and
    whether the rows have a mask column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shards: dict[str, list] = {}
    masks = False
    for rel in files:
        m = _SHARD_RE.match(rel.rsplit("/", 1)[-1])
        if not m:
            raise ToolkitError(f"{rel}: not a shard name of the form <split>-NNNNN-of-MMMMM.parquet")
        split = m.group(1)
        data = read_file(out, rel)
        table = read_parquet(rel, data, columns=["pair_id"])
        masks = masks or MASK_COLUMN in pq.ParquetFile(pa.BufferReader(data)).schema_arrow.names
        shards.setdefault(split, []).append((rel, table.column("pair_id").to_pylist()))
    return shards, masks


def prepare_target(dest: str, overwrite: bool) -> AtomicFolder:
    """DEST as an AtomicFolder: refused (one line) when it holds anything but an earlier export (which
    `overwrite` replaces)."""
    from toolkit.store.build_dir import open_output

    target = open_output(dest)
    if target.fs.exists(target.root):
        if not target.fs.isdir(target.root):
            raise ToolkitError(f"--to {dest}: exists and is not a folder")
        names = target.ls("")
        if names:
            if INDEX not in names:
                raise ToolkitError(f"--to {dest}: not empty and not an earlier export (no {INDEX}); "
                                   "pick an empty or new folder")
            if not overwrite:
                raise ToolkitError(f"--to {dest}: holds an earlier export; pass --overwrite to replace it")
            target.rm()
    return target


def export_webdataset(out: AtomicFolder, files: list[str], dest: str, shard_size: int | None = None,
                      overwrite: bool = False, echo=print) -> dict:
    """Write the tars and export.json under `dest`; return the index."""
    if shard_size is not None and shard_size < 1:
        raise ToolkitError(f"--shard-size: must be at least 1, got {shard_size}")
    shards, masks = _shard_list(out, files)
    plans = plan_tars(shards, shard_size)
    target = prepare_target(dest, overwrite)
    totals: dict[str, int] = {}
    for p in plans:
        totals[p.split] = totals.get(p.split, 0) + 1
    cache: dict[str, dict] = {}

    def rows_of(rel: str) -> dict:
        if rel not in cache:
            cache.clear()  # plans visit shards in order: keep one shard's rows in memory
            by_pair: dict[str, list] = {}
            for row in read_parquet(rel, read_file(out, rel)).to_pylist():
                by_pair.setdefault(row["pair_id"], []).append(row)
            cache[rel] = by_pair
        return cache[rel]

    index = {"format": "webdataset", "version": FORMAT_VERSION, "source": out.url, "tars": [],
             "splits": {}, "image_formats": [], "masks": masks}
    all_formats: set[str] = set()
    counters: dict[str, int] = {}
    try:
        for p in plans:
            i = counters.get(p.split, 0)
            counters[p.split] = i + 1
            name = f"{p.split}-{i:05d}-of-{totals[p.split]:05d}.tar"
            data, formats = tar_bytes(p, rows_of, masks)
            target.write_bytes(name, data)
            all_formats |= formats
            index["tars"].append({"file": name, "split": p.split, "samples": p.samples, "bytes": len(data),
                                  "image_formats": sorted(formats)})
            s = index["splits"].setdefault(p.split, {"tars": 0, "samples": 0})
            s["tars"] += 1
            s["samples"] += p.samples
            echo(f"  {name}: {p.samples} samples, {len(data):,d} bytes")
        index["image_formats"] = sorted(all_formats)
        uniform = len(all_formats) <= 1
        index["datasets_builder"] = (
            "loadable: load_dataset('webdataset', data_files={split: 'DEST/<split>-*.tar'})" if uniform else
            f"not loadable: images mix {', '.join(sorted(all_formats))} and the builder needs one entry set for "
            "every sample; read with the webdataset package or tarfile")
        target.write_json(INDEX, index)  # last: its presence means the export is complete
    finally:
        target.rm("_tmp")
    return index
