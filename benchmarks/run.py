"""All CPU benchmarks in one command, each figure a ratio measured side by side in the same run:

  0. lossless encoders side by side: Pillow PNG 1-9, WebP lossless, OpenCV/imagecodecs/libdeflate
     when importable (png_codecs.py; picks store.png_compress_level)
  1. codec floor vs pipeline at 256 and 512 px (PNG, JPEG q90, WebP q90)  target <= 1.15x
  2. scaling: pairs/s with 1 and 2 dask workers                          target >= 1.8x on 2 cores
  3. VAE round-trip: toolkit's generator (batch 1, 8) vs a naive per-image loop (stand-in VAE, CPU)
                                                                         target >= 1.0x
  4. Pillow vs pillow-simd on the floor/pipeline of (1), when benchmarks/.pillow-simd exists
     (build it with benchmarks/install_pillow_simd.sh)
  5. peak RSS of a build of 4 vs 16 shards                               target: flat

    .venv/bin/python benchmarks/run.py [--only codecs floor scaling vae simd memory] [--json results.json]
    TOOLKIT_BENCH_CLOCK=cpu .venv/bin/python benchmarks/run.py ...   # CPU time: on a machine shared
                                                                     # with other jobs (not scaling)

Each section runs in its own subprocess (fresh imports, no state shared between measurements).
The GPU figures: benchmarks/gpu_all.py (needs CUDA; --smoke runs it on a CPU at toy sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIMD = HERE / ".pillow-simd"


def section(script: str, *args: str, env: dict | None = None):
    p = subprocess.run([sys.executable, str(HERE / script), *args, "--json"], cwd=HERE, capture_output=True,
                       text=True, env={**os.environ, **(env or {})})
    if p.returncode != 0:
        raise SystemExit(f"{script} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="+", default=["codecs", "floor", "scaling", "vae", "simd", "memory"])
    ap.add_argument("--n", type=int, default=64, help="pairs per floor measurement")
    ap.add_argument("--json", help="also write all results to this file")
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import floor
    import memory
    import png_codecs
    import scaling
    import vae_cpu

    results = {"cores": os.cpu_count(), "clock": os.environ.get("TOOLKIT_BENCH_CLOCK", "wall")}
    if "codecs" in a.only:
        results["codecs"] = section("png_codecs.py")
        print("0. lossless encoders (ms and bytes per image; pixels checked identical)")
        print(png_codecs.report(results["codecs"]), "\n", flush=True)
    if "floor" in a.only:
        results["floor"] = section("floor.py", "--n", str(a.n))
        print("1. codec floor vs pipeline (identity generator; pairs/s; best of 3, in turns)")
        print(floor.report(results["floor"]), "\n", flush=True)
    if "scaling" in a.only:
        results["scaling"] = section("scaling.py")
        print("2. scaling over dask workers\n" + scaling.report(results["scaling"]) + "\n", flush=True)
    if "vae" in a.only:
        results["vae"] = section("vae_cpu.py")
        print("3. VAE round-trip, batched vs naive\n" + vae_cpu.report(results["vae"]) + "\n", flush=True)
    if "simd" in a.only:
        if not SIMD.exists():
            print("4. pillow-simd: skipped (run benchmarks/install_pillow_simd.sh first)\n")
        else:
            plain = section("floor.py", "--n", str(a.n))
            simd = section("floor.py", "--n", str(a.n), env={"PYTHONPATH": str(SIMD)})
            results["simd"] = {"pillow": plain, "pillow_simd": simd}
            print(f"4. Pillow {plain[0]['pillow']} vs pillow-simd {simd[0]['pillow']} (pairs/s, same images)")
            print(f"{'size':>5} {'codec':<6}{'floor':>8}{'floor simd':>12}{'x':>7}{'pipeline':>10}"
                  f"{'pipeline simd':>15}{'x':>7}")
            for p, s in zip(plain, simd):
                print(f"{p['size']:>5} {p['codec']:<6}{p['floor_img_s']:>8.1f}{s['floor_img_s']:>12.1f}"
                      f"{s['floor_img_s'] / p['floor_img_s']:>6.2f}x{p['pipeline_img_s']:>10.1f}"
                      f"{s['pipeline_img_s']:>15.1f}{s['pipeline_img_s'] / p['pipeline_img_s']:>6.2f}x")
            print(flush=True)
    if "memory" in a.only:
        results["memory"] = section("memory.py")
        print("5. memory\n" + memory.report(results["memory"]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
