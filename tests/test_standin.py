"""The stand-in autoencoder shipped for the offline demo: SD v1.5 VAE family shape, small, documented."""

from __future__ import annotations

import json

from toolkit.models import ASSETS, resolve_model


def test_standin_is_small_sd_family_and_documented():
    path = ASSETS / "standin_vae"
    assert resolve_model("builtin:standin_vae") == str(path)
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["_class_name"] == "AutoencoderKL"
    assert cfg["latent_channels"] == 4 and cfg["in_channels"] == 3 and cfg["out_channels"] == 3
    assert 2 ** (len(cfg["block_out_channels"]) - 1) == 8
    weights = path / "diffusion_pytorch_model.safetensors"
    assert weights.stat().st_size < 5 * 2**20
    readme = (path / "README.md").read_text()
    assert "PSNR" in readme and "not" in readme.lower()
