"""Offline model failures are fast, one line, and leave nothing behind (issue 19 item 6). The suite runs
with HF_HUB_OFFLINE=1 (conftest), as a user without a network would."""

from __future__ import annotations

import time

import pytest
from tiny_detect import write_pairs

NOT_CACHED = "nobody-toolkit-test/not-a-cached-model"


def one_offline_line(err: str, model: str) -> None:
    assert len(err.splitlines()) == 1, err  # no retry warnings, no progress bar, no traceback
    assert err.startswith("toolkit: error: ") and f"model {model!r}" in err and "not available offline" in err


def test_make_with_an_uncached_model_fails_fast_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "out"
    assert cli("make", "demo", "--print-recipe")[0] == 0  # imports warm: what is timed is the failure itself
    t0 = time.time()
    code, _, err = cli("make", "demo", "--out", out, "reals.count=4", "image.size=64", "runner.scheduler=synchronous",
                       f"fakes.0.model={NOT_CACHED}")
    assert code == 2 and time.time() - t0 < 2
    one_offline_line(err, NOT_CACHED)
    assert "fakes[0].model" in err and not out.exists()
    code, _, err = cli("make", "demo", "--out", out, "captioner={model: Salesforce/blip-image-captioning-base}")
    assert code == 2 and "captioner.model" in err and not out.exists()


def test_train_with_an_uncached_backbone_fails_fast_and_leaves_no_folder(cli, tmp_path, monkeypatch):
    ds = write_pairs(tmp_path / "ds", {"train": 4, "test": 2})
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for argv in (["--detector", "clip-knn"], ["--detector", "resnet50"], ["--detector", "clip-probe",
                                                                         f"model={NOT_CACHED}"]):
        t0 = time.time()
        code, _, err = cli("train", ds, *argv)
        assert code == 2 and time.time() - t0 < 2, err
        assert "not available offline" in err and len(err.splitlines()) == 1
    code, _, err = cli("train", "/nonexist")
    assert code == 2 and "/nonexist: no such file or directory" in err
    assert list(work.iterdir()) == []  # no outputs/detectors/... in the working directory


def test_local_paths_builtins_and_cached_ids_pass_the_check(tmp_path, monkeypatch):
    import huggingface_hub.constants

    from toolkit.errors import ToolkitError
    from toolkit.models import check_available, looks_like_repo_id, offline

    assert offline()
    (tmp_path / "my_vae").mkdir()
    check_available(str(tmp_path / "my_vae"), "fakes[0].model")
    check_available("builtin:standin_vae", "fakes[0].model")
    with pytest.raises(ToolkitError, match="not available offline"):
        check_available("org/cached-model", "fakes[0].model")
    # a hub id in the cache (the layout huggingface_hub writes: refs/main -> snapshots/<commit>/)
    repo = tmp_path / "hub" / "models--org--cached-model"
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    check_available("org/cached-model", "fakes[0].model")
    with pytest.raises(ToolkitError, match="at revision 'v2' is not available offline"):
        check_available("org/cached-model", "fakes[0].model", revision="v2")
    check_available(str(tmp_path / "not-there"), "fakes[0].model")  # a path: the loader's error names it
    assert not looks_like_repo_id("./vae") and not looks_like_repo_id("a/b/c") and looks_like_repo_id("org/x")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    check_available(NOT_CACHED, "fakes[0].model")  # online: the loader downloads, nothing to check here


def test_the_models_a_recipe_would_load_are_the_ones_checked():
    from toolkit.config.recipe import load_recipe
    from toolkit.models import recipe_models

    r = load_recipe("fakeinversion", ["reals.url_list=x.parquet"])
    assert [p for p, _, _ in recipe_models(r)] == ["fakes[0].model", "captioner.model", "features[0].model",
                                                  "features[0].caption_model"]
    r = load_recipe("fakeinversion", ["reals.url_list=x.parquet", "features.0.caption=row", "fakes.0.revision=v1",
                                      "captioner=null"])
    assert recipe_models(r) == [("fakes[0].model", "stable-diffusion-v1-5/stable-diffusion-v1-5", "v1"),
                                ("features[0].model", "stable-diffusion-v1-5/stable-diffusion-v1-5", None)]
    assert [p for p, _, _ in recipe_models(load_recipe("demo"))] == ["fakes[0].model"]  # detector model: null
