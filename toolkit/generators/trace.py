"""`kind: trace`: a controllable, seeded generator trace added to the aligned real, for science.

Why: offline, the stand-in autoencoder's fakes differ from their reals by a strong blur (about 23 dB
PSNR on photos, 15 dB on shaders), a far easier cue than any the papers study, so their effects cannot
show (issue 20). A trace fake is its real plus a faint artifact of known shape and amplitude, so a
study controls exactly how strong the generator's cue is, and the fidelity of every fake is the same
whatever its real (PSNR = 20 log10(255 / amplitude) up to clipping and quantisation; each row records
its own PSNR in its provenance).

The artifact imitates a decoder's upsampling residue: a fixed `period` x `period` x 3 zero-mean pattern
(drawn once from `seed`: the "decoder", the same for every fake, as a real generator's fingerprint is),
tiled over the image (period 2 is the checkerboard of transposed convolutions, all its energy at the
highest frequencies), with its strength modulated over the image by a smooth random field drawn per
pair (`modulation`), scaled to an RMS of `amplitude` grey levels (8-bit). The fake is then quantised
back to 8 bits by `quantize: round` (diffusers' postprocess) or `floor` (torchvision's ToPILImage, as
the alignment paper's reconstruction code: every fake half a grey level darker on average, the
shortcut of docs/fidelity_generators.md section 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from PIL import Image

from toolkit.config import validation as v
from toolkit.config.registry import GENERATORS
from toolkit.generators.base import Fake, Generator, check_generator
from toolkit.seeding import rng_for

QUANTIZE = ("round", "floor")


@dataclass
class TraceConfig:
    kind: str = "trace"
    name: Optional[str] = None  # the rows' `source` value; default trace
    amplitude: float = 2.0  # RMS of the artifact, in 8-bit grey levels (0: fake = real, up to quantisation)
    period: int = 2  # the upsampling factor imitated (2: a checkerboard at the highest frequencies)
    modulation: float = 0.5  # 0: uniform strength; else the relative spread of a smooth per-pair field
    seed: int = 0  # draws the fixed pattern: another seed is another "decoder"
    quantize: str = "round"  # round | floor (ToPILImage's truncation: half a grey level darker)
    batch_size: int = 64

    def __post_init__(self):
        check_generator(self)
        v.at_least("amplitude", self.amplitude, 0)
        v.at_least("period", self.period, 2)
        v.at_least("modulation", self.modulation, 0)
        v.one_of("quantize", self.quantize, QUANTIZE)


def pattern(seed: int, period: int) -> np.ndarray:
    """The fixed period x period x 3 pattern: zero mean per channel, unit RMS."""
    k = rng_for(seed, "trace-pattern", period).normal(size=(period, period, 3))
    k -= k.mean(axis=(0, 1), keepdims=True)
    return k / np.sqrt((k ** 2).mean())


def artifact(shape, cfg: TraceConfig, pair_id: str) -> np.ndarray:
    """The float artifact (H x W x 3, RMS = amplitude) for one pair."""
    h, w = shape[:2]
    k = pattern(cfg.seed, cfg.period)
    tiled = np.tile(k, (h // cfg.period + 1, w // cfg.period + 1, 1))[:h, :w]
    field = np.ones((h, w, 1))
    if cfg.modulation > 0:
        low = rng_for(cfg.seed, pair_id, "trace-field").normal(size=(max(2, h // 16 + 1), max(2, w // 16 + 1)))
        up = np.asarray(Image.fromarray(low.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR))
        up = (up - up.mean()) / (up.std() + 1e-9)
        field = np.clip(1.0 + cfg.modulation * up, 0.0, None)[..., None]
    a = tiled * field
    return a * (cfg.amplitude / (np.sqrt((a ** 2).mean()) + 1e-12))


def apply_trace(real: np.ndarray, cfg: TraceConfig, pair_id: str) -> np.ndarray:
    y = np.clip(real.astype(np.float64) + artifact(real.shape, cfg, pair_id), 0, 255)
    return (np.floor(y) if cfg.quantize == "floor" else np.round(y)).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


@GENERATORS.register("trace", TraceConfig)
class Trace(Generator):
    kind = "trace"

    def __call__(self, pixels, pair_ids, captions=None):
        out = []
        for px, pid in zip(pixels, pair_ids):
            fake = apply_trace(px, self.cfg, pid)
            p = psnr(px, fake)
            out.append(Fake(fake, {"psnr": round(p, 3) if np.isfinite(p) else None}))
        return out

    def provenance(self) -> dict:
        c = self.cfg
        return {"model": None, "amplitude": c.amplitude, "period": c.period, "modulation": c.modulation,
                "seed": c.seed, "quantize": c.quantize,
                "note": "controlled science trace: real + seeded periodic residue (toolkit/generators/trace.py)"}
