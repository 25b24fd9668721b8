"""Codec floor vs pipeline: is the per-image CPU work close to the unavoidable codec work?

Floor, per pair, on the same source files: decode the source JPEG, resize its short side to the target
with the same filter, crop, and encode both members (real and fake) in the final format. Pipeline: a
whole shard built by toolkit (read, decode+align, the `identity` generator, matched augmentation,
encode both members, parquet with image bytes, marker) into a temporary folder. Codecs: lossless PNG
at the recipe's default level (`store.png_compress_level`), JPEG q90 and WebP q90 (method 4), each with
the settings toolkit/transforms/codecs.py uses. Floor and pipeline are timed alternately, best of 3, so
a change of load hits both alike. Target (issue 18): <= 1.15x.

    .venv/bin/python benchmarks/floor.py [--n 64] [--sizes 256 512] [--codecs png jpeg webp]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from pathlib import Path

from common import clock, folder_recipe, write_sources

CODECS = ("png", "jpeg", "webp")


def floor_fn(paths, size: int, codec: str, level: int):
    from PIL import Image

    blobs = [p.read_bytes() for p in paths]

    def run():
        for b in blobs:
            with Image.open(io.BytesIO(b)) as im:
                im = im.convert("RGB")
                w, h = im.size
                s = size / min(w, h)
                nw, nh = max(size, round(w * s)), max(size, round(h * s))
                im = im.resize((nw, nh), Image.Resampling.LANCZOS)
                left, top = (nw - size) // 2, (nh - size) // 2
                im = im.crop((left, top, left + size, top + size))
                for _ in range(2):  # the real and its fake
                    buf = io.BytesIO()
                    if codec == "png":
                        im.save(buf, "PNG", compress_level=level, optimize=False)
                    elif codec == "jpeg":
                        im.save(buf, "JPEG", quality=90, subsampling="4:2:0", optimize=False, progressive=False)
                    else:
                        im.save(buf, "WEBP", quality=90, method=4, lossless=False, exact=False)

    return run


def pipeline_fn(folder: Path, size: int, n: int, codec: str):
    from toolkit.engine.pipeline import build_shard
    from toolkit.engine.runner import plan_build

    recipe = folder_recipe(folder, size, n, shard_size=n, codec=codec)
    out = tempfile.mkdtemp()
    task = plan_build(recipe, out).shards[0]
    build_shard(task, report=lambda s, k: None)  # warm: imports, source listing cache
    return lambda: build_shard(task, report=lambda s, k: None)


def alternate(fns: dict, repeat: int = 3) -> dict:
    """Best time of each function, run in turns (a, b, a, b, ...): load changes hit all of them alike."""
    now = clock()
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = now()
            fn()
            best[k] = min(best[k], now() - t0)
    return best


def measure(n: int, sizes: list[int], codecs=CODECS) -> list[dict]:
    import PIL

    from toolkit.config.recipe import StoreConfig

    level = StoreConfig().png_compress_level
    rows = []
    for size in sizes:
        folder = Path(tempfile.mkdtemp()) / f"src{size}"
        paths = write_sources(folder, n, size)
        for codec in codecs:
            t = alternate({"floor": floor_fn(paths, size, codec, level), "pipeline": pipeline_fn(folder, size, n, codec)})
            rows.append({"size": size, "codec": codec, "n": n, "floor_img_s": n / t["floor"],
                         "pipeline_img_s": n / t["pipeline"], "ratio": t["pipeline"] / t["floor"],
                         "png_level": level, "pillow": PIL.__version__})
    return rows


def report(rows: list[dict]) -> str:
    lines = [f"{'size':>5} {'codec':<6}{'floor pairs/s':>14}{'pipeline pairs/s':>18}{'pipeline/floor':>16}"]
    for r in rows:
        lines.append(f"{r['size']:>5} {r['codec']:<6}{r['floor_img_s']:>14.1f}{r['pipeline_img_s']:>18.1f}"
                     f"{r['ratio']:>15.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--codecs", nargs="+", default=list(CODECS), choices=CODECS)
    ap.add_argument("--json", action="store_true", help="print the rows as JSON (used by run.py)")
    a = ap.parse_args()
    rows = measure(a.n, a.sizes, a.codecs)
    print(json.dumps(rows) if a.json else report(rows))
