"""The renderer in a child process, with a time limit on every frame.

Why a child process: a fragment program can loop forever (a ray marcher that never converges, a
user shader with a bug). Inside the GL driver that is a call that never returns (llvmpipe has no
watchdog, a GPU driver's watchdog may take down the whole context), and no Python-level timeout can
interrupt a thread stuck in C. A separate process can always be killed: the parent waits for the
answer with `select` and a deadline; past it, the child is SIGKILLed, the frame is dropped (counted
as `shader_timeout`) and the next request starts a fresh child. The child is a plain `subprocess`
(not multiprocessing) because dask workers are daemonic processes, which may not fork
multiprocessing children. The costs: one context start per worker (well under a second on
llvmpipe) and a copy of each frame over a pipe (negligible next to rendering).

Protocol: length-prefixed pickles over the child's stdin/stdout; the child moves its own stdout to
stderr first so that nothing a driver prints can corrupt an answer.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import time

import numpy as np

from toolkit.errors import ToolkitError
from toolkit.shaders.library import Program

_LEN = struct.Struct("<Q")


class SandboxTimeout(Exception):
    pass


class SandboxCrash(Exception):
    pass


class CompileFailed(Exception):
    def __init__(self, key: str, log: str):
        super().__init__(f"{key}: {log}")
        self.key = key
        self.log = log


class RenderFailed(Exception):
    pass


def _send(fh, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fh.write(_LEN.pack(len(data)) + data)
    fh.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise SandboxTimeout()
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv(fd: int, deadline: float | None = None):
    head = _read_exact(fd, _LEN.size, deadline)
    if head is None:
        return None
    body = _read_exact(fd, _LEN.unpack(head)[0], deadline)
    return None if body is None else pickle.loads(body)


class Sandbox:
    """Parent side. `render()` returns (uint8 frame, nonfinite fraction, seconds) or raises
    SandboxTimeout / SandboxCrash / CompileFailed / RenderFailed."""

    def __init__(self, backend: str = "egl", time_limit_s: float = 30.0, startup_s: float = 60.0):
        self.backend = backend
        self.time_limit_s = float(time_limit_s)
        self.startup_s = float(startup_s)
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self.restarts = 0

    def _start(self) -> None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen([sys.executable, "-m", "toolkit.shaders.sandbox"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, bufsize=0)
        reply = self._call({"op": "start", "backend": self.backend}, self.startup_s, started=True)
        if not reply.get("ok"):
            self.close()
            raise ToolkitError(reply.get("message", "reals (shaders): the render process failed to start"))
        self.info = reply["info"]

    def _call(self, msg: dict, timeout: float, started: bool = False) -> dict:
        if self.proc is None:
            self._start()
        proc = self.proc
        try:
            _send(proc.stdin, msg)
            reply = _recv(proc.stdout.fileno(), time.monotonic() + timeout)
        except SandboxTimeout:
            self._kill()
            raise
        except (BrokenPipeError, OSError):
            reply = None
        if reply is None:
            code = self._kill()
            raise SandboxCrash(f"render process exited (code {code})")
        return reply

    def _kill(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        self.restarts += 1
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        for fh in (proc.stdin, proc.stdout):
            try:
                fh.close()
            except OSError:
                pass
        return code

    def compile(self, prog: Program) -> None:
        reply = self._call({"op": "compile", "program": prog}, self.time_limit_s)
        self._raise(reply)

    def render(self, prog: Program, uniforms: dict, width: int, height: int, supersample: int = 1):
        reply = self._call({"op": "render", "program": prog, "uniforms": uniforms, "width": width,
                            "height": height, "supersample": supersample}, self.time_limit_s)
        self._raise(reply)
        rgb = np.frombuffer(reply["rgb"], dtype=np.uint8).reshape(height, width, 3)
        return rgb, reply["nonfinite"], reply["seconds"]

    @staticmethod
    def _raise(reply: dict) -> None:
        if reply.get("ok"):
            return
        if reply.get("error") == "compile":
            raise CompileFailed(reply["key"], reply["log"])
        raise RenderFailed(reply.get("message", "render failed"))

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                proc.stdin.close()  # the child exits on EOF
                proc.wait(timeout=5)
            except Exception:  # noqa: BLE001
                proc.kill()
                proc.wait()
            try:
                proc.stdout.close()
            except OSError:
                pass

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def serve() -> None:
    """Child side: answer requests until stdin closes."""
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed (by us or a driver) goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    from toolkit.shaders.render import Renderer, ShaderCompileError

    fd_in = sys.stdin.buffer.fileno()
    renderer = None
    while True:
        msg = _recv(fd_in)
        if msg is None:
            return
        try:
            op = msg["op"]
            if op == "start":
                renderer = Renderer(msg.get("backend", "egl"))
                _send(proto_out, {"ok": True, "info": renderer.info})
            elif op == "compile":
                renderer.compile(msg["program"])
                _send(proto_out, {"ok": True})
            elif op == "render":
                t0 = time.perf_counter()
                rgb, nonfinite = renderer.render(msg["program"], msg["uniforms"], msg["width"], msg["height"],
                                                 msg.get("supersample", 1))
                _send(proto_out, {"ok": True, "rgb": rgb.tobytes(), "nonfinite": nonfinite,
                                  "seconds": time.perf_counter() - t0})
            else:
                _send(proto_out, {"ok": False, "message": f"unknown op {op!r}"})
        except ShaderCompileError as e:
            _send(proto_out, {"ok": False, "error": "compile", "key": e.key, "log": e.log})
        except ToolkitError as e:
            _send(proto_out, {"ok": False, "error": "toolkit", "message": str(e)})
        except Exception as e:  # noqa: BLE001 - reported to the parent as one line
            _send(proto_out, {"ok": False, "error": "render", "message": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    serve()
