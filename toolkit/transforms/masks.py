"""Inpainting masks, drawn at the pair's geometry from the pair's seeded RNG.

A mask is a uint8 H x W array, 255 where the generator is to make the pixels, 0 elsewhere. It is drawn
at the real's exact size (the pair's geometry, after align) from `rng_for(seed, pair_id, generator name,
"mask")`, so it depends on nothing but the pair: not on the batch, the shard or the generation size. The
generator then resizes it (nearest-neighbour) to the generation size for the pipeline; the stored label
is this array, at the pair's size.

Two shapes, each with its parameters recorded in the row's provenance:

- `rectangle`: one axis-aligned box. Its area is drawn uniformly in `area` (fractions of the image),
  its aspect ratio (width / height) log-uniformly in `aspect`; the sides are rounded and clipped to
  the image, the position is uniform over the places the box fits. Recorded: `box` [x0, y0, x1, y1]
  (pixels, x1/y1 exclusive), the drawn `area` and `aspect`.
- `brush`: free-form strokes, in the spirit of the LaMa / DeepFill free-form masks. The number of
  strokes is uniform in `strokes`; each stroke has a width drawn in `brush_width` (fraction of the
  short side, at least 1 px), a start point uniform over the image and `vertices` segments, each of a
  direction uniform in [0, 2 pi) and a length uniform in [0.1, 0.3] x the long side, clipped to the
  image. Drawn with PIL as lines with round joints (circles at every vertex). Recorded: `strokes`, a
  list of {width, points}.

A third shape, `object` (a segmentation model's object), lives in transforms/segment.py.

A mask that covers no pixel (a box rounded to zero width on a tiny image) is `DropSample("mask_degenerate")`.

Soft edges (`feather`, the recipe's `mask_blur`): pasting the real back outside a hard mask leaves a
seam a detector can learn. `feather` turns the binary mask into blending weights that fall smoothly
to 0 at the mask's border *inside* the mask: alpha = clip(2 * G(mask) - 1, 0, 1) * mask, where G is a
Gaussian blur of radius `blur` px (PIL's `GaussianBlur`, the filter of diffusers'
`VaeImageProcessor.blur`) of the 0/1 mask. Along a straight edge G is 1/2 on the border, so alpha rises
from 0 at the border to 1 about 2 x `blur` px inside. Feathering inwards keeps the mask the ground
truth: a pixel the mask marks 0 is still exactly the real's, and every pixel with any generated
content is marked 255 (those near the border are blends).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from toolkit.errors import DropSample

MODES = ("empty", "rectangle", "brush", "object")


def rectangle(width: int, height: int, rng: np.random.Generator, area=(0.1, 0.4), aspect=(0.5, 2.0)
              ) -> tuple[np.ndarray, dict]:
    a = float(rng.uniform(area[0], area[1]))
    r = float(math.exp(rng.uniform(math.log(aspect[0]), math.log(aspect[1]))))
    bw = min(width, int(round(math.sqrt(a * width * height * r))))
    bh = min(height, int(round(math.sqrt(a * width * height / r))))
    x0 = int(rng.integers(0, width - bw + 1))
    y0 = int(rng.integers(0, height - bh + 1))
    mask = np.zeros((height, width), np.uint8)
    mask[y0 : y0 + bh, x0 : x0 + bw] = 255
    info = {"box": [x0, y0, x0 + bw, y0 + bh], "area": round(a, 6), "aspect": round(r, 6)}
    return _checked(mask, info)


def brush(width: int, height: int, rng: np.random.Generator, strokes=(1, 4), brush_width=(0.05, 0.15),
          vertices=(4, 10)) -> tuple[np.ndarray, dict]:
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    short, long = min(width, height), max(width, height)
    drawn = []
    for _ in range(int(rng.integers(strokes[0], strokes[1] + 1))):
        w = max(1, int(round(float(rng.uniform(brush_width[0], brush_width[1])) * short)))
        x, y = float(rng.uniform(0, width)), float(rng.uniform(0, height))
        points = [(int(round(x)), int(round(y)))]
        for _ in range(int(rng.integers(vertices[0], vertices[1] + 1))):
            angle = float(rng.uniform(0, 2 * math.pi))
            length = float(rng.uniform(0.1, 0.3)) * long
            x = min(max(x + length * math.cos(angle), 0.0), width - 1.0)
            y = min(max(y + length * math.sin(angle), 0.0), height - 1.0)
            points.append((int(round(x)), int(round(y))))
        draw.line(points, fill=255, width=w)
        r = w / 2
        for px, py in points:  # round joints and ends
            draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
        drawn.append({"width": w, "points": [list(p) for p in points]})
    mask = np.asarray(img, dtype=np.uint8).copy()
    mask[mask > 0] = 255
    return _checked(mask, {"strokes": drawn})


def _checked(mask: np.ndarray, info: dict) -> tuple[np.ndarray, dict]:
    covered = int((mask > 0).sum())
    if covered == 0:
        raise DropSample("mask_degenerate", f"the drawn mask covers no pixel of the {mask.shape[1]}x"
                         f"{mask.shape[0]} image ({info})")
    info["mask_fraction"] = round(covered / mask.size, 6)
    return mask, info


def to_size(mask: np.ndarray, width: int, height: int) -> Image.Image:
    """A mask resized for a pipeline (nearest-neighbour: it stays 0/255), as a PIL 'L' image."""
    img = Image.fromarray(mask, "L")
    return img if img.size == (width, height) else img.resize((width, height), Image.Resampling.NEAREST)


def feather(mask: np.ndarray, blur: float) -> np.ndarray:
    """Blending weights in [0, 1] (float32, H x W) for a 0/255 mask: 1 inside, 0 outside, soft inwards."""
    from PIL import ImageFilter

    inside = mask > 0
    if blur <= 0:
        return inside.astype(np.float32)
    g = Image.fromarray(np.where(inside, 255, 0).astype(np.uint8), "L").filter(ImageFilter.GaussianBlur(blur))
    alpha = np.clip(2.0 * np.asarray(g, dtype=np.float32) / 255.0 - 1.0, 0.0, 1.0)
    return np.where(inside, alpha, 0.0).astype(np.float32)


def blend(generated: np.ndarray, real: np.ndarray, mask: np.ndarray, blur: float = 0.0) -> np.ndarray:
    """The generated pixels inside the mask, the real's outside (`blur` > 0: feathered, rounded to uint8)."""
    if blur <= 0:
        return np.where(mask[..., None] > 0, generated, real)
    a = feather(mask, blur)[..., None]
    out = a * generated.astype(np.float32) + (1.0 - a) * real.astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
