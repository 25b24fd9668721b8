"""The `fakeinversion` detector end to end: a build with ddim_inversion features, training on it, a
retrieval-matched evaluation set made from it, and `toolkit eval` on that set (tiny models, CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from tiny_clip_full import build_tiny_clip_full
from tiny_detect import TINY_RESNET, write_pairs
from tiny_sd import build_tiny_sd

FAST = ["lr=3e-3", "max_epochs=2", "patience=1", "min_lr=1e-4"]


@pytest.fixture(scope="module")
def build(tmp_path_factory, tiny_vae):
    from toolkit.cli import main

    root = tmp_path_factory.mktemp("fi")
    sd = build_tiny_sd(root / "tiny-sd")
    recipe = {
        "name": "fi", "seed": 2, "reals": {"kind": "bundled", "count": 12}, "image": {"size": 32, "min_size": 32},
        "fakes": [{"kind": "vae_roundtrip", "model": tiny_vae, "subfolder": None, "batch_size": 6}],
        "features": [{"kind": "ddim_inversion", "model": sd, "steps": 3, "resolution": None, "batch_size": 8,
                      "caption": "row"}],
        "split": {"train": 0.5, "test": 0.5},
        "runner": {"shard_size": 6, "scheduler": "synchronous", "progress": False},
    }
    (root / "r.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["make", str(root / "r.yaml"), "--out", str(root / "out")]) == 0
    return root


def test_nine_channels_are_image_noise_map_reconstruction(build):
    from toolkit.detectors.data import load_splits
    from toolkit.detectors.fakeinversion import NineChannels
    from toolkit.features.ddim_inversion import decode_png
    from toolkit.features.stage import read_features

    split = load_splits(str(build / "out"))["train"]
    nine = NineChannels(split)
    feats = {(r["pair_id"], r["source"]): r for r in read_features(str(build / "out")).to_pylist()}
    for i in (0, len(split) - 1):
        x = nine.pixels(i)
        f = feats[(split.pair_ids[i], split.sources[i])]
        assert x.shape == (32, 32, 9) and x.dtype == np.uint8
        assert np.array_equal(x[..., :3], split.pixels(i))
        assert np.array_equal(x[..., 3:6], decode_png(f["noise_map"]))
        assert np.array_equal(x[..., 6:], decode_png(f["reconstruction"]))


def test_a_build_without_features_is_one_clear_error(cli, tmp_path):
    ds = write_pairs(tmp_path / "nofeat", {"train": 6, "test": 4})
    code, _, err = cli("train", ds, "--detector", "fakeinversion", *TINY_RESNET, *FAST, "--out", tmp_path / "m")
    assert code == 2 and "have no ddim_inversion features" in err and "Traceback" not in err


def test_train_then_eval_on_a_retrieval_matched_set(cli, build, tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_CACHE", str(tmp_path / "cache"))
    out, model = build / "out", tmp_path / "model"
    code, _, err = cli("train", out, "--detector", "fakeinversion", *TINY_RESNET, *FAST, "--out", model, "--no-card")
    assert code == 0, err
    meta = json.loads((model / "detector.json").read_text())
    assert meta["kind"] == "fakeinversion" and meta["model"]["hf_config"]["num_channels"] == 9
    rec = json.loads((model / "metrics.json").read_text())
    assert rec["test"]["n"] == 12 and "9 channels" in (model / "README.md").read_text()
    # the matched set: the build's test fakes against its own reals as the pool (own pair excluded)
    clip = build_tiny_clip_full(tmp_path / "clip")
    code, stdout, err = cli("retrieve", out, "--pool", out, "--model", clip, "--out", tmp_path / "matched")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["matched"] == summary["fakes"] == 6 and summary["features_carried"] == 12
    assert summary["text_used"] and summary["text_weight"] == 0.5  # bundled reals have captions
    code, table, err = cli("eval", model, "--on", out, tmp_path / "matched", "--json", tmp_path / "e.json")
    assert code == 0, err
    rows = json.loads((tmp_path / "e.json").read_text())["results"]
    assert [r["metrics"]["n"] for r in rows] == [12, 12]
    # restored model, same scores as at training time on the same split
    assert rows[0]["metrics"]["ap"] == pytest.approx(rec["test"]["ap"])
