"""Helpers for detector tests: tiny paired datasets written in the test, tiny model configs.

`write_pairs` writes a folder in the layout of a toolkit build (data/<split>-NNNNN-of-NNNNN.parquet
with the toolkit row schema), which `datasets.load_dataset(folder)` reads like any build. Fakes are
their real plus a faint periodic pattern (a stand-in for a generator's upsampling trace), so a small
network can separate them; `pattern=0` makes fakes indistinguishable copies with fresh noise.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

# preset=light: the paper's augmentation (blur up to sigma 3, JPEG down to q30) wipes the faint pattern of
# these 32 px fakes; tests/test_fidelity_detectors.py checks the paper settings themselves
TINY_RESNET = ["preset=light", "model=null",
               "arch={embedding_size: 8, hidden_sizes: [8, 16], depths: [1, 1], layer_type: basic}",
               "crop=24", "pairs_per_batch=8", "eval_batch=32", "robustness=false"]


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _real(rng, size: int) -> np.ndarray:
    low = rng.uniform(0, 255, size=(size // 8, size // 8, 3)).astype(np.uint8)
    img = Image.fromarray(low).resize((size, size), Image.BICUBIC)
    return np.asarray(img)


def _fake(real: np.ndarray, rng, pattern: float) -> np.ndarray:
    h, w = real.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    checker = np.where((yy + xx) % 2 == 0, 1.0, -1.0)[..., None] * pattern
    noise = rng.normal(0, 1.0, size=real.shape)
    return np.clip(real.astype(np.float64) + checker + noise, 0, 255).astype(np.uint8)


def write_pairs(root, splits: dict[str, int], size: int = 32, seed: int = 0, pattern: float = 12.0,
                generator: str = "checker") -> str:
    from toolkit.store.parquet import parquet_bytes

    root = Path(root)
    (root / "data").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in splits.items():
        rows = []
        for i in range(n):
            pid = f"{split}-{seed}-{i:05d}"
            real = _real(rng, size)
            aug = json.dumps([{"op": "png"}]) if i % 2 else json.dumps([{"op": "blur", "sigma": 0.0}, {"op": "png"}])
            base = {"pair_id": pid, "caption": None, "width": size, "height": size, "format": "png", "augment": aug,
                    "origin": f"synthetic://{pid}", "provenance": "{}"}
            rows.append({**base, "image": {"bytes": _png(real), "path": None}, "label": 0, "source": "real",
                         "generator": None})
            rows.append({**base, "image": {"bytes": _png(_fake(real, rng, pattern)), "path": None}, "label": 1,
                         "source": generator, "generator": generator})
        (root / "data" / f"{split}-00000-of-00001.parquet").write_bytes(parquet_bytes(rows))
    return str(root)


def tiny_clip(path) -> str:
    """A random CLIP vision tower with projection, saved like a hub model."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=4, projection_dim=16)
    CLIPVisionModelWithProjection(cfg).save_pretrained(path)
    return str(path)
