"""The guard around img2dataset's downloader: http(s) only, a total deadline and a byte cap per image.

img2dataset 1.47 fetches each URL with `urllib.request.urlopen` (`img2dataset.downloader.download_image`).
urllib's default opener also opens `file:`, `ftp:` and `data:` URLs, follows redirects to `ftp:`, and
its `timeout` bounds each socket operation, not a download: a server that sends one byte every few
seconds holds a download (and one of img2dataset's threads) for as long as it likes, and a body that
never ends is read into memory until it does. The rule of the project is that nothing outside the
output folder is read or written because of a URL list, so the toolkit downloads through this module:

- `fetch(url, ...)`: one image. The URL's scheme is read the way urllib reads it (`url_scheme`) and
  anything but http/https is refused without opening it. The opener has only http/https handlers
  (no file, ftp or data handler, so nothing else can be opened even by mistake), a redirect to
  another scheme fails (`unsupported URL scheme ...`; a redirect's body is never read), and proxies
  come from the environment for http/https only. Every socket read first checks the image's total deadline and lowers the socket
  timeout to what is left of it, so connect + headers + body take at most `deadline` seconds
  whatever the server does (on TLS the handshake is bounded by the same timeout). The body is read
  in chunks and refused past `max_bytes` (at once when Content-Length says so). Failures come back
  as messages that `laion.download_reason` maps to `unsupported_scheme`, `deadline_exceeded` and
  `too_large`; other errors keep urllib's messages (`HTTP Error 404`, `timed out`, ...).
- The seam into img2dataset: `img2dataset.main.download` builds one `Downloader` and hands it to its
  distributor, which pickles it into spawned pool processes; there each shard's threads call the
  module-level `download_image` through `download_image_with_retry` (looked up at call time).
  `guarded(i2d_main, ...)` makes `download` build a `GuardedDownloader` (a picklable wrapper around
  img2dataset's own Downloader, defined here so a child process imports this module to unpickle it)
  whose first act in each process is `install()`: `img2dataset.downloader.download_image` becomes
  this module's `download_image`. If img2dataset no longer calls `download_image` that way, install
  refuses to run (the download fails) rather than download unguarded.

Only the standard library is imported here (children import this module to unpickle the wrapper).
- Private networks: a URL list is third-party data, so by default a host that resolves to anything but a
  public internet address (loopback, RFC 1918, link-local such as the 169.254.169.254 cloud metadata
  service, shared, reserved) is refused at connect time, redirects included (`private address: ...`,
  the `private_address` drop reason). The recipe (the user, never the list) opts in with
  `reals.allow_private_addresses: true`, e.g. for a mirror on the local network. The environment's
  proxy is always reachable (the proxy then resolves the host).

Not bounded: DNS resolution (the system resolver's own timeouts apply).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import ipaddress
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional

ALLOWED_SCHEMES = ("http", "https")
CHUNK = 64 * 1024
# img2dataset 1.47's user agent (kept identical so hosts see the same client and robots tokens apply)
USER_AGENT = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:72.0) Gecko/20100101 Firefox/72.0"
USER_AGENT_TOKEN = " (compatible; {token}; +https://github.com/rom1504/img2dataset)"

# error messages (their start is what laion.download_reason matches)
UNSUPPORTED = "unsupported URL scheme"
PRIVATE = "private address"
DEADLINE = "deadline exceeded"
TOO_LARGE = "too large"


def url_scheme(url) -> str:
    """The scheme urllib.request would use for `url`, lower case; '' for none (a bare or relative
    path). Like `urllib.request.Request`: surrounding whitespace, `<...>` and a `URL:` prefix are
    unwrapped first, so ` FILE:///x`, `<file:/x>` and `URL:file:/x` all read as `file`."""
    text = urllib.parse.unwrap(str(url))
    m = re.match(r"([^/:]+):", text)
    return m.group(1).lower() if m else ""


# a URL matching this is allowed (both readings below give http/https); `allowed_url` decides the rest
PLAIN_HTTP = r"^[Hh][Tt][Tt][Pp][Ss]?://"


def allowed_url(url) -> bool:
    """True only for http/https, read both as urllib.request and as urllib.parse read the URL."""
    scheme = url_scheme(url)
    if scheme not in ALLOWED_SCHEMES:
        return False
    try:
        return urllib.parse.urlsplit(urllib.parse.unwrap(str(url))).scheme.lower() in ALLOWED_SCHEMES
    except ValueError:  # urlsplit refuses the host (e.g. a broken IPv6 literal): the scheme is urllib's
        return True


class UnsupportedScheme(urllib.error.URLError):
    def __init__(self, scheme: str, where: str):
        super().__init__(f"{UNSUPPORTED} {scheme!r} ({where})")

    def __str__(self):
        return str(self.reason)


class DeadlineExceeded(TimeoutError):
    pass


class PrivateAddress(urllib.error.URLError):
    def __init__(self, host: str, ip: str):
        super().__init__(f"{PRIVATE}: {host} is {ip}, not a public internet address "
                         "(reals.allow_private_addresses: true to fetch from your own network)")

    def __str__(self):
        return str(self.reason)


def is_public(ip: str) -> bool:
    """Whether `ip` is a global internet address: not loopback, private (RFC 1918, unique-local), link-local
    (169.254/16 is where cloud metadata services answer), shared (100.64/10), multicast, reserved or
    unspecified. An IPv4-mapped IPv6 address is judged as the IPv4 address it maps."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast


class TooLarge(OSError):
    pass


# ------------------------------------------------------------------------------------------------
# the deadline: every read of a download's sockets looks at its thread's deadline


_local = threading.local()  # .limits = (deadline as time.monotonic(), per-operation timeout) while fetching


def _op_timeout(default=None) -> Optional[float]:
    """Timeout for the next socket operation: the per-operation timeout, lowered to what is left of
    the current download's deadline; DeadlineExceeded once nothing is left."""
    limits = getattr(_local, "limits", None)
    if limits is None:
        return default
    deadline, op = limits
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded(DEADLINE)
    return left if op is None else min(op, left)


class _DeadlineSocket(socket.socket):
    __slots__ = ()

    def recv_into(self, buffer, nbytes=0, flags=0):
        self.settimeout(_op_timeout(self.gettimeout()))
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, bufsize, flags=0):
        self.settimeout(_op_timeout(self.gettimeout()))
        return super().recv(bufsize, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    def read(self, len=1024, buffer=None):  # noqa: A002 - SSLSocket's signature; recv/recv_into call it
        self.settimeout(_op_timeout(self.gettimeout()))
        return super().read(len, buffer)


def _create_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kwargs):
    op = None if timeout is socket._GLOBAL_DEFAULT_TIMEOUT else timeout
    sock = socket.create_connection(_public_address(address), _op_timeout(op), source_address, **kwargs)
    out = _DeadlineSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    out.settimeout(_op_timeout(op))
    return out


def _public_address(address):
    """The address to connect to: `address` itself when private addresses are allowed or it is a proxy
    of the environment's; else its first public IP, checked at connect time (so a name that resolves to a
    public IP when filtered and to 127.0.0.1 when fetched is still refused), or PrivateAddress."""
    host, port = address[0], address[1]
    if getattr(_local, "allow_private", True) or host.lower() in _proxy_hosts():
        return address
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for family, _, _, _, sockaddr in infos:
        if is_public(sockaddr[0]):
            return (sockaddr[0], port)
    raise PrivateAddress(host, infos[0][4][0] if infos else "?")


def _proxy_hosts() -> set:
    hosts = set()
    for url in urllib.request.getproxies().values():
        try:
            hosts.add((urllib.parse.urlsplit(url if "://" in url else f"http://{url}").hostname or "").lower())
        except ValueError:
            pass
    return hosts


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _create_connection


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _create_connection


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, but only to http/https (urllib itself also follows redirects to ftp:)."""

    def http_error_302(self, req, fp, code, msg, headers):
        target = headers.get("location") or headers.get("uri")
        if target is not None:
            joined = urllib.parse.urljoin(req.full_url, target.strip())
            if not allowed_url(joined):
                fp.close()
                raise UnsupportedScheme(url_scheme(joined) or url_scheme(target), f"redirect {code}")
        # urllib reads a redirect's whole body before following it (no cap; an endless one would be
        # read until the deadline): it is never used and the connection is not reused, so drop it
        fp.close()
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _https_context() -> ssl.SSLContext:
    # what http.client.HTTPSConnection makes by default (a verifying context, ALPN http/1.1), once per process
    ctx = ssl._create_default_https_context()
    ctx.set_alpn_protocols(["http/1.1"])
    if ctx.post_handshake_auth is not None:
        ctx.post_handshake_auth = True
    ctx.sslsocket_class = _DeadlineSSLSocket
    return ctx


_opener_lock = threading.Lock()
_opener: Optional[urllib.request.OpenerDirector] = None


def opener() -> urllib.request.OpenerDirector:
    """urllib's default handler set minus file, ftp and data; proxies for http/https only."""
    global _opener
    with _opener_lock:
        if _opener is None:
            proxies = {k: v for k, v in urllib.request.getproxies().items() if k in ALLOWED_SCHEMES}
            o = urllib.request.OpenerDirector()
            for h in (urllib.request.ProxyHandler(proxies), urllib.request.UnknownHandler(), _HTTPHandler(),
                      _HTTPSHandler(context=_https_context()), urllib.request.HTTPDefaultErrorHandler(),
                      _RedirectHandler(), urllib.request.HTTPErrorProcessor()):
                o.add_handler(h)
            _opener = o
        return _opener


# ------------------------------------------------------------------------------------------------
# one image


def _read_body(r, max_bytes: int) -> io.BytesIO:
    length = r.getheader("Content-Length")
    try:
        declared = int(length) if length is not None else None
    except ValueError:
        declared = None
    if declared is not None and declared > max_bytes:
        raise TooLarge(f"{TOO_LARGE}: Content-Length over max_bytes ({max_bytes})")
    buf = io.BytesIO()
    total = 0
    while True:
        chunk = r.read1(CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise TooLarge(f"{TOO_LARGE}: body over max_bytes ({max_bytes})")
        buf.write(chunk)
    if r.length:  # the server closed before sending what Content-Length promised (read1 does not raise)
        raise http.client.IncompleteRead(buf.getvalue(), r.length)
    buf.seek(0)
    return buf


def fetch(url, *, timeout: Optional[float], deadline: float, max_bytes: int, user_agent_token: Optional[str] = None,
          disallowed_header_directives=None, allow_private: bool = False) -> tuple[Optional[io.BytesIO], Optional[str]]:
    """(the body, None) or (None, an error message), as img2dataset's download_image reports them.
    Without `allow_private`, a host (or a redirect's host) that is not a public internet address is
    refused when connecting (`private address: ...`), unless it is the environment's proxy."""
    scheme = url_scheme(url)
    if not allowed_url(url):
        return None, f"{UNSUPPORTED} {scheme!r}"
    ua = USER_AGENT + (USER_AGENT_TOKEN.format(token=user_agent_token) if user_agent_token else "")
    end = time.monotonic() + deadline
    _local.limits = (end, timeout)
    _local.allow_private = allow_private
    try:
        request = urllib.request.Request(str(url), data=None, headers={"User-Agent": ua})
        with opener().open(request, timeout=_op_timeout(timeout)) as r:
            if disallowed_header_directives:
                from img2dataset.downloader import is_disallowed

                if is_disallowed(r.headers, user_agent_token, disallowed_header_directives):
                    return None, "Use of image disallowed by X-Robots-Tag directive"
            return _read_body(r, max_bytes), None
    except Exception as err:  # noqa: BLE001 - every failure is a message, as in img2dataset
        if isinstance(err, DeadlineExceeded) or time.monotonic() >= end:
            return None, f"{DEADLINE} ({deadline:g} s per image)"
        return None, str(err)
    finally:
        _local.limits = None
        _local.allow_private = True


# ------------------------------------------------------------------------------------------------
# the seam into img2dataset

_settings: dict = {"deadline": 60.0, "max_bytes": 256 * 1024 ** 2, "allow_private": False}


def download_image(row, timeout, user_agent_token, disallowed_header_directives):
    """img2dataset.downloader.download_image's signature and results, through `fetch`."""
    key, url = row
    stream, err = fetch(url, timeout=timeout, deadline=_settings["deadline"], max_bytes=_settings["max_bytes"],
                        user_agent_token=user_agent_token, disallowed_header_directives=disallowed_header_directives,
                        allow_private=_settings["allow_private"])
    return key, stream, err


def _check(module) -> None:
    retry = getattr(module, "download_image_with_retry", None)
    if (getattr(module, "download_image", None) is None or retry is None
            or "download_image" not in retry.__code__.co_names or retry.__globals__ is not vars(module)):
        raise RuntimeError("img2dataset.downloader no longer fetches through download_image_with_retry -> "
                           "download_image; the toolkit cannot guard its downloads (use img2dataset==1.47.*)")


def install(deadline: float, max_bytes: int, allow_private: bool = False) -> None:
    """Route this process's img2dataset downloads through `fetch` with these limits."""
    from img2dataset import downloader

    _check(downloader)
    _settings.update(deadline=float(deadline), max_bytes=int(max_bytes), allow_private=bool(allow_private))
    downloader.download_image = download_image


class GuardedDownloader:
    """img2dataset's Downloader, run in whatever process the distributor picks, with `install` done
    in that process first. Picklable (spawned pool processes import this module to unpickle it)."""

    def __init__(self, downloader, deadline: float, max_bytes: int, allow_private: bool = False):
        self.downloader, self.deadline, self.max_bytes = downloader, deadline, max_bytes
        self.allow_private = allow_private

    def __call__(self, row):
        install(self.deadline, self.max_bytes, self.allow_private)
        return self.downloader(row)


@contextlib.contextmanager
def guarded(i2d_main, *, deadline: float, max_bytes: int, allow_private: bool = False):
    """While inside, `i2d_main.download(...)` builds a GuardedDownloader instead of a Downloader."""
    from img2dataset import downloader

    _check(downloader)  # fail here, before any process starts, if the seam moved
    real = i2d_main.Downloader
    i2d_main.Downloader = lambda *a, **kw: GuardedDownloader(real(*a, **kw), deadline, max_bytes, allow_private)
    try:
        yield
    finally:
        i2d_main.Downloader = real
