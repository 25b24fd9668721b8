"""Detection metrics on fake-probability scores (label 1 = fake).

AP and ROC-AUC are threshold-free. Accuracies are reported at 0.5 and at a threshold chosen on the
validation split (the one maximising balanced accuracy there): a detector can rank perfectly and
still sit at 50% accuracy at 0.5 when test images differ from training ones (UnivFD's point), so
both are needed. Real and fake accuracy are reported separately, and their mean (balanced accuracy)
is the number that does not move with the class ratio.

Calibration, as B-Free reports it beside AP/AUC/accuracy: `ece` (expected calibration error of the fake
probability, 15 equal-width bins over [0, 1]: per bin |mean predicted probability - fraction of fakes|,
weighted by the bin's share of images; Naeini et al. 2015, Guo et al. 2017) and `nll` (mean binary
cross-entropy, probabilities clipped to [1e-7, 1 - 1e-7]). Lower is better for both. These are the
standard definitions. B-Free's tables use *class-balanced* versions (grip-unina/B-Free,
code/utils/dmetrics.py:47-100, called by code/main_bfree.py:82-83): every image weighted by 1 / (its
class's count), so reals and fakes count equally whatever their ratio. `ece_balanced` follows its
`balanced_ece_binary` exactly (15 bins by floor(15 p), per bin |weighted mean p - weighted fraction of
fakes| x the bin's share of the weight; like the reference, a probability of exactly 1.0 falls in a 16th
bin that is never summed); `nll_balanced` is its `balanced_nll_binary`, the mean of the two classes' mean
cross-entropies, here from the probability clipped as for `nll` (the reference starts from the logit).

UnivFD's tables also give accuracy at the best threshold searched on the test set itself
(`find_best_threshold`, validate.py:45-65; applied by `calculate_acc`, validate.py:90-94): an oracle
figure, not an honest one (the threshold sees the test labels). `oracle_threshold` reproduces it and
`summary` reports it as `acc@oracle` beside the validation-threshold `acc@val`.
"""

from __future__ import annotations

import numpy as np


def average_precision(labels, scores) -> float | None:
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.min(initial=1) == labels.max(initial=0):
        return None
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, scores))


def roc_auc(labels, scores) -> float | None:
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.min(initial=1) == labels.max(initial=0):
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def accuracies(labels, scores, threshold: float = 0.5) -> dict:
    """Overall, real, fake and balanced accuracy when `score >= threshold` means fake."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    pred = (scores >= threshold).astype(int)
    real, fake = labels == 0, labels == 1
    real_acc = float((pred[real] == 0).mean()) if real.any() else None
    fake_acc = float((pred[fake] == 1).mean()) if fake.any() else None
    parts = [a for a in (real_acc, fake_acc) if a is not None]
    return {"acc": float((pred == labels).mean()) if len(labels) else None, "real_acc": real_acc,
            "fake_acc": fake_acc, "balanced_acc": float(np.mean(parts)) if parts else None}


def best_threshold(labels, scores) -> float:
    """The threshold maximising balanced accuracy (midpoint between neighbouring scores)."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if len(scores) == 0 or labels.min() == labels.max():
        return 0.5
    u = np.unique(scores)
    cands = np.concatenate([[u[0] - 1e-6], (u[:-1] + u[1:]) / 2, [u[-1] + 1e-6]])
    best, best_t = -1.0, 0.5
    for t in cands:
        b = accuracies(labels, scores, t)["balanced_acc"]
        if b > best + 1e-12 or (abs(b - best) <= 1e-12 and abs(t - 0.5) < abs(best_t - 0.5)):
            best, best_t = b, float(t)
    return best_t


def oracle_threshold(labels, scores) -> float:
    """UnivFD's `find_best_threshold` on the test set itself. It assumes reals first, then fakes; rows
    are put in that order here (stable). If every real scores <= every fake, the midpoint of the
    highest real and lowest fake; otherwise each score in turn is tried (fake when score >= it) and the
    last one reaching the highest accuracy wins."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if len(scores) == 0 or labels.min() == labels.max():
        return 0.5
    order = np.concatenate([np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)])
    y, s = labels[order], scores[order]
    real, fake = s[y == 0], s[y == 1]
    if real.max() <= fake.min():
        return float((real.max() + fake.min()) / 2)
    # correct(t) = #fakes with s >= t + #reals with s < t, for every candidate t in s, vectorised
    rs, fs = np.sort(real), np.sort(fake)
    correct = (len(fs) - np.searchsorted(fs, s, side="left")) + np.searchsorted(rs, s, side="left")
    best = np.flatnonzero(correct == correct.max())[-1]  # `acc >= best_acc` keeps the last maximum
    return float(s[best])


def accuracies_above(labels, scores, threshold: float) -> dict:
    """UnivFD's `calculate_acc`: fake when score > threshold (strictly)."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    pred = scores > threshold
    real, fake = labels == 0, labels == 1
    return {"acc": float((pred == (labels == 1)).mean()) if len(labels) else None,
            "real_acc": float((~pred[real]).mean()) if real.any() else None,
            "fake_acc": float(pred[fake].mean()) if fake.any() else None}


ECE_BINS = 15


def expected_calibration_error(labels, scores, bins: int = ECE_BINS) -> float | None:
    """Binary ECE of the fake probability over `bins` equal-width bins (the last bin includes 1.0)."""
    labels, p = np.asarray(labels, dtype=np.float64), np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    if len(p) == 0:
        return None
    idx = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(p[m].mean() - labels[m].mean())
    return float(ece)


def negative_log_likelihood(labels, scores, eps: float = 1e-7) -> float | None:
    """Mean binary cross-entropy of the fake probability (natural log)."""
    labels, p = np.asarray(labels, dtype=np.float64), np.clip(np.asarray(scores, dtype=np.float64), eps, 1 - eps)
    if len(p) == 0:
        return None
    return float(-(labels * np.log(p) + (1 - labels) * np.log(1 - p)).mean())


def balanced_ece(labels, scores, bins: int = ECE_BINS) -> float | None:
    """B-Free's `balanced_ece_binary` (dmetrics.py:71-100) on fake probabilities; None without both classes."""
    labels, p = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.min(initial=1) == labels.max(initial=0):
        return None
    counts = {c: (labels == c).sum() for c in (0, 1)}
    w = np.where(labels == 1, 1.0 / counts[1], 1.0 / counts[0])
    idx = np.floor(bins * p)
    ece = 0.0
    for b in range(bins):  # idx == bins (p == 1.0) is never summed, as in the reference
        m = idx == b
        if m.any():
            wb = w[m]
            ece += abs((wb * p[m]).sum() / wb.sum() - (wb * (labels[m] == 1)).sum() / wb.sum()) * wb.sum() / w.sum()
    return float(ece)


def balanced_nll(labels, scores, eps: float = 1e-7) -> float | None:
    """B-Free's `balanced_nll_binary` (dmetrics.py:47-68): the mean of the per-class mean cross-entropies."""
    labels, p = np.asarray(labels), np.clip(np.asarray(scores, dtype=np.float64), eps, 1 - eps)
    if labels.min(initial=1) == labels.max(initial=0):
        return None
    return float((-np.log(p[labels == 1]).mean() - np.log(1 - p[labels == 0]).mean()) / 2)


def summary(labels, scores, val_threshold: float | None = None) -> dict:
    labels = np.asarray(labels)
    out = {"n": int(len(labels)), "n_real": int((labels == 0).sum()), "n_fake": int((labels == 1).sum()),
           "ap": average_precision(labels, scores), "roc_auc": roc_auc(labels, scores),
           "ece": expected_calibration_error(labels, scores), "nll": negative_log_likelihood(labels, scores),
           "ece_balanced": balanced_ece(labels, scores), "nll_balanced": balanced_nll(labels, scores)}
    at_half = accuracies(labels, scores, 0.5)
    out.update({"acc@0.5": at_half["acc"], "real_acc": at_half["real_acc"], "fake_acc": at_half["fake_acc"],
                "balanced_acc": at_half["balanced_acc"]})
    if val_threshold is not None:
        at_val = accuracies(labels, scores, val_threshold)
        out.update({"val_threshold": val_threshold, "acc@val": at_val["acc"],
                    "balanced_acc@val": at_val["balanced_acc"]})
    if out["n_real"] and out["n_fake"]:  # UnivFD's oracle: threshold searched on these very labels
        t = oracle_threshold(labels, scores)
        at_oracle = accuracies_above(labels, scores, t)
        out.update({"oracle_threshold": t, "acc@oracle": at_oracle["acc"], "real_acc@oracle": at_oracle["real_acc"],
                    "fake_acc@oracle": at_oracle["fake_acc"]})
    return out


def breakdown(split, scores, val_threshold: float | None = None) -> dict:
    """Per generator (all reals against that generator's fakes) and per build augmentation chain
    (both members of a pair share it, so each group holds both classes)."""
    scores = np.asarray(scores)
    labels = split.labels
    real = np.flatnonzero(labels == 0)
    by_source = {}
    for src in sorted({s for s, lab in zip(split.sources, labels) if lab == 1}):
        idx = np.concatenate([real, [i for i, s in enumerate(split.sources) if s == src and labels[i] == 1]]).astype(int)
        by_source[src] = summary(labels[idx], scores[idx], val_threshold)
    by_aug = {}
    for aug in sorted(set(split.augments)):
        idx = np.asarray([i for i, a in enumerate(split.augments) if a == aug], dtype=int)
        by_aug[aug] = summary(labels[idx], scores[idx], val_threshold)
    return {"by_source": by_source, "by_augment": by_aug}
