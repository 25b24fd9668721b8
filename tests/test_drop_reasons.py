"""Every dropped sample is kept (meta/drops/<shard>.parquet), every drop reason is catalogued
(toolkit/engine/drops.py) and the card says what each one means."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq

from bad_files import MIN_SIZE, write_bad_files
from conftest import ROOT, demo_args

# where reasons are written in the code: DropSample("x"), .drop(..., "x", ...), mark(..., "x"),
# drops["x"], _fail(key, "x", ...), ("pattern", "x") rules, return "x" in the reason helpers
_LITERALS = [
    re.compile(r'DropSample\(\s*"([a-z0-9_:]+)"'),
    re.compile(r'\.drop\((?!columns=)[^()]*?,\s*"([a-z0-9_:]+)"'),  # not pandas' .drop(columns=[...])
    re.compile(r'\bmark\([^\n]*,\s*"([a-z0-9_]+)"\)'),
    re.compile(r'drops\["([a-z0-9_:]+)"\]'),
    re.compile(r'\),\s*"([a-z_]+)"\),\s*$', re.M),  # laion's (re.compile(...), "reason") rules
]
_REASON_HELPERS = ["toolkit/shaders/quality.py", "toolkit/transforms/align.py"]


def test_every_reason_in_the_code_is_catalogued():
    from toolkit.engine.drops import describe
    from toolkit.sources.laion import FILTER_REASONS

    found = set(FILTER_REASONS)
    for path in (ROOT / "toolkit").rglob("*.py"):
        text = path.read_text()
        for rx in _LITERALS:
            found.update(rx.findall(text))
        if str(path.relative_to(ROOT)) in _REASON_HELPERS:
            found.update(re.findall(r'return "([a-z_]+)"', text))
    found.discard("")
    assert len(found) > 40, sorted(found)  # the scan itself works
    assert {"poison_crash", "unsupported_scheme", "degenerate_constant", "truncated"} <= found
    missing = sorted(r for r in found if describe(r) is None)
    assert not missing, f"add these to toolkit/engine/drops.py: {missing}"


def test_catalogue_patterns():
    from toolkit.engine.drops import check, describe

    assert describe("http_404")[0] == "download"
    assert describe("download_error:no_record")[0] == "download"
    assert describe("made_up") is None
    try:
        check("made_up")  # the test suite runs with TOOLKIT_STRICT_DROP_REASONS=1
    except AssertionError as e:
        assert "catalogue" in str(e)
    else:
        raise AssertionError("an uncatalogued reason passed the strict check")


def test_every_drop_is_kept_with_its_origin_and_explained_in_the_card(cli, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    expected = write_bad_files(photos)
    out = tmp_path / "out"
    args = demo_args(out, f"reals={{kind: folder, path: {photos}}}", f"image.min_size={MIN_SIZE}",
                     "runner.shard_size=3")
    code, _, err = cli(*args)
    assert code == 0, err
    summary = json.loads((out / "meta" / "summary.json").read_text())
    bad = {name: reason for name, reason in expected.items() if reason}
    assert sum(summary["dropped"].values()) == len(bad) >= 3
    drops = [r for f in sorted((out / "meta" / "drops").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert {Path(d["origin"]).name: d["reason"] for d in drops} == bad  # every one, with its origin
    assert all(d["detail"] and d["pair_id"] for d in drops)
    assert sorted(summary["drops_files"]) == sorted(f"meta/drops/{p.name}" for p in (out / "meta" / "drops").glob("*"))
    card = (out / "README.md").read_text()
    for reason in set(bad.values()):
        from toolkit.engine.drops import describe

        assert f"| `{reason}` |" in card and describe(reason)[1] in card
    assert "meta/drops/<split>-NNNNN.parquet" in card
    records = [json.loads(p.read_text()) for p in (out / "meta" / "shards").glob("*.json")]
    assert all(r["version"] == 2 and set(r["stage_seconds"]) == {"read", "model", "write"} for r in records)
    from toolkit.verify import verify

    assert verify(str(out)).ok
    victim = sorted((out / "meta" / "drops").glob("*.parquet"))[0]
    victim.unlink()  # verify sees a missing drops file; make rebuilds that shard
    rep = verify(str(out))
    assert not rep.ok and any(victim.name in p for p in rep.problems)
    code, _, err = cli(*args)
    assert code == 0 and "is missing; rebuilding it" in err and victim.exists()
