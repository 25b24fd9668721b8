"""FakeInversion's detector (Cazenavette et al. 2024): a ResNet over 9 channels, the image, the decoded
DDIM-inverted noise map and the reconstruction, concatenated channel-wise.

The maps come from the build's `features: [{kind: ddim_inversion}]` stage (OUT/features/ddim_inversion/,
see toolkit/features/): they are looked up per row by (pair_id, source), so the detector trains and
evaluates exactly like `resnet50` (same training loop, paired augmentation, early stopping, metrics),
only its pixels have 9 channels. The paired augmentation plan is applied identically to each
3-channel group (the same crop, flip, blur... on image and maps, so they stay registered).
A pretrained 3-channel ResNet is inflated to 9 input channels (its stem weights repeated and divided by
3, so at initialisation the network sees the mean of the three images); random init builds 9 channels.

Limitation: the robustness sweep perturbs the image only; the maps are those of the unperturbed image
(re-inverting each perturbed image would need the SD pipeline at evaluation time).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from toolkit.errors import ToolkitError
from toolkit.detectors import augment as aug_mod
from toolkit.detectors.resnet import MEAN, STEM, STD, ResNetDetector, build_network

FEATURE_KIND = "ddim_inversion"
_MAPS: dict = {}  # dataset folder -> {(pair_id, source): (noise_png, recon_png)}


def feature_maps(dataset: str) -> dict:
    from pathlib import Path

    files = sorted((Path(dataset) / "features" / FEATURE_KIND).glob("*.parquet"))
    key = (dataset, tuple((f.name, f.stat().st_mtime_ns) for f in files))  # a rebuilt dataset is re-read
    if key not in _MAPS:
        from toolkit.features.stage import read_features

        if not Path(dataset).is_dir():
            raise ToolkitError(f"{dataset}: fakeinversion needs a local build with features/{FEATURE_KIND}/ "
                               "(the hub copy does not carry them)")
        t = read_features(dataset, FEATURE_KIND).select(["pair_id", "source", "noise_map", "reconstruction"]).to_pydict()
        _MAPS[key] = {(p, s): (n, r) for p, s, n, r in zip(t["pair_id"], t["source"], t["noise_map"], t["reconstruction"])}
    return _MAPS[key]


class NineChannels:
    """A detectors Split seen as 9-channel pixels: image | noise map | reconstruction (HxWx9 uint8)."""

    def __init__(self, split):
        self.split = split
        dataset = getattr(split.images, "dataset", None)
        if dataset is None:
            raise ToolkitError("fakeinversion: the split does not say which dataset it comes from")
        self.maps = feature_maps(dataset)
        missing = sum((p, s) not in self.maps for p, s in zip(split.pair_ids, split.sources))
        if missing:
            raise ToolkitError(f"{dataset}: {missing} of {len(split)} rows of split {split.name} have no "
                               f"{FEATURE_KIND} features; build it with `features: [{{kind: {FEATURE_KIND}}}]`")

    def __len__(self):
        return len(self.split)

    def __getattr__(self, name):  # labels, pair_ids, sources, augments, pairs(), size(), name
        return getattr(self.split, name)

    def pixels(self, i: int) -> np.ndarray:
        from toolkit.features.ddim_inversion import decode_png

        img = self.split.pixels(i)
        noise, recon = self.maps[(self.split.pair_ids[i], self.split.sources[i])]
        parts = [img, decode_png(noise), decode_png(recon)]
        if len({p.shape for p in parts}) != 1:
            raise ToolkitError(f"row {self.split.pair_ids[i]}/{self.split.sources[i]}: image {img.shape} and "
                               f"its {FEATURE_KIND} maps differ in size (augmented after the features?)")
        return np.concatenate(parts, axis=2)


def _apply9(plan: dict, pixels: np.ndarray) -> np.ndarray:
    """The paired augmentation plan on each 3-channel group (identical draws, maps stay registered)."""
    return np.concatenate([aug_mod.apply(plan, np.ascontiguousarray(pixels[..., k : k + 3]))
                           for k in range(0, pixels.shape[2], 3)], axis=2)


def to_tensor9(images: list[np.ndarray]) -> torch.Tensor:
    x = np.stack(images).astype(np.float32) / 255.0
    c = x.shape[-1]
    x = (x - np.tile(MEAN, c // 3)) / np.tile(STD, c // 3)
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def inflate_stem(model: nn.Module, channels: int = 9) -> nn.Module:
    conv = model.resnet.embedder.embedder.convolution
    new = nn.Conv2d(channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None)
    with torch.no_grad():
        new.weight.copy_(conv.weight.repeat(1, channels // 3, 1, 1) / (channels // 3))
    model.resnet.embedder.embedder.convolution = new
    model.resnet.embedder.num_channels = channels
    model.config.num_channels = channels
    return model


def build_network9(cfg, hf_config: dict | None = None, stem: str = STEM) -> nn.Module:
    if hf_config is not None:
        return build_network(cfg, hf_config={**hf_config, "num_channels": 9}, stem=stem)
    if cfg.model is None:
        c = copy.copy(cfg)
        c.arch = {**dict(cfg.arch), "num_channels": 9}
        return build_network(c)
    return inflate_stem(build_network(cfg))


class FakeInversionDetector(ResNetDetector):
    kind = "fakeinversion"

    def __init__(self, cfg, net: nn.Module | None = None, stem: str = STEM):
        super().__init__(cfg, net or build_network9(cfg), stem=stem)

    to_tensor = staticmethod(to_tensor9)
    augment_apply = staticmethod(_apply9)

    def fit(self, train, val, echo=print):
        return super().fit(NineChannels(train), NineChannels(val) if len(val) else val, echo=echo)

    def predict(self, split, desc: str = "predict"):
        return super().predict(split if isinstance(split, NineChannels) else NineChannels(split), desc=desc)

    @classmethod
    def restore(cls, cfg, meta: dict, tensors: dict) -> "FakeInversionDetector":
        stem = meta.get("stem", "conv-s1")  # saved before the max-pool was restored: no pool
        net = build_network9(cfg, hf_config=meta["hf_config"], stem=stem)
        net.load_state_dict(tensors)
        return cls(cfg, net, stem=stem)


__all__ = ["FakeInversionDetector", "NineChannels", "feature_maps"]
