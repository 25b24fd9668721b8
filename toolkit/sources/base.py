"""The interface every source of reals implements.

`list()` runs once on the client and must be deterministic (same recipe, same input, same order):
it decides pair ids, splits and shards. `read()` runs in workers and returns the real's encoded bytes
exactly as stored, so that `transforms/align.py` is the single place where a real is decoded.
"""

from __future__ import annotations

from typing import Iterable

from toolkit.sample import RealRef


class Source:
    kind = "source"

    def __init__(self, cfg, recipe):
        self.cfg = cfg
        self.recipe = recipe
        self.dropped: dict[str, int] = {}  # reals dropped while listing, by reason (e.g. duplicate origins)
        # things skipped while listing that are not reals (e.g. shader programs that do not compile):
        # reported in the summary, but not counted as listed reals
        self.skipped: dict[str, int] = {}

    def check(self) -> None:
        """Cheap checks of the source's input (a path exists, a list is readable), run by `toolkit make`
        before it writes or deletes anything in the output; raise ToolkitError with one line."""

    def list(self) -> Iterable[RealRef]:
        raise NotImplementedError

    def read(self, ref: RealRef) -> bytes:
        raise NotImplementedError

    def describe(self) -> dict:
        """What the dataset card says about this source."""
        return {"kind": self.kind}
