"""A child interpreter that answers requests, with a deadline on every answer: the one mechanism behind the
poison-sample sandbox (`engine/isolation.py`) and the shader render process (`shaders/sandbox.py`).

Why a child process: a decoder can segfault and a GL driver can loop forever inside a C call; no Python
timeout interrupts either, but a process can always be killed. Why `subprocess` and not multiprocessing:
dask workers are daemonic processes, which may not have multiprocessing children, and a fresh interpreter
inherits none of a threaded worker's locks.

Protocol: length-prefixed pickles over the child's stdin and a private copy of its stdout; the child
points fd 1 at stderr first, so nothing a library or driver prints can corrupt an answer. The child gets
the parent's `sys.path` (a worker may import code the plain interpreter would not find), imports
`module:function` (`entry`), calls it once to get a handler, says `ready`, then answers each request with
`handler(request)` until its stdin closes.
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

_HEADER = struct.Struct("!Q")

_BOOT = r"""
import os, sys, pickle
chan = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
sys.stdout = sys.stderr
inp = os.fdopen(os.dup(0), "rb", buffering=0)
sys.path[:0] = pickle.loads(bytes.fromhex(sys.argv[1]))
from toolkit.child_process import serve
serve(inp, chan, sys.argv[2])
"""


class ChildDied(Exception):
    """The child exited (or closed its channel) before answering; `how` says how (exit code, signal)."""

    def __init__(self, how: str):
        super().__init__(how)
        self.how = how


class ChildTimeout(Exception):
    """No answer within the deadline; the child has been killed."""


class UnpicklableRequest(Exception):
    """The request cannot be pickled: nothing was sent (the caller's bug, not the child's)."""


class ChildProcess:
    """Parent side. `request(obj, timeout)` sends one request and returns the child's answer. A child that
    dies raises ChildDied, one that does not answer in time is killed and raises ChildTimeout; the next
    request starts a fresh child. `starts` counts the children started."""

    def __init__(self, entry: str, start_timeout_s: float = 120.0):
        self.entry = entry
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.proc is not None

    def start(self) -> None:
        """Start the child and wait for its `ready` (OSError when it cannot be started at all)."""
        self.starts += 1
        paths = pickle.dumps([p for p in sys.path if p]).hex()
        self.proc = subprocess.Popen([sys.executable, "-c", _BOOT, paths, self.entry], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, close_fds=True)
        try:
            hello = self._recv(self.start_timeout_s)
        except ChildTimeout:
            self.kill()
            raise ChildDied("no answer at start") from None
        if hello != b"ready":
            self.kill()
            raise ChildDied("unexpected handshake")

    def request(self, obj, timeout: float):
        if self.proc is None:
            self.start()
        try:
            payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001 - any pickling failure
            raise UnpicklableRequest(f"{type(e).__name__}: {e}") from None
        try:
            self.proc.stdin.write(_HEADER.pack(len(payload)) + payload)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise ChildDied(self._death()) from None
        return pickle.loads(self._recv(timeout))

    def close(self) -> None:
        """Let the child finish (EOF on its stdin), killing it if it does not within 5 s."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            proc.kill()
            proc.wait()
        _close(proc)

    def kill(self) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        try:
            if proc.poll() is None:
                proc.kill()
            code = proc.wait(timeout=10)
        except Exception:  # noqa: BLE001
            code = proc.returncode
        _close(proc)
        return code

    # --- plumbing ------------------------------------------------------------------------------

    def _recv(self, timeout: float) -> bytes:
        head = self._read_exact(_HEADER.size, timeout)
        return self._read_exact(_HEADER.unpack(head)[0], timeout)

    def _read_exact(self, n: int, timeout: float) -> bytes:
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise ChildTimeout()
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                raise ChildDied(self._death())
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _death(self) -> str:
        proc = self.proc
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = self.kill()
        self.proc = None
        _close(proc)
        if code is not None and code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"


def _close(proc: subprocess.Popen) -> None:
    for fh in (proc.stdin, proc.stdout):
        try:
            fh.close()
        except OSError:
            pass


def serve(inp, chan, entry: str) -> None:
    """The child's loop (started by `_BOOT`): build the handler from `entry`, then answer until EOF."""
    import importlib

    module, name = entry.split(":")
    handler = getattr(importlib.import_module(module), name)()

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
        send(pickle.dumps(handler(pickle.loads(body)), protocol=pickle.HIGHEST_PROTOCOL))
