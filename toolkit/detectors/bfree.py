"""B-Free's detector (Guillaro et al., CVPR 2025): a ViT with four registers, DINOv2-pretrained, fine-tuned
end to end on large crops that are never resized, and evaluated on five crops whose logits are averaged.

Reference: grip-unina/B-Free, which publishes the *inference* code only (code/; the training code was
asked for in the repository's issue #2 and is not public). What the code fixes, and this module follows:

- the network is `timm.create_model(NAME, num_classes=1, pretrained=...)` wrapped in `Wrapper5crops(model,
  504)` (code/networks/__init__.py:16-20), the weights folder is `BFREE_dino2reg4` (code/main_bfree.py:111):
  a DINOv2 ViT with 4 registers and one logit. Here: transformers' `Dinov2WithRegistersModel` by hub id
  or path (default `facebook/dinov2-with-registers-base`, the ViT-B/14 + 4 registers DINOv2 checkpoint;
  the exact timm name, hence the model size, lives in the weights' config.yaml, not in the repository),
  and a linear head on the final-norm CLS token (timm's ViT head with its default `global_pool='token'`),
  initialised as timm initialises a new head: weight truncated normal (std 0.02), bias 0;
- test-time input: the whole image, only `ToTensor` + normalisation (code/main_bfree.py:45, no resize, no
  crop); the normalisation type is in the same config.yaml; ImageNet's mean/std is what the DINOv2
  checkpoints were trained with (timm's `vit_base_patch14_reg4_dinov2.lvd142m` config) and is used here;
- five crops of 504 x 504 (code/networks/wrapper5crops.py:37-58): the patch embedding runs on the whole
  image, the patch grid (36 x 36 for 504 px at patch 14) is cropped at the centre and the four corners,
  the five logits are averaged. A grid smaller than 36 x 36 in either direction is first tiled (the image
  repeated, `replicate_wrap`) and cut to 36 x 36 in both directions, so its five crops coincide. Since the
  patch embedding is a convolution with kernel = stride = patch size, cropping its grid equals cropping
  the image at multiples of the patch size (what `five_crops` does, the pixels past the last whole patch
  dropped as the convolution drops them): the logits are the wrapper's, batched;
- training crops of 504 px without resizing (README.md:54-57).

What the repository does not fix (optimiser, learning rate, schedule, batch, epochs, the parameters of
the `inpainted++` augmentation: blur, JPEG, scaling, cut-out, noise, jitter, README.md:67-68) is the
toolkit's choice, listed in docs/fidelity.md: the training loop, paired augmentation and early stopping
are `resnet50`'s (resnet.py: Adam, whole pairs per batch, the best validation epoch kept, which the
reference's `model_epoch_best.pth` also implies). A training image smaller than the crop is tiled, as
the test-time wrapper tiles, not mirrored.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from toolkit.seeding import derive_seed
from toolkit.detectors import augment
from toolkit.detectors.resnet import ResNetDetector


class BFreeNet(nn.Module):
    """Dinov2WithRegistersModel + one logit on the final-norm CLS token (timm's ViT head, `global_pool='token'`)."""

    def __init__(self, backbone, dropout: float = 0.0):
        super().__init__()
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(backbone.config.hidden_size, 1)

    @property
    def config(self):
        return self.backbone.config

    def forward(self, pixel_values):
        from transformers.modeling_outputs import ImageClassifierOutput

        pooled = self.backbone(pixel_values=pixel_values).pooler_output
        return ImageClassifierOutput(logits=self.head(self.dropout(pooled)))


def load_model(name: str, fn):
    """`fn()` (a from_pretrained call), its failure as one line naming the model."""
    from toolkit.errors import ToolkitError

    try:
        return fn()
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ToolkitError(f"detector.model {name!r}: cannot load ({first}); offline, use a local path or "
                           "model=null with arch=... for random init") from None


def build_network(cfg, hf_config: dict | None = None) -> BFreeNet:
    from transformers import Dinov2WithRegistersConfig, Dinov2WithRegistersModel

    torch.manual_seed(derive_seed(cfg.seed, "detector-init") % (2 ** 31))
    if hf_config is not None:
        backbone = Dinov2WithRegistersModel(Dinov2WithRegistersConfig(**hf_config))
    elif cfg.model is None:
        backbone = Dinov2WithRegistersModel(Dinov2WithRegistersConfig(**dict(cfg.arch)))
    elif cfg.pretrained:
        backbone = load_model(cfg.model, lambda: Dinov2WithRegistersModel.from_pretrained(cfg.model, **dict(cfg.arch)))
    else:
        conf = load_model(cfg.model, lambda: Dinov2WithRegistersConfig.from_pretrained(cfg.model, **dict(cfg.arch)))
        backbone = Dinov2WithRegistersModel(conf)
    patch = int(backbone.config.patch_size)
    if cfg.crop % patch:
        from toolkit.errors import ToolkitError

        raise ToolkitError(f"detector.crop: {cfg.crop} is not a multiple of the model's patch size {patch} "
                           f"(B-Free: 504 = 36 x 14)")
    net = BFreeNet(backbone, cfg.dropout)
    with torch.no_grad():  # timm's init of a new head (init_weights_vit_timm)
        nn.init.trunc_normal_(net.head.weight, std=0.02)
        nn.init.zeros_(net.head.bias)
    return net


def wrap_to(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Tile an image (repeat it from its top-left corner) until it is at least height x width."""
    h, w = arr.shape[:2]
    return np.tile(arr, (max(1, math.ceil(height / h)), max(1, math.ceil(width / w)), 1))


def five_crops(pixels: np.ndarray, crop: int, patch: int) -> list[np.ndarray]:
    """The five crops Wrapper5crops takes on the patch grid (centre, top-left, bottom-left, bottom-right,
    top-right), as pixel crops aligned to the patch grid."""
    g = crop // patch
    if pixels.shape[0] < patch or pixels.shape[1] < patch:  # not one whole patch: tile first
        pixels = wrap_to(pixels, patch, patch)
    gh, gw = pixels.shape[0] // patch, pixels.shape[1] // patch
    x = pixels[: gh * patch, : gw * patch]  # the convolution ignores the pixels past the last whole patch
    if gh < g or gw < g:  # replicate_wrap: tile, then cut to g x g in both directions
        x = wrap_to(x, crop, crop)[:crop, :crop]
        gh = gw = g
    hs, ws = max((gh - g) // 2, 0) * patch, max((gw - g) // 2, 0) * patch
    return [x[hs : hs + crop, ws : ws + crop], x[:crop, :crop], x[-crop:, :crop], x[-crop:, -crop:], x[:crop, -crop:]]


def wrap_crop(arr: np.ndarray, params) -> np.ndarray:
    """The training crop of a drawn plan (`augment.draw`'s "crop"), tiling a smaller image instead of mirroring it."""
    size, _, _, top, left = params
    h, w = arr.shape[:2]
    arr = wrap_to(arr, size, size)
    top, left = min(top, arr.shape[0] - size), min(left, arr.shape[1] - size)
    return arr[top : top + size, left : left + size]


def augment_apply(plan: dict, pixels: np.ndarray) -> np.ndarray:
    ops = dict(augment.OPS, crop=wrap_crop)
    return augment.run_chain(plan, pixels, augment.ORDER, ops)


class BFreeDetector(ResNetDetector):
    """resnet50's training loop and early stopping over the B-Free network; multi-crop inference."""

    kind = "bfree"
    augment_apply = staticmethod(augment_apply)

    def __init__(self, cfg, net: nn.Module | None = None):
        super().__init__(cfg, net or build_network(cfg), stem="vit")

    @property
    def patch(self) -> int:
        return int(self.net.config.patch_size)

    def crops_of(self, pixels: np.ndarray) -> list[np.ndarray]:
        crops = five_crops(pixels, self.cfg.crop, self.patch)
        return crops if self.cfg.test_crops == 5 else crops[:1]

    @torch.no_grad()
    def _full_logits(self, split, desc: str) -> np.ndarray:
        """Per row, the mean logit of its test crops (every image gives crop x crop inputs, so rows batch freely)."""
        from tqdm.auto import tqdm

        self.net.eval()
        n = self.cfg.test_crops
        out = np.zeros(len(split), dtype=np.float64)
        per = max(1, self.cfg.eval_batch // n)
        bar = tqdm(total=len(split), desc=desc, leave=False, dynamic_ncols=True, mininterval=0.5)
        for s in range(0, len(split), per):
            idx = list(range(s, min(len(split), s + per)))
            crops = [c for i in idx for c in self.crops_of(split.pixels(i))]
            x = self.to_tensor(crops).to(self.device)
            with self._autocast():
                logits = self.net(x).logits.squeeze(-1).float().cpu().numpy()
            out[idx] = logits.reshape(len(idx), n).mean(axis=1)  # Wrapper5crops averages the logits
            bar.update(len(idx))
        bar.close()
        return out

    def meta(self) -> dict:
        conf = self.net.config.to_dict()
        keep = ("hidden_size", "num_hidden_layers", "num_attention_heads", "mlp_ratio", "hidden_act", "patch_size",
                "image_size", "num_channels", "num_register_tokens", "layerscale_value", "layer_norm_eps",
                "use_swiglu_ffn", "qkv_bias", "drop_path_rate")
        return {"hf_config": {k: conf[k] for k in keep if k in conf}, "stem": "vit",
                "parameters": int(sum(p.numel() for p in self.net.parameters()))}

    @classmethod
    def restore(cls, cfg, meta: dict, tensors: dict) -> "BFreeDetector":
        net = build_network(cfg, hf_config=meta["hf_config"])
        net.load_state_dict(tensors)
        return cls(cfg, net)
