"""`toolkit recipes [NAME]`: the recipes shipped with the package, or one of them printed.

  toolkit recipes                    name and one-line description of each shipped recipe
  toolkit recipes demo > my.yaml     a shipped recipe's text, to copy and edit
  toolkit make demo                  build a shipped recipe by name (as `toolkit make recipes/demo.yaml`)

`toolkit make` also reads a recipe from any fsspec URL: `file://`, `s3://`, `hf://datasets/org/repo/r.yaml`.
"""

from __future__ import annotations

import sys

from toolkit.errors import RecipeError

HELP = "list the recipes shipped with the package (or print one)"
ORDER = 1


def add_arguments(p) -> None:
    p.add_argument("name", nargs="?", help="print this shipped recipe's YAML")


def run(args) -> int:
    from toolkit.recipes import shipped

    known = shipped()
    if args.name:
        name = args.name[: -len(".yaml")] if args.name.endswith(".yaml") else args.name
        if name not in known:
            raise RecipeError(f"{args.name}: not a shipped recipe (shipped: {', '.join(known)})")
        sys.stdout.write(known[name].path.read_text(encoding="utf-8"))
        return 0
    width = max(len(n) for n in known)
    for name, r in known.items():
        print(f"{name:{width}s}  {r.description}")
    print(f"{len(known)} recipes in {next(iter(known.values())).path.parent}; `toolkit make NAME` builds one",
          file=sys.stderr)
    return 0
