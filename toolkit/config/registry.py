"""Name -> implementation registries.

A recipe says `kind: vae_roundtrip`; the registry finds the class and the dataclass that types its
section of the recipe, so adding a source, generator, augmentation op or feature kind is one decorator
in one new file, not an edit to an if-chain or a table. Built-in implementations register when `load_builtins()` imports them.
"""

from __future__ import annotations

import difflib
import importlib
import os
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Entry:
    name: str
    target: Any  # the implementation, or "module:attr" to import when first used (a lazy entry)
    config: type
    extra: dict = field(default_factory=dict)  # what else the kind declares (a detector's presets)

    @property
    def impl(self):
        if isinstance(self.target, str):
            module, attr = self.target.split(":")
            return getattr(importlib.import_module(module), attr)
        return self.target


class Registry:
    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, config: type, **extra) -> Callable[[Any], Any]:
        """Decorator for the implementation: `@REG.register("name", Config)`."""
        def deco(impl):
            self._add(Entry(name, impl, config, extra))
            return impl

        return deco

    def register_lazy(self, name: str, config: type, impl: str, **extra) -> None:
        """An entry whose implementation is imported only when used ("module:attr"): for kinds whose module
        imports torch at import time (detectors), so reading a recipe stays light."""
        self._add(Entry(name, impl, config, extra))

    def _add(self, entry: Entry) -> None:
        old = self._entries.get(entry.name)
        if old is not None and old.target is not entry.target and old.target != entry.target:
            raise ValueError(f"{self.what} {entry.name!r} registered twice")
        self._entries[entry.name] = entry

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
DETECTORS = Registry("detector")  # registered by toolkit/detectors/config.py (lazy: the models import torch)

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
