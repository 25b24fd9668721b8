"""LAION lists cannot make the toolkit read local files, and one URL cannot hold a download forever.

Against a local HTTP server on 127.0.0.1 (the pattern of tests/test_laion.py, with routes that are
functions): a URL list mixing http with file:, data:, ftp:, s3:, bare and relative paths (in odd
case and whitespace) is built with the CLI, and nothing but http is read: a planted local image, a
data: image and /etc/passwd are nowhere in the output, an ftp "server" (a listening socket) sees no
connection, and every such row is counted as `unsupported_scheme`, before download or, for
redirects from http to another scheme, while downloading (img2dataset's child processes use the
guard). A server that trickles bytes is cut at `reals.deadline` (`deadline_exceeded`) and an
endless or oversized body at `reals.max_bytes` (`too_large`); the build finishes in bounded time.
Bad limits are one-line recipe errors (exit 2) before anything is downloaded.
"""

from __future__ import annotations

import base64
import http.server
import json
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from test_laion import _image, make, write_recipe
from toolkit.sources.laion import LaionConfig, download_reason

TRICKLE_STOP_S = 120  # a trickling route gives up by itself after this long (unguarded code: the test fails, not hangs)


class Server:
    """A threaded HTTP server whose routes are functions of the request handler; counts requests."""

    def __init__(self):
        self.routes: dict = {}
        self.hits: Counter = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                with server.lock:
                    server.hits[path] += 1
                route = server.routes.get(path)
                try:
                    if route is None:
                        self.send_error(404)
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError, socket.timeout):
                    pass  # the client gave up: expected

        class HTTPServer(http.server.ThreadingHTTPServer):
            request_queue_size = 128

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def body(self, path: str, data: bytes, ctype: str = "image/jpeg") -> str:
        def route(h):
            h.send_response(200)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)

        self.routes[path] = route
        return self.url(path)

    def redirect(self, path: str, location: str, code: int = 302) -> str:
        def route(h):
            h.send_response(code)
            h.send_header("Location", location)
            h.send_header("Content-Length", "0")
            h.end_headers()

        self.routes[path] = route
        return self.url(path)

    def trickle_body(self, path: str, every: float = 0.2) -> str:
        """A valid JPEG start, then one byte every `every` seconds (under any per-read timeout)."""
        def route(h):
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", "1000000")
            h.end_headers()
            h.wfile.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            h.wfile.flush()
            self._drip(h, b"\x00", every)

        self.routes[path] = route
        return self.url(path)

    def trickle_headers(self, path: str, every: float = 0.2) -> str:
        """A status line, then a header that never ends, one byte at a time."""
        def route(h):
            h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nX-Slow: ")
            h.wfile.flush()
            self._drip(h, b"a", every)

        self.routes[path] = route
        return self.url(path)

    def endless(self, path: str, declared: int | None = None, limit: int = 64 * 1024 ** 2) -> str:
        """A fast body of zeros that goes on (up to `limit`), with or without a Content-Length."""
        def route(h):
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            if declared is not None:
                h.send_header("Content-Length", str(declared))
            h.end_headers()
            chunk = b"\xff\xd8" + bytes(65534)
            for _ in range(limit // len(chunk)):
                if self.stop.is_set():
                    return
                h.wfile.write(chunk)
            h.close_connection = True

        self.routes[path] = route
        return self.url(path)

    def _drip(self, h, byte: bytes, every: float) -> None:
        t0 = time.monotonic()
        while not self.stop.is_set() and time.monotonic() - t0 < TRICKLE_STOP_S:
            h.wfile.write(byte)
            h.wfile.flush()
            time.sleep(every)
        h.close_connection = True

    def total(self) -> int:
        with self.lock:
            return sum(self.hits.values())


@pytest.fixture
def server():
    pytest.importorskip("img2dataset")
    s = Server()
    s.thread.start()
    yield s
    s.stop.set()
    s.httpd.shutdown()
    s.httpd.server_close()


@pytest.fixture
def ftp_listener():
    """A TCP socket where an ftp:// URL points: a connection attempt would be queued in its backlog."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def _connections(sock: socket.socket) -> int:
    n = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return n
        conn.close()
        n += 1


def _url_list(tmp_path: Path, urls: list[tuple[str, str]]) -> str:
    path = tmp_path / "urls.parquet"
    pq.write_table(pa.table({"url": [u for u, _ in urls], "caption": [c for _, c in urls],
                             "original_width": [64] * len(urls), "original_height": [64] * len(urls)}), path)
    return str(path)


def _files(out: Path):
    return [p for p in out.rglob("*") if p.is_file()]


# ------------------------------------------------------------------------------------------------
# schemes


def test_only_http_urls_are_fetched_and_every_other_row_is_counted(cli, tmp_path, tiny_vae, server, ftp_listener,
                                                                   monkeypatch):
    s = server
    monkeypatch.chdir(tmp_path)  # a relative path in the list would resolve here
    secret = _image("JPEG", (80, 80), 91, quality=90)  # a perfectly keepable image, on the local disk
    (tmp_path / "secret.jpg").write_bytes(secret)
    secret_path = str(tmp_path / "secret.jpg")
    inline = _image("PNG", (72, 72), 92)
    data_url = "data:image/png;base64," + base64.b64encode(inline).decode()
    ftp = f"ftp://127.0.0.1:{ftp_listener.getsockname()[1]}"
    passwd = Path("/etc/passwd").read_bytes() if Path("/etc/passwd").is_file() else None

    ok = s.body("/img/ok.jpg", _image("JPEG", (96, 80), 93, quality=85))
    upper = s.body("/img/upper.jpg", _image("JPEG", (80, 96), 94, quality=80))
    s.body("/img/moved.jpg", _image("JPEG", (88, 88), 95, quality=75))
    not_http = [
        f"file://{secret_path}", f" FILE://{secret_path}", f"File:{secret_path}", f"URL:file://{secret_path}",
        f"<file://{secret_path}>", data_url, f"{ftp}/secret.jpg", "s3://bucket/secret.jpg", secret_path,
        "/etc/passwd", "secret.jpg", f"//127.0.0.1:{s.base.rsplit(':', 1)[1]}/img/ok.jpg", "\tfile:/etc/passwd",
    ]
    redirects = [  # http URLs whose server sends the downloader elsewhere
        s.redirect("/r/ftp", f"{ftp}/redirected.jpg", 302), s.redirect("/r/file", f"file://{secret_path}", 301),
        s.redirect("/r/data", data_url, 307), s.redirect("/r/passwd", " FILE:///etc/passwd", 303),
    ]
    moved = s.redirect("/r/ok", "/img/moved.jpg", 302)  # a same-scheme redirect still works
    urls = ([(ok, "ok"), (upper.replace("http://", "HTTP://"), "upper")]
            + [(u, f"bad {i}") for i, u in enumerate(not_http)]
            + [(u, f"redirect {i}") for i, u in enumerate(redirects)] + [(moved, "moved")])
    recipe = write_recipe(tmp_path, {"url_list": _url_list(tmp_path, urls)}, tiny_vae, name="schemes")
    out = tmp_path / "out"

    code, stdout, err = make(cli, recipe, out)
    assert code == 0, err

    # only the http URLs were requested, once each; no connection to the "ftp server"
    assert dict(s.hits) == {p: 1 for p in ["/img/ok.jpg", "/img/upper.jpg", "/r/ftp", "/r/file", "/r/data",
                                            "/r/passwd", "/r/ok", "/img/moved.jpg"]}, s.hits
    assert _connections(ftp_listener) == 0

    # every row counted: non-http rows before download, redirects off http while downloading
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["dropped"] == {"unsupported_scheme": len(not_http) + len(redirects)}, summary["dropped"]
    assert summary["pairs"] == 3 and summary["pairs"] + sum(summary["dropped"].values()) == len(urls)
    assert f"unsupported_scheme {len(not_http) + len(redirects)}" in stdout
    stats = json.loads((out / "meta" / "laion" / "stats.json").read_text())
    assert stats["dropped_before_download"] == {"unsupported_scheme": len(not_http)}
    assert stats["dropped_downloading"] == {"unsupported_scheme": len(redirects)}
    assert stats["downloaded"]["urls"] == 2 + len(redirects) + 1 and stats["kept"] == 3
    assert stats["filters"]["schemes"] == ["http", "https"]

    # nothing that is not http was read: the planted bytes are in no file of the output
    files = _files(out)
    assert any(p.suffix == ".tar" for p in files)
    for p in files:
        data = p.read_bytes()
        assert secret not in data and inline not in data, p
        assert passwd is None or passwd[:64] not in data, p
    tars = b"".join(p.read_bytes() for p in files if p.suffix == ".tar")
    assert tars.count(b"\xff\xd8\xff") == 3  # the three http images, nothing else

    from invariants import load
    captions = sorted(r["caption"] for split in load(out).values() for r in split if r["source"] == "real")
    assert captions == ["moved", "ok", "upper"]


@pytest.mark.parametrize("url,scheme", [
    ("http://a/b.jpg", "http"), ("HTTPS://a/b.jpg", "https"), ("  http://a/b.jpg\n", "http"),
    ("file:///etc/passwd", "file"), (" FILE:///x", "file"), ("File:/x", "file"), ("URL:file:/x", "file"),
    ("<file:/x>", "file"), ("data:image/png;base64,AAAA", "data"), ("ftp://h/x", "ftp"), ("s3://b/k", "s3"),
    ("/etc/passwd", ""), ("etc/passwd", ""), ("x.jpg", ""), ("//host/x.jpg", ""), ("", ""),
    ("\tfile:/x", "file"), ("c:\\x.jpg", "c"),
])
def test_url_scheme_reads_urls_the_way_urllib_does(url, scheme):
    from toolkit.sources.laion.fetch import allowed_url, url_scheme

    assert url_scheme(url) == scheme
    assert allowed_url(url) == (scheme in ("http", "https"))


def test_fetch_refuses_other_schemes_and_off_http_redirects_without_opening_them(server, ftp_listener, tmp_path):
    """In process (the same function img2dataset's children call): the scheme check, the opener
    without file/ftp/data handlers, and the redirect check."""
    import urllib.error

    from toolkit.sources.laion.fetch import fetch, opener

    s = server
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"local secret")
    ftp = f"ftp://127.0.0.1:{ftp_listener.getsockname()[1]}/x.jpg"
    kw = dict(timeout=1, deadline=5, max_bytes=1000, allow_private=True)
    for url, scheme in ((f"file://{secret}", "file"), ("data:,local%20secret", "data"), (ftp, "ftp"),
                        (str(secret), ""), (f"File:{secret}", "file")):
        assert fetch(url, **kw) == (None, f"unsupported URL scheme {scheme!r}")
    for url in (f"file://{secret}", "data:,local%20secret", ftp):  # even asked directly, the opener cannot
        with pytest.raises(urllib.error.URLError, match="unknown url type"):
            opener().open(url, timeout=1)
    for code, target, scheme in ((302, ftp, "ftp"), (301, f"file://{secret}", "file"), (307, "data:,x", "data"),
                                 (308, " FILE:///etc/passwd", "file")):
        stream, err = fetch(s.redirect(f"/r/{code}", target, code), **kw)
        assert stream is None and err == f"unsupported URL scheme {scheme!r} (redirect {code})"
        assert download_reason(err) == "unsupported_scheme"
    assert _connections(ftp_listener) == 0
    s.body("/ok.jpg", b"\xff\xd8\xff" + bytes(500))
    stream, err = fetch(s.redirect("/r/ok", "/ok.jpg"), **kw)  # within http: followed
    assert err is None and stream.read() == b"\xff\xd8\xff" + bytes(500)

    def endless_redirect(h):  # a redirect whose body never ends: not read (urllib would read it all)
        h.send_response(302)
        h.send_header("Location", "/ok.jpg")
        h.end_headers()
        s._drip(h, b"r", 0.2)

    s.routes["/r/endless"] = endless_redirect
    t0 = time.monotonic()
    stream, err = fetch(s.url("/r/endless"), **kw)
    assert err is None and stream.read() == b"\xff\xd8\xff" + bytes(500)
    assert time.monotonic() - t0 < 2.5


# ------------------------------------------------------------------------------------------------
# deadline and byte cap


def test_fetch_deadline_and_max_bytes(server):
    from toolkit.sources.laion.fetch import fetch

    s = server
    for url in (s.trickle_body("/trickle"), s.trickle_headers("/trickle-headers")):
        t0 = time.monotonic()
        stream, err = fetch(url, timeout=1, deadline=1.0, max_bytes=10 ** 6, allow_private=True)
        took = time.monotonic() - t0
        assert stream is None and err == "deadline exceeded (1 s per image)", err
        assert 0.9 <= took < 2.5, took  # one byte every 0.2 s never trips the 1 s per-read timeout
        assert download_reason(err) == "deadline_exceeded"
    for url in (s.endless("/endless"), s.endless("/declared", declared=10 ** 12)):
        stream, err = fetch(url, timeout=1, deadline=10, max_bytes=100_000, allow_private=True)
        assert stream is None and err.startswith("too large: "), err
        assert download_reason(err) == "too_large"
    exact = s.body("/exact.jpg", b"\xff\xd8\xff" + bytes(99_997))
    stream, err = fetch(exact, timeout=1, deadline=10, max_bytes=100_000, allow_private=True)  # exactly the cap: kept
    assert err is None and len(stream.getvalue()) == 100_000


def test_trickling_and_endless_downloads_end_within_the_deadline(cli, tmp_path, tiny_vae, server):
    s = server
    urls = [(s.body("/img/ok.jpg", _image("JPEG", (96, 80), 81, quality=85)), "ok"),
            (s.body("/img/ok2.jpg", _image("PNG", (80, 96), 82), "image/png"), "ok2"),
            (s.trickle_body("/trickle-body.jpg"), "trickle body"),
            (s.trickle_headers("/trickle-headers.jpg"), "trickle headers"),
            (s.endless("/endless.jpg"), "endless"),
            (s.endless("/declared-huge.jpg", declared=10 ** 12), "declared huge")]
    recipe = write_recipe(tmp_path, {"url_list": _url_list(tmp_path, urls), "deadline": 2, "max_bytes": 1_000_000},
                          tiny_vae, name="trickle")
    out = tmp_path / "out"
    t0 = time.monotonic()
    code, stdout, err = make(cli, recipe, out)
    took = time.monotonic() - t0
    assert code == 0, err
    assert took < 60, took  # a build without the deadline waits for the trickles (TRICKLE_STOP_S)

    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["dropped"] == {"deadline_exceeded": 2, "too_large": 2}, summary["dropped"]
    assert summary["pairs"] == 2
    stats = json.loads((out / "meta" / "laion" / "stats.json").read_text())
    assert stats["dropped_downloading"] == {"deadline_exceeded": 2, "too_large": 2}
    assert stats["downloaded"]["messages"]["deadline exceeded (2 s per image)"] == 2
    assert stats["limits"] == {"timeout": 1, "deadline": 2, "max_bytes": 1_000_000, "retries": 0}
    assert all(p.stat().st_size < 1_000_000 for p in _files(out / "_reals"))  # no endless body on disk


# ------------------------------------------------------------------------------------------------
# values


@pytest.mark.parametrize("override,key", [
    ("reals.deadline=0", "deadline"), ("reals.deadline=-5", "deadline"), ("reals.max_bytes=0", "max_bytes"),
    ("reals.timeout=0", "timeout"), ("reals.threads=0", "threads"), ("reals.processes=0", "processes"),
    ("reals.retries=-1", "retries"), ("reals.samples_per_shard=0", "samples_per_shard"), ("reals.count=-1", "count"),
])
def test_bad_limits_are_one_line_recipe_errors_before_any_download(cli, tmp_path, tiny_vae, server, override, key):
    s = server
    recipe = write_recipe(tmp_path, {"url_list": _url_list(tmp_path, [(s.body("/a.jpg", b"x"), "a")])}, tiny_vae)
    out = tmp_path / "out"
    code, stdout, err = make(cli, recipe, out, override)
    assert code == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "recipe error" in lines[0] and f"reals.{key}: must be" in lines[0], err
    assert s.total() == 0 and not (out / "_reals").exists()


def test_config_checks_and_recipe_hash():
    with pytest.raises(ValueError, match=r"^deadline: must be a finite number of seconds > 0, got 0"):
        LaionConfig(url_list="x", deadline=0)
    with pytest.raises(ValueError, match=r"^timeout: must be a finite number"):
        LaionConfig(url_list="x", timeout=float("inf"))
    with pytest.raises(ValueError, match=r"^max_bytes: must be at least 1"):
        LaionConfig(url_list="x", max_bytes=0)
    cfg = LaionConfig(url_list="x")
    assert cfg.deadline == 60.0 and cfg.max_bytes == 256 * 1024 ** 2
    # limits on what one URL may cost say how to download, not what: they stay out of the recipe hash
    from toolkit.config.recipe import recipe_from_yaml_text

    base = {"name": "h", "reals": {"kind": "laion", "url_list": "x.parquet"}, "fakes": [{"kind": "vae_roundtrip"}]}
    h0 = recipe_from_yaml_text(json.dumps(base)).content_hash()
    for extra in ({"deadline": 5}, {"max_bytes": 1000}, {"timeout": 3, "threads": 2}):
        changed = {**base, "reals": {**base["reals"], **extra}}
        assert recipe_from_yaml_text(json.dumps(changed)).content_hash() == h0, extra
    assert recipe_from_yaml_text(json.dumps({**base, "reals": {**base["reals"], "min_width": 10}})).content_hash() != h0


def test_private_addresses_are_refused_unless_the_recipe_allows_them(cli, tmp_path, tiny_vae, server):
    """A URL list is third-party data: by default it cannot make the build fetch from loopback, the local
    network or the cloud metadata service (169.254.169.254), redirects included; only the recipe opts in."""
    from toolkit.sources.laion.fetch import fetch, is_public

    assert is_public("93.184.216.34") and is_public("2606:2800:220:1:248:1893:25c8:1946")
    for ip in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
               "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "224.0.0.1"):
        assert not is_public(ip), ip
    s = server
    ok = s.body("/p.jpg", _image("JPEG", (64, 64), 1))
    kw = dict(timeout=1, deadline=5, max_bytes=10 ** 6)
    for url in (ok, "http://169.254.169.254/latest/meta-data/", f"http://localhost:{s.base.rsplit(':', 1)[1]}/p.jpg"):
        stream, err = fetch(url, **kw)
        assert stream is None and "private address" in err, (url, err)
    assert fetch(ok, **kw, allow_private=True)[1] is None
    # a build: every URL of the list is dropped, counted under private_address, nothing fetched
    refused = write_recipe(tmp_path, {"url_list": _url_list(tmp_path, [(ok, "a"), (ok + "?2", "b")]),
                                      "allow_private_addresses": False}, tiny_vae, name="private")
    code, _, err = make(cli, refused, tmp_path / "out")
    stats = json.loads((tmp_path / "out" / "meta" / "laion" / "stats.json").read_text())
    assert stats["dropped"].get("private_address") == 2, (stats, err)
