"""The build summary: what was built, what was dropped and why, and how to load it.

Computed only from the shard records on disk (store/shard_record.py, plus the plan), so a resumed build
reports the whole dataset, not just the shards of the last run.
"""

from __future__ import annotations

from collections import Counter

from toolkit.engine.drops import table as drop_table
from toolkit.store.shard_record import ShardRecord


def summarize(recipe, plan, records: list[ShardRecord], failed: list[dict], wall_s: float, output: str) -> dict:
    """The sum of the shard records (plus the plan's listing drops): nothing is counted twice or guessed."""
    per_split_pairs: Counter = Counter()
    per_split_rows: Counter = Counter()
    per_split_bytes: Counter = Counter()
    per_source: Counter = Counter()
    per_augment: Counter = Counter()
    dropped: Counter = Counter(plan.dropped)
    gen_counters: dict[str, Counter] = {}
    generators: dict[str, dict] = {}
    drop_log: list[dict] = []
    captioner: dict | None = None
    caption_counters: Counter = Counter()
    stage_seconds: Counter = Counter()
    for r in records:
        per_split_pairs[r.split] += r.pairs
        per_split_rows[r.split] += r.rows
        per_split_bytes[r.split] += r.bytes
        per_source.update(r.per_source)
        per_augment.update(r.per_augment)
        dropped.update(r.dropped)
        drop_log.extend(r.drop_log)
        stage_seconds.update(r.stage_seconds)
        for name, g in r.generators.items():
            generators[name] = g["provenance"]
            gen_counters.setdefault(name, Counter()).update(g.get("counters", {}))
        if r.captioner is not None:
            captioner = r.captioner["provenance"]
            caption_counters.update(r.captioner.get("counters", {}))
    return {
        "name": recipe.name,
        "output": output,
        "complete": not failed and len(records) == len(plan.shards),
        "listed": plan.listed,
        "pairs_planned": sum(len(t.refs) for t in plan.shards),
        "pairs": sum(per_split_pairs.values()),
        "rows": sum(per_split_rows.values()),
        "splits": {s: {"pairs": per_split_pairs[s], "rows": per_split_rows[s], "bytes": per_split_bytes[s]}
                   for s in recipe.split},
        "per_source": dict(per_source),
        "per_augment": dict(sorted(per_augment.items())),
        "dropped": dict(sorted(dropped.items())),
        "drop_reasons": drop_table(dict(dropped)),  # with what each reason means (toolkit/engine/drops.py)
        "drops_files": sorted(r.drops_file for r in records if r.drops_file),
        "skipped": dict(sorted(plan.skipped.items())),  # not reals (e.g. shader programs that failed)
        "drop_log": drop_log[:1000],
        "generators": generators,
        "generator_counters": {k: dict(v) for k, v in gen_counters.items()},
        "captioner": captioner,
        "captioner_counters": dict(caption_counters),
        "devices": sorted({str(r.device) for r in records}),  # more than one: float paths differ
        "shards": len(plan.shards),
        "failed_shards": failed,
        "wall_s": round(wall_s, 2),
        "shard_seconds": round(sum(r.seconds for r in records), 2),
        "stage_seconds": {k: round(v, 2) for k, v in sorted(stage_seconds.items())},
    }


def format_summary(s: dict) -> str:
    lines = [f"dataset {s['name']!r}: {s['pairs']} pairs, {s['rows']} rows "
             f"({'complete' if s['complete'] else 'INCOMPLETE'}) in {s['wall_s']:.1f} s"]
    lines.append("  splits:   " + ", ".join(f"{k} {v['pairs']} pairs / {v['rows']} rows" for k, v in s["splits"].items()))
    lines.append("  sources:  " + ", ".join(f"{k} {v}" for k, v in sorted(s["per_source"].items())))
    lines.append("  augment:  " + ", ".join(f"{k} {v}" for k, v in s["per_augment"].items()))
    dropped = s["dropped"]
    lines.append("  dropped:  " + (", ".join(f"{k} {v}" for k, v in dropped.items()) if dropped else "none")
                 + f" (of {s['listed']} listed reals)")
    if s.get("skipped"):
        lines.append("  skipped:  " + ", ".join(f"{k} {v}" for k, v in s["skipped"].items()))
    if len(s.get("devices", [])) > 1:
        lines.append(f"  WARNING: shards were built on different devices ({', '.join(s['devices'])}); "
                     "their model outputs are not bit-comparable")
    for name, counters in s.get("generator_counters", {}).items():
        if counters:
            lines.append(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in counters.items()))
    if s.get("captioner"):
        lines.append(f"  captioner ({s['captioner']['model']}, {s['captioner']['mode']}): "
                     + ", ".join(f"{k} {v}" for k, v in s.get("captioner_counters", {}).items()))
    by_error: dict[str, list[str]] = {}
    for f in s["failed_shards"]:
        by_error.setdefault(f["error"].splitlines()[0], []).append(f["shard"])
    for error, shards in by_error.items():
        names = ", ".join(shards[:5]) + (f" and {len(shards) - 5} more" if len(shards) > 5 else "")
        lines.append(f"  FAILED {len(shards)} shard(s) ({names}): {error}")
    lines.append(f"  output:   {s['output']}")
    if s["complete"]:
        lines.append(f'  load:     datasets.load_dataset("{s["output"]}")')
    else:
        lines.append("  re-run the same command to build the missing shards")
    return "\n".join(lines)
