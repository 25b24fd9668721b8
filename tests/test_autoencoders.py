"""The VAE round trip through each autoencoder family (AutoencoderKL with 4 and 16 latent channels,
VQModel, AutoencoderTiny), on tiny random models built here, saved with `save_pretrained` and loaded
by path through the same code as a hub id; and its pixels against an independent reference
computation that mirrors the alignment paper's code (AniSundar18/AlignedForensics,
training_code/recon/recon.py and execute.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from toolkit.generators.vae_roundtrip import VaeRoundtrip, VaeRoundtripConfig
from toolkit.config.recipe import Recipe
from toolkit.seeding import derive_seed

SEED = 3


def _kl(channels: int, **kw):
    from diffusers import AutoencoderKL

    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=channels,
                         down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                         block_out_channels=(8, 16, 16, 16), layers_per_block=1, norm_num_groups=8,
                         sample_size=64, **kw)


def _vq():
    """LDM-shaped: downsampling 4, a small codebook. Its codebook is spread like the encoder's output
    (the random init, uniform +-1/n, would put every latent on the same few entries)."""
    import torch
    from diffusers import VQModel

    vq = VQModel(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
                 up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(8, 16, 16), layers_per_block=1,
                 latent_channels=3, num_vq_embeddings=64, vq_embed_dim=3, norm_num_groups=8, sample_size=32)
    with torch.no_grad():
        vq.quantize.embedding.weight.normal_(0, 0.5)
    return vq


def _tiny():
    from diffusers import AutoencoderTiny

    return AutoencoderTiny(encoder_block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
                           num_encoder_blocks=(1, 1, 1, 1), num_decoder_blocks=(1, 1, 1, 1), latent_channels=4)


# family -> (subfolder it is saved in, builder, downsampling, latent channels)
FAMILIES = {
    "kl4": ("vae", lambda: _kl(4), 8, 4),  # SD 1.x/2.x/XL shape
    "kl16": ("vae", lambda: _kl(16, use_quant_conv=False, use_post_quant_conv=False,  # SD3/FLUX shape
                                scaling_factor=1.5305, shift_factor=0.0609), 8, 16),
    "vq": ("vqvae", _vq, 4, 3),  # CompVis/ldm-text2im-large-256's layout: the VQModel in vqvae/
    "tiny": ("vae", _tiny, 8, 4),  # TAESD
}
CLASS = {"kl4": "AutoencoderKL", "kl16": "AutoencoderKL", "vq": "VQModel", "tiny": "AutoencoderTiny"}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    """Each family saved as a pipeline-style folder (model in a subfolder); returns family -> folder."""
    import torch

    root = tmp_path_factory.mktemp("autoencoders")
    out = {}
    for fam, (sub, build, _, _) in FAMILIES.items():
        torch.manual_seed(0)
        build().eval().save_pretrained(root / fam / sub)
        out[fam] = str(root / fam)
    return out


def make(models, fam, **kw) -> VaeRoundtrip:
    kw.setdefault("latent", "sample" if fam.startswith("kl") else "mode")
    recipe = Recipe(name="t", reals={"kind": "bundled"}, seed=SEED)
    return VaeRoundtrip(VaeRoundtripConfig(model=models[fam], subfolder=FAMILIES[fam][0], **kw), recipe, "cpu")


def imgs(n, h, w, seed=0):
    """Smooth images with some texture: decoded values spread over the grey levels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    out = []
    for _ in range(n):
        a, b, c = rng.uniform(0.3, 1.0, 3)
        base = np.stack([a * x / w, b * y / h, c * (1 - x / w)], -1) * 200 + 20
        out.append(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8))
    return out


@pytest.mark.parametrize("fam", list(FAMILIES))
def test_family_from_config_shapes_provenance_and_same_bytes_twice(models, fam):
    g = make(models, fam)
    x = imgs(2, 37, 50) + imgs(1, 64, 64)
    out = g(x, ["a", "b", "c"])
    assert [o.shape for o in out] == [(37, 50, 3), (37, 50, 3), (64, 64, 3)]
    assert all(o.dtype == np.uint8 for o in out)
    again = make(models, fam)(x, ["a", "b", "c"])  # a fresh load: same bytes
    assert all(np.array_equal(a, b) for a, b in zip(out, again))
    p = g.provenance()
    assert p["class"] == CLASS[fam] and p["family_from"] == "config"
    assert p["downsampling"] == FAMILIES[fam][2] and p["latent_channels"] == FAMILIES[fam][3]
    assert p["quantize"] == "round" and len(p["weights_sha256"]) == 64
    if fam == "vq":
        assert p["vq_codebook_size"] == 64 and p["vq_embed_dim"] == 3 and "nearest codebook" in p["vq_decode"]
    else:
        assert p["latent_scaling"].startswith("not applied")
    if fam == "kl16":
        assert p["scaling_factor"] == pytest.approx(1.5305) and p["shift_factor"] == pytest.approx(0.0609)
    json.dumps(p)  # provenance lands in a JSON column


def test_kl_latent_sample_differs_from_mode_and_is_per_pair(models):
    for fam in ("kl4", "kl16"):
        x = imgs(2, 32, 32)
        s = make(models, fam, latent="sample")(x, ["p0", "p1"])
        m = make(models, fam, latent="mode")(x, ["p0", "p1"])
        assert not np.array_equal(s[0], m[0])
        other = make(models, fam, latent="sample")([x[0]], ["another"])[0]
        assert not np.array_equal(other, s[0])


@pytest.mark.parametrize("fam", ["vq", "tiny"])
def test_latent_sample_is_refused_without_a_posterior(models, fam, tmp_path):
    from toolkit.config.validation import ConfigError

    with pytest.raises(ConfigError, match=f"latent: {CLASS[fam]} has no posterior to sample from; use latent: mode"):
        make(models, fam, latent="sample")
    # named in the recipe: refused when the recipe is read, one line with the key path
    from toolkit.errors import RecipeError
    from toolkit.config.recipe import load_recipe

    p = tmp_path / "r.yaml"
    p.write_text(json.dumps({"name": "x", "reals": {"kind": "bundled"},
                             "fakes": [{"kind": "vae_roundtrip", "model": models[fam], "family": CLASS[fam]}]}))
    with pytest.raises(RecipeError, match=r"fakes\[0\]\.latent: .* no posterior"):
        load_recipe(p)
    # found in the model's config: refused at load, one line naming the fake
    from toolkit.errors import ToolkitError
    from toolkit.engine.pipeline import get_generators

    p.write_text(json.dumps({"name": "x", "reals": {"kind": "bundled"}, "runner": {"device": "cpu"},
                             "fakes": [{"kind": "vae_roundtrip", "model": models[fam],
                                        "subfolder": FAMILIES[fam][0]}]}))
    with pytest.raises(ToolkitError) as e:
        get_generators(load_recipe(p))
    assert str(e.value).startswith("fakes[0] (vae_roundtrip): cannot load model") and "no posterior" in str(e.value)
    assert "\n" not in str(e.value)


def test_family_override_and_unknown_classes(models, tmp_path):
    import shutil

    # a config without _class_name: refused with the way out, loaded once family: says it
    bare = tmp_path / "bare"
    shutil.copytree(Path(models["tiny"]) / "vae", bare)
    cfg = json.loads((bare / "config.json").read_text())
    cfg.pop("_class_name")
    (bare / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="no _class_name; set family:"):
        VaeRoundtrip(VaeRoundtripConfig(model=str(bare), subfolder=None, latent="mode"),
                     Recipe(name="t", reals={"kind": "bundled"}), "cpu")
    g = VaeRoundtrip(VaeRoundtripConfig(model=str(bare), subfolder=None, latent="mode", family="AutoencoderTiny"),
                     Recipe(name="t", reals={"kind": "bundled"}), "cpu")
    assert g.provenance()["class"] == "AutoencoderTiny" and g.provenance()["family_from"] == "recipe"
    ref = make(models, "tiny")(imgs(1, 32, 32), ["a"])[0]
    assert np.array_equal(g(imgs(1, 32, 32), ["a"])[0], ref)
    # a class the round trip does not know
    cfg["_class_name"] = "AsymmetricAutoencoderKL"
    (bare / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="names AsymmetricAutoencoderKL, not an autoencoder the round trip knows"):
        VaeRoundtrip(VaeRoundtripConfig(model=str(bare), subfolder=None, latent="mode"),
                     Recipe(name="t", reals={"kind": "bundled"}), "cpu")
    with pytest.raises(ValueError, match="family: unknown autoencoder class 'VQ'"):
        VaeRoundtripConfig(family="VQ")


def test_vq_decode_snaps_to_the_codebook(models):
    """The VQ round trip quantises (VQModel.decode's default, as LDM pipelines and recon.py decode): its
    output is the decode of codebook entries, not of the raw encoder output."""
    import torch

    g = make(models, "vq", quantize="floor", channels_last=False)
    x = imgs(1, 32, 32)
    ours = g(x, ["a"])[0]
    t = torch.from_numpy(x[0]).permute(2, 0, 1)[None].float().div(255) * 2 - 1
    with torch.no_grad():
        h = g.vae.encode(t).latents
        raw = g.vae.decode(h, force_not_quantize=True).sample
    raw = np.floor(((raw / 2 + 0.5).clamp(0, 1) * 255)[0].permute(1, 2, 0).numpy()).astype(np.uint8)
    assert not np.array_equal(ours, raw)


# --- pixel equivalence with the paper's code ---------------------------------------------------------


def reference_recon(model_dir: str, subfolder: str, images: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """recon.py's reconstruct_simple and execute.py's save path, written out with plain diffusers/torch:

    - execute.py:54-56: `transforms.ToTensor()`: uint8 HWC -> float CHW / 255 (contiguous; the
      DataLoader stacks a batch, NCHW);
    - recon.py:24-27: the autoencoder object itself (there: `DiffusionPipeline...(ldm).vqvae`);
    - recon.py:13: `generator = torch.Generator().manual_seed(seed)`, one per batch;
    - recon.py:14: `x.to(dtype=ae.dtype) * 2.0 - 1.0`;
    - recon.py:15: `retrieve_latents(ae.encode(x), generator=generator)`: KL -> `latent_dist.sample(generator)`,
      VQ / Tiny -> `.latents`;
    - recon.py:17-19: `ae.decode(latents.to(decode_dtype), return_dict=False)[0]`;
    - recon.py:20: `(reconstructions / 2 + 0.5).clamp(0, 1)`;
    - execute.py:42: `transforms.ToPILImage()(tensor)`, which for a float tensor is `pic.mul(255).byte()`
      (torchvision.transforms.functional.to_pil_image): truncation;
    - execute.py:40,46: saved as PNG (lossless: these bytes are the fake)."""
    import torch
    from diffusers import AutoModel
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img import retrieve_latents

    ae = AutoModel.from_pretrained(model_dir, subfolder=subfolder).eval()
    x = torch.stack([torch.from_numpy(a.transpose(2, 0, 1)).contiguous().to(torch.float32).div(255) for a in images])
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        x = x.to(dtype=ae.dtype) * 2.0 - 1.0
        latents = retrieve_latents(ae.encode(x), generator=generator)
        rec = ae.decode(latents.to(ae.dtype), return_dict=False)[0]
        rec = (rec / 2 + 0.5).clamp(0, 1)
    return [t.mul(255).byte().permute(1, 2, 0).numpy() for t in rec]


@pytest.mark.parametrize("fam", list(FAMILIES))
def test_floor_equals_the_papers_computation(models, fam):
    """`quantize: floor`, `channels_last: false` (NCHW, as ToTensor batches are) and the same noise: the
    generator's bytes are the reference's. KL draws its noise per pair (seeded by (seed, pair_id, name)),
    the reference per batch from one generator: one image per batch makes them the same noise."""
    x = imgs(3, 32, 48, seed=1)
    pids = ["p0", "p1", "p2"]
    if fam.startswith("kl"):
        g = make(models, fam, latent="sample", quantize="floor", channels_last=False, batch_size=1)
        ours = g(x, pids)
        ref = [reference_recon(models[fam], FAMILIES[fam][0], [a], derive_seed(SEED, pid, g.name))[0]
               for a, pid in zip(x, pids)]
    else:  # no noise at all: the whole batch at once, as the reference's DataLoader does
        g = make(models, fam, latent="mode", quantize="floor", channels_last=False, batch_size=3)
        ours = g(x, pids)
        ref = reference_recon(models[fam], FAMILIES[fam][0], x, seed=42)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape == (32, 48, 3)
        assert np.array_equal(a, b), f"{fam}: {(a != b).sum()} values differ, max {np.abs(a.astype(int) - b).max()}"


def test_floor_is_half_a_grey_level_darker_than_round(models):
    """The DC bias of truncation: every value is round's or one less, the mean ~0.5 lower."""
    x = imgs(4, 64, 64, seed=2)
    pids = ["a", "b", "c", "d"]
    r = np.stack(make(models, "kl4", quantize="round")(x, pids)).astype(int)
    f = np.stack(make(models, "kl4", quantize="floor")(x, pids)).astype(int)
    d = r - f
    assert set(np.unique(d)) <= {0, 1}
    print("mean(round) - mean(floor):", d.mean())
    assert 0.4 < d.mean() < 0.6
    assert make(models, "kl4", quantize="floor").provenance()["quantize"] == "floor"


def test_default_layout_matches_the_reference_to_one_level(models):
    """With `channels_last: null` on a CPU, the batch keeps the layout of the permuted uint8 array (NHWC
    strides, the toolkit's layout since the start and faster here), so the convolutions take another
    kernel than the reference's NCHW: float noise, a rare value one level off."""
    x = imgs(3, 32, 48, seed=1)
    g = make(models, "vq", quantize="floor", batch_size=3)
    ours = np.stack(g(x, ["p0", "p1", "p2"])).astype(int)
    ref = np.stack(reference_recon(models["vq"], "vqvae", x, seed=42)).astype(int)
    assert np.abs(ours - ref).max() <= 1 and (ours != ref).mean() < 0.01


def test_new_fields_enter_the_hash_only_when_not_neutral(tmp_path):
    from toolkit.config.recipe import load_recipe

    demo = Path(__file__).resolve().parents[1] / "recipes" / "demo.yaml"
    old_png = ["store.png_compress_level=6"]  # the PNG default before issue 18
    base = load_recipe(demo, old_png)
    assert base.content_hash() == "a891c941720834fc"  # as before quantize / family existed
    assert load_recipe(demo, old_png + ["fakes.0.quantize=round"]).content_hash() == base.content_hash()
    floor = load_recipe(demo, old_png + ["fakes.0.quantize=floor"])
    fam = load_recipe(demo, old_png + ["fakes.0.family=AutoencoderKL"])
    assert len({base.content_hash(), floor.content_hash(), fam.content_hash()}) == 3
    assert "quantize: round" in base.to_yaml() and "quantize: floor" in floor.to_yaml()  # recipe.yaml says all
    cfg = base.fakes[0]
    cfg.quantize = "floor"  # changed after construction: the hash follows
    assert base.content_hash() == floor.content_hash()
