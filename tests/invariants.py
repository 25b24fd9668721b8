"""The alignment contract, checked on rows as `datasets.load_dataset` returns them (the checks
themselves live in toolkit/contract.py, which `toolkit verify` runs too)."""

from __future__ import annotations

from toolkit.contract import group_pairs, pair_problems


def load(out: str):
    """All splits of a build, image bytes undecoded (exactly what is stored)."""
    import datasets

    dsd = datasets.load_dataset(str(out))
    return {split: ds.cast_column("image", datasets.Image(decode=False)) for split, ds in dsd.items()}


def pairs_of(dsd) -> dict[str, list[dict]]:
    return group_pairs({**row, "split": split} for split, ds in dsd.items() for row in ds)


def check_alignment(dsd, generators=("vae_roundtrip",)) -> dict[str, list[dict]]:
    pairs = pairs_of(dsd)
    assert pairs, "no rows"
    problems = [p for pid, rows in pairs.items() for p in pair_problems(pid, rows, generators)]
    assert not problems, "\n".join(problems[:20])
    return pairs
