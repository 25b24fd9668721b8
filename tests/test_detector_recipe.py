"""A recipe's `detector:` section trains after the build and its results land in the dataset card."""

from __future__ import annotations

import json

from conftest import demo_args

DETECTOR = ("detector={kind: resnet50, model: null, arch: {embedding_size: 8, hidden_sizes: [8, 16], depths: [1, 1], "
            "layer_type: basic}, crop: 32, max_epochs: 2, patience: 1, robustness: false, val_fraction: 0.2, "
            "note: tiny test model}")


def test_recipe_detector_section_end_to_end(cli, tmp_path, tiny_vae):
    from toolkit.config.recipe import load_recipe

    out = tmp_path / "demo"
    args = demo_args(out, f"fakes.0.model={tiny_vae}", DETECTOR)
    code, stdout, err = cli(*args)
    assert code == 0, err
    card = (out / "README.md").read_text()
    assert "### `resnet50`" in card and "| ROC-AUC |" in card and "tiny test model" in card
    assert "Not trained yet" not in card
    data = json.loads((out / "meta" / "detector" / "card.json").read_text())
    assert 0.0 <= data["detectors"]["resnet50"]["test"]["roc_auc"] <= 1.0
    assert (out / "meta" / "detector" / "resnet50-roc.png").exists()
    model_dir = tmp_path / "demo-detector-resnet50"
    assert (model_dir / "model.safetensors").exists() and (model_dir / "README.md").exists()
    # the detector section does not enter the dataset's identity
    with_det = load_recipe(args[1], args[4:])
    without = load_recipe(args[1], args[4:-1])
    assert with_det.detector is not None and without.detector is None
    assert with_det.content_hash() == without.content_hash()
    assert json.loads((out / "meta" / "build.json").read_text())["recipe_hash"] == without.content_hash()
    # re-running the same command resumes the build and does not retrain
    code, _, err = cli(*args)
    assert code == 0 and "already trained with these settings" in err


def test_recipe_detector_section_is_validated(cli, tmp_path):
    code, _, err = cli(*demo_args(tmp_path / "x", "detector={kind: resnet50, patince: 3}"))
    assert code == 2 and "detector.patince: unknown key (did you mean 'patience'?)" in err
    code, _, err = cli(*demo_args(tmp_path / "x", "detector={kind: resnet50, arch: {depth: [1]}}"))
    assert code == 2 and "detector.arch.depth" in err


def test_demo_recipe_has_an_honest_offline_detector():
    from toolkit.config.recipe import load_recipe
    from conftest import ROOT

    det = load_recipe(ROOT / "recipes" / "demo.yaml").detector
    assert det.kind == "resnet50" and det.model is None and not det.stem_downsample  # random init, paper's stem
    assert det.preset == "light" and det.augment.jpeg == 0.1  # the CPU budget: lighter than the paper
    assert "not ImageNet ResNet-50" in det.note and "light" in det.note
    from toolkit.detectors.config import ResNetConfig

    # train's default: the paper (AlignedForensics training_code/README.md:55)
    d = ResNetConfig()
    assert d.model == "microsoft/resnet-50" and d.lr == 1e-4 and d.preset == "paper"
    assert d.pairs_per_batch == 32 and d.augment.color_jitter == 0.8 and d.val_augment and d.min_delta == 0.001
