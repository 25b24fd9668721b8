"""Rows of a dataset as a detector needs them: undecoded bytes, labels, and which rows form a pair.

A dataset is a local toolkit build (a folder with README.md + data/) or a Hugging Face hub id; both
go through `datasets.load_dataset`, with the image column cast to `decode=False` so we get the exact
stored bytes (the robustness sweep re-encodes from those, and the feature cache hashes them).
Validation comes from a separate dataset (`val_dataset`, as both papers validate on a set of their
own), from a named split, or is carved out of the training split *by pair*, so a real and its fake
never sit on both sides of the train/val boundary.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from toolkit.errors import ToolkitError
from toolkit.seeding import derive_seed


@dataclass
class Split:
    name: str
    images: list  # bytes per row, exactly as stored
    labels: np.ndarray  # 0 real, 1 fake
    pair_ids: list
    sources: list  # "real" or the generator's name
    augments: list  # label of the build's augmentation chain, e.g. "png", "blur+jpeg"
    transform: object = None  # pixels -> pixels (robustness perturbation), applied after decoding
    tag: str = ""  # names the transform (feature cache key)
    _pairs: dict = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.images)

    def pixels(self, i: int) -> np.ndarray:
        with Image.open(io.BytesIO(self.images[i])) as im:
            arr = np.asarray(im.convert("RGB"))
        return self.transform(arr) if self.transform is not None else arr

    def size(self, i: int) -> tuple[int, int]:
        """(width, height) as stored, from the header alone (no decode)."""
        with Image.open(io.BytesIO(self.images[i])) as im:
            return im.size

    def pairs(self) -> list[list[int]]:
        """Row indices grouped by pair_id, in first-seen order."""
        if self._pairs is None:
            groups: dict[str, list[int]] = {}
            for i, p in enumerate(self.pair_ids):
                groups.setdefault(p, []).append(i)
            self._pairs = groups
        return list(self._pairs.values())

    def subset(self, idx, name: str | None = None) -> "Split":
        idx = list(idx)
        images = self.images.take(idx) if hasattr(self.images, "take") else [self.images[i] for i in idx]
        return Split(name or self.name, images, self.labels[idx],
                     [self.pair_ids[i] for i in idx], [self.sources[i] for i in idx],
                     [self.augments[i] for i in idx], self.transform, self.tag)

    def perturbed(self, fn, tag: str) -> "Split":
        return Split(self.name, self.images, self.labels, self.pair_ids, self.sources, self.augments, fn, tag)


def is_local(dataset: str) -> bool:
    return os.path.isdir(dataset)


def dataset_name(dataset: str) -> str:
    return Path(dataset.rstrip("/")).name if is_local(dataset) else dataset.replace("/", "__")


def load_splits(dataset: str, dsd=None) -> dict[str, Split]:
    """Every split of DATASET (folder or hub id), images undecoded (`dsd`: that dataset, already
    opened with `dataset_io.load_undecoded`)."""
    from toolkit.dataset_io import load_undecoded

    dsd = dsd if dsd is not None else load_undecoded(dataset)
    out = {}
    for name, ds in dsd.items():
        missing = {"image", "label", "pair_id"} - set(ds.column_names)
        if missing:
            raise ToolkitError(f"{dataset}: split {name} lacks column(s) {', '.join(sorted(missing))}; "
                               "not a paired real/fake dataset")
        images = ImageColumn(ds.select_columns(["image"]), dataset)
        n = len(ds)
        sources = ds["source"] if "source" in ds.column_names else [None] * n
        labels = np.asarray(ds["label"], dtype=np.int64)
        sources = [s or ("real" if lab == 0 else "fake") for s, lab in zip(sources, labels)]
        augs = [_aug_label(a) for a in (ds["augment"] if "augment" in ds.column_names else [None] * n)]
        out[name] = Split(name, images, labels, list(ds["pair_id"]), sources, augs)
    return out


class ImageColumn:
    """The image bytes of a split, read row by row from the Arrow table (memory-mapped by `datasets`)
    instead of all held in memory: a large build is not loaded whole to train on it."""

    def __init__(self, ds, dataset: str, idx: list[int] | None = None):
        self.ds, self.dataset, self.idx = ds, dataset, idx

    def __len__(self) -> int:
        return len(self.idx) if self.idx is not None else len(self.ds)

    def __getitem__(self, i: int) -> bytes:
        j = self.idx[i] if self.idx is not None else i
        return _bytes(self.ds[int(j)]["image"], self.dataset)

    def take(self, idx) -> "ImageColumn":
        base = self.idx
        return ImageColumn(self.ds, self.dataset, [base[i] if base is not None else i for i in idx])


def _bytes(x: dict, dataset: str) -> bytes:
    if x.get("bytes") is not None:
        return x["bytes"]
    if x.get("path"):
        return Path(x["path"]).read_bytes()
    raise ToolkitError(f"{dataset}: a row has an image with neither bytes nor path")


def _aug_label(record) -> str:
    if not record:
        return "none"
    try:
        steps = json.loads(record)
        return "+".join(s.get("op", "?") for s in steps) or "none"
    except (ValueError, TypeError, AttributeError):
        return str(record)


VAL_SPLIT_GUESSES = ("validation", "val", "valid", "test", "train")


def val_split_name(splits: dict, cfg, where: str) -> str:
    """The split of `val_dataset` to validate on: `val_split`, else its only split, else the first of
    VAL_SPLIT_GUESSES it has."""
    if cfg.val_split:
        if cfg.val_split not in splits:
            raise ToolkitError(f"{where}: no split {cfg.val_split!r} (has: {', '.join(splits)}); set val_split=...")
        return cfg.val_split
    if len(splits) == 1:
        return next(iter(splits))
    for name in VAL_SPLIT_GUESSES:
        if name in splits:
            return name
    raise ToolkitError(f"{where}: which split to validate on? (has: {', '.join(splits)}); set val_split=...")


def train_val_test(splits: dict[str, Split], cfg, dataset: str, val_splits: dict | None = None
                   ) -> tuple[Split, Split, Split]:
    """`val_splits`: the splits of `cfg.val_dataset`, already loaded (loaded here when None)."""
    for key in ("train_split", "test_split"):
        if getattr(cfg, key) not in splits:
            raise ToolkitError(f"{dataset}: no split {getattr(cfg, key)!r} (has: {', '.join(splits)}); "
                               f"set {key}=...")
    train = splits[cfg.train_split]
    if cfg.max_train_pairs:
        keep = sorted(train.pairs(), key=lambda g: derive_seed(cfg.seed, train.pair_ids[g[0]], "subsample"))
        train = train.subset(sorted(i for g in keep[: cfg.max_train_pairs] for i in g))
    if getattr(cfg, "val_dataset", None):
        vs = val_splits if val_splits is not None else load_splits(cfg.val_dataset)
        name = val_split_name(vs, cfg, cfg.val_dataset)
        if name == cfg.train_split and os.path.abspath(cfg.val_dataset) == os.path.abspath(dataset):
            raise ToolkitError(f"{dataset}: val_dataset is the training split itself; name another split or dataset")
        val = vs[name]
        if len(set(val.labels.tolist())) < 2:
            raise ToolkitError(f"{cfg.val_dataset}: validation split {val.name} needs both real and fake rows")
    elif cfg.val_split:
        if cfg.val_split not in splits:
            raise ToolkitError(f"{dataset}: no split {cfg.val_split!r} (has: {', '.join(splits)})")
        val = splits[cfg.val_split]
    else:
        groups = train.pairs()
        cut = 2 ** 63 * cfg.val_fraction
        is_val = [derive_seed(cfg.seed, train.pair_ids[g[0]], "val") < cut for g in groups]
        if not any(is_val) and cfg.val_fraction > 0 and len(groups) > 1:
            is_val[0] = True
        val = train.subset([i for g, v in zip(groups, is_val) if v for i in g], "val")
        train = train.subset([i for g, v in zip(groups, is_val) if not v for i in g])
    test = splits[cfg.test_split]
    for s in (train, test):
        if len(set(s.labels.tolist())) < 2:
            raise ToolkitError(f"{dataset}: split {s.name} needs both real and fake rows")
    return train, val, test
