"""The Python API (docs/api.md): load a shipped recipe, change it, build it, read the result back.

    python examples/python_api.py                      # the demo at 64 px, 24 pairs, into outputs/api_demo
    python examples/python_api.py --out /tmp/x --pairs 8

Everything `toolkit make` checks is checked here too, before anything is written: a recipe mistake is a
`toolkit.errors.RecipeError`, a bad output or an unavailable model (offline) a `ToolkitError`.
"""

from __future__ import annotations

import argparse

import toolkit
from toolkit.errors import ToolkitError


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="outputs/api_demo", help="output folder or fsspec URL")
    ap.add_argument("--pairs", type=int, default=24, help="reals to list (one pair each)")
    args = ap.parse_args(argv)

    # 1. a recipe: a shipped one by name (`toolkit recipes` lists them), a file, or any fsspec URL,
    #    with the same key=value overrides as the command line; validated, nothing is written yet
    recipe = toolkit.load_recipe("demo", [f"reals.count={args.pairs}", "image.size=64", "runner.shard_size=8",
                                          "detector=null"])
    # ... and a typed object to change in code
    recipe.card = None  # (a recipe's card: section: description, citation, homepage, ...; see docs/publish.md)
    print(f"recipe {recipe.name!r}: hash {recipe.content_hash()}, fakes {[f.kind for f in recipe.fakes]}")

    # 2. build it (resumes an interrupted build of the same recipe); "synchronous" runs in this process
    try:
        summary = toolkit.build(recipe, out=args.out, scheduler="synchronous", quiet=True)
    except ToolkitError as e:
        raise SystemExit(f"build failed: {e}") from None
    print(f"built {summary['pairs']} pairs, {summary['rows']} rows into {summary['output']}: "
          + ", ".join(f"{s} {v['rows']} rows" for s, v in summary["splits"].items()))

    # 3. read it back: a Hugging Face dataset, the exact stored bytes in the image column
    import datasets

    ds = datasets.load_dataset(summary["output"])
    row = ds["train"][0]
    print(f"first train row: pair {row['pair_id']}, source {row['source']}, {row['width']}x{row['height']} "
          f"{row['format']}")
    return summary


if __name__ == "__main__":
    main()
