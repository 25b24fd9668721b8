"""How every config section of a recipe (and of `toolkit train`) is read and checked: one style.

Each config dataclass checks itself completely in `__post_init__` with the helpers below, which raise
`ConfigError("field: message")`. `build()` types a raw mapping with a dataclass (omegaconf's merge for
types and conversion, then the dataclass constructor for values) and turns that error into a
`RecipeError` naming the file and the full key path, e.g.
`recipes/demo.yaml: fakes[0].latent: must be sample or mode (got 'smaple') (did you mean 'sample'?)`.
`ConfigError` is also a `ToolkitError`, so a config built directly by a command (not from a recipe)
still ends as one line and exit code 2.

Also here, shared by recipe.py and detectors/config.py: unknown keys with suggestions
(`check_keys`), `key=value` overrides (`apply_overrides`: a mapping value replaces the node), and the
refusal of omegaconf interpolation (`refuse_interpolation`): a recipe never reads the environment or
files, so any string containing `${` is refused, never resolved.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from typing import Any, Iterable, Sequence, get_type_hints

import yaml

from toolkit.errors import RecipeError, ToolkitError, first_line

# --- shared vocabularies -------------------------------------------------------------------------

DTYPES = ("float32", "float16", "bfloat16")  # the one list of model dtypes
DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}  # accepted, kept as written
DEVICES = "auto | cpu | cuda | cuda:N | mps"
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda|cuda:\d+)$")

# Names that become paths, file names, markdown or Hub split names:
# dataset name (default output outputs/<name>, card title), generator names (`source` column, file names)
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
SAFE_NAME_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 96, no '..'"
# split names (data/<split>-NNNNN.parquet, the card's configs): stricter than the Hub's ^\w+(\.\w+)*$
SPLIT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
SPLIT_NAME_RULE = "a letter, then letters, digits or '_' (at most 64)"
# dask scheduler address: host name, IPv4 or [IPv6], and a port
_SCHEDULER = re.compile(r"^(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$")

MISSING_VALUE = "???"  # omegaconf's MISSING


class ConfigError(ToolkitError, ValueError):
    """A config value that cannot work: "field: message" (the recipe adds the file and section path)."""


# --- value checks (raise ConfigError("name: message")) --------------------------------------------


def did_you_mean(value: Any, choices: Iterable[str]) -> str:
    hit = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" (did you mean {hit[0]!r}?)" if hit else ""


def _alternatives(choices: Sequence[str]) -> str:
    choices = [str(c) for c in choices]
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


def one_of(name: str, value: Any, choices: Iterable[str], *, what: str = "") -> None:
    """`value` in `choices`, else "name: must be a, b or c (got 'x') (did you mean 'a'?)"; with `what`
    (long lists of names: filters, schedulers), "name: unknown <what> 'x' (did you mean 'a'?)"."""
    choices = list(choices)
    if value in choices:
        return
    hint = did_you_mean(value, choices)
    if what:
        raise ConfigError(f"{name}: unknown {what} {value!r}" + (hint or f" (known: {', '.join(map(str, choices))})"))
    raise ConfigError(f"{name}: must be {_alternatives(choices)} (got {value!r}){hint}")


def at_least(name: str, value: Any, low: float, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if value is None or value < low:
        raise ConfigError(f"{name}: must be at least {low:g}{' or null' if optional else ''}, got {value}")


def above(name: str, value: Any, low: float, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if value is None or not value > low:
        raise ConfigError(f"{name}: must be greater than {low:g}{' or null' if optional else ''}, got {value}")


def in_range(name: str, value: Any, low: float, high: float, *, high_open: bool = False,
             what: str = "") -> None:
    ok = value is not None and low <= value and (value < high if high_open else value <= high)
    if not ok:
        span = f"{low:g}..{high:g}" + (f" ({high:g} excluded)" if high_open else "")
        raise ConfigError(f"{name}: {what + ' ' if what else ''}must be within {span}, got {value}")


def probability(name: str, value: Any) -> None:
    in_range(name, value, 0.0, 1.0, what="probability")


def low_high(name: str, value: Any, low: float | None = None, high: float | None = None, *,
             low_open: bool = False) -> None:
    """`[low, high]` with low <= high, both within the given bounds."""
    vals = list(value) if isinstance(value, (list, tuple)) else None
    if vals is None or len(vals) != 2 or vals[0] > vals[1]:
        raise ConfigError(f"{name}: expected [low, high] with low <= high, got {vals if vals is not None else value!r}")
    if low is not None and (vals[0] <= low if low_open else vals[0] < low):
        raise ConfigError(f"{name}: values must be {'greater than' if low_open else 'at least'} {low:g}, got {vals}")
    if high is not None and vals[1] > high:
        raise ConfigError(f"{name}: values must be at most {high:g}, got {vals}")


def multiple_of(name: str, value: Any, step: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if value is None or value < step or value % step:
        raise ConfigError(f"{name}: must be a positive multiple of {step}{' or null' if optional else ''}, got {value}")


def non_empty(name: str, value: Any, *, optional: bool = False) -> None:
    """A string that must say something (a model id, a path, a column name)."""
    if value is None and optional:
        return
    if value == MISSING_VALUE:  # a required value left missing: reported as such by build()
        return
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name}: must be a non-empty string{' or null' if optional else ''}, got {value!r}")


def strings(name: str, value: Any, *, allow_empty_list: bool = True) -> None:
    """A list of non-empty strings."""
    if not allow_empty_list and not value:
        raise ConfigError(f"{name}: needs at least one entry")
    for i, v in enumerate(value or []):
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"{name}[{i}]: must be a non-empty string, got {v!r}")


def dtype(name: str, value: Any) -> None:
    if value not in DTYPES and value not in DTYPE_ALIASES:
        raise ConfigError(f"{name}: must be {_alternatives(DTYPES)} (got {value!r})"
                          + did_you_mean(value, [*DTYPES, *DTYPE_ALIASES]))


def canonical_dtype(value: str) -> str:
    return DTYPE_ALIASES.get(value, value)


def device(name: str, value: Any) -> None:
    if not isinstance(value, str) or not _DEVICE.match(value):
        raise ConfigError(f"{name}: must be {DEVICES} (got {value!r})"
                          + did_you_mean(value, ["auto", "cpu", "cuda", "cuda:0", "mps"]))


def safe_name(name: str, value: Any, *, optional: bool = False, reserved: Iterable[str] = ()) -> None:
    """A name that becomes a path, a file name or markdown."""
    if value is None and optional:
        return
    if value == MISSING_VALUE:
        return
    if not isinstance(value, str) or not SAFE_NAME.match(value) or ".." in value:
        raise ConfigError(f"{name}: must be a safe name ({SAFE_NAME_RULE}), got {value!r}")
    if value in set(reserved):
        raise ConfigError(f"{name}: {value!r} is reserved")


def split_name(name: str, value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not SPLIT_NAME.match(value):
        raise ConfigError(f"{name}: split names must be {SPLIT_NAME_RULE}, got {value!r}")


def scheduler(name: str, value: Any) -> None:
    """null (a local dask cluster) | synchronous (in-process) | tcp://HOST:PORT | tls://HOST:PORT."""
    if value is None or value == "synchronous":
        return
    m = _SCHEDULER.match(value) if isinstance(value, str) else None
    if not m or not 1 <= int(m.group(4)) <= 65535:
        raise ConfigError(f"{name}: must be null (a local cluster), synchronous, tcp://HOST:PORT or "
                          f"tls://HOST:PORT (got {value!r}){did_you_mean(value, ['synchronous'])}")


# --- recipe text: interpolation, overrides, unknown keys ------------------------------------------


def refuse_interpolation(value: Any, path: str, where: str) -> None:
    """Any string (value or key) containing `${` is refused: omegaconf would otherwise resolve it
    (`${oc.env:HF_TOKEN}` reads the environment) into the rows, the card and recipe.yaml."""
    if isinstance(value, str):
        if "${" in value:
            raise RecipeError(f"{where}: {path or '<root>'}: interpolation ('${{...}}') is not supported in "
                              "recipes; write the value itself")
    elif isinstance(value, dict):
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            if isinstance(k, str) and "${" in k:
                raise RecipeError(f"{where}: {sub}: interpolation ('${{...}}') is not supported in recipes")
            refuse_interpolation(v, sub, where)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            refuse_interpolation(v, f"{path}[{i}]", where)


def apply_overrides(raw: dict, overrides: Iterable[str], where: str) -> dict:
    """`key=value` overrides (YAML values, dotted keys; list items by index: `fakes.0.latent=mode`).

    A value that is a mapping replaces that node (`reals={kind: folder, path: x}` leaves nothing of the
    recipe's reals behind; `augment.ops={}` removes every op); a dotted key changes one value."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    refuse_interpolation(raw, "", where)
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
        refuse_interpolation(key, key_path(key), where)
        refuse_interpolation(parsed, key_path(key), where)
        try:
            OmegaConf.update(cfg, key, parsed, merge=False, force_add=True)
        except (OmegaConfBaseException, ValueError, IndexError, TypeError) as e:
            raise RecipeError(f"{where}: override {key}: {first_line(e)}") from None
    return OmegaConf.to_container(cfg, resolve=False)


def key_path(dotted: str) -> str:
    """An override key as error messages name it: `fakes.0.latent` -> `fakes[0].latent`."""
    out = ""
    for part in dotted.split("."):
        out += f"[{part}]" if part.isdigit() and out else (f".{part}" if out else part)
    return out


def optional_inner(hint):
    """Optional[X] -> X (so an optional dataclass section is key-checked like a required one)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Union and len(args) == 2 and type(None) in args:
        return next(a for a in args if a is not type(None))
    return hint


def _is_dict_type(hint) -> bool:
    return typing.get_origin(optional_inner(hint)) is dict


def check_keys(raw: dict, schema: type, path: str, where: str) -> None:
    """Unknown keys, recursively through dataclass-typed fields, with the closest valid key."""
    hints = {k: optional_inner(v) for k, v in get_type_hints(schema).items()}
    names = [f.name for f in dataclasses.fields(schema)]
    for key, val in raw.items():
        full = f"{path}.{key}" if path else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.5)
            tail = f" (did you mean {close[0]!r}?)" if close else f" (valid keys: {', '.join(names)})"
            raise RecipeError(f"{where}: {full}: unknown key{tail}")
        sub = hints.get(key)
        if dataclasses.is_dataclass(sub) and isinstance(val, dict):
            check_keys(val, sub, full, where)
        elif dataclasses.is_dataclass(sub) and val is not None and not isinstance(val, dict):
            raise RecipeError(f"{where}: {full}: expected a mapping, got {show(val)}")


# --- typing a section -----------------------------------------------------------------------------


def build(schema: type, raw: dict, path: str = "", where: str = "<recipe>", typed: dict | None = None):
    """An instance of `schema` from a raw mapping, or a one-line RecipeError naming `where` and the key.

    omegaconf merges `raw` over the schema's defaults (types, conversions), except that a dict-typed
    field (split, storage_options, arch, ...) takes the user's mapping as is, never merged with its
    default. The dataclasses are then constructed bottom-up, so each `__post_init__` check is reported
    under its own key path. `typed` holds sections already typed by the caller, by relative dotted key
    (`{"reals": ..., "augment.ops": ...}`); they are passed to the constructors unchanged."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    typed = typed or {}
    refuse_interpolation(raw, path, where)
    rest = _without(raw, typed)
    try:
        base = OmegaConf.structured(schema)
        _replace_dicts(base, schema, rest)
        cfg = OmegaConf.merge(base, rest)
        plain = OmegaConf.to_container(cfg, resolve=False, throw_on_missing=False)
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None) or ""
        full = ".".join(p for p in (path, str(key)) if p)
        raise RecipeError(f"{where}: {full or '<root>'}: {_type_message(e)}") from None
    return _instantiate(schema, plain, path, where, typed, "")


def _without(raw: dict, typed: dict) -> dict:
    out = dict(raw)
    for key in typed:
        head, _, tail = key.partition(".")
        if not tail:
            out.pop(head, None)
        elif isinstance(out.get(head), dict):
            out[head] = _without(out[head], {tail: None})
    return out


def _replace_dicts(base, schema: type, raw: dict) -> None:
    """Empty each dict-typed default that the user gives a mapping for, so the merge keeps only theirs."""
    hints = get_type_hints(schema)
    for key, val in raw.items():
        hint = hints.get(key)
        if hint is None or not isinstance(val, dict):
            continue
        if _is_dict_type(hint):
            base[key] = {}
        else:
            sub = optional_inner(hint)
            if dataclasses.is_dataclass(sub) and base.get(key) is not None:
                _replace_dicts(base[key], sub, val)


def _instantiate(schema: type, data: dict, path: str, where: str, typed: dict, rel: str):
    hints = get_type_hints(schema)
    kwargs = {}
    for f in dataclasses.fields(schema):
        if not f.init:
            continue
        key = f"{rel}.{f.name}" if rel else f.name
        if key in typed:
            kwargs[f.name] = typed[key]
            continue
        value = data.get(f.name)
        if isinstance(value, str) and value == MISSING_VALUE:
            raise RecipeError(f"{where}: {_join(path, key)}: missing required value")
        sub = optional_inner(hints.get(f.name))
        if dataclasses.is_dataclass(sub) and isinstance(value, dict):
            value = _instantiate(sub, value, path, where, typed, key)
        kwargs[f.name] = value
    try:
        return schema(**kwargs)
    except ValueError as e:  # the dataclass's own __post_init__ check: "field: message"
        raise RecipeError(f"{where}: {_join(path, rel, first_line(e))}") from None


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p) or "<root>"


def _type_message(e: Exception) -> str:
    from omegaconf.errors import MissingMandatoryValue

    if isinstance(e, MissingMandatoryValue):
        return "missing required value"
    msg = first_line(e)
    # omegaconf: "Value 'abc' of type 'str' could not be converted to Integer"
    if "could not be converted to" in msg:
        target = msg.rsplit("could not be converted to", 1)[1].strip().rstrip(".")
        value = msg.split("'", 2)[1] if msg.count("'") >= 2 else "?"
        return f"expected {target.lower()}, got {value!r}"
    if "Incompatible value" in msg or "Cannot assign" in msg:
        return f"wrong type ({msg})"
    return msg


def show(value: Any) -> str:
    s = repr(value)
    return s if len(s) < 60 else s[:57] + "..."
