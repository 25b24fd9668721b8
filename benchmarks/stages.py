"""Throughput of the CPU stages against their codec floor, measured side by side in one run.

    .venv/bin/python benchmarks/stages.py [--n 64] [--size 256]

For each stage it prints images/s of toolkit's code and of the bare library call it cannot avoid
(the "floor"), and their ratio; then a whole shard (read -> align -> VAE -> augment -> parquet)
against the sum of its parts, which is the pipeline's own overhead.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile

from common import timed  # noqa: E402 - also puts the repository on sys.path
from PIL import Image


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    from toolkit.engine.pipeline import ShardTask, build_shard, get_generators, get_source
    from toolkit.config.recipe import load_recipe
    from toolkit.engine.runner import plan_build
    from toolkit.transforms.align import decode_and_align
    from toolkit.transforms.augment import Augmenter, JpegConfig

    tmp = tempfile.mkdtemp()
    recipe = load_recipe("recipes/demo.yaml", [f"reals.count={args.n}", f"image.size={args.size}",
                                               f"runner.shard_size={args.n}", "split.train=1.0", "split.test=0.0"])
    source = get_source(recipe)
    task = plan_build(recipe, tmp).shards[0]
    raw = [source.read(r) for r in task.refs]
    rows = []

    def row(stage, ours, floor):
        rows.append((stage, args.n / ours, args.n / floor if floor else None, ours / floor if floor else None))

    # decode + align vs bare PIL decode + resize
    aligned = []
    t_align = timed(lambda: aligned.__setitem__(slice(None), [decode_and_align(b, size=args.size)[0] for b in raw]), 3)

    def bare():
        for b in raw:
            im = Image.open(io.BytesIO(b)).convert("RGB")
            w, h = im.size
            s = args.size / min(w, h)
            im.resize((max(args.size, round(w * s)), max(args.size, round(h * s))), Image.Resampling.LANCZOS)

    row("decode+align", t_align, timed(bare, 3))

    # codecs: toolkit's encode vs bare PIL save
    for name, ops in [("png", {}), ("jpeg q90", {"jpeg": JpegConfig(p=1.0, quality=[90, 90])})]:
        aug = Augmenter(ops, matched=True, seed=0)
        plans = [aug.plan(r.pair_id) for r in task.refs]
        fmt = "PNG" if name == "png" else "JPEG"
        kw = {"compress_level": 6} if fmt == "PNG" else {"quality": 90}
        ours = timed(lambda: [aug.apply(p, a) for p, a in zip(plans, aligned)], 3)
        floor = timed(lambda: [Image.fromarray(a).save(io.BytesIO(), format=fmt, **kw) for a in aligned], 3)
        row(f"encode {name}", ours, floor)

    # VAE round-trip (model bound: no floor, reported as is)
    gen = get_generators(recipe)[0]
    ids = [r.pair_id for r in task.refs]
    t_vae = timed(lambda: [gen(aligned[i:i + 8], ids[i:i + 8]) for i in range(0, len(aligned), 8)], 1)
    row("vae round-trip", t_vae, None)

    # whole shard vs sum of parts
    parts = sum(args.n / r[1] for r in rows if r[0] in ("decode+align", "encode png", "vae round-trip"))
    parts += args.n / rows[1][1]  # the fake's encode
    t_shard = timed(lambda: build_shard(ShardTask(recipe=recipe, output=tmp, split="train", index=0, total=1,
                                                  refs=task.refs), report=lambda s, n: None), 1)
    row("whole shard", t_shard, parts)

    print(f"\n{args.n} bundled reals at {args.size} px, {os.cpu_count()} cores, torch {torch.__version__}")
    print(f"{'stage':<16}{'toolkit img/s':>15}{'floor img/s':>13}{'time ratio':>12}")
    for stage, ours, floor, ratio in rows:
        print(f"{stage:<16}{ours:>15.1f}{(f'{floor:.1f}' if floor else '-'):>13}"
              f"{(f'{ratio:.2f}x' if ratio else '-'):>12}")
    print("time ratio = toolkit time / floor time (1.00x = no overhead); whole shard's floor = sum of its parts")


if __name__ == "__main__":
    main()
