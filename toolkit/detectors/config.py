"""Typed settings of each detector kind, validated like a recipe section.

The same dataclasses type a recipe's `detector:` section and the `key=value` overrides of
`toolkit train`, so a typo is one line naming the key (with the closest valid one) before any
training starts. Each dataclass checks its own values in `__post_init__` with the helpers of
`toolkit/validation.py`, like every recipe section (no private helper of recipe.py is used here).
Defaults are the papers' settings; the demo recipe overrides them for a CPU budget.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import OmegaConf

from .. import validation as v
from ..errors import RecipeError
from . import KINDS


@dataclass
class TrainAugConfig:
    """Training augmentation (see augment.py): per-op probabilities, drawn once per pair and epoch."""

    resized_crop: float = 0.2  # random resized crop, area scale in `resized_crop_scale`, back to input size
    resized_crop_scale: List[float] = field(default_factory=lambda: [0.5, 1.0])
    color_jitter: float = 0.2  # brightness/contrast/saturation +-20%
    grayscale: float = 0.05
    cutout: float = 0.1  # one grey rectangle of up to 1/4 of each side
    noise: float = 0.1  # gaussian noise, sigma in 1..5 (0..255 scale)
    blur: float = 0.1  # gaussian blur, sigma in 0.1..2
    jpeg: float = 0.1  # JPEG, quality in 65..100
    rot90: float = 0.5  # a random multiple of 90 degrees
    flip: float = 0.5  # horizontal flip

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.name != "resized_crop_scale":
                v.probability(f.name, getattr(self, f.name))
        v.low_high("resized_crop_scale", self.resized_crop_scale, 0, 1, low_open=True)


@dataclass
class CommonConfig:
    kind: str = "resnet50"
    out: Optional[str] = None  # where the model goes; default outputs/detectors/<dataset>-<kind>
    seed: int = 0
    train_split: str = "train"
    val_split: Optional[str] = None  # null: carve `val_fraction` of the training pairs out (by pair)
    val_fraction: float = 0.1
    test_split: str = "test"
    robustness: bool = True  # run the perturbation sweep on the test split
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    max_train_pairs: Optional[int] = None  # subsample (by pair) for quick runs
    shuffle_labels: bool = False  # control: permute training labels (the detector must fall to chance)
    note: Optional[str] = None  # a line shown with the results in the cards (what this run is, caveats)

    def __post_init__(self):
        v.one_of("kind", self.kind, KINDS)
        v.non_empty("out", self.out, optional=True)
        v.split_name("train_split", self.train_split)
        v.split_name("val_split", self.val_split, optional=True)
        v.in_range("val_fraction", self.val_fraction, 0, 1, high_open=True)
        v.split_name("test_split", self.test_split)
        v.device("device", self.device)
        v.at_least("max_train_pairs", self.max_train_pairs, 1, optional=True)


@dataclass
class ResNetConfig(CommonConfig):
    """The alignment paper's detector (Rajan et al.): ResNet-50, no early downsampling, one logit."""

    model: Optional[str] = "microsoft/resnet-50"  # hub id or path (from_pretrained); null: random init from `arch`
    pretrained: bool = True  # false: the model's architecture with random weights
    arch: Dict[str, Any] = field(default_factory=dict)  # transformers ResNetConfig fields (override/random init)
    stem_downsample: bool = False  # false: stride-1 stem conv and no max-pool (the paper's stem)
    dropout: float = 0.5
    lr: float = 1e-4  # Adam
    min_lr: float = 1e-6  # stop when the lr falls below this
    lr_factor: float = 0.1  # lr *= this after `patience` epochs without a better val balanced accuracy
    patience: int = 10
    max_epochs: int = 100
    pairs_per_batch: int = 16  # every member of a pair is in the same batch
    crop: int = 96  # training crop after augmentation (pixels)
    eval_batch: int = 16
    augment: TrainAugConfig = field(default_factory=TrainAugConfig)

    def __post_init__(self):
        super().__post_init__()
        v.non_empty("model", self.model, optional=True)
        if self.arch:
            from transformers import ResNetConfig as HFResNetConfig

            known = set(HFResNetConfig().to_dict())
            for key in self.arch:
                if key not in known:
                    raise v.ConfigError(f"arch.{key}: not a transformers ResNetConfig field"
                                        + v.did_you_mean(key, sorted(known)))
        v.in_range("dropout", self.dropout, 0, 1, high_open=True)
        v.above("lr", self.lr, 0)
        v.at_least("min_lr", self.min_lr, 0)
        if not 0 < self.lr_factor < 1:
            raise v.ConfigError(f"lr_factor: must be within 0..1 (both excluded), got {self.lr_factor}")
        v.at_least("patience", self.patience, 1)
        v.at_least("max_epochs", self.max_epochs, 1)
        v.at_least("pairs_per_batch", self.pairs_per_batch, 1)
        v.at_least("crop", self.crop, 8)
        v.at_least("eval_batch", self.eval_batch, 1)


@dataclass
class ClipProbeConfig(CommonConfig):
    """UnivFD's linear probe (Ojha et al.) on frozen CLIP ViT-L/14 image features."""

    kind: str = "clip-probe"
    model: str = "openai/clip-vit-large-patch14"
    cache_dir: Optional[str] = None  # feature cache; default $TOOLKIT_CACHE or ~/.cache/toolkit/features
    feature_batch: int = 32
    lr: float = 1e-4  # AdamW
    weight_decay: float = 0.0
    batch_size: int = 256
    max_epochs: int = 500
    patience: int = 50  # epochs without a better val AP before stopping (features are cached: epochs are cheap)

    def __post_init__(self):
        super().__post_init__()
        v.non_empty("model", self.model)
        v.non_empty("cache_dir", self.cache_dir, optional=True)
        v.at_least("feature_batch", self.feature_batch, 1)
        v.above("lr", self.lr, 0)
        v.at_least("weight_decay", self.weight_decay, 0)
        v.at_least("batch_size", self.batch_size, 1)
        v.at_least("max_epochs", self.max_epochs, 1)
        v.at_least("patience", self.patience, 1)


@dataclass
class ClipKnnConfig(CommonConfig):
    """UnivFD's nearest neighbour: cosine similarity to the training feature bank."""

    kind: str = "clip-knn"
    model: str = "openai/clip-vit-large-patch14"
    cache_dir: Optional[str] = None
    feature_batch: int = 32
    k: int = 9  # neighbours voting; k=1 is UnivFD's nearest neighbour (a binary score)
    temperature: float = 0.07  # vote weights softmax(similarity / temperature)

    def __post_init__(self):
        super().__post_init__()
        v.non_empty("model", self.model)
        v.non_empty("cache_dir", self.cache_dir, optional=True)
        v.at_least("feature_batch", self.feature_batch, 1)
        v.at_least("k", self.k, 1)
        v.above("temperature", self.temperature, 0)


@dataclass
class FakeInversionConfig(ResNetConfig):
    """FakeInversion (Cazenavette et al.): the ResNet over image + DDIM noise map + reconstruction
    (9 channels; the build needs `features: [{kind: ddim_inversion}]`)."""

    kind: str = "fakeinversion"
    robustness: bool = False  # the sweep would perturb the image but not its (precomputed) maps


SCHEMAS = {"resnet50": ResNetConfig, "clip-probe": ClipProbeConfig, "clip-knn": ClipKnnConfig,
           "fakeinversion": FakeInversionConfig}
assert set(SCHEMAS) == set(KINDS)


def detector_config(raw: dict, where: str = "detector", path: str = "detector"):
    """A typed config from a mapping with a `kind:`; RecipeError names the bad key."""
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: {path}: expected a mapping with a kind:, got {raw!r}")
    kind = raw.get("kind", "resnet50")
    if kind not in SCHEMAS:
        close = difflib.get_close_matches(str(kind), list(SCHEMAS), n=1)
        tail = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(SCHEMAS)})"
        raise RecipeError(f"{where}: {path}.kind: unknown detector {kind!r}{tail}")
    schema = SCHEMAS[kind]
    v.check_keys(raw, schema, path, where)
    return v.build(schema, {**raw, "kind": kind}, path, where)


def with_overrides(raw: dict, overrides, where: str) -> dict:
    """Apply `key=value` overrides (yaml values, dotted keys; a mapping value replaces the node)."""
    return v.apply_overrides(raw, list(overrides), where)


def to_dict(cfg) -> dict:
    return OmegaConf.to_container(OmegaConf.structured(cfg))
