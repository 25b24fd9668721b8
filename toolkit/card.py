"""The dataset card (README.md): YAML metadata that makes `load_dataset(OUT)` find the splits, and a
body that says what the dataset is.

Sections filled by later stages (detector results, the shortcut audit, ...) are pluggable: a template
`cards/sections/NAME.md.j2` is rendered with `data` = the JSON in `OUT/meta/NAME/card.json` when that
file exists (else `data` is None and the template says what is pending). A stage that produces results
writes that JSON and calls `refresh_card(OUT)`; no stage edits another's template.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import __version__
from .sample import hf_features
from .store.layout import CARD_FILE

TEMPLATES = Path(__file__).resolve().parent / "cards"


def size_category(n: int) -> str:
    for limit, name in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]:
        if n < limit:
            return name
    return "n>10M"


def card_metadata(recipe, summary: dict) -> dict:
    splits = [s for s, v in summary["splits"].items() if v["rows"] > 0]
    return {
        "pretty_name": recipe.name,
        "task_categories": ["image-classification"],
        "tags": ["synthetic-image-detection", "aligned-dataset"]
        + sorted({f.kind.replace("_", "-") for f in recipe.fakes}),
        "size_categories": [size_category(summary["rows"])],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}],
        "dataset_info": {
            "features": hf_features()._to_yaml_list(),
            "splits": [{"name": s, "num_bytes": summary["splits"][s].get("bytes", 0),
                        "num_examples": summary["splits"][s]["rows"]} for s in splits],
        },
    }


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)


def render_sections(env: Environment, out=None) -> list[str]:
    """Render every `cards/sections/*.md.j2` with its stage's `meta/NAME/card.json` (or None)."""
    rendered = []
    for tpl in sorted((TEMPLATES / "sections").glob("*.md.j2")):
        name = tpl.name[: -len(".md.j2")]
        rel = f"meta/{name}/card.json"
        data = out.read_json(rel) if out is not None and out.exists(rel) else None
        rendered.append(env.get_template(f"sections/{tpl.name}").render(data=data).strip() + "\n")
    return rendered


def render_card(recipe, summary: dict, load_path: str | None = None, out=None) -> str:
    env = _env()
    meta = yaml.safe_dump(card_metadata(recipe, summary), sort_keys=False, allow_unicode=True)
    return env.get_template("dataset_card.md.j2").render(
        metadata=meta, name=recipe.name, summary=summary, toolkit_version=__version__,
        load_path=load_path or summary["output"], recipe_yaml=recipe.to_yaml(),
        sections=render_sections(env, out))


def write_card(out, recipe, summary: dict) -> None:
    out.write_text(CARD_FILE, render_card(recipe, summary, out=out))


def refresh_card(output: str) -> None:
    """Re-render OUT/README.md from what is on disk (recipe.yaml, meta/summary.json, meta/*/card.json)."""
    from .errors import ToolkitError
    from .recipe import recipe_from_yaml_text
    from .store.atomic import Output
    from .store.layout import RECIPE_FILE, SUMMARY_FILE

    out = Output(output)
    for rel in (RECIPE_FILE, SUMMARY_FILE):
        if not out.exists(rel):
            raise ToolkitError(f"{out.path(rel)}: missing; is {output} a finished toolkit build?")
    recipe = recipe_from_yaml_text(out.read_bytes(RECIPE_FILE).decode(), where=out.path(RECIPE_FILE))
    write_card(out, recipe, out.read_json(SUMMARY_FILE))
