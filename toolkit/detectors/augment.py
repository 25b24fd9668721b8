"""The alignment paper's training augmentation, drawn once per pair and applied to every member of it.

Reference: AniSundar18/AlignedForensics, training_code/utils/processing.py `make_aug` (the ops and
their order) and `make_post` (the final random crop), with the flags of the README's training command
(training_code/README.md:55); docs/fidelity.md gives every line. In order:

  1. random resized crop (p 0.2): area scale U(0.08, 1), log-uniform aspect ratio in [3/4, 4/3]
     (10 tries, then the centre fallback, as torchvision's RandomResizedCrop), resized to 256x256, bilinear
  2. colour jitter (p 0.8): brightness, contrast, saturation factors U(0.6, 1.4), hue U(-0.1, 0.1),
     applied in a random order (torchvision's ColorJitter)
  3. grayscale (p 0.2), kept 3-channel
  4. cutout (p 0.2): one hole centred at a uniform integer position in [0, H] x [0, W], 48x48 clipped to
     the image (so up to 48x48), filled with 128 (albumentations' Cutout)
  5. Gaussian noise (p 0.2): variance U(10, 50) on the 0..255 scale, independent per pixel and channel,
     clipped and truncated to uint8 (albumentations' GaussNoise)
  6. Gaussian blur (p 0.5): sigma U(0, 3), scipy.ndimage.gaussian_filter per channel
  7. JPEG (p 0.5): quality uniform over the integers 30..100, codec OpenCV or PIL with equal odds
  8. rotation (p 1): an angle drawn from {0, 90, 180, 270} (counter-clockwise, canvas expanded)
  9. horizontal flip (p 0.5)
 10. random crop of `crop` px (96), padding symmetrically first when the image is smaller
     (torchvision's RandomCrop(pad_if_needed=True, padding_mode="symmetric"))

The reference gives a real and its fake the same draws by reseeding every RNG from the clock before
transforming each of them (training_code/utils/cap_dset.py:94-110): if they differed, the detector could
learn the augmentation instead of the generator. Here the parameters are drawn from an RNG seeded by
(seed, pair_id, epoch) into a plan, and the plan is applied to each member: identical by construction,
and reproducible (the distributions are the reference's, the random stream is not). Validation rows
(`val_augment`) get one plan per image, fixed across epochs (`draw(..., stream="detector-val")`).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageEnhance

from toolkit.errors import ToolkitError
from toolkit.seeding import rng_for

ORDER = ("resized_crop", "color_jitter", "grayscale", "cutout", "noise", "blur", "jpeg", "rot90", "flip", "crop")


def resized_crop_params(rng, h: int, w: int, scale, ratio) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a RandomResizedCrop box: torchvision's sampling rule."""
    area = h * w
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(log_lo, log_hi))
        cw = int(round(math.sqrt(target * aspect)))
        ch = int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
    in_ratio = w / h  # fallback: the central crop, aspect ratio clamped to the range
    if in_ratio < min(ratio):
        cw, ch = w, int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        ch, cw = h, int(round(h * max(ratio)))
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def draw(cfg, crop: int, shape: tuple[int, int], seed: int, pair_id: str, epoch: int,
         stream: str = "detector-augment") -> dict:
    """Parameters of one pair's chain for one epoch (`shape` is the members' HxW). Every parameter is
    absolute (pixels, factors), computed from the shape each op will see."""
    rng = rng_for(seed, pair_id, stream, epoch)
    h, w = shape
    plan: dict = {}
    if rng.random() < cfg.resized_crop:
        top, left, ch, cw = resized_crop_params(rng, h, w, cfg.resized_crop_scale, cfg.resized_crop_ratio)
        oh, ow = (cfg.resized_crop_size,) * 2 if cfg.resized_crop_size else (h, w)
        plan["resized_crop"] = (top, left, ch, cw, oh, ow)
        h, w = oh, ow
    if rng.random() < cfg.color_jitter:
        b, c, s, hue = cfg.color_jitter_strength
        order = tuple(int(i) for i in rng.permutation(4))
        f = [float(rng.uniform(max(0.0, 1 - x), 1 + x)) if x > 0 else None for x in (b, c, s)]
        plan["color_jitter"] = (order, f[0], f[1], f[2], float(rng.uniform(-hue, hue)) if hue > 0 else None)
    if rng.random() < cfg.grayscale:
        plan["grayscale"] = True
    if rng.random() < cfg.cutout:
        cy, cx, half = int(rng.integers(0, h + 1)), int(rng.integers(0, w + 1)), cfg.cutout_size // 2
        plan["cutout"] = (min(max(cy - half, 0), h), min(max(cy + half, 0), h),
                          min(max(cx - half, 0), w), min(max(cx + half, 0), w))
    if rng.random() < cfg.noise:
        var = float(rng.uniform(*cfg.noise_var))
        plan["noise"] = (math.sqrt(var), int(rng.integers(0, 2 ** 32)))
    if rng.random() < cfg.blur:
        plan["blur"] = float(rng.uniform(*cfg.blur_sigma))
    if rng.random() < cfg.jpeg:
        q0, q1 = cfg.jpeg_quality
        plan["jpeg"] = (int(rng.integers(q0, q1 + 1)), str(cfg.jpeg_methods[int(rng.integers(0, len(cfg.jpeg_methods)))]))
    if rng.random() < cfg.rot90:
        k = int(rng.integers(0, 4))  # 0, 90, 180 or 270 degrees
        plan["rot90"] = k
        if k % 2:
            h, w = w, h
    if rng.random() < cfg.flip:
        plan["flip"] = True
    ph, pw = max(0, crop - h), max(0, crop - w)  # torchvision pads (size - side) on *both* sides
    plan["crop"] = (crop, ph, pw, int(rng.integers(0, h + 2 * ph - crop + 1)), int(rng.integers(0, w + 2 * pw - crop + 1)))
    return plan


# --- the ops: HxWx3 uint8 in, HxWx3 uint8 out -----------------------------------------------------


def _resized_crop(arr, p):
    top, left, ch, cw, oh, ow = p
    img = Image.fromarray(arr).crop((left, top, left + cw, top + ch)).resize((ow, oh), Image.BILINEAR)
    return np.asarray(img)


def adjust_hue(img: Image.Image, hue: float) -> Image.Image:
    """torchvision's PIL hue shift: the HSV hue channel moved by hue * 255 (truncated), wrapping."""
    h, s, v = img.convert("HSV").split()
    shifted = (np.asarray(h, dtype=np.int64) + int(hue * 255)) % 256
    return Image.merge("HSV", (Image.fromarray(shifted.astype(np.uint8), "L"), s, v)).convert("RGB")


def _color_jitter(arr, p):
    order, b, c, s, hue = p
    img = Image.fromarray(arr)
    for i in order:
        if i == 0 and b is not None:
            img = ImageEnhance.Brightness(img).enhance(b)
        elif i == 1 and c is not None:
            img = ImageEnhance.Contrast(img).enhance(c)
        elif i == 2 and s is not None:
            img = ImageEnhance.Color(img).enhance(s)
        elif i == 3 and hue is not None:
            img = adjust_hue(img, hue)
    return np.asarray(img)


def _grayscale(arr, _):
    return np.asarray(Image.fromarray(arr).convert("L").convert("RGB"))


def _cutout(arr, p):
    y1, y2, x1, x2 = p
    arr = arr.copy()
    arr[y1:y2, x1:x2] = 128
    return arr


def _noise(arr, p):
    sigma, nseed = p
    gauss = np.random.RandomState(nseed).normal(0.0, sigma, size=arr.shape)
    return np.clip(arr.astype(np.float32) + gauss, 0, 255).astype(np.uint8)


def gaussian_blur(arr: np.ndarray, sigma: float) -> np.ndarray:
    """scipy's gaussian_filter on each channel, written back into uint8 (as both references do)."""
    from scipy.ndimage import gaussian_filter

    out = np.array(arr, copy=True)
    for c in range(out.shape[2]):
        gaussian_filter(out[:, :, c], output=out[:, :, c], sigma=sigma)
    return out


def jpeg(arr: np.ndarray, quality: int, method: str) -> np.ndarray:
    if method == "cv2":
        try:
            import cv2
        except ImportError:
            raise ToolkitError("augment.jpeg_methods includes cv2 but OpenCV (cv2) is not installed; "
                               "install opencv-python-headless or set jpeg_methods=[pil]") from None
        ok, enc = cv2.imencode(".jpg", np.ascontiguousarray(arr[:, :, ::-1]), [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
        return np.ascontiguousarray(cv2.imdecode(enc, 1)[:, :, ::-1])
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=int(quality))
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        return np.asarray(im.convert("RGB"))


def _rot90(arr, k):
    return np.rot90(arr, k) if k else arr


def _flip(arr, _):
    return arr[:, ::-1]


def _crop(arr, p):
    size, ph, pw, top, left = p
    if ph or pw:
        arr = np.pad(arr, ((ph, ph), (pw, pw), (0, 0)), mode="symmetric")
    return arr[top : top + size, left : left + size]


OPS = {"resized_crop": _resized_crop, "color_jitter": _color_jitter, "grayscale": _grayscale, "cutout": _cutout,
       "noise": _noise, "blur": lambda a, s: gaussian_blur(a, s), "jpeg": lambda a, p: jpeg(a, *p),
       "rot90": _rot90, "flip": _flip, "crop": _crop}
assert tuple(OPS) == ORDER


def apply(plan: dict, pixels: np.ndarray) -> np.ndarray:
    """Run a drawn chain on HxWx3 uint8 pixels, in ORDER; returns crop x crop x 3 uint8."""
    return run_chain(plan, pixels, ORDER, OPS)


def run_chain(plan: dict, pixels: np.ndarray, order, ops) -> np.ndarray:
    """Apply the drawn ops of `plan` in `order` (each `ops[name](array, params)`), contiguous in between."""
    arr = np.ascontiguousarray(pixels)
    for name in order:
        if name in plan:
            arr = np.ascontiguousarray(ops[name](arr, plan[name]))
    return arr
