"""Writing the audit: report.json, PNG plots and the dataset card section, under OUT/meta/audit/.

The card section is markdown rendered here from the report (one place knows the report's shape) and
stored as `meta/audit/card.json` {"markdown": ..., "leak": ..., ...}; `templates/sections/audit.md.j2`
places it in README.md when `toolkit.card.render.refresh_card(OUT)` re-renders the card. meta/ is matched by
no `configs` pattern, so none of this becomes rows of the dataset.
"""

from __future__ import annotations

import io
import json

DIR = "meta/audit"


def _fmt(x, nd=3) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def markdown(report: dict) -> str:
    sc, thr = report["shortcuts"], report["shortcuts"]["threshold"]
    lines = []
    if sc["leak"]:
        groups = ", ".join(f"`{g}`" for g in sc["leaking_groups"])
        lines.append(f"**LEAK FLAGGED.** Metadata alone tells real from fake (ROC-AUC > {thr:g}) in: {groups}. "
                     "A detector trained on this dataset can learn these cues instead of the generator's artifacts.")
    else:
        lines.append(f"**No shortcut found.** No container, codec, geometry or metadata feature separates real "
                     f"from fake (every group's out-of-fold ROC-AUC <= {thr:g}).")
    if report.get("misaligned_pairs"):
        mm = report["paired_mismatches"]
        lines += ["", f"**NOT ALIGNED.** {report['misaligned_pairs']} of {mm['pairs_compared']} pairs have a fake "
                      "whose file properties differ from its real's (list below): the members of a pair were "
                      "not stored alike (unmatched augmentation, or another pipeline per class)."]
    lines += ["", f"{report['rows']} rows, {report['pairs']} pairs audited; classifiers on the features alone, "
              f"{sc['folds']}-fold cross-validation split by `pair_id`.", "",
              "| feature group | gates | ROC-AUC | balanced acc. | verdict | responsible features (AUC alone) |",
              "|---|---|---|---|---|---|"]
    for g, r in sc["groups"].items():
        verdict = "LEAK" if r["leak"] else ("signal" if (r["auc"] or 0) > thr else "ok")
        resp = ", ".join(f"`{x['feature']}` {x['auc']:.2f}" for x in r.get("responsible", [])[:4]) or "-"
        lines.append(f"| {g} | {'yes' if r['gating'] else 'no'} | {_fmt(r['auc'])} | "
                     f"{_fmt(r['balanced_accuracy'])} | {verdict} | {resp} |")
    lines += ["", "Groups that gate are properties of the file (format, codec settings, size, metadata): in an "
              "aligned dataset they are identical within a pair. The others are pixel statistics that a "
              "generator's own artifacts legitimately move (\"signal\" there is a cheap-detector baseline, "
              "not a leak)."]
    mm = report["paired_mismatches"]
    if mm["mismatched_pairs"]:
        lines += ["", "Pairs whose members differ in a file property: " + ", ".join(
            f"`{f}` {n}/{mm['pairs_compared']}" for f, n in mm["mismatched_pairs"].items()) + "."]
    else:
        lines += ["", f"All {mm['pairs_compared']} complete pairs have identical file properties across members."]
    fid = report["fidelity"]
    if fid:
        lines += ["", "Pair fidelity (fake vs its real):", "",
                  "| fake source | pairs | PSNR median (dB) | PSNR 5th pct | SSIM median (luma) | outliers |",
                  "|---|---|---|---|---|---|"]
        for s, f in fid.items():
            lines.append(f"| {s} | {f['pairs']} | {_fmt(f.get('psnr_median'), 2)} | {_fmt(f.get('psnr_p05'), 2)} | "
                         f"{_fmt(f.get('ssim_median'))} | {f.get('outlier_count', 0)} |")
        worst = [o for f in fid.values() for o in f.get("outliers", [])][:5]
        if worst:
            lines += ["", "Worst outliers: " + ", ".join(
                f"`{o['pair_id']}` ({o['split']}, {o['psnr']:.1f} dB)" for o in worst) + "."]
    bal = report["balance"]
    lines += ["", "Balance: " + ("; ".join(bal["problems"]) if bal["problems"] else
                                 "every pair is whole and in one split; no stratum is skewed") + "."]
    if report["notes"]:
        lines += ["", "Notes: " + "; ".join(report["notes"]) + "."]
    lines += ["", f"![shortcut AUC per group]({DIR}/shortcuts.png) ![pair fidelity]({DIR}/fidelity.png)", "",
              f"Full report: `{DIR}/report.json`. Re-run with `toolkit audit <dataset>` "
              f"(exit code 1 when a leak is flagged or a pair is not aligned)."]
    return "\n".join(lines)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def plots(report: dict) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    sc = report["shortcuts"]
    names = list(sc["groups"])
    aucs = [sc["groups"][g]["auc"] or 0.5 for g in names]
    colors = ["tab:red" if sc["groups"][g]["leak"] else ("tab:blue" if sc["groups"][g]["gating"] else "tab:gray")
              for g in names]
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    ax[0].barh(names[::-1], aucs[::-1], color=colors[::-1])
    ax[0].axvline(sc["threshold"], color="k", ls="--", lw=1)
    ax[0].set_xlim(0.4, 1.0)
    ax[0].set_xlabel("out-of-fold ROC-AUC (red: leak, grey: content, not gating)")
    ax[0].set_title("shortcut classifiers per feature group")
    top = sorted(sc["per_feature_auc"].items(), key=lambda kv: -kv[1])[:12]
    ax[1].barh([k for k, _ in top][::-1], [v for _, v in top][::-1], color="tab:orange")
    ax[1].axvline(sc["threshold"], color="k", ls="--", lw=1)
    ax[1].set_xlim(0.4, 1.0)
    ax[1].set_xlabel("ROC-AUC of the feature alone")
    ax[1].set_title("most telling single features")
    out["shortcuts.png"] = _png(fig)
    fid = {s: f for s, f in report["fidelity"].items() if f["psnr"]}
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.2))
    for s, f in fid.items():  # one histogram per fake source that has pairs
        ax[0].hist(f["psnr"], bins=30, alpha=0.6, label=s)
        ax[1].hist([v for v in f["ssim"] if v == v], bins=30, alpha=0.6, label=s)
    ax[0].set_xlabel("PSNR fake vs real (dB)")
    ax[1].set_xlabel("SSIM fake vs real (luma)")
    for a in ax:
        a.set_ylabel("pairs")
        if fid:
            a.legend(fontsize=8)
    out["fidelity.png"] = _png(fig)
    return out


def write_report(output, report: dict, refresh: bool = True) -> list[str]:
    """Write report.json, plots and card.json under OUT/meta/audit/; re-render the card when OUT is a
    toolkit build. Returns the files written (relative to OUT)."""
    from toolkit.store.atomic import AtomicFolder

    out = AtomicFolder(output)
    written = []
    out.write_text(f"{DIR}/report.json", json.dumps(report, indent=1, sort_keys=False) + "\n")
    written.append(f"{DIR}/report.json")
    for name, data in plots(report).items():
        out.write_bytes(f"{DIR}/{name}", data)
        written.append(f"{DIR}/{name}")
    card = {"markdown": markdown(report), "leak": report["shortcuts"]["leak"],
            "misaligned_pairs": report.get("misaligned_pairs", 0),
            "threshold": report["shortcuts"]["threshold"],
            "auc": {g: r["auc"] for g, r in report["shortcuts"]["groups"].items()}}
    out.write_json(f"{DIR}/card.json", card)
    written.append(f"{DIR}/card.json")
    if refresh and out.exists("recipe.yaml") and out.exists("meta/summary.json"):
        from toolkit.card.render import refresh_card
        from toolkit.errors import ToolkitError

        try:
            refresh_card(output)
            written.append("README.md")
        except ToolkitError as e:  # e.g. a build by another toolkit version: the report still stands
            report["notes"].append(f"dataset card not refreshed: {e}")
            out.write_text(f"{DIR}/report.json", json.dumps(report, indent=1, sort_keys=False) + "\n")
    return written
