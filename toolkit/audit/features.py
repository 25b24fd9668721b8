"""Per-image features computed from the stored bytes alone: what a shortcut could key on.

Why: a detector trained on a dataset whose reals are JPEG and fakes PNG learns the codec, not the
generator (GenImage, DIRE). Every cue of that kind is cheap to read from the file, so we read them all
and let `shortcuts` test whether they predict the label. Features are grouped:

- *shortcut* groups (format, codec, geometry, metadata): properties of the container. In an aligned
  dataset they are identical within a pair, so no classifier can use them (AUC 0.5). These gate the
  audit's exit code.
- *content* groups (file_size, colour, frequency, jpeg_history): statistics of the pixels. A
  generator's own artifacts (a round-trip's smoothing, say) legitimately move them, so they are
  reported as a cheap-detector baseline, not as a leak.

Everything is a float (categoricals as small integer codes, "not applicable" as 0 or -1) so one
feature matrix feeds every classifier.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from toolkit.transforms.codecs import sniff_format
from toolkit.transforms.jpeg_quality import estimate_from_tables

# group -> (features, gating). Order is the column order of the feature matrix.
GROUPS: dict[str, tuple[tuple[str, ...], bool]] = {
    "format": (("fmt_png", "fmt_jpeg", "fmt_webp", "fmt_other"), True),
    "codec": (("jpeg_quality", "jpeg_tables_exact", "jpeg_subsampling", "jpeg_progressive",
               "webp_lossy", "webp_lossless", "png_interlaced"), True),
    "geometry": (("width", "height", "aspect", "megapixels"), True),
    "metadata": (("has_exif", "has_icc", "has_xmp", "has_text", "mode", "n_info_keys"), True),
    "file_size": (("bytes_per_pixel",), False),
    "colour": (("mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "saturation", "clipped"), False),
    "frequency": (("hf_energy", "laplacian"), False),
    "jpeg_history": (("blockiness", "blockiness_shifted"), False),
}
FEATURES: tuple[str, ...] = tuple(f for names, _ in GROUPS.values() for f in names)
GATING_GROUPS = tuple(g for g, (_, gating) in GROUPS.items() if gating)

SUBSAMPLING = {"4:4:4": 1, "4:2:2": 2, "4:2:0": 3, "other": 4}  # 0: not a JPEG
MODES = {"RGB": 1, "L": 2, "RGBA": 3, "P": 4, "CMYK": 5, "LA": 6, "I;16": 7, "I": 8, "F": 9, "1": 10}
_PIL_SAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
_XMP_MARKERS = (b"http://ns.adobe.com/xap/1.0/", b"<x:xmpmeta")
CONTENT_SIDE = 512  # colour/frequency statistics on a centre crop at most this big: bounded time


@dataclass
class ImageFeatures:
    values: dict[str, float]
    info: dict  # human-readable facts (format, quality, subsampling, ...) for reports and tests
    error: str | None = None


def webp_kind(data: bytes) -> str | None:
    """'lossy' | 'lossless' | None, by walking the RIFF chunks (VP8X files hold VP8 or VP8L later)."""
    if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return None
    pos = 12
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if tag == b"VP8 ":
            return "lossy"
        if tag == b"VP8L":
            return "lossless"
        pos += 8 + size + (size & 1)
    return None


def jpeg_subsampling(im: Image.Image) -> str:
    from PIL import JpegImagePlugin

    if len(getattr(im, "layer", []) or []) != 3:
        return "other"  # greyscale or CMYK: no chroma subsampling to speak of
    return _PIL_SAMPLING.get(JpegImagePlugin.get_sampling(im), "other")


@lru_cache(maxsize=4096)
def _quality(tables: tuple) -> dict | None:
    """Quality estimate per distinct table set: a dataset holds few, and the estimate is a Python loop."""
    return estimate_from_tables(dict(tables))


def container_info(data: bytes) -> dict:
    """Header-level facts (no pixel decoding): format, codec settings, size, metadata presence."""
    fmt = sniff_format(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(io.BytesIO(data)) as im:
            info = dict(im.info)
            out = {"format": fmt, "width": im.size[0], "height": im.size[1], "mode": im.mode,
                   "quality": None, "quality_exact": None, "subsampling": None, "progressive": False,
                   "webp": webp_kind(data), "interlaced": bool(info.get("interlace")) if fmt == "png" else False}
            if fmt == "jpeg":
                est = _quality(tuple((k, tuple(v)) for k, v in sorted((getattr(im, "quantization", None) or {}).items())))
                if est:
                    out["quality"], out["quality_exact"] = est["quality"], est["exact"]
                out["subsampling"] = jpeg_subsampling(im)
                out["progressive"] = bool(info.get("progressive") or info.get("progression"))
            text = getattr(im, "text", None) if fmt == "png" else None
    out["exif"] = bool(info.get("exif"))
    out["icc"] = bool(info.get("icc_profile"))
    out["xmp"] = bool(info.get("xmp") or info.get("XML:com.adobe.xmp")) or any(m in data for m in _XMP_MARKERS)
    out["text"] = bool(text) or bool(info.get("comment"))
    out["info_keys"] = sorted(str(k) for k in info)
    return out


def _content(rgb: np.ndarray) -> dict[str, float]:
    h, w = rgb.shape[:2]
    if max(h, w) > CONTENT_SIDE:
        top, left = max(0, (h - CONTENT_SIDE) // 2), max(0, (w - CONTENT_SIDE) // 2)
        rgb = rgb[top:top + CONTENT_SIDE, left:left + CONTENT_SIDE]
    r, g, b = (np.ascontiguousarray(rgb[..., k], dtype=np.float32) for k in range(3))  # planar: fast reductions
    mean = [float(c.mean()) for c in (r, g, b)]
    std = [float(c.std()) for c in (r, g, b)]
    mx, mn = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    sat = float(np.mean((mx - mn) / np.maximum(mx, 1.0)))
    clipped = float(np.mean((mn == 0) | (mx == 255)))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    scale = float(y.std()) + 1e-3
    # high-frequency energy: share of spectral power beyond half the Nyquist radius
    from scipy import fft

    spec = np.abs(fft.rfft2(y - y.mean())) ** 2  # scipy keeps float32: twice numpy's speed
    fy = fft.fftfreq(y.shape[0])[:, None]
    fx = fft.rfftfreq(y.shape[1])[None, :]
    hf = float(spec[np.sqrt(fx ** 2 + fy ** 2) > 0.25].sum() / max(spec.sum(), 1e-12))
    lap = np.abs(4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]).mean() / scale \
        if min(y.shape) >= 3 else 0.0
    # JPEG history: JPEG leaves discontinuities on its 8x8 grid. Mean |step| across each column/row
    # boundary class (index mod 8); `blockiness` is the grid at offset 0 (after pixel 7 of each block)
    # against the other offsets, `blockiness_shifted` the strongest other offset (a shifted grid: the
    # image was cropped after an earlier compression, a classic double-compression hint).
    block, shifted = 1.0, 1.0
    if min(y.shape) >= 16:
        dx = np.abs(np.diff(y, axis=1)).mean(0)
        dy = np.abs(np.diff(y, axis=0)).mean(1)
        per = np.array([dx[k::8].mean() + dy[k::8].mean() for k in range(8)])
        others = np.delete(per, 7)
        base = float(np.median(per)) + 1e-6
        block, shifted = float(per[7] / base), float(others.max() / base)
    return {"mean_r": float(mean[0]), "mean_g": float(mean[1]), "mean_b": float(mean[2]),
            "std_r": float(std[0]), "std_g": float(std[1]), "std_b": float(std[2]),
            "saturation": sat, "clipped": clipped, "hf_energy": hf, "laplacian": float(lap),
            "blockiness": block, "blockiness_shifted": shifted}


def image_features(data: bytes) -> ImageFeatures:
    """All features of one stored image. An unreadable file gets zeros and an `error` (counted)."""
    try:
        c = container_info(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                rgb = np.asarray(im.convert("RGB"))
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the audit; it is reported
        return ImageFeatures({f: 0.0 for f in FEATURES}, {"format": sniff_format(data)}, f"{type(e).__name__}: {e}")
    w, h = c["width"], c["height"]
    fmt = c["format"]
    v = {
        "fmt_png": float(fmt == "png"), "fmt_jpeg": float(fmt == "jpeg"), "fmt_webp": float(fmt == "webp"),
        "fmt_other": float(fmt not in ("png", "jpeg", "webp")),
        "jpeg_quality": float(c["quality"] or 0), "jpeg_tables_exact": float(bool(c["quality_exact"])),
        "jpeg_subsampling": float(SUBSAMPLING.get(c["subsampling"], 0) if c["subsampling"] else 0),
        "jpeg_progressive": float(c["progressive"]),
        "webp_lossy": float(c["webp"] == "lossy"), "webp_lossless": float(c["webp"] == "lossless"),
        "png_interlaced": float(c["interlaced"]),
        "width": float(w), "height": float(h), "aspect": w / max(h, 1), "megapixels": w * h / 1e6,
        "has_exif": float(c["exif"]), "has_icc": float(c["icc"]), "has_xmp": float(c["xmp"]),
        "has_text": float(c["text"]), "mode": float(MODES.get(c["mode"], 99)),
        "n_info_keys": float(len(c["info_keys"])),
        "bytes_per_pixel": len(data) / max(w * h, 1),
        **_content(rgb),
    }
    return ImageFeatures(v, c)


def feature_matrix(blobs) -> tuple[np.ndarray, list[dict], list[str | None]]:
    """(n x len(FEATURES) matrix, per-image info, per-image error) for an iterable of encoded images."""
    rows, infos, errors = [], [], []
    for data in blobs:
        f = image_features(data)
        rows.append([f.values[k] for k in FEATURES])
        infos.append(f.info)
        errors.append(f.error)
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES)), infos, errors
