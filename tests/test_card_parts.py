"""The card's per-shard parts (toolkit/card/parts.py): computed in the shard tasks, merged after the last
shard, and the card they give is the card computed from disk (a resumed build's finished shards,
`toolkit card OUT`). The same card with 1 or 2 dask workers: tests/test_build.py's determinism test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import demo_args

FIGURES = ("meta/figures/histograms.png", "meta/figures/sample_grid.png", "meta/figures/figures.json")


def _card(out: Path) -> dict[str, bytes]:
    """The card's files; README without its wall-time line (a resumed build took another time)."""
    files = {rel: (out / rel).read_bytes() for rel in FIGURES}
    files["README.md"] = re.sub(rb"Build: .* wall time .*\n", b"", (out / "README.md").read_bytes())
    return files


@pytest.fixture
def client_side(monkeypatch):
    """Counts the data files whose PSNRs and counters the client computes itself (no part for them)."""
    import toolkit.card.figures as figures
    import toolkit.card.parts  # noqa: F401 - bound to the unpatched functions: the shard tasks' calls are not counted
    import toolkit.card.stats as stats

    calls = {"psnr": [], "stats": []}
    psnrs, file_stats = figures.file_psnrs, stats.file_stats
    monkeypatch.setattr(figures, "file_psnrs", lambda out, rel, k: calls["psnr"].append(rel) or psnrs(out, rel, k))
    monkeypatch.setattr(stats, "file_stats", lambda out, rel: calls["stats"].append(rel) or file_stats(out, rel))
    return calls


def test_card_from_shard_parts_equals_card_from_disk_also_after_a_resume(cli, tmp_path, client_side):
    out = tmp_path / "d"
    args = demo_args(out, "fakes=[{kind: identity}]")
    assert cli(*args)[0] == 0
    files = sorted(p.name for p in (out / "data").glob("*.parquet"))
    assert len(files) == 4
    assert client_side == {"psnr": [], "stats": []}  # every part came from its shard task
    built = _card(out)

    # a build killed after two shards: the two others are rebuilt (with their parts), the two
    # finished ones have none and are read on the client
    for name in files[:2]:
        split, index = name.split("-")[0], name.split("-")[1]
        (out / "data" / name).unlink()
        (out / "meta" / "shards" / f"{split}-{index}.json").unlink()
    for rel in ("README.md", *FIGURES):
        (out / rel).unlink()
    code, _, err = cli(*args)
    assert code == 0 and "2 already done, 2 to build" in err
    assert sorted(Path(r).name for r in client_side["psnr"]) == files[2:]
    assert sorted(Path(r).name for r in client_side["stats"]) == files[2:]
    assert _card(out) == built

    client_side["psnr"].clear()
    assert cli("card", out)[0] == 0  # no parts at all: everything read from disk
    assert sorted(Path(r).name for r in client_side["psnr"]) == files
    assert _card(out) == built


def test_a_part_with_too_few_pairs_or_a_failing_part_is_recomputed(cli, tmp_path, monkeypatch, client_side):
    """A part covers the pairs per file the planned shards need; when fewer files exist (a shard whose
    pairs were all dropped has none) the card needs more per file and recomputes it. A part that raised in
    the shard task is recomputed on the client, and the shard still counts as built."""
    import toolkit.card.parts as parts
    from toolkit.card.render import load_build
    from toolkit.card.stats import collect_stats
    from toolkit.card.figures import write_figures
    from toolkit.engine.pipeline import ShardTask

    def broken(task, record, k):
        raise OSError("disk full")

    monkeypatch.setattr(parts, "card_part", broken)
    out = tmp_path / "d"
    assert cli(*demo_args(out, "fakes=[{kind: identity}]"))[0] == 0
    n_files = len(list((out / "data").glob("*.parquet")))
    assert len(client_side["psnr"]) == n_files and len(client_side["stats"]) == n_files
    monkeypatch.undo()

    folder, recipe, _ = load_build(str(out))
    truth = {rel: (out / rel).read_bytes() for rel in FIGURES}
    task = ShardTask(recipe=recipe, output=str(out), split="train", index=0, total=1, refs=[])
    small = {f"data/{p.name}": parts.card_part(task, {"file": f"data/{p.name}"}, k=1)
             for p in (out / "data").glob("*.parquet")}
    assert all(len(p["psnr"]["pairs"]) == 1 for p in small.values())
    for rel in FIGURES:
        (out / rel).unlink()
    write_figures(folder, collect_stats(folder, small), parts=small)
    assert {rel: (out / rel).read_bytes() for rel in FIGURES} == truth


def test_merged_statistics_catch_pairs_split_or_sized_apart_across_files(tmp_path):
    """What the card's statistics check (every pair one size, in one split) holds across data files, not
    only within one: a part keeps each file's pairs for the merge."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from toolkit.card.stats import file_stats, merge_stats
    from toolkit.store.atomic import AtomicFolder

    def rows(*members):  # (pair_id, label, width, height)
        return {"label": [m[1] for m in members], "source": ["real" if m[1] == 0 else "identity" for m in members],
                "format": ["png"] * len(members), "augment": ['[{"op": "png"}]'] * len(members),
                "width": [m[2] for m in members], "height": [m[3] for m in members],
                "pair_id": [m[0] for m in members]}

    files = {"data/train-00000-of-00002.parquet": rows(("p1", 0, 64, 64), ("p1", 1, 64, 64),
                                                       ("p2", 0, 64, 64), ("p2", 1, 64, 48)),
             "data/train-00001-of-00002.parquet": rows(("p3", 0, 64, 64), ("p3", 1, 64, 64),
                                                       ("p1", 0, 32, 32), ("p1", 1, 32, 32)),
             "data/test-00000-of-00001.parquet": rows(("p3", 0, 64, 64), ("p3", 1, 64, 64))}
    out = AtomicFolder(str(tmp_path))
    for rel, cols in files.items():
        (tmp_path / "data").mkdir(exist_ok=True)
        pq.write_table(pa.table(cols), tmp_path / rel)
    stats = merge_stats([file_stats(out, rel) for rel in files])
    assert stats["pairs"] == 3
    assert stats["pairs_size_mismatch"] == 2  # p2 within its file, p1 across two files
    assert stats["pairs_in_several_splits"] == 1  # p3
    assert stats["by_split_label"] == {"train": {"real": 4, "fake": 4}, "test": {"real": 1, "fake": 1}}
    assert stats["short_side_by_label"]["fake"] == {32: 1, 48: 1, 64: 3}
