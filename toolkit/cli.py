"""`toolkit` command line. Thin: parse, call, report.

Exit codes: 0 success; 1 the build ran but is incomplete (failed shards, re-run to retry);
2 a usage or recipe error, reported as one readable line (never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys

from .errors import RecipeError, ToolkitError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="toolkit", description="Aligned real/fake image datasets.")
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="build a dataset from a recipe")
    m.add_argument("recipe", nargs="?", help="recipe YAML file (e.g. recipes/demo.yaml)")
    m.add_argument("overrides", nargs="*", help="key=value overrides, e.g. image.size=128 reals.count=50")
    m.add_argument("--out", help="output folder or fsspec URL (default: the recipe's output, else outputs/<name>)")
    m.add_argument("--overwrite", action="store_true", help="delete the output and start over")
    m.add_argument("--scheduler", help="synchronous | tcp://host:8786 (default: a local dask cluster)")
    m.add_argument("--print-recipe", action="store_true", help="print the resolved recipe and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if rest:  # key=value overrides may follow options (`make r.yaml --out X image.size=64`)
        bad = [r for r in rest if r.startswith("-")]
        if bad:
            parser.error(f"unrecognized arguments: {' '.join(bad)}")
        args.overrides = list(args.overrides or []) + rest
    try:
        if args.command == "make":
            return _make(args)
    except RecipeError as e:
        print(f"toolkit: recipe error: {e}", file=sys.stderr)
        return 2
    except ToolkitError as e:
        print(f"toolkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("toolkit: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    return 0


def _make(args) -> int:
    from .recipe import load_recipe

    if not args.recipe:
        raise RecipeError("no recipe file given (e.g. toolkit make recipes/demo.yaml)")
    if "=" in args.recipe and not os.path.exists(args.recipe):
        raise RecipeError(f"{args.recipe}: the first argument must be the recipe file, overrides come after it")
    recipe = load_recipe(args.recipe, args.overrides)
    if args.out:
        recipe.output = args.out
    if args.print_recipe:
        print(recipe.to_yaml(), end="")
        return 0
    from .runner import make
    from .summary import format_summary

    result = make(recipe, overwrite=args.overwrite, scheduler=args.scheduler,
                  echo=lambda s: print(s, file=sys.stderr))
    print(format_summary(result.summary))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
