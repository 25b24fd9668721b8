"""Lossless encoders side by side: which one should store a PNG member?

Lossless PNG is the floor of the default path (every member without a lossy codec is a PNG), so the
encoder and its zlib level decide a CPU build's speed. On the same aligned reals, one run, best of 3:

  - Pillow PNG at compress_level 1..9 (the toolkit's encoder; Pillow's wheels link zlib-ng),
  - Pillow WebP lossless (another lossless container; a change of format, listed for the bytes),
  - OpenCV's PNG (libpng) when cv2 is importable,
  - imagecodecs' libpng and libspng encoders and a PNG written from numpy filtering + libdeflate
    (the `deflate` package) when those are importable (they are not dependencies: put a wheel's
    unpacked folder on PYTHONPATH to include them, e.g. `pip download --no-deps imagecodecs deflate`).

Every candidate's output is decoded with Pillow and must give exactly the input pixels (asserted).
Sizes and times are reported relative to Pillow level 6 (the toolkit's default before issue 18).

    .venv/bin/python benchmarks/png_codecs.py [--n 24] [--sizes 256 512] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import zlib

import numpy as np
from common import ROOT, timed


def aligned_reals(n: int, size: int) -> list[np.ndarray]:
    from toolkit.config.recipe import load_recipe
    from toolkit.engine.pipeline import get_source
    from toolkit.transforms.align import decode_and_align

    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [f"reals.count={n}", f"image.size={size}"])
    src = get_source(recipe)
    return [decode_and_align(src.read(r), size=size)[0] for r in src.list()]


def _pillow(fmt: str, **kw):
    from PIL import Image

    def enc(a: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(a, "RGB").save(buf, format=fmt, **kw)
        return buf.getvalue()
    return enc


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _paeth_filtered(a: np.ndarray) -> bytes:
    """Every scanline with PNG filter 4 (Paeth), computed on the original bytes (vectorised)."""
    h, w, c = a.shape
    x = a.reshape(h, w * c).astype(np.int16)
    left = np.zeros_like(x)
    left[:, c:] = x[:, :-c]
    up = np.zeros_like(x)
    up[1:] = x[:-1]
    ul = np.zeros_like(x)
    ul[1:, c:] = x[:-1, :-c]
    p = left + up - ul
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - ul)
    pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, ul))
    rows = ((x - pred) & 0xFF).astype(np.uint8)
    return np.concatenate([np.full((h, 1), 4, np.uint8), rows], axis=1).tobytes()


def _libdeflate_png(level: int):
    import deflate

    def enc(a: np.ndarray) -> bytes:
        h, w, _ = a.shape
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
                + _chunk(b"IDAT", deflate.zlib_compress(_paeth_filtered(a), level)) + _chunk(b"IEND", b""))
    return enc


def candidates() -> dict:
    out = {f"pillow png {lv}": _pillow("PNG", compress_level=lv, optimize=False) for lv in range(1, 10)}
    out["pillow webp lossless m0"] = _pillow("WEBP", lossless=True, quality=0, method=0, exact=True)
    out["pillow webp lossless m4"] = _pillow("WEBP", lossless=True, quality=80, method=4, exact=True)
    try:
        import cv2

        for lv in (1, 3, 6):
            out[f"opencv png {lv}"] = lambda a, lv=lv: cv2.imencode(
                ".png", a[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, lv])[1].tobytes()
    except ImportError:
        pass
    try:
        import imagecodecs

        for lv in (1, 6):
            out[f"imagecodecs libpng {lv}"] = lambda a, lv=lv: bytes(imagecodecs.png_encode(a, level=lv))
        out["imagecodecs spng"] = lambda a: bytes(imagecodecs.spng_encode(a))
    except ImportError:
        pass
    try:
        import deflate  # noqa: F401

        for lv in (1, 4, 6):
            out[f"libdeflate png {lv} (paeth)"] = _libdeflate_png(lv)
    except ImportError:
        pass
    return out


def measure(n: int, sizes: list[int]) -> list[dict]:
    from PIL import Image

    rows = []
    for size in sizes:
        imgs = aligned_reals(n, size)
        base = None
        for name, enc in candidates().items():
            blobs = [enc(a) for a in imgs]
            for a, b in zip(imgs, blobs):  # lossless means the same pixels back, exactly
                with Image.open(io.BytesIO(b)) as im:
                    assert np.array_equal(np.asarray(im.convert("RGB")), a), f"{name}: pixels differ"
            t = timed(lambda: [enc(a) for a in imgs], 3)
            nbytes = sum(len(b) for b in blobs)
            row = {"size": size, "encoder": name, "n": n, "ms_per_img": 1000 * t / n, "bytes_per_img": nbytes / n}
            base = base or (row if name == "pillow png 6" else None)
            rows.append(row)
        base = next(r for r in rows if r["size"] == size and r["encoder"] == "pillow png 6")
        for r in rows:
            if r["size"] == size:
                r["time_vs_png6"] = r["ms_per_img"] / base["ms_per_img"]
                r["bytes_vs_png6"] = r["bytes_per_img"] / base["bytes_per_img"]
    return rows


def report(rows: list[dict]) -> str:
    lines = [f"{'size':>5} {'encoder':<28}{'ms/img':>8}{'KB/img':>9}{'time vs png 6':>15}{'bytes vs png 6':>16}"]
    for r in rows:
        lines.append(f"{r['size']:>5} {r['encoder']:<28}{r['ms_per_img']:>8.2f}{r['bytes_per_img'] / 1024:>9.1f}"
                     f"{r['time_vs_png6']:>14.2f}x{r['bytes_vs_png6']:>15.3f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = measure(a.n, a.sizes)
    print(json.dumps(rows) if a.json else report(rows))
