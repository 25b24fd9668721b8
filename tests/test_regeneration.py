"""Regeneration (img2img) and inpainting fakes, with masks as data: tiny diffusers pipelines built here
(an SD pipeline for img2img, an inpainting pipeline with a 9-channel UNet), no downloads.

The builds are tiny (48 px reals, 64 px generation, 2 steps) and share module-scoped outputs: one with
matched augmentation (resize included, which the masks must follow), its rebuild (same bytes), one
without augmentation (pixel checks: outside the mask the fake is the real), one with drops."""

from __future__ import annotations

import hashlib
import io
import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from invariants import check_alignment, load
from tiny_sd import build_tiny_sd, build_tiny_sd_inpaint
from tiny_segment import LABELS, build_tiny_segformer
from toolkit.errors import DropSample
from toolkit.card.figures import psnr
from toolkit.config.registry import load_builtins
from toolkit.transforms import masks

load_builtins()

GEN = dict(dtype="float32", steps=2, height=64, width=64, batch_size=4)
KINDS = ("img2img", "inpaint_full", "inpaint_box", "inpaint_brush", "inpaint_object")
OBJECT = dict(object_area=[0.02, 0.9], mask_blur=2.0)  # random-weight segments: wide area range; soft edges


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory) -> str:
    return build_tiny_sd(tmp_path_factory.mktemp("sd") / "tiny-sd")


@pytest.fixture(scope="module")
def tiny_inpaint(tmp_path_factory) -> str:
    return build_tiny_sd_inpaint(tmp_path_factory.mktemp("inpaint") / "tiny-inpaint")


@pytest.fixture(scope="module")
def tiny_seg(tmp_path_factory) -> str:
    return build_tiny_segformer(tmp_path_factory.mktemp("seg") / "tiny-segformer")


def fakes(tiny_sd, tiny_inpaint, tiny_seg) -> list[dict]:
    return [
        {"kind": "img2img", "model": tiny_sd, "strength": 0.5, **GEN},
        {"kind": "inpaint", "name": "inpaint_full", "model": tiny_inpaint, "mask": "empty", **GEN},
        {"kind": "inpaint", "name": "inpaint_box", "model": tiny_inpaint, "mask": "rectangle",
         "restore_background": True, **GEN},
        {"kind": "inpaint", "name": "inpaint_brush", "model": tiny_inpaint, "mask": "brush", **GEN},
        {"kind": "inpaint", "name": "inpaint_object", "model": tiny_inpaint, "mask": "object", "segmenter": tiny_seg,
         **OBJECT, **GEN},
    ]


def recipe(tiny_sd, tiny_inpaint, tiny_seg, **over) -> dict:
    r = {"name": "regen_test", "seed": 5, "reals": {"kind": "bundled", "count": 6},
         "image": {"size": 48, "min_size": 32}, "fakes": fakes(tiny_sd, tiny_inpaint, tiny_seg),
         "augment": {"ops": {"resize": {"p": 0.5, "scale": [0.6, 0.9]}, "blur": {"p": 0.3},
                             "jpeg": {"p": 0.4, "quality": [70, 95]}, "webp": {"p": 0.3}}},
         "split": {"train": 0.5, "test": 0.5},
         "runner": {"shard_size": 3, "scheduler": "synchronous", "progress": False, "device": "cpu"}}
    r.update(over)
    return r


def write_recipe(folder, data: dict) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "recipe.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(p)


def build(tmp, name: str, data: dict) -> str:
    from toolkit.cli import main

    out = tmp / name
    assert main(["make", write_recipe(tmp / f"{name}_recipe", data), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def augmented(tmp_path_factory, tiny_sd, tiny_inpaint, tiny_seg):
    return build(tmp_path_factory.mktemp("regen"), "aug", recipe(tiny_sd, tiny_inpaint, tiny_seg))


@pytest.fixture(scope="module")
def plain(tmp_path_factory, tiny_sd, tiny_inpaint, tiny_seg):
    return build(tmp_path_factory.mktemp("regen"), "plain", recipe(tiny_sd, tiny_inpaint, tiny_seg, augment={"ops": {}}))


def rows_of(out) -> list[dict]:
    return [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def pixels(data: bytes, mode: str = "RGB") -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert(mode))


# --- masks and configs --------------------------------------------------------------------------


def test_masks_are_seeded_drawn_at_the_pair_size_and_recorded():
    from toolkit.seeding import rng_for

    for draw in (masks.rectangle, masks.brush):
        a, ia = draw(70, 40, rng_for(1, "p0", "inpaint", "mask"))
        b, ib = draw(70, 40, rng_for(1, "p0", "inpaint", "mask"))
        assert a.shape == (40, 70) and a.dtype == np.uint8 and set(np.unique(a)) <= {0, 255}
        assert np.array_equal(a, b) and ia == ib and 0 < ia["mask_fraction"] == (a > 0).mean().round(6)
        json.dumps(ia)
    box, info = masks.rectangle(70, 40, rng_for(1, "p1"), area=(0.2, 0.2), aspect=(1.0, 1.0))
    x0, y0, x1, y1 = info["box"]
    assert (box[y0:y1, x0:x1] == 255).all() and (box > 0).sum() == (x1 - x0) * (y1 - y0) == 24 * 24
    with pytest.raises(DropSample) as e:  # a box rounded to nothing on a tiny image
        masks.rectangle(20, 20, rng_for(1, "p1"), area=(1e-4, 1e-4))
    assert e.value.reason == "mask_degenerate"


def test_feathered_blend_keeps_the_outside_exact_and_softens_only_inside():
    mask = np.zeros((60, 80), np.uint8)
    mask[5:55, 5:75] = 255
    mask[40:44, 60:66] = 0  # a hole: its border feathers too
    alpha = masks.feather(mask, 2.0)
    assert alpha.dtype == np.float32 and (alpha[mask == 0] == 0).all() and alpha[mask > 0].min() >= 0
    assert alpha[5, 30] < 0.5 and alpha[6, 30] < 1 and alpha[41, 59] < 1  # at the border and next to the hole
    assert alpha[20:30, 20:40].min() == 1.0  # deep inside: exactly the generated pixels
    assert np.abs(np.diff(alpha, axis=1)).max() < 0.6  # no hard step anywhere (hard mask: steps of 1)
    assert np.array_equal(masks.feather(mask, 0), (mask > 0).astype(np.float32))
    rng = np.random.default_rng(0)
    gen, real = (rng.integers(0, 256, (60, 80, 3), dtype=np.uint8) for _ in range(2))
    soft, hard = masks.blend(gen, real, mask, 2.0), masks.blend(gen, real, mask)
    assert np.array_equal(soft[mask == 0], real[mask == 0]) and np.array_equal(hard[mask == 0], real[mask == 0])
    assert np.array_equal(hard[mask > 0], gen[mask > 0])
    a = alpha[..., None]
    assert np.abs(soft - (a * gen + (1 - a) * real)).max() <= 0.5 + 1e-4  # rounded, nothing else


def test_object_masks_are_one_segment_chosen_by_the_pair_seed(tiny_seg):
    from toolkit.seeding import rng_for
    from toolkit.transforms.segment import Segmenter, choose_object

    seg = Segmenter(tiny_seg)
    assert seg.kind == "semantic" and seg.id2label == LABELS
    real = np.random.default_rng(3).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    segments = seg.segments(real)
    assert segments and all(s.mask.shape == (40, 56) for s in segments)
    cover = np.sum([s.mask for s in segments], axis=0)
    assert (cover == 1).all()  # the connected regions of a semantic map tile the image exactly
    picks = set()
    for pid in ("p0", "p1", "p2", "p3", "p4", "p5"):
        mask, info = choose_object(segments, rng_for(1, pid, "inpaint", "mask"), area=(0.01, 0.9))
        again, info2 = choose_object(seg.segments(real), rng_for(1, pid, "inpaint", "mask"), area=(0.01, 0.9))
        assert np.array_equal(mask, again) and info == info2  # the segmentation and the choice are deterministic
        assert mask.shape == (40, 56) and mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
        same = [s for s in segments if np.array_equal(s.mask, mask > 0)]
        assert len(same) == 1 and same[0].label_id == info["object_label_id"] and same[0].label == info["object_label"]
        assert 0.01 <= info["object_area"] == info["mask_fraction"] == round(float((mask > 0).mean()), 6) <= 0.9
        json.dumps(info)
        picks.add(info["object_label_id"] * 10000 + same[0].first_pixel)
    assert len(picks) > 1  # different pairs pick different objects
    dog = seg.label_ids(["DOG"])
    assert dog == {2} and seg.label_ids([2, "cat"]) == {1, 2}
    mask, info = choose_object(segments, rng_for(1, "p0"), area=(1e-6, 1.0), label_ids=dog)
    assert info["object_label"] == "dog"
    with pytest.raises(DropSample) as e:
        choose_object(segments, rng_for(1, "p0"), area=(0.999, 1.0))
    assert e.value.reason == "mask_no_object" and "no segment with an area fraction in [0.999, 1]" in str(e.value)
    with pytest.raises(ValueError, match="object_labels: 'unicorn' is not a label of"):
        seg.label_ids(["unicorn"])


def test_object_masks_from_a_panoptic_model(tmp_path):
    from tiny_segment import build_tiny_mask2former
    from toolkit.seeding import rng_for
    from toolkit.transforms.segment import Segmenter, choose_object

    seg = Segmenter(build_tiny_mask2former(tmp_path / "m2f"))
    assert seg.kind == "panoptic"  # AutoModelForUniversalSegmentation, post_process_panoptic_segmentation
    real = np.random.default_rng(3).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    (segment,) = seg.segments(real)
    assert segment.label == "cat" and segment.mask.shape == (40, 56) and segment.mask.any()
    mask, info = choose_object([segment], rng_for(1, "p0"), area=(0.01, 1.0), label_ids=seg.label_ids(["cat"]))
    assert np.array_equal(mask > 0, segment.mask) and info["object_label"] == "cat"


@pytest.mark.parametrize("section, expect", [
    ({"kind": "inpaint", "mask": "rectangel"}, "mask: must be empty, rectangle, brush or object"),
    ({"kind": "inpaint", "mask": "rectangle", "restore_background": False, "mask_blur": 2}, "mask_blur: feathers"),
    ({"kind": "inpaint", "mask": "object", "object_labels": []}, "object_labels: expected a non-empty list"),
    ({"kind": "inpaint", "mask": "object", "object_area": [0, 0.5]}, "object_area:"),
    ({"kind": "inpaint", "mask": "empty", "restore_background": True}, "restore_background: mask: empty"),
    ({"kind": "inpaint", "area": [0.5, 0.2]}, "area: expected [low, high]"),
    ({"kind": "img2img", "strength": 0}, "strength: must be greater than 0"),
    ({"kind": "img2img", "strength": 0.1, "steps": 5}, "strength: steps x strength must give at least one"),
    ({"kind": "img2img", "scheduler": "eulr"}, "scheduler: unknown scheduler 'eulr'"),
])
def test_bad_values_are_one_line(section, expect):
    from toolkit.errors import RecipeError
    from toolkit.config.recipe import validate

    with pytest.raises(RecipeError, match="fakes\\[0\\]") as e:
        validate({"name": "x", "reals": {"kind": "bundled"}, "fakes": [{**section, "dtype": "float32"}]})
    assert expect in str(e.value) and "\n" not in str(e.value)


def test_mask_column_only_with_a_generator_that_makes_masks(tiny_sd, tiny_inpaint):
    from toolkit.config.recipe import validate

    def makes(fakes):
        return validate({"name": "x", "reals": {"kind": "bundled"}, "fakes": fakes}).makes_masks()

    assert not makes([{"kind": "img2img"}, {"kind": "inpaint", "mask": "empty"}, {"kind": "identity"}])
    assert makes([{"kind": "identity"}, {"kind": "inpaint", "mask": "brush"}])


def test_generators_geometry_prompts_and_refusals(tiny_sd, tiny_inpaint):
    from toolkit.generators.img2img import Img2Img, Img2ImgConfig
    from toolkit.generators.inpaint import Inpaint, InpaintConfig
    from toolkit.config.recipe import Recipe

    r = Recipe(name="t", reals={"kind": "bundled"}, seed=3)
    r.image.size = None  # native geometry: a non-square real, generated at its aspect ratio
    real = np.random.default_rng(0).integers(0, 256, (40, 72, 3), dtype=np.uint8)
    g = Img2Img(Img2ImgConfig(model=tiny_sd, **GEN), r, "cpu")
    out = g([real, real], ["p0", "p1"], captions=["a cat", None])
    assert out[0].pixels.shape == real.shape and out[0].mask is None
    assert (out[0].provenance["gen_width"], out[0].provenance["gen_height"]) == (88, 48)  # 72:40 at ~64x64
    assert isinstance(out[1], DropSample) and out[1].reason == "no_caption" and g.counters["no_caption"] == 1
    again = Img2Img(Img2ImgConfig(model=tiny_sd, **GEN), r, "cpu")([real], ["p0"], captions=["a cat"])[0]
    assert np.array_equal(again.pixels, out[0].pixels)  # a fresh load, the same bytes
    fixed = Img2Img(Img2ImgConfig(model=tiny_sd, prompt="", **GEN), r, "cpu")([real], ["p1"], captions=[None])[0]
    assert fixed.provenance["prompt"] == "" and fixed.pixels.shape == real.shape
    box = Inpaint(InpaintConfig(model=tiny_inpaint, mask="rectangle", **GEN), r, "cpu")([real], ["p0"], ["a cat"])[0]
    assert box.mask.shape == (40, 72) and box.provenance["mask"] == "rectangle" and "box" in box.provenance
    outside = box.mask == 0
    assert np.array_equal(box.pixels[outside], real[outside]) and not np.array_equal(box.pixels, real)
    with pytest.raises(ValueError, match="9 input channels"):  # B-Free's trick needs an inpainting UNet
        Inpaint(InpaintConfig(model=tiny_sd, mask="empty", **GEN), r, "cpu")


# --- builds ---------------------------------------------------------------------------------------


def test_augmented_build_is_aligned_and_masks_follow_the_geometry(cli, augmented):
    dsd = load(augmented)
    pairs = check_alignment(dsd, generators=KINDS)  # same size, format, augment record, codec tables
    assert len(pairs) == 6
    resized = 0
    for rows in pairs.values():
        by = {r["source"]: r for r in rows}
        assert len({r["augment"] for r in rows}) == 1
        resized += '"resize"' in by["real"]["augment"]
        assert by["real"]["mask"] is None
        for k in KINDS:
            m = pixels(by[k]["mask"]["bytes"], "L")
            assert m.shape == (by[k]["height"], by[k]["width"]) and set(np.unique(m)) <= {0, 255}
            prov = json.loads(by[k]["provenance"])
            assert isinstance(prov["seed"], int) and prov["prompt"] == by["real"]["caption"]
            assert prov["strength"] == (0.5 if k == "img2img" else 1.0)
        for k in ("img2img", "inpaint_full"):  # full regenerations: every pixel generated
            assert (pixels(by[k]["mask"]["bytes"], "L") == 255).all()
        prov = json.loads(by["inpaint_box"]["provenance"])
        assert prov["mask"] == "rectangle" and len(prov["box"]) == 4 and prov["restore_background"] is True
        assert json.loads(by["inpaint_brush"]["provenance"])["strokes"]
        prov = json.loads(by["inpaint_object"]["provenance"])
        assert LABELS[prov["object_label_id"]] == prov["object_label"] and 0.02 <= prov["object_area"] <= 0.9
        assert prov["mask_params"]["segmenter_kind"] == "semantic" and prov["mask_blur"] == 2.0
    assert resized  # the resize op ran on some pairs, and their masks followed it
    code, report, _ = cli("verify", augmented)
    assert code == 0 and "OK" in report, report
    card = (augmented / "README.md").read_text()
    assert "name: mask" in card.split("---")[1] and "`mask` (Image" in card
    assert cli("card", augmented)[0] == 0  # validate_card with the mask column declared


def test_rebuild_gives_the_same_bytes(tmp_path, tiny_sd, tiny_inpaint, tiny_seg, augmented):
    import toolkit.models

    toolkit.models.WORKER_MODELS.clear()  # the models loaded afresh, as in another process
    again = build(tmp_path, "again", recipe(tiny_sd, tiny_inpaint, tiny_seg))
    files = sorted(p.name for p in (augmented / "data").glob("*.parquet"))
    assert files and files == sorted(p.name for p in (again / "data").glob("*.parquet"))
    for name in files:
        assert (augmented / "data" / name).read_bytes() == (again / "data" / name).read_bytes()


def test_load_dataset_returns_the_mask_column_with_the_exact_bytes(augmented):
    import datasets

    dsd = datasets.load_dataset(str(augmented))
    assert isinstance(dsd["train"].features["mask"], datasets.Image)
    stored = {(r["pair_id"], r["source"]): r["mask"] for r in rows_of(augmented)}
    for split, ds in dsd.items():
        raw = ds.cast_column("mask", datasets.Image(decode=False))
        for row in raw:
            want = stored[(row["pair_id"], row["source"])]
            assert (row["mask"] is None) if want is None else row["mask"]["bytes"] == want["bytes"]
    decoded = next(r for r in dsd["test"] if r["source"] == "inpaint_box")["mask"]
    assert decoded.mode == "L"


def test_outside_the_mask_the_fake_is_the_real_and_psnr_per_kind(plain, tiny_seg, capsys):
    from toolkit.transforms.segment import Segmenter

    segmenter = Segmenter(tiny_seg)
    pairs = check_alignment(load(plain), generators=KINDS)
    scores: dict[str, list[float]] = {k: [] for k in KINDS}
    for rows in pairs.values():
        by = {r["source"]: r for r in rows}
        assert all(r["format"] == "png" for r in rows)  # no augmentation: the stored real is the aligned real
        real = pixels(by["real"]["image"]["bytes"])
        for k in KINDS:
            fake = pixels(by[k]["image"]["bytes"])
            assert fake.shape == real.shape
            scores[k].append(psnr(real, fake))
        box = pixels(by["inpaint_box"]["image"]["bytes"])
        inside = pixels(by["inpaint_box"]["mask"]["bytes"], "L") > 0
        assert 0 < inside.mean() < 1 and np.array_equal(box[~inside], real[~inside])
        assert not np.array_equal(box[inside], real[inside])  # the box was regenerated
        brush = pixels(by["inpaint_brush"]["image"]["bytes"])
        inside = pixels(by["inpaint_brush"]["mask"]["bytes"], "L") > 0
        assert np.array_equal(brush[~inside], real[~inside])  # restore_background: null = true
        obj = pixels(by["inpaint_object"]["image"]["bytes"])
        inside = pixels(by["inpaint_object"]["mask"]["bytes"], "L") > 0
        assert np.array_equal(obj[~inside], real[~inside])  # feathered inwards: outside still the real's
        segments = segmenter.segments(real)  # the stored mask is one segment of the real, as recorded
        prov = json.loads(by["inpaint_object"]["provenance"])
        (same,) = [sg for sg in segments if np.array_equal(sg.mask, inside)]
        assert same.label_id == prov["object_label_id"]
        gen = np.abs(obj.astype(int) - real.astype(int)).sum(-1) > 0
        assert gen[inside].mean() > 0.5  # inpainted (random weights: noise), blended near the border
    mean = {k: round(float(np.mean(v)), 2) for k, v in scores.items()}
    with capsys.disabled():
        print(f"\nPSNR fake vs real (dB, mean over {len(pairs)} pairs, random tiny weights): {mean}")
    assert mean["inpaint_box"] > mean["img2img"] and mean["inpaint_brush"] > mean["inpaint_full"]


def test_verify_catches_a_mask_of_the_wrong_size_and_a_missing_column(cli, augmented, tmp_path):
    from toolkit.store.parquet import parquet_bytes

    def tamper(name, edit, masks):
        ds = tmp_path / name
        shutil.copytree(augmented, ds)
        marker_path = sorted((ds / "meta" / "shards").glob("*.json"))[0]
        marker = json.loads(marker_path.read_text())
        rows = pq.read_table(ds / marker["file"]).to_pylist()
        victim = edit(rows)
        blob = parquet_bytes(rows, masks=masks)
        (ds / marker["file"]).write_bytes(blob)
        marker["sha256"] = hashlib.sha256(blob).hexdigest()
        marker_path.write_text(json.dumps(marker))
        code, report, _ = cli("verify", ds)
        assert code == 1
        return victim, report

    def shrink(rows):
        victim = next(r for r in rows if r["source"] == "inpaint_box")
        m = Image.open(io.BytesIO(victim["mask"]["bytes"]))
        buf = io.BytesIO()
        m.resize((m.width - 1, m.height), Image.Resampling.NEAREST).save(buf, "PNG")
        victim["mask"]["bytes"] = buf.getvalue()
        return victim

    victim, report = tamper("small", shrink, masks=True)
    w, h = victim["width"], victim["height"]
    assert f"pair {victim['pair_id']}: inpaint_box mask is {w - 1}x{h} but the image is {w}x{h}" in report
    _, report = tamper("nocolumn", lambda rows: None, masks=False)
    assert "lacks the mask column" in report


def test_drops_are_counted_under_their_reasons(cli, tmp_path, tiny_sd, tiny_inpaint, tiny_seg):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for name, (h, w), caption in [("a", (64, 96), "a red car"), ("b", (48, 48), "a bird"), ("c", (48, 48), None),
                                  ("d", (40, 56), None)]:
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{name}.png")
        if caption:
            (folder / f"{name}.txt").write_text(caption)
    data = recipe(tiny_sd, tiny_inpaint, tiny_seg, reals={"kind": "folder", "path": str(folder)},
                  image={"size": None, "min_size": 32}, augment={"ops": {}})
    data["fakes"] = [data["fakes"][0], {**data["fakes"][2], "area": [1e-4, 1e-4], "aspect": [1.0, 1.0]}]
    out = build(tmp_path, "drops", data)
    summary = json.loads((out / "meta" / "summary.json").read_text())
    # c, d: no caption (img2img prompts with it); b: a 1e-4 box on 48x48 rounds to 0 px; a keeps 1 px
    assert summary["dropped"] == {"no_caption": 2, "mask_degenerate": 1} and summary["pairs"] == 1
    assert summary["generator_counters"]["inpaint_box"]["mask_degenerate"] == 1
    (row,) = [r for r in rows_of(out) if r["source"] == "inpaint_box"]
    assert (row["width"], row["height"]) == (96, 64) and json.loads(row["provenance"])["mask_fraction"] > 0
    assert cli("verify", out)[0] == 0


def test_full_regenerations_alone_keep_todays_schema(tmp_path, tiny_sd, tiny_inpaint, tiny_seg):
    from toolkit.sample import COLUMNS

    data = recipe(tiny_sd, tiny_inpaint, tiny_seg, augment={"ops": {}}, reals={"kind": "bundled", "count": 2})
    data["fakes"] = data["fakes"][:2]  # img2img + inpaint with the empty mask: no mask column
    out = build(tmp_path, "full", data)
    for f in (out / "data").glob("*.parquet"):
        assert pq.read_schema(f).names == list(COLUMNS)
    assert "name: mask" not in (out / "README.md").read_text().split("---")[1]


def test_inspect_page_shows_the_masks(augmented, tmp_path):
    from toolkit.card.inspect_page import write_inspect
    from toolkit.store.atomic import AtomicFolder

    info = write_inspect(AtomicFolder(str(augmented)), tmp_path / "page", max_pairs=4)
    page = (tmp_path / "page" / "index.html").read_text()
    shown = sorted(p.name for p in (tmp_path / "page" / "img").glob("*_mask.png"))
    assert len(shown) == 4 * len(KINDS) and "generated</figcaption>" in page and info["pairs"] == 4


def test_regeneration_recipe_reads():
    from conftest import ROOT
    from toolkit.config.recipe import load_recipe

    r = load_recipe(ROOT / "recipes" / "regeneration.yaml", ["reals.url_list=x.parquet"])
    assert [(f.kind, f.mask) for f in r.fakes] == [("inpaint", "empty"), ("inpaint", "rectangle")]
    assert r.fakes[1].restores and r.makes_masks() and r.augment.matched


def test_webdataset_export_carries_the_masks(plain, tmp_path):
    """`toolkit export --format webdataset`: `.mask.png` beside each image (the stored bytes; reals, whose
    mask is null, an all-zero one), loadable by datasets' webdataset builder (plain: PNG only)."""
    import datasets

    from toolkit.cli import main

    dest = tmp_path / "wds"
    assert main(["export", str(plain), "--format", "webdataset", "--to", str(dest)]) == 0
    files = {s: sorted(str(p) for p in dest.glob(f"{s}-*.tar")) for s in ("train", "test")}
    dsd = datasets.load_dataset("webdataset", data_files={k: v for k, v in files.items() if v})
    stored = {(r["pair_id"], r["source"]): r for r in rows_of(plain)}
    n = 0
    for ds in dsd.values():
        for row in ds.cast_column("mask.png", datasets.Image(decode=False)).cast_column(
                "png", datasets.Image(decode=False)):
            want = stored[(row["json"]["pair_id"], row["json"]["source"])]
            assert row["png"]["bytes"] == want["image"]["bytes"]
            if want["mask"] is None:
                assert not pixels(row["mask.png"]["bytes"], "L").any()
                assert pixels(row["mask.png"]["bytes"], "L").shape == (want["height"], want["width"])
            else:
                assert row["mask.png"]["bytes"] == want["mask"]["bytes"]
            n += 1
    assert n == len(stored)


def test_bfree_recipe_reads_and_its_offline_variant_builds_and_loads(tmp_path, tiny_inpaint, tiny_seg):
    """recipes/bfree.yaml as written, then the same recipe offline: bundled reals, the tiny pipelines and
    segmenter of this file in place of the hub models, no detector (tests/test_bfree.py trains one)."""
    import datasets

    from conftest import ROOT
    from toolkit.config.recipe import load_recipe

    r = load_recipe(ROOT / "recipes" / "bfree.yaml", ["reals.url_list=x.parquet"])
    assert [(f.name, f.mask, f.restores) for f in r.fakes] == [
        ("inpaint_self", "empty", False), ("inpaint_object", "object", True), ("inpaint_box", "rectangle", False)]
    assert {f.model for f in r.fakes} == {"stabilityai/stable-diffusion-2-inpainting"} and r.makes_masks()
    assert (r.detector.kind, r.detector.preset, r.detector.crop, r.detector.test_crops) == ("bfree", "paper", 504, 5)
    assert r.image.size == 512 and r.augment.matched

    data = yaml.safe_load((ROOT / "recipes" / "bfree.yaml").read_text())
    data.update(reals={"kind": "bundled", "count": 4}, image={"size": 48, "min_size": 32},
                runner={"shard_size": 4, "scheduler": "synchronous", "progress": False, "device": "cpu"})
    for key in ("captioner", "detector"):
        data.pop(key)
    for f in data["fakes"]:
        f.update(model=tiny_inpaint, **GEN)
        if f["mask"] == "object":
            f.update(segmenter=tiny_seg, object_area=[0.02, 0.9], mask_blur=2.0)
    out = build(tmp_path, "bfree_offline", data)
    dsd = datasets.load_dataset(str(out))
    rows = [r for split in dsd.values() for r in split]
    assert len(rows) == 4 * 4 and {r["source"] for r in rows} == {"real", "inpaint_self", "inpaint_object", "inpaint_box"}
    for r in rows:
        if r["source"] == "real":
            assert r["mask"] is None
            continue
        m = np.asarray(r["mask"])
        assert m.shape == (r["height"], r["width"]) == (48, 48) and set(np.unique(m)) <= {0, 255}
        prov = json.loads(r["provenance"])
        if r["source"] == "inpaint_self":
            assert (m == 255).all() and prov["mask"] == "empty"
        elif r["source"] == "inpaint_object":
            assert prov["object_label"] in LABELS.values() and prov["object_area"] == round(float((m > 0).mean()), 6)
        else:
            assert prov["mask"] == "rectangle" and prov["restore_background"] is False
