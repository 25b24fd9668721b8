"""Estimate the quality setting a JPEG was saved with, from its quantisation tables.

Why: a real's codec history is part of what a detector can learn (web JPEGs at q=75 vs lossless
fakes). The toolkit re-encodes every member of a pair the same way, but the card and each row's
provenance still record what the original download was, so a user can study or stratify by it.

How: almost every encoder (libjpeg/IJG, and so PIL, OpenCV, ImageMagick, most cameras' "quality"
sliders) scales the two example tables of the JPEG standard (Annex K) by the IJG rule
``scale = 5000 / q if q < 50 else 200 - 2 q``, ``t = clip((base * scale + 50) // 100, 1, 255)``.
We compute those tables for q = 1..100 and keep the q whose tables are closest to the file's
(summed absolute difference over the luminance table and, when present, the first chrominance
table). ``exact`` says the tables are exactly IJG's for that q; custom tables (Photoshop, some
phones, mozjpeg's alternatives) get the nearest q and ``exact: false``, which is an estimate of
the compression strength, not the setting a user chose.
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from typing import Optional, Sequence

# ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), natural (row-major) order:
# the order PIL's `Image.quantization` uses.
_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)
_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
)


@lru_cache(maxsize=None)
def ijg_tables(quality: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The (luminance, chrominance) tables libjpeg writes for `quality` (1..100, baseline)."""
    q = min(100, max(1, int(quality)))
    scale = 5000 // q if q < 50 else 200 - 2 * q

    def scaled(base):
        return tuple(min(255, max(1, (b * scale + 50) // 100)) for b in base)

    return scaled(_LUMA), scaled(_CHROMA)


def estimate_from_tables(tables: dict[int, Sequence[int]]) -> Optional[dict]:
    """{quality, exact} from PIL-style tables ({table id: 64 values, natural order}); None if the
    tables are not 8x8 tables (e.g. missing)."""
    luma = tables.get(0)
    if luma is None or len(luma) != 64:
        return None
    chroma = tables.get(1)
    if chroma is not None and len(chroma) != 64:
        chroma = None
    best = None
    for q in range(1, 101):
        ref_l, ref_c = ijg_tables(q)
        err = sum(abs(int(a) - b) for a, b in zip(luma, ref_l))
        if chroma is not None:
            err += sum(abs(int(a) - b) for a, b in zip(chroma, ref_c))
        if best is None or err < best[0] or (err == best[0] and q > best[1]):
            best = (err, q)
    err, q = best
    return {"quality": q, "exact": err == 0}


def estimate_jpeg_quality(data: bytes) -> Optional[dict]:
    """Quality estimate of encoded JPEG bytes ({quality, exact}), None for anything that is not a
    readable JPEG. Reads the header only (no pixels are decoded)."""
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # decompression-bomb warnings: only the header is read
            with Image.open(io.BytesIO(data)) as im:
                tables = getattr(im, "quantization", None) or {}
    except Exception:  # noqa: BLE001 - a broken header is align's business, not ours
        return None
    return estimate_from_tables(tables)
