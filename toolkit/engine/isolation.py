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
import select
import signal
import struct
import subprocess
import sys
import time

from toolkit.errors import DropSample, ToolkitError

ATTEMPTS_DIR = "_tmp/attempts"
SAMPLE_TIMEOUT_S = float(os.environ.get("TOOLKIT_SAMPLE_TIMEOUT_S", "600"))
START_TIMEOUT_S = 120.0
_HEADER = struct.Struct("!Q")

# The child: a frame channel on a private copy of stdout (fd 1 then points to stderr, so a library
# that prints cannot corrupt the protocol), the parent's sys.path, then a loop of calls.
_BOOT = r"""
import os, sys, pickle
chan = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
inp = os.fdopen(os.dup(0), "rb", buffering=0)
sys.path[:0] = pickle.loads(bytes.fromhex(sys.argv[1]))
from toolkit.engine.isolation import _serve
_serve(inp, chan)
"""


class SandboxError(ToolkitError):
    """The sandbox itself failed (could not start, broke the protocol): not the sample's fault."""


class Sandbox:
    """A child interpreter running `fn(*args)` calls one at a time. Use as a context manager."""

    def __init__(self, sample_timeout_s: float | None = None):
        self.proc: subprocess.Popen | None = None
        self.sample_timeout_s = SAMPLE_TIMEOUT_S if sample_timeout_s is None else sample_timeout_s
        self.starts = 0

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, fn, *args):
        """fn(*args) in the sandbox: its result, or its exception re-raised here. A sandbox that dies or
        hangs during the call raises DropSample('poison_crash' | 'poison_timeout') and is replaced."""
        if self.proc is None:
            self._start()
        try:
            payload = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001 - our bug, not the sample's
            raise SandboxError(f"sandbox: cannot send the call ({type(e).__name__}: {e})") from None
        try:
            self._send(payload)
            answer = self._recv(self.sample_timeout_s)
        except _Died:
            how = self._death()
            raise DropSample("poison_crash", f"the process reading this sample died ({how})") from None
        except _TimedOut:
            self._kill()
            raise DropSample("poison_timeout",
                             f"reading this sample took longer than {self.sample_timeout_s:g} s") from None
        ok, value = pickle.loads(answer)
        if ok:
            return value
        raise value

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:  # noqa: BLE001
                self._kill()
            self.proc = None

    # --- plumbing ------------------------------------------------------------------------------

    def _start(self) -> None:
        self.starts += 1
        paths = pickle.dumps([p for p in sys.path if p]).hex()
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", _BOOT, paths], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, close_fds=True)
        except OSError as e:
            raise SandboxError(f"sandbox: cannot start a child interpreter ({e})") from None
        try:
            hello = self._recv(START_TIMEOUT_S)
        except (_Died, _TimedOut):
            how = self._death() if self.proc.poll() is not None else "no answer"
            self._kill()
            raise SandboxError(f"sandbox: the child interpreter did not start ({how})") from None
        if hello != b"ready":
            self._kill()
            raise SandboxError("sandbox: unexpected handshake from the child interpreter")

    def _send(self, payload: bytes) -> None:
        try:
            self.proc.stdin.write(_HEADER.pack(len(payload)) + payload)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Died() from None

    def _recv(self, timeout: float) -> bytes:
        head = self._read_exact(_HEADER.size, timeout)
        (n,) = _HEADER.unpack(head)
        return self._read_exact(n, timeout)

    def _read_exact(self, n: int, timeout: float) -> bytes:
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _TimedOut()
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                raise _Died()
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._kill()
            code = self.proc.returncode
        self.proc = None
        if code is not None and code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"

    def _kill(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001
                pass
            self.proc = None


class _Died(Exception):
    pass


class _TimedOut(Exception):
    pass


def _serve(inp, chan) -> None:
    """The child's loop: read a call, run it, answer (ok, value). EOF on stdin ends it."""

    def send(data: bytes) -> None:
        chan.write(_HEADER.pack(len(data)) + data)

    def read_exact(n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = inp.read(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    send(b"ready")
    while True:
        head = read_exact(_HEADER.size)
        if head is None:
            return
        body = read_exact(_HEADER.unpack(head)[0])
        if body is None:
            return
        try:
            fn, args = pickle.loads(body)
            result = (True, fn(*args))
        except BaseException as e:  # noqa: BLE001 - sent back to the parent, which decides
            result = (False, e if _picklable(e) else RuntimeError(f"{type(e).__name__}: {e}"))
        send(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


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
