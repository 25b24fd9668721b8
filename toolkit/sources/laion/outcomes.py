"""What a download came to: img2dataset's error messages mapped to catalogued drop reasons, and the bytes
of a downloaded image described (format, size, sha256, JPEG quality)."""

from __future__ import annotations



import hashlib
import re
from typing import Optional


from toolkit.transforms.codecs import sniff_format
from toolkit.transforms.jpeg_quality import estimate_jpeg_quality


# ------------------------------------------------------------------------------------------------
# img2dataset error messages -> drop reasons

_RULES = [
    # the guard's own messages (laion/fetch.py) first, matched at the start of the message only
    (re.compile(r"^unsupported URL scheme"), "unsupported_scheme"),
    (re.compile(r"private address"), "private_address"),
    (re.compile(r"^deadline exceeded"), "deadline_exceeded"),
    (re.compile(r"^too large"), "too_large"),
    (re.compile(r"HTTP Error (\d{3})"), lambda m: f"http_{m.group(1)}"),
    (re.compile(r"timed out|timeout", re.I), "timeout"),
    (re.compile(r"X-Robots-Tag", re.I), "robots_disallowed"),
    (re.compile(r"IncompleteRead", re.I), "incomplete_read"),
    (re.compile(r"unknown url type|no host given|can't contain control characters|Invalid URL", re.I),
     "invalid_url"),
    (re.compile(r"Name or service not known|nodename nor servname|getaddrinfo failed|name resolution|"
                r"No address associated", re.I), "dns_error"),
    (re.compile(r"Connection refused", re.I), "connection_refused"),
    (re.compile(r"Connection reset", re.I), "connection_reset"),
    (re.compile(r"Remote end closed connection", re.I), "connection_closed"),
    (re.compile(r"CERTIFICATE_VERIFY_FAILED|\bSSL\b|ssl\.c", re.I), "ssl_error"),
    (re.compile(r"hash mismatch", re.I), "hash_mismatch"),
]


def download_reason(message: Optional[str]) -> str:
    """A drop reason for one img2dataset error message: a few common ones by name (http_404,
    timeout, ...), anything else as `download_error:<message normalised>` (lower case, digits,
    URLs and punctuation folded, at most 60 characters), so reasons stay few and groupable."""
    text = (message or "").strip()
    for pattern, name in _RULES:
        m = pattern.search(text)
        if m:
            return name(m) if callable(name) else name
    slug = re.sub(r"\w+://\S+", "url", text.lower())
    slug = re.sub(r"\d+", "n", slug)
    slug = re.sub(r"[^a-z]+", "_", slug).strip("_")[:60].rstrip("_")
    return f"download_error:{slug or 'unknown'}"


# ------------------------------------------------------------------------------------------------
# bytes -> metadata


def sniff(data: bytes) -> str:
    fmt = sniff_format(data)
    if fmt != "unknown":
        return fmt
    head = data[:16]
    if head[:4] in (b"GIF8",):
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        return {b"avif": "avif", b"avis": "avif", b"heic": "heic", b"heix": "heic", b"mif1": "heif"}.get(
            head[8:12], "isobmff")
    if not data:
        return "empty"
    return "unknown"


def describe_bytes(data: bytes) -> dict:
    """Format (from the signature), size, sha256 and, for JPEGs, the quality estimate."""
    fmt = sniff(data)
    q = estimate_jpeg_quality(data) if fmt == "jpeg" else None
    return {"format": fmt, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "jpeg_quality": q["quality"] if q else None, "jpeg_quality_exact": q["exact"] if q else None}


