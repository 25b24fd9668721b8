"""Build orchestration: plan pairs into splits and shards, run shard tasks over dask, resume.

Planning happens once, on the client, and is a pure function of the recipe and the source listing:
pair ids come from origins, splits from a seeded permutation with exact fractions, shards from
chunking each split in source order. The plan is stored (meta/build.json) so a re-run of the same
command checks it is resuming the same build, then skips every shard whose completion marker exists.

Execution hands the pending shards to an executor (toolkit/engine/executors.py: in-process, a local dask
cluster, or any dask.distributed scheduler); a shard that keeps failing is reported with its error
while the others finish, and a re-run retries it. The build holds the output's lock throughout
(store/lock.py); each finished shard leaves a typed record (store/shard_record.py), and the summary
is their sum.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from toolkit import __version__
from toolkit.engine.drops import check as check_reason
from toolkit.errors import ToolkitError, first_line
from toolkit.engine.faults import armed, kill_point
from toolkit.engine.executors import executor_for, workers_and_threads
from toolkit.engine.pipeline import ShardTask, get_source
from toolkit.config.recipe import Recipe
from toolkit.sample import RealRef, make_pair_id
from toolkit.seeding import rng_for
from toolkit.store.atomic import AtomicFolder
from toolkit.store.build_dir import plan_fingerprint  # noqa: F401 - also re-exported: the one copy
from toolkit.store.layout import BUILD_FILE, PLAN_FILE, RECIPE_FILE, SUMMARY_FILE, TMP_DIR, marker_file, shard_file
from toolkit.store.lock import LOCK_FILE, BuildLock
from toolkit.store.shard_record import BadRecord, ShardRecord


@dataclass
class BuildPlan:
    shards: list[ShardTask]
    listed: int
    dropped: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def fingerprint(self) -> str:
        return plan_fingerprint([(t.name, t.total, [r.pair_id for r in t.refs]) for t in self.shards])


def plan_build(recipe: Recipe, output: str) -> BuildPlan:
    source = get_source(recipe)
    refs: list[RealRef] = []
    seen: set[str] = set()
    dropped: dict[str, int] = {}
    listed = 0
    for ref in source.list():
        listed += 1
        ref.pair_id = make_pair_id(source.kind, ref.origin)
        if ref.pair_id in seen:
            dropped["duplicate_origin"] = dropped.get("duplicate_origin", 0) + 1
            continue
        seen.add(ref.pair_id)
        refs.append(ref)
    for reason, n in source.dropped.items():  # counted by the source while listing (filters, failures)
        dropped[check_reason(reason)] = dropped.get(reason, 0) + n
        listed += n
    splits = assign_splits([r.pair_id for r in refs], recipe.split, recipe.seed)
    shards: list[ShardTask] = []
    for split in recipe.split:
        members = [r for r in refs if splits[r.pair_id] == split]
        total = max(1, math.ceil(len(members) / recipe.runner.shard_size)) if members else 0
        for i in range(total):
            chunk = members[i * recipe.runner.shard_size : (i + 1) * recipe.runner.shard_size]
            shards.append(ShardTask(recipe=recipe, output=output, split=split, index=i, total=total, refs=chunk))
    return BuildPlan(shards=shards, listed=listed, dropped=dropped, skipped=dict(source.skipped))


def plan_parquet(plan: BuildPlan) -> bytes:
    """The plan as a table (pair_id, split, shard, origin): what `toolkit verify` checks the rows against,
    and for a researcher the map from every pair back to the real it came from."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: dict[str, list] = {"pair_id": [], "split": [], "shard": [], "origin": []}
    for t in plan.shards:
        for r in t.refs:
            cols["pair_id"].append(r.pair_id)
            cols["split"].append(t.split)
            cols["shard"].append(t.name)
            cols["origin"].append(r.origin)
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf, compression="zstd")
    return buf.getvalue()


def assign_splits(pair_ids: list[str], fractions: dict[str, float], seed: int) -> dict[str, str]:
    """Exact split sizes (largest remainder), members chosen by a permutation seeded by the recipe.

    Splitting by pair_id keeps every member of a pair in one split, by construction."""
    n = len(pair_ids)
    names = list(fractions)
    raw = [fractions[s] * n for s in names]
    counts = [int(math.floor(x)) for x in raw]
    for i in sorted(range(len(names)), key=lambda i: raw[i] - counts[i], reverse=True)[: n - sum(counts)]:
        counts[i] += 1
    order = rng_for(seed, "split").permutation(n)
    ids = sorted(pair_ids)
    out, pos = {}, 0
    for name, c in zip(names, counts):
        for j in order[pos : pos + c]:
            out[ids[j]] = name
        pos += c
    return out


@dataclass
class BuildResult:
    output: str
    summary: dict
    failed: list[dict]

    @property
    def ok(self) -> bool:
        """Complete: every planned shard has its marker and none failed. Anything less exits non-zero."""
        return not self.failed and bool(self.summary.get("complete"))


# What a build writes at the top of its output folder: `--overwrite` deletes a folder only if it holds
# nothing else (or is a build: meta/build.json), so a typo in --out cannot delete someone's data.
BUILD_ENTRIES = {"README.md", "recipe.yaml", "LICENSE.md", "data", "meta", "features", TMP_DIR, "_reals",
                 LOCK_FILE, ".gitattributes"}


def make(recipe: Recipe, output: str | None = None, overwrite: bool = False, scheduler: str | None = None,
         echo=print, verbose: bool = False) -> BuildResult:
    """Build (or resume) `recipe` into `output`, holding the output's lock throughout. `echo` gets the
    informational lines (planning, resume, per-shard lines when `verbose`)."""
    t0 = time.time()
    output = output or recipe.output_url()
    recipe.output = output
    out = AtomicFolder(output)
    source = check_source(recipe)  # before anything is written or deleted
    if overwrite:
        check_overwritable(out)
    with BuildLock(out):
        if overwrite:
            for name in out.ls(""):
                if name != LOCK_FILE:
                    out.rm(name)
        return _make_locked(recipe, out, source, scheduler, echo, t0, verbose)


def check_source(recipe: Recipe):
    """The source, constructed and asked to check its input (a folder that exists, a readable URL list)
    before the build touches its output: a wrong path is one line, not a deleted build."""
    try:
        source = get_source(recipe)
        check = getattr(source, "check", None)
        if check is not None:
            check()
    except ToolkitError:
        raise
    except Exception as e:  # noqa: BLE001 - one line naming the section
        first = first_line(e)
        raise ToolkitError(f"reals ({recipe.reals.kind}): {type(e).__name__}: {first}") from None
    return source


def check_overwritable(out: AtomicFolder) -> None:
    """`--overwrite` removes a toolkit build or an empty folder, nothing else."""
    if not out.fs.exists(out.root):
        return
    if not out.fs.isdir(out.root):
        raise ToolkitError(f"{out.url}: is a file, not a build folder; refusing to delete it with --overwrite")
    if out.exists(BUILD_FILE):
        return
    foreign = [n for n in out.ls("") if n not in BUILD_ENTRIES]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ToolkitError(f"{out.url}: not a toolkit build (it holds {shown}); --overwrite only deletes a "
                           "build folder or an empty one: choose another --out")


def _make_locked(recipe: Recipe, out: AtomicFolder, source, scheduler: str | None, echo, t0: float,
                 verbose: bool = False) -> BuildResult:
    output = out.url
    rhash = recipe.content_hash()
    prev = _read_json_or_none(out, BUILD_FILE)
    if prev is not None:
        if prev.get("recipe_hash") != rhash:
            raise ToolkitError(f"{output}: holds a build of a different recipe (hash {prev.get('recipe_hash')} "
                               f"vs {rhash}); pass --overwrite to replace it, or choose another output")
    elif out.exists(BUILD_FILE):
        echo(f"{out.path(BUILD_FILE)}: unreadable (cut short?); planning again")
    kill_point("plan")
    echo(f"planning: listing reals ({recipe.reals.kind}) ...")
    plan = plan_build(recipe, output)
    if not plan.shards:
        raise ToolkitError(f"reals: the source listed no usable reals ({plan.listed} listed)")
    fingerprint = plan.fingerprint()
    if prev is not None and prev.get("plan") != fingerprint:
        raise ToolkitError(f"{output}: the shard plan changed since this build started (the source listing or "
                           "runner.shard_size differ); "
                           "pass --overwrite to start over")
    out.write_text(RECIPE_FILE, recipe.to_yaml())
    out.write_json(BUILD_FILE, {"recipe_hash": rhash, "plan": fingerprint, "toolkit": __version__,
                                "shards": {t.name: t.total for t in plan.shards}, "listed": plan.listed,
                                "planning_dropped": plan.dropped, "planning_skipped": plan.skipped})
    plan_bytes = plan_parquet(plan)
    if prev is None or _read_bytes_or_none(out, PLAN_FILE) != plan_bytes:  # missing, or cut short by a kill
        out.write_bytes(PLAN_FILE, plan_bytes)
    kill_point("planned")
    done = {t.name: rec for t in plan.shards if (rec := _shard_done(out, t, echo)) is not None}
    pending = [t for t in plan.shards if t.name not in done]
    if done and pending and recipe.fakes and not recipe.runner.allow_mixed_devices:
        _refuse_mixed_devices(out, list(done.values()), recipe,
                              scheduler or recipe.runner.scheduler)
    for name in out.ls(TMP_DIR):  # leftovers of a killed run: never complete, never read
        if name != "attempts":  # except the attempt counts: a shard that crashed runs isolated next time
            out.rm(f"{TMP_DIR}/{name}")
    claimed = {t_file(t) for t in plan.shards if t.name in done}
    for name in out.ls("data"):  # a data file no finished shard claims: written just before a kill
        if name not in claimed:
            out.rm(f"data/{name}")
    n_pairs = sum(len(t.refs) for t in plan.shards)
    echo(f"plan: {n_pairs} pairs in {len(plan.shards)} shards "
         f"({', '.join(f'{s}: {sum(len(t.refs) for t in plan.shards if t.split == s)}' for s in recipe.split)}); "
         f"{len(plan.shards) - len(pending)} already done, {len(pending)} to build")
    parts: dict = {}  # data file -> the card's part of it, computed in its shard task (toolkit/card/parts.py)
    failed = run_shards(pending, recipe, scheduler or recipe.runner.scheduler, echo, verbose, parts,
                        planned=len(plan.shards))
    records = [r for r in (_read_record(out, t) for t in plan.shards) if r is not None]
    from toolkit.engine.summary import summarize

    summary = summarize(recipe, plan, records, failed, wall_s=time.time() - t0, output=output)
    out.write_json(SUMMARY_FILE, summary)
    if summary["complete"]:
        from toolkit.card.render import write_card

        kill_point("card")
        write_card(out, recipe, summary, parts=parts)
        kill_point("finished")
        out.rm(TMP_DIR)  # a finished build leaves no scratch state behind
        if recipe.detector is not None:
            from toolkit.detectors.run import train_from_recipe

            train_from_recipe(recipe, output, echo)
    return BuildResult(output=output, summary=summary, failed=failed)


def t_file(t: ShardTask) -> str:
    return shard_file(t.split, t.index, t.total).rsplit("/", 1)[-1]


def _read_record(out: AtomicFolder, t: ShardTask) -> ShardRecord | None:
    rel = marker_file(t.split, t.index)
    try:
        return ShardRecord.from_json(out.read_json(rel), rel) if out.exists(rel) else None
    except (ValueError, OSError, BadRecord):
        return None


def _shard_done(out: AtomicFolder, t: ShardTask, echo) -> ShardRecord | None:
    """The shard's record when it is done: readable, this shard's, and the data file it names is there
    with the record's size (`verify` checks the sha256). Anything less (None) is rebuilt: a data file
    deleted by hand, a record cut short."""
    rel = marker_file(t.split, t.index)
    if not out.exists(rel):
        return None
    rec = _read_record(out, t)
    problem = None
    if rec is None or rec.shard != t.name:
        problem = "unreadable completion marker"
    elif rec.pairs_planned != len(t.refs):
        problem = "completion marker of another plan"
    elif rec.file:
        try:
            size = out.fs.size(out.path(rec.file))
        except (FileNotFoundError, OSError):
            size = None
        if size is None:
            problem = f"{rec.file} is missing"
        elif size != rec.bytes:
            problem = f"{rec.file} has {size} bytes, its marker says {rec.bytes}"
    if problem is None and rec.drops_file and not out.exists(rec.drops_file):
        problem = f"{rec.drops_file} is missing"
    if problem is None:
        return rec
    echo(f"shard {t.name}: {problem}; rebuilding it")
    out.rm(rel)
    return None


def _read_json_or_none(out: AtomicFolder, rel: str):
    try:
        return out.read_json(rel) if out.exists(rel) else None
    except (ValueError, OSError):
        return None


def _read_bytes_or_none(out: AtomicFolder, rel: str) -> bytes | None:
    try:
        return out.read_bytes(rel) if out.exists(rel) else None
    except OSError:
        return None


def _refuse_mixed_devices(out: AtomicFolder, done: list[ShardRecord], recipe: Recipe, scheduler: str | None) -> None:
    """A build started on one device type must finish on it: a CUDA VAE does not give the CPU's bytes,
    so a mixed build is not reproducible by either. Checked where the client can know the device
    (in-process and local clusters); on a remote cluster the summary still warns about mixed devices."""
    if scheduler and scheduler.startswith(("tcp://", "tls://")):
        return
    from toolkit.models import resolve_device

    try:
        now = resolve_device(recipe.runner.device).split(":")[0]
    except RuntimeError as e:
        raise ToolkitError(str(e)) from None
    devices = {str(r.device).split(":")[0] for r in done}
    before = sorted(devices - {now})[0] if devices - {now} else now
    if before != now:
        raise ToolkitError(f"{out.url}: this build's finished shards ran on {before}, this run would use {now}; "
                           f"finish it on {before} (runner.device={before}), or pass "
                           "runner.allow_mixed_devices=true to accept a dataset whose bytes no single device "
                           "reproduces")


def run_shards(tasks: list[ShardTask], recipe: Recipe, scheduler: str | None, echo, verbose: bool = False,
               parts: dict | None = None, planned: int | None = None) -> list[dict]:
    """Run the pending shards; with `parts`, each shard task also computes the card's part of its data
    file (`toolkit/card/parts.py`, for `planned` shards in all) and `parts` gets them by file."""
    if not tasks:
        return []
    _, threads = workers_and_threads(recipe)
    fault = armed()
    for t in tasks:
        t.threads = threads
        t.fault = fault
    from toolkit.engine.progress import Progress

    stages = ["align"] + [getattr(f, "name", None) or f.kind for f in recipe.fakes] + ["augment", "write"]
    progress = Progress(sum(len(t.refs) for t in tasks), stages, enabled=recipe.runner.progress)
    after = None
    if parts is not None:
        from functools import partial

        from toolkit.card.parts import card_part, pairs_per_shard

        after = partial(card_part, k=pairs_per_shard(planned or len(tasks)))

    def done(t: ShardTask, marker: dict, part) -> None:
        if verbose:
            echo(_shard_line(t, marker))
        if parts is not None and part is not None:
            parts[marker["file"]] = part

    try:
        return executor_for(scheduler, recipe, echo).run(tasks, progress, done, after)
    finally:
        progress.close()


def _shard_line(t: ShardTask, marker: dict | None) -> str:
    if marker is None:
        return f"shard {t.name}: failed"
    r = ShardRecord.from_json(marker, t.name)
    drops = ", ".join(f"{k} {v}" for k, v in sorted(r.dropped.items()))
    return (f"shard {t.name}: {r.pairs}/{r.pairs_planned} pairs, {r.rows} rows"
            f"{', dropped ' + drops if drops else ''} in {r.seconds:.1f} s"
            f"{' (isolated retry)' if r.isolated else ''}")