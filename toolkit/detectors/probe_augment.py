"""UnivFD's training and validation transforms for the linear probe (`train_augment: true`).

Reference: WisconsinAIVision/UniversalFakeDetect, data/datasets.py (RealFakeDataset, data_augment,
custom_resize) with the defaults of options/base_options.py and the validation options of train.py
(`get_val_opt`); docs/fidelity.md gives every line. Training, in order:

  1. short side resized to 256, bilinear (torchvision's Resize(int): long side int(256 * long / short))
  2. Gaussian blur (p 0.5): sigma U(0, 3), scipy.ndimage.gaussian_filter per channel
  3. JPEG (p 0.5): quality uniform over the integers 30..100, codec OpenCV or PIL with equal odds
  4. random crop to the CLIP input size (224)
  5. horizontal flip (p 0.5)

Validation: the same resize; blur at sigma 1.5 (the middle of the range) and JPEG with PIL at quality
65 (the middle) with the same probabilities; centre crop; no flip. Test images go through
features.center_crop only (UnivFD's test transform, no resize).

Draws come from an RNG seeded by (seed, pair_id, source, epoch): one draw per image as in UnivFD,
or per pair with `augment.paired: true`; validation draws are fixed across epochs.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from toolkit.errors import ToolkitError
from toolkit.seeding import rng_for
from toolkit.detectors.augment import gaussian_blur, jpeg, run_chain
from toolkit.detectors.features import center_crop

ORDER = ("resize", "blur", "jpeg", "crop", "center_crop", "flip")


def resized_shape(h: int, w: int, short: int) -> tuple[int, int]:
    """torchvision 0.14 Resize(short) output (h, w): the short side to `short`, the long side truncated."""
    if w <= h:
        return int(short * h / w), short
    return short, int(short * w / h)


def row_key(split, i: int, paired: bool) -> str:
    return str(split.pair_ids[i]) if paired else f"{split.pair_ids[i]}\x1f{split.sources[i]}"


def draw(aug, crop: int, shape: tuple[int, int], seed: int, key: str, epoch: int) -> dict:
    rng = rng_for(seed, key, "probe-augment", epoch)
    h, w = shape
    plan: dict = {}
    if aug.resize:
        h, w = resized_shape(h, w, aug.resize)
        plan["resize"] = (h, w)
    if rng.random() < aug.blur:
        plan["blur"] = float(rng.uniform(*aug.blur_sigma))
    if rng.random() < aug.jpeg:
        q0, q1 = aug.jpeg_quality
        method = str(aug.jpeg_methods[int(rng.integers(0, len(aug.jpeg_methods)))])  # datasets.py:144-145
        plan["jpeg"] = (int(rng.integers(q0, q1 + 1)), method)
    if h < crop or w < crop:
        raise ToolkitError(f"clip-probe augmentation: an image of {shape[1]}x{shape[0]} is {w}x{h} after the resize, "
                           f"smaller than the {crop} px crop; set augment.resize (UnivFD: 256)")
    plan["crop"] = (int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1)), crop)
    if rng.random() < aug.flip:
        plan["flip"] = True
    return plan


def draw_val(aug, crop: int, shape: tuple[int, int], seed: int, key: str) -> dict:
    """UnivFD's validation transform (train.py:13-28): fixed blur sigma and JPEG quality, centre crop."""
    rng = rng_for(seed, key, "probe-val")
    h, w = shape
    plan: dict = {}
    if aug.resize:
        plan["resize"] = resized_shape(h, w, aug.resize)
    if rng.random() < aug.blur:
        lo, hi = aug.blur_sigma
        plan["blur"] = (lo + hi) / 2
    if rng.random() < aug.jpeg:
        lo, hi = aug.jpeg_quality
        plan["jpeg"] = (int((lo + hi) / 2), "pil")
    plan["center_crop"] = crop
    return plan


def _resize(arr, hw):
    h, w = hw
    if arr.shape[:2] == (h, w):
        return arr
    return np.asarray(Image.fromarray(arr).resize((w, h), Image.BILINEAR))


def _crop(arr, p):
    top, left, size = p
    return arr[top : top + size, left : left + size]


OPS = {"resize": _resize, "blur": gaussian_blur, "jpeg": lambda a, p: jpeg(a, *p), "crop": _crop,
       "center_crop": center_crop, "flip": lambda a, _: a[:, ::-1]}
assert tuple(OPS) == ORDER


def apply(plan: dict, pixels: np.ndarray) -> np.ndarray:
    """Run a drawn chain on HxWx3 uint8 pixels, in ORDER (augment.run_chain)."""
    return run_chain(plan, pixels, ORDER, OPS)