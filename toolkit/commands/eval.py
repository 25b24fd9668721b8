"""`toolkit eval MODEL --on DS1 DS2 ...`: the cross-dataset table of a trained detector (e.g. trained on
round-trips, tested on text-to-image fakes and on shader controls). Prints a markdown table; `--json`
also writes every metric and breakdown."""

from __future__ import annotations

import json
import sys

HELP = "evaluate a trained detector on one or more datasets (cross-dataset table)"
ORDER = 21


def add_arguments(p) -> None:
    p.add_argument("model", help="a folder made by `toolkit train`")
    p.add_argument("--on", nargs="+", required=True, metavar="DATASET", help="build folders or hub dataset ids")
    p.add_argument("--split", default="test", help="split to evaluate (default test)")
    p.add_argument("--json", help="also write the full results to this JSON file")


def run(args) -> int:
    from toolkit.detectors.report import cross_table
    from toolkit.detectors.run import evaluate

    rows = evaluate(args.model, args.on, split=args.split, echo=lambda s: print(s, file=sys.stderr))
    print(cross_table(args.model, rows), end="")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "results": rows}, f, indent=1, default=str)
    return 0
