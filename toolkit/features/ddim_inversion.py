"""Text-conditioned DDIM inversion (FakeInversion, Cazenavette et al. 2024), per row of a build.

For every row (the real and each of its fakes) we ask Stable Diffusion "which noise would you have
started from to draw this image, given its caption?": the image is VAE-encoded (the posterior *mean*,
so no sampling noise), then `DDIMInverseScheduler` walks the UNet's deterministic DDIM ODE backwards
from t=0 to t=T conditioned on a caption (CLIP text embeddings of the pipeline's own text encoder).
The caption (`caption:`) is, by default, the image's own caption by a captioning model (`captioner`:
BLIP-2, `caption_model`, greedy, through toolkit/captioner.py), as the paper captions every image,
real and fake alike: a text-to-image fake is then not inverted with its own generation prompt, which
an unseen generator's image never comes with (a train/test mismatch). `row` uses the row's `caption`
column instead (an empty prompt when it has none): the toolkit's behaviour before `caption:` existed.
Two images come out of it:
- the *noise map*: the inverted latent z_T decoded by the VAE (what the paper feeds its detector);
- the *reconstruction*: z_T denoised again with DDIM (eta 0, same caption, same steps) and decoded.
Images the model could have generated invert to plausible noise and reconstruct well; real photos
less so: the detector learns from that difference.

Stored per row, in `OUT/features/ddim_inversion/<split>-NNNNN.parquet` (see features/__init__.py for why a side file):
`latent` (z_T as float16 bytes, C order, shape `latent_shape` = [4, H/8, W/8]), `noise_map` and
`reconstruction` (lossless PNG at the row's own size), `latent_error` (RMS of z_0 after the round
trip vs the encoded z_0: how well the ODE was inverted), `caption_used` (the prompt the text encoder
saw, cut to its 77-token window when longer) and the parameters (`params`, JSON).

Determinism: no random numbers at all (posterior mean, eta 0, greedy captions); rows are processed
in the shard's fixed order in fixed batches, so a rebuild on the same device gives the same bytes.
Classifier-free guidance (`guidance` > 1) is available but makes inversion inexact (the paper's
inversion uses the conditional prediction alone, guidance 1, our default).
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.config import validation as v
from toolkit.config.registry import FEATURES
from toolkit.engine.steps import ModelStep
from toolkit.errors import DropSample
from toolkit.features import features_file
from toolkit.features.stage import SCHEMA

CAPTIONS = ("captioner", "row")  # the prompt of a row: a caption model's caption of its image | its caption


@dataclass
class DDIMInversionConfig:
    kind: str = "ddim_inversion"
    model: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"  # hub id, local path or builtin:NAME
    revision: Optional[str] = None
    steps: int = 50  # DDIM steps of the inversion and of the reconstruction
    guidance: float = 1.0  # classifier-free guidance; 1 = conditional prediction only (exact-ish inversion)
    resolution: Optional[int] = 512  # images are resized (bicubic) to this square for the model; null: own size
    dtype: str = "float32"  # float32 | bfloat16 | float16 (GPU); the captioner's too
    batch_size: int = 4  # images per UNet call (and per captioner call)
    caption: str = "captioner"  # captioner: each row captioned by caption_model (the paper) | row: its caption column
    caption_model: str = "Salesforce/blip2-opt-2.7b"  # BLIP-2 (or BLIP): hub id, local path or builtin:NAME
    caption_revision: Optional[str] = None

    float16_needs_gpu = True  # (not a field) the recipe refuses dtype float16 with runner.device: cpu

    def __post_init__(self):
        v.one_of("kind", self.kind, ("ddim_inversion",))
        v.non_empty("model", self.model)
        v.non_empty("revision", self.revision, optional=True)
        v.at_least("steps", self.steps, 1)
        v.at_least("guidance", self.guidance, 1)
        v.multiple_of("resolution", self.resolution, 8, optional=True)
        v.dtype("dtype", self.dtype)
        v.at_least("batch_size", self.batch_size, 1)
        v.one_of("caption", self.caption, CAPTIONS)
        v.non_empty("caption_model", self.caption_model)
        v.non_empty("caption_revision", self.caption_revision, optional=True)

    def captioner_config(self):
        """The captioner of `caption: captioner`, as toolkit/captioner.py runs it (greedy decoding)."""
        from toolkit.captioner import CaptionerConfig

        return CaptionerConfig(model=self.caption_model, revision=self.caption_revision, mode="overwrite",
                               batch_size=self.batch_size, dtype=self.dtype)


class DDIMInverter:
    """The SD components (from `StableDiffusionPipeline.from_pretrained`) and the two DDIM schedulers."""

    def __init__(self, cfg: DDIMInversionConfig, device: str):
        import torch
        from diffusers import DDIMInverseScheduler, DDIMScheduler, StableDiffusionPipeline

        from toolkit.models import resolve_model, torch_dtype

        self.cfg, self.device = cfg, device
        self.dtype = torch_dtype(cfg.dtype)
        if device == "cpu" and self.dtype == torch.float16:
            raise ValueError("dtype float16 needs a GPU; use float32 on the CPU")
        kwargs = {"revision": cfg.revision} if cfg.revision else {}
        pipe = StableDiffusionPipeline.from_pretrained(resolve_model(cfg.model), dtype=self.dtype,
                                                       safety_checker=None, requires_safety_checker=False, **kwargs)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(device)
        self.inverse = DDIMInverseScheduler.from_config(pipe.scheduler.config)
        self.forward = DDIMScheduler.from_config(pipe.scheduler.config)
        self.scale = float(pipe.vae.config.scaling_factor)
        from toolkit.generators.diffusion import pipeline_weights_sha256

        self.weights_sha256 = pipeline_weights_sha256(pipe)

    def params(self) -> dict:
        c = self.cfg
        return {"kind": c.kind, "model": c.model, "revision": c.revision, "weights_sha256": self.weights_sha256,
                "steps": c.steps, "guidance": c.guidance, "resolution": c.resolution, "dtype": c.dtype,
                "inverse_scheduler": type(self.inverse).__name__, "scheduler": type(self.forward).__name__,
                "vae_latent": "posterior_mean", "eta": 0.0, **self.caption_params()}

    def caption_params(self) -> dict:
        c = self.cfg
        if c.caption == "row":
            return {"caption": "row"}
        cap = c.captioner_config()
        return {"caption": "captioner", "caption_model": c.caption_model, "caption_revision": c.caption_revision,
                "caption_decoding": {"do_sample": False, "num_beams": 1, "max_new_tokens": cap.max_new_tokens},
                "caption_on": "the row's aligned pixels at its own size"}

    def prompt_seen(self, prompt: str) -> str:
        """`prompt` as the text encoder sees it: cut to its window (BOS + max-2 tokens + EOS) when longer."""
        tok = self.pipe.tokenizer
        ids = tok(prompt, truncation=False, add_special_tokens=True, verbose=False).input_ids
        if len(ids) <= tok.model_max_length:
            return prompt
        return tok.decode(ids[1 : tok.model_max_length - 1], skip_special_tokens=True)

    # --- pieces ------------------------------------------------------------------------------------
    def embed(self, prompts: list[str]):
        """(conditional, unconditional) CLIP text embeddings, as the pipeline computes them."""
        cond, uncond = self.pipe.encode_prompt(prompts, self.device, 1, self.cfg.guidance > 1.0,
                                               negative_prompt=[""] * len(prompts) if self.cfg.guidance > 1.0 else None)
        return cond, uncond

    def _eps(self, z, t, cond, uncond):
        import torch

        g = self.cfg.guidance
        if g > 1.0:
            out = self.pipe.unet(torch.cat([z, z]), t, encoder_hidden_states=torch.cat([uncond, cond])).sample
            e_u, e_c = out.chunk(2)
            return e_u + g * (e_c - e_u)
        return self.pipe.unet(z, t, encoder_hidden_states=cond).sample

    def encode(self, images: list[np.ndarray]):
        import torch

        x = torch.from_numpy(np.stack(images).astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2)
        x = x.to(self.device, self.dtype)
        return self.pipe.vae.encode(x).latent_dist.mean * self.scale

    def decode(self, z) -> list[np.ndarray]:
        """uint8 images, quantised like diffusers' image processor (round((x + 1) / 2 * 255))."""
        import torch

        x = self.pipe.vae.decode(z / self.scale).sample.float()
        x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(dtype=torch.uint8)
        return [a for a in x.permute(0, 2, 3, 1).cpu().numpy()]

    def invert(self, z0, cond, uncond, steps: int | None = None):
        self.inverse.set_timesteps(steps or self.cfg.steps, device=self.device)
        z = z0
        for t in self.inverse.timesteps:
            z = self.inverse.step(self._eps(z, t, cond, uncond), t, z).prev_sample
        return z

    def denoise(self, zT, cond, uncond, steps: int | None = None):
        self.forward.set_timesteps(steps or self.cfg.steps, device=self.device)
        z = zT
        for t in self.forward.timesteps:
            z = self.forward.step(self._eps(z, t, cond, uncond), t, z, eta=0.0).prev_sample
        return z

    # --- one batch ---------------------------------------------------------------------------------
    def __call__(self, images: list[np.ndarray], captions: list[Optional[str]]) -> list[dict]:
        """One record per image, inverted with the given prompts (None: empty): latent (float16 array),
        noise_map / reconstruction (uint8 HxWx3 at the image's own size), latent_error, caption_used
        (the prompt as the text encoder saw it). Which prompts: `prompts_for` (the stage's choice)."""
        import torch

        sizes = [a.shape[:2] for a in images]
        model_in = [_resize(a, self.cfg.resolution) for a in images]
        prompts = [(c or "").strip() for c in captions]
        with torch.inference_mode():
            z0 = self.encode(model_in)
            cond, uncond = self.embed(prompts)
            zT = self.invert(z0, cond, uncond)
            zr = self.denoise(zT, cond, uncond)
            noise = self.decode(zT)
            recon = self.decode(zr)
            err = ((zr.float() - z0.float()) ** 2).mean(dim=(1, 2, 3)).sqrt().cpu().numpy()
            lat = zT.float().cpu().numpy().astype(np.float16)
        out = []
        for i, (h, w) in enumerate(sizes):
            out.append({"latent": np.ascontiguousarray(lat[i]), "noise_map": _resize_to(noise[i], h, w),
                        "reconstruction": _resize_to(recon[i], h, w), "latent_error": float(err[i]),
                        "caption_used": self.prompt_seen(prompts[i])})
        return out


def _resize(arr: np.ndarray, res: Optional[int]) -> np.ndarray:
    from PIL import Image

    h, w = arr.shape[:2]
    if res is None:
        if h % 8 or w % 8:
            return np.asarray(Image.fromarray(arr).resize((w - w % 8 or 8, h - h % 8 or 8), Image.BICUBIC))
        return arr
    if (h, w) == (res, res):
        return arr
    return np.asarray(Image.fromarray(arr).resize((res, res), Image.BICUBIC))


def _resize_to(arr: np.ndarray, h: int, w: int) -> np.ndarray:
    from PIL import Image

    if arr.shape[:2] == (h, w):
        return arr
    return np.asarray(Image.fromarray(arr).resize((w, h), Image.BICUBIC))


def get_inverter(cfg: DDIMInversionConfig, device: str) -> DDIMInverter:
    from toolkit.models import WORKER_MODELS, load_once

    key = ("ddim_inversion", json.dumps(asdict(cfg), sort_keys=True), device)
    return load_once(WORKER_MODELS, key, lambda: DDIMInverter(cfg, device),
                     f"features (ddim_inversion): cannot load model {cfg.model!r}")


def get_feature_captioner(cfg: DDIMInversionConfig, device: str):
    """The captioner of `caption: captioner` (None for `row`), loaded once per process; a model that
    cannot be loaded is one line naming `caption_model`."""
    if cfg.caption != "captioner":
        return None
    from toolkit import captioner
    from toolkit.models import WORKER_MODELS, load_once

    ccfg = cfg.captioner_config()
    key = ("captioner", tuple(sorted(asdict(ccfg).items())), device)  # shared with the recipe's captioner
    return load_once(WORKER_MODELS, key, lambda: captioner.Captioner(ccfg, device),
                     f"features (ddim_inversion): cannot load caption_model {cfg.caption_model!r}")


def prompts_for(cfg: DDIMInversionConfig, captioner, images: list[np.ndarray],
                row_captions: list[Optional[str]]) -> list[Optional[str]]:
    """The prompts the rows are inverted with: the captioner's captions of the images themselves
    (`caption: captioner`), or the rows' own captions (`row`)."""
    if cfg.caption == "row":
        return list(row_captions)
    return captioner(images)


def png_bytes(arr: np.ndarray, level: int = 6) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def latent_array(row: dict) -> np.ndarray:
    """The stored latent of one features row as a float16 array of its declared shape."""
    return np.frombuffer(row["latent"], dtype=np.dtype(row["latent_dtype"])).reshape(row["latent_shape"])


@FEATURES.register("ddim_inversion", DDIMInversionConfig)
class DDIMInversionStep(ModelStep):
    """A `features: [{kind: ddim_inversion}]` section as a model step: every member of every live pair in, one record each out,
    written to the shard's side file; a member that fails alone drops its pair under `feature_error`."""

    drop_reason = "feature_error"

    def __init__(self, cfg, device: str):
        self.cfg = cfg
        self.device = device
        self.name = cfg.kind
        self.batch_size = cfg.batch_size
        self.inverter = self.captioner = None

    def setup(self) -> None:
        self.inverter = get_inverter(self.cfg, self.device)
        self.captioner = get_feature_captioner(self.cfg, self.device)  # None with caption: row

    def select(self, state) -> list:
        return [m for r in state.reals if r.pair_id in state.alive for m in [r] + state.fakes[r.pair_id]]

    def process_batch(self, items: list) -> list:  # captioned and inverted together: an image the
        # captioner fails on fails alone

        images = [m.pixels for m in items]
        return self.inverter(images, prompts_for(self.cfg, self.captioner, images, [m.caption for m in items]))

    def collect(self, state, items: list, results: list) -> None:
        from toolkit.store.atomic import AtomicFolder

        task, recipe = state.task, state.task.recipe
        level = recipe.store.png_compress_level
        rows = []
        if items:
            params = json.dumps({**self.inverter.params(), "on": "aligned pixels, before augmentation"},
                                sort_keys=True)
        for m, r in zip(items, results):
            if r is None or isinstance(r, DropSample) or m.pair_id not in state.alive:
                continue
            lat = r["latent"]
            rows.append({"pair_id": m.pair_id, "source": m.source, "label": m.label, "split": task.split,
                         "latent": lat.tobytes(), "latent_shape": list(lat.shape), "latent_dtype": str(lat.dtype),
                         "noise_map": png_bytes(r["noise_map"], level),
                         "reconstruction": png_bytes(r["reconstruction"], level),
                         "latent_error": r["latent_error"], "caption_used": r["caption_used"], "params": params})
        if not rows:
            return
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        buf = io.BytesIO()
        pq.write_table(table, buf, row_group_size=max(1, recipe.store.row_group_size), compression="zstd")
        AtomicFolder(task.output).write_bytes(features_file(self.cfg.kind, task.split, task.index), buf.getvalue())
