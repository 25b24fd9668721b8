"""Build progress for a person: bars on a terminal, plain lines in a log.

`toolkit make ... > build.log 2>&1` must give a log a person can read (and grep): no carriage returns,
no cursor movement. So bars (tqdm, one per stage) are drawn only when stderr is a terminal; otherwise
one line per `interval_s` (and one at the end) says how far each stage is:

    progress: align 120/300 | vae_roundtrip 100/300 | augment 90/300 | write 80/300 pairs (41 s, 2.0 pairs/s)

`TOOLKIT_PROGRESS=bars|lines|off` overrides the choice; `TOOLKIT_PROGRESS_INTERVAL_S` sets the
interval of lines (default 30 s).
"""

from __future__ import annotations

import os
import sys
import time


def _mode(enabled: bool, stream) -> str:
    forced = os.environ.get("TOOLKIT_PROGRESS", "").strip().lower()
    if forced in ("bars", "lines", "off"):
        return forced
    if not enabled:
        return "off"
    try:
        return "bars" if stream.isatty() else "lines"
    except (AttributeError, ValueError):
        return "lines"


class Progress:
    """Counts pairs per stage; `update(stage, n)` from the runner, `close()` at the end."""

    def __init__(self, total: int, stages: list[str], enabled: bool = True, stream=None,
                 interval_s: float | None = None):
        self.stream = stream or sys.stderr
        self.mode = _mode(enabled, self.stream)
        self.total = total
        self.stages = stages
        self.done = {s: 0 for s in stages}
        self.t0 = time.time()
        self.interval_s = float(os.environ.get("TOOLKIT_PROGRESS_INTERVAL_S", "30")) if interval_s is None \
            else interval_s
        self._last_line = self.t0
        self.bars = {}
        if self.mode == "bars":
            from tqdm.auto import tqdm

            for i, s in enumerate(stages):
                self.bars[s] = tqdm(total=total, desc=f"{s:>14}", unit="pair", position=i, leave=True,
                                    file=self.stream, dynamic_ncols=True, mininterval=0.5)

    def update(self, stage: str, n: int) -> None:
        if stage not in self.done:
            return
        self.done[stage] += n
        if self.mode == "bars":
            self.bars[stage].update(n)
        elif self.mode == "lines" and time.time() - self._last_line >= self.interval_s:
            self._line()

    def _line(self) -> None:
        self._last_line = time.time()
        took = self._last_line - self.t0
        last = self.done[self.stages[-1]] if self.stages else 0
        rate = f", {last / took:.1f} pairs/s" if took > 0 and last else ""
        parts = " | ".join(f"{s} {self.done[s]}/{self.total}" for s in self.stages)
        print(f"progress: {parts} pairs ({took:.0f} s{rate})", file=self.stream, flush=True)

    def close(self) -> None:
        if self.mode == "bars":
            for bar in self.bars.values():
                bar.close()
        elif self.mode == "lines" and self.total:
            self._line()


def plain_logs_off_a_terminal(stream=None) -> None:
    """When stderr is not a terminal (a log file, a pipe, CI), turn off every tqdm bar in this process and
    its children (the detectors' epoch bars, library download bars): `TQDM_DISABLE=1`, which tqdm reads
    as its default. The build's own progress prints plain lines there instead (`Progress`). Set by the CLI
    before any command runs; an explicit `TQDM_DISABLE` or `TOOLKIT_PROGRESS=bars` wins."""
    stream = stream or sys.stderr
    if _mode(True, stream) != "bars":
        os.environ.setdefault("TQDM_DISABLE", "1")


class QueueReport:
    """A shard task's progress, sent to the client's dask `Queue` in batches: counts are summed per stage
    and put at most every `every_s` and at `flush()` (the end of the task: a whole shard, or a chained
    group of its stages, `pipeline.run_stages`). Each put is a round trip to
    the scheduler, which runs in the client's process; one per pair (the augment stage reports every
    pair) cost the workers and the scheduler about 0.5 ms of CPU each (benchmarks/scaling.py), time the
    shards of a 2-core machine lose. Made on the client, pickled; the queue is opened in the worker."""

    def __init__(self, queue: str, every_s: float = 0.5):
        self.queue, self.every_s = queue, every_s
        self._q = None
        self._pending: dict[str, int] = {}
        self._last = 0.0

    def __getstate__(self) -> dict:
        return {"queue": self.queue, "every_s": self.every_s, "_q": None, "_pending": {}, "_last": 0.0}

    def __call__(self, stage: str, n: int) -> None:
        self._pending[stage] = self._pending.get(stage, 0) + n
        if time.monotonic() - self._last >= self.every_s:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        try:
            if self._q is None:
                from distributed import Queue

                self._q = Queue(self.queue)
            self._q.put(pending)
        except Exception:  # noqa: BLE001 - progress is cosmetic; never fail a shard for it
            pass
