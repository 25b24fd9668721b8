"""Reals from a LAION-style URL list, downloaded with img2dataset: `reals: {kind: laion, ...}`.

The URL list is any fsspec URL or local path to a parquet, csv/tsv or jsonl file (or a folder or
glob of them, read in sorted order), e.g. one part of the Re-LAION-5B research-safe metadata
(lowercase `url`, `caption`, `original_width`, `original_height`, `punsafe`, `pwatermark`) or an
older LAION dump (`URL`, `TEXT`, `WIDTH`, `HEIGHT`): `url_col` / `caption_col` name the columns.
The schema is read first; a missing column is a one-line error naming the file and the columns it
has.

What `list()` does, once, on the client (its result is persisted, so a re-run lists the same reals):

1. **Read and filter** (no network): the first `count` rows; then each row is kept or counted under
   the first reason that applies: `missing_url`, `unsupported_scheme` (anything but an http/https
   URL: `file:`, `data:`, `ftp:`, `s3:`, bare or relative paths, in any case or wrapping such as
   ` FILE:///x` or `<file:/x>`; the scheme is read as urllib reads it), `filter_too_small` (listed
   width/height below `min_width`/`min_height`, which default to `image.min_size`), `filter_aspect_ratio`,
   `filter_punsafe` / `filter_pwatermark` (above the threshold, when the column exists; a missing
   score with a threshold set counts as `filter_punsafe_unknown` / `filter_pwatermark_unknown`),
   `duplicate_url` (the first occurrence wins). Unknown listed sizes pass: align checks real sizes.
2. **Download** with img2dataset as a library, through the toolkit's guard (`fetch.py`,
   installed in img2dataset's own download processes): http/https only, redirects included (a
   redirect to another scheme fails as `unsupported_scheme`; the opener has no file, ftp or data
   handler at all), at most `deadline` seconds per image in all (connect, headers and body; a server
   trickling bytes under the per-read `timeout` is cut: `deadline_exceeded`) and at most `max_bytes`
   bytes per image (`too_large`, at once when Content-Length says so). So nothing outside the output
   folder is read or written because of a URL list. With `disable_all_reencoding=True` and
   `resize_mode="no"`: the bytes stored are exactly the bytes the server sent (img2dataset's
   defaults pad to 256 px with white borders and re-encode to JPEG q95, a processing history the
   fakes would not share; `transforms/align.py` is the only resize and the only decode). Nothing is
   decoded at download time, so broken files (truncated, HTML served as image/jpeg, decompression
   bombs) are dropped by align under its own reasons, like any other source's.
3. **Index** each finished img2dataset shard: offset and size of every image inside its tar, the
   format read from the bytes' signature, a JPEG quality estimate from the quantisation tables
   (`transforms/jpeg_quality.py`) and a sha256 of the bytes.
4. **Merge**: img2dataset's per-sample status becomes a drop reason per failed URL (`http_404`,
   `http_500`, `timeout`, `deadline_exceeded`, `too_large`, `unsupported_scheme` (a redirect),
   `incomplete_read`, `connection_refused`, `dns_error`, `ssl_error`, `invalid_url`,
   `robots_disallowed`, ... or `download_error:<normalised message>`), exact
   duplicates by content hash are dropped as `duplicate_content` (the first in list order wins),
   and the rest are the reals, in list order. Every input row is accounted for: kept + all drop
   reasons == rows read (checked). The counts go to `self.dropped` (the build summary) and, with
   img2dataset's raw per-shard stats (successes, failures by error message), to
   `OUT/meta/laion/stats.json` for the card.

Where downloads live: `OUT/_reals/laion/` (build-local, like `OUT/_tmp/`; no `data/<split>-*`
pattern can match it, and a push to the Hub should skip `_`-prefixed folders)::

    urls.parquet            the filtered URL list img2dataset reads (url, caption, row)
    state.json              fingerprint of that list; `complete` once every shard is indexed
    img2dataset/NNNNN.tar   img2dataset's webdataset shards (image + caption + json per sample)
    img2dataset/NNNNN.parquet, NNNNN_stats.json   its per-sample status and per-shard stats
    index/NNNNN.parquet     the toolkit's index of one finished shard (tar offsets, hashes, format)

Why the webdataset output format: `read(ref)` must return one image's raw bytes in a worker, on any
filesystem. A tar stores each member's bytes contiguously and uncompressed, so once the offsets are
indexed a read is a single ranged `cat_file` (one request on an object store), and a shard of
`samples_per_shard` images is a few files, not one per image. img2dataset's `files` format would
give direct reads too, but three files per sample (millions of small files for a LAION-scale list:
inode pressure, slow listing and deletion, per-object costs); its `parquet` format keeps bytes in
row groups that must be read whole. The cost of tars: the index pass reads each shard once after
download (cheap on a local disk, a full read of the shard on a remote one), and a shard that failed
half way is downloaded again as a whole. Note img2dataset names every image member `<key>.jpg`
whatever its real format; the index records the format read from the bytes.

Resume: img2dataset runs in its `incremental` mode (a shard with a `*_stats.json` is complete and
skipped), the toolkit indexes only shards without an index, and `state.json` says when everything
is done, so a re-run of a finished listing starts no download at all. The fingerprint in
`state.json` guards against resuming over a different URL list (`--overwrite` starts over).

Concurrency (`processes`, `threads`, `timeout`, `retries`) goes straight to img2dataset. Defaults
are for one machine: one process per core (at most 8), 32 threads each, 10 s timeout, no retries
(img2dataset retries every failure, 404s included). Links rot: expect 60-85% of a LAION list to
download today.

Limits per image: `deadline` (default 60 s, per attempt: a 20 MB image at a slow 0.5 MB/s still
fits, while a server trickling bytes holds one of the 32 threads a minute at most, not forever)
and `max_bytes` (default 256 MiB = `image.max_pixels` x 3, the raw 8-bit RGB size of the largest
image align accepts: any compressed image align could keep fits; an endless body cannot fill memory
or disk; img2dataset keeps up to 2 x threads images in memory per process, so lower it with many
threads on a small machine). Both, like `timeout` and the concurrency keys, are `runtime_fields`:
they bound what one URL may cost, while what is kept is decided by the filters and by align, so
changing them does not change the recipe hash (a re-run resumes; a finished download is not redone).
The values are checked when the recipe is read (`LaionConfig.__post_init__`: a one-line recipe
error naming `reals.<key>`, before anything is downloaded).
"""

from __future__ import annotations



import contextlib
import hashlib
import io
import math
import os
import sys
import tarfile
import types
from collections import Counter
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.errors import DropSample, ToolkitError, first_line
from toolkit.config.registry import SOURCES
from toolkit.sample import RealRef
from toolkit.store.atomic import AtomicFolder
from toolkit.sources.base import Source
from toolkit.sources.laion.fetch import ALLOWED_SCHEMES, guarded
from toolkit.sources.laion.config import (DOWNLOAD_DIR, I2D_DIR, IMAGE_EXT, INDEX_COL, INDEX_DIR, OOM_SHARD_COUNT,
                                         STATS_FILE, LaionConfig)
from toolkit.sources.laion.filters import filter_urls
from toolkit.sources.laion.outcomes import describe_bytes, download_reason
from toolkit.sources.laion.url_table import format_of, input_files, read_url_table


# What a card may claim about LAION reals: the rights belong to each image's owner, unknown.
LAION_LICENSE = {
    "license": "other",
    "license_name": "laion-derived-unknown-rights-research-only",
    "research_only": True,
    "summary": ("The reals were downloaded from the URLs of a LAION-style list. The rights to each "
                "image belong to its owner and are **unknown** (LAION distributes links, not licences). "
                "This dataset is provided **for research only**."),
    "text": ("The real images were downloaded from third-party web servers listed in a LAION-style URL "
             "list (LAION publishes URLs and captions under CC-BY 4.0; it grants no rights to the images "
             "behind them). The copyright and any other rights to each image, and to each fake derived "
             "from it, remain with the image's owner and are unknown per image.\n\n"
             "Use is restricted to non-commercial scientific research on the detection of AI-generated "
             "images. Do not redistribute the images outside that purpose. A rights holder who wants an "
             "image removed can ask the publisher of this repository; every row's `origin` column holds "
             "the URL it came from, so an image can be found and removed.\n"),
}


# ------------------------------------------------------------------------------------------------
# the source


@SOURCES.register("laion", LaionConfig)
class LaionSource(Source):
    """See the module docstring. `list()` (and reading `dropped`) filters, downloads, indexes and
    merges once per object; `read()` only needs the download folder, so workers never list."""

    kind = "laion"

    def __init__(self, cfg: LaionConfig, recipe):
        self._dropped: dict[str, int] = {}
        self._refs: Optional[list[RealRef]] = None
        super().__init__(cfg, recipe)  # values were checked by LaionConfig.__post_init__
        self._root_url = f"{(recipe.output or recipe.output_url()).rstrip('/')}/{DOWNLOAD_DIR}"
        self._store: Optional[AtomicFolder] = None

    # `dropped` is filled by the listing. plan_build copies it before it iterates list(), so reading
    # it runs the listing first (idempotent): the counts are complete whichever comes first.
    @property
    def dropped(self) -> dict[str, int]:
        if self._refs is None and hasattr(self, "_root_url"):
            self._prepare()
        return self._dropped

    @dropped.setter
    def dropped(self, value: dict[str, int]) -> None:
        self._dropped = value

    @property
    def store(self) -> AtomicFolder:
        if self._store is None:
            self._store = AtomicFolder(self._root_url)
        return self._store

    def check(self) -> None:
        """Run by `toolkit make` before it writes or deletes anything: the URL list exists and each file's
        format is known (its rows are read when listing)."""
        _, files = input_files(self.cfg)
        for path in files:
            format_of(path, self.cfg.input_format)

    def list(self):
        yield from self._prepare()

    def read(self, ref: RealRef) -> bytes:
        loc = ref.meta["path"]
        path = self.store.path(loc["tar"])
        start, size = int(loc["offset"]), int(loc["size"])
        try:
            data = self.store.fs.cat_file(path, start=start, end=start + size)
        except (OSError, ValueError) as e:
            raise DropSample("read_error", f"{ref.origin}: {loc['tar']}: {e}") from None
        if len(data) != size or hashlib.sha256(data).hexdigest() != ref.meta["sha256"]:
            raise DropSample("read_error", f"{ref.origin}: {loc['tar']}@{start}: bytes differ from the download")
        return data

    def describe(self) -> dict:
        i2d = _img2dataset_version()
        c = self.cfg
        return {"kind": self.kind, "url_list": c.url_list, "url_col": c.url_col, "caption_col": c.caption_col,
                "filters": {"min_width": self._min("width"), "min_height": self._min("height"),
                            "max_aspect_ratio": c.max_aspect_ratio, "max_punsafe": c.max_punsafe,
                            "max_pwatermark": c.max_pwatermark},
                "downloader": f"img2dataset {i2d} (no resize, no re-encode)", "stats": STATS_FILE,
                "card_reals": (f": the URL list `{c.url_list}` (columns `{c.url_col}`, `{c.caption_col}`), "
                               f"downloaded by img2dataset {i2d} (no resize, no re-encode)"),
                "card_limitations": (
                    "- **Web content.** The reals inherit LAION's biases (English captions, web-photography "
                    "styles, over-represented\n  subjects, watermarks, possibly unsafe content that the filters "
                    "above did not remove). Links rot: rebuilding\n  from the same URL list gives fewer pairs.\n"),
                "license": LAION_LICENSE}

    # --- the listing ------------------------------------------------------------------------------

    def _min(self, which: str) -> int:
        v = getattr(self.cfg, f"min_{which}")
        return int(self.recipe.image.min_size if v is None else v)

    def _prepare(self) -> list[RealRef]:
        if self._refs is not None:
            return self._refs
        cfg = self.cfg
        table, info = read_url_table(cfg)
        keep, pre_drops, not_applied = filter_urls(
            table, min_width=self._min("width"), min_height=self._min("height"),
            max_aspect_ratio=cfg.max_aspect_ratio, max_punsafe=cfg.max_punsafe, max_pwatermark=cfg.max_pwatermark)
        todo = table.take(pa.array(keep, pa.int64())).append_column(INDEX_COL, pa.array(keep, pa.int64()))
        i2d_stats = self._download(todo) if todo.num_rows else {}
        kept, post_drops, formats, qualities = self._merge(todo, i2d_stats)

        dropped = Counter(pre_drops) + post_drops
        accounted = len(kept) + sum(dropped.values())
        if accounted != table.num_rows:  # nothing may be dropped silently
            raise ToolkitError(f"reals (laion): {table.num_rows} rows read but {accounted} accounted for "
                               f"({len(kept)} kept, dropped {dict(dropped)}); this is a bug")
        self._dropped = dict(sorted(dropped.items()))
        self._write_stats(table.num_rows, info, not_applied, pre_drops, todo.num_rows, i2d_stats, post_drops,
                          len(kept), formats, qualities)
        self._refs = kept
        return kept

    def _fingerprint(self, todo: pa.Table) -> str:
        h = hashlib.sha256(f"laion-v1\x1f{self.cfg.samples_per_shard}\x1f".encode())
        for row, url, cap in zip(todo.column(INDEX_COL).to_pylist(), todo.column("url").to_pylist(),
                                 todo.column("caption").to_pylist()):
            h.update(f"{row}\x1f{url}\x1f{cap}\x1e".encode())
        return h.hexdigest()[:16]

    def _shard_names(self, n_urls: int) -> list[str]:
        return [f"{i:0{OOM_SHARD_COUNT}d}" for i in range(math.ceil(n_urls / self.cfg.samples_per_shard))]

    def _download(self, todo: pa.Table) -> dict[str, dict]:
        """Run img2dataset (resumably) over `todo` and index its shards; returns per-shard stats."""
        store = self.store
        fingerprint = self._fingerprint(todo)
        shards = self._shard_names(todo.num_rows)
        state = store.read_json("state.json") if store.exists("state.json") else None
        if state is not None and state.get("fingerprint") != fingerprint:
            raise ToolkitError(f"{self._root_url}: holds downloads of a different URL list (fingerprint "
                               f"{state.get('fingerprint')} vs {fingerprint}); pass --overwrite to start over")
        if not (state and state.get("complete")):
            store.write_json("state.json", {"fingerprint": fingerprint, "complete": False, "urls": todo.num_rows,
                                            "shards": len(shards)})
            if not store.exists("urls.parquet"):
                buf = io.BytesIO()
                cols = ["url", "caption", INDEX_COL]
                pq.write_table(todo.select(cols), buf)
                store.write_bytes("urls.parquet", buf.getvalue())
            finished = {n for n in shards if store.exists(f"{I2D_DIR}/{n}_stats.json")}
            for n in shards:  # an index without its shard's stats belongs to an older, unfinished download
                if n not in finished and store.exists(f"{INDEX_DIR}/{n}.parquet"):
                    store.rm(f"{INDEX_DIR}/{n}.parquet")
            if len(finished) < len(shards):
                self._run_img2dataset(todo)
            missing = [n for n in shards if not store.exists(f"{I2D_DIR}/{n}_stats.json")]
            if missing:
                raise ToolkitError(f"reals (laion): img2dataset did not finish {len(missing)} of {len(shards)} "
                                   f"download shard(s) ({', '.join(missing[:5])}); re-run the same command to "
                                   f"retry them (finished shards are kept)")
            for n in shards:
                if not store.exists(f"{INDEX_DIR}/{n}.parquet"):
                    self._index_shard(n)
            store.write_json("state.json", {"fingerprint": fingerprint, "complete": True, "urls": todo.num_rows,
                                            "shards": len(shards)})
            store.rm("_tmp")  # AtomicFolder's staging folder for the files above (empty by now)
        return {n: store.read_json(f"{I2D_DIR}/{n}_stats.json") for n in shards}

    def _run_img2dataset(self, todo: pa.Table) -> None:
        cfg = self.cfg
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check at import (also in children)
        try:
            import importlib

            # the module, not the `main` function img2dataset's __init__ re-exports under that name
            i2d_main = importlib.import_module("img2dataset.main")
        except ImportError as e:
            raise ToolkitError(f"reals.kind laion needs img2dataset (pip install 'img2dataset==1.47.*'): {e}") from None
        self.store.rm(f"{I2D_DIR}/_tmp")  # img2dataset's own leftovers of a killed run
        processes = cfg.processes or max(1, min(8, os.cpu_count() or 1))
        kwargs = dict(
            url_list=self._url("urls.parquet"), output_folder=self._url(I2D_DIR),
            input_format="parquet", url_col="url",
            caption_col="caption" if todo.column("caption").null_count < todo.num_rows else None,
            save_additional_columns=[INDEX_COL],
            output_format="webdataset", encode_format=IMAGE_EXT,
            resize_mode="no", disable_all_reencoding=True,  # the original bytes, untouched
            extract_exif=False, compute_hash="sha256",
            processes_count=processes, thread_count=cfg.threads, timeout=cfg.timeout, retries=cfg.retries,
            number_sample_per_shard=cfg.samples_per_shard, oom_shard_count=OOM_SHARD_COUNT,
            incremental_mode="incremental", max_shard_retry=1, distributor="multiprocessing",
            enable_wandb=False, user_agent_token=cfg.user_agent_token,
            disallowed_header_directives=list(cfg.disallowed_header_directives),
        )
        with _img2dataset_guard(i2d_main):
            try:
                # http(s) only, a total deadline and a byte cap per image, in img2dataset's own processes
                with guarded(i2d_main, deadline=cfg.deadline, max_bytes=cfg.max_bytes,
                             allow_private=cfg.allow_private_addresses):
                    i2d_main.download(**kwargs)
            except ToolkitError:
                raise
            except Exception as e:  # noqa: BLE001 - one line; finished shards are kept for the re-run
                first = first_line(e)
                raise ToolkitError(f"reals (laion): img2dataset failed: {type(e).__name__}: {first}") from None

    def _url(self, rel: str) -> str:
        """A path img2dataset can take: plain absolute on a local disk, a full URL elsewhere."""
        fs, path = self.store.fs, self.store.path(rel)
        protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
        return os.path.abspath(path) if "file" in protocols else fs.unstrip_protocol(path)

    def _index_shard(self, name: str) -> None:
        """Offsets, sizes and byte metadata of every image in one finished img2dataset tar."""
        store = self.store
        rows = []
        tar_rel = f"{I2D_DIR}/{name}.tar"
        if store.exists(tar_rel):
            with store.fs.open(store.path(tar_rel), "rb") as f, tarfile.open(fileobj=f, mode="r:") as tf:
                for m in tf:
                    if not m.isfile() or not m.name.endswith(f".{IMAGE_EXT}"):
                        continue
                    data = tf.extractfile(m).read()
                    rows.append({"key": m.name.rsplit("/", 1)[-1][: -len(IMAGE_EXT) - 1], "offset": m.offset_data,
                                 "size": m.size, **describe_bytes(data)})
        schema = pa.schema([("key", pa.string()), ("offset", pa.int64()), ("size", pa.int64()),
                            ("format", pa.string()), ("bytes", pa.int64()), ("sha256", pa.string()),
                            ("jpeg_quality", pa.int32()), ("jpeg_quality_exact", pa.bool_())])
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), buf)
        store.write_bytes(f"{INDEX_DIR}/{name}.parquet", buf.getvalue())

    def _merge(self, todo: pa.Table, i2d_stats: dict) -> tuple[list[RealRef], Counter, Counter, list[int]]:
        store = self.store
        status: dict[int, dict] = {}
        located: dict[str, dict] = {}
        for name in i2d_stats:
            with store.fs.open(store.path(f"{I2D_DIR}/{name}.parquet"), "rb") as f:
                meta = pq.read_table(f, columns=[INDEX_COL, "key", "status", "error_message"]).to_pylist()
            for r in meta:
                status[int(r[INDEX_COL])] = r
            with store.fs.open(store.path(f"{INDEX_DIR}/{name}.parquet"), "rb") as f:
                idx = pq.read_table(f).to_pylist()
            for r in idx:
                located[r["key"]] = {**r, "tar": f"{I2D_DIR}/{name}.tar"}

        drops: Counter = Counter()
        formats: Counter = Counter()
        qualities: list[int] = []
        hashes: set[str] = set()
        refs: list[RealRef] = []
        cols = {c: todo.column(c).to_pylist() for c in ("url", "caption", "width", "height", "punsafe",
                                                         "pwatermark", INDEX_COL)}
        for i in range(todo.num_rows):
            row = cols[INDEX_COL][i]
            st = status.get(row)
            if st is None:
                drops["download_error:no_record"] += 1  # img2dataset lost the sample (it logs why)
                continue
            if st["status"] != "success":
                drops[download_reason(st["error_message"])] += 1
                continue
            loc = located.get(st["key"])
            if loc is None:
                drops["download_error:not_in_tar"] += 1
                continue
            if loc["sha256"] in hashes:
                drops["duplicate_content"] += 1
                continue
            hashes.add(loc["sha256"])
            formats[loc["format"]] += 1
            if loc["jpeg_quality"] is not None:
                qualities.append(int(loc["jpeg_quality"]))
            meta = {
                "path": {"tar": loc["tar"], "offset": int(loc["offset"]), "size": int(loc["size"])},  # not public
                "row": int(row), "key": st["key"], "sha256": loc["sha256"], "bytes": int(loc["bytes"]),
                "format": loc["format"], "jpeg_quality": loc["jpeg_quality"],
                "jpeg_quality_exact": loc["jpeg_quality_exact"],
            }
            for c in ("width", "height", "punsafe", "pwatermark"):
                v = cols[c][i]
                if v is not None and not (isinstance(v, float) and math.isnan(v)):
                    meta[f"listed_{c}" if c in ("width", "height") else c] = int(v) if c in ("width", "height") else v
            refs.append(RealRef(origin=cols["url"][i], caption=cols["caption"][i], meta=meta))
        return refs, drops, formats, qualities

    def _write_stats(self, rows_read, info, not_applied, pre_drops, n_todo, i2d_stats, post_drops, kept,
                     formats, qualities) -> None:
        totals: Counter = Counter()
        messages: Counter = Counter()
        for s in i2d_stats.values():
            totals.update({k: s.get(k, 0) for k in ("count", "successes", "failed_to_download", "failed_to_resize")})
            messages.update(s.get("status_dict", {}))
        q = np.asarray(qualities)
        stats = {
            "url_list": self.cfg.url_list, "files": info["files"], "columns": info["columns"],
            "rows_read": rows_read,
            "filters": {"min_width": self._min("width"), "min_height": self._min("height"),
                        "max_aspect_ratio": self.cfg.max_aspect_ratio, "max_punsafe": self.cfg.max_punsafe,
                        "max_pwatermark": self.cfg.max_pwatermark, "not_applied": not_applied,
                        "schemes": list(ALLOWED_SCHEMES)},
            "limits": {"timeout": self.cfg.timeout, "deadline": self.cfg.deadline, "max_bytes": self.cfg.max_bytes,
                       "retries": self.cfg.retries},
            "dropped_before_download": dict(sorted(pre_drops.items())),
            "downloaded": {"urls": n_todo, "img2dataset": _img2dataset_version(),
                           "totals": dict(totals), "messages": dict(messages.most_common()),
                           "shards": i2d_stats},
            "dropped_downloading": {k: v for k, v in sorted(post_drops.items()) if k != "duplicate_content"},
            "dropped_after_download": {k: v for k, v in post_drops.items() if k == "duplicate_content"},
            "dropped": dict(self._dropped),
            "kept": kept,
            "download_success_rate": round(totals["successes"] / n_todo, 4) if n_todo else None,
            "formats": dict(formats.most_common()),
            "jpeg_quality": ({"min": int(q.min()), "median": float(np.median(q)), "max": int(q.max()),
                              "histogram": {str(k): int(v) for k, v in zip(*np.unique(q, return_counts=True))}}
                             if q.size else None),
            "note": "align drops (truncated, not_an_image, decompression_bomb, too_small) happen later, "
                    "per shard: see meta/summary.json",
        }
        AtomicFolder(self.recipe.output or self.recipe.output_url()).write_json(STATS_FILE, stats)


def _img2dataset_version() -> Optional[str]:
    try:
        from importlib.metadata import version

        return version("img2dataset")
    except Exception:  # noqa: BLE001 - not installed: only needed to download
        return None


@contextlib.contextmanager
def _img2dataset_guard(i2d_main):
    """Run img2dataset without letting it take over the process: it installs a SIGINT handler that
    exits with status 0 (and only works in the main thread), and prints progress to stdout, where
    the CLI prints its summary. Its module's `signal` is shimmed for the call, and stdout (fd 1,
    inherited by its spawned processes) goes to stderr."""
    import signal as _signal

    real = i2d_main.signal
    i2d_main.signal = types.SimpleNamespace(signal=lambda *a, **k: None, SIGINT=_signal.SIGINT)
    sys.stdout.flush()
    saved = None
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except BaseException:
        # interrupted or failed: img2dataset's logger process waits for a "stop" that will not come,
        # and Python would wait for it at exit; end it (finished shards stay for the re-run)
        import multiprocessing

        for child in multiprocessing.active_children():
            if type(child).__name__ == "LoggerProcess":
                child.terminate()
        raise
    finally:
        sys.stdout.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
        i2d_main.signal = real
