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

from toolkit.config import validation as v
from toolkit.errors import DropSample, ToolkitError
from toolkit.config.registry import SOURCES
from toolkit.sample import RealRef
from toolkit.sources.base import Source

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

    def __post_init__(self):
        v.non_empty("path", self.path)
        v.strings("extensions", self.extensions, allow_empty_list=False)
        v.non_empty("caption_column", self.caption_column)
        v.at_least("count", self.count, 1, optional=True)


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
            try:
                text = self.fs.cat_file(path).decode("utf-8")
            except UnicodeDecodeError as e:
                line = self.fs.cat_file(path)[: e.start].count(b"\n") + 1
                raise ToolkitError(f"{path}: line {line}: not UTF-8 text ({e.reason})") from None
            rows = _jsonl_rows(path, text) if name.endswith("jsonl") else _csv_rows(path, text)
            if rows and "file_name" not in rows[0][1]:
                raise ToolkitError(f"{path}: needs a file_name column (has: {', '.join(map(str, rows[0][1]))})")
            col = next((c for c in (self.cfg.caption_column, "text", "TEXT") if rows and c in rows[0][1]), None)
            if rows and col is None:
                raise ToolkitError(f"{path}: no caption column {self.cfg.caption_column!r} "
                                   f"(has: {', '.join(map(str, rows[0][1]))})")
            table = {}
            for line, r in rows:
                fname, caption = r.get("file_name"), r.get(col)
                if not isinstance(fname, str) or not fname:
                    raise ToolkitError(f"{path}: line {line}: file_name must be a non-empty string, got {fname!r}")
                if caption is not None and not isinstance(caption, str):
                    raise ToolkitError(f"{path}: line {line}: {col} must be a string or null, got {caption!r}")
                table[fname] = caption
            return table
        return {}

    def read(self, ref: RealRef) -> bytes:
        try:
            return self.fs.cat_file(ref.meta["path"])
        except (OSError, ValueError) as e:
            raise DropSample("read_error", f"{ref.origin}: {e}") from None

    def describe(self) -> dict:
        return {"kind": self.kind, "path": self.cfg.path, "card_reals": f": `{self.cfg.path}`"}


def _jsonl_rows(path: str, text: str) -> list[tuple[int, dict]]:
    """(line number, object) per non-blank line; a line that is not a JSON object is one line of error."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ToolkitError(f"{path}: line {n}: invalid JSON ({e.msg}, column {e.colno})") from None
        if not isinstance(obj, dict):
            raise ToolkitError(f"{path}: line {n}: expected a JSON object, got {type(obj).__name__}")
        rows.append((n, obj))
    return rows


def _csv_rows(path: str, text: str) -> list[tuple[int, dict]]:
    """(line number, row) per CSV record, rows whose cells are all empty left out; a malformed record
    is one line of error."""
    reader = csv.DictReader(io.StringIO(text))
    rows, done = [], 0  # done: lines read up to the end of the last good record (or the header)
    try:
        _ = reader.fieldnames  # reads the header
        done = reader.line_num
        for row in reader:
            if any(str(c or "").strip() for k, c in row.items() if k is not None):
                rows.append((reader.line_num, row))
            done = reader.line_num
    except csv.Error as e:
        raise ToolkitError(f"{path}: line {done + 1}: malformed CSV ({e})") from None
    return rows
