"""Command-line conventions (issue 19, items 7 and 8): `eval --json -`, verbatim --help examples, one exit
code for "not a build", quiet closed pipes, shipped recipes by name, recipes from fsspec URLs,
`toolkit info`, `toolkit schema`, and the Python API with its example."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import time

import pytest
import yaml
from publish_demo import demo_build, demo_copy
from tiny_detect import tiny_clip, write_pairs

from conftest import ROOT


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return demo_build(tmp_path_factory)


# --- item 7 -----------------------------------------------------------------------------------------


def test_eval_json_dash_writes_json_alone_to_stdout(cli, tmp_path, monkeypatch):
    ds = write_pairs(tmp_path / "ds", {"train": 6, "test": 4})
    model = tmp_path / "knn"
    code, _, err = cli("train", ds, "--detector", "clip-knn", "--out", model, f"model={tiny_clip(tmp_path / 'clip')}",
                       "robustness=false", "--no-card")
    assert code == 0, err
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("eval", model, "--on", ds, "--json", "-")
    assert code == 0, err
    doc = json.loads(out)  # stdout is the JSON and nothing else
    assert doc["model"] == str(model) and doc["results"][0]["dataset"] == ds
    assert "| dataset" in err or "AP" in err  # the table went to stderr
    assert not (tmp_path / "-").exists()


def test_help_keeps_examples_verbatim(capsys):
    from toolkit.cli import main

    with pytest.raises(SystemExit) as e:
        main(["push", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "\n  toolkit push outputs/demo --hub my-org/demo --dry-run      # files and settings, nothing sent\n" in out
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "\n  toolkit eval MODEL --on DS --json - | jq .results" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["verify", "{p}"], ["card", "{p}"], ["push", "{p}", "--to", "memory://x"],
                                  ["inspect", "{p}"], ["info", "{p}"], ["audit", "{p}"], ["train", "{p}"],
                                  ["eval", "{p}", "--on", "{p}"]])
def test_not_a_build_is_the_same_line_and_exit_code_everywhere(cli, tmp_path, argv):
    missing = tmp_path / "nope"
    code, _, err = cli(*[a.format(p=missing) for a in argv])
    assert code == 2 and err == f"toolkit: error: {missing}: no such file or directory (expected a toolkit build folder)\n"
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    code, _, err = cli(*[a.format(p=a_file) for a in argv])
    assert code == 2 and err == f"toolkit: error: {a_file}: not a toolkit build (no meta/build.json)\n"
    if argv[0] in ("verify", "card", "push", "inspect", "info"):  # these need a build, not any dataset
        code, _, err = cli(*[a.format(p=tmp_path) for a in argv])
        assert code == 2 and err == f"toolkit: error: {tmp_path}: not a toolkit build (no meta/build.json)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]  # nothing written


def test_a_closed_pipe_ends_quietly():
    r, w = os.pipe()
    os.close(r)  # the reader is gone before the first line (`| head -0`): every write fails
    try:
        p = subprocess.run([sys.executable, "-m", "toolkit", "recipes"], cwd=ROOT, stdout=w, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    finally:
        os.close(w)
    assert "Traceback" not in p.stderr and "BrokenPipeError" not in p.stderr, p.stderr
    assert p.returncode == 141


# --- item 8: recipes ----------------------------------------------------------------------------------


def test_shipped_recipes_are_listed_and_the_checkout_copies_are_identical(cli):
    from toolkit.recipes import HERE, shipped

    known = shipped()
    checkout = {p.stem: p.read_bytes() for p in (ROOT / "recipes").glob("*.yaml")}
    assert {n: r.path.read_bytes() for n, r in known.items()} == checkout  # recipes/ mirrors toolkit/recipes/
    assert HERE == ROOT / "toolkit" / "recipes"
    code, out, _ = cli("recipes")
    lines = out.splitlines()
    assert code == 0 and [ln.split()[0] for ln in lines] == list(known)
    assert all(len(ln.split(None, 1)[1]) > 20 for ln in lines)  # a description each
    code, out, _ = cli("recipes", "demo")
    assert code == 0 and out == known["demo"].path.read_text()
    assert 'recipes/*.yaml' in (ROOT / "pyproject.toml").read_text()  # package data: in the wheel


def test_make_reads_a_recipe_by_name_file_url_and_memory_url(cli, tmp_path):
    import fsspec

    code, by_name, err = cli("make", "demo", "--print-recipe", "reals.count=3")
    assert code == 0, err
    assert yaml.safe_load(by_name)["reals"]["count"] == 3
    text = (ROOT / "recipes" / "demo.yaml").read_text()
    (tmp_path / "r.yaml").write_text(text)
    code, by_file_url, err = cli("make", f"file://{tmp_path / 'r.yaml'}", "--print-recipe", "reals.count=3")
    assert code == 0 and by_file_url == by_name, err
    with fsspec.open("memory://recipes/r.yaml", "w") as f:
        f.write(text.replace("count: 300", "count: 5"))
    code, out, err = cli("make", "memory://recipes/r.yaml", "--print-recipe")
    assert code == 0 and yaml.safe_load(out)["reals"]["count"] == 5, err
    code, _, err = cli("make", "memory://recipes/none.yaml", "--print-recipe")
    assert code == 2 and err == "toolkit: recipe error: memory://recipes/none.yaml: cannot read recipe (no such file)\n"
    code, _, err = cli("make", "demo", "image.sise=3", "--print-recipe")
    assert code == 2 and "demo.yaml: image.sise: unknown key (did you mean 'size'?)" in err
    code, _, err = cli("make", "no_such_recipe")
    assert code == 2 and "not a shipped recipe: aligned_t2i, aligned_vae, bfree, demo" in err and len(err.splitlines()) == 1


def test_hf_recipe_url_goes_through_hffilesystem_and_fails_offline_in_one_line(cli):
    t0 = time.time()
    code, _, err = cli("make", "hf://datasets/nobody/nothing/recipe.yaml", "--print-recipe")
    assert code == 2 and len(err.splitlines()) == 1 and time.time() - t0 < 5
    assert err.startswith("toolkit: recipe error: hf://datasets/nobody/nothing/recipe.yaml: cannot read recipe")
    assert "offline" in err  # HF_HUB_OFFLINE (conftest): huggingface_hub's HfFileSystem refused, no network


def test_schema_is_generated_and_every_shipped_recipe_validates(cli):
    import jsonschema

    from toolkit.recipes import shipped

    code, out, _ = cli("schema")
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    check = jsonschema.Draft202012Validator(schema)
    for name, r in shipped().items():
        assert not list(check.iter_errors(yaml.safe_load(r.path.read_text()))), name
    demo = yaml.safe_load(shipped()["demo"].path.read_text())
    assert schema["properties"]["image"]["properties"]["size"]["description"].startswith("short side")
    kinds = [a["title"] for a in schema["properties"]["fakes"]["items"]["anyOf"]]
    assert "vae_roundtrip" in kinds and "text2image" in kinds
    for bad in ({**demo, "image": {**demo["image"], "sise": 3}}, {**demo, "fakes": [{"kind": "vae_rondtrip"}]},
                {**demo, "card": {"hompage": "https://x.org"}}, {k: v for k, v in demo.items() if k != "reals"}):
        assert list(check.iter_errors(bad))


# --- item 8: info -----------------------------------------------------------------------------------


def test_info_says_what_a_build_is_complete_incomplete_or_locked(cli, built, tmp_path_factory, tmp_path):
    from toolkit.store.atomic import AtomicFolder
    from toolkit.store.lock import BuildLock

    out = demo_copy(tmp_path_factory, tmp_path)
    summary = json.loads((out / "meta/summary.json").read_text())
    code, text, _ = cli("info", out)
    assert code == 0 and "'demo'" in text and "complete, 4/4 shards" in text
    code, js, _ = cli("info", out, "--json")
    facts = json.loads(js)
    assert facts["state"] == "complete" and facts["rows"] == summary["rows"] and facts["pairs"] == summary["pairs"]
    assert facts["recipe_hash"] == json.loads((out / "meta/build.json").read_text())["recipe_hash"]
    for split, v in summary["splits"].items():
        s = facts["splits"][split]
        assert (s["rows"], s["pairs"], s["real"], s["fake"], s["bytes"]) == (v["rows"], v["pairs"], v["pairs"],
                                                                             v["pairs"], v["bytes"])
    assert list(facts["splits"]) == ["train", "test"]  # the recipe's order
    assert facts["data_bytes"] == sum(v["bytes"] for v in summary["splits"].values()) < facts["total_bytes"]
    with BuildLock(AtomicFolder(str(out))):
        code, js, _ = cli("info", out, "--json")
        assert code == 1 and json.loads(js)["state"] == "locked" and json.loads(js)["locked_by"]["pid"] == os.getpid()
    next((out / "meta/shards").glob("train-*.json")).unlink()
    code, text, _ = cli("info", out)
    assert code == 1 and "INCOMPLETE, 3/4 shards" in text


# --- item 8: Python API -----------------------------------------------------------------------------


def test_import_toolkit_is_light():
    p = subprocess.run([sys.executable, "-c", "import sys, toolkit; print(sorted(m for m in ('torch', 'dask', "
                        "'datasets', 'omegaconf') if m in sys.modules)); print(toolkit.build, toolkit.load_recipe)"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("[]\n"), p.stderr


def test_python_api_example_builds_and_loads(tmp_path, capsys, monkeypatch):
    import toolkit
    from toolkit.errors import RecipeError

    with pytest.raises(RecipeError, match="image.sise: unknown key"):
        toolkit.load_recipe("demo", ["image.sise=3"])
    monkeypatch.setattr(sys, "argv", ["python_api.py", "--out", str(tmp_path / "api"), "--pairs", "6"])
    runpy.run_path(str(ROOT / "examples" / "python_api.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "built 6 pairs, 12 rows" in out and "first train row: pair" in out
    assert json.loads((tmp_path / "api/meta/summary.json").read_text())["complete"]
    # a resumed build of the same recipe does no work and gives the same summary counts
    again = toolkit.build("demo", out=tmp_path / "api", overrides=["reals.count=6", "image.size=64",
                                                                   "runner.shard_size=8", "detector=null"],
                          scheduler="synchronous", quiet=True)
    assert again["pairs"] == 6 and again["rows"] == 12
    with pytest.raises(toolkit.errors.ToolkitError, match="scheduler"):
        toolkit.build("demo", out=tmp_path / "x", scheduler="localhost:1")
    assert not (tmp_path / "x").exists()
