"""Shared fixtures: a tiny AutoencoderKL built and saved in the test (no hub), a CLI runner."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/bad_files.py etc.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ["TOOLKIT_STRICT_DROP_REASONS"] = "1"  # an uncatalogued drop reason fails the build (toolkit/engine/drops.py)
# A fresh `datasets` cache per session: load_dataset(local_dir) caches the converted arrow files under a
# fingerprint that two byte-identical builds in different temp folders can share, so a previous
# session's rows (with its temp paths in provenance) could be served instead of this session's build.
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="toolkit-tests-hf-datasets-")
atexit.register(shutil.rmtree, os.environ["HF_DATASETS_CACHE"], ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_vae(tmp_path_factory) -> str:
    """A random AutoencoderKL of the SD family shape (4 latent channels, downsampling 8), saved with
    save_pretrained: loading it goes through the same from_pretrained path as a hub id."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        block_out_channels=(8, 16, 16, 16), layers_per_block=1, norm_num_groups=8, sample_size=64)
    path = tmp_path_factory.mktemp("tiny_vae") / "vae"
    vae.save_pretrained(path)
    return str(path)


@pytest.fixture
def cli(capsys):
    """Run `toolkit ...` in-process; returns (exit code, stdout, stderr)."""
    from toolkit.cli import main

    def run(*args: str):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def demo_args(out, *extra: str) -> list[str]:
    """The demo recipe at test size: 64 px, a dozen pairs, small shards, in-process scheduler, and without
    its detector section (tests/test_detector_recipe.py puts a tiny one back)."""
    return ["make", str(ROOT / "recipes" / "demo.yaml"), "--out", str(out), "reals.count=12", "image.size=64",
            "runner.shard_size=4", "runner.scheduler=synchronous", "runner.progress=false", "detector=null", *extra]
