"""Decode a real image once and bring it to the pair's geometry: the pair's anchor.

Why this module exists: in an *aligned* dataset the real and its fakes must differ only by what the
generator imprints. If the real were decoded twice (once to feed the generator, once to publish), or
by two code paths with different colour, orientation or resampling rules, the pair would carry a
difference a detector could learn instead of the generator's traces. So this is the only place where
a real's bytes are decoded: `decode` turns them into an 8-bit sRGB image exactly once, `align`
resizes and crops it to the recipe's geometry, and every other member of the pair (the fakes, the
augmented copies, the published real) derives from the resulting array and never from the bytes.

Decoding rules (each unusable input raises `DropSample` with one of these reasons):

- ``empty_file``: zero bytes. ``not_an_image``: PIL cannot identify the bytes as an image.
- ``decompression_bomb``: width * height > `max_pixels`, checked from the header before any pixel is
  decoded (``Image.open`` is lazy) and again after loading; PIL's own DecompressionBombError is
  mapped here too, and so is its DecompressionBombWarning while `max_pixels` does not exceed
  ``PIL.Image.MAX_IMAGE_PIXELS`` (a larger `max_pixels` is the caller's explicit choice, so the
  warning is then silenced). PIL's global limit is never changed; above 2 x that limit PIL refuses
  by itself.
- ``truncated`` / ``decode_error``: loading the pixels failed; ``truncated`` when PIL says so (or
  ran out of data), otherwise ``decode_error``. ``ImageFile.LOAD_TRUNCATED_IMAGES`` is never set:
  a half-grey real is worse than a dropped one.

Then, in this order:

1. Multi-frame files (GIF, APNG, multi-page TIFF, MPO): the first frame only; ``n_frames`` recorded.
2. EXIF orientation: the tag (2..8) is applied with the same transposes as
   ``ImageOps.exif_transpose``; the original tag value is recorded (1 if none or unreadable).
3. Colour: an embedded ICC profile (RGB, grey or CMYK) is converted to sRGB with ``PIL.ImageCms``
   (perceptual intent) when ``icc="convert"``; if that fails the plain conversion below is used.
   ``info["icc"]`` is ``converted`` | ``failed`` | ``ignored`` (profile present, icc="ignore") |
   ``none`` (no profile).
4. Mode to 8-bit RGB, as a rule:

   - '1', 'L', 'P' without transparency, 'CMYK', 'YCbCr', 'LAB', 'HSV', 'RGB', 'RGBX':
     ``convert("RGB")`` (after the ICC step, which works on 'L', 'RGB' and 'CMYK' data).
   - 16/32-bit integer ('I;16', 'I;16B', 'I;16L', 'I;16N', 'I'): v -> round(v / 257) clipped to
     0..255, i.e. 0..65535 onto 0..255 (computed exactly as (clip(v, 0, 65535) + 128) // 257; PIL's
     own convert would clip instead of scale), then grey -> RGB.
   - 'F' (float): non-finite values -> 0 (+inf -> top); if the finite max <= 1 the data is taken as
     0..1 and scaled by 255, otherwise as 0..255; clipped, then rounded half up.
   - Anything with alpha ('RGBA', 'LA', 'PA', 'La', 'RGBa', or 'P'/'L'/'RGB'/'1'/'I;16' with a
     ``transparency`` entry, or a palette with alpha) is composited over the solid `alpha_background`
     (default white): out = round((c * a + bg * (255 - a)) / 255). The alpha channel is never just
     dropped, which would expose the arbitrary colours stored under transparent pixels.

The returned image is a fully loaded 'RGB' image with an empty ``info`` (no ICC/EXIF left to be
re-applied by a later save). ``info`` records format, orig_mode, orig_width, orig_height (after the
EXIF transpose), n_frames, exif_orientation, icc and had_alpha; all values are JSON-friendly.

Geometry (`align`): the short side is resized to `size` (long side = round half up of
long * size / short, at least `size`) with one of `FILTERS`, then a `size` x `size` crop is taken,
centred or at offsets drawn from the pair's seeded RNG. `size=None` keeps the native geometry.
"""

from __future__ import annotations

import io
import warnings
from typing import Optional

import numpy as np
from PIL import Image, UnidentifiedImageError

FILTERS = {
    "lanczos": Image.Resampling.LANCZOS,
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "box": Image.Resampling.BOX,
    "nearest": Image.Resampling.NEAREST,
}
CROPS = ("center", "random")
ICC_MODES = ("convert", "ignore")

_INT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
# EXIF Orientation -> transpose, exactly the table of ImageOps.exif_transpose.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG": "PNG", b"GIF8": "GIF", b"II*\x00": "TIFF",
               b"MM\x00*": "TIFF", b"BM": "BMP"}


def decode(data: bytes, *, max_pixels: int = 89_478_485, icc: str = "convert",
           alpha_background=(255, 255, 255)) -> tuple[Image.Image, dict]:
    """Decode encoded image bytes once into an 8-bit RGB PIL image; return (image, info).

    This is the single decode of a real: everything else in its pair derives from these pixels, so
    orientation, colour management, bit depth and transparency are all settled here, by the rules in
    the module docstring. Raises `DropSample` (empty_file, not_an_image, decompression_bomb,
    truncated, decode_error) for unusable bytes, `ValueError` for bad arguments.
    """
    out, info, opened = _decode_open(data, max_pixels=max_pixels, icc=icc, alpha_background=alpha_background)
    if out is opened:  # a standalone copy: the opened file is closed below
        out = out.copy()
        out.info = {}
    opened.close()
    return out, info


def _decode_open(data: bytes, *, max_pixels: int, icc: str, alpha_background) -> tuple[Image.Image, dict, Image.Image]:
    """`decode` without its last copy: (image, info, opened file). The image may be the opened file itself
    (an RGB file without profile, orientation or alpha: the common JPEG); the caller closes the opened
    file once it is done with the image. `decode_and_align` resizes straight from it: the resize makes
    the new image, so copying first was a wasted pass over the full-size decode."""
    from toolkit.errors import DropSample

    if icc not in ICC_MODES:
        raise ValueError(f"unknown icc mode {icc!r} (known: {', '.join(ICC_MODES)})")
    bg = _background(alpha_background)
    if data is None or len(data) == 0:
        raise DropSample("empty_file", "0 bytes")

    with warnings.catch_warnings():
        limit = Image.MAX_IMAGE_PIXELS
        if limit is not None and max_pixels <= limit:
            warnings.simplefilter("error", Image.DecompressionBombWarning)
        else:
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        im = _open(data)
        try:
            fmt = im.format
            _check_pixels(im.size, max_pixels)
            n_frames = _n_frames(im)
            _load_first_frame(im)
            _check_pixels(im.size, max_pixels)
            orig_mode = im.mode
            orientation = _orientation(im)
            oriented = im.transpose(_ORIENTATION[orientation]) if orientation in _ORIENTATION else im
            profile = im.info.get("icc_profile") or None
            had_alpha = _has_alpha(oriented)
            try:
                out, icc_status = _to_rgb(oriented, profile, icc, bg)
            except DropSample:
                raise
            except Exception as e:  # noqa: BLE001 - an unconvertible mode is a bad file, not a crash
                raise DropSample("decode_error", f"cannot convert mode {oriented.mode!r} to RGB: {_short(e)}")
        except BaseException:
            im.close()
            raise

    out.load()
    out.info = {}
    width, height = out.size
    info = {
        "format": fmt,
        "orig_mode": orig_mode,
        "orig_width": width,
        "orig_height": height,
        "n_frames": n_frames,
        "exif_orientation": orientation,
        "icc": icc_status,
        "had_alpha": had_alpha,
    }
    return out, info, im


def align(img: Image.Image, *, size: Optional[int], min_size: int = 0, resize_filter: str = "lanczos",
          crop: str = "center", rng: Optional[np.random.Generator] = None) -> tuple[np.ndarray, dict]:
    """Resize short side to `size` and crop size x size (center or seeded random); returns HxWx3 uint8
    C-contiguous array and info.

    The array returned is the pair's anchor: the generators receive exactly these pixels and the
    published real is encoded from them, so real and fakes share size and framing by construction.
    Raises `DropSample("too_small")` when the short side is below `min_size`; `ValueError` for an
    unknown filter or crop, a non-RGB image, or crop="random" without `rng`.
    """
    from toolkit.errors import DropSample

    _check_geometry_args(size, resize_filter, crop, rng)
    if img.mode != "RGB":
        raise ValueError(f"align expects an 'RGB' image (use decode), got mode {img.mode!r}")
    if size is not None and int(size) < 1:
        raise ValueError(f"size must be a positive integer or None, got {size!r}")

    w, h = img.size
    short = min(w, h)
    if short < min_size:
        raise DropSample("too_small", f"{w}x{h}: short side {short} < min_size {min_size}")

    if size is not None:
        return _cover(img, int(size), int(size), resize_filter, crop, rng)
    arr = np.ascontiguousarray(np.array(img, dtype=np.uint8, copy=True))
    return arr, _info(resize_filter, (w, h), (0, 0, w, h), arr)


def cover_crop(img: Image.Image, *, width: int, height: int, resize_filter: str = "lanczos", crop: str = "center",
               rng: Optional[np.random.Generator] = None) -> tuple[np.ndarray, dict]:
    """Resize `img` to the smallest size covering width x height (aspect kept, sides rounded half up),
    then crop width x height, centred or at seeded offsets: `align`'s rule for a non-square target.

    Used to bring a generated image (text-to-image at 512 x 512, say) to the size of a real kept at its
    native geometry (`image.size: null`); for a square target `align` itself is used. Same filters,
    same `reducing_gap=None`, same crop rule as `align`, so the fake's framing follows the reals'."""
    _check_geometry_args(width, resize_filter, crop, rng)
    if img.mode != "RGB":
        raise ValueError(f"cover_crop expects an 'RGB' image, got mode {img.mode!r}")
    return _cover(img, width, height, resize_filter, crop, rng)


def _cover(img: Image.Image, width: int, height: int, resize_filter: str, crop: str, rng) -> tuple[np.ndarray, dict]:
    """The one resize-and-crop rule of `align` (square target) and `cover_crop` (any target): scale to the
    smallest size covering width x height (aspect kept, sides rounded half up), crop centred or at
    seeded offsets."""
    w, h = img.size
    if width * h >= height * w:  # the width binds: scale w -> width
        sw, sh = width, max(height, _round_ratio(h * width, w))
    else:
        sw, sh = max(width, _round_ratio(w * height, h)), height
    scaled = img if (sw, sh) == (w, h) else resize_to(img, sw, sh, resize_filter)
    if crop == "center":
        left, top = (sw - width) // 2, (sh - height) // 2
    else:
        left = int(rng.integers(0, sw - width + 1))
        top = int(rng.integers(0, sh - height + 1))
    box = (left, top, left + width, top + height)
    if box != (0, 0, sw, sh):
        scaled = scaled.crop(box)
    arr = np.ascontiguousarray(np.array(scaled, dtype=np.uint8, copy=True))
    if arr.ndim != 3 or arr.shape[2] != 3:  # defensive: the contract every generator relies on
        raise ValueError(f"aligned array has shape {arr.shape}, expected HxWx3")
    return arr, _info(resize_filter, (sw, sh), box, arr)


def resize_to(img: Image.Image, width: int, height: int, resize_filter: str = "lanczos") -> Image.Image:
    """`img` resized to exactly width x height: the one resize call of `align` and `cover_crop` (same
    filters, `reducing_gap=None`). Used where a pixel-registered copy is needed rather than a covering
    crop: a regeneration's input brought to its generation size and its output brought back to the
    pair's geometry (generators/img2img.py, inpaint.py); the aspect ratio is the caller's business."""
    if resize_filter not in FILTERS:
        raise ValueError(f"unknown resize_filter {resize_filter!r} (known: {', '.join(FILTERS)})")
    if img.size == (width, height):
        return img.copy()
    return img.resize((int(width), int(height)), FILTERS[resize_filter], reducing_gap=None)


def _info(resize_filter: str, scaled: tuple[int, int], box, arr: np.ndarray) -> dict:
    return {"resize_filter": resize_filter, "scaled_width": int(scaled[0]), "scaled_height": int(scaled[1]),
            "crop_box": [int(v) for v in box], "width": int(arr.shape[1]), "height": int(arr.shape[0])}


def _check_geometry_args(size, resize_filter: str, crop: str, rng) -> None:
    if resize_filter not in FILTERS:
        raise ValueError(f"unknown resize_filter {resize_filter!r} (known: {', '.join(FILTERS)})")
    if crop not in CROPS:
        raise ValueError(f"unknown crop {crop!r} (known: {', '.join(CROPS)})")
    if crop == "random" and rng is None and size is not None:
        raise ValueError("crop='random' needs rng (a seeded numpy Generator)")


def decode_and_align(data: bytes, *, size, min_size=0, resize_filter="lanczos", crop="center", rng=None,
                     max_pixels=89_478_485, icc="convert", alpha_background=(255, 255, 255)
                     ) -> tuple[np.ndarray, dict]:
    """decode() then align(); info dicts merged.

    The one call a shard makes per real: bytes in, the pair's anchor array out, decoded exactly once.
    Arguments are validated before decoding, so a bad recipe value fails fast instead of being
    counted as a drop for every sample.
    """
    _check_geometry_args(size, resize_filter, crop, rng)
    img, info, opened = _decode_open(data, max_pixels=max_pixels, icc=icc, alpha_background=alpha_background)
    try:
        arr, ainfo = align(img, size=size, min_size=min_size, resize_filter=resize_filter, crop=crop, rng=rng)
    finally:
        img.close()
        opened.close()
    return arr, {**info, **ainfo}


# ----------------------------------------------------------------------------------------------
# decode helpers


def _short(e: BaseException, limit: int = 160) -> str:
    text = f"{type(e).__name__}: {e}".strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _background(value) -> tuple[int, int, int]:
    try:
        bg = tuple(int(c) for c in value)
    except TypeError:
        bg = ()
    if len(bg) != 3 or not all(0 <= c <= 255 for c in bg):
        raise ValueError(f"alpha_background must be three integers in 0..255, got {value!r}")
    return bg  # type: ignore[return-value]


def _open(data: bytes) -> Image.Image:
    from toolkit.errors import DropSample

    try:
        return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DropSample("decompression_bomb", _short(e))
    except UnidentifiedImageError:
        head = bytes(data[:8])
        kind = next((k for sig, k in _SIGNATURES.items() if head.startswith(sig)), None)
        hint = f"starts like {kind} but its header cannot be read" if kind else "unknown file type"
        raise DropSample("not_an_image", f"PIL cannot identify the image ({hint}, {len(data)} bytes)")
    except Exception as e:  # noqa: BLE001 - plugins raise many things on broken headers
        raise DropSample(_load_reason(e), _short(e))


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    from toolkit.errors import DropSample

    w, h = size
    if w <= 0 or h <= 0:
        raise DropSample("decode_error", f"image has zero size ({w}x{h})")
    if max_pixels is not None and w * h > max_pixels:
        raise DropSample("decompression_bomb", f"{w}x{h} = {w * h} pixels > max_pixels {max_pixels}")


def _n_frames(im: Image.Image) -> int:
    try:
        n = int(getattr(im, "n_frames", 1) or 1)
    except Exception:  # noqa: BLE001 - a broken later frame must not cost the first one
        n = 1
    try:
        if im.tell() != 0:
            im.seek(0)
    except Exception:  # noqa: BLE001
        pass
    return n


def _load_reason(e: BaseException) -> str:
    if isinstance(e, EOFError) or "truncat" in str(e).lower():
        return "truncated"
    return "decode_error"


def _load_first_frame(im: Image.Image) -> None:
    from toolkit.errors import DropSample

    try:
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DropSample("decompression_bomb", _short(e))
    except MemoryError as e:
        raise DropSample("decode_error", _short(e))
    except Exception as e:  # noqa: BLE001 - OSError, SyntaxError, ValueError, struct.error, ...
        raise DropSample(_load_reason(e), _short(e))


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
        value = int(value[0] if isinstance(value, (tuple, list)) else value)
    except Exception:  # noqa: BLE001 - corrupt EXIF: keep the stored orientation
        return 1
    return value


def _has_alpha(im: Image.Image) -> bool:
    try:
        return bool(im.has_transparency_data)
    except Exception:  # noqa: BLE001
        return im.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in im.info


def _trns_mask(values: np.ndarray, trns) -> Optional[np.ndarray]:
    """Alpha (uint8) from a single transparent colour/grey value (PNG tRNS on non-palette images)."""
    if trns is None or isinstance(trns, (bytes, bytearray)):
        return None
    if values.ndim == 3:
        key = np.asarray(trns).reshape(-1)
        if key.size != values.shape[2]:
            return None
        hit = np.all(values == key, axis=2)
    else:
        if isinstance(trns, (tuple, list)):
            return None
        hit = values == trns
    return np.where(hit, 0, 255).astype(np.uint8)


def _colour_and_alpha(im: Image.Image) -> tuple[Image.Image, Optional[np.ndarray]]:
    """Split into colour data ('L', 'RGB', 'CMYK' or another PIL mode convertible to RGB, 8-bit)
    and an optional uint8 alpha array."""
    mode = im.mode
    trns = im.info.get("transparency")
    if mode in _INT_MODES:
        v = np.asarray(im).astype(np.int64)
        grey = ((np.clip(v, 0, 65535) + 128) // 257).astype(np.uint8)
        return Image.fromarray(grey, "L"), _trns_mask(v, trns)
    if mode == "F":
        return Image.fromarray(_float_to_u8(np.asarray(im, dtype=np.float64)), "L"), None
    if mode == "1":
        bits = np.asarray(im)
        alpha = None if trns is None or isinstance(trns, (bytes, tuple)) else \
            np.where(bits == bool(trns), 0, 255).astype(np.uint8)
        return im.convert("L"), alpha
    if mode in ("L", "RGB"):  # the values are only looked at for a tRNS colour (most files have none)
        return im, None if trns is None else _trns_mask(np.asarray(im), trns)
    if mode in ("LA", "La"):
        la = im if mode == "LA" else im.convert("LA")
        return la.getchannel("L"), np.asarray(la.getchannel("A"))
    if mode in ("RGBA", "RGBa", "PA") or (mode == "P" and _has_alpha(im)):
        rgba = im if mode == "RGBA" else im.convert("RGBA")
        return rgba.convert("RGB"), np.asarray(rgba.getchannel("A"))
    if mode == "CMYK":
        return im, None
    return im.convert("RGB"), None  # 'P' opaque, 'YCbCr', 'LAB', 'HSV', 'RGBX', ...


def _float_to_u8(x: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    top = float(x[finite].max()) if finite.any() else 0.0
    scale, hi = (255.0, 1.0) if top <= 1.0 else (1.0, 255.0)
    x = np.where(np.isnan(x), 0.0, x)
    x = np.clip(x, 0.0, hi) * scale  # +inf -> hi, -inf -> 0
    return np.floor(x + 0.5).astype(np.uint8)


def _icc_to_srgb(colour: Image.Image, profile: bytes) -> Image.Image:
    from PIL import ImageCms

    src = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    space = src.profile.xcolor_space.strip()
    needed = {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}.get(space)
    if needed is None:
        raise ValueError(f"unsupported profile colour space {space!r}")
    if colour.mode != needed:
        if needed == "RGB" and colour.mode == "L":
            colour = colour.convert("RGB")
        else:
            raise ValueError(f"{space} profile on a {colour.mode} image")
    out = ImageCms.profileToProfile(colour, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
    assert out is not None and out.mode == "RGB"
    return out


def _to_rgb(im: Image.Image, profile: Optional[bytes], icc: str, bg: tuple[int, int, int]
            ) -> tuple[Image.Image, str]:
    colour, alpha = _colour_and_alpha(im)
    if profile is None:
        status = "none"
    elif icc == "ignore":
        status = "ignored"
    else:
        try:
            colour, status = _icc_to_srgb(colour, profile), "converted"
        except Exception:  # noqa: BLE001 - a broken or mismatched profile falls back to plain conversion
            status = "failed"
    if colour.mode != "RGB":
        colour = colour.convert("RGB")
    if alpha is None:
        return colour, status
    c = np.asarray(colour, dtype=np.uint32)
    a = alpha.astype(np.uint32)[..., None]
    b = np.asarray(bg, dtype=np.uint32)
    out = (c * a + b * (255 - a) + 127) // 255  # exact round-half-up of the blend (255 is odd: no ties)
    return Image.fromarray(out.astype(np.uint8), "RGB"), status


# ----------------------------------------------------------------------------------------------
# align helpers


def _round_ratio(num: int, den: int) -> int:
    """round(num / den), half up, in exact integer arithmetic."""
    return (2 * num + den) // (2 * den)
