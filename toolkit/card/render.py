"""The dataset card (README.md): YAML metadata that makes `load_dataset(OUT)` find the splits, and a
body that lets a researcher trust the dataset at a glance (what it is, how the build meets the
alignment contract, the recipe, versions, models, counts, drops, figures, licence, how to load,
citations).

Everything the card says is read from the build folder (recipe.yaml, meta/summary.json, the shard
markers, the parquet columns, meta/environment.json, meta/laion/stats.json), so `toolkit card OUT`
re-renders the same card from disk at any time.

Sections filled by later stages (detector results, the shortcut audit, ...) are pluggable: a template
`templates/sections/NAME.md.j2` is rendered with `data` = the JSON in `OUT/meta/NAME/card.json` when that
file exists (else `data` is None and the template says what is pending). A stage that produces results
writes that JSON and calls `refresh_card(OUT)`; no stage edits another's template.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from toolkit import __version__
from toolkit.errors import ToolkitError
from toolkit.sample import LABELS, hf_features
from toolkit.store.layout import RECIPE_FILE, SUMMARY_FILE, TMP_DIR

TEMPLATES = Path(__file__).resolve().parent / "templates"
STANDIN_MODEL = "builtin:standin_vae"


def size_category(n: int) -> str:
    for limit, name in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]:
        if n < limit:
            return name
    return "n>10M"


def _source_datasets(source: dict) -> list[str]:
    url = str(source.get("url_list") or "")
    m = re.match(r"^hf://datasets/([^/@]+/[^/@]+)", url)
    if m:
        return [f"extended|{m.group(1)}"]
    return ["original"]


def _recipe_order(recipe, summary: dict) -> dict:
    """Splits in the recipe's order (the stored summary.json has sorted keys; the card must not change)."""
    splits = summary["splits"]
    order = [s for s in recipe.split if s in splits] + [s for s in splits if s not in recipe.split]
    return {**summary, "splits": {s: splits[s] for s in order}}


def card_metadata(recipe, summary: dict, source: dict | None = None, lic: dict | None = None) -> dict:
    from toolkit.card.license import license_info

    summary = _recipe_order(recipe, summary)
    source = source or {"kind": recipe.reals.kind}
    lic = lic or license_info(source)
    splits = [s for s, v in summary["splits"].items() if v["rows"] > 0]
    kinds = sorted({getattr(f, "kind", "generator").replace("_", "-") for f in recipe.fakes})
    card = _card(recipe)
    meta = {
        "pretty_name": recipe.name,
        "license": lic["license"],
    }
    languages = caption_languages(recipe, source)
    if languages:
        meta["language"] = languages
    if lic["license"] == "other":
        meta["license_name"] = lic["license_name"]
        meta["license_link"] = lic["license_link"]
    meta.update({
        "task_categories": ["image-classification"],
        "tags": ["synthetic-image-detection", "ai-generated-image-detection", "image-forensics",
                 "aligned-dataset", *kinds, f"reals-{source.get('kind', 'unknown')}"]
                + (["research-only"] if lic.get("research_only") else [])
                + [t for t in card.tags if t not in _BASE_TAGS],
        "size_categories": [size_category(summary["rows"])],
        "source_datasets": _source_datasets(source),
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}]
        # per-row side features (e.g. DDIM inversion maps) as their own configs, joined on (pair_id, source):
        # load_dataset(repo, "ddim_inversion")
        + [{"config_name": kind, "data_files": [{"split": s, "path": f"features/{kind}/{s}-*"} for s in splits]}
           for kind in sorted({f.kind for f in (getattr(recipe, "features", None) or [])})],
        "dataset_info": {
            "features": hf_features(_masks(recipe))._to_yaml_list(),
            "splits": [{"name": s, "num_bytes": summary["splits"][s].get("bytes", 0),
                        "num_examples": summary["splits"][s]["rows"]} for s in splits],
            # the stored parquet bytes: what load_dataset downloads; images are kept as their encoded
            # bytes, so the Arrow table it builds is about as large
            "download_size": sum(summary["splits"][s].get("bytes", 0) for s in splits),
            "dataset_size": sum(summary["splits"][s].get("bytes", 0) for s in splits),
        },
    })
    return meta


_BASE_TAGS = {"synthetic-image-detection", "ai-generated-image-detection", "image-forensics", "aligned-dataset"}
# sources whose captions are English by construction: the toolkit's own captions of the bundled photographs
# and of shader renders (toolkit/sources/bundled.py, shaders.py)
_ENGLISH_SOURCES = {"bundled", "shaders"}
_ENGLISH_LIST = re.compile(r"(^|[/_.-])(relaion2b-en|laion2b-en|laion400m|laion-coco|coco)([/_.-]|$)|[_-]en[_./-]",
                           re.I)


def _card(recipe):
    """The recipe's `card:` section, or an empty one (older recipes, or none given)."""
    from toolkit.config.recipe import CardConfig

    card = getattr(recipe, "card", None)
    return card if card is not None else CardConfig()


def caption_languages(recipe, source: dict) -> list[str]:
    """The `language` of the card: the recipe's `card.language`, else the captions' language when it is
    known: English for captions the toolkit writes (bundled photographs, shader renders, a BLIP
    captioner) and for LAION lists named as English (relaion2B-en, laion400m, ...). Unknown (a folder's
    own captions, a multilingual list): omitted rather than guessed."""
    card = _card(recipe)
    if card.language:
        return list(card.language)
    kind = source.get("kind") or recipe.reals.kind
    if kind in _ENGLISH_SOURCES or getattr(recipe, "captioner", None) is not None:
        return ["en"]
    if kind == "laion" and _ENGLISH_LIST.search(str(source.get("url_list") or "")):
        return ["en"]
    return []


def _masks(recipe) -> bool:
    """Whether the build has the `mask` column (a generator that makes masks: sample.MASK_COLUMN)."""
    return bool(getattr(recipe, "makes_masks", lambda: False)())


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~&])")


def md_escape(text) -> str:
    """`text` shown literally in a markdown body: markup characters backslash-escaped (the dataset name
    is a validated safe name, but the card must never be the place where a name turns into markup)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def contact_markdown(contact: str) -> str:
    """An e-mail address as a mailto link, a URL as an autolink, anything else as literal text."""
    contact = contact.strip()
    if re.match(r"^[^@\s<>()\[\]]+@[^@\s<>()\[\]]+\.[A-Za-z]{2,}$", contact):
        return f"[{md_escape(contact)}](mailto:{contact})"
    if re.match(r"^https?://[^\s<>()\[\]]+$", contact):
        return f"<{contact}>"
    return md_escape(contact)


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["md"] = md_escape
    env.filters["contact"] = contact_markdown
    from toolkit.engine.drops import table as drop_table

    env.globals["drop_table"] = drop_table  # reason, count, stage, meaning (toolkit/engine/drops.py)
    return env


def render_sections(env: Environment, out=None) -> list[str]:
    """Render every `templates/sections/*.md.j2` with its stage's `meta/NAME/card.json` (or None)."""
    rendered = []
    for tpl in sorted((TEMPLATES / "sections").glob("*.md.j2")):
        name = tpl.name[: -len(".md.j2")]
        rel = f"meta/{name}/card.json"
        data = out.read_json(rel) if out is not None and out.exists(rel) else None
        rendered.append(env.get_template(f"sections/{tpl.name}").render(data=data).strip() + "\n")
    return rendered


def describe_source(recipe) -> dict:
    """The source's own describe() (sources/*.py); never lists or downloads anything."""
    from toolkit.config.registry import SOURCES, load_builtins

    load_builtins()
    entry = SOURCES.get(recipe.reals.kind)
    try:
        return entry.impl(recipe.reals, recipe).describe()
    except Exception as e:  # noqa: BLE001 - the card must render even when a source cannot be built here
        return {"kind": recipe.reals.kind, "describe_error": f"{type(e).__name__}: {e}"}


def _markers(out) -> list[dict]:
    return [out.read_json(f"meta/shards/{n}") for n in out.ls("meta/shards") if n.endswith(".json")]


def _opt_json(out, rel: str):
    return out.read_json(rel) if out is not None and out.exists(rel) else None


def card_context(recipe, summary: dict, out=None, load_path: str | None = None, recipe_text: str | None = None,
                 stats: dict | None = None, figures: dict | None = None, environment: dict | None = None,
                 storage_options: list[str] | None = None) -> dict:
    from toolkit.card.license import license_info
    from toolkit.card.environment import ENV_FILE, capture

    from toolkit.card.figures import INFO_FILE

    summary = _recipe_order(recipe, summary)
    source = describe_source(recipe)
    lic = license_info(source)
    if stats is None and out is not None:
        from toolkit.card.stats import collect_stats

        stats = collect_stats(out)
    figures = figures or _opt_json(out, INFO_FILE)
    if figures is None:
        raise ToolkitError("the card's figures are missing (meta/figures/figures.json); run `toolkit card OUT`")
    environment = environment or _opt_json(out, ENV_FILE) or capture()
    models = []
    for name, p in summary.get("generators", {}).items():
        models.append({"name": name, **p, "standin": p.get("model") == STANDIN_MODEL,
                       "counters": summary.get("generator_counters", {}).get(name, {})})
    n_gen = max(1, len(models))
    balanced = stats is not None and bool(models) and all(
        v.get("fake", 0) == n_gen * v.get("real", 0)
        for table in (stats["augment_by_label"], stats["format_by_label"]) for v in table.values())
    augment_ops = {k: (dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v)
                   for k, v in (recipe.augment.ops or {}).items()}
    return {
        "augment_balanced": balanced, "augment_ops": augment_ops,
        "metadata": yaml.safe_dump(card_metadata(recipe, summary, source, lic), sort_keys=False, allow_unicode=True),
        "name": recipe.name, "recipe": recipe, "summary": summary, "toolkit_version": __version__,
        "load_path": load_path or summary["output"],
        "load_args": load_args(load_path or summary["output"], [s for s, v in summary["splits"].items() if v["rows"]],
                               storage_options),
        "recipe_yaml": recipe_text or recipe.to_yaml(),
        "source": source, "license": lic, "environment": environment, "models": models,
        "stats": stats, "figures": figures, "labels": LABELS,
        "laion": _opt_json(out, "meta/laion/stats.json"),
        "markers": sorted(_markers(out), key=lambda m: m["shard"]) if out is not None else [],
        "standin": any(m["standin"] for m in models),
        "masks": _masks(recipe),
        "card": _card(recipe),
    }


def load_args(where: str, splits: list[str], storage_options: list[str] | None = None) -> str:
    """The arguments of the `load_dataset(...)` call that works for `where`: a Hub id or a local folder
    is read through the card's `configs`; an fsspec URL (file://, s3://, gs://, ...) is not a dataset
    repository, so its parquet shards are named per split, with the storage options' keys (values are
    the reader's own: never written into a card)."""
    if "://" not in where:
        return f'"{where}"'
    base = where.rstrip("/")
    files = ", ".join(f'"{s}": "{base}/data/{s}-*.parquet"' for s in splits)
    opts = ""
    if storage_options:
        opts = ", storage_options={" + ", ".join(f'"{k}": ...' for k in sorted(storage_options)) + "}"
    return f'"parquet", data_files={{{files}}}{opts}'


def render_card(recipe, summary: dict, load_path: str | None = None, out=None, **context) -> str:
    env = _env()
    ctx = card_context(recipe, summary, out=out, load_path=load_path, **context)
    return env.get_template("dataset_card.md.j2").render(**ctx, sections=render_sections(env, out))


def write_card(out, recipe, summary: dict, load_path: str | None = None, capture_env: bool = True,
               parts: dict | None = None) -> str:
    """Compute stats and figures, write meta/ side files and README.md; return the card text.

    `capture_env`: record this process's library versions as the build's (end of `toolkit make`);
    a re-render (`toolkit card`) keeps those already on disk. `parts`: the data files' card parts
    computed in the shard tasks (toolkit/card/parts.py); files without one are read here."""
    from toolkit.card.license import LICENSE_FILE, license_markdown
    from toolkit.card.stats import collect_stats
    from toolkit.card.environment import ENV_FILE, capture
    from toolkit.card.figures import write_figures

    if capture_env or not out.exists(ENV_FILE):
        out.write_json(ENV_FILE, capture())
    stats = collect_stats(out, parts)
    figures = write_figures(out, stats, parts=parts)
    recipe_text = out.read_bytes(RECIPE_FILE).decode() if out.exists(RECIPE_FILE) else None
    ctx = dict(stats=stats, figures=figures, recipe_text=recipe_text)
    text = render_card(recipe, summary, load_path=load_path, out=out, **ctx)
    from toolkit.card.license import license_info

    out.write_text(LICENSE_FILE, license_markdown(md_escape(recipe.name), license_info(describe_source(recipe))))
    from toolkit.card.user_content import write

    return write(out, text)  # user regions carried over; an edited card kept as README.md.bak


def load_build(output: str):
    """(AtomicFolder, recipe, summary) of a finished build, or a one-line ToolkitError."""
    from toolkit.errors import ToolkitError
    from toolkit.config.recipe import recipe_from_yaml_text
    from toolkit.store.atomic import AtomicFolder

    out = AtomicFolder(output)
    for rel in (RECIPE_FILE, SUMMARY_FILE):
        if not out.exists(rel):
            raise ToolkitError(f"{out.path(rel)}: missing; is {output} a finished toolkit build?")
    from toolkit.store.build_dir import read_file, read_json

    try:
        text = read_file(out, RECIPE_FILE).decode()
    except UnicodeDecodeError:
        raise ToolkitError(f"{out.path(RECIPE_FILE)}: not UTF-8 text") from None
    recipe = recipe_from_yaml_text(text, where=out.path(RECIPE_FILE))
    return out, recipe, read_json(out, SUMMARY_FILE, keys=("pairs", "rows", "splits"))


def refresh_card(output: str, load_path: str | None = None) -> str:
    """Re-render OUT/README.md from what is on disk (recipe.yaml, meta/summary.json, meta/*/card.json)."""
    out, recipe, summary = load_build(output)
    text = write_card(out, recipe, summary, load_path=load_path, capture_env=False)
    remove_empty_staging(out)
    return text


def remove_empty_staging(out) -> None:
    """Remove OUT/_tmp when the writes above left it empty (`card`, `audit` and `train` run outside `make`,
    which removes it itself). rmdir refuses a folder that is not empty, so a build writing into it at the
    same moment keeps its files."""
    try:
        if out.exists(TMP_DIR) and not out.ls(TMP_DIR):
            out.fs.rmdir(out.path(TMP_DIR))
    except OSError:
        pass


# --- validation ------------------------------------------------------------------------------------


def validate_card(text: str, files: list[str], masks: bool | None = None) -> list[str]:
    """Problems that would make a published card wrong; `files` are the repo's relative paths.

    The metadata must parse (huggingface_hub's DatasetCard), carry the keys the Hub and `datasets` use,
    declare exactly our features (with the `mask` column when `masks`; either schema when None), and each
    split's `data_files` pattern must match that split's shards and nothing else (no side file under
    meta/); files the body links to must be in the repo."""
    from huggingface_hub import DatasetCard

    problems = []
    try:
        data = DatasetCard(text).data.to_dict()
    except Exception as e:  # noqa: BLE001
        return [f"README.md: metadata does not parse ({type(e).__name__}: {e})"]
    for key in ("pretty_name", "license", "task_categories", "tags", "size_categories", "configs", "dataset_info"):
        if not data.get(key):
            problems.append(f"README.md: metadata key {key!r} missing")
    if data.get("license") == "other":
        for key in ("license_name", "license_link"):
            if not data.get(key):
                problems.append(f"README.md: license is 'other' but {key!r} is missing")
        link = data.get("license_link")
        if link and "://" not in link and link not in files:
            problems.append(f"README.md: license_link {link!r} is not a file of the dataset")
    info = data.get("dataset_info") or {}
    try:
        from datasets import Features

        declared = Features._from_yaml_list(info.get("features") or [])
        if declared not in [hf_features(m) for m in ((False, True) if masks is None else (masks,))]:
            problems.append("README.md: dataset_info.features differ from the toolkit's row schema")
    except Exception as e:  # noqa: BLE001
        problems.append(f"README.md: dataset_info.features do not parse ({e})")
    declared = {s["name"]: s for s in info.get("splits") or []}
    for cfg in data.get("configs") or []:
        for df in cfg.get("data_files") or []:
            pattern, split = df["path"], df["split"]
            hits = [f for f in files if fnmatch.fnmatch(f, pattern)]
            folder = re.escape(pattern.rsplit("/", 1)[0])  # data/ for rows, features/<kind>/ for side features
            own = [f for f in files
                   if re.match(rf"^{folder}/{re.escape(split)}-\d{{5}}(-of-\d{{5}})?\.parquet$", f)]
            if not hits:
                problems.append(f"README.md: split {split!r}: data_files {pattern!r} matches no file")
            elif sorted(hits) != sorted(own):
                problems.append(f"README.md: split {split!r}: data_files {pattern!r} matches "
                                f"{', '.join(sorted(set(hits) ^ set(own))[:3])} wrongly")
            if split not in declared:
                problems.append(f"README.md: split {split!r} not in dataset_info.splits")
    body = text.split("---", 2)[-1]
    for link in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", body):
        if "://" not in link and not link.startswith("mailto:") and link not in files:
            problems.append(f"README.md: links to {link}, which is not a file of the dataset")
    return problems
