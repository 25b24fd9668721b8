"""decode / align: every bad file is dropped under its reason, every good one decodes to the pixels
its EXIF, palette, ICC profile and bit depth say it shows, and align's geometry is exact."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
from PIL import Image, ImageFile

import bad_files as bf
from toolkit.errors import DropSample
from toolkit.transforms.align import FILTERS, align, decode, decode_and_align


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_files")
    expected = bf.write_bad_files(folder)
    return {name: ((folder / name).read_bytes(), reason) for name, reason in expected.items()}


def png(img: Image.Image, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **params)
    return buf.getvalue()


def rgb(arr) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8))


def pattern(w: int, h: int) -> np.ndarray:
    """An image whose every pixel says where it was: R = x, G = y, B = (x * 7 + y * 13) % 256."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x % 256, y % 256, (x * 7 + y * 13) % 256], -1).astype(np.uint8)


def close(pixel, colour, tol=40) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel, int) - np.asarray(colour, int)) <= tol))


# ------------------------------------------------------------------------------------------------
# the fixture files


def test_fixture_set_is_complete(files):
    reasons = {name: reason for name, (_, reason) in files.items()}
    assert reasons == {
        "truncated.jpg": "truncated", "empty.jpg": "empty_file", "notes.jpg": "not_an_image",
        "tiny.png": "too_small", "bomb.png": "decompression_bomb", "palette_transparent.png": None,
        "cmyk.jpg": None, "sixteen_bit.png": None, "rotated.jpg": None, "plain.png": None,
    }
    assert all(len(data) < 64_000 for data, _ in files.values())


@pytest.mark.parametrize("name", ["truncated.jpg", "empty.jpg", "notes.jpg", "tiny.png", "bomb.png"])
def test_bad_file_is_dropped_with_its_reason(files, name):
    data, reason = files[name]
    with pytest.raises(DropSample) as exc:
        decode_and_align(data, size=64, min_size=bf.MIN_SIZE)
    assert exc.value.reason == reason
    assert exc.value.detail and len(exc.value.detail) <= 200 and "\n" not in exc.value.detail


@pytest.mark.parametrize("name", ["palette_transparent.png", "cmyk.jpg", "sixteen_bit.png", "rotated.jpg",
                                  "plain.png"])
def test_good_file_decodes_to_rgb_uint8(files, name):
    data, reason = files[name]
    assert reason is None
    img, info = decode(data)
    assert img.mode == "RGB" and img.info == {}
    assert (img.width, img.height) == (info["orig_width"], info["orig_height"])
    arr, ainfo = decode_and_align(data, size=48, min_size=bf.MIN_SIZE)
    assert arr.dtype == np.uint8 and arr.shape == (48, 48, 3)
    assert arr.flags["C_CONTIGUOUS"] and arr.flags["WRITEABLE"]
    for key in ("format", "orig_mode", "orig_width", "orig_height", "had_alpha", "n_frames", "exif_orientation",
                "icc", "resize_filter", "scaled_width", "scaled_height", "crop_box", "width", "height"):
        assert key in ainfo, key
    assert (ainfo["width"], ainfo["height"]) == (48, 48)


def test_truncated_is_not_silently_padded(files):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(DropSample) as exc:
        decode(files["truncated.jpg"][0])
    assert exc.value.reason == "truncated"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_pixel_data_is_decode_error():
    data = bytearray(png(rgb(pattern(40, 40))))
    start = data.index(b"IDAT") + 4
    data[start + 2 : start + 40] = b"\xff" * 38  # garbage inside the zlib stream, CRC left wrong too
    with pytest.raises(DropSample) as exc:
        decode(bytes(data))
    assert exc.value.reason in ("decode_error", "truncated")


def test_bad_header_with_a_known_signature_is_not_an_image():
    with pytest.raises(DropSample) as exc:
        decode(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    assert exc.value.reason == "not_an_image" and "PNG" in exc.value.detail


# ------------------------------------------------------------------------------------------------
# decompression bombs


def test_bomb_refused_from_header_before_any_pixel_is_decoded(files, monkeypatch):
    def no_load(self, *a, **k):
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_load)
    data = files["plain.png"][0]
    with pytest.raises(DropSample) as exc:
        decode(data, max_pixels=100 * 100 - 1)
    assert exc.value.reason == "decompression_bomb" and "10000" in exc.value.detail
    with pytest.raises(DropSample) as exc:
        decode(files["bomb.png"][0], max_pixels=10**12)  # over 2x PIL's limit: PIL refuses by itself
    assert exc.value.reason == "decompression_bomb"


def test_bomb_in_pil_warning_range_and_global_state_untouched():
    limit, filters = Image.MAX_IMAGE_PIXELS, list(warnings.filters)
    data = bf.bomb_png(10_000, 9_000)  # 90 M pixels: above PIL's warning limit, below its error limit
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may escape either
        with pytest.raises(DropSample) as exc:
            decode(data)
    assert exc.value.reason == "decompression_bomb"
    assert Image.MAX_IMAGE_PIXELS == limit and warnings.filters == filters


def test_max_pixels_above_pil_limit_is_respected(files, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6_000)  # plain.png's 10000 px is in PIL's warning range
    data = files["plain.png"][0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img, _ = decode(data, max_pixels=20_000)  # the caller allows it: PIL's warning is not a drop
    assert img.size == bf.PLAIN_SIZE
    with pytest.raises(DropSample) as exc:
        decode(data, max_pixels=6_000)
    assert exc.value.reason == "decompression_bomb"


# ------------------------------------------------------------------------------------------------
# orientation


def test_rotated_jpeg_comes_out_as_displayed(files):
    img, info = decode(files["rotated.jpg"][0])
    exp = bf.rotated_expectation()
    assert img.size == exp["size"] == (80, 120)
    assert info["exif_orientation"] == 6 and (info["orig_width"], info["orig_height"]) == (80, 120)
    arr = np.asarray(img)
    for (x, y), colour in exp["points"].items():
        assert close(arr[y, x], colour), ((x, y), arr[y, x], colour)
    assert np.abs(arr.astype(int) - exp["pixels"]).mean() < 6


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_exactly(orientation):
    stored = pattern(7, 5)
    exif = Image.Exif()
    exif[0x0112] = orientation
    img, info = decode(png(rgb(stored), exif=exif.tobytes()))
    a = stored
    expected = {1: a, 2: a[:, ::-1], 3: a[::-1, ::-1], 4: a[::-1], 5: a.transpose(1, 0, 2),
                6: np.rot90(a, -1), 7: a[::-1, ::-1].transpose(1, 0, 2), 8: np.rot90(a, 1)}[orientation]
    assert info["exif_orientation"] == orientation
    np.testing.assert_array_equal(np.asarray(img), expected)


def test_no_exif_means_orientation_1(files):
    assert decode(files["plain.png"][0])[1]["exif_orientation"] == 1


# ------------------------------------------------------------------------------------------------
# transparency


@pytest.mark.parametrize("background", [(255, 255, 255), (10, 200, 30)])
def test_transparent_palette_pixels_become_background(files, background):
    img, info = decode(files["palette_transparent.png"][0], alpha_background=background)
    arr = np.asarray(img)
    w = bf.PALETTE_SIZE[0]
    assert img.size == bf.PALETTE_SIZE and info["orig_mode"] == "P" and info["had_alpha"] is True
    assert (arr[:, : w // 2] == background).all()
    assert (arr[:, w // 2 :] == bf.PALETTE_OPAQUE).all()
    assert not (arr == bf.PALETTE_HIDDEN).all(axis=2).any()


def test_rgba_is_composited_never_stripped():
    colour = np.zeros((4, 6, 3), np.uint8)
    colour[..., 0] = 255  # red everywhere, also under fully transparent pixels
    alpha = np.array([[0, 64, 128, 192, 255, 1]] * 4, np.uint8)
    rgba = Image.fromarray(np.dstack([colour, alpha]))
    img, info = decode(png(rgba), alpha_background=(0, 0, 255))
    a = alpha.astype(int)
    expected = np.stack([np.floor((255 * a) / 255 + 0.5), np.zeros_like(a), np.floor(255 * (255 - a) / 255 + 0.5)],
                        -1)
    np.testing.assert_array_equal(np.asarray(img), expected.astype(np.uint8))
    assert info["had_alpha"] is True and info["orig_mode"] == "RGBA"


def test_la_and_grey_trns_are_composited():
    la = Image.fromarray(np.dstack([np.full((3, 3), 40, np.uint8), np.array([[0, 255, 0]] * 3, np.uint8)]), "LA")
    arr = np.asarray(decode(png(la))[0])
    assert (arr[:, 0] == 255).all() and (arr[:, 1] == 40).all()
    grey = Image.fromarray(np.array([[7, 100], [100, 7]], np.uint8))
    img, info = decode(png(grey, transparency=7), alpha_background=(1, 2, 3))
    arr = np.asarray(img)
    assert info["had_alpha"] is True
    assert (arr[0, 0] == (1, 2, 3)).all() and (arr[0, 1] == 100).all()


def test_opaque_rgb_has_no_alpha(files):
    img, info = decode(files["plain.png"][0])
    assert info["had_alpha"] is False
    np.testing.assert_array_equal(np.asarray(img), bf.plain_pixels())


# ------------------------------------------------------------------------------------------------
# bit depth, CMYK, ICC


def test_sixteen_bit_maps_by_v_over_257(files):
    img, info = decode(files["sixteen_bit.png"][0])
    v = bf.sixteen_bit_values().astype(np.float64)
    expected = np.clip(np.round(v / 257), 0, 255).astype(np.uint8)
    arr = np.asarray(img)
    assert info["orig_mode"].startswith("I") and img.size == bf.SIXTEEN_SIZE
    assert arr.min() == 0 and arr.max() == 255  # the whole range, not clipped at 255 from v = 255 up
    for c in range(3):
        np.testing.assert_array_equal(arr[..., c], expected)


def test_float_and_int32_modes():
    unit = np.array([[0.0, 0.5, 1.0, -0.2]], np.float32)  # max <= 1: taken as 0..1
    wide = np.array([[0.0, 100.4, 255.0, 300.0]], np.float32)  # max > 1: taken as 0..255
    for data, expected in ((unit, [0, 128, 255, 0]), (wide, [0, 100, 255, 255])):
        buf = io.BytesIO()
        Image.fromarray(data, "F").save(buf, format="TIFF")
        arr = np.asarray(decode(buf.getvalue())[0])
        assert arr[0, :, 0].tolist() == expected and (arr[..., 0] == arr[..., 2]).all()
    buf = io.BytesIO()
    Image.fromarray(np.array([[-5, 257, 65535, 70000]], np.int32), "I").save(buf, format="TIFF")
    assert np.asarray(decode(buf.getvalue())[0])[0, :, 1].tolist() == [0, 1, 255, 255]


def test_cmyk_without_profile_uses_plain_conversion(files):
    img, info = decode(files["cmyk.jpg"][0])
    arr = np.asarray(img)
    w, h = bf.CMYK_SIZE
    assert info["orig_mode"] == "CMYK" and info["icc"] == "none" and img.size == (w, h)
    assert close(arr[h // 2, w // 4], bf.CMYK_LEFT_RGB) and close(arr[h // 2, 3 * w // 4], bf.CMYK_RIGHT_RGB)


def test_cmyk_profile_is_converted_to_srgb():
    data = bf.cmyk_jpeg(bf.cmyk_swap_icc())
    w, h = bf.CMYK_SIZE
    img, info = decode(data)
    arr = np.asarray(img)
    assert info["icc"] == "converted"
    left = tuple(round(255 * v) for v in bf.cmyk_swap_rgb(*(c / 255 for c in bf.CMYK_LEFT)))
    right = tuple(round(255 * v) for v in bf.cmyk_swap_rgb(*(c / 255 for c in bf.CMYK_RIGHT)))
    assert left == (255, 255, 0) and right == (0, 0, 255)
    assert close(arr[h // 2, w // 4], left, 24) and close(arr[h // 2, 3 * w // 4], right, 24)
    img, info = decode(data, icc="ignore")
    assert info["icc"] == "ignored" and close(np.asarray(img)[h // 2, w // 4], bf.CMYK_LEFT_RGB)


def test_rgb_profile_converted_ignored_or_failed():
    red = Image.new("RGB", (8, 6), (255, 0, 0))
    img, info = decode(png(red, icc_profile=bf.rgb_swap_icc()))
    assert info["icc"] == "converted" and close(np.asarray(img)[3, 4], (0, 0, 255), 3)
    img, info = decode(png(red, icc_profile=bf.rgb_swap_icc()), icc="ignore")
    assert info["icc"] == "ignored" and (np.asarray(img) == (255, 0, 0)).all()
    img, info = decode(png(red, icc_profile=b"not a profile at all"))
    assert info["icc"] == "failed" and (np.asarray(img) == (255, 0, 0)).all()
    img, info = decode(png(red))
    assert info["icc"] == "none"
    with pytest.raises(ValueError):
        decode(png(red), icc="maybe")


def test_first_frame_of_animation():
    frames = [Image.new("RGB", (12, 10), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    for fmt in ("GIF", "PNG"):
        buf = io.BytesIO()
        frames[0].save(buf, format=fmt, save_all=True, append_images=frames[1:], duration=50)
        img, info = decode(buf.getvalue())
        assert info["n_frames"] == 3 and info["format"] == fmt
        assert close(np.asarray(img)[5, 6], (255, 0, 0), 2), fmt


# ------------------------------------------------------------------------------------------------
# align


@pytest.mark.parametrize("w,h,scaled,box", [
    (150, 100, (96, 64), [16, 0, 80, 64]),  # landscape
    (100, 150, (64, 96), [0, 16, 64, 80]),  # portrait
    (100, 100, (64, 64), [0, 0, 64, 64]),  # square
    (40, 30, (85, 64), [10, 0, 74, 64]),  # upscaled: 40 * 64 / 30 = 85.3
    (201, 64, (201, 64), [68, 0, 132, 64]),  # short side already 64: no resize
])
def test_align_exact_geometry(w, h, scaled, box):
    arr, info = align(rgb(pattern(w, h)), size=64)
    assert arr.shape == (64, 64, 3) and arr.dtype == np.uint8 and arr.flags["C_CONTIGUOUS"]
    assert (info["scaled_width"], info["scaled_height"]) == scaled
    assert info["crop_box"] == box and (info["width"], info["height"]) == (64, 64)
    assert info["resize_filter"] == "lanczos"


def test_long_side_rounds_half_up():
    _, info = align(rgb(pattern(6, 4)), size=5)  # 6 * 5 / 4 = 7.5
    assert (info["scaled_width"], info["scaled_height"]) == (8, 5)


def test_center_crop_without_resize_is_an_exact_slice():
    src = pattern(100, 64)
    arr, info = align(rgb(src), size=64)
    assert info["crop_box"] == [18, 0, 82, 64]
    np.testing.assert_array_equal(arr, src[:, 18:82])


def test_center_crop_matches_resize_then_crop():
    src = rgb(pattern(150, 100))
    arr, _ = align(src, size=64, resize_filter="bicubic")
    ref = np.asarray(src.resize((96, 64), Image.Resampling.BICUBIC).crop((16, 0, 80, 64)))
    np.testing.assert_array_equal(arr, ref)


def test_random_crop_is_seeded():
    src = pattern(64, 200)

    def boxes(seed):
        arr, info = align(rgb(src), size=64, crop="random", rng=np.random.default_rng(seed))
        left, top, right, bottom = info["crop_box"]
        assert 0 <= top and bottom <= 200 and (left, right) == (0, 64)
        np.testing.assert_array_equal(arr, src[top:bottom, left:right])
        return tuple(info["crop_box"])

    assert boxes(7) == boxes(7)
    assert len({boxes(s) for s in range(8)}) > 1
    with pytest.raises(ValueError, match="rng"):
        align(rgb(src), size=64, crop="random")


def test_size_none_keeps_native_geometry():
    src = pattern(37, 23)
    arr, info = align(rgb(src), size=None, min_size=10)
    np.testing.assert_array_equal(arr, src)
    assert info["crop_box"] == [0, 0, 37, 23] and (info["width"], info["height"]) == (37, 23)
    assert (info["scaled_width"], info["scaled_height"]) == (37, 23)


def test_too_small():
    with pytest.raises(DropSample) as exc:
        align(rgb(pattern(50, 31)), size=64, min_size=32)
    assert exc.value.reason == "too_small" and "31" in exc.value.detail
    arr, _ = align(rgb(pattern(50, 32)), size=64, min_size=32)  # equal is fine (and upscaled)
    assert arr.shape == (64, 64, 3)


def test_unknown_names_are_errors():
    with pytest.raises(ValueError, match="lanczos"):
        align(rgb(pattern(10, 10)), size=8, resize_filter="lanczoz")
    with pytest.raises(ValueError, match="center"):
        align(rgb(pattern(10, 10)), size=8, crop="middle")
    with pytest.raises(ValueError, match="lanczos"):  # before decoding: a recipe error, not a drop
        decode_and_align(b"", size=8, resize_filter="nope")
    with pytest.raises(ValueError):
        align(Image.new("L", (10, 10)), size=8)


@pytest.mark.parametrize("name", list(FILTERS))
def test_every_filter(name):
    src = rgb(pattern(90, 60))
    arr, info = align(src, size=40, resize_filter=name)
    ref = np.asarray(src.resize((60, 40), FILTERS[name]).crop((10, 0, 50, 40)))
    assert info["resize_filter"] == name
    np.testing.assert_array_equal(arr, ref)


def test_decode_and_align_merges_info(files):
    arr, info = decode_and_align(files["rotated.jpg"][0], size=40, min_size=bf.MIN_SIZE)
    assert arr.shape == (40, 40, 3)
    assert info["exif_orientation"] == 6 and (info["orig_width"], info["orig_height"]) == (80, 120)
    assert (info["scaled_width"], info["scaled_height"]) == (40, 60) and info["crop_box"] == [0, 10, 40, 50]
    assert close(arr[5, 10], bf.RED) and close(arr[35, 10], bf.BLUE)
    json.dumps(info)  # provenance is stored as JSON
