"""The model-step interface: the captioner, every generator and every feature kind are `ModelStep`s, and
one loop, `run_step`, runs them all.

Why one interface (cf. NeMo-Curator's `ProcessingStage`, datatrove's `PipelineStep`): before it, each
model stage had its own per-process cache, its own batching, its own way of isolating a failing sample
and counting drops, and the executor hard-coded which stage needed the GPU. A step says what it needs
and what it does; the loop does the rest the same way for all of them:

- `setup()` loads the models. The models (not the steps, rebuilt per shard) are kept in one per-process table (`WORKER_MODELS`, through
  `toolkit.models.load_once`) keyed by what changes the models (the section's config, the
  recipe seed, the device), so a worker loads each model once and reuses it for every shard it builds.
- `select(state)`: the items of the shard this step works on (reals, or every member of a live pair).
- `process_batch(items)`: one result per item, or a `DropSample` for an item it refuses on purpose.
  It may raise: the loop then retries the batch one item at a time, and an item that fails alone
  costs its pair under the step's `drop_reason` (a poison sample never costs its batch or its shard).
  Every sample failing with the same exception type is an infrastructure fault (`ShardFailed`).
- `collect(state, items, results)`: fold the results into the shard (captions, fake rows, side files).

Where the model stage runs is decided from the recipe before any step is built (no model is loaded on
the client): `pipeline.needs_accelerator` (a section that names a model) and `pipeline.shard_stages`.
"""

from __future__ import annotations

from typing import Any, Callable

from toolkit.errors import DropSample


class ModelStep:
    """One model stage of a shard. Subclasses set `name`, `batch_size`, `drop_reason` and implement
    `select`, `process_batch` and `collect`; `setup` is optional."""

    name = "step"
    drop_reason = "generator_error"
    batch_size = 8
    device = "cpu"

    def setup(self) -> None:
        """Load the models (once per worker process: they are kept in `toolkit.models.WORKER_MODELS`)."""

    def select(self, state) -> list:
        raise NotImplementedError

    def process_batch(self, items: list) -> list:
        raise NotImplementedError

    def collect(self, state, items: list, results: list) -> None:
        raise NotImplementedError


def run_step(step: ModelStep, state, report: Callable[[str, int], None], fail_shard: Callable) -> None:
    """Run `step` over its items of `state`: batches of `step.batch_size`, the failing sample isolated,
    every drop counted (a pair is dropped once, whichever of its members failed), then `collect`.
    `fail_shard(stage, errors, total)` raises when every pair failed alike (pipeline's infrastructure
    rule; counted by pair, as a feature step sees every member of a pair)."""
    from toolkit.generators.base import run_batches

    items = step.select(state)
    results: list[Any] = []
    if items:
        step.setup()

        def fail(i: int, e: Exception) -> DropSample:
            return DropSample(step.drop_reason, f"{step.name}: {type(e).__name__}: {e}")

        out = run_batches(list(range(len(items))), step.batch_size,
                          lambda ix: step.process_batch([items[i] for i in ix]), fail)
        results = [out[i] for i in range(len(items))]
        unexpected: dict[str, str] = {}  # pair -> its first unexpected error (a step may see a pair twice)
        for item, res in zip(items, results):
            if not isinstance(res, DropSample):
                continue
            if res.reason == step.drop_reason:  # an exception the step did not expect
                unexpected.setdefault(item.pair_id, res.detail.split(": ", 1)[-1])
            if item.pair_id in state.alive:
                state.drop(item.origin, item.pair_id, res.reason, res.detail)
                state.alive.discard(item.pair_id)
        report(step.name, len(items))
        fail_shard(step.name, list(unexpected.values()), len({item.pair_id for item in items}))
    step.collect(state, items, results)


class GeneratorStep(ModelStep):
    """A generator of fakes as a step: every live real in, one fake row per real out (or its pair dropped)."""

    drop_reason = "generator_error"

    def __init__(self, gen):
        self.gen = gen
        self.name = gen.name
        self.batch_size = max(1, getattr(gen.cfg, "batch_size", 8))
        self.device = gen.device
        self._counters_before: dict = {}
        self._row_provenance: dict = {}

    def select(self, state) -> list:
        self._counters_before = dict(self.gen.counters)  # generators are cached across shards
        self._row_provenance = self.gen.provenance()  # as the shard starts, for every row of it
        return [m for m in state.reals if m.pair_id in state.alive]

    def process_batch(self, items: list) -> list:
        return self.gen([m.pixels for m in items], [m.pair_id for m in items], captions=[m.caption for m in items])

    def collect(self, state, items: list, results: list) -> None:
        from toolkit.generators.base import Fake
        from toolkit.sample import Member

        gen = self.gen
        prov = self._row_provenance
        for real, res in zip(items, results):
            if isinstance(res, DropSample):
                continue
            row_prov = {**prov, **res.provenance} if isinstance(res, Fake) else prov
            mask = res.mask if isinstance(res, Fake) else None
            pixels = res.pixels if isinstance(res, Fake) else res
            if "caption_by" in real.provenance:  # the caption column came from the captioner
                row_prov = {**row_prov, "caption_by": real.provenance["caption_by"]}
            if pixels.shape != real.pixels.shape:  # the contract: same geometry, always
                raise AssertionError(f"{gen.name} returned {pixels.shape} for a {real.pixels.shape} real")
            if mask is not None and mask.shape != real.pixels.shape[:2]:  # the mask too
                raise AssertionError(f"{gen.name} returned a {mask.shape} mask for a {real.pixels.shape} real")
            state.fakes[real.pair_id].append(Member(
                pair_id=real.pair_id, source=gen.name, label=1, pixels=pixels, origin=real.origin,
                caption=real.caption, generator=gen.model_id, provenance=row_prov, mask=mask))
        state.generators[gen.name] = {
            "provenance": gen.provenance(),
            "counters": {k: v - self._counters_before.get(k, 0) for k, v in gen.counters.items()},
            **({"makes_masks": True} if gen.makes_masks else {})}  # verify reads it
