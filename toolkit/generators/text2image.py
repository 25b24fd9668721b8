"""Text-to-image fakes: Stable Diffusion drawing each real's own caption.

The fake shares the real's *description*, not its pixels: this is the classic "generated from the
same prompt" fake (GenImage, DiffusionDB style), made aligned. What keeps it aligned:
- the prompt is the real's caption (after the captioner, when the recipe has one); a pair without a
  caption is dropped and counted (`no_caption`), never generated from an empty prompt;
- the initial latent noise comes from a CPU `torch.Generator` seeded by (seed, pair_id, generator
  name), one per pair: a fake does not depend on which reals share its batch or its shard, nor on the
  device the noise was drawn for (it is drawn on the CPU and moved);
- the image is generated at `height` x `width` (512 for SD v1.5), quantised exactly like diffusers'
  `numpy_to_pil` (`round(x * 255)`), then brought to the real's exact size by `transforms/align.py`
  (same resize filter, same crop rule as the reals); it stays an array (lossless) until the pair's
  matched augmentation encodes every member the same way;
- captions longer than the text encoder's window (77 CLIP tokens) are truncated by the pipeline as
  always; we count tokens ourselves and record `truncated` and the text the encoder actually saw;
- `safety_checker: on` loads the model's own checker; an output it flags (diffusers blacks it out)
  drops the pair under `nsfw_filtered` and is never stored.

Throughput (GPU): batches of `batch_size` prompts per pipeline call, fp16/bf16 weights loaded with
`torch_dtype`, PyTorch SDPA attention (diffusers' default processor on torch 2, recorded in the
provenance), optional `torch.compile` of the UNet. None of these change which noise a pair gets;
float kernels may change pixels by a quantisation step, which is why dtype, batch size and compile are
part of the recipe hash (a rebuild with the same recipe gives the same bytes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from toolkit.config import validation as v
from toolkit.errors import DropSample
from toolkit.config.registry import GENERATORS
from toolkit.seeding import derive_seed, rng_for
from toolkit.generators.base import Fake, Generator
from toolkit.models import resolve_model, torch_dtype
from toolkit.generators.diffusion import DiffusionConfig, apply_scheduler, pipeline_weights_sha256, prompt_info



@dataclass
class Text2ImageConfig(DiffusionConfig):
    kind: str = "text2image"
    # (DiffusionConfig: model, revision, negative_prompt, steps, guidance_scale, scheduler -- the model's own
    # is PNDM for SD v1.5 --, height x width: the generation size, then aligned to the real's size, dtype,
    # batch_size, name)
    safety_checker: str = "off"  # off | on (flagged outputs drop their pair: nsfw_filtered)
    compile: bool = False  # torch.compile the UNet (GPU; first batch pays the compilation)

    def __post_init__(self):  # checked when the recipe is read, not after workers have started
        # YAML 1.1 reads a bare on/off as a boolean, which the str field receives as "True"/"False"
        self.safety_checker = {"true": "on", "false": "off"}.get(str(self.safety_checker).lower(),
                                                                 self.safety_checker)
        super().__post_init__()
        v.one_of("safety_checker", self.safety_checker, ("off", "on"))


@GENERATORS.register("text2image", Text2ImageConfig)
class Text2Image(Generator):
    kind = "text2image"

    def __init__(self, cfg: Text2ImageConfig, recipe, device: str):
        super().__init__(cfg, recipe, device)
        import torch
        from diffusers import StableDiffusionPipeline

        self.dtype = torch_dtype(cfg.dtype)
        if device == "cpu" and self.dtype == torch.float16:
            raise ValueError("dtype float16 needs a GPU; use float32 (or bfloat16) on the CPU")
        path = resolve_model(cfg.model)
        kwargs = {"revision": cfg.revision} if cfg.revision else {}
        if cfg.safety_checker == "off":
            kwargs.update(safety_checker=None, requires_safety_checker=False)
        pipe = StableDiffusionPipeline.from_pretrained(path, dtype=self.dtype, **kwargs)
        if cfg.safety_checker == "on" and pipe.safety_checker is None:
            raise ValueError("safety_checker: on, but the model has no safety_checker component")
        apply_scheduler(pipe, cfg.scheduler)
        self.weights_sha256 = pipeline_weights_sha256(pipe)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(device)
        if cfg.compile:
            pipe.unet.to(memory_format=torch.channels_last)
            pipe.unet = torch.compile(pipe.unet)
        self.max_tokens = int(pipe.tokenizer.model_max_length)
        self.attention = sorted({type(p).__name__ for p in pipe.unet.attn_processors.values()})
        # diffusers logs every truncation and every safety hit; we record both per row instead
        for name in ("diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion",
                     "diffusers.pipelines.stable_diffusion.safety_checker"):
            logging.getLogger(name).setLevel(logging.ERROR)

    def provenance(self) -> dict:
        c = self.cfg
        return {"model": c.model, "revision": c.revision, "weights_sha256": self.weights_sha256,
                "scheduler": c.scheduler, "scheduler_class": type(self.pipe.scheduler).__name__,
                "steps": c.steps, "guidance_scale": c.guidance_scale, "negative_prompt": c.negative_prompt,
                "gen_height": c.height, "gen_width": c.width, "dtype": c.dtype,
                "safety_checker": c.safety_checker, "compile": c.compile, "attention": self.attention,
                "max_tokens": self.max_tokens}

    def __call__(self, pixels, pair_ids, captions=None):
        captions = captions if captions is not None else [None] * len(pixels)
        out: list = [None] * len(pixels)
        todo = []
        for i, cap in enumerate(captions):
            if cap is None or not str(cap).strip():
                self.count("no_caption")
                out[i] = DropSample("no_caption", "the real has no caption and the recipe has no captioner: "
                                    "add a `captioner:` section to caption it")
            else:
                todo.append(i)
        done = self.batched(todo, lambda ch: self._generate([captions[i] for i in ch], [pair_ids[i] for i in ch]))
        for i, r in done.items():
            out[i] = r if isinstance(r, DropSample) else self._fit(r, pixels[i], pair_ids[i])
        return out

    # --- steps -----------------------------------------------------------------------------------
    def prompt_info(self, prompt: str) -> dict:
        """Token count and truncation as the pipeline's tokenizer sees `prompt`."""
        return prompt_info(self.pipe.tokenizer, self.max_tokens, prompt)

    def _generate(self, prompts: list[str], pair_ids: list[str]) -> list:
        import torch

        seeds = [derive_seed(self.recipe.seed, pid, self.name) for pid in pair_ids]
        gens = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
        c = self.cfg
        with torch.inference_mode():
            res = self.pipe(prompts, negative_prompt=[c.negative_prompt] * len(prompts) if c.negative_prompt else None,
                            num_inference_steps=c.steps, guidance_scale=c.guidance_scale, height=c.height,
                            width=c.width, generator=gens, output_type="np", return_dict=True)
        images = np.asarray(res.images, dtype=np.float32)
        flagged = res.nsfw_content_detected or [False] * len(prompts)
        out = []
        for img, bad, prompt, seed in zip(images, flagged, prompts, seeds):
            if bad:
                self.count("nsfw_filtered")
                out.append(DropSample("nsfw_filtered", f"{self.kind}: the safety checker flagged the output"))
                continue
            if not np.isfinite(img).all():
                self.count("nonfinite_output")
                out.append(DropSample("generator_nonfinite", f"{self.kind}: NaN/inf in the output ({c.dtype})"))
                continue
            u8 = np.ascontiguousarray((img * 255).round().astype(np.uint8))  # VaeImageProcessor.numpy_to_pil
            self.count("truncated_prompts", 0)
            info = {"seed": seed, **self.prompt_info(prompt)}
            if info["truncated"]:
                self.count("truncated_prompts")
            out.append(Fake(u8, info))
        return out

    def _fit(self, fake: Fake, real: np.ndarray, pair_id: str) -> Fake:
        """Bring the generated image to the real's size with the reals' own geometry code."""
        from PIL import Image

        from toolkit.transforms.align import align, cover_crop

        img = self.recipe.image
        h, w = real.shape[:2]
        rng = rng_for(self.recipe.seed, pair_id, "crop") if img.crop == "random" else None
        pil = Image.fromarray(fake.pixels, "RGB")
        if img.size is not None and (h, w) == (img.size, img.size):
            arr, info = align(pil, size=img.size, resize_filter=img.resize_filter, crop=img.crop, rng=rng)
        else:  # image.size: null keeps each real's native size: cover it, then the same crop rule
            arr, info = cover_crop(pil, width=w, height=h, resize_filter=img.resize_filter, crop=img.crop, rng=rng)
        fit = {k: info[k] for k in ("scaled_width", "scaled_height", "crop_box")}
        return Fake(arr, {**fake.provenance, "fit": fit})
