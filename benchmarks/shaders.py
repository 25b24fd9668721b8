"""Shader reals: frames/s per family of the built-in library, on this machine's OpenGL (EGL).

    .venv/bin/python benchmarks/shaders.py [--size 256] [--samples 3] [--supersample 1] [--sandbox]

Renders `samples` frames (different uniforms) of every built-in program at size x size after one
warm-up frame (which includes the JIT compile), and prints per family: programs, frames/s, mean and
worst ms per frame. By default it times the in-process renderer (GL draw + float readback +
quantisation); --sandbox times what a build's read() pays instead (child process, pipe copy, PNG
encode and the degenerate check). On a CPU machine this is Mesa llvmpipe using every core
(LP_NUM_THREADS to change that).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--supersample", type=int, default=1)
    ap.add_argument("--sandbox", action="store_true", help="time the build's path (child process + PNG)")
    args = ap.parse_args()

    from toolkit.shaders.library import builtin_programs
    from toolkit.shaders.quality import degenerate_reason
    from toolkit.shaders.render import Renderer, encode_png
    from toolkit.shaders.sandbox import Sandbox
    from toolkit.shaders.uniforms import draw_builtin

    progs = builtin_programs()
    if args.sandbox:
        sb = Sandbox(time_limit_s=600)

        def render(p, u):
            rgb, nf, _ = sb.render(p, u, args.size, args.size, args.supersample)
            degenerate_reason(rgb, nf)
            encode_png(rgb)

        sb.render(progs[0], draw_builtin(0, progs[0].key, 0), 8, 8)
        info = sb.info
    else:
        r = Renderer()

        def render(p, u):
            r.render(p, u, args.size, args.size, args.supersample)

        info = r.info
    print(f"renderer: {info['GL_RENDERER']} | OpenGL {info['GL_VERSION']} | cpus {os.cpu_count()} | "
          f"LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS', 'default')}")
    print(f"{args.size} px, supersample {args.supersample}, {args.samples} frames per program after a warm-up, "
          f"{'sandbox (build path)' if args.sandbox else 'in-process'}")
    per_family = defaultdict(list)
    worst = {}
    for p in progs:
        render(p, draw_builtin(0, p.key, 10_000))  # warm-up: compile + JIT
        for i in range(args.samples):
            t0 = time.perf_counter()
            render(p, draw_builtin(0, p.key, i))
            dt = time.perf_counter() - t0
            per_family[p.family].append(dt)
            if dt > worst.get(p.family, ("", 0.0))[1]:
                worst[p.family] = (p.name, dt)
    print("\n| family | programs | frames/s | mean ms/frame | slowest program (ms) |")
    print("|---|---:|---:|---:|---|")
    total = []
    for fam in sorted(per_family):
        ts = per_family[fam]
        total += ts
        n = len(ts) // args.samples
        mean = sum(ts) / len(ts)
        print(f"| {fam} | {n} | {1 / mean:.1f} | {mean * 1000:.0f} | {worst[fam][0]} ({worst[fam][1] * 1000:.0f}) |")
    mean = sum(total) / len(total)
    print(f"| **all** | {len(progs)} | {1 / mean:.1f} | {mean * 1000:.0f} | |")


if __name__ == "__main__":
    main()
