"""The recipes shipped with the package, and where a recipe argument is read from.

The YAML files in this folder are package data, so `pip install` users get them too: `toolkit make demo`
builds `toolkit/recipes/demo.yaml` by name, `toolkit recipes` lists them. The checkout's top-level
`recipes/` folder holds identical copies for the README's `toolkit make recipes/demo.yaml` (a test keeps
the two byte-identical; the package copy is the canonical one). A recipe's description is the first
line of the comment block it starts with.

`read_recipe(arg)` resolves a recipe argument, in this order:
1. a URL (`scheme://...`): read through fsspec, so `file://`, `memory://`, `s3://`, `gs://` and
   `hf://datasets/org/repo/recipe.yaml` (huggingface_hub's HfFileSystem) all work;
2. an existing local file;
3. the name of a shipped recipe (`demo`, or `demo.yaml`).
Anything else is one RecipeError line naming the argument and the shipped names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import RecipeError, first_line

HERE = Path(__file__).resolve().parent
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Shipped:
    name: str
    path: Path
    description: str


def describe(text: str, limit: int = 120) -> str:
    """The first line of the leading `#` comment block (at most `limit` characters)."""
    first = text.splitlines()[0] if text.strip() else ""
    line = first.lstrip("#").strip() if first.startswith("#") else ""
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def shipped() -> dict[str, Shipped]:
    """Every recipe shipped with the package, by name."""
    out = {}
    for path in sorted(HERE.glob("*.yaml")):
        out[path.stem] = Shipped(path.stem, path, describe(path.read_text(encoding="utf-8")))
    return out


def read_recipe(arg: str | Path) -> tuple[str, str]:
    """(text, where) of the recipe `arg` names; `where` is what error messages name."""
    where = str(arg)
    if "://" in where:
        return _read_url(where), where
    path = Path(where).expanduser()
    if path.is_file() or (path.exists() and not _NAME.match(where)):
        try:
            return path.read_text(encoding="utf-8"), where
        except (OSError, UnicodeDecodeError) as e:
            raise RecipeError(f"{where}: cannot read recipe ({getattr(e, 'strerror', None) or e})") from None
    name = where[: -len(".yaml")] if where.endswith(".yaml") else where
    known = shipped()
    if _NAME.match(name) and name in known:
        return known[name].path.read_text(encoding="utf-8"), str(known[name].path)
    if path.exists():
        raise RecipeError(f"{where}: cannot read recipe (a folder, not a file)")
    raise RecipeError(f"{where}: cannot read recipe (no such file, and not a shipped recipe: "
                      f"{', '.join(known)}; `toolkit recipes` lists them)")


def _read_url(url: str) -> str:
    import fsspec

    try:
        with fsspec.open(url, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise RecipeError(f"{url}: cannot read recipe (no such file)") from None
    except Exception as e:  # noqa: BLE001 - unknown protocol, offline hub, permissions: one line naming the URL
        first = first_line(e)[:300]
        raise RecipeError(f"{url}: cannot read recipe ({type(e).__name__}: {first})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RecipeError(f"{url}: cannot read recipe (not UTF-8 text)") from None
