"""One shard, end to end: read reals -> align -> fakes -> matched augmentation -> parquet -> marker.

This function is what a dask worker runs. It is self-contained (it receives the resolved recipe and
the shard's refs, opens the output itself) and idempotent: it writes the shard under a temporary
name, moves it into place, and only then writes the completion marker, so running it twice, or being
killed half way, never produces a duplicate or a half-written shard.

Nothing is dropped silently: a real that cannot be read or aligned, or whose fake cannot be made,
drops its whole pair (every real must have its fakes) and is counted under a reason, and the first
drops of each shard are logged with their origin.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional

from toolkit.engine.drops import check as check_reason
from toolkit.errors import DropSample, ToolkitError
from toolkit.engine.faults import kill_point
from toolkit.engine.isolation import Sandbox, clear_attempts, next_attempt
from toolkit.engine.progress import QueueReport
from toolkit.models import WORKER_MODELS
from toolkit.config.recipe import Recipe
from toolkit.config.registry import GENERATORS, SOURCES, load_builtins
from toolkit.sample import Member, RealRef, dumps
from toolkit.seeding import rng_for
from toolkit.store.atomic import AtomicFolder
from toolkit.store.layout import drops_file, marker_file, shard_file
from toolkit.store.shard_record import ShardRecord
from toolkit.store.parquet import parquet_bytes

MAX_LOGGED_DROPS = 20  # in the shard record, for a quick look; every drop is in meta/drops/<shard>.parquet


@dataclass
class ShardTask:
    recipe: Recipe
    output: str
    split: str
    index: int
    total: int
    refs: list[RealRef]
    threads: Optional[int] = None
    progress_queue: Optional[str] = None
    fault: Optional[str] = None  # fault injection (toolkit/engine/faults.py), from the client's environment
    fault_delay_s: float = field(default_factory=lambda: float(os.environ.get("TOOLKIT_FAULT_DELAY_S", "0")))

    @property
    def name(self) -> str:
        return f"{self.split}-{self.index:05d}"


def get_source(recipe: Recipe):
    """The recipe's source, built once per worker process (`WORKER_MODELS`)."""
    key = ("source", dumps(_as_dict(recipe.reals)), recipe.seed, recipe.output)
    if key not in WORKER_MODELS:
        load_builtins()
        WORKER_MODELS[key] = SOURCES.get(recipe.reals.kind).impl(recipe.reals, recipe)
    return WORKER_MODELS[key]


def get_generators(recipe: Recipe) -> list:
    """The recipe's generators, each loaded once per worker process (`WORKER_MODELS`)."""
    from toolkit.models import load_once, resolve_device

    device = resolve_device(recipe.runner.device)
    gens = []
    for i, cfg in enumerate(recipe.fakes):
        key = ("generator", dumps(_as_dict(cfg)), recipe.seed, device)
        load_builtins()
        gens.append(load_once(WORKER_MODELS, key, lambda cfg=cfg: GENERATORS.get(cfg.kind).impl(cfg, recipe, device),
                              f"fakes[{i}] ({cfg.kind}): cannot load model {getattr(cfg, 'model', None)!r}"))
    return gens


def _as_dict(cfg) -> dict:

    return dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else dict(cfg)


def _silent(stage: str, n: int) -> None:
    """The report of a stage run without one (nothing to show)."""


@dataclass
class ShardState:
    """What one shard carries from stage to stage. On a cluster with GPU workers the three stages
    (`read_stage`, `model_stage`, `write_stage`) may run on different workers, so this is what dask
    ships between them: the aligned reals and their fakes as uint8 arrays, plus the accounting."""

    task: ShardTask
    t0: float
    isolated: bool = False
    reals: list = field(default_factory=list)
    fakes: dict = field(default_factory=dict)
    alive: set = field(default_factory=set)
    drops: Counter = field(default_factory=Counter)
    drop_log: list = field(default_factory=list)  # every drop of the shard: meta/drops/<shard>.parquet
    stage_seconds: dict = field(default_factory=dict)
    generators: dict = field(default_factory=dict)  # name -> {provenance, counters}
    captioner: Optional[dict] = None
    device: str = "cpu"
    workers: dict = field(default_factory=dict)  # stage -> worker address (cluster runs)

    def drop(self, origin: str, pair_id: str, reason: str, detail: str) -> None:
        self.drops[check_reason(reason)] += 1
        self.drop_log.append({"pair_id": pair_id, "origin": origin, "reason": reason, "detail": detail[:1000]})

    def stage_done(self, stage: str, started: float) -> None:
        self.stage_seconds[stage] = round(self.stage_seconds.get(stage, 0.0) + time.time() - started, 3)


def build_shard(task: ShardTask, report: Callable[[str, int], None] | None = None) -> dict:
    """Build one shard and return its completion marker (also written to meta/shards/).

    The three stages fused in one task: what local runs do (no pixels cross a process boundary)."""
    return write_stage(model_stage(read_stage(task, report), report), report)


def shard_stages(recipe: Recipe) -> list[tuple[str, dict]]:
    """The stages of one shard, in order, each with the dask resources it declares. Only the model
    stage may ask for one: `runner.gpu_resource` when a model step of the recipe needs the accelerator
    (`needs_accelerator`). Executors run consecutive stages with the same resources as one task, so a
    recipe without a GPU resource is one task per shard (no pixels between workers)."""
    gpu = recipe.runner.gpu_resource
    model = {gpu: 1} if gpu and needs_accelerator(recipe) else {}
    return [("read", {}), ("model", model), ("write", {})]


STAGE_FUNCTIONS = {"read": "read_stage", "model": "model_stage", "write": "write_stage"}


def run_stages(names: tuple[str, ...], arg):
    """Run the named consecutive stages of one shard in this process (one executor task): `arg` is the
    ShardTask for a group that starts with `read`, else the ShardState of the previous group. Progress
    goes to the build's queue in batches (`QueueReport`), flushed when the group ends."""
    task = arg if isinstance(arg, ShardTask) else arg.task
    report = QueueReport(task.progress_queue) if task.progress_queue else None
    try:
        for name in names:
            arg = globals()[STAGE_FUNCTIONS[name]](arg, report)
    finally:
        if report is not None:
            report.flush()
    return arg


def _setup(task: ShardTask, stage: str, state: Optional[ShardState] = None):
    if task.threads:
        import torch

        torch.set_num_threads(task.threads)
    if state is not None:
        try:
            from distributed import get_worker

            state.workers[stage] = get_worker().address
        except (ImportError, ValueError):
            pass


class ShardFailed(ToolkitError):
    """Every sample of a shard failed the same way: the infrastructure is at fault (a missing module, a
    broken mount, a sandbox that cannot start), not the data. The shard fails (retried, reported, the
    build exits non-zero) instead of completing as a shard of drops that `verify` would call fine."""


def check_not_infrastructure(stage: str, task: ShardTask, errors: list[str], total: int) -> None:
    """`errors`: one 'Type: message' per sample that failed with an unexpected exception (not a
    DropSample a stage raised on purpose). All of at least two samples failing with the same
    exception type is not bad data."""
    if total >= 2 and len(errors) == total and len({e.split(":", 1)[0] for e in errors}) == 1:
        raise ShardFailed(f"shard {task.name}: {stage}: all {total} samples failed with the same error, "
                          f"which is not a problem of the data: {errors[0][:300]}")


def read_stage(task: ShardTask, report: Callable[[str, int], None] | None = None) -> ShardState:
    """1. read + align (decode once); on a retry, each real in a sandbox process (poison isolation)."""
    state = ShardState(task=task, t0=time.time())
    started = state.t0
    _setup(task, "read", state)
    report = report or _silent
    recipe = task.recipe
    source = get_source(recipe)
    state.isolated = next_attempt(AtomicFolder(task.output), task.name) > 0
    unexpected: list[str] = []
    crashed = 0
    with Sandbox() as sandbox:
        for ref in task.refs:
            try:
                if state.isolated:
                    pixels, info = sandbox.call(_isolated_read, recipe, ref)
                else:
                    pixels, info = _read_and_align(source, ref, recipe)
            except DropSample as d:
                crashed += d.reason in ("poison_crash", "poison_timeout")
                state.drop(ref.origin, ref.pair_id, d.reason, d.detail)
                continue
            except ToolkitError:
                raise  # the sandbox itself, or a source saying its input is gone: not this sample's fault
            except Exception as e:  # noqa: BLE001 - a poison file must not fail its shard
                unexpected.append(f"{type(e).__name__}: {e}")
                state.drop(ref.origin, ref.pair_id, "decode_error", f"{type(e).__name__}: {e}")
                continue
            prov = {"source": source.kind, **info, **({"source_meta": _public_meta(ref.meta)} if ref.meta else {})}
            state.reals.append(Member(pair_id=ref.pair_id, source="real", label=0, pixels=pixels,
                                      origin=ref.origin, caption=ref.caption, provenance=prov))
            if len(state.reals) == 1:
                kill_point("shard_read", task.name, task.fault, task.output)
            if task.fault_delay_s:
                time.sleep(task.fault_delay_s)  # fault-injection knob for the resume test
    check_not_infrastructure("read", task, unexpected, len(task.refs))
    if len(task.refs) >= 2 and crashed == len(task.refs):
        raise ShardFailed(f"shard {task.name}: every sample crashed its sandbox process; that is the machine, "
                          "not the data (out of memory?)")
    report("align", len(task.refs))
    state.stage_done("read", started)
    return state


def _isolated_read(recipe: Recipe, ref: RealRef):
    """What the sandbox runs: the source is rebuilt from the recipe in the child (and cached there)."""
    return _read_and_align(get_source(recipe), ref, recipe)


def model_steps(recipe: Recipe) -> list:
    """The shard's model steps, in order (toolkit/engine/steps.py): the captioner (captions for reals
    without one), each generator (the fakes), each feature kind (side files; they need the fakes)."""
    from toolkit.engine.steps import GeneratorStep
    from toolkit.models import resolve_device

    device = resolve_device(recipe.runner.device)
    steps: list = []
    if recipe.captioner is not None:
        from toolkit.captioner import CaptionStep

        steps.append(CaptionStep(recipe.captioner, device))
    steps += [GeneratorStep(g) for g in get_generators(recipe)]
    if recipe.features:
        from toolkit.config.registry import FEATURES

        steps += [FEATURES.get(cfg.kind).impl(cfg, device) for cfg in recipe.features]
    return steps


def needs_accelerator(recipe: Recipe) -> bool:
    """Whether any model step of the recipe declares it needs the accelerator (it names a model), read
    from the recipe alone (no model loaded): what the executor asks before it places the model stage."""
    return (recipe.captioner is not None or bool(recipe.features)
            or any(getattr(cfg, "model", None) for cfg in recipe.fakes))


def model_stage(state: ShardState, report: Callable[[str, int], None] | None = None) -> ShardState:
    """2. Every model step (captioner, generators, features) through one loop (`steps.run_step`): batched,
    a failing sample costs its pair, every drop counted. The only stage that needs the models."""
    from toolkit.engine.steps import GeneratorStep, run_step

    started = time.time()
    task, recipe = state.task, state.task.recipe
    _setup(task, "model", state)
    report = report or _silent
    steps = model_steps(recipe)
    state.alive = {m.pair_id for m in state.reals}
    state.fakes = {m.pair_id: [] for m in state.reals}
    for step in steps:
        run_step(step, state, report, lambda stage, errors, total: check_not_infrastructure(stage, task, errors, total))
    gens = [s for s in steps if isinstance(s, GeneratorStep)]
    state.device = gens[0].device if gens else "cpu"
    state.stage_done("model", started)
    return state


def write_stage(state: ShardState, report: Callable[[str, int], None] | None = None) -> dict:
    """3. matched augmentation + encoding, in pair order; 4. the shard file, then its marker."""
    from toolkit.transforms.augment import Augmenter

    started = time.time()
    task, recipe = state.task, state.task.recipe
    _setup(task, "write", state)
    report = report or _silent
    aug = Augmenter(recipe.augment.ops, matched=recipe.augment.matched, seed=recipe.seed,
                    png_compress_level=recipe.store.png_compress_level)
    masks = recipe.makes_masks()  # the `mask` column (sample.MASK_COLUMN); without it, today's schema exactly
    rows: list[dict] = []
    per_source: Counter = Counter()
    per_augment: Counter = Counter()
    for real in state.reals:
        if real.pair_id not in state.alive:
            continue
        members = [real] + state.fakes[real.pair_id]
        for k, m in enumerate(members):
            p = aug.plan_for(real.pair_id, k, m.label)  # matched: the pair's one draw; see augment.py
            data, fmt, w, h = aug.apply(p, m.pixels)
            rows.append({
                "image": {"bytes": data, "path": f"{m.pair_id}-{m.source}.{'jpg' if fmt == 'jpeg' else fmt}"},
                "label": m.label, "pair_id": m.pair_id, "source": m.source, "generator": m.generator,
                "caption": m.caption, "width": w, "height": h, "format": fmt, "augment": p.record(),
                "origin": m.origin, "provenance": dumps(m.provenance)})
            if masks:
                rows[-1]["mask"] = _mask_cell(aug, p, m, w, h)
            per_source[m.source] += 1
            per_augment[p.label()] += 1
        report("augment", 1)

    out = AtomicFolder(task.output)
    rel, blob = None, b""
    if rows:  # a shard whose every pair was dropped writes no file (parquet readers reject 0-row files)
        blob = parquet_bytes(rows, recipe.store.row_group_size, masks=masks)
        rel = shard_file(task.split, task.index, task.total)
        out.write_bytes(rel, blob)
        kill_point("data_file", task.name, task.fault, task.output)
    drops_rel = None
    if state.drop_log:  # every drop, not a sample of them
        drops_rel = drops_file(task.split, task.index)
        out.write_bytes(drops_rel, drops_parquet(state.drop_log))
    state.stage_done("write", started)
    record = ShardRecord(
        shard=task.name, split=task.split, file=rel, sha256=hashlib.sha256(blob).hexdigest() if rows else None,
        bytes=len(blob), pairs_planned=len(task.refs), pairs=len({r["pair_id"] for r in rows}), rows=len(rows),
        per_source=dict(per_source), per_augment=dict(per_augment), dropped=dict(state.drops),
        drop_log=state.drop_log[:MAX_LOGGED_DROPS], drops_file=drops_rel, generators=state.generators,
        captioner=state.captioner, device=state.device, torch_threads=task.threads, isolated=state.isolated,
        workers=state.workers, seconds=round(time.time() - state.t0, 3), stage_seconds=state.stage_seconds)
    marker = record.to_json()
    out.write_json(marker_file(task.split, task.index), marker)
    kill_point("marker", task.name, task.fault, task.output)
    clear_attempts(out, task.name)
    report("write", len(task.refs))
    return marker


def _mask_cell(aug, plan, m: Member, width: int, height: int) -> dict | None:
    """The `mask` cell of a member: null for a real; for a fake its generator's mask (all 255 when it made
    every pixel), through the geometric ops of the member's augmentation chain, as PNG bytes."""
    import io

    import numpy as np
    from PIL import Image

    if m.label == 0:
        return None
    mask = m.mask if m.mask is not None else np.full(m.pixels.shape[:2], 255, np.uint8)
    data = aug.apply_mask(plan, mask)
    with Image.open(io.BytesIO(data)) as im:
        if im.size != (width, height):  # an augmentation op moved the image but not its label
            raise ToolkitError(f"{m.source}: augmentation {plan.label()} made a {width}x{height} image but a "
                               f"{im.size[0]}x{im.size[1]} mask; a geometric op needs apply_mask")
    return {"bytes": data, "path": f"{m.pair_id}-{m.source}-mask.png"}


def drops_parquet(drops: list[dict]) -> bytes:
    """Every dropped pair of a shard: pair_id, origin, reason, detail (one row per drop)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {k: [d[k] for d in drops] for k in ("pair_id", "origin", "reason", "detail")}
    buf = io.BytesIO()
    pq.write_table(pa.table(cols, schema=pa.schema([(k, pa.string()) for k in cols])), buf, compression="zstd")
    return buf.getvalue()


def _read_and_align(source, ref: RealRef, recipe: Recipe):
    from toolkit.transforms.align import decode_and_align

    img = recipe.image
    data = source.read(ref)
    rng = rng_for(recipe.seed, ref.pair_id, "crop") if img.crop == "random" else None
    return decode_and_align(
        data, size=img.size, min_size=img.min_size, resize_filter=img.resize_filter, crop=img.crop,
        rng=rng, max_pixels=img.max_pixels, icc=img.icc, alpha_background=tuple(img.alpha_background))


def _public_meta(meta: dict) -> dict:
    """Source metadata worth keeping per row (not worker-local absolute paths)."""
    return {k: v for k, v in meta.items() if k != "path"}
