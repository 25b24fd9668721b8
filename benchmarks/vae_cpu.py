"""VAE round-trip: toolkit's batched generator vs a naive per-image diffusers loop, same model (the
shipped stand-in autoencoder), same images, same threads, on the CPU.

The naive loop is what a script written from the diffusers docs does: VaeImageProcessor.preprocess one
PIL image, encode, sample the latent, decode, postprocess to PIL, one image at a time.

    .venv/bin/python benchmarks/vae_cpu.py [--n 32] [--size 256]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from common import ROOT, clock, cores


def measure(n: int, size: int) -> dict:
    import torch
    from diffusers import AutoencoderKL
    from diffusers.image_processor import VaeImageProcessor
    from PIL import Image

    from toolkit.engine.pipeline import get_generators, get_source
    from toolkit.config.recipe import load_recipe
    from toolkit.transforms.align import decode_and_align

    torch.set_num_threads(cores())
    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [f"reals.count={n}", f"image.size={size}"])
    src = get_source(recipe)
    refs = list(src.list())
    pixels = [decode_and_align(src.read(r), size=size)[0] for r in refs]
    ids = [f"{i:016x}" for i in range(n)]
    gen = get_generators(recipe)[0]

    def ours(batch: int = 8):
        gen.cfg.batch_size = batch
        gen(pixels, ids)  # batches of gen.cfg.batch_size

    vae = AutoencoderKL.from_pretrained(str(ROOT / "toolkit" / "assets" / "standin_vae")).eval()
    proc = VaeImageProcessor(vae_scale_factor=8)
    images = [Image.fromarray(p) for p in pixels]

    def naive():
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for im in images:
                x = proc.preprocess(im)
                lat = vae.encode(x).latent_dist.sample(generator=g)
                out = vae.decode(lat).sample
                np.asarray(proc.postprocess(out, output_type="pil")[0])

    naive()  # warm-up (allocator, kernels)
    ours()
    now, best = clock(), {}
    for _ in range(3):  # in turns, so a change of load hits all three alike
        for name, fn in (("naive", naive), ("toolkit_batch1", lambda: ours(1)), ("toolkit_batch8", lambda: ours(8))):
            t0 = now()
            fn()
            best[name] = min(best.get(name, float("inf")), now() - t0)
    res = {"n": n, "size": size, "threads": torch.get_num_threads(), "naive_img_s": n / best["naive"],
           "toolkit_batch1_img_s": n / best["toolkit_batch1"], "toolkit_batch8_img_s": n / best["toolkit_batch8"]}
    return res


def report(r: dict) -> str:
    b1, b8, nv = r["toolkit_batch1_img_s"], r["toolkit_batch8_img_s"], r["naive_img_s"]
    return (f"stand-in VAE, {r['n']} images at {r['size']} px, {r['threads']} threads: naive per-image loop "
            f"{nv:.1f} img/s; toolkit batch 1 {b1:.1f} img/s ({b1 / nv:.2f}x), batch 8 {b8:.1f} img/s "
            f"({b8 / nv:.2f}x)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = measure(a.n, a.size)
    print(json.dumps(r) if a.json else report(r))
