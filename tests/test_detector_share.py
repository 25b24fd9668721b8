"""Detectors that travel: the transformers form (config.json + model.safetensors + a model card with Hub
metadata), `toolkit predict` on files, folders and URLs, `toolkit push MODEL --hub` (recorded HfApi)."""

from __future__ import annotations

import http.server
import io
import json
import shutil
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq
import pytest
from hub_recorder import RecordingHfApi
from tiny_detect import TINY_RESNET, write_pairs

FAKE_TOKEN = "hf_FAKE0123456789abcdefTOKENvalue"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from toolkit.cli import main

    ds = write_pairs(tmp_path_factory.mktemp("ds") / "pairs", {"train": 12, "test": 6}, seed=3)
    out = tmp_path_factory.mktemp("m") / "resnet"
    assert main(["train", ds, "--detector", "resnet50", "--out", str(out), "--no-card", *TINY_RESNET,
                 "max_epochs=1", "lr=3e-3"]) == 0
    return SimpleNamespace(ds=Path(ds), model=out)


def stored_images(trained):
    rows = pq.read_table(trained.ds / "data/test-00000-of-00001.parquet").to_pylist()
    assert len(rows) == 12
    return [r["image"]["bytes"] for r in rows]


def toolkit_scores(model, images: list[bytes]) -> np.ndarray:
    from toolkit.detectors import storage
    from toolkit.detectors.data import Split

    det, _ = storage.load(str(model))
    n = len(images)
    return det.predict(Split("t", images, np.zeros(n, int), [str(i) for i in range(n)], ["x"] * n, ["x"] * n))


def test_transformers_loads_the_detector_with_the_same_scores(trained):
    from PIL import Image
    from huggingface_hub import ModelCard
    from transformers import AutoConfig, AutoModel

    import toolkit.detectors.hf_model as hf_model

    assert {"config.json", "model.safetensors", "README.md", "detector.json"} <= {p.name for p in trained.model.iterdir()}
    conf = AutoConfig.from_pretrained(trained.model)
    assert conf.model_type == "toolkit-detector" and conf.kind == "resnet50" and conf.stem == "conv-s1+maxpool-s1"
    model = AutoModel.from_pretrained(trained.model)
    assert isinstance(model, hf_model.ToolkitDetectorModel)
    images = stored_images(trained)
    want = toolkit_scores(trained.model, images)
    got = [float(model.predict_proba(model.preprocess(np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))))[0])
           for b in images]
    assert np.allclose(got, want, atol=1e-5) and np.ptp(want) > 1e-3  # same scores, and not a constant
    meta = json.loads((trained.model / "detector.json").read_text())
    assert conf.threshold == pytest.approx(meta["threshold"])

    card = ModelCard.load(trained.model / "README.md")  # the Hub's own parser
    data = card.data.to_dict()
    assert data["datasets"] == ["pairs"] and data["library_name"] == "toolkit"
    assert {"average_precision", "roc_auc", "accuracy"} <= set(data["metrics"])
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    metrics = json.loads((trained.model / "metrics.json").read_text())["test"]
    assert results["average_precision"] == pytest.approx(metrics["ap"], abs=1e-4)
    assert data["toolkit"]["settings"]["preset"] == "light" and data["toolkit"]["settings"]["crop"] == 24
    assert str(trained.ds) not in card.content.split("---")[1]  # no local path in the metadata: the dataset's name
    assert "AutoModel.from_pretrained" in card.text and "toolkit predict" in card.text


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    """A folder served on 127.0.0.1 (an ephemeral port) while the test runs."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **k: QuietHandler(*a, directory=str(root), **k))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_predict_scores_files_folders_and_urls(trained, tmp_path, served, cli):
    images = stored_images(trained)[:5]
    want = toolkit_scores(trained.model, images)
    folder = tmp_path / "shots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(images[0])
    (folder / "sub/b.png").write_bytes(images[1])
    (folder / "notes.txt").write_text("not an image, not listed")
    single = tmp_path / "c.png"
    single.write_bytes(images[2])
    www, base = served
    (www / "d.png").write_bytes(images[3])
    code, out, err = cli("predict", trained.model, single, folder, f"{base}/d.png")
    assert code == 0, err
    lines = [line.split("\t") for line in out.splitlines()]
    assert [p for _, p in lines] == [str(single), str(folder / "a.png"), str(folder / "sub/b.png"), f"{base}/d.png"]
    assert np.allclose([float(s) for s, _ in lines], [want[2], want[0], want[1], want[3]], atol=1e-5)

    # bad inputs: one line each, the others still scored, exit 1 at the end
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    code, out, err = cli("predict", trained.model, tmp_path / "broken.png", single, f"{base}/missing.png",
                         tmp_path / "none.png", "ftp://127.0.0.1/x.png", "--json")
    assert code == 1
    doc = json.loads(out)
    assert [r["path"] for r in doc["images"]] == [str(single)] and doc["images"][0]["score"] == pytest.approx(want[2], abs=1e-5)
    assert doc["threshold"] == pytest.approx(json.loads((trained.model / "detector.json").read_text())["threshold"])
    problems = {e["path"]: e["error"] for e in doc["errors"]}
    assert "not a readable image" in problems[str(tmp_path / "broken.png")]
    assert "404" in problems[f"{base}/missing.png"]
    assert "no such file" in problems[str(tmp_path / "none.png")]
    assert "unsupported URL scheme" in problems["ftp://127.0.0.1/x.png"]
    assert len(err.strip().splitlines()) == 5 and "Traceback" not in err and "4 of 5 image(s)" in err

    # the transformers form alone (what a Hub download of a pushed detector needs): the same scores
    hf_only = tmp_path / "hf_only"
    hf_only.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(trained.model / name, hf_only / name)
    code, out, err = cli("predict", hf_only, single, folder)
    assert code == 0, err
    assert np.allclose([float(line.split("\t")[0]) for line in out.splitlines()], [want[2], want[0], want[1]], atol=1e-5)


def test_predict_with_a_bad_model_is_one_line(trained, tmp_path, cli):
    img = tmp_path / "x.png"
    img.write_bytes(stored_images(trained)[0])
    for model, msg in ((tmp_path / "none", "cannot load"), (trained.ds, "not a detector")):
        code, out, err = cli("predict", model, img)
        assert code == 2 and msg in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_push_a_model_folder_to_the_hub(trained, tmp_path, cli, monkeypatch):
    from toolkit.publish import hub

    model = tmp_path / "model"
    shutil.copytree(trained.model, model)
    (model / "scratch.txt").write_text("a note that is not the model's")
    monkeypatch.setattr(hub, "hf_api", RecordingHfApi)
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    RecordingHfApi.calls, RecordingHfApi.uploaded = [], {}
    code, out, err = cli("push", model, "--hub", "my-org/detector", "--dry-run")
    assert code == 0 and "repo_type='model'" in out and "model.safetensors" in out and not RecordingHfApi.calls
    code, out, err = cli("push", model, "--hub", "my-org/detector", "--private", "--commit-message", "first")
    assert code == 0, err
    assert [c[0] for c in RecordingHfApi.calls] == ["create_repo", "upload_folder"]
    assert RecordingHfApi.calls[0][2] == {"repo_type": "model", "private": True, "exist_ok": True}
    assert RecordingHfApi.calls[1][2]["repo_type"] == "model" and RecordingHfApi.calls[1][2]["commit_message"] == "first"
    assert {"model.safetensors", "config.json", "detector.json", "README.md", "metrics.json"} <= set(RecordingHfApi.uploaded)
    assert "scratch.txt" not in RecordingHfApi.uploaded
    assert RecordingHfApi.uploaded["model.safetensors"] == (model / "model.safetensors").read_bytes()
    assert FAKE_TOKEN not in out + err
    code, _, err = cli("push", model, "--to", f"file://{tmp_path / 'x'}")
    assert code == 2 and "--hub" in err and err.count("\n") == 1
