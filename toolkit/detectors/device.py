"""Where detectors run: CUDA with mixed precision (bfloat16 autocast) when present, CPU otherwise."""

from __future__ import annotations

import contextlib

import torch


def pick(pref: str = "auto") -> torch.device:
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        from ..errors import ToolkitError

        raise ToolkitError(f"device {pref!r} requested but CUDA is not available")
    return torch.device(pref)


def autocast(device: torch.device):
    """bfloat16 autocast on CUDA (no loss scaler needed); full precision on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (bf16 autocast)"
    return f"CPU ({torch.get_num_threads()} threads)"
