"""VAE round-trip fakes: the real encoded and decoded by a latent diffusion model's autoencoder.

This is the alignment paper's construction: the fake keeps the real's content, size and framing and
differs only by what the LDM decoder imprints. Details that matter for alignment:
- pixels go in as `2 * (x / 255) - 1` and come out quantised exactly like diffusers'
  `VaeImageProcessor.postprocess` (`(y / 2 + 0.5).clamp(0, 1)`, `* 255`, round, uint8);
- `latent: sample` draws the latent noise from a generator seeded by (seed, pair_id, generator name),
  one per pair, so a fake does not depend on which other reals share its batch; `mode` takes the mean;
- sizes that are not a multiple of the autoencoder's downsampling factor are reflect-padded up to
  one and cropped back after decoding: the fake has exactly the real's size, never a silently
  different one (the drift users reported against the paper's code);
- a half-precision batch that produces NaN/inf is redone in float32 and counted.

GPU throughput: `dtype: bfloat16|float16`, `channels_last` (default on CUDA: cuDNN's fast NHWC
convolutions) and `compile: true` (torch.compile of encoder and decoder; the first batch of each size
pays the compilation). All three can change float rounding, hence the bytes: they are part of the
recipe's identity, and a build keeps the setting it started with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import validation as v
from ..registry import GENERATORS
from ..seeding import derive_seed
from .base import Generator, check_generator, resolve_model, state_dict_sha256, torch_dtype

LATENTS = ("sample", "mode")


@dataclass
class VaeRoundtripConfig:
    kind: str = "vae_roundtrip"
    model: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"  # hub id or local path
    subfolder: Optional[str] = "vae"
    revision: Optional[str] = None
    latent: str = "sample"  # sample (seeded per pair, as in the alignment paper's code) | mode
    dtype: str = "float32"  # float32 | bfloat16 | float16
    batch_size: int = 8
    channels_last: Optional[bool] = None  # null: on for CUDA, off for CPU
    compile: bool = False  # torch.compile the encoder and decoder (CUDA; slow first batch per size)
    name: Optional[str] = None  # the rows' `source` value; default vae_roundtrip

    def __post_init__(self):  # checked when the recipe is read, not after workers have started
        check_generator(self)
        v.non_empty("model", self.model)
        v.non_empty("subfolder", self.subfolder, optional=True)
        v.non_empty("revision", self.revision, optional=True)
        v.one_of("latent", self.latent, LATENTS)
        v.dtype("dtype", self.dtype)


@GENERATORS.register("vae_roundtrip", VaeRoundtripConfig)
class VaeRoundtrip(Generator):
    kind = "vae_roundtrip"

    def __init__(self, cfg: VaeRoundtripConfig, recipe, device: str):
        super().__init__(cfg, recipe, device)
        import torch
        from diffusers import AutoencoderKL

        self.dtype = torch_dtype(cfg.dtype)
        path = resolve_model(cfg.model)
        kwargs = {"revision": cfg.revision} if cfg.revision else {}
        if cfg.subfolder:
            kwargs["subfolder"] = cfg.subfolder
        self.vae = AutoencoderKL.from_pretrained(path, torch_dtype=torch.float32, **kwargs).eval()
        self.weights_sha256 = state_dict_sha256(self.vae)
        self.factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self.vae.to(device)
        self._vae32 = None
        if self.dtype != torch.float32:  # keep the float32 model for batches that overflow
            self._vae32 = self.vae
            self.vae = AutoencoderKL.from_pretrained(path, torch_dtype=self.dtype, **kwargs).eval().to(device)
        self.channels_last = device.startswith("cuda") if cfg.channels_last is None else cfg.channels_last
        for m in {id(v): v for v in (self.vae, self._vae32) if v is not None}.values():
            if self.channels_last:
                m.to(memory_format=torch.channels_last)
            if cfg.compile:
                m.encoder = torch.compile(m.encoder)
                m.decoder = torch.compile(m.decoder)

    def provenance(self) -> dict:
        return {"model": self.cfg.model, "subfolder": self.cfg.subfolder, "revision": self.cfg.revision,
                "weights_sha256": self.weights_sha256, "latent": self.cfg.latent, "dtype": self.cfg.dtype,
                "downsampling": self.factor, "channels_last": self.channels_last, "compile": self.cfg.compile}

    def __call__(self, pixels, pair_ids, captions=None):  # captions: not used by a round-trip
        out: list = [None] * len(pixels)
        groups: dict[tuple, list[int]] = {}
        for i, p in enumerate(pixels):
            groups.setdefault(p.shape, []).append(i)
        for idx in groups.values():  # batches of one size each
            done = self.batched(idx, lambda ch: self._roundtrip([pixels[i] for i in ch], [pair_ids[i] for i in ch]))
            for i, r in done.items():
                out[i] = r
        return out

    def _roundtrip(self, arrs: list[np.ndarray], pair_ids: list[str]) -> list[np.ndarray]:
        import torch

        y = self._forward(self.vae, arrs, pair_ids)
        if not torch.isfinite(y).all():
            if self._vae32 is None:
                raise FloatingPointError("non-finite output in float32")
            self.count("nonfinite_fp32_redo")
            y = self._forward(self._vae32, arrs, pair_ids)
        y = (y.float() / 2 + 0.5).clamp(0, 1)  # VaeImageProcessor.denormalize
        y = y.permute(0, 2, 3, 1).cpu().numpy()  # pt_to_numpy
        u8 = (y * 255).round().astype("uint8")  # numpy_to_pil
        return [np.ascontiguousarray(a) for a in u8]

    def _forward(self, vae, arrs, pair_ids):
        import torch
        import torch.nn.functional as F

        dtype = next(vae.parameters()).dtype
        x = torch.from_numpy(np.stack(arrs)).to(self.device).permute(0, 3, 1, 2)
        x = (x.float() / 255.0) * 2.0 - 1.0  # VaeImageProcessor.normalize
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.factor, (-w) % self.factor
        if ph or pw:
            mode = "reflect" if (ph < h and pw < w) else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        x = x.to(dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            dist = vae.encode(x).latent_dist
            if self.cfg.latent == "mode":
                z = dist.mode()
            else:
                eps = torch.stack([
                    torch.randn(dist.mean.shape[1:], generator=torch.Generator().manual_seed(
                        derive_seed(self.recipe.seed, pid, self.name)), dtype=torch.float32)
                    for pid in pair_ids]).to(device=dist.mean.device, dtype=dist.mean.dtype)
                z = dist.mean + dist.std * eps
            y = vae.decode(z).sample
        return y[..., :h, :w]
