"""The recipe: one YAML file that says everything a build depends on.

The schema is a tree of dataclasses read through omegaconf (structured configs), so a recipe is typed
and validated before any work starts (planning, downloads, model loads). Sections with a `kind:`
(reals, each fake, each augmentation op, each feature) are typed by the dataclass their
implementation registered, looked up by name.

Every mistake a user can make in a recipe ends as a `RecipeError` whose message is one line naming
the file and the key path, with the closest valid key or kind when there is one; the CLI turns it
into exit code 2. A recipe is validated in three steps, all in `toolkit/config/validation.py`'s one style:
our own walk over the raw tree against the dataclass fields (unknown keys, with suggestions, and
unknown kinds), omegaconf's merge (type conversion and type errors), then each config dataclass's
own `__post_init__`, which checks every value of its section (ranges, choices, names) and raises
`ValueError("field: message")`, reported under the section's key path.

Decisions:
- Overrides (`key=value`): a value that is a mapping replaces that node (`reals={kind: folder,
  path: x}` keeps nothing of the recipe's reals; `augment.ops={}` removes every op); a dotted key
  (`reals.count=5`) changes one value. Dict-typed fields (`split`, `augment.ops`,
  `storage_options`, ...) take the user's mapping as is, never merged with the default.
- No interpolation: a recipe never reads the environment or files. omegaconf would resolve
  `${oc.env:HF_TOKEN}` into the rows, the card and recipe.yaml, so any string (or key) containing
  `${`, in the file or in an override, is refused with one line naming the key; nothing is resolved.
- Names that become paths or markdown are restricted: the dataset `name` (default output
  `outputs/<name>`, the card's title) and generator `name`s (the `source` column, file names) match
  `validation.SAFE_NAME` (no `..`; a generator may not be called `real`, and names are unique among
  the fakes); split names match `validation.SPLIT_NAME` (`^[A-Za-z][A-Za-z0-9_]*$`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from omegaconf import MISSING, OmegaConf

from toolkit.config import validation as v
from toolkit.captioner import CaptionerConfig
from toolkit.errors import RecipeError
from toolkit.config.registry import AUGMENT_OPS, FEATURES, GENERATORS, SOURCES, Registry, load_builtins
from toolkit.transforms.align import FILTERS

CROPS = ("center", "random")
ICC = ("convert", "ignore")


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

    def __post_init__(self):
        v.at_least("size", self.size, 8, optional=True)
        v.at_least("min_size", self.min_size, 1)
        # at least one image of min_size x min_size must pass the decompression-bomb limit
        if self.max_pixels < self.min_size ** 2:
            raise v.ConfigError(f"max_pixels: must be at least min_size**2 = {self.min_size ** 2}, "
                                f"got {self.max_pixels}")
        v.one_of("resize_filter", self.resize_filter, FILTERS, what="filter")
        v.one_of("crop", self.crop, CROPS)
        v.one_of("icc", self.icc, ICC)
        bg = list(self.alpha_background or [])
        if len(bg) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in bg):
            raise v.ConfigError(f"alpha_background: must be three integers in 0..255, got {bg}")


@dataclass
class AugmentConfig:
    """Augmentation: `ops` maps an op name to its parameters; `matched` draws once per pair."""

    matched: bool = True
    ops: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        codec_p = 0.0
        for name, op in (self.ops or {}).items():
            entry = AUGMENT_OPS.get(name)
            if entry is None:
                raise v.ConfigError(f"ops.{name}: unknown augment op{v.did_you_mean(name, AUGMENT_OPS.names())}")
            if entry.impl.codec and hasattr(op, "p"):
                codec_p += op.p
        if codec_p > 1.0 + 1e-9:
            raise v.ConfigError(f"ops: codec probabilities (jpeg, webp) sum to {codec_p:g} > 1")


@dataclass
class RunnerConfig:
    """How shards are executed. None of these change the bytes a build produces."""

    scheduler: Optional[str] = None  # null: local dask cluster | synchronous | tcp://host:8786 | tls://host:8786
    workers: Optional[int] = None  # local cluster processes (default: one per core, at most #shards)
    shard_size: int = 500  # pairs per shard: the unit of parallelism, retry and resumption
    retries: int = 1  # times a failed shard task is retried before it is reported
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps, for model stages
    # A resume on another device type would mix float paths (CPU vs CUDA bytes differ) in one dataset;
    # refused unless this is set.
    allow_mixed_devices: bool = False
    # A dask worker resource (e.g. GPU) the model stage requests. Set, a shard runs as three tasks:
    # read+align and augment+write on any worker, the models only on workers started with
    # `dask worker ... --resources GPU=1`. Unset, a shard is one task (no pixels between workers).
    gpu_resource: Optional[str] = None
    progress: bool = True

    def __post_init__(self):
        v.scheduler("scheduler", self.scheduler)
        v.at_least("workers", self.workers, 1, optional=True)
        v.at_least("shard_size", self.shard_size, 1)
        v.at_least("retries", self.retries, 0)
        v.device("device", self.device)
        if self.gpu_resource is not None and not v.SPLIT_NAME.match(str(self.gpu_resource)):
            raise v.ConfigError(f"gpu_resource: must be a resource name such as GPU ({v.SPLIT_NAME_RULE}) "
                                f"or null, got {self.gpu_resource!r}")


@dataclass
class StoreConfig:
    png_compress_level: int = 4  # zlib level of lossless PNG members (speed/size only, never pixels): 4 by
    # measurement, about half the time of 6 for under 2% more bytes (docs/performance.md)
    row_group_size: int = 100  # parquet rows per row group (streaming granularity)

    def __post_init__(self):
        v.in_range("png_compress_level", self.png_compress_level, 0, 9)
        v.at_least("row_group_size", self.row_group_size, 1)


_HOMEPAGE = re.compile(r"^https?://[^\s<>()\[\]]+$")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,99}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
USER_MARK = "<!-- user:"  # the card's user regions (toolkit/card/user_content.py): never inside recipe text


@dataclass
class CardConfig:
    """What the dataset card says that only its author knows (toolkit/card/user_content.py). Rendered into
    README.md on every re-render (`toolkit card`, `push`, the end of `make`); never changes the build's bytes
    (not part of the recipe hash)."""

    description: Optional[str] = None  # markdown paragraph(s) under the title: what the dataset is for
    citation: Optional[str] = None  # BibTeX of the dataset itself, shown first under Citation
    authors: List[str] = field(default_factory=list)  # names, shown with the contact
    contact: Optional[str] = None  # an e-mail address or URL for questions about the dataset
    homepage: Optional[str] = None  # http(s) URL of the project or repository (the card's homepage link)
    tags: List[str] = field(default_factory=list)  # extra Hub tags, added to the toolkit's own
    language: List[str] = field(default_factory=list)  # captions' languages (ISO 639: en, de, ...); default inferred

    def __post_init__(self):
        for name in ("description", "citation", "contact"):
            value = getattr(self, name)
            v.non_empty(name, value, optional=True)
            if value is not None and USER_MARK in value:
                raise v.ConfigError(f"{name}: must not contain {USER_MARK!r} (it marks the card's user regions)")
        v.strings("authors", self.authors)
        for i, a in enumerate(self.authors or []):
            if "\n" in a or USER_MARK in a:
                raise v.ConfigError(f"authors[{i}]: must be one line of text, got {a!r}")
        if self.contact is not None and "\n" in self.contact.strip():
            raise v.ConfigError(f"contact: must be one line (an e-mail address or URL), got {self.contact!r}")
        if self.homepage is not None and not (isinstance(self.homepage, str) and _HOMEPAGE.match(self.homepage)):
            raise v.ConfigError(f"homepage: must be an http(s) URL, got {self.homepage!r}")
        for i, t in enumerate(self.tags or []):
            if not isinstance(t, str) or not _TAG.match(t):
                raise v.ConfigError(f"tags[{i}]: must be a Hub tag (letters, digits, '_', '.', ':', '+', '-'; "
                                    f"at most 100), got {t!r}")
        for i, lang in enumerate(self.language or []):
            if not isinstance(lang, str) or not _LANGUAGE.match(lang):
                raise v.ConfigError(f"language[{i}]: must be an ISO 639 code such as en or pt-BR, got {lang!r}")


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
    card: Optional[CardConfig] = None  # optional {description, citation, authors, contact, homepage, tags, language}

    def __post_init__(self):
        v.safe_name("name", self.name)
        v.non_empty("output", self.output, optional=True)
        if not self.split:
            raise v.ConfigError("split: needs at least one split")
        for name, frac in self.split.items():
            v.split_name("split", name)
            v.in_range(f"split.{name}", frac, 0, 1, what="fraction")
        total = sum(self.split.values())
        if abs(total - 1.0) > 1e-6:
            raise v.ConfigError(f"split: fractions must sum to 1, got {total:g}")
        seen: dict[str, int] = {}
        for i, fake in enumerate(self.fakes or []):  # typed sections (a bare Recipe may hold none yet)
            if isinstance(fake, dict) or not hasattr(fake, "kind"):
                continue
            name = getattr(fake, "name", None) or fake.kind
            if name == "real":
                raise v.ConfigError(f"fakes[{i}].name: 'real' is the reals' source value; choose another name")
            if name in seen:
                raise v.ConfigError(f"fakes[{i}].name: generator name {name!r} is also fakes[{seen[name]}]'s; "
                                    "give each fake a distinct `name:` (it becomes the `source` column)")
            seen[name] = i
        if self.runner.device == "cpu":  # refused by the model's loader in every shard otherwise
            models = ([(f"fakes[{i}]", f) for i, f in enumerate(self.fakes or [])] + [("captioner", self.captioner)]
                      + [(f"features[{i}]", f) for i, f in enumerate(self.features or [])])
            for path, cfg in models:
                if getattr(cfg, "float16_needs_gpu", False) and v.canonical_dtype(cfg.dtype) == "float16":
                    raise v.ConfigError(f"{path}.dtype: float16 needs a GPU but runner.device is cpu; "
                                        "use float32 (or bfloat16) on the CPU")
        if self.makes_masks():  # the mask column must follow every geometric augmentation, or be refused
            from toolkit.transforms.augment import mask_safe

            for name in (self.augment.ops or {}):
                if AUGMENT_OPS.get(name) is not None and not mask_safe(name):
                    raise v.ConfigError(f"augment.ops.{name}: changes the image geometry but cannot carry the "
                                        "`mask` column along (no apply_mask); remove it from a recipe with masks")
        kinds: dict[str, int] = {}
        for i, feat in enumerate(self.features or []):
            kind = getattr(feat, "kind", None)
            if kind in kinds:
                raise v.ConfigError(f"features[{i}].kind: {kind!r} is also features[{kinds[kind]}]'s "
                                    "(one section per kind: they share a side file)")
            kinds[kind] = i

    # --- derived -------------------------------------------------------------------------------
    def makes_masks(self) -> bool:
        """Whether the build has the `mask` column: a generator among the fakes makes partial fakes
        (inpainting with a rectangle, brush or object mask; see sample.MASK_COLUMN)."""
        from toolkit.generators.base import makes_masks

        return any(makes_masks(f) for f in self.fakes or [] if not isinstance(f, dict))

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
        data.pop("card", None)  # what the card says about the build; never changes its bytes
        # a section may name fields that only say how to run (download threads, ...), not what to build
        sections = [("reals", self.reals)] + [(("fakes", i), f) for i, f in enumerate(self.fakes)]
        for where, cfg in sections:
            node = data["reals"] if where == "reals" else data["fakes"][where[1]]
            for name in getattr(type(cfg), "runtime_fields", ()):
                node.pop(name, None)
            # fields added after builds existed, at the value those builds had: not part of their identity
            for name, default in getattr(type(cfg), "neutral_defaults", {}).items():
                if name in node and node[name] == default:
                    node.pop(name)
        for op in (data.get("augment") or {}).get("ops", {}).values():  # added later with a neutral default:
            if isinstance(op, dict) and op.get("apply_to") == "both":  # keep existing builds' hash
                op.pop("apply_to")
        return hashlib.sha256(yaml.safe_dump(data, sort_keys=True).encode()).hexdigest()[:16]


# --- loading ---------------------------------------------------------------------------------------


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read a recipe (a file, a shipped recipe's name such as `demo`, or any fsspec URL), apply `key=value`
    overrides, validate; raise RecipeError on any mistake."""
    from toolkit.recipes import read_recipe

    load_builtins()
    text, where = read_recipe(path)  # a file, a shipped recipe's name or any fsspec URL (toolkit/recipes/)
    raw = v.apply_overrides(_parse(text, where), overrides, where)
    return validate(raw, where)


def _parse(text: str, where: str) -> dict:
    """The recipe's YAML as a mapping, or a one-line RecipeError naming the file (and line)."""
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
    return raw


def validate(raw: dict, where: str = "<recipe>") -> Recipe:
    raw = dict(raw)
    v.refuse_interpolation(raw, "", where)
    v.check_keys(raw, Recipe, "", where)
    if raw.get("reals") is None:
        raise RecipeError(f"{where}: reals: missing required section (a source with a kind:, "
                          f"one of {', '.join(SOURCES.names())})")
    reals = _typed_section(raw.pop("reals"), SOURCES, "reals", where)
    fakes = raw.pop("fakes", None) or []
    if not isinstance(fakes, list):
        raise RecipeError(f"{where}: fakes: expected a list of generator sections, got {v.show(fakes)}")
    fakes = [_typed_section(f, GENERATORS, f"fakes[{i}]", where) for i, f in enumerate(fakes)]
    if not fakes:
        raise RecipeError(f"{where}: fakes: needs at least one generator section (e.g. {{kind: vae_roundtrip}})")
    detector = raw.pop("detector", None)
    if detector is not None:
        from toolkit.detectors.config import detector_config

        detector = detector_config(detector, where, "detector")
    features = raw.pop("features", None)
    if features is not None:
        features = _features(features, where)
    ops_raw: Any = {}
    if isinstance(raw.get("augment"), dict) and "ops" in raw["augment"]:
        raw["augment"] = dict(raw["augment"])
        ops_raw = raw["augment"].pop("ops") or {}
    ops = _typed_ops(ops_raw, where)
    return v.build(Recipe, raw, "", where, typed={"reals": reals, "fakes": fakes, "detector": detector,
                                                  "features": features, "augment.ops": ops})


def _typed_section(section: Any, registry: Registry, path: str, where: str):
    if not isinstance(section, dict):
        raise RecipeError(f"{where}: {path}: expected a mapping with a kind:, got {v.show(section)}")
    kind = section.get("kind")
    if kind is None:
        raise RecipeError(f"{where}: {path}.kind: missing required value (one of {', '.join(registry.names())})")
    entry = registry.get(kind)
    if entry is None:
        hint = registry.closest(kind)
        tail = f" (did you mean {hint!r}?)" if hint else f" (known: {', '.join(registry.names())})"
        raise RecipeError(f"{where}: {path}.kind: unknown {registry.what} kind {kind!r}{tail}")
    v.check_keys(section, entry.config, path, where)
    return v.build(entry.config, section, path, where)


def _features(items: Any, where: str) -> list:
    if not isinstance(items, list):
        raise RecipeError(f"{where}: features: expected a list of sections with a kind:, got {v.show(items)}")
    return [_typed_section(item, FEATURES, f"features[{i}]", where) for i, item in enumerate(items)]


def _typed_ops(ops: Any, where: str) -> dict:
    if not isinstance(ops, dict):
        raise RecipeError(f"{where}: augment.ops: expected a mapping op-name -> parameters, got {v.show(ops)}")
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
            raise RecipeError(f"{where}: {path}: expected a mapping of parameters, got {v.show(params)}")
        v.check_keys(params, entry.config, path, where)
        out[name] = v.build(entry.config, params, path, where)
    return out


def recipe_from_yaml_text(text: str, where: str = "<recipe>") -> Recipe:
    load_builtins()
    return validate(_parse(text, where), where)


__all__ = ["Recipe", "CardConfig", "ImageConfig", "AugmentConfig", "RunnerConfig", "StoreConfig", "load_recipe",
           "validate", "recipe_from_yaml_text"]
