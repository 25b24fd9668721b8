"""Reading a LAION-style URL list (parquet, csv/tsv, jsonl; a file, folder or glob on any fsspec URL) into one
normalised table: url, caption, width, height, punsafe, pwatermark and the row index."""

from __future__ import annotations



import difflib
import posixpath
from typing import Any, Optional

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from toolkit.errors import ToolkitError, first_line
from toolkit.sources.laion.config import (FORMATS, HEIGHT_COLS, PUNSAFE_COLS, PWATERMARK_COLS, WIDTH_COLS,
                                         LaionConfig)


# ------------------------------------------------------------------------------------------------
# reading the URL list


def input_files(cfg: LaionConfig) -> tuple[Any, list[str]]:
    try:
        return _find_input_files(cfg)
    except ToolkitError:
        raise
    except Exception as e:  # noqa: BLE001 - e.g. a gated Hub repo without a token: one line, not a traceback
        first = first_line(e)
        raise ToolkitError(f"reals.url_list: {cfg.url_list}: cannot open: {type(e).__name__}: {first}") from None


def _find_input_files(cfg: LaionConfig) -> tuple[Any, list[str]]:
    fs, path = fsspec.core.url_to_fs(cfg.url_list, **cfg.storage_options)
    if any(ch in cfg.url_list for ch in "*?["):
        files = sorted(fs.glob(path))
    elif not fs.exists(path):
        raise ToolkitError(f"reals.url_list: {cfg.url_list}: no such file")
    elif fs.isdir(path):
        files = sorted(p for p in fs.find(path) if format_of(p, cfg.input_format, strict=False))
    else:
        files = [path]
    if not files:
        raise ToolkitError(f"reals.url_list: {cfg.url_list}: no URL list files "
                           f"({', '.join(sorted(set(FORMATS.values())))})")
    return fs, files


def format_of(path: str, given: Optional[str], strict: bool = True) -> Optional[str]:
    if given:
        if given not in set(FORMATS.values()):
            raise ToolkitError(f"reals.input_format: unknown format {given!r} "
                               f"(known: {', '.join(sorted(set(FORMATS.values())))})")
        return given
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    fmt = FORMATS.get(posixpath.splitext(name)[1])
    if fmt is None and strict:
        raise ToolkitError(f"reals.url_list: {path}: cannot tell the format from the extension "
                           f"(set reals.input_format: parquet | csv | tsv | jsonl)")
    return fmt


def _open_table_reader(fs, path: str, fmt: str):
    """(column names, iterator of record batches) of one list file; the schema is read first."""
    compression = "gzip" if path.lower().endswith(".gz") else None
    f = fs.open(path, "rb", compression=compression)
    try:
        if fmt == "parquet":
            pf = pq.ParquetFile(f)
            names = pf.schema_arrow.names
            return names, (lambda cols: pf.iter_batches(batch_size=65_536, columns=cols)), f
        if fmt in ("csv", "tsv"):
            import pyarrow.csv as pcsv

            parse = pcsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
            reader = pcsv.open_csv(f, parse_options=parse)
            names = reader.schema.names
            return names, (lambda cols: (b.select(cols) for b in reader)), f
        if fmt == "jsonl":
            import pyarrow.json as pjson

            table = pjson.read_json(f)
            names = table.column_names
            return names, (lambda cols: table.select(cols).to_batches()), f
    except ToolkitError:
        f.close()
        raise
    except Exception as e:  # noqa: BLE001 - one readable line, not a parser traceback
        f.close()
        first = first_line(e)
        raise ToolkitError(f"reals.url_list: {path}: cannot read as {fmt}: {first}") from None
    raise ToolkitError(f"reals.input_format: unknown format {fmt!r}")


def _column(names: list[str], wanted: Optional[str], key: str, path: str, auto=()) -> Optional[str]:
    """The column to use for `key` (explicit name must exist; auto: first candidate present)."""
    if wanted is None:
        return next((c for c in auto if c in names), None)
    if wanted in names:
        return wanted
    close = [n for n in names if n.lower() == wanted.lower()] or difflib.get_close_matches(wanted, names, n=1)
    hint = f"; set reals.{key}: {close[0]}" if close else ""
    raise ToolkitError(f"reals.url_list: {path}: no column {wanted!r} (reals.{key}); "
                       f"columns: {', '.join(names)}{hint}")


def read_url_table(cfg: LaionConfig) -> tuple[pa.Table, dict]:
    """The URL list as one table with normalised columns: url, caption, width, height, punsafe,
    pwatermark (missing ones null), limited to `count` rows; plus {files, columns} info."""
    fs, files = input_files(cfg)
    batches: list[pa.Table] = []
    used: dict[str, Optional[str]] = {}
    remaining = cfg.count
    for path in files:
        if remaining is not None and remaining <= 0:
            break
        fmt = format_of(path, cfg.input_format)
        names, read, handle = _open_table_reader(fs, path, fmt)
        with handle:
            cols = {
                "url": _column(names, cfg.url_col, "url_col", path),
                "caption": _column(names, cfg.caption_col, "caption_col", path) if cfg.caption_col else None,
                "width": _column(names, cfg.width_col, "width_col", path, WIDTH_COLS),
                "height": _column(names, cfg.height_col, "height_col", path, HEIGHT_COLS),
                "punsafe": _column(names, None, "", path, PUNSAFE_COLS),
                "pwatermark": _column(names, None, "", path, PWATERMARK_COLS),
            }
            if used and cols != used:
                raise ToolkitError(f"reals.url_list: {path}: columns differ from the first file's "
                                   f"({cols} vs {used})")
            used = cols
            present = [c for c in cols.values() if c]
            try:
                for batch in read(present):
                    t = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
                    if remaining is not None:
                        t = t.slice(0, remaining)
                        remaining -= t.num_rows
                    batches.append(_normalise(t, cols))
                    if remaining is not None and remaining <= 0:
                        break
            except ToolkitError:
                raise
            except Exception as e:  # noqa: BLE001
                first = first_line(e)
                raise ToolkitError(f"reals.url_list: {path}: cannot read: {first}") from None
    table = pa.concat_tables(batches) if batches else _normalise(pa.table({"u": pa.array([], pa.string())}),
                                                                  {"url": "u"})
    return table, {"files": [posixpath.basename(p) for p in files], "columns": used}


_SCHEMA = pa.schema([("url", pa.string()), ("caption", pa.string()), ("width", pa.float64()),
                     ("height", pa.float64()), ("punsafe", pa.float64()), ("pwatermark", pa.float64())])


def _normalise(t: pa.Table, cols: dict) -> pa.Table:
    out = []
    for f in _SCHEMA:
        src = cols.get(f.name)
        if src is None:
            out.append(pa.nulls(t.num_rows, f.type))
            continue
        col = t.column(src)
        if pa.types.is_string(f.type):
            out.append(col.cast(pa.string()) if not pa.types.is_string(col.type) else col)
        else:
            try:
                out.append(pc.cast(col, pa.float64(), safe=False))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # "12"-like strings, or junk
                out.append(pa.array([_to_float(v) for v in col.to_pylist()], pa.float64()))
    return pa.Table.from_arrays([pa.chunked_array(c) if isinstance(c, pa.ChunkedArray) else c for c in out],
                                schema=_SCHEMA)


def _to_float(v) -> Optional[float]:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


