"""The speed work of issue 18 changed how bytes are made, never which pixels: the PNG default level,
decode_and_align's copy-free path and the CPU allocator setting each keep the pixels (and the
allocator the bytes) exactly; docs/performance.md has the measurements."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from toolkit.config.recipe import StoreConfig
from toolkit.generators.cpu_memory import keep_freed_memory
from toolkit.transforms.align import align, decode, decode_and_align
from toolkit.transforms.augment import Augmenter
from toolkit.transforms.codecs import decode_rgb


def photo(w: int, h: int) -> np.ndarray:
    """Smooth gradients plus seeded noise: compresses like a photograph, not like a flat test card."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h)], -1)
    noise = np.random.default_rng(0).normal(0, 12, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def test_png_default_is_level_4_recorded_per_row_and_lossless():
    assert StoreConfig().png_compress_level == 4
    a = photo(96, 64)
    default = Augmenter({}, matched=True, seed=0)
    plan = default.plan_for("p0", 0, 0)
    assert plan.record() == '[{"op": "png", "compress_level": 4}]'  # the row's `augment` column says so
    data4, fmt, w, h = default.apply(plan, a)
    old = Augmenter({}, matched=True, seed=0, png_compress_level=6)
    data6, *_ = old.apply(old.plan_for("p0", 0, 0), a)
    assert (fmt, w, h) == ("png", 96, 64) and data4 != data6  # the level really is applied ...
    assert np.array_equal(decode_rgb(data4), a) and np.array_equal(decode_rgb(data6), a)  # ... pixels are not


def test_matched_plan_is_drawn_once_per_pair_and_equals_a_fresh_draw():
    from toolkit.transforms.augment import JpegConfig, WebpConfig

    ops = {"jpeg": JpegConfig(p=0.5), "webp": WebpConfig(p=0.3)}
    aug = Augmenter(ops, matched=True, seed=3)
    for pid in ("a", "b", "a", "c"):
        real, fake = aug.plan_for(pid, 0, 0), aug.plan_for(pid, 1, 1)
        assert real == fake == Augmenter(ops, matched=True, seed=3).plan(pid)


def _jpeg(a: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=92, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["rgb_jpeg", "exif_rotated_jpeg", "rgba_png", "rgb_png_trns", "grey_png"])
def test_decode_and_align_without_the_copy_gives_decode_then_align(kind):
    a = photo(120, 80)
    if kind == "rgb_jpeg":  # the common case: the opened file is itself the RGB image
        data = _jpeg(a)
    elif kind == "exif_rotated_jpeg":
        exif = Image.Exif()
        exif[0x0112] = 6
        data = _jpeg(a, exif=exif.tobytes())
    else:
        buf = io.BytesIO()
        if kind == "rgba_png":
            im = Image.fromarray(np.dstack([a, a[..., :1]]), "RGBA")
            im.save(buf, format="PNG")
        elif kind == "rgb_png_trns":
            Image.fromarray(a).save(buf, format="PNG", transparency=tuple(int(v) for v in a[0, 0]))
        else:
            Image.fromarray(a[..., 0], "L").save(buf, format="PNG")
        data = buf.getvalue()
    for size in (64, 80, None):  # 80: the short side already fits, no resize
        fused, info = decode_and_align(data, size=size)
        img, dinfo = decode(data)
        ref, ainfo = align(img, size=size)
        assert np.array_equal(fused, ref) and fused.flags.writeable and fused.flags.c_contiguous
        assert info == {**dinfo, **ainfo}
    img, _ = decode(data)
    assert img.load() is not None and img.size[0] > 0  # decode's image stays usable after its file closed


def test_keep_freed_memory_is_set_once_on_glibc():
    """The CPU VAE's allocator setting (generators/cpu_memory.py): set on glibc, a no-op elsewhere, once."""
    import platform
    import sys

    first = keep_freed_memory()
    assert keep_freed_memory() is first
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert first is True
