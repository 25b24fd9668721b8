"""Shadertoy-style user programs written by the tests: a good one, a broken one, a hanging one,
degenerate ones. Each is a few lines; the test decides which go in a folder."""

from __future__ import annotations

from pathlib import Path

PROGRAMS = {
    # fragColor = (x, y, fract(iTime)): a known image to compare with, pixel by pixel
    "ramp": """// a ramp: red follows x, green follows y, blue the time
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    fragColor = vec4(uv, fract(iTime), 1.0);
}
""",
    "rings": """// concentric rings around the mouse
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    float d = length(fragCoord - iMouse.xy) / iResolution.y;
    fragColor = vec4(0.5 + 0.5 * cos(d * 40.0 - iTime + vec3(0.0, 2.0, 4.0)), 1.0);
}
""",
    "broken": """void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    fragColor = vec4(undefined_thing, 1.0);
}
""",
    # llvmpipe stops any loop after 65535 iterations, so `while (true)` ends there; a loop of heavy
    # bodies does not (65535 x 100 sines per pixel: minutes), and a GPU driver has no cap at all
    "hang": """#define S x = fract(x * 1.0001 + sin(x));
#define S10 S S S S S S S S S S
#define S100 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    float x = fragCoord.x * 1e-3 + iTime;
    for (int i = 0; i < 100000000; i++) { S100 }
    fragColor = vec4(x);
}
""",
    "flat": """void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    fragColor = vec4(0.2, 0.4, 0.6, 1.0);
}
""",
    "nan": """void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    float z = fragCoord.x - fragCoord.x;
    fragColor = vec4(vec3(z / z), 1.0);
}
""",
    "mostly_flat": """void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    fragColor = (uv.x > 0.9) ? vec4(uv, 1.0, 1.0) : vec4(0.1, 0.1, 0.1, 1.0);
}
""",
}


def write(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / f"{n}.glsl").write_text(PROGRAMS[n])
    return folder
