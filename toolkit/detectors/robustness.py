"""The robustness sweep: perturb every test image, real and fake alike, and evaluate again.

Perturbations hit both classes identically (same codec and quality for every image), so a drop
measures how much the detector relied on traces the perturbation destroys, not a class difference.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from toolkit.detectors.metrics import summary


def _codec(fmt: str, q: int):
    def f(arr: np.ndarray) -> np.ndarray:
        buf = io.BytesIO()
        if fmt == "JPEG":
            Image.fromarray(arr).save(buf, format="JPEG", quality=q, subsampling="4:2:0")
        else:
            Image.fromarray(arr).save(buf, format="WEBP", quality=q, method=4)
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            return np.asarray(im.convert("RGB"))

    return f


def _scale(s: float):
    def f(arr: np.ndarray) -> np.ndarray:
        h, w = arr.shape[:2]
        return np.asarray(Image.fromarray(arr).resize((max(1, round(w * s)), max(1, round(h * s))), Image.BICUBIC))

    return f


def _blur(sigma: float):
    def f(arr: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(arr).filter(ImageFilter.GaussianBlur(radius=sigma)))

    return f


PERTURBATIONS = {
    **{f"jpeg{q}": _codec("JPEG", q) for q in (100, 90, 75, 50)},
    **{f"webp{q}": _codec("WEBP", q) for q in (90, 75, 50)},
    "down0.5": _scale(0.5), "down0.75": _scale(0.75), "up1.5": _scale(1.5),
    **{f"blur{s:g}": _blur(s) for s in (0.5, 1.0, 2.0)},
}


def sweep(detector, test, threshold: float | None, progress=None) -> list[dict]:
    """Metrics on the clean test split and under each perturbation."""
    rows = []
    for name, fn in [("clean", None), *PERTURBATIONS.items()]:
        split = test if fn is None else test.perturbed(fn, f"robust:{name}")
        scores = detector.predict(split, desc=f"robust {name}")
        rows.append({"perturbation": name, **summary(split.labels, scores, threshold)})
        if progress:
            progress(rows[-1])
    return rows
