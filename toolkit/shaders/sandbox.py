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

The child and its protocol are `toolkit/child_process.py`'s (shared with the poison-sample sandbox):
length-prefixed pickles over a private channel, so nothing a driver prints can corrupt an answer.
"""

from __future__ import annotations

import time

import numpy as np

from toolkit.child_process import ChildDied, ChildProcess, ChildTimeout
from toolkit.errors import ToolkitError
from toolkit.shaders.library import Program


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


class Sandbox:
    """Parent side. `render()` returns (uint8 frame, nonfinite fraction, seconds) or raises
    SandboxTimeout / SandboxCrash / CompileFailed / RenderFailed."""

    def __init__(self, backend: str = "egl", time_limit_s: float = 30.0, startup_s: float = 60.0):
        self.backend = backend
        self.time_limit_s = float(time_limit_s)
        self.startup_s = float(startup_s)
        self.child = ChildProcess("toolkit.shaders.sandbox:render_handler", startup_s)
        self.info: dict = {}
        self.restarts = 0

    def _start(self) -> None:
        try:
            self.child.start()
        except (OSError, ChildDied) as e:
            raise ToolkitError(f"reals (shaders): the render process failed to start ({e})") from None
        reply = self._call({"op": "start", "backend": self.backend}, self.startup_s)
        if not reply.get("ok"):
            self.close()
            raise ToolkitError(reply.get("message", "reals (shaders): the render process failed to start"))
        self.info = reply["info"]

    def _call(self, msg: dict, timeout: float) -> dict:
        if not self.child.running:
            self._start()
        try:
            return self.child.request(msg, timeout)
        except ChildTimeout:
            self.restarts += 1
            raise SandboxTimeout() from None
        except ChildDied as e:
            self.restarts += 1
            raise SandboxCrash(f"render process exited ({e.how})") from None

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
        self.child.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def render_handler():
    """Child side: a handler that keeps one renderer across requests (start, compile, render)."""
    from toolkit.shaders.render import Renderer, ShaderCompileError

    state: dict = {"renderer": None}

    def handle(msg: dict) -> dict:
        try:
            op = msg["op"]
            renderer = state["renderer"]
            if op == "start":
                state["renderer"] = Renderer(msg.get("backend", "egl"))
                return {"ok": True, "info": state["renderer"].info}
            if op == "compile":
                renderer.compile(msg["program"])
                return {"ok": True}
            if op == "render":
                t0 = time.perf_counter()
                rgb, nonfinite = renderer.render(msg["program"], msg["uniforms"], msg["width"], msg["height"],
                                                 msg.get("supersample", 1))
                return {"ok": True, "rgb": rgb.tobytes(), "nonfinite": nonfinite, "seconds": time.perf_counter() - t0}
            return {"ok": False, "message": f"unknown op {op!r}"}
        except ShaderCompileError as e:
            return {"ok": False, "error": "compile", "key": e.key, "log": e.log}
        except ToolkitError as e:
            return {"ok": False, "error": "toolkit", "message": str(e)}
        except Exception as e:  # noqa: BLE001 - reported to the parent as one line
            return {"ok": False, "error": "render", "message": f"{type(e).__name__}: {e}"}

    return handle
