"""Text-to-image fakes and the captioner, on a tiny SD pipeline and a tiny BLIP built in the test."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from invariants import check_alignment, load
from tiny_sd import build_tiny_blip, build_tiny_sd
from toolkit.errors import DropSample
from toolkit.generators.base import Fake
from toolkit.generators.text2image import Text2Image, Text2ImageConfig
from toolkit.config.recipe import Recipe
from toolkit.transforms.align import align, cover_crop

GEN = dict(dtype="float32", steps=2, height=64, width=64)


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory) -> str:
    return build_tiny_sd(tmp_path_factory.mktemp("sd") / "tiny-sd")


@pytest.fixture(scope="module")
def tiny_blip(tmp_path_factory) -> str:
    return build_tiny_blip(tmp_path_factory.mktemp("blip") / "tiny-blip")


def make(path, size=48, crop="center", seed=3, **kw) -> Text2Image:
    recipe = Recipe(name="t", reals={"kind": "bundled"}, seed=seed)
    recipe.image.size, recipe.image.crop = size, crop
    return Text2Image(Text2ImageConfig(model=path, **{**GEN, **kw}), recipe, "cpu")


def reals(n, h=48, w=48):
    return [np.full((h, w, 3), 40 * i, np.uint8) for i in range(n)]


CAPTIONS = ["a red car on a road", "a small bird", "the sea under a blue sky"]


def test_same_bytes_twice_and_noise_per_pair_not_per_batch(tiny_sd):
    g = make(tiny_sd, batch_size=3)
    a = g(reals(3), ["p0", "p1", "p2"], captions=CAPTIONS)
    b = make(tiny_sd, batch_size=3)(reals(3), ["p0", "p1", "p2"], captions=CAPTIONS)  # a fresh load
    assert all(isinstance(x, Fake) for x in a)
    assert all(np.array_equal(x.pixels, y.pixels) for x, y in zip(a, b))
    assert a[1].provenance == b[1].provenance
    # alone in a batch of one: the same noise (seeded per pair); float kernels may move a pixel by 1 step
    alone = make(tiny_sd, batch_size=1)([reals(3)[1]], ["p1"], captions=[CAPTIONS[1]])[0]
    assert alone.provenance["seed"] == a[1].provenance["seed"]
    diff = np.abs(alone.pixels.astype(int) - a[1].pixels.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99
    other = g([reals(1)[0]], ["another-pair"], captions=[CAPTIONS[1]])[0]  # another pair, other noise
    assert np.abs(other.pixels.astype(int) - alone.pixels.astype(int)).mean() > 5


def test_output_is_aligned_to_the_real_by_the_reals_geometry_code(tiny_sd):
    g = make(tiny_sd, size=48)
    raw = g._generate([CAPTIONS[0]], ["p0"])[0]  # 64 x 64 as generated
    assert raw.pixels.shape == (64, 64, 3)
    fit = g(reals(1), ["p0"], captions=[CAPTIONS[0]])[0]
    ref, _ = align(Image.fromarray(raw.pixels), size=48, resize_filter="lanczos", crop="center")
    assert fit.pixels.shape == (48, 48, 3) and np.array_equal(fit.pixels, ref)
    assert fit.provenance["fit"] == {"scaled_width": 48, "scaled_height": 48, "crop_box": [0, 0, 48, 48]}
    # native-size reals (image.size: null): covered and cut to the real's own, non-square size
    nat = make(tiny_sd, size=None)
    out = nat([np.zeros((40, 70, 3), np.uint8)], ["p0"], captions=[CAPTIONS[0]])[0]
    ref, info = cover_crop(Image.fromarray(raw.pixels), width=70, height=40, resize_filter="lanczos")
    assert out.pixels.shape == (40, 70, 3) and np.array_equal(out.pixels, ref)
    assert info["scaled_width"] == 70 and info["scaled_height"] == 70 and info["crop_box"] == [0, 15, 70, 55]


def test_cover_crop_random_uses_the_seeded_rng():
    img = Image.fromarray(np.arange(64 * 64 * 3, dtype=np.uint32).reshape(64, 64, 3).astype(np.uint8))
    a = cover_crop(img, width=30, height=10, crop="random", rng=np.random.default_rng(1))
    b = cover_crop(img, width=30, height=10, crop="random", rng=np.random.default_rng(1))
    assert np.array_equal(a[0], b[0]) and a[0].shape == (10, 30, 3)
    with pytest.raises(ValueError, match="rng"):
        cover_crop(img, width=30, height=10, crop="random")


def test_long_caption_is_truncated_and_recorded(tiny_sd):
    g = make(tiny_sd)
    long = "x " * 100  # one token per "x": 100 + BOS/EOS > 77
    out = g(reals(2), ["p0", "p1"], captions=[long, "a cat"])
    p_long, p_short = out[0].provenance, out[1].provenance
    assert p_long["truncated"] is True and p_long["prompt_tokens"] == 102 and p_long["prompt"] == long
    assert p_long["prompt_used"] == " ".join(["x"] * 75)  # BOS + 75 + EOS = the 77-token window
    assert p_short["truncated"] is False and "prompt_used" not in p_short
    assert g.counters["truncated_prompts"] == 1
    # what the encoder saw is exactly the recorded text: generating from it gives the same image
    again = g(reals(1), ["p0"], captions=[p_long["prompt_used"]])[0]
    assert np.array_equal(again.pixels, out[0].pixels)


def test_empty_caption_without_captioner_drops_the_pair_with_a_reason(tiny_sd):
    g = make(tiny_sd)
    out = g(reals(3), ["p0", "p1", "p2"], captions=[None, "  ", "a cat"])
    assert [type(o).__name__ for o in out] == ["DropSample", "DropSample", "Fake"]
    assert out[0].reason == "no_caption" and "captioner" in out[0].detail
    assert g.counters["no_caption"] == 2


def test_safety_checker_flagged_outputs_are_dropped_and_counted(tmp_path):
    flag_all = build_tiny_sd(tmp_path / "flag-all", safety_checker="flag_all")
    g = make(flag_all, safety_checker="on")
    out = g(reals(3), ["p0", "p1", "p2"], captions=CAPTIONS)
    assert all(isinstance(o, DropSample) and o.reason == "nsfw_filtered" for o in out)
    assert g.counters["nsfw_filtered"] == 3
    # the same model with the checker off keeps them all
    assert all(isinstance(o, Fake) for o in make(flag_all, safety_checker="off")(reals(3), ["p0", "p1", "p2"],
                                                                                   captions=CAPTIONS))
    # a checker that flags only the second image: exactly that pair goes, the others are untouched
    flag_none = build_tiny_sd(tmp_path / "flag-none", safety_checker="flag_none")
    g = make(flag_none, safety_checker="on")
    ref = g(reals(3), ["p0", "p1", "p2"], captions=CAPTIONS)
    assert all(isinstance(o, Fake) for o in ref)
    checker = g.pipe.safety_checker

    def flag_second(images, clip_input):
        images, _ = checker(images=images, clip_input=clip_input)
        images[1] = images[1] * 0  # what diffusers does to a flagged image
        return images, [i == 1 for i in range(len(images))]

    g.pipe.safety_checker = flag_second
    out = g(reals(3), ["p0", "p1", "p2"], captions=CAPTIONS)
    assert isinstance(out[1], DropSample) and out[1].reason == "nsfw_filtered"
    assert np.array_equal(out[0].pixels, ref[0].pixels) and np.array_equal(out[2].pixels, ref[2].pixels)
    assert g.counters["nsfw_filtered"] == 1


def test_safety_checker_on_needs_one(tiny_sd):
    with pytest.raises(ValueError, match="no safety_checker"):
        make(tiny_sd, safety_checker="on")


def test_schedulers_by_name(tiny_sd):
    for name, cls in [("ddim", "DDIMScheduler"), ("euler_a", "EulerAncestralDiscreteScheduler"),
                      ("dpmpp_2m", "DPMSolverMultistepScheduler")]:
        g = make(tiny_sd, scheduler=name)
        assert g.provenance()["scheduler_class"] == cls
        a = g(reals(1), ["p0"], captions=["a cat"])[0]
        assert np.array_equal(a.pixels, g(reals(1), ["p0"], captions=["a cat"])[0].pixels)  # ancestral too


def test_captioner_greedy_batched_and_deterministic(tiny_blip):
    from toolkit.captioner import Captioner, CaptionerConfig

    cap = Captioner(CaptionerConfig(model=tiny_blip, max_new_tokens=6, batch_size=4), "cpu")
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (48, 48, 3), dtype=np.uint8) for _ in range(3)]
    texts = cap(imgs)
    assert all(isinstance(t, str) and t for t in texts), texts
    assert cap(imgs) == texts and [cap([im])[0] for im in imgs] == texts
    assert Captioner(CaptionerConfig(model=tiny_blip, max_new_tokens=6), "cpu")(imgs) == texts


def test_blip2_captioner_by_model_type(tmp_path):
    from tiny_sd import build_tiny_blip2
    from toolkit.captioner import Captioner, CaptionerConfig

    path = build_tiny_blip2(tmp_path / "tiny-blip2")
    cap = Captioner(CaptionerConfig(model=path, max_new_tokens=5, batch_size=4), "cpu")
    assert cap.model_type == "blip-2" and type(cap.model).__name__ == "Blip2ForConditionalGeneration"
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (40, 40, 3), dtype=np.uint8) for _ in range(3)]
    texts = cap(imgs)
    assert all(texts) and [cap([im])[0] for im in imgs] == texts
    prompted = Captioner(CaptionerConfig(model=path, max_new_tokens=3, prompt="a photo of"), "cpu")(imgs[:1])[0]
    assert prompted.startswith("a photo of")  # conditional captioning keeps its prefix


def test_captioner_refuses_a_model_that_is_not_one(tmp_path, tiny_vae):
    from toolkit.captioner import CaptionerConfig, get_captioner
    from toolkit.errors import ToolkitError

    with pytest.raises(ToolkitError, match="captioner: cannot load model"):
        get_captioner(CaptionerConfig(model=str(tmp_path / "nowhere")), "cpu")


# --- end to end ---------------------------------------------------------------------------------


def write_recipe(tmp_path, data: dict) -> str:
    p = tmp_path / "recipe.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(p)


def base_recipe(tiny_sd, **over) -> dict:
    r = {
        "name": "t2i_test", "seed": 7,
        "reals": {"kind": "bundled", "count": 8},
        "image": {"size": 48, "min_size": 32},
        "fakes": [{"kind": "text2image", "model": tiny_sd, **GEN, "batch_size": 3}],
        "augment": {"ops": {"jpeg": {"p": 0.4, "quality": [70, 95]}, "webp": {"p": 0.3}}},
        "split": {"train": 0.75, "test": 0.25},
        "runner": {"shard_size": 4, "scheduler": "synchronous", "progress": False},
    }
    r.update(over)
    return r


def test_recipe_with_roundtrip_and_text2image_builds_aligned_pairs(cli, tmp_path, tiny_sd, tiny_vae):
    data = base_recipe(tiny_sd)
    data["fakes"].insert(0, {"kind": "vae_roundtrip", "model": tiny_vae, "subfolder": None, "batch_size": 4})
    recipe = write_recipe(tmp_path, data)
    out = tmp_path / "out"
    code, stdout, err = cli("make", recipe, "--out", out)
    assert code == 0, (stdout, err)
    dsd = load(out)
    pairs = check_alignment(dsd, generators=("vae_roundtrip", "text2image"))
    assert len(pairs) == 8 and sum(len(d) for d in dsd.values()) == 24
    formats = set()
    for rows in pairs.values():
        by = {r["source"]: r for r in rows}
        assert len({r["caption"] for r in rows}) == 1 and by["real"]["caption"]
        p = json.loads(by["text2image"]["provenance"])
        assert p["model"] == tiny_sd and p["prompt"] == by["real"]["caption"] and p["truncated"] is False
        assert p["steps"] == 2 and p["guidance_scale"] == 7.5 and isinstance(p["seed"], int)
        assert p["scheduler_class"] == "PNDMScheduler" and "revision" in p
        assert by["text2image"]["generator"] == tiny_sd
        assert json.loads(by["vae_roundtrip"]["provenance"])["latent"] == "sample"
        t2i = np.asarray(Image.open(io.BytesIO(by["text2image"]["image"]["bytes"])).convert("RGB"), np.float64)
        real = np.asarray(Image.open(io.BytesIO(by["real"]["image"]["bytes"])).convert("RGB"), np.float64)
        assert np.abs(t2i - real).mean() > 10  # drawn from the caption, not a copy of the real
        formats.add(rows[0]["format"])
    assert len(formats) >= 2  # the augmentation really ran, matched per pair
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert set(summary["generators"]) == {"vae_roundtrip", "text2image"} and summary["dropped"] == {}
    card = (out / "README.md").read_text()
    assert "- text2image" in card.split("---")[1] and "`text2image`: model" in card
    # a rebuild (another output) gives the same bytes
    out2 = tmp_path / "out2"
    assert cli("make", recipe, "--out", out2)[0] == 0
    for f in sorted((out / "data").glob("*.parquet")):
        assert pq.read_table(f).column("image").to_pylist() == \
            pq.read_table(out2 / "data" / f.name).column("image").to_pylist()


def test_captioner_fills_missing_captions_end_to_end(cli, tmp_path, tiny_sd, tiny_blip):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (40 + 4 * i, 56, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    (folder / "0.txt").write_text("a green field")  # one real brings its own caption
    data = base_recipe(tiny_sd, reals={"kind": "folder", "path": str(folder)},
                       captioner={"model": tiny_blip, "max_new_tokens": 5, "batch_size": 4})
    out = tmp_path / "out"
    code, stdout, err = cli("make", write_recipe(tmp_path, data), "--out", out)
    assert code == 0, (stdout, err)
    pairs = check_alignment(load(out), generators=("text2image",))
    assert len(pairs) == 6
    by_origin = {rows[0]["origin"].rsplit("/", 1)[-1]: {r["source"]: r for r in rows} for rows in pairs.values()}
    for name, by in by_origin.items():
        real, fake = by["real"], by["text2image"]
        assert real["caption"] and real["caption"] == fake["caption"] == json.loads(fake["provenance"])["prompt"]
        cap_by = [json.loads(r["provenance"]).get("caption_by") for r in (real, fake)]
        if name == "0.png":
            assert real["caption"] == "a green field" and cap_by == [None, None]
        else:
            assert cap_by == [{"model": tiny_blip, "revision": None}] * 2
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["captioner_counters"] == {"captioned": 5, "caption_empty": 0, "kept_source_caption": 1}
    assert "captioner (" in stdout and "were written by" in (out / "README.md").read_text()
    # without the captioner the uncaptioned pairs are dropped and counted, with the reason
    del data["captioner"]
    code, stdout, _ = cli("make", write_recipe(tmp_path, data), "--out", tmp_path / "nocap")
    assert code == 0
    summary = json.loads((tmp_path / "nocap" / "meta" / "summary.json").read_text())
    assert summary["dropped"] == {"no_caption": 5} and summary["pairs"] == 1
    assert "no_caption 5" in stdout


def test_captioner_config_enters_the_recipe_hash(tmp_path, tiny_sd):
    from toolkit.config.recipe import load_recipe

    path = write_recipe(tmp_path, base_recipe(tiny_sd))
    h0 = load_recipe(path).content_hash()
    h1 = load_recipe(path, ["captioner.model=x"]).content_hash()
    h2 = load_recipe(path, ["captioner.model=x", "captioner.mode=overwrite"]).content_hash()
    assert len({h0, h1, h2}) == 3


def test_safety_drops_end_to_end_are_counted_and_not_stored(cli, tmp_path):
    flag_all = build_tiny_sd(tmp_path / "flag-all", safety_checker="flag_all")
    data = base_recipe(flag_all)
    data["reals"]["count"] = 4
    data["fakes"][0]["safety_checker"] = "on"
    out = tmp_path / "out"
    code, stdout, _ = cli("make", write_recipe(tmp_path, data), "--out", out)
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["dropped"] == {"nsfw_filtered": 4} and summary["rows"] == 0
    assert summary["generator_counters"]["text2image"]["nsfw_filtered"] == 4
    assert not list((out / "data").glob("*.parquet")) if (out / "data").exists() else True
    assert "nsfw_filtered 4" in stdout


@pytest.mark.parametrize("override, expect", [
    ("fakes.0.scheduler=ddimm", "fakes[0].scheduler: unknown scheduler 'ddimm' (did you mean 'ddim'?)"),
    ("fakes.0.height=100", "fakes[0].height: must be a positive multiple of 8"),
    ("fakes.0.safety_checker=maybe", "fakes[0].safety_checker: must be off or on"),
    ("captioner.mode=sometimes", "captioner.mode: must be missing or overwrite"),
    ("captioner.modle=x", "captioner.modle: unknown key (did you mean"),
])
def test_bad_text2image_and_captioner_values_are_one_line(cli, tmp_path, tiny_sd, override, expect):
    code, _, err = cli("make", write_recipe(tmp_path, base_recipe(tiny_sd)), override, "--print-recipe")
    assert code == 2 and len(err.strip().splitlines()) == 1 and expect in err, err


def test_aligned_t2i_recipe_reads_with_both_fake_kinds():
    from conftest import ROOT
    from toolkit.config.recipe import load_recipe

    path = ROOT / "recipes" / "aligned_t2i.yaml"
    r = load_recipe(path, ["reals.url_list=x.parquet"])
    assert [f.kind for f in r.fakes] == ["vae_roundtrip", "text2image"]
    t2i = r.fakes[1]
    assert t2i.model == "stable-diffusion-v1-5/stable-diffusion-v1-5" and t2i.height == t2i.width == 512
    assert t2i.safety_checker == "off" and r.captioner.mode == "missing"  # YAML's bare off is not a bool here
    assert load_recipe(path, ["reals.url_list=x.parquet", "fakes.1.safety_checker=on"]).fakes[1].safety_checker == "on"
    only = load_recipe(path, ["reals.url_list=x.parquet", "fakes=[{kind: text2image}]"])
    assert only.content_hash() != r.content_hash()


def test_float16_on_cpu_is_refused_clearly(tiny_sd):
    with pytest.raises(ValueError, match="float16 needs a GPU"):
        make(tiny_sd, dtype="float16")
