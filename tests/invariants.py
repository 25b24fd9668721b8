"""The alignment contract, checked on rows as `datasets.load_dataset` returns them (the checks
themselves live in toolkit/contract.py, which `toolkit verify` runs too)."""

from __future__ import annotations

from toolkit.contract import group_pairs, pair_problems


def load(out: str):
    """All splits of a build, image (and mask, when the build has one) bytes undecoded (exactly what is stored)."""
    import datasets

    dsd = datasets.load_dataset(str(out))
    out = {}
    for split, ds in dsd.items():
        for col in ("image", "mask"):
            if col in ds.column_names:
                ds = ds.cast_column(col, datasets.Image(decode=False))
        out[split] = ds
    return out


def pairs_of(dsd) -> dict[str, list[dict]]:
    return group_pairs({**row, "split": split} for split, ds in dsd.items() for row in ds)


def check_alignment(dsd, generators=("vae_roundtrip",)) -> dict[str, list[dict]]:
    pairs = pairs_of(dsd)
    assert pairs, "no rows"
    problems = [p for pid, rows in pairs.items() for p in pair_problems(pid, rows, generators)]
    assert not problems, "\n".join(problems[:20])
    return pairs
