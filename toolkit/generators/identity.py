"""`kind: identity`: the fake is an exact copy of its real's aligned pixels.

Two uses. Benchmarks: with no model in the way, a build measures the pipeline's own cost against the
codec floor (benchmarks/floor.py). Controls: a dataset whose "fakes" are the reals must be
unlearnable; a detector or an audit that separates it has found a leak in the pipeline, not an artifact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from toolkit.config.registry import GENERATORS
from toolkit.generators.base import Generator, check_generator


@dataclass
class IdentityConfig:
    kind: str = "identity"
    name: Optional[str] = None  # the rows' `source` value; default identity
    batch_size: int = 64

    def __post_init__(self):
        check_generator(self)


@GENERATORS.register("identity", IdentityConfig)
class Identity(Generator):
    kind = "identity"

    def __call__(self, pixels, pair_ids, captions=None):
        return [p.copy() for p in pixels]

    def provenance(self) -> dict:
        return {"model": None, "note": "fake = the real's aligned pixels (control / benchmark)"}
