"""`toolkit study` end to end on a tiny study (two trace datasets built from the demo recipe, the
freq-probe detector, two seeds), and the pieces it stands on: `toolkit eval` with several models, the
sweep and per-image scores; presets; one card record per run; the bootstrap's pairing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT

TINY = """
name: tiny
datasets:
  strong: {recipe: %(recipe)s, overrides: {fakes: [{kind: trace, amplitude: 4.0}], augment.ops: {}, reals.count: 16, image.size: 64}}
  faint: {recipe: %(recipe)s, overrides: {fakes: [{kind: trace, amplitude: 0.7}], augment.ops: {}, reals.count: 16, image.size: 64}}
build_overrides: {runner.scheduler: synchronous, runner.progress: false, runner.shard_size: 16}
detectors:
  probe: {kind: freq-probe}
seeds: [0, 1]
train: [strong, faint]
eval: [strong, faint]
robustness: [jpeg90]
compare:
  - {name: strong vs faint test, metric: ap, a: {train: strong, eval: strong}, b: {train: strong, eval: faint}}
bootstrap: 200
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from toolkit.cli import main

    root = tmp_path_factory.mktemp("study")
    path = root / "tiny.yaml"
    path.write_text(TINY % {"recipe": ROOT / "recipes" / "demo.yaml"})
    out = root / "out"
    assert main(["study", str(path), "--out", str(out)]) == 0
    return path, out


def test_tiny_study_end_to_end(study, capsys):
    path, out = study
    table = pd.read_parquet(out / "results.parquet")
    # the matrix: 2 train x 2 eval x 1 detector x 2 seeds x (clean + jpeg90)
    assert len(table) == 16
    assert set(zip(table["train"], table["eval"])) == {(a, b) for a in ("strong", "faint") for b in ("strong", "faint")}
    assert set(table["seed"]) == {0, 1} and set(table["perturbation"]) == {"clean", "jpeg90"}
    assert {"ap", "roc_auc", "balanced_acc", "acc@val", "ece", "nll"} <= set(table.columns)
    assert (out / "results.csv").read_text().startswith("train,eval,detector,seed,")
    scores = pd.read_parquet(out / "scores.parquet")
    assert {"pair_id", "label", "score", "perturbation"} <= set(scores.columns)
    # every row of the table is recomputable from the kept per-image scores
    from toolkit.detectors.metrics import average_precision

    row = table[(table["train"] == "strong") & (table["eval"] == "faint") & (table["seed"] == 1)
                & (table["perturbation"] == "clean")].iloc[0]
    sel = scores[(scores["train"] == "strong") & (scores["eval"] == "faint") & (scores["seed"] == 1)
                 & (scores["perturbation"] == "clean")]
    assert len(sel) == row["n"] and average_precision(sel["label"], sel["score"]) == pytest.approx(row["ap"])
    # the strong trace is learnt: AP 1 on its own test for both seeds
    assert table[(table["train"] == "strong") & (table["eval"] == "strong") & (table["perturbation"] == "clean")]["ap"].min() > 0.99
    # intervals: over seeds (Student t) and the paired bootstrap of the declared comparison
    summ = pd.read_csv(out / "summary.csv")
    r = summ[(summ["train"] == "strong") & (summ["eval"] == "faint") & (summ["perturbation"] == "clean")].iloc[0]
    aps = table[(table["train"] == "strong") & (table["eval"] == "faint") & (table["perturbation"] == "clean")]["ap"]
    assert r["ap"] == pytest.approx(aps.mean()) and r["ap_low"] <= r["ap"] <= r["ap_high"]
    comp = json.loads((out / "comparisons.json").read_text())[0]
    b = comp["bootstrap"]
    assert b["paired"] is True  # two builds of the same reals share their pair_ids: paired across conditions
    assert b["low"] <= b["diff"] <= b["high"] and b["resamples"] == 200
    assert b["diff"] == pytest.approx(np.mean(comp["per_seed"]))
    report = (out / "report.md").read_text()
    assert "| strong vs faint test | ap |" in report and "## Versions" in report and "toolkit study" in report
    assert "dB (" in report  # the PSNR of each dataset's fakes
    fid = json.loads((out / "fidelity.json").read_text())
    assert fid["strong"]["psnr"] < fid["faint"]["psnr"]  # 4 grey levels RMS is the stronger trace
    assert 20 * np.log10(255 / 4.0) - 1 < fid["strong"]["psnr"] < 20 * np.log10(255 / 4.0) + 1
    for png in ("heatmap-probe.png", "robustness-strong.png", "robustness-faint.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    # a second run rebuilds, retrains and re-evaluates nothing
    from toolkit.cli import main

    models = sorted((out / "models").glob("*/model.safetensors"))
    assert len(models) == 4
    before = {p: p.stat().st_mtime_ns for p in models + sorted((out / "builds").glob("*/data/*.parquet"))}
    capsys.readouterr()
    assert main(["study", str(path), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "built 0, trained 0, evaluated 0" in captured.out
    assert "(0 to build)" in captured.err and "(0 to train)" in captured.err
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_eval_several_models_with_sweep_and_scores(study, cli, tmp_path):
    _, out = study
    models = sorted(str(p.parent) for p in (out / "models").glob("*/model.safetensors"))[:2]
    build = sorted(str(p) for p in (out / "builds").iterdir())[0]
    code, stdout, err = cli("eval", *models, "--on", build, "--perturbations", "jpeg75", "webp75",
                            "--scores", tmp_path / "s.parquet", "--json", tmp_path / "r.json")
    assert code == 0, err
    assert stdout.count("Detector `") == 2 and "| jpeg75 |" in stdout and "Per augmentation chain" in stdout
    s = pd.read_parquet(tmp_path / "s.parquet")
    assert set(s["model"]) == set(models) and set(s["perturbation"]) == {"clean", "jpeg75", "webp75"}
    res = json.loads((tmp_path / "r.json").read_text())["results"]
    assert len(res) == 2 and [r["perturbation"] for r in res[0]["robustness"]] == ["clean", "jpeg75", "webp75"]
    code, _, err = cli("eval", *models, "--on", build, "--perturbations", "jpeg57")
    assert code == 2 and "unknown perturbation 'jpeg57'" in err


def test_card_keeps_one_record_per_run(study, cli):
    _, out = study
    build = sorted(str(p) for p in (out / "builds").iterdir())[0]
    for seed in (0, 1):
        code, _, err = cli("train", build, "--detector", "freq-probe", f"seed={seed}", "robustness=false",
                           "--out", Path(build).parent.parent / f"card-{seed}")
        assert code == 0, err
    records = json.loads((Path(build) / "meta" / "detector" / "card.json").read_text())["detectors"]
    assert len(records) == 2 and {r["config"]["seed"] for r in records.values()} == {0, 1}
    assert "freq-probe" in records
    card = (Path(build) / "README.md").read_text()
    assert card.count("### `freq-probe`") == 2 and "seed 1)" in card
    from toolkit.detectors.run import record_key

    again = dict(records["freq-probe"])  # a run with the same settings replaces the record it matches
    assert record_key(records, again) == "freq-probe"
    other = {**again, "config_hash": "f" * 16}
    assert record_key(records, other) == "freq-probe-ffffffff"


def test_bad_study_files_are_one_line_errors(cli, tmp_path):
    good = TINY % {"recipe": ROOT / "recipes" / "demo.yaml"}
    cases = [
        (good.replace("seeds:", "seds:"), "seds: unknown key (did you mean 'seeds'?)"),
        (good.replace("train: [strong, faint]", "train: [strong, fiant]"), "train.1: unknown dataset 'fiant'"),
        (good.replace("{kind: freq-probe}", "{kind: freq-prob}"), "detectors.probe.kind: unknown detector"),
        (good.replace("[jpeg90]", "[jpeg9]"), "unknown perturbation 'jpeg9'"),
        (good.replace("eval: strong}, b", "eval: strong, perturbation: webp50}, b"), "compare.0.a.perturbation"),
        (good.replace("reals.count: 16, image.size: 64}}\n  faint", "reals.cont: 16, image.size: 64}}\n  faint"),
         "reals.cont"),
        (good.replace(str(ROOT / "recipes" / "demo.yaml"), "nope.yaml", 1), "datasets.strong.recipe: nope.yaml: no such file"),
    ]
    for text, msg in cases:
        p = tmp_path / "bad.yaml"
        p.write_text(text)
        code, _, err = cli("study", p, "--out", tmp_path / "o")
        assert code == 2 and msg in err and len(err.strip().splitlines()) == 1, (msg, err)
    assert not (tmp_path / "o").exists()  # checked before any work


def test_presets_demo_is_the_demo_recipes_detector(cli):
    import yaml

    from toolkit.config.recipe import load_recipe
    from toolkit.detectors.config import detector_config, to_dict

    code, stdout, _ = cli("train", "unused", "--preset", "demo", "--print-config")
    assert code == 0
    demo = to_dict(load_recipe(ROOT / "recipes" / "demo.yaml").detector)
    printed = yaml.safe_load(stdout)
    for k in ("preset", "note"):
        demo.pop(k)
        printed.pop(k)
    assert printed == demo
    code, _, err = cli("train", "unused", "--detector", "clip-knn", "--preset", "demo", "--print-config")
    assert code == 2 and "clip-knn has presets paper, light" in err
    assert to_dict(detector_config({"kind": "resnet50", "preset": "demo", "crop": 32}))["crop"] == 32


def test_paired_bootstrap_pairs_by_pair_id():
    from toolkit.study.stats import ap, paired_bootstrap, t_interval

    rng = np.random.default_rng(0)
    ids = np.repeat([f"p{i}" for i in range(40)], 2)
    labels = np.tile([0, 1], 40)
    noise = rng.normal(size=80)
    a = {"pair_id": ids, "label": labels, "score": labels * 1.0 + noise}
    b = {"pair_id": ids[::-1].copy(), "label": labels[::-1].copy(), "score": (labels * 1.0 + noise)[::-1].copy()}
    same = paired_bootstrap([a], [b], "ap", 300)  # b is a, rows reordered: paired, so exactly zero
    assert same["paired"] and same["diff"] == pytest.approx(0) and same["low"] == pytest.approx(0) == same["high"]
    better = {**a, "score": labels * 3.0 + noise}
    d = paired_bootstrap([better], [a], "ap", 300)
    assert d["diff"] > 0 and d["low"] > 0 and d["excludes_zero"]
    from sklearn.metrics import average_precision_score

    tied = np.round(a["score"], 0)
    assert ap(labels, tied) == pytest.approx(average_precision_score(labels, tied))
    m, lo, hi = t_interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t(0.975, 2) = 4.303
    assert m == 2 and hi - m == pytest.approx(4.3027 / np.sqrt(3), rel=1e-3) and lo == pytest.approx(2 * m - hi)
    assert os.path.basename(__file__) == "test_study.py"


def test_a_finding_needs_both_intervals():
    """Reproduced = the declared sign with the bootstrap over pairs *and* the t interval over seeds above zero."""
    from toolkit.study.report import verdict_of

    up, flat = {"excludes_zero": True, "diff": 0.03}, {"excludes_zero": False, "diff": 0.03}
    assert verdict_of(up, 0.01, 5) == "yes"
    assert verdict_of(up, -0.12, 5) == "no (not over seeds)"  # the test pairs agree, the training runs do not
    assert verdict_of(flat, 0.01, 5) == "no"
    assert verdict_of({"excludes_zero": True, "diff": -0.03}, -0.05, 5) == "no"  # the wrong sign
    assert verdict_of(up, float("nan"), 2) == "yes (over pairs only: 2 seeds)"


def test_shipped_studies_and_their_variants_plan(tmp_path):
    from toolkit.config.recipe import load_recipe
    from toolkit.study.config import load_study
    from toolkit.study.plan import make_plan

    names = sorted(p.stem for p in (ROOT / "studies").glob("*.yaml"))
    assert {"misaligned", "augmentation", "syncing", "shaders", "quantize"} <= set(names)
    for name in names:
        path = str(ROOT / "studies" / f"{name}.yaml")
        full = load_study(path, out=str(tmp_path / "o"))
        assert full.compare and len(full.seeds) >= 5
        tiny = load_study(path, out=str(tmp_path / "o"), variant="tiny")
        assert tiny.seeds == [0, 1] and all("image.size=64" in d.overrides for d in tiny.datasets.values())
        plan = make_plan(tiny)  # every recipe and override resolves, every detector validates
        assert len(plan.cells) == len(tiny.train) * len(tiny.eval) * len(tiny.detectors) * len(tiny.seeds)
        paper = load_study(path, out=str(tmp_path / "o"), variant="paper")
        for d in paper.datasets.values():
            assert "aligned_vae" in d.recipe or "shaders" in d.recipe
            load_recipe(d.recipe, d.overrides)  # the paper-scale overrides are valid too
    assert not (tmp_path / "o").exists()  # planning writes nothing


def test_plan_takes_builds_and_hub_ids(study, cli, tmp_path):
    _, out = study
    build = sorted(str(p) for p in (out / "builds").iterdir())[0]
    recipe_hash = json.loads((Path(build) / "meta" / "build.json").read_text())["recipe_hash"]
    p = tmp_path / "mixed.yaml"
    p.write_text(f"name: mixed\ndatasets:\n  old: {{build: {build}}}\n  remote: {{hub: org/some-dataset}}\n"
                 "detectors:\n  probe: {kind: freq-probe}\n  demo: {kind: resnet50, preset: demo}\n"
                 "seeds: 3\ntrain: [old]\neval: [old, remote]\n")
    code, stdout, err = cli("study", p, "--plan", "--out", tmp_path / "o")
    assert code == 0, err
    assert f"dataset old: {build} (build:{recipe_hash})" in stdout and "(hub:org/some-dataset)" in stdout
    assert stdout.count("to train") == 6 and "12 evaluations, 12 to run" in stdout  # 2 detectors x 3 seeds
    assert not (tmp_path / "o").exists()
