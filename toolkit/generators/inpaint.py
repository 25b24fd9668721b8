"""Inpainting fakes (`kind: inpaint`): a diffusers inpainting pipeline regenerates the real where a mask
says, and the mask is stored as data (the `mask` column) for localisation.

Mask modes (`mask:`):
- `empty`: B-Free's self-conditioned regeneration. The inpainting UNet (9 input channels: noisy latent,
  mask, masked-image latent) is conditioned on the *whole* real with an empty mask and regenerates every
  pixel from noise (at `strength: 1`), so the fake keeps the real's content and layout while every
  pixel is the generator's. It needs a real inpainting UNet (SD 2 / SD 1.5 inpainting); with a plain
  4-channel UNet diffusers would keep the whole real, which is refused. The row's mask is all 255.
- `rectangle`: one seeded box (its area fraction drawn in `area`, aspect ratio in `aspect`).
- `brush`: seeded free-form strokes (`strokes`, `brush_width`, `vertices`).
  Masks are drawn at the pair's geometry (transforms/masks.py) from (seed, pair_id, name, "mask"),
  resized nearest-neighbour to the generation size for the pipeline; the stored label is the
  pair-size mask.
- `object`: one object of the real, found by a transformers segmentation model (`segmenter`, by hub id or
  path: panoptic/instance or semantic) and drawn from the segments whose area fraction lies in
  `object_area` (and whose category is in `object_labels`, when given); transforms/segment.py. The row
  records the object's label id and name and its area; a pair with no such object is dropped
  (`mask_no_object`).

`restore_background` (default: true for rectangle and brush; `empty` has no background): after the
output is brought back to the pair's geometry, the real's pixels are pasted outside the mask, so every
pixel the mask marks 0 is exactly the real's (before the pair's matched augmentation, which both get).
With `false`, the pixels outside the mask are the pipeline's own (they went through the VAE): the mask
then marks what was inpainted, not what differs.
`mask_blur` (pixels, default 0: a hard seam) feathers the paste: the inpainted pixels fade into the real
over about 2 x `mask_blur` px *inside* the mask (transforms/masks.py `feather`), so the stored mask stays
the binary ground truth (0: exactly the real's pixel; 255: generated or a blend). The pipeline itself
always gets the binary mask.

Model: any diffusers inpainting pipeline by hub id or local path, loaded with
`AutoPipelineForInpainting` (default `stabilityai/stable-diffusion-2-inpainting`;
`stable-diffusion-v1-5/stable-diffusion-inpainting` loads through the same class). Everything else
(prompt from the caption or a fixed `prompt`, per-pair seeds, generation size with the real's aspect
ratio, alignment back to the pair's geometry, batching) is img2img.py's `Regenerator`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

import numpy as np

from toolkit.config import validation as v
from toolkit.config.registry import GENERATORS
from toolkit.seeding import derive_seed, rng_for
from toolkit.transforms import masks
from toolkit.generators.base import Fake
from toolkit.generators.diffusion import RegenerationConfig
from toolkit.generators.img2img import Job, Regenerator


@dataclass
class InpaintConfig(RegenerationConfig):
    # (RegenerationConfig: prompt, strength; DiffusionConfig: revision, negative_prompt, steps,
    # guidance_scale, scheduler, height x width: the generation area, the aspect ratio is the real's,
    # dtype, batch_size, name)
    kind: str = "inpaint"
    model: str = "stabilityai/stable-diffusion-2-inpainting"  # hub id, local path or builtin:NAME
    mask: str = "rectangle"  # empty (B-Free: whole image, self-conditioned) | rectangle | brush | object
    restore_background: Optional[bool] = None  # paste the real back outside the mask; null: true unless empty
    mask_blur: float = 0.0  # feather the pasted background over ~2x this many px inside the mask (0: hard seam)
    segmenter: str = "facebook/mask2former-swin-tiny-coco-panoptic"  # object: segmentation model, id or path
    segmenter_revision: Optional[str] = None
    object_area: List[float] = field(default_factory=lambda: [0.05, 0.5])  # object: area fraction range
    object_labels: Optional[List[Any]] = None  # object: only these categories (names or ids); null: any
    area: List[float] = field(default_factory=lambda: [0.1, 0.4])  # rectangle: area fraction range
    aspect: List[float] = field(default_factory=lambda: [0.5, 2.0])  # rectangle: width / height range
    strokes: List[int] = field(default_factory=lambda: [1, 4])  # brush: number of strokes
    brush_width: List[float] = field(default_factory=lambda: [0.05, 0.15])  # brush: fraction of the short side
    vertices: List[int] = field(default_factory=lambda: [4, 10])  # brush: segments per stroke
    strength: float = 1.0  # 1: the masked region from pure noise (diffusers' default)

    # fields added after inpaint builds existed, at the value those builds had: not part of their identity
    neutral_defaults = {"mask_blur": 0.0, "segmenter": "facebook/mask2former-swin-tiny-coco-panoptic",
                        "segmenter_revision": None, "object_area": [0.05, 0.5], "object_labels": None}

    def __post_init__(self):
        super().__post_init__()
        v.one_of("mask", self.mask, masks.MODES)
        v.low_high("area", self.area, 0, 1, low_open=True)
        v.low_high("aspect", self.aspect, 0, low_open=True)
        v.low_high("strokes", self.strokes, 1)
        v.low_high("brush_width", self.brush_width, 0, 1, low_open=True)
        v.low_high("vertices", self.vertices, 1)
        if self.mask == "empty" and self.restore_background:
            raise v.ConfigError("restore_background: mask: empty regenerates the whole image, there is no "
                                "background to restore (pasting it would give the real back); use false or null")
        v.at_least("mask_blur", self.mask_blur, 0)
        if self.mask_blur and not self.restores:
            raise v.ConfigError("mask_blur: feathers the pasted background, which needs restore_background "
                                f"(mask: {self.mask}, restore_background: {self.restore_background}); use 0")
        v.non_empty("segmenter", self.segmenter)
        v.non_empty("segmenter_revision", self.segmenter_revision, optional=True)
        v.low_high("object_area", self.object_area, 0, 1, low_open=True)
        if self.object_labels is not None and (not isinstance(self.object_labels, (list, tuple)) or not self.object_labels):
            raise v.ConfigError(f"object_labels: expected a non-empty list of category names or ids, or null, "
                                f"got {self.object_labels!r}")

    @property
    def makes_masks(self) -> bool:
        """Partial fakes, hence the `mask` column: every mode but `empty` (a full regeneration)."""
        return self.mask != "empty"

    @property
    def restores(self) -> bool:
        return self.mask != "empty" if self.restore_background is None else bool(self.restore_background)


@GENERATORS.register("inpaint", InpaintConfig)
class Inpaint(Regenerator):
    kind = "inpaint"
    auto_pipeline = "AutoPipelineForInpainting"

    def __init__(self, cfg: InpaintConfig, recipe, device: str):
        super().__init__(cfg, recipe, device)
        if cfg.mask == "empty" and self.unet_in_channels != 9:
            raise ValueError(f"mask: empty needs an inpainting UNet (9 input channels); {cfg.model} has "
                             f"{self.unet_in_channels}, with which diffusers would return the real unchanged")
        self.segmenter, self.object_ids = None, None
        if cfg.mask == "object":
            from toolkit.transforms.segment import Segmenter

            self.segmenter = Segmenter(cfg.segmenter, cfg.segmenter_revision, device)
            if cfg.object_labels is not None:
                self.object_ids = self.segmenter.label_ids(cfg.object_labels)

    def provenance(self) -> dict:
        c = self.cfg
        params = {"rectangle": {"area": c.area, "aspect": c.aspect},
                  "brush": {"strokes": c.strokes, "brush_width": c.brush_width, "vertices": c.vertices}}
        if self.segmenter is not None:
            params["object"] = {"segmenter": c.segmenter, "segmenter_revision": c.segmenter_revision,
                                "segmenter_kind": self.segmenter.kind, "object_area": c.object_area,
                                "object_labels": c.object_labels}
        return {**super().provenance(), "mask_mode": c.mask, "mask_params": params.get(c.mask, {}),
                "restore_background": c.restores, "mask_blur": c.mask_blur}

    def prepare(self, real: np.ndarray, pair_id: str, prompt: str) -> Job:
        job = super().prepare(real, pair_id, prompt)
        c = self.cfg
        h, w = real.shape[:2]
        if c.mask == "empty":  # the pipeline sees an empty mask; every pixel is regenerated (label: None = all)
            job.pipe_mask = masks.to_size(np.zeros((h, w), np.uint8), job.gen_width, job.gen_height)
            job.info = {"mask": "empty"}
            return job
        parts = (self.recipe.seed, pair_id, self.name, "mask")
        if c.mask == "rectangle":
            label, info = masks.rectangle(w, h, rng_for(*parts), area=c.area, aspect=c.aspect)
        elif c.mask == "object":
            from toolkit.transforms.segment import choose_object

            label, info = choose_object(self.segmenter.segments(real), rng_for(*parts), area=c.object_area,
                                        label_ids=self.object_ids)
        else:
            label, info = masks.brush(w, h, rng_for(*parts), strokes=c.strokes, brush_width=c.brush_width,
                                      vertices=c.vertices)
        job.label_mask, job.restore = label, c.restores
        job.pipe_mask = masks.to_size(label, job.gen_width, job.gen_height)
        job.info = {"mask": c.mask, "mask_seed": derive_seed(*parts), **info}
        return job

    def pipeline_kwargs(self, jobs: list[Job]) -> dict:
        return {"mask_image": [j.pipe_mask for j in jobs], "height": jobs[0].gen_height, "width": jobs[0].gen_width}

    def _finish(self, job: Job, img: np.ndarray):
        out = super()._finish(job, img)
        if isinstance(out, Fake) and job.restore and self.cfg.mask_blur > 0:  # soft edges, inside the mask only
            out = out._replace(pixels=masks.blend(out.pixels, job.real, job.label_mask, self.cfg.mask_blur))
        return out
