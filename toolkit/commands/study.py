"""`toolkit study STUDY.yaml [--variant NAME] [--out DIR] [--plan]`: run an experiment described in one file: build the
datasets it names (recipes with overrides; or use existing builds and hub ids), train each detector
on each training set for each seed, evaluate every model on every evaluation set with the robustness
sweep, and write one results table, per-image scores, intervals over seeds, paired bootstrap
comparisons, a train x eval heatmap, robustness curves and report.md. Resumes like `make`: a re-run
redoes nothing that finished (docs/studies.md)."""

from __future__ import annotations

import sys

HELP = "run a study: builds, detectors x seeds, evaluation matrix, intervals and report"
ORDER = 22


def add_arguments(p) -> None:
    p.add_argument("study", help="study file (YAML), e.g. studies/misaligned.yaml")
    p.add_argument("--out", help="output folder (default: the study's out, else outputs/studies/<name>)")
    p.add_argument("--variant", help="one of the study's variants: (e.g. tiny: fewer, smaller images and seeds)")
    p.add_argument("--plan", action="store_true", help="print what would be built, trained and evaluated, and exit")


def run(args) -> int:
    from toolkit.study.config import load_study

    study = load_study(args.study, out=args.out, variant=args.variant)
    if args.plan:
        from toolkit.study.plan import make_plan
        from toolkit.study.run import todo

        plan = make_plan(study)
        missing = todo(plan)
        for n, d in plan.data.items():
            print(f"dataset {n}: {d.path} ({d.identity}){' to build' if n in missing['builds'] else ''}")
        for m in plan.models:
            print(f"model {m.detector} train={m.train} seed={m.seed}: {m.dir}{' to train' if m in missing['models'] else ''}")
        print(f"{len(plan.cells)} evaluations, {len(missing['cells'])} to run")
        return 0
    from toolkit.study.run import run_study

    res = run_study(study, echo=lambda s: print(s, file=sys.stderr, flush=True))
    print(f"study {study.name}: built {res['done']['builds']}, trained {res['done']['models']}, "
          f"evaluated {res['done']['cells']}; report: {res['results']}")
    return 0
