"""FakeInversion features (text-conditioned DDIM inversion) on a tiny SD pipeline built in the test."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from invariants import check_alignment, load
from tiny_sd import build_tiny_blip2, build_tiny_sd
from toolkit.features.ddim_inversion import DDIMInversionConfig, DDIMInverter, decode_png, latent_array


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory) -> str:
    return build_tiny_sd(tmp_path_factory.mktemp("sd") / "tiny-sd")


@pytest.fixture(scope="module")
def tiny_blip2(tmp_path_factory) -> str:
    """A tiny BLIP-2 (the paper's captioner family), for `caption: captioner`, the default."""
    return build_tiny_blip2(tmp_path_factory.mktemp("blip2") / "tiny-blip2")


@pytest.fixture(scope="module")
def smooth_sd(tmp_path_factory) -> str:
    """The tiny pipeline with its UNet's output layer scaled by 0.01. DDIM inversion is exact only when
    the noise prediction varies slowly along the trajectory (a trained UNet does; a random one predicts
    large, erratic eps and no inversion can follow it: relative latent error ~10 at 50 steps, measured).
    Damping the output makes the random UNet smooth enough for the round trip to be measurable."""
    import torch
    from diffusers import UNet2DConditionModel

    path = build_tiny_sd(tmp_path_factory.mktemp("sd") / "smooth-sd")
    unet = UNet2DConditionModel.from_pretrained(path, subfolder="unet")
    with torch.no_grad():
        unet.conv_out.weight.mul_(0.01)
        unet.conv_out.bias.mul_(0.01)
    unet.save_pretrained(f"{path}/unet")
    return path


def image(seed=0, size=64) -> np.ndarray:
    """A smooth image (gradients + a disc): something a VAE latent can hold, unlike white noise."""
    y, x = np.mgrid[0:size, 0:size] / size
    rng = np.random.default_rng(seed)
    a, b, c = rng.uniform(0.2, 1.0, 3)
    disc = ((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.08).astype(float)
    arr = np.stack([a * x, b * y, c * (1 - x) * 0.5 + 0.5 * disc], -1)
    return (arr * 255).round().astype(np.uint8)


def roundtrip_error(inv: DDIMInverter, img, caption_inv, caption_rec, steps) -> float:
    """RMS of z_0 after inversion (caption_inv) and DDIM denoising (caption_rec), relative to z_0's RMS."""
    import torch

    with torch.inference_mode():
        z0 = inv.encode([img])
        c_inv, u = inv.embed([caption_inv])
        c_rec, _ = inv.embed([caption_rec])
        zT = inv.invert(z0, c_inv, u, steps)
        zr = inv.denoise(zT, c_rec, u, steps)
    return float(((zr - z0) ** 2).mean().sqrt() / (z0 ** 2).mean().sqrt())


def test_inversion_then_reconstruction_returns_the_input(smooth_sd):
    inv = DDIMInverter(DDIMInversionConfig(model=smooth_sd, resolution=None, steps=50, caption="row"), "cpu")
    img, cap = image(1), "a red car on a road"
    errs = {
        "right_caption_50": roundtrip_error(inv, img, cap, cap, 50),
        "right_caption_5": roundtrip_error(inv, img, cap, cap, 5),
        "wrong_caption_50": roundtrip_error(inv, img, cap, "the sea under a blue sky", 50),
        "unconditioned_rec_50": roundtrip_error(inv, img, cap, "", 50),
    }
    print("relative latent round-trip error", json.dumps(errs))
    assert errs["right_caption_50"] < 0.1, errs
    assert errs["right_caption_50"] < errs["right_caption_5"], errs
    assert errs["wrong_caption_50"] > 3 * errs["right_caption_50"], errs
    assert errs["unconditioned_rec_50"] > 3 * errs["right_caption_50"], errs
    # through the whole call: the reconstruction is the VAE round trip of the input, closely
    rec = inv([img], [cap])[0]
    import torch

    with torch.inference_mode():
        vae_only = inv.decode(inv.encode([img]))[0]
    d = np.abs(rec["reconstruction"].astype(int) - vae_only.astype(int))
    print("reconstruction vs VAE round trip: mean abs", d.mean(), "max", d.max())
    assert d.mean() < 6.0  # measured 4.07 of 255 (the latent error above, through a random VAE decoder)
    assert rec["latent"].dtype == np.float16 and rec["latent"].shape == (4, 8, 8)
    assert rec["noise_map"].shape == rec["reconstruction"].shape == (64, 64, 3)
    assert rec["noise_map"].dtype == np.uint8


def test_resolution_resizes_for_the_model_and_back(tiny_sd):
    inv = DDIMInverter(DDIMInversionConfig(model=tiny_sd, resolution=32, steps=2, caption="row"), "cpu")
    rec = inv([image(2, 48)], [None])[0]
    assert rec["latent"].shape == (4, 4, 4) and rec["reconstruction"].shape == (48, 48, 3)
    assert rec["caption_used"] == ""


def test_caption_used_is_what_the_text_encoder_saw(tiny_sd):
    """A prompt longer than CLIP's 77-token window is cut by encode_prompt: caption_used says so."""
    inv = DDIMInverter(DDIMInversionConfig(model=tiny_sd, resolution=32, steps=1, caption="row"), "cpu")
    long = "a red car on a road " * 6  # the tiny tokenizer is ~one token per character: 84 tokens > 77
    short, cut = inv([image(1, 32), image(2, 32)], ["  a cat ", long])
    assert short["caption_used"] == "a cat"
    assert long.startswith(cut["caption_used"]) and len(cut["caption_used"]) < len(long.strip())
    ids = inv.pipe.tokenizer(cut["caption_used"]).input_ids
    assert len(ids) <= 77


def write_recipe(tmp_path, data: dict) -> str:
    p = tmp_path / "recipe.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(p)


def base_recipe(tiny_sd, tiny_vae, blip2=None, **over) -> dict:
    """With `blip2` the features caption every row with it (the default, `caption: captioner`);
    without, they use the rows' own captions (`caption: row`)."""
    feat = {"kind": "ddim_inversion", "model": tiny_sd, "steps": 4, "resolution": None,
            **({"caption_model": blip2} if blip2 else {"caption": "row"})}
    r = {
        "name": "fakeinv_test", "seed": 5,
        "reals": {"kind": "bundled", "count": 4},
        "image": {"size": 32, "min_size": 32},
        "fakes": [{"kind": "vae_roundtrip", "model": tiny_vae, "subfolder": None, "batch_size": 4}],
        "features": [feat],
        "split": {"train": 0.5, "test": 0.5},
        "runner": {"shard_size": 2, "scheduler": "synchronous", "progress": False},
    }
    r.update(over)
    return r


def test_build_writes_features_for_every_row_and_same_bytes_twice(cli, tmp_path, tiny_sd, tiny_vae, tiny_blip2):
    recipe = write_recipe(tmp_path, base_recipe(tiny_sd, tiny_vae, tiny_blip2))
    out = tmp_path / "out"
    code, stdout, err = cli("make", recipe, "--out", out)
    assert code == 0, (stdout, err)
    assert cli("verify", out)[0] == 0  # the side files do not disturb the build's own checks
    dsd = load(out)  # load_dataset still sees only the rows
    pairs = check_alignment(dsd)
    assert len(pairs) == 4
    files = sorted((out / "features" / "ddim_inversion").glob("*.parquet"))
    assert [f.name for f in files] == ["test-00000.parquet", "train-00000.parquet"]
    from toolkit.features.stage import read_features

    feats = read_features(str(out)).to_pylist()
    keys = {(r["pair_id"], r["source"]) for r in feats}
    rows = {(r["pair_id"], r["source"]): r for ds in dsd.values() for r in ds}
    assert keys == set(rows) and len(feats) == 8
    for f in feats:
        lat = latent_array(f)
        assert lat.dtype == np.float16 and lat.shape == (4, 4, 4) and f["latent_shape"] == [4, 4, 4]
        assert decode_png(f["noise_map"]).shape == decode_png(f["reconstruction"]).shape == (32, 32, 3)
        p = json.loads(f["params"])
        assert p["steps"] == 4 and p["guidance"] == 1.0 and p["model"] == tiny_sd
        assert p["caption"] == "captioner" and p["caption_model"] == tiny_blip2
        assert np.isfinite(f["latent_error"])
    # every row, real and fake alike, was inverted with the captioner's caption of its own pixels
    from toolkit.captioner import Captioner, CaptionerConfig

    cap = Captioner(CaptionerConfig(model=tiny_blip2), "cpu")
    for f in feats:
        row = rows[(f["pair_id"], f["source"])]
        assert f["caption_used"] == cap([decode_png(row["image"]["bytes"])])[0] != row["caption"]
    # the card declares the side files as their own config, and they load with one call
    import datasets

    side = datasets.load_dataset(str(out), "ddim_inversion")
    assert {s: len(d) for s, d in side.items()} == {"train": 4, "test": 4}
    assert {(r["pair_id"], r["source"]) for d in side.values() for r in d} == keys
    code, report, err = cli("push", out, "--to", tmp_path / "pushed")
    assert code == 0, (report, err)
    assert (tmp_path / "pushed" / "features" / "ddim_inversion" / "train-00000.parquet").exists()
    out2 = tmp_path / "out2"
    assert cli("make", recipe, "--out", out2)[0] == 0
    for f in files:
        a, b = pq.read_table(f), pq.read_table(out2 / "features" / "ddim_inversion" / f.name)
        assert a.equals(b)
    assert (out / "features" / "ddim_inversion" / "train-00000.parquet").read_bytes() == \
        (out2 / "features" / "ddim_inversion" / "train-00000.parquet").read_bytes()


def test_features_enter_the_hash_only_when_present(tmp_path, tiny_sd, tiny_vae):
    from toolkit.config.recipe import load_recipe

    data = base_recipe(tiny_sd, tiny_vae)
    feats = data.pop("features")
    h_none = load_recipe(write_recipe(tmp_path, data)).content_hash()
    h_null = load_recipe(write_recipe(tmp_path, {**data, "features": None})).content_hash()
    h_feat = load_recipe(write_recipe(tmp_path, {**data, "features": feats})).content_hash()
    h_steps = load_recipe(write_recipe(tmp_path, {**data, "features": [{**feats[0], "steps": 9}]})).content_hash()
    assert h_none == h_null and len({h_none, h_feat, h_steps}) == 3
    # the caption source is part of what is built
    row, cap, cap2 = ({**feats[0], "caption": "row"}, {**feats[0], "caption": "captioner"},
                      {**feats[0], "caption": "captioner", "caption_model": "x/y"})
    hashes = {load_recipe(write_recipe(tmp_path, {**data, "features": [f]})).content_hash() for f in (row, cap, cap2)}
    assert len(hashes) == 3


def test_caption_source_changes_the_hash_of_recipes_with_features():
    """Pinned: `caption:` came with a default (captioner) that differs from what the toolkit did before
    (the row's caption), so a recipe with features gets a new hash, and an existing build of it is
    refused on resume rather than finished with other prompts. Before: 2734f46a2a02cfcf."""
    from pathlib import Path

    from toolkit.config.recipe import load_recipe

    path = Path(__file__).resolve().parents[1] / "recipes" / "fakeinversion.yaml"
    r = load_recipe(path, ["reals.url_list=x.parquet"])
    assert r.content_hash() != "2734f46a2a02cfcf"


def test_bad_features_section_is_one_line(cli, tmp_path, tiny_sd, tiny_vae):
    for bad, needle in [([{"kind": "ddim_inverson"}], "did you mean 'ddim_inversion'"),
                        ([{"kind": "ddim_inversion", "stepz": 3}], "features[0].stepz: unknown key"),
                        ([{"kind": "ddim_inversion", "steps": 0}], "features[0].steps: must be at least 1"),
                        ([{"kind": "ddim_inversion", "caption": "blip"}],
                         "features[0].caption: must be captioner or row"),
                        ([{"kind": "ddim_inversion", "caption_model": " "}],
                         "features[0].caption_model: must be a non-empty"),
                        ({"kind": "ddim_inversion"}, "features: expected a list")]:
        code, _, err = cli("make", write_recipe(tmp_path, base_recipe(tiny_sd, tiny_vae, features=bad)),
                           "--out", tmp_path / "x", "--print-recipe")
        assert code == 2 and needle in err, err


def test_a_caption_model_that_cannot_load_is_one_line(tmp_path, tiny_sd):
    from toolkit.errors import ToolkitError
    from toolkit.features.ddim_inversion import get_feature_captioner

    cfg = DDIMInversionConfig(model=tiny_sd, caption_model=str(tmp_path / "nowhere"))
    with pytest.raises(ToolkitError, match=r"^features \(ddim_inversion\): cannot load caption_model '.*nowhere'"):
        get_feature_captioner(cfg, "cpu")
    assert get_feature_captioner(DDIMInversionConfig(model=tiny_sd, caption="row"), "cpu") is None


def test_fakeinversion_recipe_reads():
    from pathlib import Path

    from toolkit.config.recipe import load_recipe

    r = load_recipe(Path(__file__).resolve().parents[1] / "recipes" / "fakeinversion.yaml", ["reals.url_list=x.parquet"])
    assert r.features[0].kind == "ddim_inversion" and r.features[0].steps == 50 and not r.augment.ops
    assert r.features[0].caption == "captioner" and "blip2" in r.features[0].caption_model


def test_a_failing_inversion_drops_only_its_pair(cli, tmp_path, tiny_sd, tiny_vae, monkeypatch):
    """An image the inverter cannot process (here: any with the cat's caption) drops its whole pair as
    feature_error, counted; the batch it was in still gets its features."""
    real_call = DDIMInverter.__call__

    def flaky(self, images, captions):
        if any("cat" in (c or "") for c in captions):
            raise RuntimeError("simulated inversion failure")
        return real_call(self, images, captions)

    monkeypatch.setattr(DDIMInverter, "__call__", flaky)
    recipe = write_recipe(tmp_path, base_recipe(tiny_sd, tiny_vae, reals={"kind": "bundled", "count": 6}))
    out = tmp_path / "out"
    code, stdout, err = cli("make", recipe, "--out", out)
    assert code == 0, (stdout, err)
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["dropped"] == {"feature_error": 1} and summary["pairs"] == 5  # one chelsea crop in 6
    from toolkit.features.stage import read_features

    feats = read_features(str(out)).to_pylist()
    assert len(feats) == 10 and not any("cat" in f["caption_used"] for f in feats)
    assert cli("verify", out)[0] == 0
