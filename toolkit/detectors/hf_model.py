"""The ResNet detectors in a form transformers loads: `AutoModel.from_pretrained(folder or hub id)`.

Why: a detector trained here should travel like any Hub model: `config.json` + `model.safetensors` +
a model card, loadable with transformers, with no toolkit-specific file format in between. The classes
are plain (no `trust_remote_code`): importing this module registers them with `AutoConfig` and
`AutoModel` under `model_type: toolkit-detector`.

    import toolkit.detectors.hf_model                     # registers the classes
    from transformers import AutoModel
    model = AutoModel.from_pretrained("org/detector")     # or a folder made by `toolkit train`
    p_fake = model.predict_proba(pixel_values)            # pixel_values: ImageNet-normalised, full image

`ToolkitDetectorModel` holds the same modules under the same names as the network `toolkit train`
builds (transformers' `ResNetModel` as `resnet`, the head `classifier` = flatten, dropout, one logit),
so its state dict *is* the trained network's: `toolkit/detectors/storage.py` writes one
`model.safetensors` that both this class and `toolkit eval` read. The config carries everything the
architecture needs (the transformers `ResNetConfig` fields, the stem: stride-1 conv with or without the
stride-1 max-pool, or the ImageNet stem; the dropout), the preprocessing (`image_mean`, `image_std`: the
full image, no resize, RGB scaled to 0..1 then normalised) and the validation threshold.

Kinds: `resnet50` (RGB input) and `fakeinversion` (9 channels: RGB, DDIM noise map and reconstruction,
which `inputs` names; only the toolkit's feature stage computes the maps). The CLIP detectors keep their
head-only format (their backbone is named by id in detector.json; docs/detectors.md).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel, ResNetConfig, ResNetModel
from transformers.modeling_outputs import ImageClassifierOutputWithNoAttention

MODEL_TYPE = "toolkit-detector"
KINDS = ("resnet50", "fakeinversion")
INPUTS = {"resnet50": "rgb", "fakeinversion": "rgb+ddim_noise+ddim_reconstruction"}
STEMS = ("conv-s1+maxpool-s1", "conv-s1", "imagenet")


class ToolkitDetectorConfig(PretrainedConfig):
    """Architecture, preprocessing and threshold of a toolkit ResNet detector."""

    model_type = MODEL_TYPE

    def __init__(self, kind: str = "resnet50", backbone: dict | None = None, stem: str = "conv-s1+maxpool-s1",
                 dropout: float = 0.5, threshold: float = 0.5, image_mean=(0.485, 0.456, 0.406),
                 image_std=(0.229, 0.224, 0.225), inputs: str | None = None, **kwargs):
        self.kind = kind
        self.backbone = dict(backbone or {})
        self.stem = stem
        self.dropout = float(dropout)
        self.threshold = float(threshold)
        self.image_mean = [float(x) for x in image_mean]
        self.image_std = [float(x) for x in image_std]
        self.inputs = inputs or INPUTS.get(kind, "rgb")
        kwargs.setdefault("num_labels", 1)
        kwargs.setdefault("id2label", {0: "fake"})
        kwargs.setdefault("label2id", {"fake": 0})
        super().__init__(**kwargs)


class ToolkitDetectorModel(PreTrainedModel):
    """ResNet backbone + dropout + one logit; `logits` are P(fake) before the sigmoid."""

    config_class = ToolkitDetectorConfig
    main_input_name = "pixel_values"
    base_model_prefix = "resnet"

    def __init__(self, config: ToolkitDetectorConfig):
        super().__init__(config)
        self.resnet = ResNetModel(ResNetConfig(**{**config.backbone, "num_labels": 1}))
        set_stem(self.resnet, config.stem)
        width = self.resnet.config.hidden_sizes[-1]
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(config.dropout), nn.Linear(width, 1))
        self.post_init()

    def _init_weights(self, module):  # weights always come from a trained detector's state dict
        return

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None, **kwargs):
        pooled = self.resnet(pixel_values).pooler_output
        logits = self.classifier(pooled)
        loss = None
        if labels is not None:
            loss = nn.functional.binary_cross_entropy_with_logits(logits.squeeze(-1), labels.float())
        return ImageClassifierOutputWithNoAttention(loss=loss, logits=logits)

    @torch.no_grad()
    def predict_proba(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """P(fake) per image (eval mode: no dropout)."""
        self.eval()
        return torch.sigmoid(self(pixel_values).logits.squeeze(-1).float())

    def preprocess(self, rgb: np.ndarray) -> torch.Tensor:
        """One HxWx3 uint8 RGB image -> a 1x3xHxW tensor as the detector was evaluated (full image)."""
        x = rgb.astype(np.float32) / 255.0
        x = (x - np.asarray(self.config.image_mean, np.float32)) / np.asarray(self.config.image_std, np.float32)
        return torch.from_numpy(x).permute(2, 0, 1).unsqueeze(0).contiguous()


def set_stem(resnet: ResNetModel, stem: str) -> None:
    """The toolkit's stems: stride-1 7x7 conv (+ stride-1 3x3 max-pool: the alignment paper's), or ImageNet's."""
    if stem not in STEMS:
        raise ValueError(f"stem: unknown {stem!r} (known: {', '.join(STEMS)})")
    if stem == "imagenet":
        return
    from toolkit.detectors.resnet import StemMaxPool

    resnet.embedder.embedder.convolution.stride = (1, 1)
    resnet.embedder.pooler = StemMaxPool() if stem == "conv-s1+maxpool-s1" else nn.Identity()


def from_detector(det) -> ToolkitDetectorModel:
    """The transformers model of a trained ResNet detector (ResNetDetector or FakeInversionDetector)."""
    cfg = det.cfg
    meta = det.meta()
    stem = "imagenet" if cfg.stem_downsample else meta["stem"]
    conf = ToolkitDetectorConfig(kind=cfg.kind, backbone=meta["hf_config"], stem=stem, dropout=cfg.dropout,
                                 threshold=float(det.threshold))
    model = ToolkitDetectorModel(conf)
    model.load_state_dict(det.tensors(), strict=True)
    return model.eval()


AutoConfig.register(MODEL_TYPE, ToolkitDetectorConfig, exist_ok=True)
AutoModel.register(ToolkitDetectorConfig, ToolkitDetectorModel, exist_ok=True)

__all__ = ["ToolkitDetectorConfig", "ToolkitDetectorModel", "from_detector", "MODEL_TYPE", "KINDS"]
