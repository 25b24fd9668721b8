"""A tiny demo build shared by the publish tests (card, push, inspect): built once per test session
with the same arguments as conftest's `demo_args`, then copied for any test that changes it."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import demo_args

_BUILT: dict[str, Path] = {}


def demo_build(tmp_path_factory) -> Path:
    """Path of a finished demo build; do not modify it (use `demo_copy`)."""
    if "demo" not in _BUILT:
        from toolkit.cli import main

        out = tmp_path_factory.mktemp("publish_demo") / "demo"
        assert main(demo_args(out)) == 0
        _BUILT["demo"] = out
    return _BUILT["demo"]


def demo_copy(tmp_path_factory, tmp_path: Path) -> Path:
    dest = tmp_path / "demo"
    shutil.copytree(demo_build(tmp_path_factory), dest)
    return dest


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
