"""Shortcut classifiers: how well do the cheap features alone predict real vs fake?

Why: "aligned" is a claim about every cue a detector could latch onto, and the honest test of such a
claim is to try. We train a small classifier on each feature group (and on all of them together) and
measure it out of fold. Folds are split by `pair_id` (GroupKFold): both members of a pair are always
on the same side, so a classifier cannot score by recognising the image content it saw in training.

In an aligned dataset the container features of a pair are identical, so every real's score has a
fake twin with the same score and the AUC is exactly 0.5; anything above the threshold (0.6 by
default) is a leak, and the features responsible are named by their own univariate AUC (how well the
feature alone ranks fakes above reals, in either direction).

A random forest is used because the cues are categorical and non-monotone (quality 90 vs 75 vs
absent) and because it needs no scaling; 50 trees fit a few thousand rows in well
under a second.
"""

from __future__ import annotations

import numpy as np

from toolkit.audit.features import FEATURES, GROUPS

FOLDS = 5


def univariate_auc(x: np.ndarray, y: np.ndarray) -> float:
    """max(AUC, 1 - AUC) of one raw feature: 0.5 means useless, 1.0 separates perfectly."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(x)) < 2 or len(np.unique(y)) < 2:
        return 0.5
    a = float(roc_auc_score(y, x))
    return max(a, 1.0 - a)


def oof_scores(X: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int = 0) -> np.ndarray | None:
    """Out-of-fold P(fake) with folds by pair; None when there are too few pairs to cross-validate."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GroupKFold

    n_groups = len(np.unique(groups))
    if n_groups < 2 or len(np.unique(y)) < 2:
        return None
    keep = [j for j in range(X.shape[1]) if len(np.unique(X[:, j])) > 1]
    scores = np.full(len(y), 0.5)
    if not keep:  # every feature constant: nothing to learn, chance by construction
        return scores
    Xk = X[:, keep]
    for train, test in GroupKFold(n_splits=min(FOLDS, n_groups)).split(Xk, y, groups):
        if len(np.unique(y[train])) < 2:
            continue
        clf = RandomForestClassifier(n_estimators=50, min_samples_leaf=2, random_state=seed, n_jobs=1)
        clf.fit(Xk[train], y[train])
        scores[test] = clf.predict_proba(Xk[test])[:, list(clf.classes_).index(1)]
    return scores


def _metrics(scores: np.ndarray, y: np.ndarray) -> dict:
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    return {"auc": round(float(roc_auc_score(y, scores)), 4),
            "balanced_accuracy": round(float(balanced_accuracy_score(y, scores > 0.5)), 4)}


def run_shortcuts(X: np.ndarray, y: np.ndarray, pair_ids: list[str], sources: list[str],
                  threshold: float = 0.6, seed: int = 0) -> dict:
    """Per group and all together: out-of-fold AUC and balanced accuracy (overall and per fake
    source), whether it is a leak, and the features responsible."""
    y = np.asarray(y, dtype=int)
    groups = np.unique(np.asarray(pair_ids), return_inverse=True)[1]
    src = np.asarray(sources)
    fake_sources = sorted(set(src[y == 1]))
    per_feature = {f: round(univariate_auc(X[:, j], y), 4) for j, f in enumerate(FEATURES)}
    col = {f: j for j, f in enumerate(FEATURES)}
    sets = {g: (list(names), gating) for g, (names, gating) in GROUPS.items()}
    sets["all_shortcut"] = ([f for g, (n, gate) in GROUPS.items() if gate for f in n], True)
    sets["all"] = (list(FEATURES), False)
    results = {}
    for name, (feats, gating) in sets.items():
        scores = oof_scores(X[:, [col[f] for f in feats]], y, groups, seed)
        if scores is None:
            results[name] = {"features": feats, "gating": gating, "auc": None, "balanced_accuracy": None,
                             "leak": False, "note": "too few pairs or a single class: not tested"}
            continue
        r = {"features": feats, "gating": gating, **_metrics(scores, y)}
        if len(fake_sources) > 1:  # a leak may concern one generator only (e.g. its output size)
            r["per_source"] = {s: _metrics(scores[(y == 0) | (src == s)], y[(y == 0) | (src == s)])["auc"]
                               for s in fake_sources}
        worst = max([r["auc"], *r.get("per_source", {}).values()])
        r["leak"] = bool(gating and worst > threshold)
        ranked = sorted(feats, key=lambda f: -per_feature[f])
        r["responsible"] = [{"feature": f, "auc": per_feature[f]} for f in ranked if per_feature[f] > threshold] \
            or ([{"feature": f, "auc": per_feature[f]} for f in ranked[:3]] if worst > threshold else [])
        results[name] = r
    return {"threshold": threshold, "folds": FOLDS, "groups": results, "per_feature_auc": per_feature,
            "leak": any(r["leak"] for r in results.values()),
            "leaking_groups": [g for g, r in results.items() if r["leak"]]}


def paired_mismatches(X: np.ndarray, pair_ids: list[str], labels: list[int]) -> dict:
    """The contract checked directly: per shortcut feature, how many pairs have a fake whose value
    differs from its real's. An aligned build has zero everywhere (a stronger, exact statement than an
    AUC of 0.5, and it points at the pairs)."""
    feats = [f for g, (names, gate) in GROUPS.items() if gate for f in names]
    col = {f: j for j, f in enumerate(FEATURES)}
    by_pair: dict[str, dict] = {}
    for i, (pid, lab) in enumerate(zip(pair_ids, labels)):
        d = by_pair.setdefault(pid, {"real": None, "fakes": []})
        if lab == 0:
            d["real"] = i
        else:
            d["fakes"].append(i)
    complete = {p: d for p, d in by_pair.items() if d["real"] is not None and d["fakes"]}
    counts, examples, any_bad = {}, {}, set()
    for f in feats:
        j = col[f]
        bad = [p for p, d in complete.items() if any(X[k, j] != X[d["real"], j] for k in d["fakes"])]
        if bad:
            counts[f] = len(bad)
            examples[f] = sorted(bad)[:5]
            any_bad.update(bad)
    return {"pairs_compared": len(complete), "mismatched_pairs": counts, "examples": examples,
            "pairs_differing": len(any_bad)}
