"""`toolkit eval MODEL --on DS1 DS2 ...`: the cross-dataset table of a trained detector (e.g. trained on
round-trips, tested on text-to-image fakes and on shader controls). Prints a markdown table; `--json`
also writes every metric and breakdown.

  toolkit eval outputs/detectors/demo-resnet50 --on outputs/demo outputs/shaders
  toolkit eval MODEL --on DS --json results.json      # the table on stdout, every metric in the file
  toolkit eval MODEL --on DS --json - | jq .results   # JSON alone on stdout (the table goes to stderr)
"""

from __future__ import annotations

import json
import sys

HELP = "evaluate a trained detector on one or more datasets (cross-dataset table)"
ORDER = 21


def add_arguments(p) -> None:
    p.add_argument("model", help="a folder made by `toolkit train`")
    p.add_argument("--on", nargs="+", required=True, metavar="DATASET", help="build folders or hub dataset ids")
    p.add_argument("--split", default="test", help="split to evaluate (default test)")
    p.add_argument("--json", metavar="PATH", help="also write the full results to this JSON file ('-': stdout, "
                                                 "which then carries the JSON alone; the table goes to stderr)")


def run(args) -> int:
    from toolkit.commands._inputs import dataset_input
    from toolkit.detectors.report import cross_table
    from toolkit.detectors.run import evaluate

    for ds in args.on:
        dataset_input(ds)  # a path that does not exist: the one-line "not a build" error, exit 2
    rows = evaluate(args.model, args.on, split=args.split, echo=lambda s: print(s, file=sys.stderr))
    to_stdout = args.json == "-"
    print(cross_table(args.model, rows), end="", file=sys.stderr if to_stdout else sys.stdout)
    if args.json:
        text = json.dumps({"model": args.model, "results": rows}, indent=1, default=str) + "\n"
        if to_stdout:
            sys.stdout.write(text)
        else:
            with open(args.json, "w") as f:
                f.write(text)
    return 0
