"""The renderer: one headless OpenGL context (moderngl over EGL), programs compiled once and cached.

Colour, exactly: programs write linear floats into an RGBA32F framebuffer (no sRGB framebuffer, no
driver conversion, no dithering); we read the floats back, flip the rows (GL's origin is bottom-left)
and quantise ourselves: NaN/inf counted then set to 0, clip to [0, 1], `floor(255 x + 0.5)`. The
values a program writes are treated as sRGB-encoded display values, as on Shadertoy, so what a user
sees there is what lands in the PNG. Supersampling renders at `s` times the size and downsamples with
an exact s x s box (area) filter in float64 before the quantisation: no resampling kernel ringing, and
each output pixel is the mean of the s^2 samples inside it.

On a CPU machine EGL gives Mesa's llvmpipe, on a GPU machine the vendor driver. Same program, same
uniforms, same driver -> same pixels (llvmpipe renders tiles independently of its thread count).
"""

from __future__ import annotations

import numpy as np

from toolkit.errors import ToolkitError, first_line
from toolkit.shaders.library import VERTEX, Program
from toolkit.shaders.uniforms import resolution_uniforms


class ShaderCompileError(Exception):
    def __init__(self, key: str, log: str):
        super().__init__(f"{key}: {log}")
        self.key = key
        self.log = log


def create_context(backend: str = "egl"):
    import moderngl

    try:
        return moderngl.create_standalone_context(require=330, backend=backend)
    except Exception as e:  # noqa: BLE001 - one clear line, not a driver traceback
        first = first_line(e)
        raise ToolkitError(f"reals (shaders): cannot create a headless OpenGL 3.3 context with backend "
                           f"{backend!r}: {first} (on Debian: apt-get install libegl1 libegl-mesa0 "
                           f"libgl1-mesa-dri, see scripts/system-deps.sh)") from None


class Renderer:
    def __init__(self, backend: str = "egl"):
        self.ctx = create_context(backend)
        self._programs: dict[str, object] = {}
        self._vaos: dict[str, object] = {}
        self._fbos: dict[tuple[int, int], object] = {}

    @property
    def info(self) -> dict:
        return {k: self.ctx.info.get(k) for k in ("GL_VENDOR", "GL_RENDERER", "GL_VERSION")}

    def compile(self, prog: Program):
        key = prog.digest
        if key not in self._programs:
            import moderngl

            try:
                gl = self.ctx.program(vertex_shader=VERTEX, fragment_shader=prog.fragment())
            except moderngl.Error as e:
                raise ShaderCompileError(prog.key, _clean_log(str(e))) from None
            self._programs[key] = gl
            self._vaos[key] = self.ctx.vertex_array(gl, [])
        return self._programs[key]

    def _fbo(self, w: int, h: int):
        if (w, h) not in self._fbos:
            if len(self._fbos) > 4:  # sizes rarely vary; keep GPU memory bounded when they do
                for f in self._fbos.values():
                    f.release()
                self._fbos.clear()
            tex = self.ctx.texture((w, h), 4, dtype="f4")
            self._fbos[(w, h)] = self.ctx.framebuffer(color_attachments=[tex])
        return self._fbos[(w, h)]

    def render(self, prog: Program, uniforms: dict, width: int, height: int,
               supersample: int = 1) -> tuple[np.ndarray, float]:
        """Return (H x W x 3 uint8 frame, fraction of non-finite values before quantisation)."""
        import moderngl

        gl = self.compile(prog)
        s = max(1, int(supersample))
        w, h = width * s, height * s
        values = {**uniforms, **resolution_uniforms(prog.kind, w, h)}
        for name, value in values.items():
            if name in gl:
                gl[name].value = tuple(value) if isinstance(value, (list, tuple)) else value
        fbo = self._fbo(w, h)
        fbo.use()
        fbo.viewport = (0, 0, w, h)
        fbo.clear(0.0, 0.0, 0.0, 1.0)
        self._vaos[prog.digest].render(mode=moderngl.TRIANGLES, vertices=3)
        raw = fbo.read(components=4, dtype="f4")
        frame = np.frombuffer(raw, dtype=np.float32).reshape(h, w, 4)[::-1, :, :3]
        return quantize(frame, s)


def quantize(frame: np.ndarray, s: int = 1) -> tuple[np.ndarray, float]:
    finite = np.isfinite(frame)
    nonfinite = float(1.0 - finite.mean())
    x = np.where(finite, frame, 0.0).astype(np.float64)
    if s > 1:
        h, w = x.shape[0] // s, x.shape[1] // s
        x = x.reshape(h, s, w, s, 3).mean(axis=(1, 3))
    rgb8 = np.floor(np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(rgb8), nonfinite


def _clean_log(text: str) -> str:
    lines = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip() and set(ln.strip()) != {"="}]
    return "\n".join(lines)


def encode_png(rgb8: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb8, "RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
