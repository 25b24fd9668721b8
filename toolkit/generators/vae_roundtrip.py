"""VAE round-trip fakes: the real encoded and decoded by a latent diffusion model's autoencoder.

This is the alignment paper's construction: the fake keeps the real's content, size and framing and
differs only by what the LDM decoder imprints. Details that matter for alignment:
- the autoencoder's family comes from the model's own config.json (`_class_name`: `AutoencoderKL`,
  `VQModel`, `AutoencoderTiny`; see autoencoders.py for what a round trip is in each) unless the
  recipe names it (`family:`);
- pixels go in as `2 * (x / 255) - 1` and come out as `(y / 2 + 0.5).clamp(0, 1) * 255`, made 8-bit
  by `quantize: round` (default: diffusers' `VaeImageProcessor.postprocess`) or `floor` (the paper's
  code: torchvision's `ToPILImage`, `mul(255).byte()`, which truncates). Floor lowers every fake by
  half a grey level on average against round: a DC offset from its real that a detector can learn,
  so it is there to reproduce the paper's data exactly, never the default (docs/fidelity_generators.md);
- `latent: sample` (KL only) draws the latent noise from a generator seeded by (seed, pair_id,
  generator name), one per pair, so a fake does not depend on which other reals share its batch;
  `mode` takes the posterior mean, or for VQ and Tiny (no posterior) the encoder's output;
- sizes that are not a multiple of the autoencoder's downsampling factor are reflect-padded up to
  one and cropped back after decoding: the fake has exactly the real's size, never a silently
  different one (the drift users reported against the paper's code);
- a half-precision batch that produces NaN/inf is redone in float32 and counted.

GPU throughput: `dtype: bfloat16|float16`, `channels_last` (default on CUDA: cuDNN's fast NHWC
convolutions) and `compile: true` (torch.compile of encoder and decoder; the first batch of each size
pays the compilation). All three can change float rounding, hence the bytes: they are part of the
recipe's identity, and a build keeps the setting it started with. `channels_last: null` on a CPU feeds
the batch in the layout of the permuted uint8 array (NHWC strides: the toolkit's layout from the
start, and faster there); `false` makes it NCHW-contiguous, the layout of diffusers' preprocess and of
the paper's ToTensor batches: with `quantize: floor`, float32, the same batch and the same noise, the
bytes are then exactly those of the paper's computation (tests/test_autoencoders.py); with `null` a
rare value is one level off (float noise of another convolution kernel).

On a CPU the worker keeps freed activation memory in its heap (cpu_memory.py): at batch 8 glibc would
otherwise hand every large activation back to the kernel and page-fault it in again, which made a batch
of 8 slower than 8 single images (docs/performance.md). Same kernels, same bytes.

`quantize` and `family` came after builds existed: at the value that reproduces those builds (round,
null) they stay out of the recipe hash (`neutral_defaults`), so those builds keep their hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from toolkit.config import validation as v
from toolkit.config.registry import GENERATORS
from toolkit.seeding import derive_seed
from toolkit.generators.autoencoders import CLASSES, check_family, class_from_config, load_autoencoder
from toolkit.generators.cpu_memory import keep_freed_memory
from toolkit.generators.base import Generator, check_generator
from toolkit.models import resolve_model, state_dict_sha256, torch_dtype

LATENTS = ("sample", "mode")
QUANTIZE = ("round", "floor")


@dataclass
class VaeRoundtripConfig:
    kind: str = "vae_roundtrip"
    model: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"  # hub id or local path
    subfolder: Optional[str] = "vae"  # LDM (CompVis/ldm-text2im-large-256): vqvae
    revision: Optional[str] = None
    latent: str = "sample"  # sample (KL: seeded per pair, as in the alignment paper's code) | mode
    dtype: str = "float32"  # float32 | bfloat16 | float16
    batch_size: int = 8
    channels_last: Optional[bool] = None  # null: on for CUDA, off for CPU | false: NCHW throughout
    compile: bool = False  # torch.compile the encoder and decoder (CUDA; slow first batch per size)
    name: Optional[str] = None  # the rows' `source` value; default vae_roundtrip
    quantize: str = "round"  # round (diffusers' postprocess) | floor (the paper's ToPILImage: ~0.5 darker)
    family: Optional[str] = None  # null: the model config's _class_name | AutoencoderKL | VQModel | AutoencoderTiny

    # (not fields) added after builds existed: at these values they stay out of the recipe hash, so those
    # builds keep theirs (Recipe.content_hash)
    neutral_defaults = {"quantize": "round", "family": None}

    def __post_init__(self):  # checked when the recipe is read, not after workers have started
        check_generator(self)
        v.non_empty("model", self.model)
        v.non_empty("subfolder", self.subfolder, optional=True)
        v.non_empty("revision", self.revision, optional=True)
        v.one_of("latent", self.latent, LATENTS)
        v.dtype("dtype", self.dtype)
        v.one_of("quantize", self.quantize, QUANTIZE)
        if self.family is not None:
            check_family(self.family, self.latent)

@GENERATORS.register("vae_roundtrip", VaeRoundtripConfig)
class VaeRoundtrip(Generator):
    kind = "vae_roundtrip"

    def __init__(self, cfg: VaeRoundtripConfig, recipe, device: str):
        super().__init__(cfg, recipe, device)
        import torch

        self.dtype = torch_dtype(cfg.dtype)
        path = resolve_model(cfg.model)
        kwargs = {"revision": cfg.revision} if cfg.revision else {}
        if cfg.subfolder:
            kwargs["subfolder"] = cfg.subfolder
        self.class_name = cfg.family or class_from_config(path, cfg.subfolder, cfg.revision)
        if self.class_name not in CLASSES:
            raise ValueError(f"the model's config names {self.class_name}, not an autoencoder the round trip "
                             f"knows ({', '.join(CLASSES)}); set family: if that is wrong")
        check_family(self.class_name, cfg.latent)
        self.ae = load_autoencoder(self.class_name, path, torch.float32, **kwargs)
        self.vae = self.ae.model
        self.weights_sha256 = state_dict_sha256(self.vae)
        self.factor = self.ae.downsampling
        self.vae.to(device)
        if device == "cpu":  # batch-sized activations without a page-fault storm (cpu_memory.py)
            keep_freed_memory()
        self._ae32 = None
        if self.dtype != torch.float32:  # keep the float32 model for batches that overflow
            self._ae32 = self.ae
            self.ae = load_autoencoder(self.class_name, path, self.dtype, **kwargs)
            self.vae = self.ae.model.to(device)
        self.channels_last = device.startswith("cuda") if cfg.channels_last is None else cfg.channels_last
        for m in {id(a.model): a.model for a in (self.ae, self._ae32) if a is not None}.values():
            if self.channels_last:
                m.to(memory_format=torch.channels_last)
            if cfg.compile:
                m.encoder = torch.compile(m.encoder)
                m.decoder = torch.compile(m.decoder)

    @property
    def _vae32(self):
        return None if self._ae32 is None else self._ae32.model

    def provenance(self) -> dict:
        return {"model": self.cfg.model, "subfolder": self.cfg.subfolder, "revision": self.cfg.revision,
                "weights_sha256": self.weights_sha256, "latent": self.cfg.latent, "dtype": self.cfg.dtype,
                "downsampling": self.factor, "channels_last": self.channels_last, "compile": self.cfg.compile,
                "quantize": self.cfg.quantize, "family_from": "recipe" if self.cfg.family else "config",
                **self.ae.provenance()}

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

        y = self._forward(self.ae, arrs, pair_ids)
        if not torch.isfinite(y).all():
            if self._ae32 is None:
                raise FloatingPointError("non-finite output in float32")
            self.count("nonfinite_fp32_redo")
            y = self._forward(self._ae32, arrs, pair_ids)
        y = (y.float() / 2 + 0.5).clamp(0, 1)  # VaeImageProcessor.denormalize
        y = y.permute(0, 2, 3, 1).cpu().numpy() * 255  # pt_to_numpy; float32, as torch's mul(255)
        u8 = (np.floor(y) if self.cfg.quantize == "floor" else y.round()).astype("uint8")
        return [np.ascontiguousarray(a) for a in u8]

    def _noise(self, pair_ids):
        """eps for `latent: sample`: one CPU generator per pair, seeded by (seed, pair_id, name)."""
        import torch

        def draw(shape, device, dtype):
            return torch.stack([
                torch.randn(shape[1:], generator=torch.Generator().manual_seed(
                    derive_seed(self.recipe.seed, pid, self.name)), dtype=torch.float32)
                for pid in pair_ids]).to(device=device, dtype=dtype)
        return draw

    def _forward(self, ae, arrs, pair_ids):
        import torch
        import torch.nn.functional as F

        dtype = next(ae.model.parameters()).dtype
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
        elif self.cfg.channels_last is False:  # asked for NCHW: the layout of diffusers' preprocess and of
            x = x.contiguous()  # the paper's ToTensor batches (null on a CPU keeps the permuted uint8 layout)
        with torch.inference_mode():
            z = ae.encode(x, self.cfg.latent, self._noise(pair_ids))
            y = ae.decode(z)
        if y.shape[-2:] != x.shape[-2:]:  # an odd config (decoder upsampling != encoder downsampling)
            raise ValueError(f"{ae.class_name} decoded {tuple(x.shape[-2:])} to {tuple(y.shape[-2:])}")
        return y[..., :h, :w]
