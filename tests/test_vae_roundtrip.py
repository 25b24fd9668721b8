"""The VAE round-trip generator on a tiny AutoencoderKL built in the test (the other autoencoder
families, `quantize` and the pixel equivalence with the paper's code: tests/test_autoencoders.py)."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.generators.vae_roundtrip import VaeRoundtrip, VaeRoundtripConfig
from toolkit.config.recipe import Recipe


def make(path, **kw) -> VaeRoundtrip:
    recipe = Recipe(name="t", reals={"kind": "bundled"}, seed=3)
    return VaeRoundtrip(VaeRoundtripConfig(model=path, subfolder=None, **kw), recipe, "cpu")


def imgs(n, h, w, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_sizes_not_multiple_of_8_are_padded_and_cropped_back(tiny_vae):
    g = make(tiny_vae, latent="mode")
    out = g(imgs(2, 37, 50) + imgs(1, 64, 64), ["a", "b", "c"])
    assert [o.shape for o in out] == [(37, 50, 3), (37, 50, 3), (64, 64, 3)]
    assert all(o.dtype == np.uint8 for o in out)


def test_sample_noise_is_per_pair_not_per_batch(tiny_vae):
    g = make(tiny_vae, latent="sample", batch_size=4)
    x = imgs(3, 32, 32)
    together = g(x, ["p0", "p1", "p2"])
    alone = g([x[1]], ["p1"])[0]
    assert np.abs(together[1].astype(int) - alone.astype(int)).max() <= 1
    renamed = g([x[1]], ["other"])[0]  # another pair draws other noise
    assert not np.array_equal(renamed, alone)
    assert np.array_equal(g([x[1]], ["p1"])[0], alone)  # and the same pair the same noise


def test_mode_is_deterministic_and_matches_diffusers_postprocess(tiny_vae):
    import torch
    from diffusers.image_processor import VaeImageProcessor

    g = make(tiny_vae, latent="mode")
    x = imgs(1, 32, 32)
    ours = g(x, ["a"])[0]
    proc = VaeImageProcessor(vae_scale_factor=8)
    t = proc.preprocess(x[0][None].astype(np.float32) / 255.0)
    with torch.no_grad():
        y = g.vae.decode(g.vae.encode(t).latent_dist.mode()).sample
    ref = np.asarray(proc.postprocess(y, output_type="pil")[0])
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1
    assert (ours == ref).mean() > 0.99


def test_half_precision_nonfinite_batch_is_redone_in_float32(tiny_vae):
    import torch

    g = make(tiny_vae, latent="mode", dtype="bfloat16")
    with torch.no_grad():
        g.vae.decoder.conv_out.bias.fill_(float("inf"))  # poison the half-precision copy only
    out = g(imgs(2, 32, 32), ["a", "b"])
    assert g.counters.get("nonfinite_fp32_redo") == 1
    assert all(np.isfinite(o).all() and o.shape == (32, 32, 3) for o in out)
    ref = make(tiny_vae, latent="mode")(imgs(2, 32, 32), ["a", "b"])
    assert all(np.array_equal(a, b) for a, b in zip(out, ref))


def test_provenance_names_model_and_weights(tiny_vae):
    g = make(tiny_vae)
    p = g.provenance()
    assert p["model"] == tiny_vae and len(p["weights_sha256"]) == 64 and p["downsampling"] == 8
    assert p["class"] == "AutoencoderKL" and p["family_from"] == "config" and p["quantize"] == "round"
    assert p["latent_scaling"].startswith("not applied")  # a round trip decodes the latent as encoded
    assert make(tiny_vae).provenance()["weights_sha256"] == p["weights_sha256"]


def test_unknown_builtin_model_is_clear():
    with pytest.raises(FileNotFoundError, match="no such built-in model"):
        make("builtin:nope")
