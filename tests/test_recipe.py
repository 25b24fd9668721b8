"""Bad recipes end with exit code 2 and one readable line naming the file and the key path."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

DEMO = ROOT / "recipes" / "demo.yaml"


def write(tmp_path, data) -> str:
    p = tmp_path / "r.yaml"
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(p)


def base() -> dict:
    return yaml.safe_load(DEMO.read_text())


@pytest.mark.parametrize("overrides, expect", [
    (["image.sise=128"], ["image.sise", "unknown key", "did you mean 'size'"]),
    (["image.size=abc"], ["image.size", "expected int", "'abc'"]),
    (["reals.kind=folderz"], ["reals.kind", "unknown source kind 'folderz'", "did you mean 'folder'"]),
    (["reals.cout=3"], ["reals.cout", "did you mean 'count'"]),
    (["fakes.0.kind=vae_rountrip"], ["fakes[0].kind", "did you mean 'vae_roundtrip'"]),
    (["fakes.0.latnt=mode"], ["fakes[0].latnt", "did you mean 'latent'"]),
    (["augment.ops.jpg.p=0.5"], ["augment.ops.jpg", "did you mean 'jpeg'"]),
    (["augment.ops.jpeg.quality=[90,10]"], ["augment.ops.jpeg.quality", "low <= high"]),
    (["split.train=0.5"], ["split", "sum to 1"]),
    (["runner.shard_size=many"], ["runner.shard_size", "expected int"]),
    (["image.resize_filter=lanczoz"], ["image.resize_filter", "did you mean 'lanczos'"]),
    (["sizeimage"], ["not of the form key=value"]),
])
def test_bad_override(cli, overrides, expect):
    code, out, err = cli("make", DEMO, *overrides, "--print-recipe")
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(DEMO) in lines[0]
    for piece in expect:
        assert piece in lines[0], lines[0]


def test_missing_required_values(cli, tmp_path):
    data = base()
    del data["name"]
    code, _, err = cli("make", write(tmp_path, data), "--print-recipe")
    assert code == 2 and "name: missing required value" in err
    data = base()
    data["reals"] = {"kind": "folder"}
    code, _, err = cli("make", write(tmp_path, data), "--print-recipe")
    assert code == 2 and "reals.path: missing required value" in err, err
    data = base()
    del data["reals"]
    code, _, err = cli("make", write(tmp_path, data), "--print-recipe")
    assert code == 2 and "reals" in err and "missing" in err, err


def test_bad_yaml_and_missing_file(cli, tmp_path):
    code, _, err = cli("make", write(tmp_path, "name: [unclosed\n"), "--print-recipe")
    assert code == 2 and "invalid YAML" in err and "line" in err
    code, _, err = cli("make", tmp_path / "nope.yaml", "--print-recipe")
    assert code == 2 and "nope.yaml" in err and "cannot read" in err


def test_unknown_top_level_key_and_wrong_section_type(cli, tmp_path):
    data = base()
    data["imagee"] = {"size": 3}
    code, _, err = cli("make", write(tmp_path, data), "--print-recipe")
    assert code == 2 and "imagee: unknown key (did you mean 'image'?)" in err
    data = base()
    data["image"] = 5
    code, _, err = cli("make", write(tmp_path, data), "--print-recipe")
    assert code == 2 and "image: expected a mapping" in err


def test_print_recipe_applies_overrides(cli):
    code, out, err = cli("make", DEMO, "image.size=128", "reals.count=50", "--print-recipe")
    assert code == 0, err
    resolved = yaml.safe_load(out)
    assert resolved["image"]["size"] == 128
    assert resolved["reals"] == {**resolved["reals"], "kind": "bundled", "count": 50}
    assert resolved["fakes"][0]["kind"] == "vae_roundtrip"
    assert resolved["augment"]["ops"]["jpeg"]["quality"] == [65, 100]
    assert resolved["runner"]["shard_size"] == 50  # untouched values come through


def test_cli_error_is_one_line_without_traceback():
    """The installed entry point, as a user runs it: one line on stderr, exit code 2."""
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "make", str(DEMO), "reals.kind=lion"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "reals.kind" in proc.stderr


def test_runtime_settings_do_not_change_the_build_identity():
    from toolkit.config.recipe import load_recipe

    laion = ROOT / "recipes" / "aligned_vae.yaml"
    base_ = load_recipe(laion, ["reals.url_list=x.parquet"]).content_hash()
    same = load_recipe(laion, ["reals.url_list=x.parquet", "reals.threads=4", "reals.timeout=3", "runner.workers=1"])
    assert same.content_hash() == base_
    assert load_recipe(laion, ["reals.url_list=x.parquet", "reals.count=9"]).content_hash() != base_
    assert load_recipe(laion, ["reals.url_list=x.parquet", "image.size=128"]).content_hash() != base_
