"""Tiny generated image files, bad and good, with the outcome `toolkit.transforms.align` must give.

`write_bad_files(folder)` writes them and returns {filename: expected DropSample reason, or None for a
file that must decode}. Everything is generated (no binary fixtures in the repo), deterministic, a few
KB at most, and fast to make. The expectations of the good files (`*_expectation()` and the constants
below) describe the *displayed* image, so a test can check orientation, transparency and colour by
looking at pixels.

`rgb_swap_icc()` and `cmyk_swap_icc()` build minimal hand-made ICC v2 profiles whose colours are
deliberately "wrong" (red and blue primaries / inks swapped), so a test can tell an applied profile
from an ignored one.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

MIN_SIZE = 32  # the min_size under which tiny.png is "too_small"

# rotated.jpg: stored 120x80 (left half red, right half blue, a green stripe over the top 16 rows),
# tagged EXIF Orientation=6 ("rotate 90 degrees clockwise to display").
ROTATED_STORED_SIZE = (120, 80)
ROTATED_SIZE = (80, 120)  # displayed (width, height)
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)

# palette_transparent.png: 80x72 'P'; index 0 is fully transparent and its palette colour is magenta
# (what dropping the alpha channel would expose); left half index 0, right half index 1 (opaque blue).
PALETTE_SIZE = (80, 72)
PALETTE_HIDDEN = (255, 0, 255)
PALETTE_OPAQUE = (0, 0, 255)

# cmyk.jpg: 90x70; left half pure cyan ink, right half magenta + yellow ink (= red), no black.
CMYK_SIZE = (90, 70)
CMYK_LEFT, CMYK_RIGHT = (255, 0, 0, 0), (0, 255, 255, 0)
CMYK_LEFT_RGB, CMYK_RIGHT_RGB = (0, 255, 255), (255, 0, 0)  # PIL's plain CMYK -> RGB

SIXTEEN_SIZE = (70, 90)
PLAIN_SIZE = (100, 100)
BOMB_SIZE = (20000, 20000)


def rotated_stored() -> np.ndarray:
    """The pixels of rotated.jpg as stored (before the EXIF orientation), HxWx3 uint8."""
    w, h = ROTATED_STORED_SIZE
    a = np.zeros((h, w, 3), np.uint8)
    a[:, : w // 2] = RED
    a[:, w // 2 :] = BLUE
    a[:16, :] = GREEN
    return a


def rotated_expectation() -> dict:
    """What rotated.jpg must look like once Orientation=6 is applied: the stored image turned 90
    degrees clockwise, i.e. 80 wide x 120 tall, top half red, bottom half blue, green stripe down the
    right edge (x >= 64). `points` are (x, y) -> RGB away from edges (JPEG blurs boundaries);
    `pixels` is the full expected array (np.rot90 clockwise of `rotated_stored()`)."""
    return {
        "size": ROTATED_SIZE,
        "points": {(20, 20): RED, (40, 50): RED, (20, 100): BLUE, (50, 80): BLUE,
                   (74, 10): GREEN, (74, 110): GREEN},
        "pixels": np.ascontiguousarray(np.rot90(rotated_stored(), k=-1)),
    }


def palette_indices() -> np.ndarray:
    w, h = PALETTE_SIZE
    idx = np.zeros((h, w), np.uint8)
    idx[:, w // 2 :] = 1
    return idx


def sixteen_bit_values() -> np.ndarray:
    """sixteen_bit.png's uint16 values (70 wide x 90 tall): a ramp over the whole 0..65535 range in
    raster order, so every rounding case of v / 257 appears."""
    w, h = SIXTEEN_SIZE
    n = w * h
    ramp = (np.arange(n, dtype=np.int64) * 65535 + (n - 1) // 2) // (n - 1)
    return ramp.reshape(h, w).astype(np.uint16)


def plain_pixels() -> np.ndarray:
    w, h = PLAIN_SIZE
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)], -1).astype(np.uint8)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


@functools.lru_cache(maxsize=4)
def bomb_png(width: int = BOMB_SIZE[0], height: int = BOMB_SIZE[1]) -> bytes:
    """A complete, valid 1-bit greyscale PNG of width x height, all black. The pixel data is real but
    compresses ~1000:1; only the first rows are stored as distinct data and the rest repeats, so the
    file stays ~50 KB for 20000x20000 while declaring 400 million pixels in its IHDR."""
    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    block_rows = 1000
    block = row * block_rows
    parts = []
    full, rest = divmod(height, block_rows)
    for _ in range(full):
        parts.append(comp.compress(block))
    parts.append(comp.compress(row * rest))
    parts.append(comp.flush())
    return sig + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b"")


def _save(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def truncated_jpeg() -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    data = _save(Image.fromarray(noise), "JPEG", quality=90)
    return data[: int(len(data) * 0.6)]


def rotated_jpeg(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _save(Image.fromarray(rotated_stored()), "JPEG", quality=95, subsampling=0, exif=exif.tobytes())


def palette_png() -> bytes:
    img = Image.frombytes("P", PALETTE_SIZE, palette_indices().tobytes())
    img.putpalette(list(PALETTE_HIDDEN) + list(PALETTE_OPAQUE) + [0, 0, 0] * 254)
    return _save(img, "PNG", transparency=0)


def cmyk_pixels() -> np.ndarray:
    w, h = CMYK_SIZE
    a = np.zeros((h, w, 4), np.uint8)
    a[:, : w // 2] = CMYK_LEFT
    a[:, w // 2 :] = CMYK_RIGHT
    return a


def cmyk_jpeg(icc_profile: bytes | None = None) -> bytes:
    img = Image.frombytes("CMYK", CMYK_SIZE, cmyk_pixels().tobytes())
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    return _save(img, "JPEG", quality=95, **extra)


def sixteen_bit_png() -> bytes:
    img = Image.fromarray(sixteen_bit_values())
    assert img.mode == "I;16", img.mode
    return _save(img, "PNG")


def write_bad_files(folder: Path) -> dict[str, str | None]:
    """Write the fixture files into `folder`; return {filename: expected drop reason or None (good)}.
    tiny.png is "too_small" only with min_size >= 2 (tests use MIN_SIZE = 32)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[bytes, str | None]] = {
        "truncated.jpg": (truncated_jpeg(), "truncated"),
        "empty.jpg": (b"", "empty_file"),
        "notes.jpg": (b"Shopping list: eggs, milk, a camera that writes real JPEGs.\n", "not_an_image"),
        "tiny.png": (_save(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"), "too_small"),
        "bomb.png": (bomb_png(), "decompression_bomb"),
        "palette_transparent.png": (palette_png(), None),
        "cmyk.jpg": (cmyk_jpeg(), None),
        "sixteen_bit.png": (sixteen_bit_png(), None),
        "rotated.jpg": (rotated_jpeg(6), None),
        "plain.png": (_save(Image.fromarray(plain_pixels()), "PNG"), None),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: reason for name, (_, reason) in files.items()}


# ------------------------------------------------------------------------------------------------
# hand-made ICC v2 profiles (PCS XYZ, D50)

# linear sRGB -> XYZ (D50, Bradford-adapted): the columns are sRGB's red, green, blue colorants.
SRGB_TO_XYZ_D50 = np.array([[0.4360747, 0.3850649, 0.1430804],
                            [0.2225045, 0.7168786, 0.0606169],
                            [0.0139322, 0.0971045, 0.7141733]])
_D50 = (0.9642, 1.0, 0.8249)


def _s15f16(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(_s15f16(v) for v in xyz)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return (b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_)) + ascii_
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\0" * 67)


def _text_tag(text: str) -> bytes:
    return b"text" + b"\0" * 4 + text.encode("ascii") + b"\0"


def _icc(device_class: bytes, space: bytes, tags: dict[bytes, bytes]) -> bytes:
    table, data = [], b""
    offset = 128 + 4 + 12 * len(tags)
    for sig, body in tags.items():
        body += b"\0" * (-len(body) % 4)
        table.append(struct.pack(">4sII", sig, offset + len(data), len(body)))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I4sI4s4s4s", size, b"\0" * 4, 0x02100000, device_class, space, b"XYZ ")
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
              + b"".join(_s15f16(v) for v in _D50) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(table) + data


def rgb_swap_icc() -> bytes:
    """An RGB display profile whose red primary is sRGB's blue and whose blue primary is sRGB's red
    (gamma 2.2): pure (255, 0, 0) tagged with it is sRGB (0, 0, 255) once converted."""
    r, g, b = SRGB_TO_XYZ_D50.T
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 0x0233)
    return _icc(b"mntr", b"RGB ", {
        b"desc": _desc_tag("toolkit test: red/blue swapped"), b"wtpt": _xyz_tag(_D50),
        b"rXYZ": _xyz_tag(b), b"gXYZ": _xyz_tag(g), b"bXYZ": _xyz_tag(r),
        b"rTRC": curve, b"gTRC": curve, b"bTRC": curve, b"cprt": _text_tag("public domain"),
    })


def cmyk_swap_rgb(c: float, m: float, y: float, k: float) -> tuple[float, float, float]:
    """The sRGB colour (0..1) that `cmyk_swap_icc()` gives CMYK ink amounts (0..1): the naive
    inversion with red and blue swapped, so cyan ink comes out yellow and yellow ink cyan."""
    return (1 - y) * (1 - k), (1 - m) * (1 - k), (1 - c) * (1 - k)


def cmyk_swap_icc() -> bytes:
    """A CMYK output profile (A2B0 lut16, 2-point grid) following `cmyk_swap_rgb` at the corners."""
    clut = []
    for c in (0, 1):  # first input varies slowest
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    xyz = SRGB_TO_XYZ_D50 @ np.array(cmyk_swap_rgb(c, m, y, k))  # 0/1 values: linear = encoded
                    clut += [min(65535, int(round(v * 32768))) for v in xyz]  # XYZ 16-bit: 1.0 = 0x8000
    identity = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    lut = (b"mft2" + b"\0" * 4 + struct.pack(">BBBB", 4, 3, 2, 0) + b"".join(_s15f16(v) for v in identity)
           + struct.pack(">HH", 2, 2) + struct.pack(">8H", *([0, 65535] * 4))
           + struct.pack(f">{len(clut)}H", *clut) + struct.pack(">6H", *([0, 65535] * 3)))
    return _icc(b"prtr", b"CMYK", {
        b"desc": _desc_tag("toolkit test: CMYK with swapped inks"), b"wtpt": _xyz_tag(_D50),
        b"A2B0": lut, b"cprt": _text_tag("public domain"),
    })
