"""The audit end to end: rows -> features -> shortcut classifiers, pair checks, fidelity, balance."""

from __future__ import annotations

import time

import numpy as np

from toolkit.audit.balance import run_balance
from toolkit.audit.data import load_rows
from toolkit.audit.features import FEATURES, GATING_GROUPS, GROUPS, feature_matrix
from toolkit.audit.fidelity import run_fidelity
from toolkit.audit.shortcuts import paired_mismatches, run_shortcuts


def run_audit(path: str, threshold: float = 0.6, max_pairs: int | None = None, seed: int = 0) -> dict:
    """The audit report (a JSON-able dict) of the dataset at `path`; see the package docstring."""
    timings = {}
    t = time.time()
    rows = load_rows(path, max_pairs=max_pairs)
    timings["load_s"] = round(time.time() - t, 3)
    t = time.time()
    X, infos, errors = feature_matrix(rows.image)
    timings["features_s"] = round(time.time() - t, 3)
    notes = list(rows.notes)
    unreadable = [(rows.pair_id[i], rows.source[i], e) for i, e in enumerate(errors) if e]
    if unreadable:
        notes.append(f"{len(unreadable)} images unreadable (features zero): e.g. {unreadable[0]}")
    y = np.asarray(rows.label)
    t = time.time()
    shortcuts = run_shortcuts(X, y, rows.pair_id, rows.source, threshold=threshold, seed=seed)
    mismatches = paired_mismatches(X, rows.pair_id, rows.label)
    timings["shortcuts_s"] = round(time.time() - t, 3)
    t = time.time()
    fidelity = run_fidelity(rows)
    timings["fidelity_s"] = round(time.time() - t, 3)
    balance = run_balance(rows, [i.get("format", "unknown") for i in infos])
    facts = {}
    for key in ("format", "quality", "subsampling", "webp", "mode"):
        c: dict = {}
        for info, lab in zip(infos, rows.label):
            v = str(info.get(key))
            c.setdefault(v, {"real": 0, "fake": 0})["fake" if lab else "real"] += 1
        facts[key] = c
    means = {f: {"real": round(float(X[y == 0, j].mean()), 4) if (y == 0).any() else None,
                 "fake": round(float(X[y == 1, j].mean()), 4) if (y == 1).any() else None}
             for j, f in enumerate(FEATURES)}
    return {"dataset": str(path), "rows": len(rows), "pairs": len(set(rows.pair_id)),
            "pairs_total": rows.total_pairs, "leak": shortcuts["leak"],
            # the contract, per pair: a class-balanced difference (unmatched augmentation) is no class-level
            # shortcut, but the pairs are not aligned, and a detector trained on pairs sees it
            "misaligned_pairs": mismatches["pairs_differing"],
            "feature_groups": {g: {"features": list(n), "gating": gate} for g, (n, gate) in GROUPS.items()},
            "gating_groups": list(GATING_GROUPS),
            "shortcuts": shortcuts, "paired_mismatches": mismatches, "fidelity": fidelity,
            "balance": balance, "file_facts": facts, "feature_means": means,
            "unreadable": [{"pair_id": p, "source": s, "error": e} for p, s, e in unreadable[:50]],
            "notes": notes, "timings": timings}
