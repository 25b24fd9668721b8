"""`toolkit eval MODEL [MODEL ...] --on DS1 DS2 ...`: the cross-dataset table of one or more trained
detectors (e.g. trained on round-trips, tested on text-to-image fakes and on shader controls), with the
per-generator and per-augmentation breakdowns, and, with `--robustness` (or `--perturbations NAME ...`),
the perturbation sweep (JPEG, WebP, rescaling, blur; both classes alike) on every dataset. Prints
markdown tables; `--json` also writes every metric and breakdown; `--scores` keeps every image's score
(model, dataset, split, perturbation, pair_id, label, source, augment, score) as parquet, for paired
comparisons later (`toolkit study` keeps them the same way).

  toolkit eval outputs/detectors/demo-resnet50 --on outputs/demo outputs/shaders
  toolkit eval MODEL_A MODEL_B --on DS --robustness --scores scores.parquet
  toolkit eval MODEL --on DS --perturbations jpeg75 webp75   # a part of the sweep only
  toolkit eval MODEL --on DS --json results.json      # the tables on stdout, every metric in the file
  toolkit eval MODEL --on DS --json - | jq .results   # JSON alone on stdout (the tables go to stderr)
"""

from __future__ import annotations

import json
import sys

HELP = "evaluate trained detectors on datasets (cross-dataset table, breakdowns, robustness sweep)"
ORDER = 21


def add_arguments(p) -> None:
    p.add_argument("models", nargs="+", metavar="MODEL", help="folders made by `toolkit train`")
    p.add_argument("--on", nargs="+", required=True, metavar="DATASET", help="build folders or hub dataset ids")
    p.add_argument("--split", default="test", help="split to evaluate (default test)")
    p.add_argument("--robustness", action="store_true", help="also run the perturbation sweep on every dataset")
    p.add_argument("--perturbations", nargs="+", metavar="NAME",
                   help="only these perturbations of the sweep (e.g. jpeg75 webp75; implies --robustness)")
    p.add_argument("--scores", metavar="PARQUET", help="write every image's score to this parquet file")
    p.add_argument("--json", metavar="PATH", help="also write the full results to this JSON file ('-': stdout, "
                                                 "which then carries the JSON alone; the tables go to stderr)")


def _f(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def group_lines(title: str, rows: list[dict], key: str) -> list[str]:
    """A markdown table of one breakdown (`key`: by_source | by_augment) over every dataset."""
    lines = ["", title, "", "| group | dataset | n real | n fake | AP | ROC-AUC | balanced acc @0.5 |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        for name, m in r["breakdown"][key].items():
            lines.append(f"| {name} | {r['dataset']} | {m['n_real']} | {m['n_fake']} | {_f(m['ap'])} | "
                         f"{_f(m['roc_auc'])} | {_f(m['balanced_acc'])} |")
    return lines


def robustness_lines(rows: list[dict]) -> list[str]:
    if not any(r["robustness"] for r in rows):
        return []
    lines = ["", "Robustness (each perturbation applied to every image, real and fake alike; AP / balanced acc @0.5):",
             "", "| perturbation | dataset | AP | ROC-AUC | balanced acc @0.5 | balanced acc @val |", "|---|---|---|---|---|---|"]
    for r in rows:
        for x in r["robustness"]:
            lines.append(f"| {x['perturbation']} | {r['dataset']} | {_f(x['ap'])} | {_f(x['roc_auc'])} | "
                         f"{_f(x['balanced_acc'])} | {_f(x.get('balanced_acc@val'))} |")
    return lines


def run(args) -> int:
    from toolkit.commands._inputs import dataset_input
    from toolkit.detectors import storage
    from toolkit.detectors.report import cross_table
    from toolkit.detectors.robustness import check_names
    from toolkit.detectors.run import evaluate, score_frame

    for ds in args.on:
        dataset_input(ds)  # a path that does not exist: the one-line "not a build" error, exit 2
    robust = args.robustness or bool(args.perturbations)
    names = check_names(args.perturbations, "toolkit eval --perturbations") if args.perturbations else None
    loaded = [storage.load(m) for m in args.models]  # every model checked before any evaluation starts
    to_stdout = args.json == "-"
    all_rows = []
    for model, pair in zip(args.models, loaded):
        rows = evaluate(model, args.on, split=args.split, echo=lambda s: print(s, file=sys.stderr),
                        robustness=robust, perturbations=names, loaded=pair)
        all_rows += rows
        text = cross_table(model, rows).rstrip("\n").split("\n")
        text += group_lines("Per generator (all reals against that generator's fakes):", rows, "by_source")
        text += group_lines("Per augmentation chain of the build (both members of a pair share it):", rows, "by_augment")
        text += robustness_lines(rows)
        print("\n".join(text) + "\n", file=sys.stderr if to_stdout else sys.stdout)
    if args.scores:
        score_frame(all_rows).to_parquet(args.scores, index=False)
    if args.json:
        results = [{k: v for k, v in r.items() if k != "per_image"} for r in all_rows]
        text = json.dumps({"model": args.models[0] if len(args.models) == 1 else None, "models": args.models,
                           "results": results}, indent=1, default=str) + "\n"
        if to_stdout:
            sys.stdout.write(text)
        else:
            with open(args.json, "w") as f:
                f.write(text)
    return 0
