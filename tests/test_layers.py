"""Layering rules, checked on the source (so a cycle or a reach into another module's privates cannot
come back): no module-level import cycle inside the package, no `from toolkit.x import _private` across
modules, the storage layer depends on nothing above it, and checking a build never imports the build
pipeline or torch."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PKG = ROOT / "toolkit"


def _modules() -> dict[str, Path]:
    mods = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return mods


MODS = _modules()


def _imports(mod: str, top_level_only: bool) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every `import`/`from ... import` of `mod` inside the package."""
    path = MODS[mod]
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "toolkit":
                out.append((target, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.split(".")[0] in ("toolkit", "torch")]
        if not top_level_only and isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
            out.append(("torch", []))
    return out


def _deps(mod: str, top_level_only: bool = True) -> set[str]:
    deps = set()
    for target, names in _imports(mod, top_level_only):
        subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODS]
        deps.update(subs or [target])
    return deps


def test_no_private_imports_across_modules():
    bad = []
    for mod in MODS:
        for target, names in _imports(mod, top_level_only=False):
            for n in names:
                if n.startswith("_") and not n.startswith("__") and target != mod and f"{target}.{n}" not in MODS:
                    bad.append(f"{mod} imports {target}.{n}")
    assert not bad, bad


def test_no_import_cycles_at_module_level():
    graph = {m: {d for d in _deps(m) if d in MODS} for m in MODS}
    seen, stack, cycles = {}, [], []

    def visit(m):
        seen[m] = "open"
        stack.append(m)
        for d in graph[m]:
            if seen.get(d) == "open":
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in seen:
                visit(d)
        stack.pop()
        seen[m] = "done"

    for m in sorted(MODS):
        if m not in seen:
            visit(m)
    assert not cycles, cycles


def test_storage_layer_depends_on_nothing_above_it():
    for mod in (m for m in MODS if m.startswith("toolkit.store.")):
        above = {d for d in _deps(mod, top_level_only=False)
                 if d.startswith("toolkit.") and not d.startswith(("toolkit.store", "toolkit.errors", "toolkit.sample"))}
        assert not above, f"{mod} imports {above}"


def test_checking_a_build_never_imports_the_pipeline_or_torch():
    for mod in ("toolkit.verify", "toolkit.store.build_dir", "toolkit.store.shard_record", "toolkit.commands.verify"):
        deps = _deps(mod, top_level_only=False)
        assert not deps & {"toolkit.engine.runner", "toolkit.engine.pipeline", "toolkit.engine.executors", "torch"}, (mod, deps)
