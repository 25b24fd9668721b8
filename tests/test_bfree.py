"""The B-Free detector (toolkit/detectors/bfree.py) on tiny generated pairs with a tiny random
Dinov2WithRegisters saved in the test (loaded by path, as a hub id would be): learns a separable set,
stays at chance with shuffled labels, its five test crops equal B-Free's Wrapper5crops (which crops the
patch grid), calibration metrics reported, and the paper preset's settings."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tiny_detect import write_pairs

# the augmentation off (the paired chain is tested in test_detectors.py; here it only slows a tiny ViT down)
NO_AUG = "augment={resized_crop: 0, color_jitter: 0, grayscale: 0, cutout: 0, noise: 0, blur: 0, jpeg: 0, rot90: 0, flip: 0}"
FAST = ["lr=2e-3", "max_epochs=3", "patience=2", "min_lr=1e-4", "crop=32", "pairs_per_batch=4", "eval_batch=40",
        "robustness=false", NO_AUG]


def tiny_dinov2(path) -> str:
    from transformers import Dinov2WithRegistersConfig, Dinov2WithRegistersModel

    torch.manual_seed(0)
    cfg = Dinov2WithRegistersConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=2,
                                    patch_size=4, image_size=32, num_register_tokens=4)
    Dinov2WithRegistersModel(cfg).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def vit(tmp_path_factory) -> str:
    return tiny_dinov2(tmp_path_factory.mktemp("vit") / "tiny-dinov2-reg")


@pytest.fixture(scope="module")
def ds(tmp_path_factory) -> str:
    return write_pairs(tmp_path_factory.mktemp("ds") / "a", {"train": 32, "test": 20}, seed=1, pattern=24.0)


def train(ds, out, vit, *extra):
    from toolkit.cli import main

    assert main(["train", ds, "--detector", "bfree", "--preset", "light", "--out", str(out), f"model={vit}",
                 *FAST, *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_bfree_learns_a_separable_set_and_reports_calibration(ds, vit, tmp_path):
    from toolkit.detectors.data import load_splits
    from toolkit.detectors.metrics import expected_calibration_error, negative_log_likelihood
    from toolkit.detectors.storage import load

    rec = train(ds, tmp_path / "m", vit)
    assert rec["test"]["ap"] > 0.95 and rec["test"]["roc_auc"] > 0.95, rec["test"]
    assert rec["config"]["test_crops"] == 1 and rec["hf_config"]["num_register_tokens"] == 4  # preset light
    det, meta = load(str(tmp_path / "m"))
    test = load_splits(ds)["test"]
    p = det.predict(test)
    assert rec["test"]["ece"] == pytest.approx(expected_calibration_error(test.labels, p))
    assert rec["test"]["nll"] == pytest.approx(negative_log_likelihood(test.labels, p))
    assert 0 <= rec["test"]["ece"] < 1 and rec["test"]["nll"] > 0
    assert rec["test"]["ece_balanced"] is not None and rec["test"]["nll_balanced"] > 0  # as B-Free reports them
    card = (tmp_path / "m" / "README.md").read_text()
    assert "bfree" in card
    # five crops at test: the same trained weights, each score the mean logit of five crops
    det.cfg.test_crops = 5
    x = test.pixels(0)
    crops = det.crops_of(x)
    with torch.no_grad():
        logits = det.net(det.to_tensor(crops)).logits.squeeze(-1).double().numpy()
    assert det._full_logits(test.subset([0]), "t")[0] == pytest.approx(logits.mean(), abs=1e-5)


def test_bfree_with_shuffled_labels_stays_at_chance(ds, vit, tmp_path):
    rec = train(ds, tmp_path / "s", vit, "shuffle_labels=true")
    assert abs(rec["test"]["roc_auc"] - 0.5) < 0.2, rec["test"]


def _wrapper5crops_grids(emb: torch.Tensor, g: int) -> torch.Tensor:
    """B-Free's Wrapper5crops.forward (code/networks/wrapper5crops.py:37-51) on a patch-embedding grid,
    written out independently: replicate_wrap when the grid is smaller than g, then five g x g crops."""
    ph, pw = max(g - emb.shape[-2], 0), max(g - emb.shape[-1], 0)
    if ph > 0 or pw > 0:
        rep_h, rep_w = max(math.ceil(g / emb.shape[-2]), 1), max(math.ceil(g / emb.shape[-1]), 1)
        emb = emb.repeat(1, 1, rep_h, rep_w)[..., :g, :g]
    hs, ws = max((emb.shape[-2] - g) // 2, 0), max((emb.shape[-1] - g) // 2, 0)
    return torch.cat((emb[:, :, hs:g + hs, ws:g + ws], emb[:, :, :g, :g], emb[:, :, -g:, :g], emb[:, :, -g:, -g:],
                      emb[:, :, :g, -g:]), 0)


@pytest.mark.parametrize("shape", [(50, 70), (33, 33), (32, 32), (20, 61), (70, 13), (3, 40)])
def test_five_crops_equal_the_reference_wrapper_on_the_patch_grid(shape):
    from toolkit.detectors.bfree import five_crops

    torch.manual_seed(0)
    proj = torch.nn.Conv2d(3, 6, kernel_size=4, stride=4)  # a patch embedding: kernel = stride = patch
    px = np.random.default_rng(1).integers(0, 256, (*shape, 3), dtype=np.uint8)

    def embed(a):
        return proj(torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float())

    crops = five_crops(px, 32, 4)
    assert len(crops) == 5 and all(c.shape == (32, 32, 3) for c in crops)
    with torch.no_grad():
        ours = torch.cat([embed(c) for c in crops], 0)
        if min(shape) >= 4:
            want = _wrapper5crops_grids(embed(px), 8)
            assert torch.equal(ours, want)


def test_paper_preset_and_bad_values(cli, ds, tmp_path):
    from toolkit.detectors.config import detector_config, preset_defaults
    from toolkit.errors import RecipeError

    paper = preset_defaults("bfree")
    assert (paper["model"], paper["crop"], paper["test_crops"]) == ("facebook/dinov2-with-registers-base", 504, 5)
    assert paper["augment"]["resized_crop_size"] is None and paper["augment"]["rot90"] == 0.0
    light = preset_defaults("bfree", "light")
    assert (light["crop"], light["test_crops"]) == (224, 1) and light["crop"] % 14 == 0
    with pytest.raises(RecipeError, match="test_crops: must be 1 or 5"):
        detector_config({"kind": "bfree", "test_crops": 3})
    with pytest.raises(RecipeError, match="arch.hiden_size: not a transformers Dinov2WithRegistersConfig field"):
        detector_config({"kind": "bfree", "arch": {"hiden_size": 8}})
    code, out, err = cli("train", ds, "--detector", "bfree", "--out", tmp_path / "x", "model=null", "crop=30",
                         "arch={hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 1, patch_size: 4}")
    assert code != 0 and "detector.crop: 30 is not a multiple of the model's patch size 4" in err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("toolkit: error: detector.crop: 30")


def test_balanced_calibration_metrics_follow_bfree_dmetrics_by_hand():
    from toolkit.detectors.metrics import balanced_ece, balanced_nll, summary

    # 3 reals (weight 1/3 each), 1 fake (weight 1): reals at 0.1, 0.1, 0.4, fake at 0.8; total weight 2.
    # bins (floor 15p): 0.1 -> 1 (two reals), 0.4 -> 6 (a real), 0.8 -> 12 (the fake)
    # bin 1: |0.1 - 0| * (2/3) / 2; bin 6: |0.4 - 0| * (1/3) / 2; bin 12: |0.8 - 1| * 1 / 2
    labels, p = [0, 0, 0, 1], [0.1, 0.1, 0.4, 0.8]
    assert balanced_ece(labels, p) == pytest.approx(0.1 / 3 + 0.4 / 6 + 0.1)
    # per class: reals -(2 log 0.9 + log 0.6) / 3, fakes -log 0.8; their mean
    assert balanced_nll(labels, p) == pytest.approx((-(2 * np.log(0.9) + np.log(0.6)) / 3 - np.log(0.8)) / 2)
    assert balanced_ece([0, 1], [0.0, 1.0]) == 0.0  # p == 1.0 falls outside the 15 summed bins (reference)
    m = summary(labels, p)
    assert m["ece_balanced"] == balanced_ece(labels, p) and m["nll_balanced"] == balanced_nll(labels, p)
    assert summary([1, 1], [0.4, 0.9])["ece_balanced"] is None  # one class: undefined, as in the reference
