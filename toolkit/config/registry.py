"""Name -> implementation registries.

A recipe says `kind: vae_roundtrip`; the registry finds the class and the dataclass that types its
section of the recipe, so adding a source, generator, augmentation op or feature kind is one decorator
in one new file, not an edit to an if-chain or a table. Built-in implementations register when `load_builtins()` imports them.
"""

from __future__ import annotations

import difflib
import importlib
import os
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Entry:
    name: str
    impl: Any
    config: type


class Registry:
    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, config: type) -> Callable[[Any], Any]:
        def deco(impl):
            if name in self._entries and self._entries[name].impl is not impl:
                raise ValueError(f"{self.what} {name!r} registered twice")
            self._entries[name] = Entry(name, impl, config)
            return impl

        return deco

    def names(self) -> list[str]:
        return sorted(self._entries)

    def get(self, name: str) -> Entry | None:
        return self._entries.get(name)

    def closest(self, name: str) -> str | None:
        hits = difflib.get_close_matches(str(name), self.names(), n=1, cutoff=0.5)
        return hits[0] if hits else None


SOURCES = Registry("source")
GENERATORS = Registry("generator")
AUGMENT_OPS = Registry("augment op")
FEATURES = Registry("feature")

# Packages whose every public module (not `base`, not `_private`) registers implementations on import:
# a new source or generator is a new file, with no central list to edit.
_PLUGIN_PACKAGES = ("toolkit.sources", "toolkit.generators", "toolkit.features")
_BUILTINS = ("toolkit.transforms.augment",)


def load_builtins() -> None:
    import pkgutil

    for pkg_name in _PLUGIN_PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name != "base" and not info.name.startswith("_"):
                importlib.import_module(f"{pkg_name}.{info.name}")
    for mod in _BUILTINS:
        importlib.import_module(mod)
    for mod in plugin_modules():
        try:
            importlib.import_module(mod)
        except ImportError as e:
            from toolkit.errors import ToolkitError

            raise ToolkitError(f"TOOLKIT_PLUGINS: cannot import {mod!r} ({e})") from None


def plugin_modules() -> list[str]:
    """Modules of the user's own sources/generators/ops, named in `TOOLKIT_PLUGINS` (comma-separated).

    An environment variable, not a recipe key, because it must reach every process that looks a kind
    up: dask workers (local ones inherit the client's environment; start remote ones with it set) and
    the poison-isolation sandbox. A recipe never names code to import."""
    return [m.strip() for m in os.environ.get("TOOLKIT_PLUGINS", "").split(",") if m.strip()]
