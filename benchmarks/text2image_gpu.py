"""Text-to-image on CUDA: the SD v1.5 architecture (random weights: none can be downloaded here) through
toolkit's `text2image` generator, images/s side by side for dtype x batch size x torch.compile, plus
the checks that matter for alignment: same bytes twice, exact output size, the attention processor.

    python benchmarks/text2image_gpu.py [--n 32] [--steps 25] [--batches 1 8] [--compile]
    python benchmarks/text2image_gpu.py --tiny      # CPU smoke test on the tests' tiny pipeline

Random weights cost exactly what trained ones cost (same shapes, same kernels), so the rates hold for
stable-diffusion-v1-5; the pictures are noise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def build_sd15_random(path: Path) -> str:
    """SD v1.5's component shapes (UNet 860M, CLIP ViT-L/14 text encoder, VAE f8) with random weights."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from tiny_sd import tiny_clip_tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768, attention_head_dim=8)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        block_out_channels=(128, 256, 512, 512), layers_per_block=2, sample_size=512)
    tok = tiny_clip_tokenizer(path.parent / "tokenizer_src")
    text = CLIPTextModel(CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_attention_heads=12,
                                        num_hidden_layers=12, max_position_embeddings=77, vocab_size=49408,
                                        hidden_act="quick_gelu", projection_dim=768,
                                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                        pad_token_id=tok.pad_token_id))
    sched = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                          set_alpha_to_one=False, steps_offset=1)
    StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=sched,
                            safety_checker=None, feature_extractor=None, requires_safety_checker=False
                            ).save_pretrained(path)
    return str(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--size", type=int, default=256, help="the reals' size (fakes are aligned to it)")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--compile", action="store_true", help="also time torch.compile of the UNet")
    ap.add_argument("--tiny", action="store_true", help="CPU smoke test on the tests' tiny pipeline")
    args = ap.parse_args()
    import torch

    from toolkit.generators.text2image import Text2Image, Text2ImageConfig
    from toolkit.config.recipe import Recipe

    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    tmp = Path(tempfile.mkdtemp())
    if args.tiny:
        from tiny_sd import build_tiny_sd

        model, gen_px, dtypes = build_tiny_sd(tmp / "sd"), 64, ["float32"]
    else:
        model, gen_px, dtypes = build_sd15_random(tmp / "sd"), 512, ["float32", "bfloat16", "float16"]
    recipe = Recipe(name="bench", reals={"kind": "bundled"}, seed=0)
    recipe.image.size = args.size
    reals = [np.zeros((args.size, args.size, 3), np.uint8)] * args.n
    ids = [f"p{i}" for i in range(args.n)]
    caps = [f"a photograph of a red house number {i} by the sea at sunset" for i in range(args.n)]
    print(f"device {device} ({torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}), torch {torch.__version__}, "
          f"{gen_px}px, {args.steps} steps, {args.n} prompts, aligned to {args.size}px")
    print(f"{'dtype':>9} {'batch':>5} {'compile':>7} {'img/s':>7} {'s/img':>7} {'same bytes twice':>16} attention")
    configs = [(d, b, False) for d in dtypes for b in args.batches]
    if args.compile:
        configs += [(d, max(args.batches), True) for d in dtypes if d != "float32"]
    for dtype, batch, comp in configs:
        g = Text2Image(Text2ImageConfig(model=model, dtype=dtype, batch_size=batch, steps=args.steps, height=gen_px,
                                        width=gen_px, compile=comp), recipe, device)
        g(reals[:batch], ids[:batch], captions=caps[:batch])  # warm-up (and compilation)
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = []
        for s in range(0, args.n, batch):
            out += g(reals[s : s + batch], ids[s : s + batch], captions=caps[s : s + batch])
        if device == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        again = g(reals[:batch], ids[:batch], captions=caps[:batch])
        same = all(np.array_equal(a.pixels, b.pixels) for a, b in zip(out[:batch], again))
        assert all(o.pixels.shape == (args.size, args.size, 3) for o in out)
        print(f"{dtype:>9} {batch:>5} {str(comp):>7} {args.n / dt:>7.2f} {dt / args.n:>7.3f} {str(same):>16} "
              f"{','.join(g.attention)}")
        del g
        if device == "cuda":
            torch.cuda.empty_cache()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
