"""The shortcut audit: features match crafted files, leaks are flagged, aligned builds pass."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from conftest import ROOT

TINY = ["reals.count=40", "image.size=64", "runner.shard_size=20", "runner.scheduler=synchronous",
        "runner.progress=false"]


def _photo(h=64, w=80, seed=0) -> Image.Image:
    """Smooth, photo-like content (noise would make every codec behave oddly)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 90 * np.sin(xx / 7 + k) * np.cos(yy / 9 - k) for k in range(3)], -1)
    return Image.fromarray(np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8))


def _enc(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, **kw)
    return buf.getvalue()


# --- features on crafted files ------------------------------------------------------------------------

@pytest.mark.parametrize("quality", [20, 50, 75, 90, 97])
@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0"])
def test_jpeg_quality_and_subsampling_match_truth(quality, subsampling):
    from toolkit.audit.features import SUBSAMPLING, image_features

    f = image_features(_enc(_photo(), format="JPEG", quality=quality, subsampling=subsampling))
    assert f.error is None
    assert f.info["format"] == "jpeg" and f.info["quality"] == quality and f.info["quality_exact"]
    assert f.info["subsampling"] == subsampling
    assert f.values["jpeg_quality"] == quality and f.values["jpeg_subsampling"] == SUBSAMPLING[subsampling]
    assert f.values["fmt_jpeg"] == 1 and f.values["jpeg_progressive"] == 0


def test_progressive_webp_kind_metadata_and_geometry():
    from toolkit.audit.features import image_features

    img = _photo(48, 96)
    prog = image_features(_enc(img, format="JPEG", quality=80, progressive=True))
    assert prog.info["progressive"] and prog.values["jpeg_progressive"] == 1 and prog.info["quality"] == 80
    lossless = image_features(_enc(img, format="WEBP", lossless=True))
    lossy = image_features(_enc(img, format="WEBP", quality=70))
    assert lossless.info["webp"] == "lossless" and lossless.values["webp_lossless"] == 1
    assert lossy.info["webp"] == "lossy" and lossy.values["webp_lossy"] == 1 and lossy.values["webp_lossless"] == 0
    png = image_features(_enc(img, format="PNG"))
    assert png.values["fmt_png"] == 1 and png.values["width"] == 96 and png.values["height"] == 48
    assert png.values["aspect"] == 2.0
    assert not any(png.info[k] for k in ("exif", "icc", "xmp"))
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    icc = _srgb_icc()
    for fmt, kw in [("JPEG", {"quality": 85}), ("PNG", {}), ("WEBP", {"quality": 80})]:
        with_meta = image_features(_enc(img, format=fmt, exif=exif.tobytes(), icc_profile=icc, **kw))
        assert with_meta.info["exif"] and with_meta.info["icc"], fmt
        assert with_meta.values["has_exif"] == 1 and with_meta.values["has_icc"] == 1
        plain = image_features(_enc(img, format=fmt, **kw))
        assert plain.values["has_exif"] == 0 and plain.values["has_icc"] == 0
    grey = image_features(_enc(img.convert("L"), format="PNG"))
    assert grey.info["mode"] == "L"


def _srgb_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_unreadable_image_is_reported_not_fatal():
    from toolkit.audit.features import image_features

    f = image_features(b"\x89PNG\r\n\x1a\nnot really")
    assert f.error and f.values["fmt_png"] == 0.0


# --- shortcut classifiers on synthetic feature tables ---------------------------------------------------

def test_shortcuts_flag_a_planted_cue_and_pass_identical_pairs():
    from toolkit.audit.features import FEATURES
    from toolkit.audit.shortcuts import paired_mismatches, run_shortcuts

    rng = np.random.default_rng(0)
    n = 60
    base = rng.normal(size=(n, len(FEATURES)))
    X = np.repeat(base, 2, axis=0)  # real and fake of a pair share every feature
    y = np.tile([0, 1], n)
    pids = [f"p{i // 2}" for i in range(2 * n)]
    src = ["real" if v == 0 else "gen" for v in y]
    ok = run_shortcuts(X, y, pids, src)
    assert not ok["leak"] and all(r["auc"] == 0.5 for r in ok["groups"].values())
    assert paired_mismatches(X, pids, list(y))["mismatched_pairs"] == {}
    X2 = X.copy()
    X2[:, FEATURES.index("jpeg_quality")] = np.where(y == 0, 90, 0)  # reals JPEG q90, fakes not
    bad = run_shortcuts(X2, y, pids, src)
    assert bad["leak"] and "codec" in bad["leaking_groups"] and "format" not in bad["leaking_groups"]
    assert bad["groups"]["codec"]["auc"] > 0.95
    assert bad["groups"]["codec"]["responsible"][0]["feature"] == "jpeg_quality"
    assert paired_mismatches(X2, pids, list(y))["mismatched_pairs"] == {"jpeg_quality": n}
    assert paired_mismatches(X2, pids, list(y))["pairs_differing"] == n


def test_unmatched_augmentation_is_not_aligned_though_no_class_leaks(cli, tmp_path):
    """Per-image codec draws: both classes compressed alike on average (no class-level shortcut), but
    most pairs store their members differently. The audit says NOT ALIGNED and exits 1, as verify fails."""
    from toolkit.cli import main

    out = tmp_path / "unmatched"
    assert main(["make", "demo", "--out", str(out), *TINY, "detector=null", "fakes=[{kind: identity}]",
                 "augment.matched=false", "augment.ops={jpeg: {p: 0.5}, webp: {p: 0.3}}"]) == 0
    code, stdout, _ = cli("audit", out, "--json", tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    assert not report["leak"], report["shortcuts"]["leaking_groups"]
    assert 10 <= report["misaligned_pairs"] <= 40 and code == 1, stdout
    assert f"NOT ALIGNED: {report['misaligned_pairs']} of 40 pairs differ in file properties" in stdout
    assert "the pairs of this dataset are not aligned" in (out / "README.md").read_text()
    assert cli("audit", out, "--no-fail")[0] == 0
    assert cli("verify", out)[0] != 0


# --- end to end on builds ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """The aligned demo and the misaligned demo at test size (built once for this module)."""
    from toolkit.cli import main

    root = tmp_path_factory.mktemp("audit")
    out = {}
    for name in ("demo", "misaligned_demo"):
        out[name] = root / name
        assert main(["make", str(ROOT / "recipes" / f"{name}.yaml"), "--out", str(out[name]), *TINY]) == 0
    return out


def test_misaligned_demo_is_flagged_with_exit_1(builds, cli, tmp_path):
    report_path = tmp_path / "r.json"
    code, stdout, _ = cli("audit", builds["misaligned_demo"], "--json", report_path)
    assert code == 1, stdout
    assert "LEAK FLAGGED" in stdout
    report = json.loads(report_path.read_text())
    groups = report["shortcuts"]["groups"]
    assert report["leak"] and {"format", "codec", "all_shortcut"} <= set(report["shortcuts"]["leaking_groups"])
    assert groups["format"]["auc"] >= 0.98 and groups["codec"]["auc"] >= 0.98
    named = {r["feature"] for r in groups["format"]["responsible"] + groups["codec"]["responsible"]}
    assert {"fmt_jpeg", "fmt_png", "jpeg_quality"} <= named
    assert report["file_facts"]["quality"]["90"] == {"real": 40, "fake": 0}
    assert report["paired_mismatches"]["mismatched_pairs"]["fmt_jpeg"] == 40
    # --no-fail only reports
    assert cli("audit", builds["misaligned_demo"], "--no-fail")[0] == 0
    # the card says so
    card = (builds["misaligned_demo"] / "README.md").read_text()
    assert "leaks its label through file properties" in card


def test_aligned_demo_passes_and_card_has_the_section(builds, cli):
    out = builds["demo"]
    before = (out / "README.md").read_text()
    assert "Not run yet. `toolkit audit OUT`" in before
    data_before = {p.name: p.read_bytes() for p in (out / "data").glob("*.parquet")}
    code, stdout, _ = cli("audit", out)
    assert code == 0, stdout
    report = json.loads((out / "meta" / "audit" / "report.json").read_text())
    assert not report["leak"]
    for g in ("format", "codec", "geometry", "metadata", "all_shortcut"):
        assert report["shortcuts"]["groups"][g]["auc"] == 0.5, g
    assert report["paired_mismatches"]["mismatched_pairs"] == {}
    assert report["balance"]["problems"] == []
    assert report["fidelity"]["vae_roundtrip"]["pairs"] == 40
    for png in ("shortcuts.png", "fidelity.png"):
        assert (out / "meta" / "audit" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (out / "README.md").read_text()
    assert "**No shortcut found.**" in card and "Not run yet. `toolkit audit OUT`" not in card
    assert "| format | yes | 0.500 |" in card
    # the audit writes side files only: rows are untouched and still load
    assert {p.name: p.read_bytes() for p in (out / "data").glob("*.parquet")} == data_before
    import datasets

    assert sum(len(s) for s in datasets.load_dataset(str(out)).values()) == 80


def test_fidelity_flags_a_broken_pair(builds, tmp_path):
    """Replace one fake by noise: its pair is the (only) outlier."""
    import shutil

    from toolkit.audit.fidelity import run_fidelity
    from toolkit.audit.data import load_rows

    out = tmp_path / "broken"
    shutil.copytree(builds["demo"], out)
    shard = sorted((out / "data").glob("train-*.parquet"))[0]
    t = pq.read_table(shard)
    rows = t.to_pylist()
    victim = next(r for r in rows if r["label"] == 1)
    noise = np.random.default_rng(0).integers(0, 256, (victim["height"], victim["width"], 3), dtype=np.uint8)
    victim["image"] = {"bytes": _enc(Image.fromarray(noise), format="PNG"), "path": victim["image"]["path"]}
    victim["format"] = "png"
    pq.write_table(type(t).from_pylist(rows, schema=t.schema), shard)
    fid = run_fidelity(load_rows(str(out)))["vae_roundtrip"]
    assert [o["pair_id"] for o in fid["outliers"]] == [victim["pair_id"]]
    assert fid["outliers"][0]["psnr"] < fid["psnr_median"] - 5
    intact = run_fidelity(load_rows(str(builds["demo"])))["vae_roundtrip"]
    assert intact["outlier_count"] == 0


def test_balance_counts_missing_members_and_cross_split_pairs():
    from toolkit.audit.balance import run_balance
    from toolkit.audit.data import Rows

    rows = Rows()
    for i in range(10):
        rows.append(image=b"", label=0, pair_id=f"p{i}", source="real", split="train", augment="[]", origin="")
        if i != 3:  # p3 lost its fake
            rows.append(image=b"", label=1, pair_id=f"p{i}", source="vae", split="test" if i == 5 else "train",
                        augment="[]", origin="")
    b = run_balance(rows, ["png"] * len(rows))
    assert b["pairs_missing_fake"]["vae"] == {"count": 1, "examples": ["p3"]}
    assert b["pairs_across_splits"] == {"count": 1, "examples": ["p5"]}
    assert b["counts"]["split"]["train"] == {"real": 10, "fake": 8}
    assert len(b["problems"]) == 2


def test_apply_to_keeps_default_plans_and_limits_ops_to_one_class():
    from toolkit.transforms.augment import Augmenter, JpegConfig

    both = Augmenter({"jpeg": JpegConfig(p=0.5, quality=[60, 95])}, matched=True, seed=3)
    for i in range(50):  # default apply_to: exactly the pair's plan, for every member
        assert both.plan_for(f"p{i}", 0, 0) == both.plan_for(f"p{i}", 1, 1) == both.plan(f"p{i}")
    reals_only = Augmenter({"jpeg": JpegConfig(p=1.0, quality=[90, 90], apply_to="real")}, matched=False, seed=3)
    assert reals_only.plan_for("x", 0, 0).codec == ("jpeg", {"quality": 90, "subsampling": "4:2:0"})
    assert reals_only.plan_for("x", 1, 1).codec[0] == "png"


def test_bad_arguments_are_one_line(cli, tmp_path):
    code, _, err = cli("audit", tmp_path / "nope")
    assert code == 2 and "nope: no such file or directory" in err and "Traceback" not in err
    code, _, err = cli("audit", tmp_path, "--threshold", "2")
    assert code == 2 and "--threshold" in err


def test_ssim_and_psnr_agree_with_skimage():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from toolkit.audit.fidelity import psnr, ssim_luma

    a = np.asarray(_photo(40, 56, seed=1))
    b = np.clip(a.astype(int) + np.random.default_rng(2).normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    w = np.array([0.299, 0.587, 0.114])
    assert abs(ssim_luma(a, b) - structural_similarity(a @ w, b @ w, data_range=255.0)) < 1e-4
    assert abs(psnr(a, b) - peak_signal_noise_ratio(a, b, data_range=255)) < 1e-6
    assert psnr(a, a) == 99.0 and abs(ssim_luma(a, a) - 1.0) < 1e-6


def test_any_load_dataset_path_is_audited(cli, tmp_path):
    """An imagefolder from another tool (no pair_id): reals JPEG, fakes PNG is still caught."""
    root = tmp_path / "folder"
    for i in range(12):
        for cls, kw in (("real", {"format": "JPEG", "quality": 75}), ("fake", {"format": "PNG"})):
            (root / "train" / cls).mkdir(parents=True, exist_ok=True)
            ext = "jpg" if cls == "real" else "png"
            (root / "train" / cls / f"{i}.{ext}").write_bytes(_enc(_photo(32, 32, seed=i), **kw))
    report = tmp_path / "r.json"
    code, stdout, _ = cli("audit", root, "--json", report, "--report-dir", tmp_path / "rep")
    assert code == 1, stdout
    r = json.loads(report.read_text())
    assert r["rows"] == 24 and r["shortcuts"]["groups"]["format"]["auc"] == 1.0
    assert r["file_facts"]["format"] == {"jpeg": {"real": 12, "fake": 0}, "png": {"real": 0, "fake": 12}}
    assert any("no pair_id" in n for n in r["notes"])
    assert (tmp_path / "rep" / "meta" / "audit" / "report.json").exists()


def test_apply_to_is_validated_and_kept_out_of_the_hash_when_default(tmp_path):
    from toolkit.errors import RecipeError
    from toolkit.config.recipe import load_recipe

    demo = ROOT / "recipes" / "demo.yaml"
    with pytest.raises(RecipeError, match=r"augment\.ops\.jpeg\.apply_to: must be both, real or fake"):
        load_recipe(demo, ["augment.ops.jpeg.apply_to=reals"])
    base = load_recipe(demo).content_hash()
    assert load_recipe(demo, ["augment.ops.jpeg.apply_to=both"]).content_hash() == base
    assert load_recipe(demo, ["augment.ops.jpeg.apply_to=real"]).content_hash() != base
    mis = load_recipe(ROOT / "recipes" / "misaligned_demo.yaml")
    assert mis.augment.matched is False and mis.augment.ops["jpeg"].apply_to == "real"


def test_unrefreshable_card_is_a_note_not_a_failure(builds, cli, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(builds["demo"], out)
    (out / "recipe.yaml").write_text("name: x\nreals: {kind: no_such_source}\n")
    code, stdout, _ = cli("audit", out)
    assert code == 0 and "dataset card not refreshed" in stdout
    report = json.loads((out / "meta" / "audit" / "report.json").read_text())
    assert any("card not refreshed" in n for n in report["notes"])
