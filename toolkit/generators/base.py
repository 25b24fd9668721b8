"""The interface every generator of fakes implements, and model-loading helpers they share.

A generator is built once per worker process (models are cached, see `runner`), then called on
batches of aligned reals of one shard, with their captions (`captions=`, one per real, None when the
real has none). It returns, per real, the fake's uint8 pixels at the real's exact size, or a `Fake`
(those pixels plus per-row provenance: the seed and prompt a text-to-image fake used, say), or a
`DropSample` saying why there is none (the pair is then dropped and counted).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import numpy as np

from toolkit.errors import DropSample

class Fake(NamedTuple):
    """A generator's result with what only this row needs to record (merged into its provenance).

    `mask`: which pixels the generator made, for a generator that regenerates only part of the image
    (inpainting): uint8 0/255, H x W at the real's size, 255 = generated. None = every pixel (a full
    regeneration, a round-trip, text-to-image). Stored in the `mask` column when the recipe has a
    generator that makes masks (`Generator.makes_masks`); see docs/regeneration.md."""

    pixels: np.ndarray
    provenance: dict[str, Any]
    mask: Optional[np.ndarray] = None


class Generator:
    kind = "generator"

    def __init__(self, cfg, recipe, device: str):
        self.cfg = cfg
        self.recipe = recipe
        self.device = device
        self.counters: dict[str, int] = {}

    @property
    def name(self) -> str:
        """The `source` value of this generator's rows."""
        return getattr(self.cfg, "name", None) or self.kind

    @property
    def model_id(self) -> str | None:
        return getattr(self.cfg, "model", None)

    @property
    def makes_masks(self) -> bool:
        """Whether this generator's fakes may be partial (their `Fake.mask` says where): the config's
        `makes_masks` (see `makes_masks` below)."""
        return makes_masks(self.cfg)

    def __call__(self, pixels: list[np.ndarray], pair_ids: list[str],
                 captions: list[str | None] | None = None) -> list[np.ndarray | Fake | DropSample]:
        raise NotImplementedError

    def provenance(self) -> dict:
        """Per-row generator parameters (model, revision, weights hash, settings)."""
        return {}

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + n

    def batched(self, idx: list[int], fn) -> dict:
        """`run_batches` with `cfg.batch_size`; an index that fails alone becomes DropSample(generator_error)."""
        return run_batches(idx, self.cfg.batch_size, fn,
                           lambda i, e: DropSample("generator_error", f"{self.kind}: {type(e).__name__}: {e}"))


def run_batches(idx: list[int], batch_size: int, fn, fail) -> dict:
    """`fn(indices) -> one result per index`, over batches of `batch_size`. A batch that raises is retried
    one index at a time, and an index that fails alone gets `fail(index, exception)`: a poison sample
    costs its own pair, never its batch or its shard."""
    out: dict = {}
    step = max(1, batch_size)
    for start in range(0, len(idx), step):
        chunk = idx[start : start + step]
        try:
            res = fn(chunk)
        except Exception:  # noqa: BLE001 - isolate the poison sample
            res = []
            for i in chunk:
                try:
                    res.append(fn([i])[0])
                except Exception as e:  # noqa: BLE001
                    res.append(fail(i, e))
        out.update(zip(chunk, res))
    return out


def check_generator(cfg) -> None:
    """The fields every generator config has: `name` (the rows' `source` value and part of image file
    names: a safe name, not `real`) and `batch_size`."""
    from toolkit.config import validation as v

    v.safe_name("name", getattr(cfg, "name", None), optional=True, reserved=("real",))
    if hasattr(cfg, "batch_size"):
        v.at_least("batch_size", cfg.batch_size, 1)


def makes_masks(cfg) -> bool:
    """A generator config whose fakes may regenerate only part of the image declares it with a
    `makes_masks` attribute (a property of the config: inpainting with a rectangle, brush or object mask). A
    recipe with at least one such generator gets the `mask` column (sample.py)."""
    return bool(getattr(cfg, "makes_masks", False))
