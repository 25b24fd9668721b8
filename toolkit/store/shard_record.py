"""The completion record of one shard (`meta/shards/<split>-NNNNN.json`): a type, not a dict of keys.

Written by the pipeline after the shard's data file (and drops file) are in place; read by the runner
(is this shard done?), the summary (the build's counts are the sum of the records), `verify` and the
card. `from_json` is the one place that checks a record read back from disk: keys present, types
right, numbers consistent; a damaged record is one line naming the file.

Versions: 1 is the untyped marker of builds before this module (no `version` key, no `stage_seconds`,
no `drops_file`); it is read with those fields empty. 2 adds them. The JSON keys of version 1 are kept
as they were, so a tool that reads markers as JSON keeps working.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from toolkit.errors import ToolkitError

VERSION = 2
_REQUIRED = ("shard", "split", "file", "sha256", "pairs_planned", "pairs", "rows")


class BadRecord(ToolkitError):
    """A shard record that is not one: the message names the file."""


@dataclass
class ShardRecord:
    shard: str  # <split>-NNNNN
    split: str
    file: Optional[str]  # data/<split>-NNNNN-of-MMMMM.parquet; None when every pair was dropped
    sha256: Optional[str]  # of the data file's bytes
    pairs_planned: int
    pairs: int
    rows: int
    bytes: int = 0
    per_source: dict[str, int] = field(default_factory=dict)  # rows per source (real, each generator)
    per_augment: dict[str, int] = field(default_factory=dict)  # rows per augmentation label
    dropped: dict[str, int] = field(default_factory=dict)  # pairs per drop reason (toolkit/engine/drops.py)
    drop_log: list[dict] = field(default_factory=list)  # the first few drops; all are in drops_file
    drops_file: Optional[str] = None  # meta/drops/<shard>.parquet: every drop (pair_id, origin, reason, detail)
    generators: dict[str, Any] = field(default_factory=dict)  # name -> {provenance, counters}
    captioner: Optional[dict] = None
    features: Optional[dict] = None  # kind -> counters, when the recipe has features
    device: str = "cpu"
    torch_threads: Optional[int] = None
    isolated: bool = False  # a retry after a crash: reals were read in a sandbox process
    workers: dict[str, str] = field(default_factory=dict)  # stage -> worker address (cluster runs)
    seconds: float = 0.0  # wall time of the shard
    stage_seconds: dict[str, float] = field(default_factory=dict)  # read / model / write
    version: int = VERSION

    @property
    def dropped_pairs(self) -> int:
        return sum(self.dropped.values())

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        for optional in ("captioner", "features"):
            if data[optional] is None:
                data.pop(optional)
        if not data["workers"]:
            data.pop("workers")
        return data

    @classmethod
    def from_json(cls, obj: Any, where: str = "shard record") -> "ShardRecord":
        if not isinstance(obj, dict):
            raise BadRecord(f"{where}: expected a JSON object, found {type(obj).__name__}")
        missing = [k for k in _REQUIRED if k not in obj]
        if missing:
            raise BadRecord(f"{where}: lacks key(s) {', '.join(missing)}")
        version = obj.get("version", 1)
        if not _is_int(version) or version > VERSION:
            raise BadRecord(f"{where}: record version {version!r} is newer than this toolkit reads ({VERSION})")
        known = {f.name for f in dataclasses.fields(cls)}
        rec = cls(**{k: v for k, v in obj.items() if k in known})
        bad = [k for k in ("pairs_planned", "pairs", "rows", "bytes") if not _is_int(getattr(rec, k))]
        bad += [k for k in ("file", "sha256") if not (getattr(rec, k) is None or isinstance(getattr(rec, k), str))]
        bad += [k for k in ("shard", "split") if not isinstance(getattr(rec, k), str)]
        for k in ("dropped", "per_source", "per_augment"):
            v = getattr(rec, k)
            if not isinstance(v, dict) or not all(_is_int(n) for n in v.values()):
                bad.append(k)
        if not isinstance(rec.drop_log, list):
            bad.append("drop_log")
        if bad:
            raise BadRecord(f"{where}: wrong type for key(s) {', '.join(bad)}")
        return rec


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
