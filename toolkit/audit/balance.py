"""Balance: class counts per split, source, augmentation and format; pairs that are not whole.

Why: a class imbalance inside one stratum is a shortcut too (all WebP rows fake, say), and a pair
with a missing member or split across train/test breaks the contract the rest of the audit assumes.
These are counted, never fixed: the audit reports, the build is what it is.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict


def _aug_label(record: str) -> str:
    try:
        return "+".join(step["op"] for step in json.loads(record)) or "none"
    except (ValueError, TypeError, KeyError):
        return "unknown" if record else "none"


def _table(keys, labels) -> dict:
    t: dict = defaultdict(lambda: {"real": 0, "fake": 0})
    for k, lab in zip(keys, labels):
        t[k]["fake" if lab else "real"] += 1
    return {k: dict(v) for k, v in sorted(t.items())}


def run_balance(rows, formats: list[str]) -> dict:
    """Counts per stratum, strata where one class is much rarer than the other, broken pairs."""
    by_pair: dict[str, list[int]] = defaultdict(list)
    for i, pid in enumerate(rows.pair_id):
        by_pair[pid].append(i)
    fake_sources = sorted({s for s, lab in zip(rows.source, rows.label) if lab == 1})
    missing_real, missing_fake, split_across, duplicates = [], defaultdict(list), [], []
    for pid, idx in sorted(by_pair.items()):
        srcs = Counter(rows.source[i] for i in idx)
        if not any(rows.label[i] == 0 for i in idx):
            missing_real.append(pid)
        for s in fake_sources:
            if srcs[s] == 0:
                missing_fake[s].append(pid)
        if len({rows.split[i] for i in idx}) > 1:
            split_across.append(pid)
        if any(n > 1 for n in srcs.values()):
            duplicates.append(pid)
    aug = [_aug_label(a) for a in rows.augment]
    strata = {"split": _table(rows.split, rows.label), "source": _table(rows.source, rows.label),
              "augment": _table(aug, rows.label), "format": _table(formats, rows.label)}
    ratio = sum(rows.label) / max(1, len(rows.label) - sum(rows.label))  # fakes per real overall
    skewed = []
    for kind in ("augment", "format"):  # a stratum whose fake/real ratio is far from the overall one
        for key, c in strata[kind].items():
            n = c["real"] + c["fake"]
            expected = n * ratio / (1 + ratio)
            if n >= 10 and abs(c["fake"] - expected) > max(3.0, 0.25 * n):
                skewed.append({"by": kind, "value": key, **c})
    problems = []
    if missing_real:
        problems.append(f"{len(missing_real)} pairs without a real")
    for s, p in missing_fake.items():
        problems.append(f"{len(p)} pairs without a {s} fake")
    if split_across:
        problems.append(f"{len(split_across)} pairs split across splits (train/test leakage)")
    if duplicates:
        problems.append(f"{len(duplicates)} pairs with a duplicated member")
    for s in skewed:
        problems.append(f"{s['by']}={s['value']}: {s['real']} real vs {s['fake']} fake")
    return {"rows": len(rows), "pairs": len(by_pair), "counts": strata, "skewed_strata": skewed,
            "pairs_missing_real": {"count": len(missing_real), "examples": missing_real[:10]},
            "pairs_missing_fake": {s: {"count": len(p), "examples": p[:10]} for s, p in missing_fake.items()},
            "pairs_across_splits": {"count": len(split_across), "examples": split_across[:10]},
            "pairs_with_duplicates": {"count": len(duplicates), "examples": duplicates[:10]},
            "problems": problems}
