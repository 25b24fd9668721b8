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


def check_names(names, where: str) -> list[str]:
    """`names` (perturbation names, or None for all) checked against PERTURBATIONS; a RecipeError names
    the unknown one."""
    if names is None:
        return list(PERTURBATIONS)
    import difflib

    from toolkit.errors import RecipeError

    out = []
    for n in names:
        if n not in PERTURBATIONS and n != "clean":
            close = difflib.get_close_matches(str(n), list(PERTURBATIONS), n=1)
            raise RecipeError(f"{where}: unknown perturbation {n!r}"
                              + (f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(PERTURBATIONS)})"))
        if n != "clean":
            out.append(n)
    return out


def sweep_scores(detector, test, names=None):
    """(perturbation, scores) for the clean split, then each perturbation in `names` (default: all)."""
    yield "clean", detector.predict(test, desc="robust clean")
    for name in (list(PERTURBATIONS) if names is None else names):
        split = test.perturbed(PERTURBATIONS[name], f"robust:{name}")
        yield name, detector.predict(split, desc=f"robust {name}")


def sweep(detector, test, threshold: float | None, progress=None, names=None, keep_scores: dict | None = None
          ) -> list[dict]:
    """Metrics on the clean test split and under each perturbation (`keep_scores`: filled with the
    per-image scores of each, by perturbation name)."""
    rows = []
    for name, scores in sweep_scores(detector, test, names):
        rows.append({"perturbation": name, **summary(test.labels, scores, threshold)})
        if keep_scores is not None:
            keep_scores[name] = scores
        if progress:
            progress(rows[-1])
    return rows
