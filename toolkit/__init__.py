"""toolkit: aligned real/fake image corpora for synthetic-image detection research.

The Python API (docs/api.md) is what the command line calls:

    import toolkit

    recipe = toolkit.load_recipe("demo", ["image.size=64", "reals.count=12"])  # validated, nothing written
    summary = toolkit.build(recipe, out="outputs/small", scheduler="synchronous")
    print(summary["pairs"], summary["splits"])

`import toolkit` stays light (no torch, no dask): each function imports what it needs when called.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__", "build", "load_recipe"]


def load_recipe(recipe, overrides=()):
    """A validated `Recipe` from a YAML file, a shipped recipe's name (`"demo"`; `toolkit recipes` lists
    them) or any fsspec URL (`file://`, `s3://`, `hf://datasets/org/repo/recipe.yaml`), with `key=value`
    overrides applied as on the command line. Raises `toolkit.errors.RecipeError` (one line naming the
    file and key) on any mistake; reads nothing else and writes nothing."""
    from toolkit.config.recipe import load_recipe as _load

    return _load(recipe, list(overrides))


def build(recipe, out: str | None = None, overrides=(), scheduler: str | None = None, overwrite: bool = False,
          echo=None, quiet: bool = False) -> dict:
    """Build (or resume) a dataset and return its summary (the dict written to OUT/meta/summary.json).

    `recipe`: a `Recipe` (from `load_recipe`), or anything `load_recipe` reads; `overrides` apply to the
    latter only. `out`: the output folder or fsspec URL (default: the recipe's `output`, else
    outputs/<name>). `scheduler`: None (a local dask cluster), "synchronous" (in this process) or a dask
    scheduler address `tcp://host:8786`. `echo`: gets the informational lines (default: stderr; `quiet`
    silences them and the progress lines).

    Everything is checked before anything is written, as `toolkit make` does: the recipe, the scheduler
    address, the source's input and, offline, that every model is available (`toolkit.models`). Raises
    `toolkit.errors.ToolkitError` for such a mistake (one line) and for a build that did not complete
    (its message names the failed shards; re-running the same call resumes it)."""
    import copy
    import sys

    from toolkit.config.recipe import Recipe
    from toolkit.errors import ToolkitError

    if isinstance(recipe, Recipe):
        if overrides:
            raise ToolkitError("build(): overrides apply to a recipe file or name; apply them with "
                               "load_recipe(path, overrides) instead")
        recipe = copy.deepcopy(recipe)  # the caller's object is not changed by the output or progress settings
    else:
        recipe = load_recipe(recipe, overrides)
    if scheduler is not None:
        from toolkit.config.validation import ConfigError, scheduler as check_scheduler

        try:
            check_scheduler("scheduler", scheduler)
        except ConfigError as e:
            raise ToolkitError(f"build(): {e}") from None
    if out is not None:
        recipe.output = str(out)
    if quiet:
        recipe.runner.progress = False
        echo = echo or (lambda s: None)
    echo = echo or (lambda s: print(s, file=sys.stderr, flush=True))
    from toolkit.models import check_recipe_models

    check_recipe_models(recipe, remote=bool(scheduler and "://" in scheduler))
    from toolkit.engine.runner import make

    result = make(recipe, overwrite=overwrite, scheduler=scheduler, echo=echo)
    if not result.ok:
        failed = result.summary.get("failed_shards") or []
        errors = sorted({str(f.get("error", "")).splitlines()[0] for f in failed if isinstance(f, dict)} - {""})
        raise ToolkitError(f"{recipe.output_url()}: the build did not complete ({len(failed)} failed shard(s)"
                           + (f": {errors[0]}" if errors else "") + "); run build() again to resume it")
    return result.summary
