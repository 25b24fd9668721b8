"""Poison samples: a file that crashes the process (a segfault in a C decoder, an abort, the OOM killer)
must not fail its shard forever.

An ordinary exception is already caught per sample and counted. A hard crash kills the worker, so the
shard is retried; on a retry (`attempt >= 1`, counted in OUT/_tmp/attempts/) the shard reads and decodes
each real in a forked child process. A child that dies turns into a dropped pair counted as
`poison_crash`, and the rest of the shard completes. The first attempt runs in-process: forking per
sample costs about a millisecond, which would be overhead for the 99.99% of shards that never crash.
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import signal

from .errors import DropSample

ATTEMPTS_DIR = "_tmp/attempts"


def run_isolated(fn, *args):
    """fn(*args) in a forked child; returns its result or re-raises its DropSample/exception. A child
    that dies without answering raises DropSample('poison_crash')."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args), daemon=True)
    proc.start()
    send.close()
    try:
        payload = recv.recv_bytes()
    except EOFError:
        payload = None
    proc.join()
    recv.close()
    if payload is None:
        code = proc.exitcode
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        raise DropSample("poison_crash", f"the process reading this sample died ({how})")
    ok, value = pickle.loads(payload)
    if ok:
        return value
    raise value


def _child(send, fn, args) -> None:
    try:
        result = (True, fn(*args))
    except BaseException as e:  # noqa: BLE001 - sent back to the parent, which decides
        result = (False, e if _picklable(e) else RuntimeError(f"{type(e).__name__}: {e}"))
    send.send_bytes(pickle.dumps(result))
    send.close()


def _picklable(e: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(e))
        return True
    except Exception:  # noqa: BLE001
        return False


def next_attempt(out, shard: str) -> int:
    """Record that shard `shard` is starting; return how many attempts started before this one."""
    rel = f"{ATTEMPTS_DIR}/{shard}.json"
    n = out.read_json(rel)["started"] if out.exists(rel) else 0
    out.write_json(rel, {"started": n + 1})
    return n


def clear_attempts(out, shard: str) -> None:
    out.rm(f"{ATTEMPTS_DIR}/{shard}.json")
