"""Encoding of final image bytes: the one place where codec settings are chosen.

Every member of a dataset is encoded here, with every setting explicit (no library default left to
drift between versions): PNG at a fixed zlib level, baseline JPEG with explicit chroma subsampling and
no optimisation pass, lossy WebP with an explicit method. Nothing else (EXIF, ICC, text chunks) is
written, so the container never carries a cue the other member of the pair lacks.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def encode(pixels: np.ndarray | Image.Image, fmt: str, **params) -> bytes:
    img = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels, "RGB")
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG", compress_level=int(params.get("compress_level", 6)), optimize=False)
    elif fmt == "jpeg":
        img.save(buf, format="JPEG", quality=int(params["quality"]),
                 subsampling=params.get("subsampling", "4:2:0"), optimize=False, progressive=False)
    elif fmt == "webp":
        img.save(buf, format="WEBP", quality=int(params["quality"]), method=int(params.get("method", 4)),
                 lossless=False, exact=False)
    else:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return buf.getvalue()


def decode_rgb(data: bytes) -> np.ndarray:
    """Decode bytes this module wrote back to an HxWx3 uint8 array (for tests and metrics)."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def sniff_format(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "unknown"


def jpeg_tables(data: bytes) -> dict:
    """Quantisation tables of a JPEG (what identifies its quality setting)."""
    with Image.open(io.BytesIO(data)) as im:
        return {k: list(v) for k, v in getattr(im, "quantization", {}).items()}
