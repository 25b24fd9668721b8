"""Training augmentation drawn once per pair and applied to every member of it.

The alignment paper's training reseeds every RNG per pair so the real and its fake get the same crop,
blur and JPEG quality: if they differed, the detector could learn the augmentation instead of the
generator. Here the parameters are drawn from an RNG seeded by (seed, pair_id, epoch) into a plan,
and the plan is applied to each member: identical by construction, and reproducible.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from ..seeding import rng_for


def draw(cfg, crop: int, shape: tuple[int, int], seed: int, pair_id: str, epoch: int) -> dict:
    """Parameters of one pair's chain for one epoch (`shape` is the members' HxW)."""
    rng = rng_for(seed, pair_id, "detector-augment", epoch)
    h, w = shape
    plan: dict = {}
    if rng.random() < cfg.resized_crop:
        lo, hi = cfg.resized_crop_scale
        area = rng.uniform(lo, hi)
        ch, cw = max(8, int(h * np.sqrt(area))), max(8, int(w * np.sqrt(area)))
        plan["resized_crop"] = (int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw)
    if rng.random() < cfg.color_jitter:
        plan["color_jitter"] = tuple(float(x) for x in rng.uniform(0.8, 1.2, size=3))
    if rng.random() < cfg.grayscale:
        plan["grayscale"] = True
    if rng.random() < cfg.blur:
        plan["blur"] = float(rng.uniform(0.1, 2.0))
    if rng.random() < cfg.noise:
        plan["noise"] = (float(rng.uniform(1.0, 5.0)), int(rng.integers(0, 2 ** 31)))
    if rng.random() < cfg.jpeg:
        plan["jpeg"] = int(rng.integers(65, 101))
    if rng.random() < cfg.cutout:
        plan["cutout"] = (float(rng.random()), float(rng.random()), float(rng.uniform(0.05, 0.25)),
                          float(rng.uniform(0.05, 0.25)))
    if rng.random() < cfg.rot90:
        plan["rot90"] = int(rng.integers(1, 4))
    if rng.random() < cfg.flip:
        plan["flip"] = True
    plan["crop"] = (crop, float(rng.random()), float(rng.random()))  # final random crop position
    return plan


def apply(plan: dict, pixels: np.ndarray) -> np.ndarray:
    """Run a drawn chain on HxWx3 uint8 pixels; returns crop x crop x 3 uint8."""
    img = Image.fromarray(pixels, "RGB")
    if "resized_crop" in plan:
        y, x, ch, cw = plan["resized_crop"]
        img = img.crop((x, y, x + cw, y + ch)).resize((pixels.shape[1], pixels.shape[0]), Image.BICUBIC)
    if "color_jitter" in plan:
        b, c, s = plan["color_jitter"]
        img = ImageEnhance.Color(ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(b)).enhance(c)).enhance(s)
    if plan.get("grayscale"):
        img = img.convert("L").convert("RGB")
    if "blur" in plan:
        img = img.filter(ImageFilter.GaussianBlur(radius=plan["blur"]))
    arr = np.asarray(img)
    if "noise" in plan:
        sigma, nseed = plan["noise"]
        noise = np.random.default_rng(nseed).normal(0, sigma, size=arr.shape)
        arr = np.clip(arr.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if "jpeg" in plan:
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=plan["jpeg"])
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            arr = np.asarray(im.convert("RGB"))
    if "cutout" in plan:
        arr = arr.copy()
        fy, fx, fh, fw = plan["cutout"]
        h, w = arr.shape[:2]
        ch, cw = max(1, int(h * fh)), max(1, int(w * fw))
        y, x = int(fy * (h - ch)), int(fx * (w - cw))
        arr[y : y + ch, x : x + cw] = 128
    if "rot90" in plan:
        arr = np.rot90(arr, plan["rot90"])
    if plan.get("flip"):
        arr = arr[:, ::-1]
    return random_crop(arr, *plan["crop"])


def random_crop(arr: np.ndarray, size: int, fy: float, fx: float) -> np.ndarray:
    h, w = arr.shape[:2]
    if h < size or w < size:  # too small: upscale the short side to the crop (rare; counted by nobody)
        scale = size / min(h, w)
        img = Image.fromarray(np.ascontiguousarray(arr)).resize((max(size, round(w * scale)), max(size, round(h * scale))),
                                                                Image.BICUBIC)
        arr = np.asarray(img)
        h, w = arr.shape[:2]
    y, x = int(fy * (h - size)), int(fx * (w - size))
    return np.ascontiguousarray(arr[y : y + size, x : x + size])
