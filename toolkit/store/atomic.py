"""Crash-safe writes on any fsspec filesystem.

A file is written under OUT/_tmp/ and moved into place only when complete, so a killed build never
leaves a half-written shard where a reader (or the resume logic) would take it for a finished one.
On local disks the move is an atomic rename; on object stores it is copy + delete, which is why the
completion marker is always written last and is what "finished" means.
"""

from __future__ import annotations

import json
import uuid

import fsspec


class AtomicFolder:
    """A folder (local path or any fsspec URL) whose files are only ever replaced whole: every write goes
    to `_tmp/` first and is moved into place when complete."""

    def __init__(self, url: str, storage_options: dict | None = None):
        self.url = url
        self.fs, self.root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self.root = self.root.rstrip("/")

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def exists(self, rel: str) -> bool:
        return self.fs.exists(self.path(rel))

    def write_bytes(self, rel: str, data: bytes) -> None:
        tmp = self.path(f"_tmp/{uuid.uuid4().hex}-{rel.replace('/', '_')}")
        self.fs.makedirs(self.path("_tmp"), exist_ok=True)
        with self.fs.open(tmp, "wb") as f:
            f.write(data)
        final = self.path(rel)
        parent = final.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        self.fs.mv(tmp, final)

    def write_text(self, rel: str, text: str) -> None:
        self.write_bytes(rel, text.encode("utf-8"))

    def write_json(self, rel: str, obj) -> None:
        self.write_text(rel, json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n")

    def read_bytes(self, rel: str) -> bytes:
        return self.fs.cat_file(self.path(rel))

    def read_json(self, rel: str):
        return json.loads(self.read_bytes(rel))

    def ls(self, rel: str) -> list[str]:
        p = self.path(rel)
        if not self.fs.exists(p):
            return []
        return sorted(x.rsplit("/", 1)[-1] for x in self.fs.ls(p, detail=False))

    def rm(self, rel: str = "") -> None:
        p = self.path(rel) if rel else self.root
        if self.fs.exists(p):
            self.fs.rm(p, recursive=True)
