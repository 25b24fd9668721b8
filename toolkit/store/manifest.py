"""What a published dataset consists of, and a sha256 manifest that proves a copy is whole.

A build folder holds more than the dataset: `_tmp/` (half-written files), `_reals/` (the LAION
download cache, gigabytes of tars), anything a user dropped there. What belongs in a published copy
is fixed here, once, for every kind of push (Hub, S3, any fsspec URL) and for a later `toolkit verify`:

    README.md, recipe.yaml, data/<split>-NNNNN-of-MMMMM.parquet (exactly the shards the plan names),
    meta/** (summary, build record, shard markers, figures, stage results; no `_`-prefixed folder)

`publish.stage.check_build` refuses an incomplete, inconsistent or damaged build before anything is copied, by running
`toolkit verify --quick` (toolkit/verify.py): a damaged side file (truncated plan or marker, recipe that
is not a mapping), a shard of the plan without its marker or its parquet, a parquet whose sha256 is not
the one its marker recorded, a parquet in data/ that the plan does not name (a `data/<split>-*` pattern
would load it), a build that recorded failed shards. One ToolkitError, one line, lists the problems.
A meta/manifest.json in the build folder is never published as is: the stage writes a fresh one.

The manifest (`meta/manifest.json`) maps each file's relative path to its size and sha256. It is
written last, after every file it names, so its presence on a target means the copy finished, and
`verify_manifest(url)` re-reads every file from the target and compares.
"""

from __future__ import annotations

import hashlib
import json

import fsspec

from toolkit.errors import ToolkitError, first_line
from toolkit.store.atomic import AtomicFolder
from toolkit.store.layout import BUILD_FILE, CARD_FILE, RECIPE_FILE, marker_file

MANIFEST_FILE = "meta/manifest.json"
MANIFEST_VERSION = 1
_CHUNK = 1 << 20


def _walk(out: AtomicFolder, rel: str) -> list[str]:
    """Relative paths of every file under `rel` (recursive), skipping `_`-prefixed folders."""
    base = out.path(rel)
    if not out.fs.exists(base):
        return []
    found = []
    for path in out.fs.find(base):
        r = path[len(out.root) + 1:] if path.startswith(out.root + "/") else path
        r = r.lstrip("/")
        if any(part.startswith("_") for part in r.split("/")[:-1]):
            continue
        found.append(r)
    return sorted(found)


def planned_shards(out: AtomicFolder) -> list[tuple[str, int, int]]:
    """(split, index, total) of every shard the build plan names (meta/build.json), in plan order."""
    build = out.read_json(BUILD_FILE)
    shards = []
    for name, total in build.get("shards", {}).items():
        split, index = name.rsplit("-", 1)
        shards.append((split, int(index), int(total)))
    return shards


def data_files(out: AtomicFolder) -> list[str]:
    """The parquet files of a build: those its completion markers name. A shard whose every pair was
    dropped has a marker and no file (parquet readers reject 0-row files)."""
    files = []
    for split, index, _ in planned_shards(out):
        mrel = marker_file(split, index)
        if out.exists(mrel):
            rel = out.read_json(mrel).get("file")
            if rel:
                files.append(rel)
    return files


def publishable_files(out: AtomicFolder, planned: list[str] | None = None) -> list[str]:
    """README.md, recipe.yaml, the shards, features/** (per-row side features, their own card configs),
    meta/** (not the manifest itself, not `_` folders)."""
    planned = planned if planned is not None else data_files(out)
    meta = [r for r in _walk(out, "meta") if r != MANIFEST_FILE]
    return sorted([CARD_FILE, RECIPE_FILE, *planned, *_walk(out, "features"), *meta])


def sha256_file(fs, path: str) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with fs.open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def build_manifest(root: str, files: list[str], storage_options: dict | None = None) -> dict:
    """sha256 and size of each of `files` (relative to `root`, a path or fsspec URL)."""
    out = AtomicFolder(root, storage_options)
    entries = {}
    for rel in files:
        digest, size = sha256_file(out.fs, out.path(rel))
        entries[rel] = {"sha256": digest, "size": size}
    return {"version": MANIFEST_VERSION, "algorithm": "sha256", "files": entries}


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()


def verify_manifest(url: str, storage_options: dict | None = None, expected: dict | None = None) -> list[str]:
    """Re-read every file the manifest at `url` names and compare size and sha256.

    Returns the list of problems (empty: the copy is whole). When `expected` (the manifest that was
    uploaded) is given, the target's manifest must also be identical to it."""
    from toolkit.store.build_dir import BadFile, read_json

    out = AtomicFolder(url, storage_options)
    if not out.exists(MANIFEST_FILE):
        return [f"{out.path(MANIFEST_FILE)}: no manifest (the copy did not finish)"]
    try:
        manifest = read_json(out, MANIFEST_FILE, keys=("files",))
    except BadFile as e:
        return [str(e)]
    files = manifest["files"]
    if not isinstance(files, dict) or not all(isinstance(v, dict) and {"sha256", "size"} <= set(v)
                                              for v in files.values()):
        return [f"{MANIFEST_FILE}: 'files' must map paths to {{sha256, size}}"]
    problems = []
    if expected is not None and manifest != expected:
        problems.append(f"{MANIFEST_FILE} differs from the manifest that was uploaded")
    for rel, want in sorted(files.items()):
        path = out.path(rel)
        if not out.fs.exists(path):
            problems.append(f"{rel}: missing")
            continue
        digest, size = sha256_file(out.fs, path)
        if size != want["size"] or digest != want["sha256"]:
            problems.append(f"{rel}: sha256/size differ ({size} bytes, expected {want['size']})")
    return problems


def url_to_fs(url: str, storage_options: dict | None = None):
    """fsspec filesystem for a URL, with a one-line error when its protocol's package is missing."""
    try:
        return fsspec.core.url_to_fs(url, **(storage_options or {}))
    except (ImportError, TypeError, ValueError) as e:
        first = first_line(e)
        raise ToolkitError(f"{url}: cannot open this URL ({first})") from None
