"""Models by id or path: whether one can be loaded here, and what a failure to load it says.

Every model the toolkit loads (the generators' autoencoders and pipelines, the captioner, the features'
pipelines, the detectors' backbones) goes through `from_pretrained(id_or_path)` at its call site; this
module holds what they share:

- `check_recipe_models(recipe)` / `check_detector_models(cfg)`: before any work starts, with
  `HF_HUB_OFFLINE=1` (or `TRANSFORMERS_OFFLINE=1`), every model a recipe or detector names must be a
  local path, a `builtin:` model or already in the Hugging Face cache. One that is not fails at once
  with one line naming it (exit 2), instead of a build whose every shard fails, or a training run that
  made its model folder, loaded the data, then died in the loader. Online, nothing is checked here (the
  loaders download); a build on a remote dask cluster is not checked either (the workers' caches are
  theirs).
- `load_error(what, exc)`: the one-line ToolkitError a loader raises instead of a library traceback.
- `resolve_model` (`builtin:NAME` -> toolkit/assets), `resolve_device`, `torch_dtype`, `state_dict_sha256`
  (the weights hash every provenance records), and `WORKER_MODELS` + `load_once`: every model a worker
  has loaded, once per process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from pathlib import Path

from toolkit.errors import ToolkitError, first_line

_TRUE = {"1", "ON", "YES", "TRUE"}  # huggingface_hub's reading of its boolean environment variables
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")


def offline() -> bool:
    """Whether the Hugging Face libraries are told not to touch the network (read at each call)."""
    return any(os.environ.get(k, "").upper() in _TRUE for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def is_local(model: str) -> bool:
    """A `builtin:` model (toolkit/assets) or an existing local path: loadable without the Hub."""
    return model.startswith("builtin:") or Path(model).expanduser().exists()


def cached(model: str, revision: str | None = None) -> bool:
    """Whether the Hugging Face cache holds a snapshot of `model` (at `revision`, default its main branch).
    Reads the cache only; never the network."""
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(model, revision=revision, local_files_only=True)
        return True
    except Exception:  # noqa: BLE001 - LocalEntryNotFoundError, an invalid id, ...: not loadable offline
        return False


def looks_like_repo_id(model: str) -> bool:
    """`name` or `org/name` (a Hub id) rather than a path (`/abs`, `./rel`, `~/x`, `a/b/c`): a path that does
    not exist is left to the loader, whose one-line error names it."""
    return bool(_REPO_ID.match(model)) and not model.startswith((".", "~"))


def check_available(model: str | None, what: str, revision: str | None = None) -> None:
    """Raise one ToolkitError line when offline and `model`, a Hub id, is neither a local path nor cached."""
    if not model or not offline() or is_local(model) or not looks_like_repo_id(model) or cached(model, revision):
        return
    at = f" at revision {revision!r}" if revision else ""
    raise ToolkitError(f"{what}: model {model!r}{at} is not available offline (HF_HUB_OFFLINE is set and it is "
                       "not in the Hugging Face cache); download it where there is a network "
                       f"(`hf download {model}`) or give a local path")


def recipe_models(recipe) -> list[tuple[str, str, str | None]]:
    """(key path, model id or path, revision) of every model a recipe names: each fake, the captioner,
    each feature (and its caption model), the detector."""
    found = []
    sections = ([(f"fakes[{i}]", f) for i, f in enumerate(recipe.fakes or [])]
                + [("captioner", recipe.captioner)]
                + [(f"features[{i}]", f) for i, f in enumerate(getattr(recipe, "features", None) or [])]
                + [("detector", getattr(recipe, "detector", None))])
    for path, cfg in sections:
        found += _models(path, cfg)
    return found


def _models(path: str, cfg) -> list[tuple[str, str, str | None]]:
    if cfg is None or not dataclasses.is_dataclass(cfg):
        return []
    found = []
    for f in dataclasses.fields(cfg):
        if f.name == "caption_model" and getattr(cfg, "caption", "captioner") != "captioner":
            continue  # ddim_inversion with `caption: row` uses the rows' captions, never loads its caption model
        if f.name == "model" or f.name.endswith("_model"):
            value = getattr(cfg, f.name)
            if isinstance(value, str) and value:
                prefix = f.name[: -len("model")]  # caption_model -> caption_revision
                found.append((f"{path}.{f.name}", value, getattr(cfg, f"{prefix}revision", None)))
    return found


def check_recipe_models(recipe, remote: bool = False) -> None:
    """Offline, every model of `recipe` must be loadable here; one ToolkitError line for the first that
    is not. `remote`: the build runs on a dask cluster's workers, whose caches are not this machine's."""
    scheduler = getattr(getattr(recipe, "runner", None), "scheduler", None)
    if remote or (isinstance(scheduler, str) and "://" in scheduler) or not offline():
        return
    for path, model, revision in recipe_models(recipe):
        check_available(model, path, revision)


def check_detector_models(cfg, where: str = "detector") -> None:
    """Offline, the detector's backbone (`model`) must be loadable here (`toolkit train`, before the data
    is loaded or the model folder made)."""
    for path, model, revision in _models(where, cfg):
        check_available(model, path, revision)


def load_error(what: str, exc: BaseException, hint: str | None = None) -> ToolkitError:
    """The one-line error for a model that cannot be loaded: `<what>: <first line of the error>[; hint]`."""
    first = first_line(exc)
    return ToolkitError(f"{what}: {first}" + (f"; {hint}" if hint else ""))


ASSETS = Path(__file__).resolve().parent / "assets"


def resolve_model(model: str) -> str:
    """`builtin:<name>` names a model shipped in toolkit/assets; anything else goes to from_pretrained
    unchanged (a hub id or a local path: the same code path either way)."""
    if model.startswith("builtin:"):
        path = ASSETS / model.split(":", 1)[1]
        if not path.is_dir():
            known = ", ".join(sorted(p.name for p in ASSETS.iterdir() if p.is_dir()))
            raise FileNotFoundError(f"{model}: no such built-in model (known: {known})")
        return str(path)
    return model


# Every model a worker process has loaded (sources, generators, the captioner, feature models), keyed by
# what changes it (kind, the section's config, the recipe seed, the device): the next shard on this
# worker reuses it. One table for all of them (the model-step interface, toolkit/engine/steps.py).
WORKER_MODELS: dict = {}


def load_once(cache: dict, key, factory, what: str):
    """A model built once per worker process and kept in `cache` under `key`; a model that cannot be
    loaded becomes one line, `<what>: <first line of the error>`, instead of a library traceback."""
    if key not in cache:
        try:
            cache[key] = factory()
        except Exception as e:  # noqa: BLE001 - one clear line instead of a library traceback
            raise load_error(what, e) from None
    return cache[key]


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"runner.device={device} but CUDA is not available on this worker")
    return device


def state_dict_sha256(model) -> str:
    """Hash of the weights as loaded (names, dtypes, shapes, values), independent of file layout."""
    import torch

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def torch_dtype(name: str):
    """The torch dtype of a config's `dtype` (validation.DTYPES, or an alias fp32/fp16/bf16)."""
    import torch

    from toolkit.config.validation import canonical_dtype, dtype

    dtype("dtype", name)
    return getattr(torch, canonical_dtype(name))
