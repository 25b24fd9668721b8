"""What a study needs, each piece keyed by content so a re-run finds what is already done.

- a build per recipe dataset, in OUT/builds/<recipe name>-<Recipe.content_hash>: the same recipe and
  overrides (in any study that shares the output folder) reuse it; another override is another build.
  Existing builds and hub ids are used as they are.
- a model per (train set, detector, seed), in OUT/models/<key>: key = sha256 of the detector's
  config hash (every setting, the seed included), the training data's identity (a recipe's content
  hash, a build's recorded recipe hash, or a hub id) and the split names.
- a cell per (model, eval set): OUT/cells/<key>.json (metrics) + .parquet (per-image scores), key =
  the model key, the eval data's identity, the split and the perturbations.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from toolkit.study.config import Study


def _h(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class DataItem:
    name: str
    path: str  # what load_dataset gets: a folder or a hub id
    identity: str  # content hash (recipe), recorded recipe hash (build) or the hub id
    recipe: object = None  # the resolved Recipe, when the study builds it
    command: str = ""


@dataclass
class ModelItem:
    train: str
    detector: str
    seed: int
    cfg: object
    key: str
    dir: str


@dataclass
class CellItem:
    model: ModelItem
    eval: str
    key: str


@dataclass
class StudyPlan:
    study: Study
    data: dict
    models: list
    cells: list


def _build_identity(path: str) -> str:
    p = Path(path) / "meta" / "build.json"
    if p.exists():
        try:
            return "build:" + str(json.loads(p.read_text()).get("recipe_hash") or os.path.abspath(path))
        except ValueError:
            pass
    return "folder:" + os.path.abspath(path)


def make_plan(study: Study) -> StudyPlan:
    """Resolve every recipe (RecipeError naming its file on a mistake) and key every piece of work."""
    from toolkit.config.recipe import load_recipe
    from toolkit.detectors.config import detector_config
    from toolkit.detectors.run import config_hash

    out = Path(study.out)
    data = {}
    for name, spec in study.datasets.items():
        if spec.recipe:
            recipe = load_recipe(spec.recipe, [*spec.overrides, *study.build_overrides])
            recipe.detector = None  # the study trains its own detectors
            h = recipe.content_hash()
            folder = str(out / "builds" / f"{recipe.name}-{h}")
            recipe.output = folder
            cmd = " ".join(["toolkit make", spec.recipe, *[f"'{o}'" for o in [*spec.overrides, *study.build_overrides]],
                            "detector=null", "--out", folder])
            data[name] = DataItem(name, folder, "recipe:" + h, recipe, cmd)
        elif spec.build:
            data[name] = DataItem(name, spec.build, _build_identity(spec.build))
        else:
            data[name] = DataItem(name, spec.hub, "hub:" + spec.hub)
    models = []
    for tr in study.train:
        for dn, raw in study.detectors.items():
            for seed in study.seeds:
                cfg = detector_config({**raw, "seed": seed, "robustness": False}, where=study.path,
                                      path=f"detectors.{dn}")
                key = _h(config_hash(cfg), data[tr].identity, study.split)
                models.append(ModelItem(tr, dn, seed, cfg, key, str(out / "models" / key)))
    cells = [CellItem(m, ev, _h(m.key, data[ev].identity, study.split, study.robustness))
             for m in models for ev in study.eval]
    return StudyPlan(study, data, models, cells)
