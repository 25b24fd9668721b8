"""The autoencoder families a round-trip goes through, told apart by the model's own config.

A diffusers model folder's `config.json` names its class (`_class_name`); the recipe may override it
(`family:`). Supported, with what one round trip is:

| class | who uses it | latent | round trip |
|---|---|---|---|
| `AutoencoderKL` | SD 1.x/2.x, SDXL (4 channels), SD3, FLUX.1 (16 channels) | posterior N(mean, std) | `encode().latent_dist` -> `mode()` or `mean + std * eps` -> `decode()` |
| `VQModel` | LDM (`CompVis/ldm-text2im-large-256`, subfolder `vqvae`), Kandinsky's MoVQ | the encoder output h, no posterior | `encode().latents` -> `decode(h)`, which snaps h to the nearest codebook entry |
| `AutoencoderTiny` | TAESD / TAESDXL / TAESD3 / TAEF1 | the encoder output, no posterior | `encode().latents` -> `decode()` |

Decisions:
- No latent scaling. `scaling_factor` / `shift_factor` (SD3, FLUX) map latents into the diffusion
  model's range and back: `(z - shift) * scale` before the UNet/transformer, `z / scale + shift`
  before the decoder. A round trip never enters that space, so the two cancel and neither is applied
  (the alignment paper's recon.py:15-19 decodes the encoded latent as is, too). They are recorded in
  the provenance for the record.
- VQ: `VQModel.decode(h)` with its default `force_not_quantize=False` quantises h to the nearest
  codebook entry before `post_quant_conv`, as LDM's pipelines decode and as the paper's code does
  (`retrieve_latents` returns `.latents` for a VQ model, recon.py:15, then `ae.decode`, recon.py:17).
  `lookup_from_codebook` only matters with `force_not_quantize=True` (decoding codebook indices,
  aMUSEd): never taken here.
- Tiny: `AutoencoderTiny.forward` stores the latent as 8-bit (`scale_latents`, `* 255`, round) before
  decoding, a storage trick of TAESD's demo, not how pipelines use it as their VAE: not applied.
- `latent: sample|mode` exists only where there is a posterior (KL). VQ and Tiny have none: `mode`
  names their deterministic encoder output, `sample` is refused in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = ("AutoencoderKL", "VQModel", "AutoencoderTiny")
POSTERIOR = {"AutoencoderKL": True, "VQModel": False, "AutoencoderTiny": False}


def class_from_config(path: str, subfolder: str | None, revision: str | None) -> str:
    """The model's `_class_name`, read from its config.json by diffusers (a hub id or a local path alike)."""
    from diffusers import AutoencoderKL

    kwargs = {k: v for k, v in (("subfolder", subfolder), ("revision", revision)) if v}
    config = AutoencoderKL.load_config(path, **kwargs)
    name = config.get("_class_name") if isinstance(config, dict) else None
    if not name:
        raise ValueError("config.json names no _class_name; set family: to one of " + ", ".join(CLASSES))
    return name


def check_family(name: str, latent: str) -> None:
    """One line (`ConfigError`, "field: message") for a class the round trip does not know, or for
    `latent: sample` on a class without a posterior. Called when the recipe is read if it names
    `family:`, else when the model's config has been read (the message then ends as
    `fakes[i] (vae_roundtrip): cannot load model '...': latent: ...`)."""
    from toolkit.config import validation as v

    v.one_of("family", name, CLASSES, what="autoencoder class")
    if latent == "sample" and not POSTERIOR[name]:
        raise v.ConfigError(f"latent: {name} has no posterior to sample from; use latent: mode "
                            "(its deterministic encoder output)")


@dataclass
class Autoencoder:
    """A loaded model of one family and the two halves of its round trip."""

    model: object
    class_name: str

    @property
    def downsampling(self) -> int:
        c = self.model.config
        if self.class_name == "AutoencoderTiny":  # EncoderTiny: the first block keeps the size, the rest stride 2
            return 2 ** (len(c.num_encoder_blocks) - 1)
        return 2 ** (len(c.block_out_channels) - 1)  # Encoder: a downsample after every block but the last

    def encode(self, x, latent: str, noise=None):
        """The latent of a [-1, 1] batch. `noise(shape, device, dtype)` draws eps for `latent: sample`."""
        if self.class_name != "AutoencoderKL":
            return self.model.encode(x).latents
        dist = self.model.encode(x).latent_dist
        if latent == "mode":
            return dist.mode()
        return dist.mean + dist.std * noise(dist.mean.shape, dist.mean.device, dist.mean.dtype)

    def decode(self, z):
        return self.model.decode(z).sample  # VQModel: nearest-codebook quantisation happens here

    def provenance(self) -> dict:
        c = self.model.config
        p = {"class": self.class_name, "latent_channels": int(c.latent_channels)}
        if self.class_name == "VQModel":  # flat keys: the dataset card lists them one by one
            p.update(vq_codebook_size=int(c.num_vq_embeddings), vq_embed_dim=int(c.vq_embed_dim or c.latent_channels),
                     vq_decode="nearest codebook entry (force_not_quantize=False)")
        else:
            shift = getattr(c, "shift_factor", None)
            p.update(latent_scaling="not applied (a round trip)", scaling_factor=float(c.scaling_factor),
                     shift_factor=None if shift is None else float(shift))
        return p


def load_autoencoder(class_name: str, path: str, dtype, **kwargs) -> Autoencoder:
    import diffusers

    cls = getattr(diffusers, class_name)
    return Autoencoder(cls.from_pretrained(path, torch_dtype=dtype, **kwargs).eval(), class_name)
