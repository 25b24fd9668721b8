"""The recipe: one YAML file that says everything a build depends on.

The schema is a tree of dataclasses read through omegaconf (structured configs), so a recipe is typed
and validated before any work starts. Sections with a `kind:` (reals, each fake, each augmentation
op) are typed by the dataclass their implementation registered, looked up by name.

Every mistake a user can make in a recipe ends as a `RecipeError` whose message is one line naming
the file and the key path, with the closest valid key or kind when there is one; the CLI turns it
into exit code 2. A recipe is validated in two passes: first our own walk over the raw tree against
the dataclass fields (unknown keys, with suggestions, and unknown kinds), then omegaconf's merge
(type conversion and type errors), then a check for required values left missing.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, get_type_hints

import yaml
from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .captioner import CaptionerConfig
from .errors import RecipeError
from .registry import AUGMENT_OPS, GENERATORS, SOURCES, Registry, load_builtins


@dataclass
class ImageConfig:
    """Geometry and decoding rules shared by every real (see transforms/align.py)."""

    size: Optional[int] = 256  # short side resized to this, then a size x size crop; null = native
    min_size: int = 64  # reals whose short side is smaller are dropped (counted as too_small)
    resize_filter: str = "lanczos"  # lanczos | bicubic | bilinear | box | nearest
    crop: str = "center"  # center | random (seeded per pair)
    max_pixels: int = 89_478_485  # larger images are refused as decompression bombs
    icc: str = "convert"  # convert embedded ICC profiles to sRGB | ignore
    alpha_background: List[int] = field(default_factory=lambda: [255, 255, 255])


@dataclass
class AugmentConfig:
    """Augmentation: `ops` maps an op name to its parameters; `matched` draws once per pair."""

    matched: bool = True
    ops: Dict[str, Any] = field(default_factory=dict)


@dataclass
class RunnerConfig:
    """How shards are executed. None of these change the bytes a build produces."""

    scheduler: Optional[str] = None  # null: local dask cluster | synchronous | tcp://host:8786
    workers: Optional[int] = None  # local cluster processes (default: one per core, at most #shards)
    shard_size: int = 500  # pairs per shard: the unit of parallelism, retry and resumption
    retries: int = 1  # times a failed shard task is retried before it is reported
    device: str = "auto"  # auto | cpu | cuda | cuda:N, for model stages
    # A resume on another device type would mix float paths (CPU vs CUDA bytes differ) in one dataset;
    # refused unless this is set.
    allow_mixed_devices: bool = False
    # A dask worker resource (e.g. GPU) the model stage requests. Set, a shard runs as three tasks:
    # read+align and augment+write on any worker, the models only on workers started with
    # `dask worker ... --resources GPU=1`. Unset, a shard is one task (no pixels between workers).
    gpu_resource: Optional[str] = None
    progress: bool = True


@dataclass
class StoreConfig:
    png_compress_level: int = 6  # zlib level of lossless PNG members (speed/size only, never pixels)
    row_group_size: int = 100  # parquet rows per row group (streaming granularity)


@dataclass
class Recipe:
    name: str = MISSING
    seed: int = 0
    output: Optional[str] = None  # any fsspec URL or local path; default outputs/<name>
    reals: Any = MISSING  # a source section: {kind: folder|bundled|..., ...}
    image: ImageConfig = field(default_factory=ImageConfig)
    fakes: List[Any] = field(default_factory=list)  # generator sections: [{kind: vae_roundtrip, ...}]
    captioner: Optional[CaptionerConfig] = None  # captions reals without one (see toolkit/captioner.py)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    split: Dict[str, float] = field(default_factory=lambda: {"train": 0.8, "test": 0.2})
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    detector: Any = None  # optional {kind: resnet50|clip-probe|clip-knn, ...}: trained after the build
    features: Optional[List[Any]] = None  # optional [{kind: ddim_inversion, ...}]: per-row side files

    # --- derived -------------------------------------------------------------------------------
    def output_url(self) -> str:
        return self.output or f"outputs/{self.name}"

    def to_yaml(self) -> str:
        return OmegaConf.to_yaml(OmegaConf.structured(self))

    def content_hash(self) -> str:
        """Hash of everything that changes the bytes of the build (not runner or output)."""
        data = OmegaConf.to_container(OmegaConf.structured(self))
        data.pop("runner", None)
        data.pop("output", None)
        if data.get("captioner") is None:  # absent captioner: the hash of a recipe from before it existed
            data.pop("captioner", None)
        if data.get("features") is None:  # absent features: the hash of a recipe from before they existed
            data.pop("features", None)
        data.pop("detector", None)  # trained on the build afterwards; never changes its bytes
        # a section may name fields that only say how to run (download threads, ...), not what to build
        sections = [("reals", self.reals)] + [(("fakes", i), f) for i, f in enumerate(self.fakes)]
        for where, cfg in sections:
            node = data["reals"] if where == "reals" else data["fakes"][where[1]]
            for name in getattr(type(cfg), "runtime_fields", ()):
                node.pop(name, None)
        for op in (data.get("augment") or {}).get("ops", {}).values():  # added later with a neutral default:
            if isinstance(op, dict) and op.get("apply_to") == "both":  # keep existing builds' hash
                op.pop("apply_to")
        return hashlib.sha256(yaml.safe_dump(data, sort_keys=True).encode()).hexdigest()[:16]


# --- loading ---------------------------------------------------------------------------------------


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read a recipe file, apply `key=value` overrides, validate; raise RecipeError on any mistake."""
    load_builtins()
    where = str(path)
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise RecipeError(f"{where}: cannot read recipe ({e.strerror or e})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise RecipeError(f"{where}:{line} invalid YAML: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: a recipe must be a mapping of keys, got {type(raw).__name__}")
    raw = _apply_overrides(raw, overrides, where)
    return validate(raw, where)


def _apply_overrides(raw: dict, overrides, where: str) -> dict:
    cfg = OmegaConf.create(raw)
    for item in overrides:
        if "=" not in item:
            raise RecipeError(f"{where}: override {item!r} is not of the form key=value")
        key, value = item.split("=", 1)
        key = key.strip()
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            parsed = value
        try:
            OmegaConf.update(cfg, key, parsed, merge=True, force_add=True)
        except (OmegaConfBaseException, ValueError, IndexError, TypeError) as e:
            raise RecipeError(f"{where}: override {key}: {_first_line(e)}") from None
    return OmegaConf.to_container(cfg)


def validate(raw: dict, where: str = "<recipe>") -> Recipe:
    raw = dict(raw)
    _check_keys(raw, Recipe, "", where)
    if raw.get("reals") is None:
        raise RecipeError(f"{where}: reals: missing required section (a source with a kind:, "
                          f"one of {', '.join(SOURCES.names())})")
    reals = _typed_section(raw.pop("reals"), SOURCES, "reals", where)
    fakes = raw.pop("fakes", None) or []
    if not isinstance(fakes, list):
        raise RecipeError(f"{where}: fakes: expected a list of generator sections, got {_show(fakes)}")
    fakes = [_typed_section(f, GENERATORS, f"fakes[{i}]", where) for i, f in enumerate(fakes)]
    detector = raw.pop("detector", None)
    if detector is not None:
        from .detectors.config import detector_config

        detector = detector_config(detector, where, "detector")
    features = raw.pop("features", None)
    if features is not None:
        features = _features(features, where)
    ops_raw: Any = {}
    if isinstance(raw.get("augment"), dict) and "ops" in raw["augment"]:
        raw["augment"] = dict(raw["augment"])
        ops_raw = raw["augment"].pop("ops") or {}
    base = _merge(Recipe, {**raw, "reals": None}, "", where)
    base.reals, base.fakes, base.detector, base.features = reals, fakes, detector, features
    base.augment.ops = _typed_ops(ops_raw, where)
    missing = _missing(base, "")
    if missing:
        raise RecipeError(f"{where}: {missing}: missing required value")
    _check_semantics(base, where)
    return base


def _typed_section(section: Any, registry: Registry, path: str, where: str):
    if not isinstance(section, dict):
        raise RecipeError(f"{where}: {path}: expected a mapping with a kind:, got {_show(section)}")
    kind = section.get("kind")
    if kind is None:
        raise RecipeError(f"{where}: {path}.kind: missing required value (one of {', '.join(registry.names())})")
    entry = registry.get(kind)
    if entry is None:
        hint = registry.closest(kind)
        tail = f" (did you mean {hint!r}?)" if hint else f" (known: {', '.join(registry.names())})"
        raise RecipeError(f"{where}: {path}.kind: unknown {registry.what} kind {kind!r}{tail}")
    _check_keys(section, entry.config, path, where)
    return _merge(entry.config, section, path, where)


def _features(items: Any, where: str) -> list:
    from .features import KINDS, config_class

    if not isinstance(items, list):
        raise RecipeError(f"{where}: features: expected a list of sections with a kind:, got {_show(items)}")
    out = []
    for i, item in enumerate(items):
        path = f"features[{i}]"
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind not in KINDS:
            close = difflib.get_close_matches(str(kind), list(KINDS), n=1)
            tail = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(KINDS)})"
            raise RecipeError(f"{where}: {path}.kind: unknown feature kind {kind!r}{tail}")
        _check_keys(item, config_class(kind), path, where)
        out.append(_merge(config_class(kind), item, path, where))
    return out


def _typed_ops(ops: Any, where: str) -> dict:
    if not isinstance(ops, dict):
        raise RecipeError(f"{where}: augment.ops: expected a mapping op-name -> parameters, got {_show(ops)}")
    out = {}
    for name, params in ops.items():
        path = f"augment.ops.{name}"
        entry = AUGMENT_OPS.get(name)
        if entry is None:
            hint = AUGMENT_OPS.closest(name)
            tail = f" (did you mean {hint!r}?)" if hint else f" (known: {', '.join(AUGMENT_OPS.names())})"
            raise RecipeError(f"{where}: {path}: unknown augment op{tail}")
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise RecipeError(f"{where}: {path}: expected a mapping of parameters, got {_show(params)}")
        _check_keys(params, entry.config, path, where)
        out[name] = _merge(entry.config, params, path, where)
    return out


def _check_keys(raw: dict, schema: type, path: str, where: str) -> None:
    """Unknown keys, recursively through dataclass-typed fields, with the closest valid key."""
    hints = {k: _optional_inner(v) for k, v in get_type_hints(schema).items()}
    names = [f.name for f in dataclasses.fields(schema)]
    for key, val in raw.items():
        full = f"{path}.{key}" if path else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.5)
            tail = f" (did you mean {close[0]!r}?)" if close else f" (valid keys: {', '.join(names)})"
            raise RecipeError(f"{where}: {full}: unknown key{tail}")
        sub = hints.get(key)
        if dataclasses.is_dataclass(sub) and isinstance(val, dict):
            _check_keys(val, sub, full, where)
        elif dataclasses.is_dataclass(sub) and val is not None and not isinstance(val, dict):
            raise RecipeError(f"{where}: {full}: expected a mapping, got {_show(val)}")


def _optional_inner(hint):
    """Optional[X] -> X (so an optional dataclass section is key-checked like a required one)."""
    import typing

    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Union and len(args) == 2 and type(None) in args:
        return next(a for a in args if a is not type(None))
    return hint


def _merge(schema: type, raw: dict, path: str, where: str):
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(schema), raw)
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None) or ""
        full = ".".join(p for p in (path, str(key)) if p)
        raise RecipeError(f"{where}: {full or '<root>'}: {_type_message(e)}") from None
    except ValueError as e:  # a section's own __post_init__ check: "key: message"
        raise RecipeError(f"{where}: {'.'.join(p for p in (path, _first_line(e)) if p)}") from None


def _type_message(e: Exception) -> str:
    from omegaconf.errors import MissingMandatoryValue

    if isinstance(e, MissingMandatoryValue):
        return "missing required value"
    msg = _first_line(e)
    # omegaconf: "Value 'abc' of type 'str' could not be converted to Integer"
    if "could not be converted to" in msg:
        target = msg.rsplit("could not be converted to", 1)[1].strip().rstrip(".")
        value = msg.split("'", 2)[1] if msg.count("'") >= 2 else "?"
        return f"expected {target.lower()}, got {value!r}"
    if "Incompatible value" in msg or "Cannot assign" in msg:
        return f"wrong type ({msg})"
    return msg


def _missing(obj: Any, path: str) -> str | None:
    if obj is MISSING or (isinstance(obj, str) and obj == "???"):
        return path or "<root>"
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            hit = _missing(getattr(obj, f.name), f"{path}.{f.name}" if path else f.name)
            if hit:
                return hit
    elif isinstance(obj, dict):
        for k, v in obj.items():
            hit = _missing(v, f"{path}.{k}")
            if hit:
                return hit
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            hit = _missing(v, f"{path}[{i}]")
            if hit:
                return hit
    return None


def _check_semantics(r: Recipe, where: str) -> None:
    def bad(path: str, msg: str):
        raise RecipeError(f"{where}: {path}: {msg}")

    if r.image.size is not None and r.image.size < 8:
        bad("image.size", f"must be at least 8 or null, got {r.image.size}")
    if len(r.image.alpha_background) != 3 or not all(0 <= c <= 255 for c in r.image.alpha_background):
        bad("image.alpha_background", "must be three integers in 0..255")
    from .transforms.align import FILTERS

    if r.image.resize_filter not in FILTERS:
        hint = difflib.get_close_matches(r.image.resize_filter, list(FILTERS), n=1)
        bad("image.resize_filter", f"unknown filter {r.image.resize_filter!r}"
            + (f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(FILTERS)})"))
    if r.image.crop not in ("center", "random"):
        bad("image.crop", f"must be center or random, got {r.image.crop!r}")
    if r.image.icc not in ("convert", "ignore"):
        bad("image.icc", f"must be convert or ignore, got {r.image.icc!r}")
    if not r.split:
        bad("split", "needs at least one split")
    for name, frac in r.split.items():
        if not (0 <= frac <= 1):
            bad(f"split.{name}", f"fraction must be within 0..1, got {frac}")
    total = sum(r.split.values())
    if abs(total - 1.0) > 1e-6:
        bad("split", f"fractions must sum to 1, got {total:g}")
    if r.runner.shard_size < 1:
        bad("runner.shard_size", "must be at least 1")
    if not r.fakes:
        bad("fakes", "needs at least one generator section (e.g. {kind: vae_roundtrip})")
    from .transforms.augment import check_ops

    problem = check_ops(r.augment.ops)
    if problem:
        bad(*problem)
    if r.captioner is not None:
        from .captioner import check_config

        problem = check_config(r.captioner)
        if problem:
            bad(*problem)


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _show(value: Any) -> str:
    s = repr(value)
    return s if len(s) < 60 else s[:57] + "..."


def recipe_from_yaml_text(text: str, where: str = "<recipe>") -> Recipe:
    load_builtins()
    return validate(yaml.safe_load(text) or {}, where)


__all__ = ["Recipe", "ImageConfig", "AugmentConfig", "RunnerConfig", "StoreConfig", "load_recipe",
           "validate", "recipe_from_yaml_text"]
