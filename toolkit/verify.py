"""`toolkit verify OUT`: is this build complete, intact and aligned? A list of what is wrong, or nothing.

Checks, shard by shard (pairs never span shards, so memory stays bounded on any build size):
- the plan: meta/plan.parquet hashes to the fingerprint in meta/build.json (nobody edited either);
- completeness: every planned shard has its completion marker and the data file the marker names;
- integrity: each data file's sha256 and row count equal its marker's; no stray data file that no
  marker claims (a duplicate shard would double pairs in `load_dataset`);
- accounting: every planned pair of a shard is either present or counted as dropped in its marker
  (pairs + dropped == planned), no row belongs to a pair planned elsewhere, no pair_id/source twice;
- the alignment contract on every row (toolkit/contract.py): complete pairs, same split, size,
  format, augmentation record, JPEG tables/subsampling, WebP kind; labels; bytes decode as declared.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field

from .contract import group_pairs, pair_problems
from .store.atomic import Output
from .store.layout import BUILD_FILE, PLAN_FILE, RECIPE_FILE, SUMMARY_FILE, marker_file

_ROW_COLUMNS = ["image", "label", "pair_id", "source", "width", "height", "format", "augment"]


@dataclass
class Report:
    output: str
    problems: list[str] = field(default_factory=list)
    shards: int = 0
    pairs: int = 0
    rows: int = 0
    dropped: int = 0
    rows_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self, limit: int = 50) -> str:
        if self.ok:
            return (f"verify {self.output}: OK: {self.shards} shards, {self.pairs} pairs, {self.rows} rows "
                    f"({self.rows_checked} checked against the alignment contract), {self.dropped} pairs dropped "
                    "and accounted for")
        lines = [f"verify {self.output}: {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more")
        return "\n".join(lines)


def verify(output: str, storage_options: dict | None = None, contract: bool = True) -> Report:
    import pyarrow.parquet as pq

    import yaml

    from .runner import plan_fingerprint

    out = Output(output, storage_options)
    rep = Report(output=output)
    for rel in (BUILD_FILE, PLAN_FILE, RECIPE_FILE):
        if not out.exists(rel):
            rep.problems.append(f"{out.path(rel)}: missing (not a toolkit build, or one that never got past planning)")
    if rep.problems:
        return rep
    build = out.read_json(BUILD_FILE)
    # the raw YAML, not a validated Recipe: verifying needs only the generator names, and must work
    # without the plug-ins (sources, generators) the build was made with
    recipe = yaml.safe_load(out.read_bytes(RECIPE_FILE)) or {}
    generators = [f.get("name") or f["kind"] for f in recipe.get("fakes") or []]

    plan = pq.read_table(io.BytesIO(out.read_bytes(PLAN_FILE))).to_pydict()
    planned: dict[str, list[str]] = {}
    split_of: dict[str, str] = {}
    for pid, split, shard in zip(plan["pair_id"], plan["split"], plan["shard"]):
        planned.setdefault(shard, []).append(pid)
        split_of[shard] = split
    totals: dict = build.get("shards", {})
    fp = plan_fingerprint([(name, totals.get(name, -1), ids) for name, ids in planned.items()])
    if fp != build.get("plan") or set(planned) != set(totals):
        rep.problems.append(f"{out.path(PLAN_FILE)}: does not match the plan fingerprint in {BUILD_FILE} "
                            f"({fp} vs {build.get('plan')})")
        return rep
    owner = {pid: shard for shard, ids in planned.items() for pid in ids}

    claimed: set[str] = set()
    marker_rows = 0
    for shard, ids in planned.items():
        rep.shards += 1
        split, index = shard.rsplit("-", 1)
        mrel = marker_file(split, int(index))
        if not out.exists(mrel):
            rep.problems.append(f"shard {shard}: not built (no completion marker {mrel}); re-run `toolkit make`")
            continue
        marker = out.read_json(mrel)
        dropped = sum(marker.get("dropped", {}).values())
        rep.dropped += dropped
        if marker.get("pairs_planned") != len(ids) or marker.get("pairs", 0) + dropped != len(ids):
            rep.problems.append(f"shard {shard}: {len(ids)} pairs planned but marker says "
                                f"{marker.get('pairs')} built + {dropped} dropped")
        rel = marker.get("file")
        if rel is None:
            if marker.get("rows"):
                rep.problems.append(f"shard {shard}: marker has {marker['rows']} rows but names no file")
            continue
        claimed.add(rel)
        marker_rows += marker.get("rows", 0)
        if not out.exists(rel):
            rep.problems.append(f"{rel}: missing (shard {shard} is marked complete)")
            continue
        blob = out.read_bytes(rel)
        if hashlib.sha256(blob).hexdigest() != marker.get("sha256"):
            rep.problems.append(f"{rel}: sha256 differs from its completion marker (corrupted or replaced)")
            continue
        try:
            table = pq.read_table(io.BytesIO(blob), columns=_ROW_COLUMNS)
        except Exception as e:  # noqa: BLE001
            rep.problems.append(f"{rel}: unreadable parquet ({type(e).__name__}: {e})")
            continue
        if table.num_rows != marker.get("rows"):
            rep.problems.append(f"{rel}: {table.num_rows} rows, marker says {marker.get('rows')}")
        rep.rows += table.num_rows
        rows = table.to_pylist()
        seen = Counter((r["pair_id"], r["source"]) for r in rows)
        for (pid, src), n in seen.items():
            if n > 1:
                rep.problems.append(f"{rel}: pair {pid} has {n} rows from {src}")
        pairs = group_pairs(rows)
        rep.pairs += len(pairs)
        if len(pairs) != marker.get("pairs"):
            rep.problems.append(f"{rel}: {len(pairs)} pairs, marker says {marker.get('pairs')}")
        for pid, members in pairs.items():
            if owner.get(pid) != shard:
                where = f"planned in shard {owner[pid]}" if pid in owner else "not in the plan"
                rep.problems.append(f"{rel}: pair {pid} is {where}")
                continue
            if contract:
                for m in members:
                    m["split"] = split_of[shard]
                rep.problems += [f"{rel}: {p}" for p in pair_problems(pid, members, generators)]
                rep.rows_checked += len(members)
    for name in out.ls("data"):
        if f"data/{name}" not in claimed:
            rep.problems.append(f"data/{name}: stray file claimed by no completion marker "
                                "(load_dataset would read it: remove it, or rebuild with --overwrite)")
    if out.exists(SUMMARY_FILE):
        summary = out.read_json(SUMMARY_FILE)
        if summary.get("rows") != marker_rows and not rep.problems:
            rep.problems.append(f"{SUMMARY_FILE}: says {summary.get('rows')} rows, the markers {marker_rows}")
    return rep
