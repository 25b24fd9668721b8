"""The dataset card: metadata the Hub and `datasets` read, a body that states what the build is, figures."""

from __future__ import annotations

import json
import re
import time

import pytest
import yaml
from publish_demo import demo_build, demo_copy

from toolkit.card.render import TEMPLATES, _env, refresh_card, validate_card
from toolkit.card.license import license_info
from toolkit.sample import hf_features
from toolkit.store.atomic import AtomicFolder
from toolkit.store.manifest import MANIFEST_FILE, publishable_files


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return demo_build(tmp_path_factory)


def front_matter(text: str) -> dict:
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert m, "card has no YAML front matter"
    return yaml.safe_load(m.group(1))


def test_card_metadata_round_trips_through_huggingface_hub(built):
    from huggingface_hub import DatasetCard, DatasetCardData

    text = (built / "README.md").read_text()
    meta = front_matter(text)
    card = DatasetCard(text)
    assert card.data.to_dict() == meta
    again = DatasetCard(DatasetCardData(**meta).to_yaml().join(["---\n", "\n---\n"]) + card.text)
    assert again.data.to_dict() == meta
    assert meta["license"] == "other" and meta["license_name"] and meta["license_link"] == "meta/LICENSE.md"
    assert meta["task_categories"] == ["image-classification"]
    assert "synthetic-image-detection" in meta["tags"]
    assert meta["size_categories"] == ["n<1K"]
    assert meta["source_datasets"]
    label = next(f for f in meta["dataset_info"]["features"] if f["name"] == "label")
    assert label["dtype"]["class_label"]["names"] == {"0": "real", "1": "fake"}
    # data_files patterns match the shards only, never side files under meta/
    files = publishable_files(AtomicFolder(str(built))) + [MANIFEST_FILE]
    assert validate_card(text, files) == []


def test_card_body_states_versions_models_counts_figures_citations(built):
    text = (built / "README.md").read_text()
    summary = json.loads((built / "meta/summary.json").read_text())
    for lib in ("torch", "diffusers", "transformers", "datasets", "pillow", "numpy", "libjpeg_turbo", "libwebp"):
        assert re.search(rf"\| {lib}( \(Pillow\))? \| [0-9]", text), lib
    gen = summary["generators"]["vae_roundtrip"]
    assert gen["weights_sha256"] in text and gen["model"] in text
    for split, v in summary["splits"].items():
        assert f"| {split} | {v['pairs']} | {v['rows']} |" in text
    for arxiv in ("2410.11835", "2302.10174", "2406.08603"):
        assert arxiv in text
    assert (built / "recipe.yaml").read_text() in text  # the recipe, verbatim
    for rel in ("meta/figures/sample_grid.png", "meta/figures/histograms.png", "meta/LICENSE.md"):
        assert f"]({rel})" in text
        assert (built / rel).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" or rel.endswith(".md")
    assert "load_dataset(" in text and "streaming=True" in text
    assert "Research use only" in text  # the bundled motorcycle photo has no stated licence
    # every pluggable section (detector, audit, ...) is rendered, pending until its stage writes card.json
    env = _env()
    for tpl in sorted((TEMPLATES / "sections").glob("*.md.j2")):
        assert env.get_template(f"sections/{tpl.name}").render(data=None).strip() in text


def test_staged_card_loads_every_split_with_declared_features(built):
    from datasets import load_dataset

    from toolkit.publish.stage import stage

    staged = stage(str(built), load_path="my-org/demo")
    try:
        text = (staged.root / "README.md").read_text()
        assert 'load_dataset("my-org/demo")' in text
        meta = front_matter(text)
        ds = load_dataset(str(staged.root))
        declared = {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]}
        assert set(ds) == set(declared)
        for split, n in declared.items():
            assert ds[split].num_rows == n
            assert ds[split].features == hf_features()
        assert ds["train"].features["label"].names == ["real", "fake"]
    finally:
        staged.cleanup()
    assert not (built / "_push").exists()


def test_toolkit_card_rerenders_from_disk(built, tmp_path_factory, tmp_path, cli):
    out = demo_copy(tmp_path_factory, tmp_path)
    before = (out / "README.md").read_text()
    grid = (out / "meta/figures/sample_grid.png").read_bytes()
    for rel in ("README.md", "meta/figures/sample_grid.png", "meta/figures/histograms.png", "meta/LICENSE.md"):
        (out / rel).unlink()
    code, stdout, err = cli("card", out)
    assert code == 0, err
    assert (out / "README.md").read_text() == before  # same inputs, same card (env read back from disk)
    assert (out / "meta/figures/sample_grid.png").read_bytes() == grid  # deterministic figures
    assert not (out / "_tmp").exists()  # no empty scratch folder left behind
    # what the card reports comes from disk: a changed summary shows up after a re-render
    summary = json.loads((out / "meta/summary.json").read_text())
    summary["dropped"] = {"truncated": 3, "too_small": 1}
    (out / "meta/summary.json").write_text(json.dumps(summary))
    refresh_card(str(out))
    text = (out / "README.md").read_text()
    assert "| `truncated` | 3 |" in text and "| `too_small` | 1 |" in text


def test_card_of_missing_build_is_one_line(tmp_path, cli):
    code, _, err = cli("card", tmp_path / "nothing")
    assert code == 2 and "nothing: no such file or directory" in err and "Traceback" not in err


def test_figures_are_fast(built, tmp_path_factory, tmp_path):
    from toolkit.card.stats import collect_stats
    from toolkit.card.figures import write_figures

    out = AtomicFolder(str(demo_copy(tmp_path_factory, tmp_path)))
    write_figures(out, collect_stats(out))  # warm imports (matplotlib)
    t0 = time.process_time()  # CPU time: the machine is shared, wall time would measure the neighbours
    info = write_figures(out, collect_stats(out))
    assert time.process_time() - t0 < 2.0  # ~0.25 s CPU here
    assert info["psnr"]["pairs"] == 12 and info["grid_pairs"] == 6


def test_laion_reals_are_marked_unknown_rights_research_only():
    """Each source states its own licence in describe(); the card only renders it."""
    from toolkit.sources.bundled import photos_license
    from toolkit.sources.laion import LAION_LICENSE

    lic = license_info({"kind": "laion", "url_list": "x.parquet", "license": LAION_LICENSE})
    assert lic["license"] == "other" and lic["research_only"] and lic["license_name"].startswith("laion")
    assert "unknown" in lic["summary"].lower() and "research" in lic["summary"].lower()
    assert lic["license_name"] and lic["license_link"]
    bundled = license_info({"kind": "bundled", "license": photos_license(["chelsea.png", "coffee.png"], "skimage")})
    assert not bundled["research_only"] and "CC0" in bundled["text"]
    assert photos_license(["motorcycle_left.png"], "skimage")["research_only"]
    assert license_info({"kind": "folder"})["research_only"]  # a source that says nothing: unknown rights


def test_validation_catches_a_wrong_card(built):
    text = (built / "README.md").read_text()
    files = publishable_files(AtomicFolder(str(built))) + [MANIFEST_FILE]
    bad = text.replace("path: data/train-*", "path: meta/*")
    assert any("split 'train'" in p for p in validate_card(bad, files))
    no_name = re.sub(r"\nlicense_name: .*", "", text, count=1)
    assert any("license_name" in p for p in validate_card(no_name, files))
    assert any("sample_grid.png" in p for p in validate_card(text, [f for f in files if "sample_grid" not in f]))


def test_laion_card_states_unknown_rights_research_only_and_download_stats(built, tmp_path_factory, tmp_path):
    """A LAION-sourced build (its recipe and stats file stand in for a download; no network here)."""
    out = demo_copy(tmp_path_factory, tmp_path)
    recipe = yaml.safe_load((out / "recipe.yaml").read_text())
    url_list = "hf://datasets/laion/relaion2B-en-research-safe/part-00000.parquet"
    recipe["reals"] = {"kind": "laion", "url_list": url_list, "count": 100}
    (out / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    stats = {"url_list": url_list, "files": [url_list], "columns": ["url", "caption"], "rows_read": 100,
             "filters": {}, "dropped_before_download": {"filter_too_small": 7},
             "downloaded": {"urls": 93, "img2dataset": "1.47.0", "totals": {"successes": 71},
                            "messages": {}, "shards": {}},
             "dropped_downloading": {"http_404": 20, "timeout": 2}, "dropped_after_download": {},
             "dropped": {"filter_too_small": 7, "http_404": 20, "timeout": 2}, "kept": 71,
             "download_success_rate": 0.7634, "formats": {"jpeg": 60, "png": 11},
             "jpeg_quality": {"min": 50, "median": 85.0, "max": 100, "histogram": {}}, "note": ""}
    (out / "meta/laion").mkdir()
    (out / "meta/laion/stats.json").write_text(json.dumps(stats))
    text = refresh_card(str(out))
    meta = front_matter(text)
    assert meta["license"] == "other"
    assert meta["license_name"] == "laion-derived-unknown-rights-research-only"
    assert meta["source_datasets"] == ["extended|laion/relaion2B-en-research-safe"]
    assert "research-only" in meta["tags"] and "reals-laion" in meta["tags"]
    assert "Research use only" in text and "**unknown**" in text
    assert "download success rate 0.7634" in text and "`http_404` 20" in text and "median 85.0" in text
    lic = (out / "meta/LICENSE.md").read_text()
    assert "unknown per image" in lic and "research" in lic
    assert validate_card(text, publishable_files(AtomicFolder(str(out))) + [MANIFEST_FILE]) == []
