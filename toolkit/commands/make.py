"""`toolkit make RECIPE [key=value ...]`: build a dataset from a recipe.

RECIPE is a YAML file, the name of a recipe shipped with the package (`toolkit recipes` lists them) or
any fsspec URL (file://, s3://, hf://datasets/org/repo/recipe.yaml).

  toolkit make demo                                       the offline demo, into outputs/demo
  toolkit make recipes/demo.yaml image.size=128 reals.count=50 --out outputs/small
  toolkit make demo --print-recipe                        the resolved recipe, nothing built
  toolkit make hf://datasets/org/repo/recipe.yaml --scheduler tcp://host:8786
"""

from __future__ import annotations

import os
import sys

from toolkit.errors import RecipeError

HELP = "build a dataset from a recipe"
ORDER = 0  # position in `toolkit --help`


def add_arguments(m) -> None:
    m.add_argument("recipe", nargs="?", help="recipe: a YAML file, a shipped recipe's name (demo) or an fsspec URL")
    m.add_argument("overrides", nargs="*", help="key=value overrides, e.g. image.size=128 reals.count=50")
    m.add_argument("--out", help="output folder or fsspec URL (default: the recipe's output, else outputs/<name>)")
    m.add_argument("--overwrite", action="store_true", help="delete the output and start over")
    m.add_argument("--scheduler", help="synchronous | tcp://host:8786 (default: a local dask cluster)")
    m.add_argument("--print-recipe", action="store_true", help="print the resolved recipe and exit")
    talk = m.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true",
                      help="no progress and no informational lines; errors and the summary only")
    talk.add_argument("-v", "--verbose", action="store_true", help="also one line per finished shard")


def run(args) -> int:
    from toolkit.config.recipe import load_recipe

    if not args.recipe:
        raise RecipeError("no recipe given (e.g. toolkit make demo, or toolkit make recipes/demo.yaml)")
    if "=" in args.recipe and not os.path.exists(args.recipe):
        raise RecipeError(f"{args.recipe}: the first argument must be the recipe file, overrides come after it")
    recipe = load_recipe(args.recipe, args.overrides)
    if args.scheduler is not None:
        from toolkit.config.validation import scheduler

        scheduler("--scheduler", args.scheduler)
    if args.out:
        recipe.output = args.out
    if args.print_recipe:
        print(recipe.to_yaml(), end="")
        return 0
    from toolkit.models import check_recipe_models

    check_recipe_models(recipe, remote=bool(args.scheduler and "://" in args.scheduler))  # offline: cached?
    from toolkit.engine.runner import make
    from toolkit.engine.summary import format_summary

    if args.quiet:
        recipe.runner.progress = False
    echo = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    result = make(recipe, overwrite=args.overwrite, scheduler=args.scheduler, echo=echo, verbose=args.verbose)
    print(format_summary(result.summary))
    return 0 if result.ok else 1
