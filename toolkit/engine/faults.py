"""Fault injection for the crash/resume tests and `scripts/kill_resume.py`: kill the build at a named point.

`TOOLKIT_KILL_AT=<point>[@<shard>]` makes the process that reaches `<point>` (for shard points: while
building `<shard>`, e.g. `data_file@train-00001`) send SIGKILL to its whole process group, as
`kill -9 -- -PGID` of the build's process tree would (start the build in its own session so nothing
else is in the group). The variable is read by the client and travels with each shard task, so on a
cluster the worker reaching the point kills its own process group (a `dask worker` and its nanny: a
lost node), once per build. `TOOLKIT_KILL_SIGNAL=INT` sends SIGINT instead (Ctrl-C in a terminal reaches
the whole foreground group the same way) and carries on until the signal lands.

Points, in build order: `plan` (before listing), `planned` (plan and build.json written), `shard_read`
(a shard's first real aligned), `data_file` (a shard's data file in place, its marker not yet),
`marker` (the marker written), `card` (all shards done, before the card), `finished` (card written,
before the scratch folder and the lock are removed). Unset (always, outside tests), this is a dict
lookup per point.
"""

from __future__ import annotations

import os
import signal
import time

POINTS = ("plan", "planned", "shard_read", "data_file", "marker", "card", "finished")


def armed() -> str | None:
    """The client's fault spec, handed to shard tasks (`ShardTask.fault`) so that it reaches workers on
    other machines too, whose environment the client does not set."""
    spec = os.environ.get("TOOLKIT_KILL_AT")
    return f"{spec}!{os.environ.get('TOOLKIT_KILL_SIGNAL', 'KILL')}" if spec else None


def kill_point(name: str, shard: str | None = None, spec: str | None = None, output: str | None = None) -> None:
    """Fire the armed fault if this is its point. With `output`, it fires once per build output (a flag
    file in OUT/_tmp/), so a shard retried on another worker is not killed again."""
    spec = spec or armed()
    if not spec:
        return
    where, _, signame = spec.partition("!")
    point, _, which = where.partition("@")
    if point != name or (which and which != shard):
        return
    if output is not None:
        from toolkit.store.atomic import AtomicFolder

        out = AtomicFolder(output)
        flag = f"_tmp/fault-fired-{where.replace('@', '-')}"
        if out.exists(flag):
            return
        out.write_text(flag, "fired\n")
    sig = signal.SIGINT if signame.upper() == "INT" else signal.SIGKILL
    os.killpg(os.getpgid(0), sig)
    if sig == signal.SIGINT:
        time.sleep(1.0)  # let the interrupt land where a user's Ctrl-C would
    else:
        time.sleep(60)  # SIGKILL is not delivered instantly; never run past the point
