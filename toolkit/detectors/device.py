"""Where detectors run: CUDA when present, CPU otherwise; float32 by default (as the references),
bfloat16 autocast on CUDA with `precision: bfloat16` (faster, no loss scaler needed)."""

from __future__ import annotations

import contextlib

import torch


def pick(pref: str = "auto") -> torch.device:
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        from toolkit.errors import ToolkitError

        raise ToolkitError(f"device {pref!r} requested but CUDA is not available")
    return torch.device(pref)


def uses_bf16(device: torch.device, precision: str = "float32") -> bool:
    return device.type == "cuda" and precision == "bfloat16"


def autocast(device: torch.device, precision: str = "float32"):
    """bfloat16 autocast on CUDA when asked for; full precision otherwise (and always on CPU)."""
    if uses_bf16(device, precision):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def describe(device: torch.device, precision: str = "float32") -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} ({'bf16 autocast' if uses_bf16(device, precision) else 'float32'})"
    return f"CPU ({torch.get_num_threads()} threads)"
