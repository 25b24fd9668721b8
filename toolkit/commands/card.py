"""`toolkit card OUT`: re-render the dataset card (README.md, figures, licence) from what is on disk.

Reads recipe.yaml, meta/summary.json, the shard markers and parquet columns, meta/environment.json
(the versions recorded by the build) and every stage's meta/NAME/card.json, then validates the card
against the build's files. Exit 1 when the card fails validation; 2 when OUT is not a toolkit build.
"""

from __future__ import annotations

import sys

HELP = "re-render a build's dataset card from disk"
ORDER = 20


def add_arguments(p) -> None:
    p.add_argument("output", help="build folder or fsspec URL")
    p.add_argument("--load-path", help="what the card's load_dataset snippet names (default: the build's output)")


def run(args) -> int:
    from toolkit.card.render import load_build, refresh_card, validate_card
    from toolkit.commands._inputs import build_input
    from toolkit.store.manifest import MANIFEST_FILE, publishable_files

    build_input(args.output)  # no such path / not a build: one line, exit 2 (as verify, push, inspect)
    text = refresh_card(args.output, load_path=args.load_path)
    out, recipe, _ = load_build(args.output)
    problems = validate_card(text, publishable_files(out) + [MANIFEST_FILE], masks=recipe.makes_masks())
    for p in problems:
        print(f"toolkit: card: {p}", file=sys.stderr)
    print(out.path("README.md"))
    return 1 if problems else 0
