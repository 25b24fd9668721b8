"""A study's results: one table, per-image scores, intervals, figures and report.md.

Written into the study folder (atomically, from the evaluation cells on disk, so a re-run rewrites
the same files):
    results.parquet / results.csv   train x eval x detector x seed x perturbation, every metric
    scores.parquet                  every image's score (train, eval, detector, seed, perturbation,
                                    pair_id, label, source, augment, score)
    summary.csv                     mean and 95% interval over seeds per (train, eval, detector, perturbation)
    comparisons.json                each declared difference: seed interval and paired bootstrap over pairs
    fidelity.json                   PSNR of each dataset's fakes against their reals (matched fidelity?)
    heatmap-<detector>.png          train x eval, mean AP on the clean split
    robustness-<train>.png          AP per perturbation, one line per eval set (and detector)
    report.md                       all of it in words, with the commands and versions
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np

from toolkit.study.config import Condition, override_list
from toolkit.study.stats import paired_bootstrap, t_interval

SHOWN = ("ap", "roc_auc", "balanced_acc")


def _load_cells(plan):
    import pandas as pd

    out = Path(plan.study.out)
    rows, frames = [], []
    for c in plan.cells:
        rec = json.loads((out / "cells" / f"{c.key}.json").read_text())
        for m in rec["metrics"]:
            rows.append({"train": rec["train"], "eval": rec["eval"], "detector": rec["detector"], "seed": rec["seed"],
                         **{k: v for k, v in m.items()}})
        frames.append(pd.read_parquet(out / "cells" / f"{c.key}.parquet"))
    return pd.DataFrame(rows), pd.concat(frames, ignore_index=True)


def _fmt(m, lo, hi) -> str:
    if m is None or not np.isfinite(m):
        return "n/a"
    return f"{m:.3f}" if lo == hi else f"{m:.3f} [{lo:.3f}, {hi:.3f}]"


def summarise(table):
    """Mean and 95% t interval over seeds per (train, eval, detector, perturbation)."""
    import pandas as pd

    out = []
    for key, g in table.groupby(["train", "eval", "detector", "perturbation"], sort=False):
        row = dict(zip(["train", "eval", "detector", "perturbation"], key), seeds=len(g))
        for k in SHOWN:
            row[k], row[f"{k}_low"], row[f"{k}_high"] = t_interval(g[k].astype(float).tolist())
        out.append(row)
    return pd.DataFrame(out)


MIN_SEEDS = 3  # below this the t interval over seeds is too wide to decide (t(0.975, 1) = 12.7)


def verdict_of(boot: dict, seed_low: float, n_seeds: int) -> str:
    """Whether a comparison reproduces: "yes" when metric(a) > metric(b) with both 95% intervals above zero,
    the paired bootstrap over test pairs (how much the test sample could move it) and the t interval over
    seeds (how much training runs move it); with fewer than MIN_SEEDS seeds only the first can be
    checked, and the verdict says so. Either one alone overstates a finding: the bootstrap holds the
    trained models fixed, and the seeds hold the test pairs fixed."""
    if not (boot["excludes_zero"] and boot["diff"] > 0):
        return "no"
    if n_seeds < MIN_SEEDS:
        return f"yes (over pairs only: {n_seeds} seed{'s' if n_seeds != 1 else ''})"
    return "yes" if seed_low > 0 else "no (not over seeds)"


def _rows(frame, cond):
    """The rows of `frame` (results or scores) of one condition: train set, eval set, detector, perturbation."""
    return frame[(frame["train"] == cond.train) & (frame["eval"] == cond.eval) & (frame["detector"] == cond.detector)
                 & (frame["perturbation"] == cond.perturbation)]


def compare_all(plan, table, scores) -> list[dict]:
    st = plan.study
    res = []
    for c in st.compare:
        runs, seed_diffs = {}, []
        for side, cond in (("a", c.a), ("b", c.b)):
            runs[side] = [{"pair_id": g.pair_id.to_numpy(), "label": g.label.to_numpy().astype(int),
                           "score": g.score.to_numpy()} for _, g in sorted(_rows(scores, cond).groupby("seed"))]
        rows_a, rows_b = _rows(table, c.a), _rows(table, c.b)
        for s in st.seeds:
            va = rows_a[rows_a["seed"] == s][c.metric]
            vb = rows_b[rows_b["seed"] == s][c.metric]
            if len(va) and len(vb) and va.iloc[0] is not None and vb.iloc[0] is not None:
                seed_diffs.append(float(va.iloc[0]) - float(vb.iloc[0]))
        boot = paired_bootstrap(runs["a"], runs["b"], c.metric, st.bootstrap)
        m, lo, hi = t_interval(seed_diffs)
        verdict = verdict_of(boot, lo, len(seed_diffs))
        res.append({"name": c.name, "metric": c.metric, "a": vars(c.a), "b": vars(c.b), "per_seed": seed_diffs,
                    "seed_mean": m, "seed_low": lo, "seed_high": hi, "bootstrap": boot,
                    "reproduced": verdict.startswith("yes"), "verdict": verdict})
    return res


def _heatmaps(plan, summ, out) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    for det in plan.study.detectors:
        grid = np.full((len(plan.study.train), len(plan.study.eval)), np.nan)
        for i, tr in enumerate(plan.study.train):
            for j, ev in enumerate(plan.study.eval):
                sel = _rows(summ, Condition(tr, ev, det))
                if len(sel):
                    grid[i, j] = sel.ap.iloc[0]
        fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(plan.study.eval), 1.2 + 0.8 * len(plan.study.train)))
        im = ax.imshow(grid, vmin=0.5, vmax=1.0, cmap="viridis")
        ax.set_xticks(range(len(plan.study.eval)), plan.study.eval, rotation=30, ha="right")
        ax.set_yticks(range(len(plan.study.train)), plan.study.train)
        ax.set_xlabel("evaluated on")
        ax.set_ylabel("trained on")
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                ax.text(j, i, "n/a" if np.isnan(grid[i, j]) else f"{grid[i, j]:.3f}", ha="center", va="center",
                        color="white" if grid[i, j] < 0.8 else "black", fontsize=8)
        fig.colorbar(im, ax=ax, label="AP (mean over seeds)")
        ax.set_title(f"{det}: AP, clean")
        names.append(_save(fig, out, f"heatmap-{det}.png"))
    return names


def _save(fig, out, name: str) -> str:
    """Write `fig` as OUT/name (PNG, 100 dpi) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    out.write_bytes(name, buf.getvalue())
    return name


def _curves(plan, summ, out) -> list[str]:
    if not plan.study.robustness:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    perts = ["clean", *plan.study.robustness]
    for tr in plan.study.train:
        fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(perts) + 2), 3.4))
        for det in plan.study.detectors:
            for ev in plan.study.eval:
                sel = summ[(summ["train"] == tr) & (summ["eval"] == ev) & (summ["detector"] == det)].set_index("perturbation")
                y = [sel.ap.get(p, np.nan) for p in perts]
                lo = [sel.ap_low.get(p, np.nan) for p in perts]
                hi = [sel.ap_high.get(p, np.nan) for p in perts]
                label = ev if len(plan.study.detectors) == 1 else f"{ev} ({det})"
                ax.plot(range(len(perts)), y, marker="o", label=label)
                ax.fill_between(range(len(perts)), lo, hi, alpha=0.15)
        ax.set_xticks(range(len(perts)), perts, rotation=30, ha="right")
        ax.set_ylim(0.3, 1.02)
        ax.set_ylabel("AP (mean, 95% interval over seeds)")
        ax.set_title(f"trained on {tr}")
        ax.legend(fontsize=7, title="evaluated on", title_fontsize=7)
        names.append(_save(fig, out, f"robustness-{tr}.png"))
    return names


def versions() -> dict:
    from importlib import metadata

    v = {"python": sys.version.split()[0]}
    for pkg in ("toolkit", "torch", "numpy", "scikit-learn", "datasets", "pillow", "transformers", "diffusers"):
        try:
            v[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            v[pkg] = None
    return v


def _markdown(plan, summ, comps, figures, psnr: dict) -> str:
    st = plan.study
    lines = [f"# Study `{st.name}`", ""]
    if st.description:
        lines += [st.description.strip(), ""]
    lines += [f"Seeds {st.seeds}; evaluated on split `{st.split}`; intervals are 95%: over seeds a Student t "
              "interval (`mean [low, high]`), over test pairs a paired bootstrap "
              f"({st.bootstrap} resamples of pair_id, the same draw for both conditions).", "", "## Data", "",
              f"| name | what | identity | PSNR of fakes vs their reals (`{st.split}`) |", "|---|---|---|---|"]
    for n, d in plan.data.items():
        spec = st.datasets[n]
        what = (f"recipe `{spec.recipe}`" + (f" with `{' '.join(spec.overrides)}`" if spec.overrides else "")
                + f", built in `{d.path}`") if spec.recipe else (f"build `{spec.build}`" if spec.build else f"hub `{spec.hub}`")
        f = psnr.get(n)
        lines.append(f"| {n} | {what} | `{d.identity}` | " + (f"{f['psnr']:.2f} dB ({f['pairs']} fakes)" if f else "n/a")
                     + " |")
    lines += ["", "## Detectors", ""]
    for dn, raw in st.detectors.items():
        lines.append(f"- `{dn}`: `{json.dumps(raw, sort_keys=True)}`")
    lines += ["", "## Results (clean)", "", "| train | eval | detector | AP | ROC-AUC | balanced acc @0.5 |",
              "|---|---|---|---|---|---|"]
    for _, r in summ[summ["perturbation"] == "clean"].iterrows():
        lines.append(f"| {r['train']} | {r['eval']} | {r['detector']} | {_fmt(r.ap, r.ap_low, r.ap_high)} | "
                     f"{_fmt(r.roc_auc, r.roc_auc_low, r.roc_auc_high)} | "
                     f"{_fmt(r.balanced_acc, r.balanced_acc_low, r.balanced_acc_high)} |")
    if st.robustness:
        lines += ["", "## Robustness (AP, mean [95% interval] over seeds)", "",
                  "| train | eval | detector | " + " | ".join(["clean", *st.robustness]) + " |",
                  "|---|---|---|" + "---|" * (1 + len(st.robustness))]
        for (tr, ev, det), g in summ.groupby(["train", "eval", "detector"], sort=False):
            g = g.set_index("perturbation")
            cells = [_fmt(g.ap[p], g.ap_low[p], g.ap_high[p]) if p in g.index else "n/a" for p in ["clean", *st.robustness]]
            lines.append(f"| {tr} | {ev} | {det} | " + " | ".join(cells) + " |")
    if comps:
        lines += ["", "## Comparisons", "",
                  "A difference counts as reproduced only when it has the declared sign (a better than b) and both "
                  "95% intervals exclude zero: the paired bootstrap over test pairs and the t interval over seeds "
                  f"(with fewer than {MIN_SEEDS} seeds only the first can be checked, and the verdict says so).", "",
                  "| comparison | metric | a | b | difference (bootstrap over pairs) | over seeds | reproduced |",
                  "|---|---|---|---|---|---|---|"]
        for c in comps:
            b = c["bootstrap"]

            def cond(x):
                det = f", {x['detector']}" if len(st.detectors) > 1 else ""
                return f"train {x['train']}, eval {x['eval']}{det}, {x['perturbation']}"
            lines.append(f"| {c['name']} | {c['metric']} | {cond(c['a'])} | {cond(c['b'])} | "
                         f"{b['diff']:+.3f} [{b['low']:+.3f}, {b['high']:+.3f}]{'' if b['paired'] else ' (unpaired)'} | "
                         f"{_fmt(c['seed_mean'], c['seed_low'], c['seed_high'])} | {c['verdict']} |")
    if figures:
        lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    lines += ["", "## Commands", "", "```bash",
              f"toolkit study {st.path}" + (f" --variant {st.variant}" if st.variant else "") + f" --out {st.out}",
              "# what it runs, step by step:"]
    lines += [f"{d.command}" for d in plan.data.values() if d.command]
    for dn, raw in st.detectors.items():
        settings = _dotted({k: v for k, v in raw.items() if k not in ("kind", "preset")})
        sets = " ".join(f"'{o}'" for o in override_list(settings, st.path, dn))
        preset = f"--preset {raw['preset']} " if raw.get("preset") else ""
        lines.append(f"toolkit train DATA --detector {raw.get('kind', 'resnet50')} {preset}{sets + ' ' if sets else ''}seed=SEED robustness=false "
                     f"--no-card --out {st.out}/models/KEY   # {dn}, each train set and seed")
    perts = f" --perturbations {' '.join(st.robustness)}" if st.robustness else ""
    lines.append(f"toolkit eval {st.out}/models/KEY --on EVAL --split {st.split}{perts} --scores SCORES.parquet")
    lines += ["```", "", "## Versions", ""]
    lines += [f"- {k}: {v}" for k, v in versions().items()]
    return "\n".join(lines) + "\n"


def _dotted(raw: dict, prefix: str = "") -> dict:
    """{augment: {jpeg: 0.5}} -> {augment.jpeg: 0.5}: on the command line a mapping value replaces the
    whole node, while in a study file it is merged into the preset's (detector_config), so the printed
    command names each leaf to do what the study did."""
    out = {}
    for k, val in raw.items():
        if isinstance(val, dict) and val:
            out.update(_dotted(val, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = val
    return out


def write_frame(out, rel: str, frame) -> None:
    """A DataFrame as OUT/rel (parquet, no index), written atomically."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    out.write_bytes(rel, buf.getvalue())


def write_results(plan, echo=print) -> str:
    from toolkit.store.atomic import AtomicFolder

    out = AtomicFolder(plan.study.out)
    table, scores = _load_cells(plan)
    write_frame(out, "results.parquet", table)
    write_frame(out, "scores.parquet", scores)
    out.write_text("results.csv", table.to_csv(index=False))
    summ = summarise(table)
    out.write_text("summary.csv", summ.to_csv(index=False))
    comps = compare_all(plan, table, scores)
    out.write_text("comparisons.json", json.dumps(comps, indent=1, default=float) + "\n")
    figures = _heatmaps(plan, summ, out) + _curves(plan, summ, out)
    from toolkit.study.fidelity import psnr_of

    psnr = {n: psnr_of(d.path, plan.study.split) for n, d in plan.data.items()}
    out.write_text("fidelity.json", json.dumps(psnr, indent=1) + "\n")
    out.write_text("report.md", _markdown(plan, summ, comps, figures, psnr))
    echo(f"results in {plan.study.out}: report.md, results.parquet/csv, scores.parquet, summary.csv, "
         f"comparisons.json, {len(figures)} figures")
    for c in comps:
        b = c["bootstrap"]
        echo(f"  {c['name']}: {c['metric']} {b['diff']:+.3f} [{b['low']:+.3f}, {b['high']:+.3f}] "
             f"over seeds {c['seed_mean']:+.3f} [{c['seed_low']:+.3f}, {c['seed_high']:+.3f}] "
             f"-> {'reproduced' if c['reproduced'] else 'not reproduced'} ({c['verdict']})")
    return str(Path(plan.study.out) / "report.md")
