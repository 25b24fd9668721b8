"""The study file, typed and checked before anything is built or trained.

```yaml
name: misaligned                    # the output folder defaults to outputs/studies/<name>
datasets:                           # by name: a recipe (+ overrides), an existing build, or a hub id
  aligned: {recipe: recipes/demo.yaml, overrides: {image.size: 128}}
  old: {build: outputs/demo}
  remote: {hub: org/dataset}
build_overrides: {runner.scheduler: synchronous}   # applied to every recipe (how to run, not what)
detectors:                          # by name: kind + settings, or a preset
  probe: {kind: freq-probe}
seeds: [0, 1, 2]
train: [aligned]                    # train on each of these ...
eval: [aligned, old]                # ... evaluate on each of these (their `split`, default test)
robustness: [jpeg75, webp75]        # perturbations of the sweep (true: all, false: none)
compare:                            # differences that matter: metric(a) - metric(b), paired by pair_id
  - {name: aligned beats old, metric: ap, a: {train: aligned, eval: old}, b: {train: aligned, eval: aligned}}
bootstrap: 1000
variants:                           # `toolkit study FILE --variant tiny`: the same study, smaller or bigger
  tiny: {seeds: [0, 1], bootstrap: 200, dataset_overrides: {reals.count: 24, image.size: 64}}
```

A variant replaces the top-level keys it names (datasets, detectors, seeds, ...) and appends its
`dataset_overrides` to every recipe dataset's overrides; its output folder defaults to
outputs/studies/<name>-<variant>.

Every mistake is a RecipeError naming the file and the key (`study.yaml: compare.0.a.train: unknown
dataset 'algned' (did you mean 'aligned'?)`), so `toolkit study` exits 2 before any work.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from toolkit.errors import RecipeError

TOP_KEYS = ("name", "out", "datasets", "build_overrides", "detectors", "seeds", "train", "eval", "split",
            "robustness", "compare", "bootstrap", "description", "variants")
METRICS = ("ap", "roc_auc", "balanced_acc")
SOURCE_KEYS = ("recipe", "build", "hub")


@dataclass
class DatasetSpec:
    name: str
    recipe: str | None = None
    overrides: list[str] = field(default_factory=list)
    build: str | None = None
    hub: str | None = None


@dataclass
class Condition:
    train: str
    eval: str
    detector: str
    perturbation: str = "clean"


@dataclass
class Compare:
    name: str
    metric: str
    a: Condition
    b: Condition


@dataclass
class Study:
    path: str
    name: str
    out: str
    description: str
    datasets: dict
    build_overrides: list[str]
    detectors: dict  # name -> raw detector mapping (validated by detector_config)
    seeds: list[int]
    train: list[str]
    eval: list[str]
    split: str
    robustness: list[str]
    compare: list[Compare]
    bootstrap: int
    variant: str | None = None


def _err(where: str, key: str, msg: str) -> RecipeError:
    return RecipeError(f"{where}: {key}: {msg}")


def _hint(value, choices) -> str:
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(map(str, choices))})"


def override_list(value, where: str, key: str) -> list[str]:
    """Overrides as `key=value` strings, from a list of them or a mapping {dotted key: value}."""
    if value is None:
        return []
    if isinstance(value, dict):
        out = []
        for k, val in value.items():
            text = yaml.safe_dump(val, default_flow_style=True, width=1 << 20).strip()
            out.append(f"{k}={text[:-3].strip() if text.endswith('...') else text}")
        return out
    if isinstance(value, list) and all(isinstance(x, str) and "=" in x for x in value):
        return list(value)
    raise _err(where, key, f"expected a mapping {{key: value}} or a list of key=value strings, got {value!r}")


def _names(value, where: str, key: str, known: dict) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _err(where, key, f"expected a non-empty list of dataset names, got {value!r}")
    for i, n in enumerate(value):
        if n not in known:
            raise _err(where, f"{key}.{i}", f"unknown dataset {n!r}" + _hint(n, known))
    return list(value)


def _dataset(name: str, raw, where: str, base: Path) -> DatasetSpec:
    key = f"datasets.{name}"
    if not isinstance(raw, dict):
        raise _err(where, key, f"expected a mapping with one of {', '.join(SOURCE_KEYS)}, got {raw!r}")
    for k in raw:
        if k not in (*SOURCE_KEYS, "overrides"):
            raise _err(where, f"{key}.{k}", "unknown key" + _hint(k, (*SOURCE_KEYS, "overrides")))
    given = [k for k in SOURCE_KEYS if raw.get(k) is not None]
    if len(given) != 1:
        raise _err(where, key, f"give exactly one of {', '.join(SOURCE_KEYS)} (got {', '.join(given) or 'none'})")
    spec = DatasetSpec(name=name, overrides=override_list(raw.get("overrides"), where, f"{key}.overrides"))
    if spec.overrides and given[0] != "recipe":
        raise _err(where, f"{key}.overrides", "only a recipe takes overrides")
    src = str(raw[given[0]])
    if given[0] in ("recipe", "build"):
        p = Path(src) if os.path.isabs(src) or Path(src).exists() else base / src
        if not p.exists():
            raise _err(where, f"{key}.{given[0]}", f"{src}: no such {'file' if given[0] == 'recipe' else 'folder'}")
        if given[0] == "build" and not (p / "data").is_dir():
            raise _err(where, f"{key}.build", f"{src}: not a build folder (no data/)")
        src = str(p)
    setattr(spec, given[0], src)
    return spec


def _condition(raw, where: str, key: str, study: dict) -> Condition:
    if not isinstance(raw, dict):
        raise _err(where, key, f"expected a mapping with train, eval (and detector, perturbation), got {raw!r}")
    for k in raw:
        if k not in ("train", "eval", "detector", "perturbation"):
            raise _err(where, f"{key}.{k}", "unknown key" + _hint(k, ("train", "eval", "detector", "perturbation")))
    dets = list(study["detectors"])
    if "detector" not in raw and len(dets) > 1:
        raise _err(where, f"{key}.detector", f"needed: the study has several detectors ({', '.join(dets)})")
    c = Condition(train=raw.get("train"), eval=raw.get("eval"), detector=raw.get("detector", dets[0]),
                  perturbation=str(raw.get("perturbation", "clean")))
    for k, allowed in (("train", study["train"]), ("eval", study["eval"]), ("detector", dets),
                       ("perturbation", ["clean", *study["robustness"]])):
        if getattr(c, k) not in allowed:
            raise _err(where, f"{key}.{k}", f"{getattr(c, k)!r} is not one of the study's {k} entries"
                       + _hint(getattr(c, k), allowed))
    return c


def apply_variant(raw: dict, variant: str, where: str) -> dict:
    """`raw` with the variant's keys replacing the study's and its `dataset_overrides` appended to every
    recipe dataset's overrides."""
    variants = raw.get("variants") or {}
    if not isinstance(variants, dict) or variant not in variants:
        raise _err(where, "variants", f"no variant {variant!r}" + _hint(variant, list(variants) or ["(none)"]))
    var = variants[variant]
    if not isinstance(var, dict):
        raise _err(where, f"variants.{variant}", f"expected a mapping of study keys, got {var!r}")
    out = {k: val for k, val in raw.items() if k != "variants"}
    for k, val in var.items():
        if k == "dataset_overrides":
            continue
        if k not in TOP_KEYS or k in ("variants", "name"):
            raise _err(where, f"variants.{variant}.{k}", "unknown key" + _hint(k, [*TOP_KEYS, "dataset_overrides"]))
        out[k] = val
    extra = override_list(var.get("dataset_overrides"), where, f"variants.{variant}.dataset_overrides")
    if extra and isinstance(out.get("datasets"), dict):
        ds = {}
        for n, d in out["datasets"].items():
            if isinstance(d, dict) and d.get("recipe"):
                d = {**d, "overrides": override_list(d.get("overrides"), where, f"datasets.{n}.overrides") + extra}
            ds[n] = d
        out["datasets"] = ds
    if "out" not in var:
        out["out"] = str(Path("outputs") / "studies" / f"{raw.get('name')}-{variant}")
    return out


def load_study(path: str, out: str | None = None, variant: str | None = None) -> Study:
    """The validated study of `path` (RecipeError on any mistake, before any work); `variant`: one of
    its `variants:`."""
    from toolkit.detectors.config import detector_config
    from toolkit.detectors.robustness import check_names

    where = str(path)
    if not os.path.isfile(path):
        raise RecipeError(f"{where}: no such study file")
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        raise RecipeError(f"{where}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: expected a mapping at the top level")
    for k in raw:
        if k not in TOP_KEYS:
            raise _err(where, str(k), "unknown key" + _hint(k, TOP_KEYS))
    if variant:
        raw = apply_variant(raw, variant, where)
    for k in ("name", "datasets", "detectors", "seeds", "train", "eval"):
        if raw.get(k) in (None, "", [], {}):
            raise _err(where, k, "required")
    name = str(raw["name"])
    from toolkit.config import validation as v

    try:
        v.safe_name("name", name)
    except Exception as e:  # noqa: BLE001 - a ConfigError: one line naming the key
        raise RecipeError(f"{where}: {e}") from None
    base = Path(path).resolve().parent
    if not isinstance(raw["datasets"], dict):
        raise _err(where, "datasets", "expected a mapping of name -> {recipe|build|hub: ...}")
    datasets = {str(n): _dataset(str(n), d, where, base) for n, d in raw["datasets"].items()}
    if not isinstance(raw["detectors"], dict):
        raise _err(where, "detectors", "expected a mapping of name -> {kind: ..., preset: ..., settings}")
    detectors = {}
    for dn, d in raw["detectors"].items():
        if not isinstance(d, dict):
            raise _err(where, f"detectors.{dn}", f"expected a mapping with a kind:, got {d!r}")
        for k in ("seed", "out", "robustness"):
            if k in d:
                raise _err(where, f"detectors.{dn}.{k}", "set by the study (seeds:, the output folder, robustness:)")
        detector_config(dict(d), where=where, path=f"detectors.{dn}")  # validated now, typed again per seed
        detectors[str(dn)] = dict(d)
    seeds = raw["seeds"]
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = list(range(seeds))
    if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds) \
            or len(set(seeds)) != len(seeds):
        raise _err(where, "seeds", f"expected a list of distinct integers (or a count), got {raw['seeds']!r}")
    train = _names(raw["train"], where, "train", datasets)
    ev = _names(raw["eval"], where, "eval", datasets)
    rob = raw.get("robustness", False)
    if rob is True:
        rob = check_names(None, where)
    elif rob in (False, None):
        rob = []
    elif isinstance(rob, list):
        rob = check_names([str(x) for x in rob], f"{where}: robustness")
    else:
        raise _err(where, "robustness", f"expected true, false or a list of perturbation names, got {rob!r}")
    boot = raw.get("bootstrap", 1000)
    if not isinstance(boot, int) or isinstance(boot, bool) or boot < 0:
        raise _err(where, "bootstrap", f"expected a number of resamples >= 0, got {boot!r}")
    split = str(raw.get("split", "test"))
    partial = {"detectors": detectors, "train": train, "eval": ev, "robustness": rob}
    compares = []
    for i, c in enumerate(raw.get("compare") or []):
        key = f"compare.{i}"
        if not isinstance(c, dict):
            raise _err(where, key, f"expected a mapping with name, metric, a, b; got {c!r}")
        for k in c:
            if k not in ("name", "metric", "a", "b"):
                raise _err(where, f"{key}.{k}", "unknown key" + _hint(k, ("name", "metric", "a", "b")))
        metric = c.get("metric", "ap")
        if metric not in METRICS:
            raise _err(where, f"{key}.metric", f"{metric!r} is not one of {', '.join(METRICS)}" + _hint(metric, METRICS))
        for side in ("a", "b"):
            if side not in c:
                raise _err(where, f"{key}.{side}", "required (a condition: train, eval, detector, perturbation)")
        compares.append(Compare(name=str(c.get("name") or f"comparison {i}"), metric=metric,
                                a=_condition(c["a"], where, f"{key}.a", partial),
                                b=_condition(c["b"], where, f"{key}.b", partial)))
    return Study(path=str(path), name=name, out=str(out or raw.get("out") or Path("outputs") / "studies" / name),
                 description=str(raw.get("description") or ""), datasets=datasets,
                 build_overrides=override_list(raw.get("build_overrides"), where, "build_overrides"),
                 detectors=detectors, seeds=seeds, train=train, eval=ev, split=split, robustness=rob,
                 compare=compares, bootstrap=boot, variant=variant)
