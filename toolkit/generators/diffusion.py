"""What every diffusers-pipeline generator shares (text2image, img2img, inpaint): the config fields and
their checks (`DiffusionConfig`, `RegenerationConfig` for the two that start from the real), the scheduler
names, and the helpers that load-time code and provenance use (scheduler swap, weights hash, prompt
tokens). One place, so a new diffusers generator is a config subclass and a pipeline call, and the same
key means the same thing in every section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from toolkit.config import validation as v
from toolkit.generators.base import check_generator
from toolkit.models import state_dict_sha256

# scheduler name -> (diffusers class, extra config); "default" keeps the model's own scheduler
SCHEDULERS = {
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "ddpm": ("DDPMScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {}),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "unipc": ("UniPCMultistepScheduler", {}),
}


@dataclass
class DiffusionConfig:
    """The fields of every diffusers-pipeline generator section."""

    kind: str = "diffusion"
    model: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"  # hub id, local path or builtin:NAME
    revision: Optional[str] = None
    negative_prompt: Optional[str] = None
    steps: int = 50  # schedule length
    guidance_scale: float = 7.5
    scheduler: str = "default"  # default (the model's own) | ddim | euler_a | dpmpp_2m | ... (SCHEDULERS)
    height: int = 512  # generation area (height x width pixels)
    width: int = 512
    dtype: str = "float16"  # float16 | bfloat16 | float32 (float32 on CPU)
    batch_size: int = 8
    name: Optional[str] = None  # the rows' `source` value; default: the kind

    float16_needs_gpu = True  # (not a field) the recipe refuses dtype float16 with runner.device: cpu

    def __post_init__(self):  # checked when the recipe is read, not after workers have started
        check_generator(self)
        v.non_empty("model", self.model)
        v.non_empty("revision", self.revision, optional=True)
        v.one_of("scheduler", self.scheduler, ["default", *SCHEDULERS], what="scheduler")
        v.at_least("steps", self.steps, 1)
        v.at_least("guidance_scale", self.guidance_scale, 0)
        for key in ("height", "width"):
            v.multiple_of(key, getattr(self, key), 8)
        v.dtype("dtype", self.dtype)


@dataclass
class RegenerationConfig(DiffusionConfig):
    """A diffusion generator that starts from the real (img2img, inpaint): its prompt and strength."""

    prompt: Optional[str] = None  # null: each real's caption; a string: this prompt for every pair ("" = none)
    strength: float = 0.5  # fraction of the schedule re-run from the noised real (SDEdit); 1 = from noise

    def __post_init__(self):
        super().__post_init__()
        if self.prompt is not None and not isinstance(self.prompt, str):
            raise v.ConfigError(f"prompt: must be a string or null (each real's caption), got {self.prompt!r}")
        v.above("strength", self.strength, 0)
        v.in_range("strength", self.strength, 0, 1)
        if int(self.steps * self.strength) < 1:  # diffusers runs int(steps * strength) steps
            raise v.ConfigError(f"strength: steps x strength must give at least one denoising step, got "
                                f"{self.steps} x {self.strength:g}")


def pipeline_weights_sha256(pipe) -> str:
    """sha256 over the weights of the pipeline's models, by component name (unet, vae, text_encoder; for
    other families also text_encoder_2 / transformer when the pipeline has them)."""
    import hashlib

    h = hashlib.sha256()
    for name in ("unet", "vae", "text_encoder", "text_encoder_2", "transformer"):
        model = getattr(pipe, name, None)
        if model is None and name not in ("unet", "vae", "text_encoder"):
            continue
        h.update(f"{name}:{state_dict_sha256(model)}".encode())
    return h.hexdigest()


def apply_scheduler(pipe, name: str) -> None:
    """Replace `pipe.scheduler` by the scheduler called `name` in SCHEDULERS, built from the pipeline's own
    scheduler config; "default" keeps the model's own. Shared by every diffusers-pipeline generator."""
    if name == "default":
        return
    import diffusers

    cls_name, extra = SCHEDULERS[name]
    pipe.scheduler = getattr(diffusers, cls_name).from_config(pipe.scheduler.config, **extra)


def prompt_info(tokenizer, max_tokens: int, prompt: str) -> dict:
    """Token count and truncation of `prompt` as a CLIP tokenizer with a `max_tokens` window sees it: the
    pipeline keeps BOS + the first max-2 tokens + EOS, and `prompt_used` is the text the encoder saw."""
    ids = tokenizer(prompt, truncation=False, add_special_tokens=True, verbose=False).input_ids
    info = {"prompt": prompt, "prompt_tokens": len(ids), "truncated": len(ids) > max_tokens}
    if info["truncated"]:
        info["prompt_used"] = tokenizer.decode(ids[1 : max_tokens - 1], skip_special_tokens=True)
    return info
