"""Reference detectors end to end on tiny generated pairs, with tiny models built in the test."""

from __future__ import annotations

import contextlib
import json

import numpy as np
from pathlib import Path
import pytest

from tiny_detect import TINY_RESNET, tiny_clip, write_pairs

FAST = ["lr=3e-3", "max_epochs=8", "patience=2", "min_lr=1e-4"]


@pytest.fixture(scope="module")
def ds_a(tmp_path_factory) -> str:
    return write_pairs(tmp_path_factory.mktemp("ds") / "a", {"train": 60, "test": 30}, seed=1)


@pytest.fixture(scope="module")
def ds_b(tmp_path_factory) -> str:
    return write_pairs(tmp_path_factory.mktemp("ds") / "b", {"test": 20}, seed=2, pattern=6.0, generator="checker_faint")


@pytest.fixture(scope="module")
def resnet_model(ds_a, tmp_path_factory):
    from toolkit.cli import main

    out = tmp_path_factory.mktemp("m") / "resnet"
    assert main(["train", ds_a, "--detector", "resnet50", "--out", str(out), *TINY_RESNET, *FAST,
                 "robustness=true"]) == 0
    return out


def test_metrics_match_hand_computed_values():
    from toolkit.detectors.metrics import best_threshold, summary

    labels = [0, 0, 1, 1]
    scores = [0.1, 0.4, 0.35, 0.8]
    m = summary(labels, scores, val_threshold=0.3)
    # ROC-AUC: of the 4 (fake, real) pairs, 3 are ordered right
    assert m["roc_auc"] == pytest.approx(0.75)
    # AP: ranks 0.8 (fake, P=1/1), 0.4 (real), 0.35 (fake, P=2/3): (1 + 2/3) / 2
    assert m["ap"] == pytest.approx(5 / 6)
    assert m["acc@0.5"] == pytest.approx(0.75)  # predictions 0,0,0,1
    assert m["real_acc"] == 1.0 and m["fake_acc"] == 0.5 and m["balanced_acc"] == pytest.approx(0.75)
    assert m["acc@val"] == pytest.approx(0.75)  # at 0.3: predictions 0,1,1,1
    assert m["balanced_acc@val"] == pytest.approx(0.75)
    assert (m["n"], m["n_real"], m["n_fake"]) == (4, 2, 2)
    t = best_threshold([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.9])
    assert 0.2 < t <= 0.3  # the one threshold with balanced accuracy 1
    # calibration, 15 bins of 1/15: 0.1 -> bin 1 (real), 0.35 -> bin 5 (fake), 0.4 -> bin 6 (real), 0.8 -> bin 12
    # (fake): |0.1-0| + |0.35-1| + |0.4-0| + |0.8-1|, each weighted 1/4
    assert m["ece"] == pytest.approx((0.1 + 0.65 + 0.4 + 0.2) / 4)
    # NLL: -(log 0.9 + log 0.6 + log 0.35 + log 0.8) / 4
    assert m["nll"] == pytest.approx(-(np.log(0.9) + np.log(0.6) + np.log(0.35) + np.log(0.8)) / 4)
    from toolkit.detectors.metrics import expected_calibration_error

    # two images in one bin: |mean p - fraction fake| once, weighted by the bin's share
    assert expected_calibration_error([0, 1], [0.5, 0.52]) == pytest.approx(abs(0.51 - 0.5))
    assert expected_calibration_error([1, 1, 0, 0], [1.0, 1.0, 0.0, 0.0]) == 0.0  # perfect and certain


def test_breakdown_per_generator_and_augmentation():
    from toolkit.detectors.data import Split
    from toolkit.detectors.metrics import breakdown

    s = Split("test", [b""] * 6, np.array([0, 1, 1, 0, 1, 1]), ["p", "p", "p", "q", "q", "q"],
              ["real", "g1", "g2", "real", "g1", "g2"], ["png", "png", "png", "jpeg", "jpeg", "jpeg"])
    b = breakdown(s, [0.1, 0.9, 0.2, 0.3, 0.8, 0.4])
    assert b["by_source"]["g1"]["roc_auc"] == 1.0 and b["by_source"]["g1"]["n"] == 4
    assert b["by_source"]["g2"]["roc_auc"] == pytest.approx(0.75)  # 0.2, 0.4 vs reals 0.1, 0.3: 3 of 4 ordered
    assert b["by_augment"]["png"]["n"] == 3 and b["by_augment"]["jpeg"]["fake_acc"] == 0.5


def test_paired_augmentation_is_identical_within_a_pair():
    from toolkit.detectors import augment
    from toolkit.detectors.config import TrainAugConfig

    cfg = TrainAugConfig(resized_crop=1, color_jitter=1, grayscale=0, cutout=1, noise=1, blur=1, jpeg=1, rot90=1, flip=1)
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8)
    plan = augment.draw(cfg, 24, real.shape[:2], seed=0, pair_id="p1", epoch=3)
    assert plan == augment.draw(cfg, 24, real.shape[:2], seed=0, pair_id="p1", epoch=3)
    assert plan != augment.draw(cfg, 24, real.shape[:2], seed=0, pair_id="p1", epoch=4)
    a, b = augment.apply(plan, real), augment.apply(plan, real.copy())
    assert a.shape == (24, 24, 3) and np.array_equal(a, b)
    # geometry is shared: with only crop/rot90/flip, fake = real + 10 stays real + 10 pixel for pixel
    geo = TrainAugConfig(resized_crop=0, color_jitter=0, grayscale=0, cutout=0, noise=0, blur=0, jpeg=0, rot90=1, flip=1)
    real = rng.integers(0, 200, size=(40, 48, 3), dtype=np.uint8)
    plan = augment.draw(geo, 24, real.shape[:2], seed=0, pair_id="p2", epoch=0)
    out_r, out_f = augment.apply(plan, real), augment.apply(plan, real + 10)
    assert np.all(out_f.astype(int) - out_r.astype(int) == 10)
    assert not np.array_equal(out_r, real[:24, :24])  # something did move


def test_resnet_learns_a_separable_set(resnet_model):
    rec = json.loads((resnet_model / "metrics.json").read_text())
    assert rec["test"]["roc_auc"] > 0.95, rec["test"]
    assert {"ap", "acc@0.5", "acc@val", "real_acc", "fake_acc", "balanced_acc", "acc@oracle"} <= set(rec["test"])
    assert set(rec["breakdown"]["by_source"]) == {"checker"}
    assert set(rec["breakdown"]["by_augment"]) == {"png", "blur+png"}
    names = [r["perturbation"] for r in rec["robustness"]]
    assert names == ["clean", "jpeg100", "jpeg90", "jpeg75", "jpeg50", "webp90", "webp75", "webp50",
                     "down0.5", "down0.75", "up1.5", "blur0.5", "blur1", "blur2"]
    for f in ("model.safetensors", "detector.json", "README.md", "roc.png", "pr.png", "robustness.png"):
        assert (resnet_model / f).stat().st_size > 0, f
    # the stem keeps full resolution (stride-1 conv, 3x3 max-pool at stride 1), the head has dropout 0.5
    # and one logit
    import torch

    from toolkit.detectors.storage import load

    det, _ = load(str(resnet_model))
    assert det.net.resnet.embedder.embedder.convolution.stride == (1, 1)
    pool = det.net.resnet.embedder.pooler
    assert isinstance(pool, torch.nn.MaxPool2d) and (pool.kernel_size, pool.stride, pool.padding) == (3, 1, 1)
    assert det.net.classifier[1].p == 0.5 and det.net.classifier[2].out_features == 1
    assert rec["history"][0]["epoch"] == 0  # the untrained model was validated first (the initial best)


def test_resnet_with_shuffled_labels_stays_at_chance(ds_a, tmp_path):
    from toolkit.cli import main

    out = tmp_path / "shuffled"
    assert main(["train", ds_a, "--out", str(out), *TINY_RESNET, *FAST, "shuffle_labels=true"]) == 0
    auc = json.loads((out / "metrics.json").read_text())["test"]["roc_auc"]
    assert abs(auc - 0.5) < 0.2, auc


def test_eval_gives_the_cross_dataset_table(cli, resnet_model, ds_a, ds_b, tmp_path):
    code, out, err = cli("eval", resnet_model, "--on", ds_a, ds_b, "--json", tmp_path / "x.json")
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| /")]
    assert [r.split("|")[1].strip() for r in rows] == [ds_a, ds_b]
    res = json.loads((tmp_path / "x.json").read_text())["results"]
    assert res[0]["metrics"]["n"] == 60 and res[1]["metrics"]["n"] == 40
    assert res[0]["metrics"]["roc_auc"] > 0.95
    assert set(res[1]["breakdown"]["by_source"]) == {"checker_faint"}


@contextlib.contextmanager
def counting_clip_forwards():
    """Counts the CLIP vision tower's forward calls while inside ({"n": count})."""
    from transformers import CLIPVisionModelWithProjection

    calls = {"n": 0}
    orig = CLIPVisionModelWithProjection.forward

    def counting(self, *a, **k):
        calls["n"] += 1
        return orig(self, *a, **k)

    CLIPVisionModelWithProjection.forward = counting
    try:
        yield calls
    finally:
        CLIPVisionModelWithProjection.forward = orig


def test_clip_features_are_cached_and_reused(ds_a, tmp_path):
    from toolkit.cli import main
    from toolkit.detectors import features

    model = tiny_clip(tmp_path / "clip")
    # preset=light: train on cached features (the paper setting recomputes them every epoch, below)
    common = [f"model={model}", f"cache_dir={tmp_path / 'cache'}", "robustness=false", "preset=light"]
    features.STATS.update(computed=0, reused=0)
    assert main(["train", ds_a, "--detector", "clip-probe", "--out", str(tmp_path / "p1"), *common,
                 "lr=1e-2", "patience=20"]) == 0
    first = dict(features.STATS)
    assert first == {"computed": 180, "reused": 16}  # train+val+test once; val again for the threshold
    rec = json.loads((tmp_path / "p1" / "metrics.json").read_text())
    assert rec["test"]["roc_auc"] > 0.95, rec["test"]
    features.STATS.update(computed=0, reused=0)
    with counting_clip_forwards() as calls:
        assert main(["train", ds_a, "--detector", "clip-probe", "--out", str(tmp_path / "p2"), *common,
                     "lr=1e-2", "patience=20"]) == 0
        assert main(["train", ds_a, "--detector", "clip-knn", "--out", str(tmp_path / "k"), *common]) == 0
    assert calls["n"] == 0 and features.STATS["computed"] == 0
    knn = json.loads((tmp_path / "k" / "metrics.json").read_text())
    assert knn["test"]["roc_auc"] > 0.9, knn["test"]
    # a different model never reuses those features
    assert features.model_fingerprint(model) != features.model_fingerprint(str(tmp_path))


def test_clip_probe_trains_with_univfds_augmentation(ds_a, tmp_path):
    """The paper setting: training features recomputed every epoch from augmented crops."""
    from toolkit.cli import main

    model = tiny_clip(tmp_path / "clip")
    with counting_clip_forwards() as calls:
        assert main(["train", ds_a, "--detector", "clip-probe", "--out", str(tmp_path / "p"), f"model={model}",
                     f"cache_dir={tmp_path / 'cache'}", "robustness=false", "max_epochs=3", "augment.resize=40",
                     "feature_batch=64", "lr=1e-2"]) == 0
    rec = json.loads((tmp_path / "p" / "metrics.json").read_text())
    assert rec["epochs"] == 3 and rec["config"]["train_augment"]
    # train (104 rows) every epoch in batches of 64: 2 calls x 3; val (16) once; then val and test (UnivFD's
    # test transform) for the threshold and the metrics
    assert calls["n"] == 2 * 3 + 1 + 1 + 1
    assert "UnivFD's augmentation recomputed every epoch" in (tmp_path / "p" / "README.md").read_text()


def test_bad_settings_are_one_line_errors(cli, ds_a, tmp_path):
    code, _, err = cli("train", ds_a, "max_epoch=3")
    assert code == 2 and "did you mean 'max_epochs'" in err
    code, _, err = cli("train", ds_a, "--detector", "clip-prob")
    assert code == 2 and "did you mean 'clip-probe'" in err
    code, _, err = cli("train", str(tmp_path / "nope"))
    assert code == 2 and "no such file or directory" in err and len(err.strip().splitlines()) == 1
    from toolkit.detectors.run import default_out

    assert not Path(default_out(str(tmp_path / "nope"), "resnet50")).exists()  # nothing left in the cwd
    # the data loads, the model does not: one line, and no model folder either
    code, _, err = cli("train", ds_a, "--out", str(tmp_path / "m"), f"model={tmp_path / 'no-model'}")
    assert code != 0 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("toolkit: error: detector.model"), err
    assert not (tmp_path / "m").exists()
    code, _, err = cli("eval", str(tmp_path), "--on", ds_a)
    assert code == 2 and "not a trained detector" in err
