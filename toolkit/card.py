"""The dataset card (README.md): YAML metadata that makes `load_dataset(OUT)` find the splits, and a
body that says what the dataset is. This is the minimal card of the spine; the full card (sample
grids, versions, audit and detector sections) extends the same template.
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
        "tags": ["synthetic-image-detection", "aligned-dataset", "vae-roundtrip"],
        "size_categories": [size_category(summary["rows"])],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}],
        "dataset_info": {
            "features": hf_features()._to_yaml_list(),
            "splits": [{"name": s, "num_bytes": summary["splits"][s].get("bytes", 0),
                        "num_examples": summary["splits"][s]["rows"]} for s in splits],
        },
    }


def render_card(recipe, summary: dict, load_path: str | None = None) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    meta = yaml.safe_dump(card_metadata(recipe, summary), sort_keys=False, allow_unicode=True)
    return env.get_template("dataset_card.md.j2").render(
        metadata=meta, name=recipe.name, summary=summary, toolkit_version=__version__,
        load_path=load_path or summary["output"], recipe_yaml=recipe.to_yaml())


def write_card(out, recipe, summary: dict) -> None:
    out.write_text(CARD_FILE, render_card(recipe, summary))
