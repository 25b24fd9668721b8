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
from common import ROOT, cores, timed


def measure(n: int, size: int) -> dict:
    import torch
    from diffusers import AutoencoderKL
    from diffusers.image_processor import VaeImageProcessor
    from PIL import Image

    from toolkit.pipeline import get_generators, get_source
    from toolkit.recipe import load_recipe
    from toolkit.transforms.align import decode_and_align

    torch.set_num_threads(cores())
    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [f"reals.count={n}", f"image.size={size}"])
    src = get_source(recipe)
    refs = list(src.list())
    pixels = [decode_and_align(src.read(r), size=size)[0] for r in refs]
    ids = [f"{i:016x}" for i in range(n)]
    gen = get_generators(recipe)[0]
    batch = gen.cfg.batch_size

    def ours():
        for i in range(0, n, batch):
            gen(pixels[i:i + batch], ids[i:i + batch])

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

    ours()  # warm-up (allocator, kernels)
    t_ours, t_naive = timed(ours, 2), timed(naive, 2)
    return {"n": n, "size": size, "threads": torch.get_num_threads(), "batch": batch,
            "toolkit_img_s": n / t_ours, "naive_img_s": n / t_naive, "speedup": t_naive / t_ours}


def report(r: dict) -> str:
    return (f"stand-in VAE, {r['n']} images at {r['size']} px, {r['threads']} threads: toolkit (batch "
            f"{r['batch']}) {r['toolkit_img_s']:.1f} img/s, naive per-image loop {r['naive_img_s']:.1f} img/s "
            f"-> {r['speedup']:.2f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = measure(a.n, a.size)
    print(json.dumps(r) if a.json else report(r))
