"""`toolkit verify OUT`: is this build complete, intact and aligned? A list of what is wrong, or nothing.

Checks, shard by shard (pairs never span shards, so memory stays bounded on any build size):
- the side files: meta/build.json, every marker meta/shards/*.json and meta/summary.json are JSON
  objects with the keys verify relies on, recipe.yaml is a YAML mapping, meta/plan.parquet is a readable
  parquet with its columns, README.md (the dataset card) exists; a damaged one is one problem naming it;
- the plan: meta/plan.parquet hashes to the fingerprint in meta/build.json (nobody edited either);
- completeness: every planned shard has its completion marker and the data file the marker names;
- integrity: each data file's sha256 and row count equal its marker's, and it reads as parquet; no stray
  data file that no marker claims (a duplicate shard would double pairs in `load_dataset`);
- accounting: every planned pair of a shard is either present or counted as dropped in its marker
  (pairs + dropped == planned), no row belongs to a pair planned elsewhere, no pair_id/source twice;
  meta/summary.json agrees with the plan and the markers;
- drops: each shard's meta/drops/<shard>.parquet (every dropped pair) matches its record's counts by
  reason and names only pairs planned in that shard;
- a published copy (one with meta/manifest.json, written by `toolkit push`): every file the manifest
  names is there with its size and sha256, and every published file (README.md, recipe.yaml, the
  shards, features/, meta/) is named by it; each changed, missing or extra file is one problem;
- the alignment contract on every row (toolkit/contract.py): complete pairs, same split, size,
  format, augmentation record, JPEG tables/subsampling, WebP kind; labels; bytes decode as declared;
- masks: the `mask` column is in a data file exactly when a generator of the build makes masks (the
  shard record says so), null on reals, on every fake a 0/255 PNG of mode L at the image's size.

A path that does not exist or is not a build (no meta/build.json) is not a list of problems but a
ToolkitError (`store.build_dir.open_build`): the CLI prints one line and exits 2, as every command does.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from toolkit.sample import MASK_COLUMN as _MASK  # present exactly when a generator of the build makes masks
from toolkit.store.atomic import AtomicFolder
from toolkit.store.shard_record import BadRecord, ShardRecord
from toolkit.store.build_dir import BadFile, open_build, plan_fingerprint, read_file, read_json, read_parquet
from toolkit.store.build_dir import read_yaml_mapping
from toolkit.store.layout import BUILD_FILE, CARD_FILE, PLAN_FILE, RECIPE_FILE, SUMMARY_FILE, marker_file, shard_file
from toolkit.store.manifest import MANIFEST_FILE, publishable_files

_ROW_COLUMNS = ["image", "label", "pair_id", "source", "width", "height", "format", "augment"]
_QUICK_COLUMNS = ["pair_id", "source"]  # --quick: counts and ownership only, no image bytes
_PLAN_COLUMNS = ["pair_id", "split", "shard"]
_DROP_COLUMNS = ["pair_id", "origin", "reason", "detail"]


@dataclass
class Report:
    output: str
    problems: list[str] = field(default_factory=list)
    shards: int = 0
    pairs: int = 0
    rows: int = 0
    dropped: int = 0
    rows_checked: int = 0
    files: list[str] = field(default_factory=list)  # the data files the markers name (what to publish)

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

    def one_line(self, limit: int = 5) -> str:
        """The problems on one line (for a refusal such as `toolkit push`'s)."""
        more = f"; ... and {len(self.problems) - limit} more" if len(self.problems) > limit else ""
        return "; ".join(self.problems[:limit]) + more


def verify(output: str | AtomicFolder, storage_options: dict | None = None, contract: bool = True) -> Report:
    """Check the build at `output` (a path, URL or an open AtomicFolder); raises ToolkitError only when it is not
    a build or cannot be opened (`store.build_dir.open_build`)."""
    out = output if isinstance(output, AtomicFolder) else open_build(output, storage_options)
    rep = Report(output=output.url if isinstance(output, AtomicFolder) else output)
    try:
        _check(out, rep, contract)
    except BadFile as e:  # a file the rest of the checks depend on: nothing more can be said
        rep.problems.append(str(e))
    return rep


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _build_record(out) -> dict:
    build = read_json(out, BUILD_FILE, keys=("plan", "shards"))
    shards = build["shards"]
    if not isinstance(shards, dict) or not all(isinstance(k, str) and _is_int(v) for k, v in shards.items()):
        raise BadFile(f"{BUILD_FILE}: 'shards' must map shard names to shard counts")
    return build


def _generators(out, rep: Report) -> list[str] | None:
    """The fake sources' names from recipe.yaml (the raw YAML, not a validated Recipe: verifying needs
    only these, and must work without the plug-ins the build was made with). None when unusable."""
    try:
        recipe = read_yaml_mapping(out, RECIPE_FILE)
    except BadFile as e:
        rep.problems.append(str(e))
        return None
    fakes = recipe.get("fakes") or []
    names = [f.get("name") or f.get("kind") for f in fakes if isinstance(f, dict)] if isinstance(fakes, list) else []
    if not isinstance(fakes, list) or len(names) != len(fakes) or not all(isinstance(n, str) for n in names):
        rep.problems.append(f"{RECIPE_FILE}: 'fakes' must be a list of mappings with a kind")
        return None
    return names


def _plan(out) -> tuple[dict[str, list[str]], dict[str, str]]:
    data = read_file(out, PLAN_FILE)
    plan = read_parquet(PLAN_FILE, data, columns=_PLAN_COLUMNS).to_pydict()
    planned: dict[str, list[str]] = {}
    split_of: dict[str, str] = {}
    for pid, split, shard in zip(plan["pair_id"], plan["split"], plan["shard"]):
        if not (isinstance(pid, str) and isinstance(split, str) and isinstance(shard, str)):
            raise BadFile(f"{PLAN_FILE}: null or non-text pair_id/split/shard values")
        planned.setdefault(shard, []).append(pid)
        split_of[shard] = split
    return planned, split_of


def _marker(out, mrel: str) -> ShardRecord:
    """The shard's typed record (store/shard_record.py), or BadFile naming the file."""
    try:
        return ShardRecord.from_json(read_json(out, mrel), mrel)
    except BadRecord as e:
        raise BadFile(str(e)) from None


def _check_drops(out, rep: "Report", shard: str, marker: ShardRecord, ids: list[str]) -> None:
    """Every dropped pair of the shard is in its drops file, once, and was planned in this shard."""
    if marker.drops_file is None:
        return
    try:
        table = read_parquet(marker.drops_file, read_file(out, marker.drops_file), columns=_DROP_COLUMNS,
                             require=_DROP_COLUMNS)
    except BadFile as e:
        rep.problems.append(str(e))
        return
    pids = table.column("pair_id").to_pylist()
    reasons = Counter(table.column("reason").to_pylist())
    if dict(reasons) != marker.dropped:
        rep.problems.append(f"{marker.drops_file}: drops by reason {dict(reasons)}, marker says {marker.dropped}")
    stray = set(pids) - set(ids)
    if stray or len(set(pids)) != len(pids):
        rep.problems.append(f"{marker.drops_file}: pairs not planned in shard {shard} or listed twice")


def _check(out, rep: Report, contract: bool) -> None:
    build = _build_record(out)
    generators = _generators(out, rep)
    if not out.exists(CARD_FILE):
        rep.problems.append(f"{CARD_FILE}: missing (the dataset card; `toolkit card OUT` re-renders it)")
    if not out.exists(PLAN_FILE):
        rep.problems.append(f"{PLAN_FILE}: missing (a build that never got past planning, or a damaged copy)")
        return
    planned, split_of = _plan(out)
    totals: dict = build["shards"]
    fp = plan_fingerprint([(name, totals.get(name, -1), ids) for name, ids in planned.items()])
    if fp != build.get("plan") or set(planned) != set(totals):
        rep.problems.append(f"{PLAN_FILE}: does not match the plan fingerprint in {BUILD_FILE} "
                            f"({fp} vs {build.get('plan')})")
        return
    owner = {pid: shard for shard, ids in planned.items() for pid in ids}

    claimed: set[str] = set()
    digests: dict[str, str] = {}
    marker_rows = 0
    for shard, ids in planned.items():
        rep.shards += 1
        try:
            split, index = shard.rsplit("-", 1)
            mrel = marker_file(split, int(index))
        except ValueError:
            rep.problems.append(f"{BUILD_FILE}: shard name {shard!r} is not <split>-<index>")
            continue
        if not out.exists(mrel):
            rep.problems.append(f"shard {shard}: not built (no completion marker {mrel}); re-run `toolkit make`")
            continue
        try:
            marker = _marker(out, mrel)
        except BadFile as e:
            rep.problems.append(str(e))
            continue
        dropped = marker.dropped_pairs
        rep.dropped += dropped
        _check_drops(out, rep, shard, marker, ids)
        if marker.pairs_planned != len(ids) or marker.pairs + dropped != len(ids):
            rep.problems.append(f"shard {shard}: {len(ids)} pairs planned but marker says "
                                f"{marker.pairs} built + {dropped} dropped")
        rel = marker.file
        if rel is None:
            if marker.rows:
                rep.problems.append(f"shard {shard}: marker has {marker.rows} rows but names no file")
            continue
        want = shard_file(split, int(index), totals[shard])
        if rel != want:
            rep.problems.append(f"{mrel}: names {rel}, the plan names {want}")
            continue
        claimed.add(rel)
        rep.files.append(rel)
        marker_rows += marker.rows
        if not out.exists(rel):
            rep.problems.append(f"{rel}: missing (shard {shard} is marked complete)")
            continue
        try:
            blob = read_file(out, rel)
        except BadFile as e:
            rep.problems.append(str(e))
            continue
        digests[rel] = hashlib.sha256(blob).hexdigest()
        if digests[rel] != marker.sha256:
            rep.problems.append(f"{rel}: sha256 differs from its completion marker (corrupted or replaced)")
            continue
        masks = _marker_masks(marker)
        has_mask = _MASK in _column_names(blob)
        if has_mask != masks:
            rep.problems.append(f"{rel}: has a {_MASK} column but no generator of the build makes masks" if has_mask
                                else f"{rel}: lacks the {_MASK} column (a generator of the build makes masks)")
        try:
            columns = (_ROW_COLUMNS + [_MASK] * has_mask) if contract else _QUICK_COLUMNS
            table = read_parquet(rel, blob, columns=columns, require=_ROW_COLUMNS)
        except BadFile as e:
            rep.problems.append(str(e))
            continue
        del blob
        if table.num_rows != marker.rows:
            rep.problems.append(f"{rel}: {table.num_rows} rows, marker says {marker.rows}")
        rep.rows += table.num_rows
        rows = table.to_pylist()
        del table
        try:
            _check_rows(rep, rel, shard, rows, marker, owner, split_of, generators if contract else None, masks)
        except Exception as e:  # noqa: BLE001 - columns of the wrong types: one line, not a traceback
            rep.problems.append(f"{rel}: rows cannot be checked ({type(e).__name__}: {e})")
    for name in out.ls("data"):
        if f"data/{name}" not in claimed:
            rep.problems.append(f"data/{name}: stray file claimed by no completion marker "
                                "(load_dataset would read it: remove it, or rebuild with --overwrite)")
    _check_summary(out, rep, totals, marker_rows)
    _check_manifest(out, rep, digests)


def _marker_masks(marker: ShardRecord) -> bool:
    """Whether the shard's rows must carry the `mask` column: a generator of the build makes masks (the
    pipeline records `makes_masks` with each such generator in the shard's record)."""
    return any(isinstance(g, dict) and g.get("makes_masks") is True for g in marker.generators.values())


def _column_names(blob: bytes) -> list[str]:
    """The columns in a parquet file's footer ([] when it cannot be read: read_parquet then says why)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(pa.BufferReader(blob)).schema_arrow.names
    except Exception:  # noqa: BLE001
        return []


def _check_rows(rep: Report, rel: str, shard: str, rows: list[dict], marker: ShardRecord, owner: dict,
                split_of: dict, generators: list[str] | None, masks: bool = False) -> None:
    from toolkit.contract import group_pairs, pair_problems

    seen = Counter((r["pair_id"], r["source"]) for r in rows)
    for (pid, src), n in seen.items():
        if n > 1:
            rep.problems.append(f"{rel}: pair {pid} has {n} rows from {src}")
    pairs = group_pairs(rows)
    rep.pairs += len(pairs)
    if len(pairs) != marker.pairs:
        rep.problems.append(f"{rel}: {len(pairs)} pairs, marker says {marker.pairs}")
    for pid, members in pairs.items():
        if owner.get(pid) != shard:
            where = f"planned in shard {owner[pid]}" if pid in owner else "not in the plan"
            rep.problems.append(f"{rel}: pair {pid} is {where}")
            continue
        if generators is None:
            continue
        for m in members:
            m["split"] = split_of[shard]
        rep.problems += [f"{rel}: {p}" for p in pair_problems(pid, members, generators, masks=masks)]
        rep.rows_checked += len(members)


def _check_summary(out, rep: Report, totals: dict, marker_rows: int) -> None:
    if not out.exists(SUMMARY_FILE):
        rep.problems.append(f"{SUMMARY_FILE}: missing (the build did not finish: re-run `toolkit make`)")
        return
    try:
        summary = read_json(out, SUMMARY_FILE)
    except BadFile as e:
        rep.problems.append(str(e))
        return
    failed = summary.get("failed_shards")
    if failed:
        n = len(failed) if isinstance(failed, (list, dict)) else failed
        rep.problems.append(f"{SUMMARY_FILE}: the build recorded {n} failed shard(s); re-run `toolkit make`")
    if summary.get("shards") != len(totals):
        rep.problems.append(f"{SUMMARY_FILE}: says {summary.get('shards')} shards, the plan {len(totals)} "
                            "(older than the build plan: re-run `toolkit make`)")
    elif summary.get("rows") != marker_rows and not rep.problems:
        rep.problems.append(f"{SUMMARY_FILE}: says {summary.get('rows')} rows, the markers {marker_rows}")


def _check_manifest(out, rep: Report, digests: dict[str, str]) -> None:
    """A copy made by `toolkit push` carries meta/manifest.json: every file it names must be there with its
    size and sha256, and no published file may be missing from it. Each changed, missing or extra file is
    one problem naming it (a copy edited after the push, a shard replaced, a file added to meta/)."""
    if not out.exists(MANIFEST_FILE):
        return
    hint = "a damaged or stale manifest: `toolkit push` writes a fresh one"
    try:
        manifest = read_json(out, MANIFEST_FILE, keys=("files",))
    except BadFile as e:
        rep.problems.append(f"{e} ({hint})")
        return
    files = manifest["files"]
    if not isinstance(files, dict) or not all(isinstance(v, dict) and isinstance(v.get("sha256"), str)
                                              and _is_int(v.get("size")) for v in files.values()):
        rep.problems.append(f"{MANIFEST_FILE}: 'files' must map paths to {{sha256, size}} ({hint})")
        return
    for rel, want in sorted(files.items()):
        if not out.exists(rel):
            rep.problems.append(f"{rel}: missing (named by {MANIFEST_FILE})")
            continue
        try:
            size = out.fs.size(out.path(rel))
            if rel not in digests:
                digests[rel] = hashlib.sha256(read_file(out, rel)).hexdigest()
        except BadFile as e:
            rep.problems.append(str(e))
            continue
        if size != want["size"] or digests[rel] != want["sha256"]:
            what = f"{size} bytes, the manifest says {want['size']}" if size != want["size"] else "same size"
            rep.problems.append(f"{rel}: sha256 differs from {MANIFEST_FILE} (changed since it was published; "
                                f"{what})")
    for rel in publishable_files(out, rep.files):
        if rel not in files and out.exists(rel):
            rep.problems.append(f"{rel}: extra file, not in {MANIFEST_FILE} (added after the copy was published)")
