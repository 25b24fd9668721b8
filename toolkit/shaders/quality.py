"""Degenerate frames: rejected because they make trivial pairs (a flat frame and its round-trip
teach a detector nothing, and NaN pixels are driver-defined garbage).

Checks, in order, each a reason counted by the build:
  shader_nan            more than 1% of the pixels were NaN or infinite before quantisation;
  degenerate_constant   no channel of the 8-bit frame has a standard deviation of 4 levels (near-constant);
  degenerate_one_colour one exact RGB value covers more than 75% of the pixels (a flat background
                        with a small pattern in a corner).
"""

from __future__ import annotations

import numpy as np

MAX_NONFINITE = 0.01
MIN_STD = 4.0
MAX_ONE_COLOUR = 0.75


def degenerate_reason(rgb8: np.ndarray, nonfinite_fraction: float = 0.0) -> str | None:
    if nonfinite_fraction > MAX_NONFINITE:
        return "shader_nan"
    if float(rgb8.reshape(-1, 3).astype(np.float32).std(axis=0).max()) < MIN_STD:
        return "degenerate_constant"
    flat = rgb8.reshape(-1, 3).astype(np.uint32)
    packed = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    counts = np.bincount(np.unique(packed, return_inverse=True)[1])
    if counts.max() / packed.size > MAX_ONE_COLOUR:
        return "degenerate_one_colour"
    return None
