"""PSNR of each dataset's fakes against their own reals, so a study can say whether two training sets'
fakes are equally faithful (a detector trained on the less faithful set has an easier cue: a confound,
issue 20 (c)). Computed on the study's split, pair by pair (a real and the fakes sharing its pair_id)."""

from __future__ import annotations

import numpy as np


def psnr_of(dataset: str, split: str) -> dict | None:
    """{"psnr": mean dB over fakes, "pairs": n} for `dataset`'s `split`, or None without pairs to compare."""
    from toolkit.detectors.data import load_splits

    splits = load_splits(dataset)
    if split not in splits:
        return None
    s = splits[split]
    values = []
    for rows in s.pairs():
        reals = [i for i in rows if s.labels[i] == 0]
        if not reals:
            continue
        real = s.pixels(reals[0]).astype(np.float64)
        for i in rows:
            if s.labels[i] == 1:
                fake = s.pixels(i).astype(np.float64)
                if fake.shape != real.shape:
                    continue
                mse = float(((fake - real) ** 2).mean())
                values.append(99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse))
    return {"psnr": float(np.mean(values)), "pairs": len(values)} if values else None
