"""ROC and precision-recall curves, and the robustness sweep, as PNG files (matplotlib, no display)."""

from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def roc_pr(labels, scores, path_roc: str, path_pr: str, title: str) -> None:
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _plt()
    labels = np.asarray(labels)
    fpr, tpr, _ = roc_curve(labels, scores)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.plot(fpr, tpr)
    ax.plot([0, 1], [0, 1], "--", color="grey", lw=0.8)
    ax.set(xlabel="false positive rate (reals called fake)", ylabel="true positive rate", title=f"ROC: {title}")
    fig.tight_layout()
    fig.savefig(path_roc)
    plt.close(fig)
    prec, rec, _ = precision_recall_curve(labels, scores)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.plot(rec, prec)
    ax.axhline(labels.mean(), ls="--", color="grey", lw=0.8)
    ax.set(xlabel="recall (fakes)", ylabel="precision", ylim=(0, 1.02), title=f"PR: {title}")
    fig.tight_layout()
    fig.savefig(path_pr)
    plt.close(fig)


def robustness(rows: list[dict], path: str, title: str) -> None:
    """One line per metric over the perturbations (clean first)."""
    plt = _plt()
    names = [r["perturbation"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(5, 0.55 * len(names)), 3.6), dpi=100)
    for key, label in (("ap", "AP"), ("roc_auc", "ROC-AUC"), ("balanced_acc", "balanced acc @0.5")):
        ys = [np.nan if r[key] is None else r[key] for r in rows]
        ax.plot(range(len(names)), ys, marker="o", label=label)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set(ylim=(0, 1.02), title=f"robustness: {title}")
    ax.axhline(0.5, ls="--", color="grey", lw=0.8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
