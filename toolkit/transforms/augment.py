"""Matched augmentation: one draw per pair, applied identically to every member.

If reals and fakes were compressed independently, a detector could learn the compression instead of
the generator (the alignment paper's warning). So the op chain and its parameters are drawn once
from an RNG seeded by (recipe seed, pair_id, "augment") and applied to the real and to every fake of
that pair. `matched: false` draws per image instead: the unaligned baseline, for ablations.

Every op also takes `apply_to: both | real | fake` (default `both`). Anything but `both` breaks the
alignment contract on purpose: it exists only to build deliberately misaligned *control* sets (e.g.
reals stored as JPEG while fakes stay PNG, the GenImage bias), on which `toolkit audit` must flag a
leak. The draw is unchanged by it (the same RNG calls happen); the op is simply skipped on members of
the other class, and a skipped codec leaves that member lossless PNG.

Ops come in two families. Pixel ops (blur, resize) each fire independently with their probability `p`,
in recipe order. Codec ops (jpeg, webp) are mutually exclusive: one codec is chosen with the listed
probabilities, otherwise the member is stored as lossless PNG. The chain actually applied is recorded
per row as JSON, the codec always last, e.g. `[{"op": "blur", "sigma": 1.1}, {"op": "jpeg", "quality": 83}]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import List

import numpy as np
from PIL import Image, ImageFilter

from toolkit.config import validation as v
from toolkit.config.registry import AUGMENT_OPS
from toolkit.seeding import rng_for
from toolkit.transforms.align import FILTERS
from toolkit.transforms.codecs import encode

APPLY_TO = {"both": (0, 1), "real": (0,), "fake": (1,)}  # apply_to -> labels it applies to
SUBSAMPLING = ("4:4:4", "4:2:2", "4:2:0")


def _common(cfg) -> None:
    """`p` and `apply_to`, which every op has."""
    v.probability("p", cfg.p)
    v.one_of("apply_to", cfg.apply_to, APPLY_TO)


@dataclass
class JpegConfig:
    p: float = 0.0
    quality: List[int] = field(default_factory=lambda: [65, 100])
    subsampling: str = "4:2:0"
    apply_to: str = "both"  # both | real | fake (real/fake only for misaligned control sets)

    def __post_init__(self):
        _common(self)
        v.low_high("quality", self.quality, 1, 100)
        v.one_of("subsampling", self.subsampling, SUBSAMPLING)


@dataclass
class WebpConfig:
    p: float = 0.0
    quality: List[int] = field(default_factory=lambda: [65, 100])
    method: int = 4  # libwebp effort, 0 (fast) .. 6 (slow, smaller)
    apply_to: str = "both"  # both | real | fake (real/fake only for misaligned control sets)

    def __post_init__(self):
        _common(self)
        v.low_high("quality", self.quality, 1, 100)
        v.in_range("method", self.method, 0, 6)


@dataclass
class BlurConfig:
    p: float = 0.0
    sigma: List[float] = field(default_factory=lambda: [0.5, 2.0])
    apply_to: str = "both"  # both | real | fake (real/fake only for misaligned control sets)

    def __post_init__(self):
        _common(self)
        v.low_high("sigma", self.sigma, 0)


@dataclass
class ResizeConfig:
    p: float = 0.0
    scale: List[float] = field(default_factory=lambda: [0.5, 1.0])
    filter: str = "bicubic"
    apply_to: str = "both"  # both | real | fake (real/fake only for misaligned control sets)

    def __post_init__(self):
        _common(self)
        v.low_high("scale", self.scale, 0, low_open=True)
        v.one_of("filter", self.filter, FILTERS, what="filter")


class JpegOp:
    codec = True

    @staticmethod
    def draw(cfg: JpegConfig, rng) -> dict:
        return {"quality": int(rng.integers(cfg.quality[0], cfg.quality[1] + 1)), "subsampling": cfg.subsampling}


class WebpOp:
    codec = True

    @staticmethod
    def draw(cfg: WebpConfig, rng) -> dict:
        return {"quality": int(rng.integers(cfg.quality[0], cfg.quality[1] + 1)), "method": cfg.method}


class BlurOp:
    codec = False
    geometric = False  # pixel values only: a mask (label) is left as it is

    @staticmethod
    def draw(cfg: BlurConfig, rng) -> dict:
        return {"sigma": round(float(rng.uniform(cfg.sigma[0], cfg.sigma[1])), 4)}

    @staticmethod
    def apply(img: Image.Image, params: dict) -> Image.Image:
        return img.filter(ImageFilter.GaussianBlur(radius=params["sigma"]))


class ResizeOp:
    codec = False
    geometric = True  # changes the image's size: a mask follows it (apply_mask)

    @staticmethod
    def draw(cfg: ResizeConfig, rng) -> dict:
        return {"scale": round(float(rng.uniform(cfg.scale[0], cfg.scale[1])), 4), "filter": cfg.filter}

    @staticmethod
    def apply(img: Image.Image, params: dict) -> Image.Image:
        w, h = img.size
        size = (max(1, round(w * params["scale"])), max(1, round(h * params["scale"])))
        return img.resize(size, FILTERS[params["filter"]])

    @staticmethod
    def apply_mask(mask: Image.Image, params: dict) -> Image.Image:
        """The same new size for a 0/255 mask, nearest-neighbour (a label stays 0/255, never blurred)."""
        w, h = mask.size
        size = (max(1, round(w * params["scale"])), max(1, round(h * params["scale"])))
        return mask.resize(size, Image.Resampling.NEAREST)


def mask_safe(name: str) -> bool:
    """Whether op `name` can run on a build with masks: a codec or a pixel-value op leaves the mask alone;
    a geometric op (`geometric = True`) must say how the mask follows it (`apply_mask`). An op that does
    not declare `geometric` is taken as pixel-only, and the writer checks the sizes anyway."""
    impl = AUGMENT_OPS.get(name).impl
    return impl.codec or not getattr(impl, "geometric", False) or hasattr(impl, "apply_mask")


AUGMENT_OPS.register("jpeg", JpegConfig)(JpegOp)
AUGMENT_OPS.register("webp", WebpConfig)(WebpOp)
AUGMENT_OPS.register("blur", BlurConfig)(BlurOp)
AUGMENT_OPS.register("resize", ResizeConfig)(ResizeOp)


@dataclass(frozen=True)
class AugmentPlan:
    """An op chain with drawn parameters; the last step is always the codec."""

    steps: tuple  # ((name, params), ...)

    @property
    def codec(self) -> tuple[str, dict]:
        return self.steps[-1]

    def record(self) -> str:
        return json.dumps([{"op": n, **p} for n, p in self.steps], sort_keys=False)

    def label(self) -> str:
        return "+".join(n for n, _ in self.steps)


class Augmenter:
    def __init__(self, ops: dict, *, matched: bool, seed: int, png_compress_level: int = 4):
        self.ops = ops
        self.matched = matched
        self.seed = seed
        self.png = ("png", {"compress_level": png_compress_level})
        self._last: tuple | None = None  # (pair_id, AugmentPlan) of the pair being written

    def plan(self, pair_id: str, member: int = 0) -> AugmentPlan:
        """The chain for one pair (matched) or one member of it (unmatched)."""
        parts = (pair_id, "augment") if self.matched else (pair_id, "augment", member)
        rng = rng_for(self.seed, *parts)
        steps = []
        for name, cfg in self.ops.items():
            impl = AUGMENT_OPS.get(name).impl
            if not impl.codec and rng.random() < cfg.p:
                steps.append((name, impl.draw(cfg, rng)))
        u, acc, codec = rng.random(), 0.0, self.png
        for name, cfg in self.ops.items():
            impl = AUGMENT_OPS.get(name).impl
            if impl.codec:
                acc += cfg.p
                if u < acc:
                    codec = (name, impl.draw(cfg, rng))
                    break
        steps.append(codec)
        return AugmentPlan(tuple(steps))

    def plan_for(self, pair_id: str, member: int, label: int) -> AugmentPlan:
        """The chain member `member` (0 = the real) of a pair actually gets: the pair's draw (matched) or
        its own, minus any op whose `apply_to` excludes `label` (a dropped codec leaves PNG)."""
        plan = self._pair_plan(pair_id) if self.matched else self.plan(pair_id, member)
        steps = [(n, p) for n, p in plan.steps
                 if n not in self.ops or label in APPLY_TO[getattr(self.ops[n], "apply_to", "both")]]
        if not steps or steps[-1] != plan.steps[-1]:  # the codec (always last) was skipped
            steps.append(self.png)
        return AugmentPlan(tuple(steps))

    def _pair_plan(self, pair_id: str) -> AugmentPlan:
        """The matched draw of the pair whose members are being written: drawn once for the real and
        reused for its fakes (the writer goes pair by pair), not once per member."""
        if self._last is None or self._last[0] != pair_id:
            self._last = (pair_id, self.plan(pair_id))
        return self._last[1]

    @staticmethod
    def apply(plan: AugmentPlan, pixels: np.ndarray) -> tuple[bytes, str, int, int]:
        """Run the chain on aligned pixels; returns (bytes, format, width, height)."""
        img = Image.fromarray(pixels, "RGB")
        for name, params in plan.steps[:-1]:
            img = AUGMENT_OPS.get(name).impl.apply(img, params)
        fmt, params = plan.codec
        return encode(img, fmt, **params), fmt, img.size[0], img.size[1]

    def apply_mask(self, plan: AugmentPlan, mask: np.ndarray) -> bytes:
        """The member's mask (uint8 0/255, H x W at the pair's geometry) through the geometric ops of its
        chain, as lossless PNG (mode L). Pixel ops (blur) and codecs never touch it: it is a label."""
        img = Image.fromarray(mask, "L")
        for name, params in plan.steps[:-1]:
            impl = AUGMENT_OPS.get(name).impl
            if getattr(impl, "geometric", False):
                img = impl.apply_mask(img, params)
        return encode(img, self.png[0], **self.png[1])
