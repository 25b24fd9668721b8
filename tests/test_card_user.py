"""What a person writes into a card survives re-renders and pushes (issue 19 item 4), the card's metadata
(item 12), and `verify` of a pushed copy names each changed, missing or extra file (item 5)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from publish_demo import demo_build, demo_copy

from toolkit.card.user_content import BACKUP_FILE, RECORD_FILE

CARD_SECTION = {
    "description": "Pairs for **testing** the card.\n\nA second paragraph.",
    "citation": "@misc{mine2026,\n  title = {My aligned set},\n  year = {2026}\n}",
    "authors": ["Ada Lovelace", "Alan Turing"],
    "contact": "data@example.org",
    "homepage": "https://github.com/example/aligned-set",
    "tags": ["my-project", "synthetic-image-detection"],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return demo_build(tmp_path_factory)


def front_matter(text: str) -> dict:
    return yaml.safe_load(re.match(r"^---\n(.*?)\n---\n", text, re.S).group(1))


def fill(text: str, name: str, body: str) -> str:
    begin, end = f"<!-- user:begin {name} -->", f"<!-- user:end {name} -->"
    assert text.count(begin) == 1 and text.count(end) == 1
    return re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: begin + body + end, text, flags=re.S)


def test_user_regions_survive_card_and_push_and_edits_elsewhere_are_kept_or_refused(cli, built, tmp_path_factory,
                                                                                   tmp_path):
    out = demo_copy(tmp_path_factory, tmp_path)
    card = (out / "README.md").read_text()
    assert (out / RECORD_FILE).exists()  # the build recorded what it wrote
    mine = "\nOur **own** notes | with markup <b>kept</b>\n\n![x](https://example.org/x.png)\n"
    card = fill(fill(card, "about", mine), "citation", "\n@misc{extra}\n")
    card += "\n<!-- user:begin appendix -->\nA region of my own.\n<!-- user:end appendix -->\n"
    (out / "README.md").write_text(card)
    code, _, err = cli("card", out)
    assert code == 0 and err == ""  # edits inside regions only: no warning, no backup
    again = (out / "README.md").read_text()
    assert again == card and not (out / BACKUP_FILE).exists()
    # push: the published card carries the regions, and its own record
    code, _, err = cli("push", out, "--to", f"file://{tmp_path / 'pub'}")
    assert code == 0, err
    published = (tmp_path / "pub/README.md").read_text()
    for text in (mine, "@misc{extra}", "A region of my own."):
        assert text in published
    assert not (tmp_path / f"pub/{BACKUP_FILE}").exists()
    code, _, err = cli("card", tmp_path / "pub")  # the copy's card re-renders without a warning
    assert code == 0 and err == ""
    # an edit outside the regions: push refuses before sending anything; `toolkit card` keeps a backup
    edited = again.replace("## Columns", "## Columns (my edit)")
    (out / "README.md").write_text(edited)
    code, _, err = cli("push", out, "--to", f"file://{tmp_path / 'pub2'}")
    assert code == 2 and len(err.splitlines()) == 1 and "edited outside its <!-- user:begin NAME --> regions" in err
    assert not (tmp_path / "pub2").exists()
    code, _, err = cli("card", out)
    assert code == 0 and len(err.splitlines()) == 1 and err.startswith("toolkit: warning:") and BACKUP_FILE in err
    assert (out / BACKUP_FILE).read_text() == edited
    now = (out / "README.md").read_text()
    assert "(my edit)" not in now and mine in now and "A region of my own." in now
    code, _, err = cli("push", out, "--to", f"file://{tmp_path / 'pub2'}")
    assert code == 0, err
    assert BACKUP_FILE not in [p.name for p in (tmp_path / "pub2").rglob("*")]  # never published


def test_recipe_card_section_and_metadata(cli, built, tmp_path_factory, tmp_path):
    from huggingface_hub import DatasetCard

    out = demo_copy(tmp_path_factory, tmp_path)
    # the demo's own card: English captions (the toolkit's captions of the bundled photographs), sizes, no
    # link to the unrelated PyPI project called "toolkit"
    text = (out / "README.md").read_text()
    meta = front_matter(text)
    summary = json.loads((out / "meta/summary.json").read_text())
    assert meta["language"] == ["en"]
    data_bytes = sum(v["bytes"] for v in summary["splits"].values())
    assert meta["dataset_info"]["download_size"] == data_bytes == meta["dataset_info"]["dataset_size"]
    assert "pypi.org/project/toolkit" not in text and "Homepage" not in text
    # a card: section in the recipe (it does not change the build: not in the recipe hash)
    recipe = yaml.safe_load((out / "recipe.yaml").read_text())
    recipe["card"] = {**CARD_SECTION, "language": ["en", "de"]}
    (out / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    code, _, err = cli("card", out)
    assert code == 0 and err == "", err
    text = (out / "README.md").read_text()
    meta = front_matter(text)
    assert DatasetCard(text).data.to_dict() == meta  # still round-trips through huggingface_hub
    assert meta["language"] == ["en", "de"]
    assert meta["tags"].count("synthetic-image-detection") == 1 and "my-project" in meta["tags"]
    assert "Pairs for **testing** the card.\n\nA second paragraph." in text
    assert "- **Homepage:** <https://github.com/example/aligned-set>" in text
    assert "- **Authors:** Ada Lovelace, Alan Turing" in text
    assert "- **Contact:** [data@example.org](mailto:data@example.org)" in text
    assert "```bibtex\n@misc{mine2026," in text.split("## Citation", 1)[1]
    from toolkit.card.render import load_build

    _, rec, _ = load_build(str(out))
    from toolkit.config.recipe import recipe_from_yaml_text

    plain = recipe_from_yaml_text((out / "recipe.yaml").read_text().replace("card:", "card_unused:", 1)
                                  .split("card_unused:")[0])
    assert rec.content_hash() == plain.content_hash()  # card: never changes the build's identity
    code, _, err = cli("verify", out, "--quick")
    assert code == 0, err


@pytest.mark.parametrize("override, message", [
    ("card.homepage=ftp://example.org", "card.homepage: must be an http(s) URL"),
    ("card.tags=[has space]", "card.tags[0]: must be a Hub tag"),
    ("card.language=[english]", "card.language[0]: must be an ISO 639 code"),
    ("card.contat=x", "card.contat: unknown key (did you mean 'contact'?)"),
    ("card.description='<!-- user:begin x -->'", "card.description: must not contain '<!-- user:'"),
])
def test_card_section_is_validated_like_every_recipe_section(cli, override, message):
    code, _, err = cli("make", "demo", override, "--print-recipe")
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_caption_language_is_stated_only_when_known():
    from toolkit.card.render import caption_languages
    from toolkit.config.recipe import load_recipe

    folder = load_recipe("demo", ["reals={kind: folder, path: photos}"])
    assert caption_languages(folder, {"kind": "folder"}) == []  # a folder's own captions: unknown
    assert caption_languages(load_recipe("demo", ["reals={kind: folder, path: photos}", "card.language=[fr]"]),
                             {"kind": "folder"}) == ["fr"]
    laion = load_recipe("aligned_vae", ["reals.url_list=x.parquet"])
    for url, want in [("hf://datasets/laion/relaion2B-en-research-safe/part-0.parquet", ["en"]),
                      ("data/relaion2B-multi-research-safe/part-0.parquet", []),
                      ("data/my_list.parquet", [])]:
        assert caption_languages(laion, {"kind": "laion", "url_list": url}) == want, url


def test_verify_names_each_changed_missing_and_extra_file_of_a_pushed_copy(cli, built, tmp_path_factory, tmp_path):
    out = demo_copy(tmp_path_factory, tmp_path)
    target = tmp_path / "copy"
    code, _, err = cli("push", out, "--to", f"file://{target}")
    assert code == 0, err
    code, stdout, _ = cli("verify", f"file://{target}", "--quick")
    assert code == 0 and "OK" in stdout
    with open(target / "README.md", "a") as f:
        f.write("\nedited after the push\n")
    (target / "meta/LICENSE.md").unlink()
    (target / "meta/extra.json").write_text("{}")
    fig = next((target / "meta/figures").glob("*.png"))
    data = fig.read_bytes()
    fig.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, other bytes
    code, stdout, _ = cli("verify", f"file://{target}", "--quick")
    assert code == 1
    problems = [ln[4:] for ln in stdout.splitlines() if ln.startswith("  - ")]
    rel_fig = f"meta/figures/{fig.name}"
    assert sorted(problems) == sorted([
        "README.md: sha256 differs from meta/manifest.json (changed since it was published; "
        f"{(target / 'README.md').stat().st_size} bytes, the manifest says "
        f"{(target / 'README.md').stat().st_size - len(chr(10) + 'edited after the push' + chr(10))})",
        "meta/LICENSE.md: missing (named by meta/manifest.json)",
        "meta/extra.json: extra file, not in meta/manifest.json (added after the copy was published)",
        f"{rel_fig}: sha256 differs from meta/manifest.json (changed since it was published; same size)",
    ])
