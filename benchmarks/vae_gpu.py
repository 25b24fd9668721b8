"""VAE round-trip on CUDA: the SD v1.5 autoencoder architecture (random weights: none can be
downloaded here), float32 vs bfloat16 vs float16, images/s side by side in one run, plus the checks
that matter for alignment on a GPU: exact output size, run-to-run determinism, NaN fallback.

    python benchmarks/vae_gpu.py [--sizes 256 512] [--n 64] [--batch 16]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

SD15_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(128, 256, 512, 512),
                layers_per_block=2, norm_num_groups=32, sample_size=512)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    import torch
    from diffusers import AutoencoderKL

    from toolkit.generators.vae_roundtrip import VaeRoundtrip, VaeRoundtripConfig

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    path = tempfile.mkdtemp()
    AutoencoderKL(**SD15_VAE).save_pretrained(path)
    recipe = SimpleNamespace(seed=0)
    print(f"device {device} ({torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}), torch {torch.__version__}")
    print(f"{'size':>5} {'dtype':>9} {'img/s':>8} {'vs fp32':>8} {'same bytes twice':>17} {'fp32 redo':>10} {'max|diff| vs fp32':>18}")
    for size in args.sizes:
        rng = np.random.default_rng(0)
        imgs = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(args.n)]
        ids = [f"p{i}" for i in range(args.n)]
        base_rate, ref = None, None
        for dtype in ("float32", "bfloat16", "float16"):
            g = VaeRoundtrip(VaeRoundtripConfig(model=path, subfolder=None, dtype=dtype, batch_size=args.batch),
                             recipe, device)
            g(imgs[: args.batch], ids[: args.batch])  # warm-up
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = g(imgs, ids)
            if device == "cuda":
                torch.cuda.synchronize()
            rate = args.n / (time.perf_counter() - t0)
            again = g(imgs, ids)
            same = all(np.array_equal(a, b) for a, b in zip(out, again))
            assert all(o.shape == (size, size, 3) for o in out)
            base_rate = base_rate or rate
            ref = ref if ref is not None else out
            diff = max(int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in zip(out, ref))
            print(f"{size:>5} {dtype:>9} {rate:>8.1f} {rate / base_rate:>7.2f}x {str(same):>17} "
                  f"{g.counters.get('nonfinite_fp32_redo', 0):>10} {diff:>18}")
            del g
            if device == "cuda":
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
