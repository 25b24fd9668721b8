"""Which programs exist, and the complete GLSL each one compiles to.

Built-in programs live in `library/<family>/<name>.glsl` and define `vec3 image(vec2 fragCoord)`
over the shared `prelude.glsl` (uniforms, hashes, noise, palette). User programs are Shadertoy-style
files (`void mainImage(out vec4 fragColor, in vec2 fragCoord)` using iResolution, iTime, iFrame,
iMouse) found in a folder; they are wrapped with the Shadertoy uniforms and a main() that calls
mainImage. Programs are sorted by (family, name) so a listing is deterministic.

A `#line` directive after each header makes GL error logs point at the line of the program's own
file, so a compile error names the file and the line the user wrote.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import ToolkitError

HERE = Path(__file__).resolve().parent
LIBRARY = HERE / "library"
USER_FAMILY = "user"

VERTEX = """#version 330 core
// one triangle that covers the viewport: no vertex buffer needed
void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

_BUILTIN_MAIN = """
out vec4 toolkit_FragColor;
void main() { toolkit_FragColor = vec4(image(gl_FragCoord.xy), 1.0); }
"""

SHADERTOY_HEADER = """#version 330 core
uniform vec3 iResolution;
uniform float iTime;
uniform float iTimeDelta;
uniform float iFrameRate;
uniform int iFrame;
uniform vec4 iMouse;
uniform vec4 iDate;
out vec4 toolkit_FragColor;
"""

_SHADERTOY_MAIN = """
void main() {
    vec4 c = vec4(0.0, 0.0, 0.0, 1.0);
    mainImage(c, gl_FragCoord.xy);
    toolkit_FragColor = vec4(c.rgb, 1.0);
}
"""


@dataclass(frozen=True)
class Program:
    family: str
    name: str
    kind: str  # "builtin" (image() over the prelude) | "shadertoy" (mainImage, wrapped)
    path: str
    source: str  # the file as written
    description: str = ""

    @property
    def key(self) -> str:
        return f"{self.family}/{self.name}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.fragment().encode()).hexdigest()[:16]

    def fragment(self) -> str:
        """The complete fragment shader that is compiled."""
        if self.kind == "builtin":
            return "#version 330 core\n" + _prelude() + "\n#line 1\n" + self.source + "\n" + _BUILTIN_MAIN
        body = re.sub(r"^\s*#version[^\n]*\n", "", self.source, count=1)
        return SHADERTOY_HEADER + "#line 1\n" + body + "\n" + _SHADERTOY_MAIN


_PRELUDE: list[str] = []


def _prelude() -> str:
    if not _PRELUDE:
        _PRELUDE.append((HERE / "prelude.glsl").read_text())
    return _PRELUDE[0]


def _description(text: str) -> str:
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    return first.lstrip("/ ").strip() if first.lstrip().startswith("//") else ""


def builtin_programs() -> list[Program]:
    progs = []
    for path in sorted(LIBRARY.glob("*/*.glsl")):
        text = path.read_text()
        progs.append(Program(family=path.parent.name, name=path.stem, kind="builtin", path=str(path),
                             source=text, description=_description(text)))
    return sorted(progs, key=lambda p: (p.family, p.name))


def user_programs(folder: str) -> list[Program]:
    """Shadertoy-style programs from a local folder (recursively, *.glsl, *.frag, *.fs)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ToolkitError(f"reals.user_dir: {folder}: no such folder")
    files = sorted(p for ext in ("glsl", "frag", "fs") for p in root.rglob(f"*.{ext}"))
    if not files:
        raise ToolkitError(f"reals.user_dir: {folder}: no .glsl/.frag/.fs files")
    progs = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(root).with_suffix("").as_posix()
        # a file without mainImage is not refused here: it fails to compile like any broken program
        # (reported with its name and GL log, skipped and counted), so one bad file never stops a build
        progs.append(Program(family=USER_FAMILY, name=rel, kind="shadertoy", path=str(path), source=text,
                             description=_description(text)))
    return progs


def families(progs: list[Program]) -> list[str]:
    return sorted({p.family for p in progs})
