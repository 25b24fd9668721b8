"""Captions for reals that have none (folders, shader renders), so text-to-image fakes have a prompt.

The recipe's `captioner:` section names an image-captioning model by hub id or local path:
BLIP (`Salesforce/blip-image-captioning-base`, BlipForConditionalGeneration + BlipProcessor) or
BLIP-2 (`Salesforce/blip2-opt-2.7b`, ...), told apart by the model's own config (`model_type`).
It runs inside the shard task right after align, on the aligned pixels (the pair's anchor, so the
caption describes exactly what was kept), batched, with greedy decoding (`do_sample=False`,
`num_beams=1`): the same pixels give the same caption on a rebuild.

`mode: missing` (default) captions only reals whose caption is empty; `overwrite` captions all and
keeps the source's caption in the provenance (`original_caption`). The caption lands in the
`caption` column of the real and of every fake of its pair; `caption_by` (model id, revision) lands in
their provenance. The whole section enters the recipe hash: another captioner is another dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from toolkit.config import validation as v
from toolkit.engine.steps import ModelStep
from toolkit.errors import DropSample

MODES = ("missing", "overwrite")


@dataclass
class CaptionerConfig:
    model: str = "Salesforce/blip-image-captioning-base"  # BLIP or BLIP-2: hub id, local path, builtin:NAME
    revision: Optional[str] = None
    mode: str = "missing"  # missing: only reals without a caption | overwrite: every real
    prompt: Optional[str] = None  # conditional captioning prefix (e.g. "a photograph of"), kept in the caption
    max_new_tokens: int = 30
    batch_size: int = 16
    dtype: str = "float32"  # float32 | bfloat16 | float16 (GPU)

    float16_needs_gpu = True  # (not a field) the recipe refuses dtype float16 with runner.device: cpu

    def __post_init__(self):
        v.non_empty("model", self.model)
        v.non_empty("revision", self.revision, optional=True)
        v.one_of("mode", self.mode, MODES)
        if self.prompt is not None and not isinstance(self.prompt, str):
            raise v.ConfigError(f"prompt: must be a string or null, got {self.prompt!r}")
        v.at_least("max_new_tokens", self.max_new_tokens, 1)
        v.at_least("batch_size", self.batch_size, 1)
        v.dtype("dtype", self.dtype)


class Captioner:
    def __init__(self, cfg: CaptionerConfig, device: str):
        import torch
        from transformers import AutoConfig

        from toolkit.models import resolve_model, torch_dtype

        self.cfg = cfg
        self.device = device
        path = resolve_model(cfg.model)
        kwargs = {"revision": cfg.revision} if cfg.revision else {}
        model_type = AutoConfig.from_pretrained(path, **kwargs).model_type
        if model_type == "blip":
            from transformers import BlipForConditionalGeneration as Model
            from transformers import BlipProcessor as Processor
        elif model_type == "blip-2":
            from transformers import Blip2ForConditionalGeneration as Model
            from transformers import Blip2Processor as Processor
        else:
            raise ValueError(f"model type {model_type!r} is not a captioner we know (blip, blip-2)")
        self.dtype = torch_dtype(cfg.dtype)
        if device == "cpu" and self.dtype == torch.float16:
            raise ValueError("dtype float16 needs a GPU; use float32 on the CPU")
        self.processor = Processor.from_pretrained(path, **kwargs)
        self.model = Model.from_pretrained(path, dtype=self.dtype, **kwargs).eval().to(device)
        self.model_type = model_type

    def provenance(self) -> dict:
        return {"model": self.cfg.model, "revision": self.cfg.revision}

    def __call__(self, images: list[np.ndarray]) -> list[str]:
        """Greedy captions of aligned HxWx3 uint8 images, one string per image (stripped)."""
        import torch
        from PIL import Image

        pil = [Image.fromarray(a, "RGB") for a in images]
        kw = {"text": [self.cfg.prompt] * len(pil)} if self.cfg.prompt else {}
        inputs = self.processor(images=pil, return_tensors="pt", **kw).to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        with torch.inference_mode():
            ids = self.model.generate(**inputs, do_sample=False, num_beams=1, max_new_tokens=self.cfg.max_new_tokens)
        return [t.strip() for t in self.processor.batch_decode(ids, skip_special_tokens=True)]


def get_captioner(cfg: CaptionerConfig, device: str) -> Captioner:
    import dataclasses

    from toolkit.models import WORKER_MODELS, load_once

    key = ("captioner", tuple(sorted(dataclasses.asdict(cfg).items())), device)
    return load_once(WORKER_MODELS, key, lambda: Captioner(cfg, device),
                     f"captioner: cannot load model {cfg.model!r}")


class CaptionStep(ModelStep):
    """The recipe's `captioner:` as a model step: captions the reals that need one (in place).

    A real the model fails on alone is dropped under `caption_error`. An empty caption from the model is
    counted (`caption_empty`) and left empty: the text-to-image generator then drops that pair under
    `no_caption`."""

    name = "captioner"
    drop_reason = "caption_error"

    def __init__(self, cfg: CaptionerConfig, device: str):
        self.cfg = cfg
        self.device = device
        self.batch_size = cfg.batch_size
        self.model: Optional[Captioner] = None
        self.counters: dict = {}

    def setup(self) -> None:
        self.model = get_captioner(self.cfg, self.device)

    def select(self, state) -> list:
        todo = [m for m in state.reals if self.cfg.mode == "overwrite" or not (m.caption or "").strip()]
        self.counters = {"captioned": 0, "caption_empty": 0, "kept_source_caption": len(state.reals) - len(todo)}
        return todo

    def process_batch(self, items: list) -> list:
        return self.model([m.pixels for m in items])

    def collect(self, state, items: list, results: list) -> None:
        import dataclasses

        for m, text in zip(items, results):
            if isinstance(text, DropSample):
                continue
            if m.caption and self.cfg.mode == "overwrite":
                m.provenance["original_caption"] = m.caption
            m.provenance["caption_by"] = self.model.provenance()
            if text:
                m.caption = text
                self.counters["captioned"] += 1
            else:
                m.caption = None
                self.counters["caption_empty"] += 1
        state.reals = [m for m in state.reals if m.pair_id in state.alive]
        state.captioner = {"provenance": dataclasses.asdict(self.cfg), "counters": self.counters}
