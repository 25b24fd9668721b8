"""Every random draw of a build comes from here.

A seed is a hash of (recipe seed, pair_id, stage, ...), never the clock and never a shared stream:
a pair's draws do not depend on which other pairs exist, on shard boundaries, on worker count or on
the order tasks ran in, which is what makes a rebuild (or a resumed build) byte-identical.
"""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit integer seed from the recipe seed and any labels (pair_id, stage name, index)."""
    text = "\x1f".join([str(int(seed))] + [str(p) for p in parts])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, *parts))


def torch_generator_for(seed: int, *parts: object, device: str = "cpu"):
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, *parts))
    return g
