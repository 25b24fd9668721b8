"""Regenerations of the real itself: SDEdit-style image-to-image (`kind: img2img`), and what every
diffusers regeneration generator shares (inpaint.py builds on `Regenerator`).

A regeneration starts from the real's own pixels, not from its caption alone: the real is encoded,
noised to `strength` (0 < strength <= 1: the fraction of the diffusion schedule re-run; 1 starts from
pure noise) and denoised with the prompt (SDEdit). Low strengths keep the real's layout and colours,
so the fake differs from its real mostly by the generator's own traces: the alignment is tighter than
text-to-image's, which shares only the description (docs/regeneration.md gives measured PSNRs).

What keeps a regeneration aligned:
- the prompt is the real's caption (after the captioner, when the recipe has one), or a fixed
  `prompt` for every pair (`""`: none); a pair without a caption when the prompt comes from captions
  is dropped and counted (`no_caption`);
- the noise comes from a CPU `torch.Generator` seeded by (seed, pair_id, generator name), one per pair
  (its draws: the VAE's latent sample, then the noise), so a fake depends on nothing but its pair;
- the generation size has the real's aspect ratio and about `height` x `width` pixels (multiples of 8:
  512 x 512 for a square real at the defaults). The real is resized to it with `transforms/align.py`'s
  resize (the recipe's `image.resize_filter`), and the output, quantised like diffusers' `numpy_to_pil`,
  is resized back to the real's exact size by the same call. Pixel registration is kept: the real at
  (x, y) and the fake at (x, y) show the same place (no covering crop as text-to-image's, whose output
  has no place to register to);
- the model's safety checker is never loaded (a regeneration of a real adds nothing the real lacks).

Throughput: `batch_size` images per pipeline call (one call per generation size in a batch), weights in
`dtype`. As for text-to-image, float kernels of a batch of 8 and of 1 may differ in the last bits, which
is why dtype and batch size are part of the recipe hash.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from toolkit.errors import DropSample
from toolkit.config.registry import GENERATORS
from toolkit.seeding import derive_seed
from toolkit.generators.base import Fake, Generator
from toolkit.models import resolve_model, torch_dtype
from toolkit.generators.diffusion import RegenerationConfig, apply_scheduler, pipeline_weights_sha256, prompt_info


@dataclass
class Img2ImgConfig(RegenerationConfig):
    kind: str = "img2img"
    # (RegenerationConfig: prompt, strength 0.5 = SDEdit half way; DiffusionConfig: model, revision,
    # negative_prompt, steps -- int(steps * strength) are run --, guidance_scale, scheduler, height x width:
    # the generation area, the aspect ratio is the real's, dtype, batch_size, name)


@dataclass
class Job:
    """One pair's regeneration: what goes into the pipeline, and what its row records."""

    real: np.ndarray  # the pair's aligned pixels, H x W x 3
    pair_id: str
    prompt: str
    gen_width: int
    gen_height: int
    image: Any  # the real resized to the generation size (PIL RGB)
    seed: int
    label_mask: Optional[np.ndarray] = None  # H x W 0/255 at the pair's size; None = every pixel
    pipe_mask: Any = None  # the mask at the generation size, for an inpainting pipeline (PIL L)
    restore: bool = False  # paste the real back outside label_mask
    info: dict = field(default_factory=dict)  # per-row provenance of the mask


class Regenerator(Generator):
    """A diffusers pipeline that regenerates the real (image in, image out), loaded with the AutoPipeline
    named by `auto_pipeline`. Subclasses add their pipeline arguments (`pipeline_kwargs`) and masks
    (`prepare`)."""

    auto_pipeline = "AutoPipelineForImage2Image"

    def __init__(self, cfg, recipe, device: str):
        super().__init__(cfg, recipe, device)
        import diffusers
        import torch

        self.dtype = torch_dtype(cfg.dtype)
        if device == "cpu" and self.dtype == torch.float16:
            raise ValueError("dtype float16 needs a GPU; use float32 (or bfloat16) on the CPU")
        kwargs = {"revision": cfg.revision} if cfg.revision else {}
        kwargs.update(safety_checker=None, requires_safety_checker=False)
        pipe = getattr(diffusers, self.auto_pipeline).from_pretrained(resolve_model(cfg.model), dtype=self.dtype,
                                                                      **kwargs)
        apply_scheduler(pipe, cfg.scheduler)
        self.weights_sha256 = pipeline_weights_sha256(pipe)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(device)
        self.max_tokens = int(pipe.tokenizer.model_max_length)
        self.unet_in_channels = int(pipe.unet.config.in_channels)
        for name in ("diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img",
                     "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_inpaint",
                     "diffusers.utils.torch_utils"):  # prompt truncation, cpu-generator notes: recorded per row
            logging.getLogger(name).setLevel(logging.ERROR)

    def provenance(self) -> dict:
        c = self.cfg
        return {"model": c.model, "revision": c.revision, "weights_sha256": self.weights_sha256,
                "pipeline": type(self.pipe).__name__, "unet_in_channels": self.unet_in_channels,
                "scheduler": c.scheduler, "scheduler_class": type(self.pipe.scheduler).__name__,
                "steps": c.steps, "strength": c.strength, "guidance_scale": c.guidance_scale,
                "prompt_from": "caption" if c.prompt is None else "recipe", "negative_prompt": c.negative_prompt,
                "gen_area": [c.width, c.height], "dtype": c.dtype, "max_tokens": self.max_tokens}

    # --- per pair --------------------------------------------------------------------------------
    def __call__(self, pixels, pair_ids, captions=None):
        captions = captions if captions is not None else [None] * len(pixels)
        out: list = [None] * len(pixels)
        jobs: dict[int, Job] = {}
        for i, (px, pid, cap) in enumerate(zip(pixels, pair_ids, captions)):
            if self.cfg.prompt is None and (cap is None or not str(cap).strip()):
                self.count("no_caption")
                out[i] = DropSample("no_caption", "the real has no caption and the recipe has no captioner: add "
                                    "a `captioner:` section, or give the generator a fixed `prompt`")
                continue
            try:
                jobs[i] = self.prepare(px, pid, self.cfg.prompt if self.cfg.prompt is not None else str(cap))
            except DropSample as d:
                self.count(d.reason)
                out[i] = d
        done = self.batched(sorted(jobs), lambda ch: self._run([jobs[i] for i in ch]))
        for i, r in done.items():
            out[i] = r
        return out

    def generation_size(self, width: int, height: int) -> tuple[int, int]:
        """The real's aspect ratio at about cfg.width x cfg.height pixels, sides multiples of 8."""
        c = self.cfg
        scale = math.sqrt(c.width * c.height / (width * height))
        return (max(8, int(round(width * scale / 8)) * 8), max(8, int(round(height * scale / 8)) * 8))

    def prepare(self, real: np.ndarray, pair_id: str, prompt: str) -> Job:
        from PIL import Image

        from toolkit.transforms.align import resize_to

        h, w = real.shape[:2]
        gw, gh = self.generation_size(w, h)
        image = resize_to(Image.fromarray(real, "RGB"), gw, gh, self.recipe.image.resize_filter)
        return Job(real=real, pair_id=pair_id, prompt=prompt, gen_width=gw, gen_height=gh, image=image,
                   seed=derive_seed(self.recipe.seed, pair_id, self.name))

    def pipeline_kwargs(self, jobs: list[Job]) -> dict:
        return {}

    def _run(self, jobs: list[Job]) -> list:
        """Generate a batch (one pipeline call per generation size) and bring each output back."""
        groups: dict[tuple[int, int], list[int]] = {}
        for k, j in enumerate(jobs):
            groups.setdefault((j.gen_width, j.gen_height), []).append(k)
        out: list = [None] * len(jobs)
        for idx in groups.values():
            group = [jobs[k] for k in idx]
            for k, j, img in zip(idx, group, self._generate(group)):
                out[k] = self._finish(j, img)
        return out

    def _generate(self, jobs: list[Job]) -> np.ndarray:
        import torch

        c = self.cfg
        gens = [torch.Generator(device="cpu").manual_seed(j.seed) for j in jobs]
        with torch.inference_mode():
            res = self.pipe(prompt=[j.prompt for j in jobs], image=[j.image for j in jobs], strength=c.strength,
                            num_inference_steps=c.steps, guidance_scale=c.guidance_scale,
                            negative_prompt=[c.negative_prompt] * len(jobs) if c.negative_prompt else None,
                            generator=gens, output_type="np", return_dict=True, **self.pipeline_kwargs(jobs))
        return np.asarray(res.images, dtype=np.float32)

    def _finish(self, job: Job, img: np.ndarray):
        from PIL import Image

        from toolkit.transforms.align import resize_to

        if not np.isfinite(img).all():
            self.count("nonfinite_output")
            return DropSample("generator_nonfinite", f"{self.kind}: NaN/inf in the output ({self.cfg.dtype})")
        u8 = np.ascontiguousarray((img * 255).round().astype(np.uint8))  # VaeImageProcessor.numpy_to_pil
        h, w = job.real.shape[:2]
        back = np.asarray(resize_to(Image.fromarray(u8, "RGB"), w, h, self.recipe.image.resize_filter),
                          dtype=np.uint8)
        if job.restore:  # the real's own pixels outside the mask, at the pair's geometry
            back = np.where(job.label_mask[..., None] > 0, back, job.real)
        info = {"seed": job.seed, **prompt_info(self.pipe.tokenizer, self.max_tokens, job.prompt),
                "gen_width": job.gen_width, "gen_height": job.gen_height, **job.info}
        self.count("truncated_prompts", int(info["truncated"]))
        return Fake(np.ascontiguousarray(back), info, job.label_mask)


@GENERATORS.register("img2img", Img2ImgConfig)
class Img2Img(Regenerator):
    kind = "img2img"
