"""Opening a build folder, and reading its side files so that damage is one readable line naming the file.

`open_build(path)` is the one place that decides "this is a toolkit build": a folder (or fsspec URL)
holding `meta/build.json`. Every command that takes a build (verify, push, card, inspect, audit of a
build) calls it first, so a path that does not exist and a folder that is not a build give the same
one-line error and the same exit code (2, via ToolkitError) everywhere:

    toolkit: error: /no/such/dir: no such file or directory (expected a toolkit build folder)
    toolkit: error: ./photos: not a toolkit build (no meta/build.json)

The readers below (`read_file`, `read_json`, `read_yaml_mapping`, `read_parquet`) raise `BadFile`, a
ToolkitError whose message starts with the file's path relative to the build: a truncated JSON marker,
a recipe.yaml that is not a mapping, a parquet cut in half. `toolkit verify` turns each into one problem
line; the other commands let the CLI print it.

Parquet is read with `ParquetFile(BufferReader(bytes)).read(use_threads=False)`: synchronous, on the
calling thread, so no Arrow pool thread is ever started or left holding a Python object. (The dataset
path that `pq.read_table(file_object)` takes hands the Python file to Arrow's pool threads, which may
drop their last reference to it while the interpreter shuts down: they then need the GIL, get
`pthread_exit`ed by CPython, and the unwind through a noexcept C++ destructor calls std::terminate:
"terminate called without an active exception", SIGABRT, exit 134, after the command printed OK.)
"""

from __future__ import annotations

import hashlib

from toolkit.errors import ToolkitError, first_line
from toolkit.store.atomic import AtomicFolder
from toolkit.store.layout import BUILD_FILE


class BadFile(ToolkitError):
    """A file of a build that is missing, unreadable or not what it must be; the message names it."""


def _first_line(e: BaseException) -> str:
    return first_line(e)[:300]


def open_output(path: str, storage_options: dict | None = None) -> AtomicFolder:
    """`AtomicFolder(path)` with a one-line error for a URL whose protocol cannot be opened."""
    try:
        return AtomicFolder(str(path), storage_options)
    except (ImportError, TypeError, ValueError) as e:
        raise ToolkitError(f"{path}: cannot open this URL ({_first_line(e)})") from None


def open_build(path: str, storage_options: dict | None = None) -> AtomicFolder:
    """The build at `path`, or a one-line ToolkitError (exit 2): no such path, or not a toolkit build."""
    out = open_output(path, storage_options)
    try:
        if out.exists(BUILD_FILE):
            return out
        found = out.fs.exists(out.root)
    except Exception as e:  # noqa: BLE001 - permissions, network: one line naming the path
        raise ToolkitError(f"{path}: cannot access ({type(e).__name__}: {_first_line(e)})") from None
    if not found:
        raise ToolkitError(f"{path}: no such file or directory (expected a toolkit build folder)")
    raise ToolkitError(f"{path}: not a toolkit build (no {BUILD_FILE})")


def read_file(out: AtomicFolder, rel: str) -> bytes:
    try:
        return out.read_bytes(rel)
    except FileNotFoundError:
        raise BadFile(f"{rel}: missing") from None
    except IsADirectoryError:
        raise BadFile(f"{rel}: is a folder, not a file") from None
    except Exception as e:  # noqa: BLE001
        raise BadFile(f"{rel}: unreadable ({type(e).__name__}: {_first_line(e)})") from None


def read_json(out: AtomicFolder, rel: str, keys: tuple[str, ...] = (), data: bytes | None = None) -> dict:
    """A JSON object with at least `keys`, or BadFile naming `rel` (truncated, not JSON, not an object)."""
    import json

    data = read_file(out, rel) if data is None else data
    if not data.strip():
        raise BadFile(f"{rel}: empty ({len(data)} bytes; truncated?)")
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadFile(f"{rel}: not valid JSON ({_first_line(e)}; truncated or edited?)") from None
    if not isinstance(obj, dict):
        raise BadFile(f"{rel}: expected a JSON object, found {type(obj).__name__}")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise BadFile(f"{rel}: lacks key(s) {', '.join(missing)}")
    return obj


def read_yaml_mapping(out: AtomicFolder, rel: str) -> dict:
    """A YAML mapping (an empty file is {}), or BadFile naming `rel`."""
    import yaml

    data = read_file(out, rel)
    try:
        obj = yaml.safe_load(data)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        what = getattr(e, "problem", None) or _first_line(e)
        raise BadFile(f"{rel}: not valid YAML ({what}{at})") from None
    except UnicodeDecodeError as e:
        raise BadFile(f"{rel}: not valid YAML (not UTF-8 text: {_first_line(e)})") from None
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise BadFile(f"{rel}: expected a YAML mapping (the resolved recipe), found {type(obj).__name__}")
    return obj


def read_parquet(rel: str, data: bytes, columns: list[str] | None = None, require: list[str] | None = None):
    """`columns` (default all) of the parquet in `data` (the bytes of `rel`) as a pyarrow Table, or BadFile:
    truncated, not parquet, lacks one of `columns` or `require` (checked in the footer, not read).

    Synchronous and single-threaded on purpose: see the module docstring (SIGABRT at exit)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not data:
        raise BadFile(f"{rel}: empty (0 bytes; truncated?)")
    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        names = pf.schema_arrow.names
        missing = [c for c in dict.fromkeys([*(require or []), *(columns or [])]) if c not in names]
        if missing:
            raise BadFile(f"{rel}: lacks column(s) {', '.join(missing)}")
        return pf.read(columns=columns, use_threads=False)
    except BadFile:
        raise
    except Exception as e:  # noqa: BLE001 - ArrowInvalid, OSError, ...: one line naming the file
        raise BadFile(f"{rel}: not a readable parquet file ({type(e).__name__}: {_first_line(e).rstrip('.')}; "
                      "truncated or overwritten?)") from None


def plan_fingerprint(shards: list[tuple[str, int, list[str]]]) -> str:
    """sha256 over (shard name, total, pair ids) in plan order: build.json stores it, verify recomputes it.

    The one copy: the runner imports it from here to write build.json, so checking a build does not
    import the build pipeline (torch-free)."""
    h = hashlib.sha256()
    for name, total, ids in shards:
        h.update(f"{name}/{total}:".encode())
        h.update(",".join(ids).encode())
    return h.hexdigest()[:16]
