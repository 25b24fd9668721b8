"""LAION reals through img2dataset, against a real HTTP server on 127.0.0.1.

The server serves generated JPEG/PNG/WebP images of several sizes, an EXIF-rotated JPEG, a redirect,
a 404, a 500, a response slower than the timeout, a body cut short of its Content-Length, a
truncated JPEG, HTML served as image/jpeg, a decompression bomb, an image that opts out with
X-Robots-Tag, and the same bytes under two URLs. A URL parquet points at it. The build finishes,
every row of the list is counted exactly once (kept, or dropped under its reason), kept reals are
aligned and paired and are byte for byte what the server sent, rows filtered before download are
never requested, and a re-run requests nothing.
"""

from __future__ import annotations

import http.server
import io
import json
import threading
import time
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from bad_files import bomb_png, rotated_jpeg, truncated_jpeg
from invariants import check_alignment, load
from toolkit.errors import ToolkitError
from toolkit.config.recipe import recipe_from_yaml_text
from toolkit.sources.laion import (LaionConfig, LaionSource, download_reason, filter_urls, read_url_table)
from toolkit.transforms.jpeg_quality import estimate_jpeg_quality

TIMEOUT_S = 1  # img2dataset timeout in the tests; the slow route waits longer than this
SLOW_S = 3


# ------------------------------------------------------------------------------------------------
# the server


def _image(fmt: str, size: tuple[int, int], seed: int, **params) -> bytes:
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // max(1, w - 1), y * 255 // max(1, h - 1), np.full_like(x, seed * 37 % 256)], -1)
    pixels = np.clip(base + rng.integers(-20, 21, base.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format=fmt, **params)
    return buf.getvalue()


class Server:
    """A threaded HTTP server with a route table; counts every request by path."""

    def __init__(self):
        self.routes: dict[str, tuple] = {}
        self.hits: Counter = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                with server.lock:
                    server.hits[path] += 1
                route = server.routes.get(path)
                try:
                    if route is None:
                        self.send_error(404)
                    elif route[0] == "body":
                        _, body, ctype, headers = route
                        self.send_response(200)
                        self.send_header("Content-Type", ctype)
                        self.send_header("Content-Length", str(len(body)))
                        for k, v in headers.items():
                            self.send_header(k, v)
                        self.end_headers()
                        self.wfile.write(body)
                    elif route[0] == "status":
                        self.send_error(route[1])
                    elif route[0] == "redirect":
                        self.send_response(302)
                        self.send_header("Location", route[1])
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    elif route[0] == "slow":
                        time.sleep(route[1])
                        self.send_error(503)
                    elif route[0] == "cut":  # promises twice the bytes it sends, then hangs up
                        body = route[1]
                        self.send_response(200)
                        self.send_header("Content-Type", "image/jpeg")
                        self.send_header("Content-Length", str(2 * len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): expected

        class HTTPServer(http.server.ThreadingHTTPServer):
            request_queue_size = 128  # a burst of connects must not overflow the backlog (SYN retry = 1 s)

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, body: bytes, ctype: str = "image/jpeg", **headers) -> str:
        self.routes[path] = ("body", body, ctype, headers)
        return self.url(path)

    def total(self) -> int:
        with self.lock:
            return sum(self.hits.values())


@pytest.fixture
def server():
    pytest.importorskip("img2dataset")
    s = Server()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


@pytest.fixture(autouse=True)
def fresh_sources():
    """the engine caches sources per process by their config; a LAION source holds its listing, so a
    second build in the same process must not reuse the first one's (re-runs are tested from disk)."""
    from toolkit.models import WORKER_MODELS

    WORKER_MODELS.clear()
    yield
    WORKER_MODELS.clear()


def make(cli, recipe_path, out, *extra):
    from toolkit.models import WORKER_MODELS

    WORKER_MODELS.clear()  # as a new `toolkit make` process would start
    return cli("make", recipe_path, "--out", out, *extra)


def write_recipe(tmp_path, reals: dict, tiny_vae, name="laion-test") -> str:
    recipe = {
        "name": name, "seed": 3,
        "reals": {"kind": "laion", "processes": 1, "threads": 8, "timeout": TIMEOUT_S, "allow_private_addresses": True,
                  **reals},
        "image": {"size": 64, "min_size": 32},
        "fakes": [{"kind": "vae_roundtrip", "model": tiny_vae, "subfolder": None, "latent": "mode"}],
        "augment": {"ops": {"jpeg": {"p": 0.5, "quality": [70, 95]}}},
        "split": {"train": 0.5, "test": 0.5},
        "runner": {"scheduler": "synchronous", "shard_size": 4, "progress": False},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return str(path)


# ------------------------------------------------------------------------------------------------
# the full build


def test_laion_build_counts_every_row_and_reruns_without_fetching(cli, tmp_path, tiny_vae, server):
    s = server
    served = {
        "a": s.serve("/img/a.jpg", _image("JPEG", (96, 80), 1, quality=87)),
        "b": s.serve("/img/b.png", _image("PNG", (80, 96), 2), "image/png"),
        "c": s.serve("/img/c.webp", _image("WEBP", (100, 72), 3, quality=80), "image/webp"),
        "d": s.serve("/img/d.jpg", _image("JPEG", (160, 120), 4, quality=70)),
        "rot": s.serve("/img/rot.jpg", rotated_jpeg(6)),
    }
    s.serve("/img/e.jpg", _image("JPEG", (72, 72), 5, quality=60))
    s.routes["/redirect"] = ("redirect", "/img/e.jpg")
    served["redirect"] = s.url("/redirect")
    bodies = {k: s.routes[u[len(s.base):]][1] for k, u in served.items() if k != "redirect"}
    bodies["redirect"] = s.routes["/img/e.jpg"][1]
    s.serve("/img/dup.jpg", bodies["a"])  # same bytes as a.jpg under another URL
    s.serve("/img/tiny.png", _image("PNG", (16, 16), 6), "image/png")  # listed as 100x100: a lie
    s.serve("/img/truncated.jpg", truncated_jpeg())
    s.serve("/img/html.jpg", b"<!doctype html><html><body>Not found</body></html>", "image/jpeg")
    s.serve("/img/bomb.png", bomb_png(), "image/png")
    s.serve("/img/optout.jpg", _image("JPEG", (64, 64), 7), **{"X-Robots-Tag": "noai"})
    s.routes["/error.jpg"] = ("status", 500)
    s.routes["/slow.jpg"] = ("slow", SLOW_S)
    s.routes["/cut.jpg"] = ("cut", _image("JPEG", (64, 64), 8))

    rows = [  # (url, caption, width, height, punsafe, pwatermark): the lowercase Re-LAION schema
        row(served["a"], "a", 96, 80), row(served["b"], "b", 80, 96), row(served["c"], "c", 100, 72),
        row(served["d"], "d", 160, 120), row(served["rot"], "rot", 120, 80),
        row(served["redirect"], "redirected", 72, 72),
        row(s.url("/img/dup.jpg"), "dup", 96, 80), row(s.url("/img/tiny.png"), "tiny", 100, 100),
        row(s.url("/img/truncated.jpg"), "t", 96, 96), row(s.url("/img/html.jpg"), "h", 96, 96),
        row(s.url("/img/bomb.png"), "bomb", 20000, 20000), row(s.url("/img/optout.jpg"), "o", 64, 64),
        row(s.url("/missing.jpg"), "404", 64, 64), row(s.url("/error.jpg"), "500", 64, 64),
        row(s.url("/slow.jpg"), "slow", 64, 64), row(s.url("/cut.jpg"), "cut", 64, 64),
        row("http:///no-host.jpg", "bad", 64, 64),  # http, so it reaches img2dataset: invalid_url
        row(served["a"], "a again", 96, 80),  # duplicate URL
        row(None, "no url", 64, 64),
        row(s.url("/never/small.jpg"), "small", 20, 20),
        row(s.url("/never/wide.jpg"), "wide", 400, 100),
        row(s.url("/never/nsfw.jpg"), "nsfw", 64, 64, punsafe=0.9),
        row(s.url("/never/unknown.jpg"), "unknown punsafe", 64, 64, punsafe=None),
        row(s.url("/never/wm.jpg"), "watermark", 64, 64, pwatermark=0.95),
    ]
    table = pa.table({k: [r[i] for r in rows] for i, k in enumerate(
        ["url", "caption", "original_width", "original_height", "punsafe", "pwatermark"])})
    urls = tmp_path / "relaion-part-00000.parquet"
    pq.write_table(table, urls)

    reals = {"url_list": str(urls), "max_aspect_ratio": 2.0, "max_punsafe": 0.5, "max_pwatermark": 0.8,
             "samples_per_shard": 8}
    recipe_path = write_recipe(tmp_path, reals, tiny_vae)
    out = tmp_path / "out"
    t0 = time.time()
    code, stdout, err = make(cli, recipe_path, out)
    assert code == 0, err
    assert time.time() - t0 < 40

    expected_drops = {
        "missing_url": 1, "duplicate_url": 1, "filter_too_small": 1, "filter_aspect_ratio": 1,
        "filter_punsafe": 1, "filter_punsafe_unknown": 1, "filter_pwatermark": 1,  # before download
        "http_404": 1, "http_500": 1, "timeout": 1, "incomplete_read": 1, "invalid_url": 1,
        "robots_disallowed": 1,  # img2dataset's failures
        "duplicate_content": 1,  # after download, by content hash
        "too_small": 1, "truncated": 1, "not_an_image": 1, "decompression_bomb": 1,  # align
    }
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["complete"]
    assert summary["dropped"] == expected_drops, summary["dropped"]
    assert summary["pairs"] == 6
    assert summary["pairs"] + sum(summary["dropped"].values()) == len(rows)  # nothing dropped silently
    for reason, n in expected_drops.items():
        assert f"{reason} {n}" in stdout
    assert "Downloading" not in stdout  # img2dataset's chatter went to stderr

    # every downloadable URL was fetched exactly once; filtered rows never
    assert not any(p.startswith("/never/") for p in s.hits), s.hits
    downloadable = {u[len(s.base):] for u, *_ in rows[:16]}  # rows after these are dropped before download
    assert dict(s.hits) == {p: 1 for p in downloadable | {"/img/e.jpg"}}  # + the redirect's target

    # the stats img2dataset gave, merged and kept for the card
    stats = json.loads((out / "meta" / "laion" / "stats.json").read_text())
    assert stats["rows_read"] == len(rows) and stats["kept"] == 10
    assert stats["downloaded"]["urls"] == 17
    assert stats["downloaded"]["totals"] == {"count": 17, "successes": 11, "failed_to_download": 6,
                                             "failed_to_resize": 0}
    assert stats["downloaded"]["messages"]["HTTP Error 404: Not Found"] == 1
    assert len(stats["downloaded"]["shards"]) == 3
    assert stats["formats"] == {"jpeg": 5, "png": 3, "webp": 1, "unknown": 1}  # sniffed from the bytes
    assert stats["kept"] + sum(stats["dropped"].values()) == stats["rows_read"]

    # the dataset: aligned pairs, provenance with the original format and JPEG quality
    pairs = check_alignment(load(out))
    assert len(pairs) == 6
    reals_by_caption = {}
    for members in pairs.values():
        real = next(m for m in members if m["source"] == "real")
        reals_by_caption[real["caption"]] = real
    assert sorted(reals_by_caption) == ["a", "b", "c", "d", "redirected", "rot"]
    assert reals_by_caption["redirected"]["origin"] == served["redirect"]  # the listed URL, not the target
    prov = {k: json.loads(v["provenance"]) for k, v in reals_by_caption.items()}
    meta = {k: p["source_meta"] for k, p in prov.items()}
    assert meta["a"]["format"] == "jpeg" and meta["a"]["jpeg_quality"] == 87 and meta["a"]["jpeg_quality_exact"]
    assert meta["d"]["jpeg_quality"] == 70
    assert meta["b"]["format"] == "png" and meta["b"]["jpeg_quality"] is None
    assert meta["c"]["format"] == "webp"
    assert meta["a"]["listed_width"] == 96 and meta["a"]["punsafe"] == pytest.approx(0.01)
    assert "path" not in meta["a"]  # download locations stay out of the published rows
    assert prov["rot"]["exif_orientation"] == 6 and (prov["rot"]["orig_width"], prov["rot"]["orig_height"]) == (80, 120)
    assert all(p["format"] == {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[meta[k]["format"]]
               for k, p in prov.items())

    # downloads live outside data/: only the split shards are dataset files
    assert all(p.name.startswith(("train-", "test-")) and p.suffix == ".parquet" for p in (out / "data").iterdir())
    assert (out / "_reals" / "laion" / "img2dataset" / "00000.tar").exists()

    # the bytes read back are exactly the bytes the server sent (no resize, no re-encode)
    hits_before = s.total()
    recipe = recipe_from_yaml_text(open(recipe_path).read())
    recipe.output = str(out)
    src = LaionSource(recipe.reals, recipe)
    refs = {r.caption: r for r in src.list()}
    assert s.total() == hits_before  # listing a finished download fetches nothing
    for caption, key in [("a", "a"), ("b", "b"), ("c", "c"), ("d", "d"), ("rot", "rot"), ("redirected", "redirect")]:
        assert src.read(refs[caption]) == bodies[key], caption

    # re-running the build fetches nothing and rebuilds nothing
    code, stdout2, err2 = make(cli, recipe_path, out)
    assert code == 0, err2
    assert s.total() == hits_before
    assert "0 to build" in err2
    assert json.loads((out / "meta" / "summary.json").read_text())["dropped"] == expected_drops


def row(url, caption, w, h, punsafe=0.01, pwatermark=0.1):
    return (url, caption, w, h, punsafe, pwatermark)


def test_old_uppercase_schema_builds_through_url_and_caption_cols(cli, tmp_path, tiny_vae, server):
    s = server
    urls = [s.serve(f"/old/{i}.jpg", _image("JPEG", (80 + 8 * i, 72), 20 + i, quality=90)) for i in range(3)]
    table = pa.table({"SAMPLE_ID": [1, 2, 3], "URL": urls, "TEXT": ["one", "two", "three"],
                      "WIDTH": [80, 88, 96], "HEIGHT": [72, 72, 72], "LICENSE": ["?"] * 3, "NSFW": ["UNLIKELY"] * 3,
                      "similarity": [0.3, 0.31, 0.32]})
    path = tmp_path / "laion400m-part.parquet"
    pq.write_table(table, path)
    out = tmp_path / "old"

    # the default (lowercase) column names fail with one line naming the file and its columns
    code, _, err = make(cli, write_recipe(tmp_path, {"url_list": str(path)}, tiny_vae, name="default-cols"), out)
    assert code == 2
    assert f"{path}: no column 'url' (reals.url_col); columns: SAMPLE_ID, URL, TEXT, WIDTH, HEIGHT" in err
    assert "set reals.url_col: URL" in err
    assert s.total() == 0

    recipe_path = write_recipe(tmp_path, {"url_list": str(path), "url_col": "URL", "caption_col": "TEXT",
                                          "max_punsafe": 0.5}, tiny_vae, name="old-cols")
    code, stdout, err = make(cli, recipe_path, out)
    assert code == 0, err
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["pairs"] == 3 and summary["dropped"] == {}
    pairs = check_alignment(load(out))
    assert sorted(next(r for r in m if r["source"] == "real")["caption"] for m in pairs.values()) == \
        ["one", "three", "two"]
    stats = json.loads((out / "meta" / "laion" / "stats.json").read_text())
    assert stats["columns"] == {"url": "URL", "caption": "TEXT", "width": "WIDTH", "height": "HEIGHT",
                                "punsafe": None, "pwatermark": None}
    assert stats["filters"]["not_applied"] == ["max_punsafe (no punsafe column)"]


def test_interrupted_download_resumes_only_the_missing_shard(tmp_path, server):
    """CSV input, 2 URLs per img2dataset shard: a shard whose download did not finish (no stats file)
    is fetched again on re-run, the finished ones are not; the listing is the same."""
    s = server
    urls = [s.serve(f"/r/{i}.png", _image("PNG", (64, 64), 40 + i), "image/png") for i in range(6)]
    csv = tmp_path / "urls.csv"
    csv.write_text("url,caption,width,height\n" + "".join(f"{u},pic {i},64,64\n" for i, u in enumerate(urls)))
    recipe = recipe_from_yaml_text(yaml.safe_dump({
        "name": "resume", "output": str(tmp_path / "out"),
        "reals": {"kind": "laion", "url_list": str(csv), "processes": 1, "threads": 4, "timeout": TIMEOUT_S,
                  "samples_per_shard": 2, "allow_private_addresses": True},
        "fakes": [{"kind": "vae_roundtrip"}]}))
    first = LaionSource(recipe.reals, recipe)
    refs = list(first.list())
    assert [r.caption for r in refs] == [f"pic {i}" for i in range(6)]
    assert first.dropped == {} and dict(s.hits) == {f"/r/{i}.png": 1 for i in range(6)}

    # as if killed while downloading shard 1: its stats (img2dataset's completion mark) and index are
    # missing and the toolkit's state is not complete
    dl = tmp_path / "out" / "_reals" / "laion"
    (dl / "img2dataset" / "00001_stats.json").unlink()
    (dl / "img2dataset" / "00001.tar").write_bytes(b"half a tar")
    state = json.loads((dl / "state.json").read_text())
    (dl / "state.json").write_text(json.dumps({**state, "complete": False}))

    again = LaionSource(recipe.reals, recipe)
    refs2 = list(again.list())
    assert dict(s.hits) == {f"/r/{i}.png": 2 if i in (2, 3) else 1 for i in range(6)}
    assert [(r.origin, r.meta["sha256"]) for r in refs2] == [(r.origin, r.meta["sha256"]) for r in refs]
    assert [again.read(r) for r in refs2] == [s.routes[u[len(s.base):]][1] for u in urls]
    assert json.loads((dl / "state.json").read_text())["complete"]

    # a finished download is not touched again; a different list at the same output is refused
    list(LaionSource(recipe.reals, recipe).list())
    assert s.total() == 8
    csv.write_text(csv.read_text() + f"{s.url('/r/new.png')},new,64,64\n")
    with pytest.raises(ToolkitError, match="holds downloads of a different URL list"):
        list(LaionSource(recipe.reals, recipe).list())


# ------------------------------------------------------------------------------------------------
# no network: reading lists, filters, reasons, JPEG quality


def _cfg(path, **kw) -> LaionConfig:
    return LaionConfig(url_list=str(path), **kw)


def test_lists_in_csv_tsv_jsonl_with_count_and_clear_column_errors(tmp_path):
    (tmp_path / "a.csv").write_text("URL,TEXT,WIDTH,HEIGHT\nhttp://x/1.jpg,one,10,20\nhttp://x/2.jpg,two,,\n"
                                    "http://x/3.jpg,three,30,40\n")
    (tmp_path / "a.tsv").write_text("url\tcaption\nhttp://x/1.jpg\tone\n")
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"url": f"http://x/{i}.jpg", "caption": str(i),
                                                          "original_width": 64, "punsafe": 0.1 * i}) + "\n"
                                              for i in range(4)))
    t, info = read_url_table(_cfg(tmp_path / "a.csv", url_col="URL", caption_col="TEXT", count=2))
    assert t.column("url").to_pylist() == ["http://x/1.jpg", "http://x/2.jpg"]
    assert t.column("width").to_pylist() == [10.0, None]
    assert info["columns"]["width"] == "WIDTH"
    t, _ = read_url_table(_cfg(tmp_path / "a.tsv"))
    assert t.column("caption").to_pylist() == ["one"]
    t, info = read_url_table(_cfg(tmp_path / "a.jsonl"))
    assert t.num_rows == 4 and info["columns"]["punsafe"] == "punsafe" and info["columns"]["height"] is None
    t, _ = read_url_table(_cfg(tmp_path / "a.jsonl", caption_col=None))
    assert t.column("caption").null_count == 4

    with pytest.raises(ToolkitError) as e:
        read_url_table(_cfg(tmp_path / "a.csv"))
    msg = str(e.value)
    assert "a.csv: no column 'url' (reals.url_col); columns: URL, TEXT, WIDTH, HEIGHT; set reals.url_col: URL" in msg
    with pytest.raises(ToolkitError, match=r"no column 'caption' \(reals.caption_col\)"):
        read_url_table(_cfg(tmp_path / "a.csv", url_col="URL"))
    with pytest.raises(ToolkitError, match="no such file"):
        read_url_table(_cfg(tmp_path / "missing.parquet"))
    (tmp_path / "list.txt").write_text("http://x/1.jpg\n")
    with pytest.raises(ToolkitError, match="set reals.input_format"):
        read_url_table(_cfg(tmp_path / "list.txt"))


def test_filters_count_each_row_once_in_order():
    t = pa.table({"url": [f"http://x/{u}" if u else u for u in ["u1", "u2", None, "u1", "u4", "u5", "u6", "u7"]],
                  "caption": [None] * 8,
                  "width": [64.0, 10.0, 64.0, 64.0, 300.0, 64.0, None, 64.0],
                  "height": [64.0, 10.0, 64.0, 64.0, 64.0, 64.0, None, 64.0],
                  "punsafe": [0.0, 0.9, 0.0, 0.0, 0.0, 0.9, None, 0.0],
                  "pwatermark": [0.0] * 7 + [0.99]})
    keep, counts, not_applied = filter_urls(t, min_width=32, min_height=32, max_aspect_ratio=2.0,
                                            max_punsafe=0.5, max_pwatermark=0.5)
    assert keep.tolist() == [0]
    assert counts == {"filter_too_small": 1, "missing_url": 1, "duplicate_url": 1, "filter_aspect_ratio": 1,
                      "filter_punsafe": 1, "filter_punsafe_unknown": 1, "filter_pwatermark": 1}
    assert not_applied == []
    # unknown sizes pass the size filters (align checks real sizes); absent columns are reported
    t2 = t.set_column(4, "punsafe", pa.nulls(8, pa.float64()))
    keep, counts, not_applied = filter_urls(t2, min_width=32, min_height=32, max_aspect_ratio=None,
                                            max_punsafe=0.5, max_pwatermark=None)
    assert 6 in keep.tolist() and not_applied == ["max_punsafe (no punsafe column)"]


@pytest.mark.parametrize("message,reason", [
    ("HTTP Error 404: Not Found", "http_404"),
    ("HTTP Error 403: Forbidden", "http_403"),
    ("timed out", "timeout"),
    ("<urlopen error timed out>", "timeout"),
    ("The read operation timed out", "timeout"),
    ("IncompleteRead(1399 bytes read, 1399 more expected)", "incomplete_read"),
    ("unknown url type: 'not a url'", "invalid_url"),
    ("<urlopen error [Errno -2] Name or service not known>", "dns_error"),
    ("<urlopen error [Errno 111] Connection refused>", "connection_refused"),
    ("[Errno 104] Connection reset by peer", "connection_reset"),
    ("Remote end closed connection without response", "connection_closed"),
    ("<urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1006)>", "ssl_error"),
    ("Use of image disallowed by X-Robots-Tag directive", "robots_disallowed"),
    ("Something odd at https://a.b/c?d=1 after 3 tries!", "download_error:something_odd_at_url_after_n_tries"),
    (None, "download_error:unknown"),
])
def test_download_error_messages_become_few_reasons(message, reason):
    assert download_reason(message) == reason


def test_jpeg_quality_estimate_from_quantisation_tables():
    for q in (10, 50, 75, 87, 95, 100):
        assert estimate_jpeg_quality(_image("JPEG", (32, 32), 1, quality=q)) == {"quality": q, "exact": True}
    grey = io.BytesIO()
    Image.new("L", (16, 16), 7).save(grey, format="JPEG", quality=60)
    assert estimate_jpeg_quality(grey.getvalue()) == {"quality": 60, "exact": True}
    custom = io.BytesIO()  # non-IJG tables: the nearest quality, flagged as not exact
    Image.new("RGB", (16, 16)).save(custom, format="JPEG", qtables=[[3] * 64, [9] * 64])
    est = estimate_jpeg_quality(custom.getvalue())
    assert est["exact"] is False and 80 <= est["quality"] <= 100
    assert estimate_jpeg_quality(_image("PNG", (8, 8), 1)) is None
    assert estimate_jpeg_quality(b"\xff\xd8\xff garbage") is None


def test_aligned_vae_recipe_needs_only_the_url_list():
    from toolkit.errors import RecipeError
    from toolkit.config.recipe import load_recipe
    from conftest import ROOT

    path = ROOT / "recipes" / "aligned_vae.yaml"
    with pytest.raises(RecipeError, match="reals.url_list: missing required value"):
        load_recipe(path)
    r = load_recipe(path, ["reals.url_list=hf://datasets/laion/relaion2B-en-research-safe/part.parquet"])
    assert r.reals.kind == "laion" and r.reals.url_col == "url" and r.reals.caption_col == "caption"
    assert r.fakes[0].model == "stable-diffusion-v1-5/stable-diffusion-v1-5" and r.fakes[0].subfolder == "vae"
    assert set(r.augment.ops) == {"jpeg", "webp"} and r.augment.matched
