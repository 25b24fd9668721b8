"""Poison samples: a file that crashes the process (a segfault in a C decoder, an abort, the OOM killer)
must not fail its shard forever, and must cost exactly its own pair.

An ordinary exception is already caught per sample and counted. A hard crash kills the worker, so the
shard is retried; on a retry (`attempt >= 1`, counted in OUT/_tmp/attempts/) the shard reads and decodes
each real in a **sandbox**: one child Python interpreter per shard, started with `subprocess`, that
runs one call at a time. A sandbox that dies during a call turns that sample into a dropped pair
counted as `poison_crash` (`poison_timeout` when it hangs past `SAMPLE_TIMEOUT_S`), and a fresh sandbox
takes the rest of the shard. The first attempt runs in-process: no overhead for the 99.99% of shards
that never crash.

Why a subprocess and not `multiprocessing`: a dask worker is a daemonic process, and a daemonic
process may not start multiprocessing children (`AssertionError: daemonic processes are not allowed
to have children`, which the old code caught per real as `decode_error`: every real of a retried
shard was silently dropped on the default scheduler). `subprocess.Popen` has no such rule, and a fresh
interpreter inherits no threads or locks from the worker (forking a threaded dask worker can deadlock
the child). The cost is one interpreter start (about a second) per *retried* shard, plus pickling
each sample's pixels back. The child finds the same code as the parent (the parent's `sys.path` is
handed over) and the same plug-ins (`TOOLKIT_PLUGINS`, see registry.py, is in its environment).

A sandbox that cannot start or answer its handshake is an infrastructure fault, not a poison sample:
`SandboxError` fails the shard (retried, reported), never counted as drops.
"""

from __future__ import annotations

import os
import pickle

from toolkit.child_process import ChildDied, ChildProcess, ChildTimeout, UnpicklableRequest
from toolkit.errors import DropSample, ToolkitError

ATTEMPTS_DIR = "_tmp/attempts"
SAMPLE_TIMEOUT_S = float(os.environ.get("TOOLKIT_SAMPLE_TIMEOUT_S", "600"))
START_TIMEOUT_S = 120.0


class SandboxError(ToolkitError):
    """The sandbox itself failed (could not start, broke the protocol): not the sample's fault."""


class Sandbox:
    """A child interpreter (toolkit/child_process.py) running `fn(*args)` calls one at a time. Use as a
    context manager."""

    def __init__(self, sample_timeout_s: float | None = None):
        self.child = ChildProcess("toolkit.engine.isolation:call_handler", START_TIMEOUT_S)
        self.sample_timeout_s = SAMPLE_TIMEOUT_S if sample_timeout_s is None else sample_timeout_s

    @property
    def starts(self) -> int:
        return self.child.starts

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, fn, *args):
        """fn(*args) in the sandbox: its result, or its exception re-raised here. A sandbox that dies or
        hangs during the call raises DropSample('poison_crash' | 'poison_timeout') and is replaced."""
        if not self.child.running:
            try:
                self.child.start()
            except OSError as e:
                raise SandboxError(f"sandbox: cannot start a child interpreter ({e})") from None
            except ChildDied as e:
                raise SandboxError(f"sandbox: the child interpreter did not start ({e.how})") from None
        try:
            ok, value = self.child.request((fn, args), self.sample_timeout_s)
        except UnpicklableRequest as e:  # our bug, not the sample's
            raise SandboxError(f"sandbox: cannot send the call ({e})") from None
        except ChildDied as e:
            raise DropSample("poison_crash", f"the process reading this sample died ({e.how})") from None
        except ChildTimeout:
            raise DropSample("poison_timeout",
                             f"reading this sample took longer than {self.sample_timeout_s:g} s") from None
        if ok:
            return value
        raise value

    def close(self) -> None:
        self.child.close()


def call_handler():
    """The child's side: each request is (fn, args); the answer is (True, result) or (False, exception)."""

    def handle(request):
        try:
            fn, args = request
            return True, fn(*args)
        except BaseException as e:  # noqa: BLE001 - sent back to the parent, which decides
            return False, e if _picklable(e) else RuntimeError(f"{type(e).__name__}: {e}")

    return handle


def _picklable(e: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(e))
        return True
    except Exception:  # noqa: BLE001
        return False


def next_attempt(out, shard: str) -> int:
    """Record that shard `shard` is starting; return how many attempts started before this one."""
    rel = f"{ATTEMPTS_DIR}/{shard}.json"
    try:
        n = int(out.read_json(rel)["started"]) if out.exists(rel) else 0
    except (ValueError, KeyError, TypeError):  # a counter cut short by a kill: it did start
        n = 1
    out.write_json(rel, {"started": n + 1})
    return n


def clear_attempts(out, shard: str) -> None:
    out.rm(f"{ATTEMPTS_DIR}/{shard}.json")
