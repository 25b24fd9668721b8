"""Run a study: build what is missing, train what is missing, evaluate what is missing, then report.

Resumes like `toolkit make`: a build is skipped when its folder holds a complete build of the same
recipe hash; a model when its folder holds `done.json` (written last, atomically); an evaluation cell
when its `.json` exists (written after its `.parquet`, both atomically). So a killed study re-run with
the same command redoes only the unfinished pieces, and a finished one redoes nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from toolkit.study.plan import StudyPlan, make_plan


def _build_done(item) -> bool:
    p = Path(item.path)
    try:
        built = json.loads((p / "meta" / "build.json").read_text()).get("recipe_hash")
        complete = json.loads((p / "meta" / "summary.json").read_text()).get("complete")
    except (OSError, ValueError):
        return False
    return bool(complete) and built == item.identity.split(":", 1)[1]


def todo(plan: StudyPlan) -> dict:
    """What is missing: {"builds": [...names], "models": [...ModelItem], "cells": [...CellItem]}."""
    out = Path(plan.study.out)
    builds = [n for n, d in plan.data.items() if d.recipe is not None and _build_done(d) is False
              and (n in plan.study.train or n in plan.study.eval)]
    models = [m for m in plan.models if not (Path(m.dir) / "done.json").exists()]
    cells = [c for c in plan.cells if not (out / "cells" / f"{c.key}.json").exists()]
    return {"builds": builds, "models": models, "cells": cells}


def run_study(study, echo=None) -> dict:
    """Do the missing work of `study` and write its results; returns {"done": counts, "results": path}."""
    from toolkit.detectors import storage
    from toolkit.detectors.run import evaluate, score_frame, train_and_evaluate
    from toolkit.errors import ToolkitError
    from toolkit.store.atomic import AtomicFolder
    from toolkit.study.report import write_frame, write_results

    echo = echo or (lambda s: print(s, file=sys.stderr, flush=True))
    plan = make_plan(study)
    missing = todo(plan)
    echo(f"study {study.name}: {len(plan.data)} datasets ({len(missing['builds'])} to build), "
         f"{len(plan.models)} models ({len(missing['models'])} to train), {len(plan.cells)} evaluations "
         f"({len(missing['cells'])} to run); output {study.out}")
    out = AtomicFolder(study.out)
    for name in missing["builds"]:
        from toolkit.engine.runner import make

        item = plan.data[name]
        echo(f"build {name}: {item.command}")
        res = make(item.recipe, output=item.path, echo=lambda s: None)
        if not res.ok:
            raise ToolkitError(f"{study.path}: datasets.{name}: the build is incomplete ({item.path}); "
                               "re-run to resume, or see its meta/summary.json")
    for m in missing["models"]:
        echo(f"train {m.detector} on {m.train}, seed {m.seed} -> {m.dir}")
        train_and_evaluate(plan.data[m.train].path, m.cfg, out=m.dir, update_card=False, echo=lambda s: None)
        AtomicFolder(m.dir).write_json("done.json", {"train": m.train, "detector": m.detector, "seed": m.seed,
                                               "data": plan.data[m.train].identity})
    loaded: dict = {}
    for c in missing["cells"]:
        m = c.model
        if m.key not in loaded:
            loaded = {m.key: storage.load(m.dir)}  # one model in memory at a time
        echo(f"evaluate {m.detector} (train {m.train}, seed {m.seed}) on {c.eval}"
             + (f" + {len(study.robustness)} perturbations" if study.robustness else ""))
        rows = evaluate(m.dir, [plan.data[c.eval].path], split=study.split, echo=lambda s: None,
                        robustness=bool(study.robustness), perturbations=study.robustness, loaded=loaded[m.key])
        frame = score_frame(rows).drop(columns=["model", "dataset", "split"])
        frame.insert(0, "seed", m.seed)
        frame.insert(0, "detector", m.detector)
        frame.insert(0, "eval", c.eval)
        frame.insert(0, "train", m.train)
        write_frame(out, f"cells/{c.key}.parquet", frame)
        r = rows[0]
        metrics = r["robustness"] if r["robustness"] else [{"perturbation": "clean", **r["metrics"]}]
        out.write_json(f"cells/{c.key}.json", {"train": m.train, "eval": c.eval, "detector": m.detector,
                                               "seed": m.seed, "model": m.dir, "metrics": metrics,
                                               "breakdown": r["breakdown"]})
    results = write_results(plan, echo=echo)
    return {"done": {k: len(v) for k, v in missing.items()}, "results": results}
