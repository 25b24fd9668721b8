"""Shared pieces of the benchmarks: web-like source images written to a folder, recipes over them,
and a best-of-N timer. Sources are JPEG q95 files larger than the target size (what a LAION real
looks like after download), made from the photographs bundled with scikit-image."""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def clock():
    """Wall time, or this process's CPU time with TOOLKIT_BENCH_CLOCK=cpu: on a machine shared with other
    jobs (load above the core count) wall times measure the neighbours; the CPU time of a single-threaded
    measurement does not. Multi-process figures (scaling) are always wall time."""
    return time.process_time if os.environ.get("TOOLKIT_BENCH_CLOCK") == "cpu" else time.perf_counter


def timed(fn, repeat: int = 3) -> float:
    now = clock()
    best = float("inf")
    for _ in range(repeat):
        t0 = now()
        fn()
        best = min(best, now() - t0)
    return best


def write_sources(folder: Path, n: int, size: int) -> list[Path]:
    """n JPEG q95 files, short side about 1.6x `size`, from seeded crops of the bundled photos."""
    from PIL import Image

    from toolkit.config.recipe import load_recipe
    from toolkit.engine.pipeline import get_source

    folder.mkdir(parents=True, exist_ok=True)
    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [f"reals.count={n}"])
    src = get_source(recipe)
    paths = []
    for i, ref in enumerate(src.list()):
        with Image.open(io.BytesIO(src.read(ref))) as im:
            w, h = im.size
            s = 1.6 * size / min(w, h)
            im = im.convert("RGB").resize((round(w * s), round(h * s)), Image.Resampling.BICUBIC)
        p = folder / f"{i:05d}.jpg"
        im.save(p, "JPEG", quality=95)
        paths.append(p)
    return paths


def folder_recipe(folder: Path, size: int, n: int, shard_size: int, codec: str = "png", generator: str = "identity"):
    from toolkit.config.recipe import load_recipe

    fakes = "[{kind: identity}]" if generator == "identity" else \
        "[{kind: vae_roundtrip, model: 'builtin:standin_vae', batch_size: 8}]"
    ops = {"png": ["augment.ops.webp.p=0", "augment.ops.jpeg.p=0"],
           "jpeg": ["augment.ops.webp.p=0", "augment.ops.jpeg.p=1.0", "augment.ops.jpeg.quality=[90,90]"],
           "webp": ["augment.ops.jpeg.p=0", "augment.ops.webp.p=1.0", "augment.ops.webp.quality=[90,90]",
                    "augment.ops.webp.method=4"]}[codec]
    return load_recipe(ROOT / "recipes" / "demo.yaml", [
        f"reals={{kind: folder, path: '{folder}', count: {n}}}", f"image.size={size}", f"fakes={fakes}",
        *ops, f"runner.shard_size={shard_size}", "split.train=1.0", "split.test=0.0", "detector=null",
        "runner.progress=false"])


def cores() -> int:
    return os.cpu_count() or 1
