"""Every GPU figure of issue 18 in one run: a few minutes on one GPU, nothing downloaded.

    python benchmarks/gpu_all.py                      # CUDA: the full run (about 5-8 minutes on an H100/H200)
    python benchmarks/gpu_all.py --no-compile         # skip the torch.compile rows (the slowest part)
    python benchmarks/gpu_all.py --smoke              # CPU, tiny models and sizes: checks the script runs
    python benchmarks/gpu_all.py --json out.json      # also every row as JSON

What it prints, each as a ratio measured side by side in this run:

1. the device, its dense bf16 peak (datasheet table below, or `--peak-tflops`) and the bf16 matmul rate
   this device actually reaches (a large GEMM), for scale;
2. VAE round trip (encode, latent, decode) of three autoencoder architectures with random weights
   built from their configs: SD v1.5's AutoencoderKL (4 latent channels, f8), a 16-channel KL VAE
   (SD3/FLUX layout) and the LDM VQ-f4 VQModel. The FLOPs of one image's round trip are counted by
   `torch.utils.flop_counter.FlopCounterMode` (printed), so every rate is also a fraction of the peak.
   Levers, one at a time from the base setting (bf16, channels_last, cudnn.benchmark, SDPA, batch 16):
   dtype fp32/bf16/fp16, channels_last off, cudnn.benchmark off, the classic (non-SDPA) attention
   processor, batch 1..32, torch.compile (`--compile-modes`, default: default and reduce-overhead, which
   is CUDA graphs); the naive per-image diffusers loop in fp32 for comparison;
3. host transfer: a uint8 batch to the GPU from pageable vs pinned memory (non_blocking), against the
   round trip of that batch;
4. a real shard: toolkit's `build_shard` (JPEG sources -> decode+align -> the VaeRoundtrip generator ->
   PNG -> parquet) with GPU busy time / wall time from the profiler's kernel times, and the same work
   with decode and encode on CPU threads overlapping the GPU (a prototype of the overlap lever);
5. text-to-image and inpainting, 25 and 50 steps: toolkit's generators (fp16, batch 8) vs the plain
   diffusers pipeline call with default settings (fp32, one prompt per call) on the same SD v1.5
   architecture with random weights (tiny-vocabulary tokenizer), images/s and whether the toolkit's
   bytes repeat run to run.

Random weights cost what trained ones cost (same shapes, same kernels): the rates hold for the real
models; the pictures are noise. Needs CUDA for real figures; `--smoke` runs every section on the CPU at
toy sizes (tests/test_gpu_script.py), where rates mean nothing.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Dense (no sparsity) bf16 tensor-core peak, TFLOP/s, from the vendors' datasheets; matched by substring
# of torch.cuda.get_device_name(), first match wins.
PEAK_BF16_TFLOPS = [
    ("H200", 989.4), ("GH200", 989.4), ("H100 NVL", 835.0), ("H100 PCIe", 756.5), ("H100", 989.4),
    ("B200", 2250.0), ("A100", 312.0), ("L40S", 362.1), ("L40", 181.0), ("L4", 121.0), ("A10G", 70.0),
    ("A10", 125.0), ("RTX 4090", 165.2), ("RTX 6000 Ada", 364.2),
]

SD15_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(128, 256, 512, 512),
                layers_per_block=2, norm_num_groups=32, sample_size=512)
KL16_VAE = {**SD15_VAE, "latent_channels": 16, "use_quant_conv": False, "use_post_quant_conv": False}
VQ_F4 = dict(in_channels=3, out_channels=3, latent_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
             up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(128, 256, 512), layers_per_block=2,
             num_vq_embeddings=8192, vq_embed_dim=3, norm_num_groups=32, sample_size=256)
TINY = dict(block_out_channels=(8, 8, 16, 16), layers_per_block=1, norm_num_groups=4)


class Run:
    """Settings of this run (full or smoke) and the rows printed so far."""

    def __init__(self, args):
        import torch

        self.args, self.smoke = args, args.smoke
        self.device = "cpu" if args.smoke or not torch.cuda.is_available() else "cuda"
        self.cuda = self.device == "cuda"
        self.tmp = Path(tempfile.mkdtemp(prefix="gpu_all_", dir=args.tmp))  # removed at the end of main
        self.rows: list[dict] = []
        self.sizes = [32] if self.smoke else args.sizes
        self.n = 1 if self.smoke else args.n
        self.repeat = 1 if self.smoke else 3
        self.peak = 0.0

    def sync(self):
        import torch

        if self.cuda:
            torch.cuda.synchronize()

    def timed(self, fn, repeat: int = 2) -> float:
        """Best wall time of `fn` after one warm-up call (none in a smoke run), synchronised."""
        if not self.smoke:
            fn()
            self.sync()
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            self.sync()
            best = min(best, time.perf_counter() - t0)
        return best

    def row(self, section: str, **kw) -> dict:
        r = {"section": section, **kw}
        self.rows.append(r)
        return r


def say(*a):
    print(*a, flush=True)


# --- 1. device and peak ------------------------------------------------------------------------------


def device_peak(run: Run) -> None:
    import torch

    if not run.cuda:
        run.peak = run.args.peak_tflops or 1.0
        say(f"device: cpu (smoke run: figures mean nothing), torch {torch.__version__}, peak set to "
            f"{run.peak} TFLOP/s for the arithmetic")
        return
    name = torch.cuda.get_device_name()
    table = next((t for k, t in PEAK_BF16_TFLOPS if k in name), None)
    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    t = run.timed(lambda: [a @ b for _ in range(10)], 3)
    measured = 10 * 2 * n**3 / t / 1e12
    run.peak = run.args.peak_tflops or table or measured
    src = "--peak-tflops" if run.args.peak_tflops else ("datasheet" if table else "measured GEMM (no datasheet entry)")
    say(f"device: {name}, torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}")
    say(f"dense bf16 peak: {run.peak:.1f} TFLOP/s ({src}); bf16 GEMM {n}^3 reaches {measured:.1f} TFLOP/s "
        f"({measured / run.peak:.0%} of peak)")
    run.row("device", name=name, peak_tflops=run.peak, peak_source=src, gemm_tflops=measured)


# --- 2. VAE round trip ---------------------------------------------------------------------------------


def build_autoencoders(run: Run) -> dict:
    """name -> saved folder of each architecture with random weights (tiny ones in a smoke run)."""
    import torch
    from diffusers import AutoencoderKL, VQModel

    specs = {"sd15_kl4": (AutoencoderKL, SD15_VAE), "kl16": (AutoencoderKL, KL16_VAE), "vq_f4": (VQModel, VQ_F4)}
    out = {}
    for name, (cls, cfg) in specs.items():
        if run.smoke:
            cfg = {**cfg, **TINY, "block_out_channels": TINY["block_out_channels"][:len(cfg["block_out_channels"])]}
            if cls is VQModel:
                cfg["num_vq_embeddings"] = 64
        torch.manual_seed(0)
        path = run.tmp / name
        cls(**cfg).save_pretrained(path)
        out[name] = str(path)
    return out


def roundtrip_fn(model, x, posterior: bool):
    import torch

    def fn():
        with torch.inference_mode():
            if posterior:
                d = model.encode(x).latent_dist
                z = d.mean + d.std * torch.randn_like(d.mean)
            else:
                z = model.encode(x).latents
            return model.decode(z).sample
    return fn


def flops_per_image(model, size: int, device: str, posterior: bool) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 3, size, size, device=device, dtype=next(model.parameters()).dtype)
    with FlopCounterMode(display=False) as fc:
        roundtrip_fn(model, x, posterior)()
    return float(fc.get_total_flops())


def set_attention(model, processor_cls) -> None:
    """The mid-block attention's processor: SDPA (AttnProcessor2_0, diffusers' default) or the classic
    one (explicit softmax(QK^T)V); VQModel has no set_attn_processor, so each Attention is set."""
    from diffusers.models.attention_processor import Attention

    for m in model.modules():
        if isinstance(m, Attention):
            m.set_processor(processor_cls())


@contextmanager
def cudnn_benchmark(on: bool):
    import torch

    old = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = on
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = old


def vae_levers(run: Run, name: str, path: str) -> None:
    import torch
    from diffusers import AutoencoderKL, VQModel
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    cls = VQModel if name.startswith("vq") else AutoencoderKL
    posterior = cls is AutoencoderKL
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    base = {"dtype": "bf16", "channels_last": True, "cudnn_benchmark": True, "attention": "sdpa",
            "batch": 2 if run.smoke else 16, "compile": None}
    variants = [dict(base)]
    variants += [{**base, "dtype": d} for d in ("fp32", "fp16")]
    variants += [{**base, "channels_last": False}, {**base, "cudnn_benchmark": False},
                 {**base, "attention": "classic"}]
    variants += [{**base, "batch": b} for b in ((1,) if run.smoke else (1, 4, 8, 32))]
    if not run.args.no_compile and run.cuda and name == "sd15_kl4":  # compile: CUDA only (minutes on a CPU)
        variants += [{**base, "compile": m} for m in run.args.compile_modes]
    master = cls.from_pretrained(path).eval()  # fp32 on the host; each setting gets a copy of it
    models: dict = {}
    for size in run.sizes:
        flops = None
        rates = {}
        for v in variants:
            key = (v["dtype"], v["channels_last"], v["attention"], v["compile"])
            if key not in models:
                models.clear()  # one model at a time on the device
                m = copy.deepcopy(master).to(device=run.device, dtype=dtypes[v["dtype"]])
                set_attention(m, AttnProcessor2_0 if v["attention"] == "sdpa" else AttnProcessor)
                if v["channels_last"]:
                    m.to(memory_format=torch.channels_last)
                if v["compile"]:
                    m.encoder = torch.compile(m.encoder, mode=v["compile"])
                    m.decoder = torch.compile(m.decoder, mode=v["compile"])
                models[key] = m
            m = models[key]
            if flops is None:
                plain = copy.deepcopy(master).to(run.device)
                flops = flops_per_image(plain, size, run.device, posterior)
                del plain
            x = torch.randn(v["batch"], 3, size, size, device=run.device, dtype=dtypes[v["dtype"]])
            if v["channels_last"]:
                x = x.contiguous(memory_format=torch.channels_last)
            with cudnn_benchmark(v["cudnn_benchmark"]):
                fn = roundtrip_fn(m, x, posterior)
                if v["compile"]:
                    fn()  # compilation, not timed
                t = run.timed(fn, run.repeat)
            ips = v["batch"] / t
            frac = flops * ips / (run.peak * 1e12)
            label = ", ".join(f"{k}={v[k]}" for k in ("dtype", "channels_last", "cudnn_benchmark", "attention",
                                                        "batch", "compile") if v[k] != base[k]) or "base"
            rates[label] = ips
            run.row("vae", model=name, size=size, setting=label, **v, img_s=ips, gflop_per_img=flops / 1e9,
                    peak_fraction=frac)
        naive = naive_vae(run, copy.deepcopy(master).to(run.device), size, posterior)
        best = max(rates, key=rates.get)
        run.row("vae_naive", model=name, size=size, img_s=naive, gflop_per_img=flops / 1e9,
                peak_fraction=flops * naive / (run.peak * 1e12))
        say(f"\n{name} at {size} px: {flops / 1e9:.1f} GFLOP per image round trip (FlopCounterMode)")
        say(f"  {'setting':<44}{'img/s':>9}{'% peak':>8}{'vs naive':>9}")
        for r in [r for r in run.rows if r["section"] == "vae" and r["model"] == name and r["size"] == size]:
            say(f"  {r['setting']:<44}{r['img_s']:>9.1f}{r['peak_fraction']:>8.1%}{r['img_s'] / naive:>8.2f}x")
        say(f"  {'naive per-image diffusers loop, fp32':<44}{naive:>9.1f}"
            f"{flops * naive / (run.peak * 1e12):>8.1%}{1:>8.2f}x")
        frac = flops * rates[best] / (run.peak * 1e12)
        say(f"  best: {best} ({rates[best]:.1f} img/s, {frac:.1%} of peak; issue 18's target: 35%"
            f" -> {'met' if frac >= 0.35 else 'not met'})")
    models.clear()
    if run.cuda:
        torch.cuda.empty_cache()


def naive_vae(run: Run, model, size: int, posterior: bool) -> float:
    """What a script written from the diffusers docs does: fp32, one PIL image at a time through
    VaeImageProcessor, encode, sample, decode, postprocess to PIL."""
    import torch
    from diffusers.image_processor import VaeImageProcessor
    from PIL import Image

    proc = VaeImageProcessor(vae_scale_factor=8)
    rng = np.random.default_rng(0)
    imgs = [Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)) for _ in range(run.n)]

    def loop():
        with torch.no_grad():
            for im in imgs:
                x = proc.preprocess(im).to(run.device)
                z = model.encode(x).latent_dist.sample() if posterior else model.encode(x).latents
                proc.postprocess(model.decode(z).sample, output_type="pil")

    return run.n / run.timed(loop, 1 if run.smoke else 2)  # (1 image in a smoke run)


# --- 3. host transfer ----------------------------------------------------------------------------------


def host_transfer(run: Run) -> None:
    import torch

    if not run.cuda:
        say("\nhost transfer: pinned memory needs CUDA (smoke run: skipped)")
        return
    say("\nhost -> GPU copy of a uint8 batch of 16 images (what the generator ships per batch)")
    for size in run.sizes:
        a = np.random.default_rng(0).integers(0, 255, (16, size, size, 3), dtype=np.uint8)
        pageable = torch.from_numpy(a)
        pinned = torch.empty_like(pageable).pin_memory()
        pinned.copy_(pageable)
        t_page = run.timed(lambda: pageable.to("cuda"), 5)
        t_pin = run.timed(lambda: pinned.to("cuda", non_blocking=True), 5)
        gb = a.nbytes / 1e9
        run.row("transfer", size=size, pageable_ms=t_page * 1e3, pinned_ms=t_pin * 1e3)
        say(f"  {size} px: pageable {t_page * 1e3:.2f} ms ({gb / t_page:.1f} GB/s), pinned non_blocking "
            f"{t_pin * 1e3:.2f} ms ({gb / t_pin:.1f} GB/s)")


# --- 4. a real shard -----------------------------------------------------------------------------------


@contextmanager
def gpu_busy(run: Run, out: dict):
    """Wall time of the block and, on CUDA, the sum of its kernels' device times (profiler)."""
    if not run.cuda:
        t0 = time.perf_counter()
        yield
        out.update(wall=time.perf_counter() - t0, busy=None)
        return
    import torch
    from torch.profiler import ProfilerActivity, profile

    run.sync()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t0 = time.perf_counter()
        yield
        run.sync()
        wall = time.perf_counter() - t0
    # every kernel and copy on the device, by its own start and end on the GPU's clock
    busy = sum(e.time_range.elapsed_us() for e in prof.events()
               if e.device_type == torch.autograd.DeviceType.CUDA) / 1e6
    out.update(wall=wall, busy=busy)


def real_shard(run: Run, vae_path: str) -> None:
    from common import write_sources

    from toolkit.config.recipe import load_recipe
    from toolkit.engine.pipeline import build_shard, get_generators
    from toolkit.engine.runner import plan_build
    from toolkit.transforms.align import decode_and_align
    from toolkit.transforms.codecs import encode

    size = run.sizes[-1]
    n = 2 if run.smoke else 64
    batch = 2 if run.smoke else 16
    folder = run.tmp / f"src{size}"
    write_sources(folder, n, size)
    dtype = "float32" if run.smoke else "bfloat16"
    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [
        f"reals={{kind: folder, path: '{folder}', count: {n}}}", f"image.size={size}",
        f"fakes=[{{kind: vae_roundtrip, model: '{vae_path}', subfolder: null, dtype: {dtype}, batch_size: {batch}}}]",
        "augment.ops.webp.p=0", "augment.ops.jpeg.p=0", f"runner.shard_size={n}", "split.train=1.0",
        "split.test=0.0", "detector=null", "runner.progress=false", f"runner.device={run.device}"])
    task = plan_build(recipe, str(run.tmp / "out")).shards[0]
    if not run.smoke:
        build_shard(task, report=lambda s, k: None)  # warm: model load, kernels
    shard: dict = {}
    with gpu_busy(run, shard):
        build_shard(task, report=lambda s, k: None)

    # The same work with the CPU parts on threads around the GPU (prototype of the overlap lever).
    gen = get_generators(recipe)[0]
    blobs = [p.read_bytes() for p in sorted(folder.iterdir())[:n]]
    ids = [f"{i:016x}" for i in range(n)]
    level = recipe.store.png_compress_level

    def overlapped():
        with ThreadPoolExecutor(max(2, (os.cpu_count() or 2) - 1)) as pool:
            dec = [pool.submit(decode_and_align, b, size=size) for b in blobs]
            enc = []
            for s in range(0, n, batch):
                arrs = [f.result()[0] for f in dec[s:s + batch]]
                fakes = gen(arrs, ids[s:s + batch])
                enc += [pool.submit(encode, a, "png", compress_level=level) for a in arrs + fakes]
            return [f.result() for f in enc]

    if not run.smoke:
        overlapped()
    lap: dict = {}
    with gpu_busy(run, lap):
        overlapped()
    for label, m in (("build_shard (decode, model, encode in turn)", shard),
                     ("decode/encode on CPU threads around the GPU", lap)):
        busy = "n/a (cpu)" if m["busy"] is None else f"{m['busy'] / m['wall']:.0%}"
        run.row("shard", setting=label, size=size, n=n, pairs_s=n / m["wall"], gpu_busy_s=m["busy"], wall_s=m["wall"])
        say(f"  {label:<46} {n / m['wall']:>7.1f} pairs/s, GPU busy/wall {busy}")


# --- 5. text-to-image and inpainting --------------------------------------------------------------------


def build_sd15(run: Run, inpaint: bool) -> str:
    """SD v1.5's component shapes (UNet 860M, CLIP ViT-L/14 text encoder, VAE f8), random weights; the
    tokenizer is the tests' tiny-vocabulary CLIP BPE (the embedding table keeps SD's 49408 rows)."""
    import torch
    from diffusers import (AutoencoderKL, PNDMScheduler, StableDiffusionInpaintPipeline, StableDiffusionPipeline,
                           UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel

    from tiny_sd import build_tiny_sd, build_tiny_sd_inpaint, tiny_clip_tokenizer

    path = run.tmp / ("sd15_inpaint" if inpaint else "sd15")
    if run.smoke:
        return (build_tiny_sd_inpaint if inpaint else build_tiny_sd)(path)
    torch.manual_seed(0)
    with torch.device(run.device):  # random init on the GPU: seconds instead of a minute on the CPU
        unet = UNet2DConditionModel(sample_size=64, in_channels=9 if inpaint else 4, cross_attention_dim=768,
                                    attention_head_dim=8)
        vae = AutoencoderKL(**SD15_VAE)
        tok = tiny_clip_tokenizer(run.tmp / "tokenizer_src")
        text = CLIPTextModel(CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_attention_heads=12,
                                            num_hidden_layers=12, max_position_embeddings=77, vocab_size=49408,
                                            hidden_act="quick_gelu", projection_dim=768, bos_token_id=tok.bos_token_id,
                                            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id))
    sched = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                          set_alpha_to_one=False, steps_offset=1)
    cls = StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline
    cls(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=sched, safety_checker=None,
        feature_extractor=None, requires_safety_checker=False).save_pretrained(path)
    return str(path)


def diffusion(run: Run) -> None:
    import torch
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline
    from PIL import Image

    from toolkit.config.recipe import load_recipe
    from toolkit.generators.inpaint import Inpaint, InpaintConfig
    from toolkit.generators.text2image import Text2Image, Text2ImageConfig

    gen_px = 64 if run.smoke else 512
    n = 1 if run.smoke else 8
    batch = 1 if run.smoke else 8
    dtype = "float32" if run.smoke else "float16"
    steps_list = [1] if run.smoke else [25, 50]
    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [f"image.size={gen_px}"])
    rng = np.random.default_rng(0)
    reals = [rng.integers(0, 255, (gen_px, gen_px, 3), dtype=np.uint8) for _ in range(n)]
    ids = [f"p{i}" for i in range(n)]
    caps = [f"a photograph of a red house number {i} by the sea at sunset" for i in range(n)]
    say(f"\n{'pipeline':<12}{'steps':>6}{'toolkit img/s':>15}{'plain img/s':>13}{'ratio':>8}  same bytes twice")
    for kind in ("text2image", "inpaint"):
        path = build_sd15(run, inpaint=kind == "inpaint")
        for steps in steps_list:
            common_kw = dict(model=path, dtype=dtype, batch_size=batch, steps=steps, height=gen_px, width=gen_px)
            if kind == "text2image":
                g = Text2Image(Text2ImageConfig(**common_kw), recipe, run.device)
            else:
                g = Inpaint(InpaintConfig(**common_kw, mask="rectangle"), recipe, run.device)
            out = []

            def ours():
                out[:] = []
                for s in range(0, n, batch):
                    out.extend(g(reals[s:s + batch], ids[s:s + batch], captions=caps[s:s + batch]))

            t_ours = run.timed(ours, 1)
            first = [np.asarray(getattr(o, "pixels", o)) for o in out]
            ours()
            same = all(np.array_equal(a, np.asarray(getattr(b, "pixels", b))) for a, b in zip(first, out))
            g = None  # free the model before the plain pipeline loads
            cls = StableDiffusionInpaintPipeline if kind == "inpaint" else StableDiffusionPipeline
            pipe = cls.from_pretrained(path).to(run.device)  # defaults: fp32, one prompt per call
            pipe.set_progress_bar_config(disable=True)
            mask = Image.fromarray(np.pad(np.full((gen_px // 2, gen_px // 2), 255, np.uint8), gen_px // 4))

            def plain():
                for i in range(n):
                    kw = {"image": Image.fromarray(reals[i]), "mask_image": mask} if kind == "inpaint" else {}
                    pipe(caps[i], num_inference_steps=steps, height=gen_px, width=gen_px, **kw)

            t_plain = run.timed(plain, 1)
            pipe = None
            if run.cuda:
                torch.cuda.empty_cache()
            run.row("diffusion", pipeline=kind, steps=steps, toolkit_img_s=n / t_ours, plain_img_s=n / t_plain,
                    ratio=t_plain / t_ours, same_bytes=same, dtype=dtype, batch=batch)
            say(f"{kind:<12}{steps:>6}{n / t_ours:>15.2f}{n / t_plain:>13.2f}{t_plain / t_ours:>7.2f}x  {same}"
                f"  (target 1.5x: {'met' if t_plain / t_ours >= 1.5 else 'not met'})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny models and sizes (tests)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--n", type=int, default=16, help="images of the naive loops")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    ap.add_argument("--compile-modes", nargs="+", default=["default", "reduce-overhead"],
                    help="torch.compile modes to time (reduce-overhead = CUDA graphs; max-autotune-no-cudagraphs "
                         "searches kernels for minutes)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["vae", "transfer", "shard", "diffusion"])
    ap.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, if not in the table")
    ap.add_argument("--json", help="also write every row to this file")
    ap.add_argument("--tmp", help="folder for the models and sources it builds (default: the system's)")
    args = ap.parse_args(argv)
    import torch

    if not args.smoke and not torch.cuda.is_available():
        say("no CUDA device: nothing to measure (use --smoke to check that the script runs)")
        return 2
    run = Run(args)
    threads = torch.get_num_threads()
    if run.smoke:  # toy models: one thread does it, and does not spin against a busy neighbour core
        torch.set_num_threads(1)
    try:
        measure_all(run, args)
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(run.tmp, ignore_errors=True)
    return 0


def measure_all(run: Run, args) -> None:
    import torch

    if run.cuda:
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 rows are fp32
    device_peak(run)
    aes = build_autoencoders(run)
    if "vae" not in args.skip:
        for name, path in aes.items():
            vae_levers(run, name, path)
    if "transfer" not in args.skip:
        host_transfer(run)
    if "shard" not in args.skip:
        say(f"\na real shard, SD v1.5 VAE architecture, {run.sizes[-1]} px, JPEG sources -> PNG")
        real_shard(run, aes["sd15_kl4"])
    if "diffusion" not in args.skip:
        diffusion(run)
    if args.json:
        Path(args.json).write_text(json.dumps(run.rows, indent=1, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
