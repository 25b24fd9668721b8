"""The one check of a command's build or dataset argument, so that "not a build" is the same line and the
same exit code (2, a ToolkitError) in every command.

Two kinds of argument:
- a toolkit build (verify, card, push, inspect, info): `build_input` = `store.build_dir.open_build`,
  a folder or fsspec URL holding meta/build.json;
- a dataset (audit, train, eval --on, train --val): a toolkit build, any folder `datasets.load_dataset`
  reads, a URL or a Hub id (`org/name`). `dataset_input` refuses, before anything is loaded or written,
  only what can never be one: a local path that does not exist (and is not shaped like a Hub id) and a
  plain file.

    toolkit: error: /no/such/dir: no such file or directory (expected a toolkit build folder)
    toolkit: error: ./photos: not a toolkit build (no meta/build.json)

(This module's name starts with `_`: the CLI does not take it for a subcommand.)
"""

from __future__ import annotations

import re
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.store.layout import BUILD_FILE

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def build_input(path: str, storage_options: dict | None = None):
    """The build at `path` as an open `AtomicFolder`, or the one-line ToolkitError (exit 2)."""
    from toolkit.store.build_dir import open_build

    return open_build(path, storage_options)


def dataset_input(dataset: str) -> bool:
    """True for an existing local folder, False for a URL or a Hub id; a ToolkitError (exit 2) for a local
    path that does not exist or is a file."""
    if "://" in dataset:
        return False
    p = Path(dataset).expanduser()
    if p.is_dir():
        return True
    if p.exists():  # a file: neither a build folder nor a dataset folder
        raise ToolkitError(f"{dataset}: not a toolkit build (no {BUILD_FILE})")
    if HUB_ID.match(dataset) and not dataset.startswith((".", "/", "~")):
        return False
    raise ToolkitError(f"{dataset}: no such file or directory (expected a toolkit build folder)")
