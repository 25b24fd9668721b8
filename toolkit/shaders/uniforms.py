"""Per-sample uniforms: what makes one program yield many different images.

Every value is drawn from `rng_for(recipe seed, "shaders", program key, sample index)`, so a sample's
uniforms depend on nothing else (not on which other programs or samples exist). Values are rounded
to float32 and stored in the row's provenance, which is enough to re-render the exact frame.
"""

from __future__ import annotations

import math

import numpy as np

from toolkit.seeding import rng_for


def _f(x) -> float:
    return float(np.float32(x))


def draw_builtin(seed: int, key: str, index: int) -> dict:
    rng = rng_for(seed, "shaders", key, index)
    k = rng.choice([1.0, 1.0, 0.5, 2.0])
    return {
        "uTime": _f(rng.uniform(0.0, 20.0)),
        "uSeed": _f(rng.uniform(0.0, 100.0)),
        "uZoom": _f(math.exp(rng.uniform(math.log(0.6), math.log(2.5)))),
        "uRotation": _f(rng.uniform(0.0, 2.0 * math.pi)),
        "uOffset": [_f(v) for v in rng.uniform(-2.0, 2.0, 2)],
        "uWarp": _f(rng.uniform(0.0, 1.0)),
        "uPalA": [_f(v) for v in rng.uniform(0.35, 0.65, 3)],
        "uPalB": [_f(v) for v in rng.uniform(0.25, 0.5, 3)],
        "uPalC": [_f(v * k) for v in rng.uniform(0.5, 1.5, 3)],
        "uPalD": [_f(v) for v in rng.uniform(0.0, 1.0, 3)],
        "uParams": [_f(v) for v in rng.uniform(0.0, 1.0, 4)],
    }


def draw_shadertoy(seed: int, key: str, index: int, width: int, height: int) -> dict:
    """Shadertoy inputs: a time, the frame number at 60 fps, a mouse position inside the frame."""
    rng = rng_for(seed, "shaders", key, index)
    t = _f(rng.uniform(0.0, 60.0))
    mx, my = rng.uniform(0.0, 1.0, 2)
    return {
        "iTime": t,
        "iTimeDelta": _f(1.0 / 60.0),
        "iFrameRate": 60.0,
        "iFrame": int(t * 60),
        "iMouse": [_f(mx * width), _f(my * height), 0.0, 0.0],
        "iDate": [2024.0, 0.0, 1.0, _f(t)],
    }


def resolution_uniforms(kind: str, width: int, height: int) -> dict:
    """Set at render time (they depend on the supersampled size)."""
    if kind == "builtin":
        return {"uResolution": [float(width), float(height)]}
    return {"iResolution": [float(width), float(height), 1.0]}
