"""Reals from any folder, glob or fsspec URL of image files (local, s3://, gs://, http(s)://, ...).

Captions, optional, come from (first hit wins) a `metadata.jsonl` / `metadata.csv` at the folder's
root with a `file_name` column (the Hugging Face imagefolder convention) and a caption column, or a
sidecar `<stem>.txt` next to the image. Files are read as raw bytes: decoding happens once, in align.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import fsspec
from omegaconf import MISSING

from ..errors import DropSample, ToolkitError
from ..registry import SOURCES
from ..sample import RealRef
from .base import Source

IMAGE_EXTENSIONS = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]


@dataclass
class FolderConfig:
    kind: str = "folder"
    path: str = MISSING  # folder, glob (**/*.jpg) or fsspec URL
    extensions: List[str] = field(default_factory=lambda: list(IMAGE_EXTENSIONS))
    captions: bool = True  # read metadata.jsonl/csv or sidecar .txt captions when present
    caption_column: str = "caption"  # also tried: text, TEXT
    count: Optional[int] = None  # keep the first N files in sorted order
    storage_options: Dict[str, Any] = field(default_factory=dict)


@SOURCES.register("folder", FolderConfig)
class FolderSource(Source):
    kind = "folder"

    def __init__(self, cfg: FolderConfig, recipe):
        super().__init__(cfg, recipe)
        self.fs, self.root = fsspec.core.url_to_fs(cfg.path, **cfg.storage_options)

    def _files(self) -> list[str]:
        exts = {e.lower().lstrip(".") for e in self.cfg.extensions}
        if any(ch in self.cfg.path for ch in "*?["):
            paths = self.fs.glob(self.root)
            base = self.root.split("*", 1)[0].rsplit("/", 1)[0]
        else:
            if not self.fs.exists(self.root):
                raise ToolkitError(f"reals.path: {self.cfg.path}: no such folder")
            if self.fs.isfile(self.root):
                return [self.root]
            paths = self.fs.find(self.root)
            base = self.root
        self._base = base.rstrip("/")
        keep = [p for p in paths if posixpath.splitext(p)[1].lower().lstrip(".") in exts]
        return sorted(keep)

    def check(self) -> None:
        """Run by `toolkit make` before it writes or deletes anything: the path exists and holds images."""
        self._checked = self._files()
        if not self._checked:
            raise ToolkitError(f"reals.path: {self.cfg.path}: no image files ({', '.join(self.cfg.extensions)})")

    def list(self):
        files = getattr(self, "_checked", None) or self._files()
        if not files:
            raise ToolkitError(f"reals.path: {self.cfg.path}: no image files ({', '.join(self.cfg.extensions)})")
        if self.cfg.count is not None:
            files = files[: self.cfg.count]
        table = self._metadata_captions() if self.cfg.captions else {}
        sidecars = set()
        if self.cfg.captions and not table:
            parents = {posixpath.dirname(f) for f in files}
            for d in parents:
                try:
                    sidecars.update(p for p in self.fs.ls(d, detail=False) if p.endswith(".txt"))
                except OSError:
                    pass
        for f in files:
            rel = posixpath.relpath(f, self._base) if self._base else f
            caption = table.get(rel)
            side = posixpath.splitext(f)[0] + ".txt"
            if caption is None and side in sidecars:
                caption = self.fs.cat_file(side).decode("utf-8", "replace").strip()
            yield RealRef(origin=self._origin(f, rel), caption=caption, meta={"path": f, "relpath": rel})

    def _origin(self, path: str, rel: str) -> str:
        """Remote files keep their full URL; local ones are named as the recipe named the folder,
        so a dataset does not record the builder's absolute paths and pair ids survive a move."""
        proto = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        if proto not in ("file", "local"):
            return self.fs.unstrip_protocol(path)
        given = self.cfg.path
        if any(ch in given for ch in "*?["):
            given = given.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0].rsplit("/", 1)[0]
        elif self.fs.isfile(self.root):
            return given
        return posixpath.join(given.rstrip("/") or ".", rel)

    def _metadata_captions(self) -> dict[str, str]:
        for name in ("metadata.jsonl", "metadata.csv"):
            path = f"{self._base}/{name}"
            if not self.fs.exists(path):
                continue
            text = self.fs.cat_file(path).decode("utf-8")
            rows = ([json.loads(line) for line in text.splitlines() if line.strip()] if name.endswith("jsonl")
                    else list(csv.DictReader(io.StringIO(text))))
            if rows and "file_name" not in rows[0]:
                raise ToolkitError(f"{path}: needs a file_name column (has: {', '.join(rows[0])})")
            col = next((c for c in (self.cfg.caption_column, "text", "TEXT") if rows and c in rows[0]), None)
            if rows and col is None:
                raise ToolkitError(f"{path}: no caption column {self.cfg.caption_column!r} "
                                   f"(has: {', '.join(rows[0])})")
            return {r["file_name"]: r[col] for r in rows}
        return {}

    def read(self, ref: RealRef) -> bytes:
        try:
            return self.fs.cat_file(ref.meta["path"])
        except (OSError, ValueError) as e:
            raise DropSample("read_error", f"{ref.origin}: {e}") from None

    def describe(self) -> dict:
        return {"kind": self.kind, "path": self.cfg.path}
