"""Typed settings of each detector kind, validated like a recipe section.

The same dataclasses type a recipe's `detector:` section and the `key=value` overrides of
`toolkit train`, so a typo is one line naming the key (with the closest valid one) before any
training starts. Each dataclass checks its own values in `__post_init__` with the helpers of
`toolkit/config/validation.py`, like every recipe section (no private helper of recipe.py is used here).

Defaults are the reference implementations' settings (preset `paper`): the alignment paper's
training code (AniSundar18/AlignedForensics, training_code/) for `resnet50`, UnivFD's
(WisconsinAIVision/UniversalFakeDetect) for `clip-probe` / `clip-knn`. docs/fidelity.md lists every
setting with the file and line it comes from, and each deliberate deviation. `preset: light` keeps
the toolkit's earlier, lighter settings (augmentation, batch, validation on full images, cached CLIP
features) for CPU budgets; `preset: demo` is the offline demo's whole detector (a small random-init
ResNet on top of `light`), so `toolkit train DATA --preset demo` needs no override. Any key given
explicitly wins over the preset.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import OmegaConf

from toolkit.config import validation as v
from toolkit.errors import RecipeError
from toolkit.config.registry import DETECTORS

PRECISIONS = ("float32", "bfloat16")
JPEG_METHODS = ("cv2", "pil")


def _jpeg(name: str, quality, methods) -> None:
    v.low_high(f"{name}_quality", quality, 1, 100)
    if not methods:
        raise v.ConfigError(f"{name}_methods: needs at least one of {', '.join(JPEG_METHODS)}")
    for i, m in enumerate(methods):
        v.one_of(f"{name}_methods[{i}]", m, JPEG_METHODS)


@dataclass
class TrainAugConfig:
    """The alignment paper's training augmentation (augment.py), applied in this order: random resized
    crop, colour jitter, grayscale, cutout, Gaussian noise, blur, JPEG, rot90, h-flip, then the random
    `crop` (with symmetric padding). Drawn once per pair and epoch, identical for every member."""

    resized_crop: float = 0.2  # p of RandomResizedCrop
    resized_crop_scale: List[float] = field(default_factory=lambda: [0.08, 1.0])  # area fraction
    resized_crop_ratio: List[float] = field(default_factory=lambda: [0.75, 1 / 0.75])  # aspect w/h
    resized_crop_size: Optional[int] = 256  # output side (bilinear); null: back to the input size
    color_jitter: float = 0.8  # p of ColorJitter
    color_jitter_strength: List[float] = field(default_factory=lambda: [0.4, 0.4, 0.4, 0.1])  # b, c, s, hue
    grayscale: float = 0.2
    cutout: float = 0.2  # one hole of up to cutout_size x cutout_size, filled with 128
    cutout_size: int = 48
    noise: float = 0.2  # Gaussian noise, variance uniform in noise_var (0..255 scale), per channel
    noise_var: List[float] = field(default_factory=lambda: [10.0, 50.0])
    blur: float = 0.5  # Gaussian blur, sigma uniform in blur_sigma
    blur_sigma: List[float] = field(default_factory=lambda: [0.0, 3.0])
    jpeg: float = 0.5  # JPEG, quality uniform over the integers of jpeg_quality, codec drawn from jpeg_methods
    jpeg_quality: List[int] = field(default_factory=lambda: [30, 100])
    jpeg_methods: List[str] = field(default_factory=lambda: ["cv2", "pil"])
    rot90: float = 1.0  # p of rotating by an angle drawn from {0, 90, 180, 270}
    flip: float = 0.5  # horizontal flip

    def __post_init__(self):
        for name in ("resized_crop", "color_jitter", "grayscale", "cutout", "noise", "blur", "jpeg", "rot90", "flip"):
            v.probability(name, getattr(self, name))
        v.low_high("resized_crop_scale", self.resized_crop_scale, 0, 1, low_open=True)
        v.low_high("resized_crop_ratio", self.resized_crop_ratio, 0, low_open=True)
        v.at_least("resized_crop_size", self.resized_crop_size, 8, optional=True)
        s = list(self.color_jitter_strength) if isinstance(self.color_jitter_strength, (list, tuple)) else None
        if s is None or len(s) != 4 or any(x < 0 for x in s) or s[3] > 0.5:
            raise v.ConfigError("color_jitter_strength: expected [brightness, contrast, saturation, hue], each >= 0 "
                                f"and hue <= 0.5, got {self.color_jitter_strength!r}")
        v.at_least("cutout_size", self.cutout_size, 1)
        v.low_high("noise_var", self.noise_var, 0)
        v.low_high("blur_sigma", self.blur_sigma, 0)
        _jpeg("jpeg", self.jpeg_quality, self.jpeg_methods)


@dataclass
class ProbeAugConfig:
    """UnivFD's training transform (clip_probe.py, `train_augment: true`): short side resized to `resize`
    (bilinear), blur, JPEG, random `crop`, h-flip. Validation uses the same resize, blur at the middle
    sigma and JPEG (PIL) at the middle quality with the same probabilities, and a centre crop."""

    resize: Optional[int] = 256  # short side (bilinear); null: no resize (the image must be >= crop)
    blur: float = 0.5
    blur_sigma: List[float] = field(default_factory=lambda: [0.0, 3.0])
    jpeg: float = 0.5
    jpeg_quality: List[int] = field(default_factory=lambda: [30, 100])
    jpeg_methods: List[str] = field(default_factory=lambda: ["cv2", "pil"])
    crop: Optional[int] = None  # null: the CLIP model's input size (224 for ViT-L/14)
    flip: float = 0.5
    paired: bool = False  # true: one draw per pair (the toolkit's matched augmentation); UnivFD draws per image

    def __post_init__(self):
        v.at_least("resize", self.resize, 8, optional=True)
        for name in ("blur", "jpeg", "flip"):
            v.probability(name, getattr(self, name))
        v.low_high("blur_sigma", self.blur_sigma, 0)
        _jpeg("jpeg", self.jpeg_quality, self.jpeg_methods)
        v.at_least("crop", self.crop, 8, optional=True)


# The toolkit's earlier defaults, kept by name: lighter augmentation (lower probabilities, milder
# strengths, the resized crop back to the input size), 16 pairs per batch, validation on full images,
# at most 100 epochs; for the probe, training on cached features of the stored images.
_LIGHT_RESNET = {
    "pairs_per_batch": 16, "val_augment": False, "max_epochs": 100,
    "augment": {"resized_crop": 0.2, "resized_crop_scale": [0.5, 1.0], "resized_crop_ratio": [1.0, 1.0],
                "resized_crop_size": None, "color_jitter": 0.2, "color_jitter_strength": [0.2, 0.2, 0.2, 0.0],
                "grayscale": 0.05, "cutout": 0.1, "cutout_size": 48, "noise": 0.1, "noise_var": [1.0, 25.0],
                "blur": 0.1, "blur_sigma": [0.1, 2.0], "jpeg": 0.1, "jpeg_quality": [65, 100],
                "jpeg_methods": ["pil"], "rot90": 0.5, "flip": 0.5},
}
# The offline demo's detector (recipes/demo.yaml): no ImageNet weights offline, so a small random-init
# ResNet (3 basic stages, widths 16/32/64) with the paper's stem, on top of `light`, 64 px crops, lr 1e-3
# (random init needs a larger step than fine-tuning), at most 8 epochs, patience 2.
_DEMO_RESNET = {
    **_LIGHT_RESNET, "model": None,
    "arch": {"embedding_size": 16, "hidden_sizes": [16, 32, 64], "depths": [1, 1, 1], "layer_type": "basic"},
    "crop": 64, "lr": 1e-3, "max_epochs": 8, "patience": 2, "pairs_per_batch": 16,
}

def _check_finetuning(cfg, arch_class: str) -> None:
    """The checks shared by the detectors that fine-tune a transformers backbone with early stopping
    (resnet50, fakeinversion, bfree): the model id, `arch` keys, dropout and the training schedule."""
    v.non_empty("model", cfg.model, optional=True)
    if cfg.arch:
        import transformers

        known = set(getattr(transformers, arch_class)().to_dict())
        for key in cfg.arch:
            if key not in known:
                raise v.ConfigError(f"arch.{key}: not a transformers {arch_class} field"
                                    + v.did_you_mean(key, sorted(known)))
    v.in_range("dropout", cfg.dropout, 0, 1, high_open=True)
    v.above("lr", cfg.lr, 0)
    v.at_least("min_lr", cfg.min_lr, 0)
    if not 0 < cfg.lr_factor < 1:
        raise v.ConfigError(f"lr_factor: must be within 0..1 (both excluded), got {cfg.lr_factor}")
    v.at_least("patience", cfg.patience, 1)
    v.at_least("min_delta", cfg.min_delta, 0)
    v.at_least("max_epochs", cfg.max_epochs, 1)
    v.at_least("pairs_per_batch", cfg.pairs_per_batch, 1)
    v.at_least("eval_batch", cfg.eval_batch, 1)


@dataclass
class CommonConfig:
    kind: str = "resnet50"
    preset: str = "paper"  # paper: the reference settings; light: lighter CPU settings; demo: the offline demo's
    out: Optional[str] = None  # where the model goes; default outputs/detectors/<dataset>-<kind>
    seed: int = 0
    train_split: str = "train"
    val_dataset: Optional[str] = None  # a separate validation dataset (folder or hub id), as in the papers
    val_split: Optional[str] = None  # split of val_dataset (or of DATASET); null without val_dataset: carve out
    val_fraction: float = 0.1  # without val_dataset / val_split: share of training pairs held out (by pair)
    test_split: str = "test"
    robustness: bool = True  # run the perturbation sweep on the test split
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "float32"  # float32 (the references) | bfloat16 (autocast on CUDA; CPU always float32)
    max_train_pairs: Optional[int] = None  # subsample (by pair) for quick runs
    shuffle_labels: bool = False  # control: permute training and validation labels (the detector must fall to chance)
    note: Optional[str] = None  # a line shown with the results in the cards (what this run is, caveats)

    def __post_init__(self):
        v.one_of("kind", self.kind, DETECTORS.names())
        v.one_of("preset", self.preset, PRESET_NAMES)
        v.non_empty("out", self.out, optional=True)
        v.split_name("train_split", self.train_split)
        v.non_empty("val_dataset", self.val_dataset, optional=True)
        v.split_name("val_split", self.val_split, optional=True)
        v.in_range("val_fraction", self.val_fraction, 0, 1, high_open=True)
        v.split_name("test_split", self.test_split)
        v.device("device", self.device)
        v.one_of("precision", self.precision, PRECISIONS)
        v.at_least("max_train_pairs", self.max_train_pairs, 1, optional=True)


@dataclass
class ResNetConfig(CommonConfig):
    """The alignment paper's detector (Rajan et al., `res50nodown`): ResNet-50 whose stem keeps full
    resolution (stride-1 7x7 conv, 3x3 max-pool at stride 1), dropout 0.5 and one logit."""

    model: Optional[str] = "microsoft/resnet-50"  # hub id or path (from_pretrained); null: random init from `arch`
    pretrained: bool = True  # false: the model's architecture with random weights
    arch: Dict[str, Any] = field(default_factory=dict)  # transformers ResNetConfig fields (override/random init)
    stem_downsample: bool = False  # false: stride-1 conv + stride-1 max-pool; true: the ImageNet stem (stride 2 + 2)
    dropout: float = 0.5
    lr: float = 1e-4  # Adam, betas (0.9, 0.999), no weight decay
    min_lr: float = 1e-6  # stop when the lr falls below this
    lr_factor: float = 0.1  # lr *= this after `patience` epochs without a better validation score
    patience: int = 10
    min_delta: float = 0.001  # an epoch is better when it beats the best score (initially the untrained model's) by more
    max_epochs: int = 1000
    pairs_per_batch: int = 32  # every member of a pair is in the same batch
    sync_pairs: bool = True  # false: images batched and augmented independently of their pair (paper's "Ours")
    crop: int = 96  # training (and augmented validation) crop after augmentation (pixels)
    val_augment: bool = True  # true: validate on the training augmentation + `crop`; false: on full images
    eval_batch: int = 16
    augment: TrainAugConfig = field(default_factory=TrainAugConfig)

    def __post_init__(self):
        super().__post_init__()
        _check_finetuning(self, "ResNetConfig")
        v.at_least("crop", self.crop, 8)


@dataclass
class ClipProbeConfig(CommonConfig):
    """UnivFD's linear probe (Ojha et al.) on frozen CLIP ViT-L/14 image features (the projected embedding)."""

    kind: str = "clip-probe"
    model: str = "openai/clip-vit-large-patch14"
    cache_dir: Optional[str] = None  # feature cache; default $TOOLKIT_CACHE or ~/.cache/toolkit/features
    feature_batch: int = 32
    train_augment: bool = True  # true: UnivFD's augmentation, features recomputed every epoch; false: cached features
    augment: ProbeAugConfig = field(default_factory=ProbeAugConfig)
    lr: float = 1e-4  # AdamW, betas (0.9, 0.999)
    weight_decay: float = 0.0
    batch_size: int = 256
    max_epochs: int = 100
    patience: int = 5  # epochs without a better validation accuracy before the lr is divided by 10
    min_lr: float = 1e-6  # stop when the lr falls below this
    min_delta: float = 0.001  # a better accuracy must reach best + this ...
    min_delta_after_drop: float = 0.002  # ... and this after each lr drop (the best is reset then)

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
        v.at_least("min_lr", self.min_lr, 0)
        v.at_least("min_delta", self.min_delta, 0)
        v.at_least("min_delta_after_drop", self.min_delta_after_drop, 0)


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


@dataclass
class BFreeConfig(CommonConfig):
    """B-Free's detector (Guillaro et al.; grip-unina/B-Free): DINOv2 ViT with 4 registers, one logit,
    crops of `crop` px never resized, `test_crops` (5: centre + corners) averaged at test (bfree.py)."""

    kind: str = "bfree"
    model: Optional[str] = "facebook/dinov2-with-registers-base"  # hub id or path; null: random init from `arch`
    pretrained: bool = True  # false: the model's architecture with random weights
    arch: Dict[str, Any] = field(default_factory=dict)  # transformers Dinov2WithRegistersConfig fields
    crop: int = 504  # training crop and test crop side, a multiple of the patch size (B-Free: 504)
    test_crops: int = 5  # 5: centre + 4 corners, logits averaged (B-Free's Wrapper5crops); 1: centre only
    dropout: float = 0.0  # before the head (timm's ViT default drop rate)
    lr: float = 1e-5  # Adam, betas (0.9, 0.999); not in B-Free's published code: the toolkit's choice
    min_lr: float = 1e-7
    lr_factor: float = 0.1
    patience: int = 5
    min_delta: float = 0.001
    max_epochs: int = 100
    pairs_per_batch: int = 8
    sync_pairs: bool = True  # false: images batched and augmented independently of their pair
    val_augment: bool = True
    eval_batch: int = 10  # crops per forward pass at test (rows x test_crops)
    augment: TrainAugConfig = field(default_factory=lambda: TrainAugConfig(grayscale=0.0, rot90=0.0,
                                                                            resized_crop_size=None))

    def __post_init__(self):
        super().__post_init__()
        _check_finetuning(self, "Dinov2WithRegistersConfig")
        v.at_least("crop", self.crop, 14)
        v.one_of("test_crops", self.test_crops, (1, 5))


@dataclass
class FreqProbeConfig(CommonConfig):
    """An offline instrument for studies (freq_probe.py): logistic regression on frequency, JPEG-blocking,
    block-DCT and intensity features of the full image. Learns compression cues on a CPU in seconds."""

    kind: str = "freq-probe"
    bins: int = 8  # the residual spectrum is averaged over bins x bins folded-frequency cells
    c: float = 1.0  # inverse L2 strength of the logistic regression (scikit-learn's C)
    max_iter: int = 2000

    def __post_init__(self):
        super().__post_init__()
        v.at_least("bins", self.bins, 2)
        v.above("c", self.c, 0)
        v.at_least("max_iter", self.max_iter, 10)


# kind -> (config, implementation, presets besides `paper` = the config's defaults): the one place a
# detector kind is declared; registered in the one registry (config/registry.py DETECTORS), lazily.
_KINDS = {
    "resnet50": (ResNetConfig, "toolkit.detectors.resnet:ResNetDetector", {"light": _LIGHT_RESNET, "demo": _DEMO_RESNET}),
    "fakeinversion": (FakeInversionConfig, "toolkit.detectors.fakeinversion:FakeInversionDetector",
                      {"light": _LIGHT_RESNET, "demo": _DEMO_RESNET}),
    "clip-probe": (ClipProbeConfig, "toolkit.detectors.clip_probe:ClipProbeDetector", {"light": {"train_augment": False}}),
    "clip-knn": (ClipKnnConfig, "toolkit.detectors.clip_knn:ClipKnnDetector", {"light": {}}),
    # CPU budgets: 224 px crops (16 x 14), the centre crop only at test, the lighter augmentation, larger steps
    "bfree": (BFreeConfig, "toolkit.detectors.bfree:BFreeDetector",
              {"light": {"crop": 224, "test_crops": 1, "val_augment": False, "max_epochs": 20, "lr": 1e-4,
                         "min_lr": 1e-6, "augment": {**_LIGHT_RESNET["augment"], "rot90": 0.0, "grayscale": 0.0}}}),
    # not a paper's detector: its one preset is `paper`, i.e. its defaults
    "freq-probe": (FreqProbeConfig, "toolkit.detectors.freq_probe:FreqProbeDetector", {}),
}
for _kind, (_config, _impl, _presets) in _KINDS.items():
    DETECTORS.register_lazy(_kind, _config, _impl, presets={"paper": {}, **_presets})
PRESET_NAMES = ("paper", "light", "demo")


def presets(kind: str) -> dict:
    """{preset name: the settings it changes} of a registered detector kind."""
    return DETECTORS.get(kind).extra["presets"]


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, val in over.items():
        if isinstance(val, dict) and isinstance(out.get(k), dict) and k != "arch":
            out[k] = _merge(out[k], val)
        else:
            out[k] = val
    return out


def detector_config(raw: dict, where: str = "detector", path: str = "detector"):
    """A typed config from a mapping with a `kind:` (and an optional `preset:`); RecipeError names the bad key."""
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: {path}: expected a mapping with a kind:, got {raw!r}")
    kind = raw.get("kind", "resnet50")
    entry = DETECTORS.get(kind)
    if entry is None:
        hint = DETECTORS.closest(kind)
        tail = f" (did you mean {hint!r}?)" if hint else f" (known: {', '.join(DETECTORS.names())})"
        raise RecipeError(f"{where}: {path}.kind: unknown detector {kind!r}{tail}")
    schema = entry.config
    v.check_keys(raw, schema, path, where)
    preset = raw.get("preset", "paper")
    kind_presets = presets(kind)
    if preset not in kind_presets:
        names = list(kind_presets)
        raise RecipeError(f"{where}: {path}.preset: {kind} has presets {', '.join(names)} (got {preset!r})"
                          + v.did_you_mean(str(preset), names))
    merged = _merge(kind_presets[preset], raw)
    return v.build(schema, {**merged, "kind": kind}, path, where)


def with_overrides(raw: dict, overrides, where: str) -> dict:
    """Apply `key=value` overrides (yaml values, dotted keys; a mapping value replaces the node)."""
    return v.apply_overrides(raw, list(overrides), where)


def to_dict(cfg) -> dict:
    return OmegaConf.to_container(OmegaConf.structured(cfg))


def preset_defaults(kind: str, preset: str = "paper") -> dict:
    """The resolved settings of `kind` under `preset` with nothing overridden."""
    return to_dict(detector_config({"kind": kind, "preset": preset}))


def differences(cfg) -> dict:
    """Settings of `cfg` that differ from its preset's values, as {dotted key: value} (out, device, note,
    seed and the like excluded: they say where and how, not what is trained)."""
    skip = {"out", "device", "note", "seed", "kind", "preset", "cache_dir", "feature_batch", "eval_batch"}
    mine = to_dict(cfg) if not isinstance(cfg, dict) else cfg
    base = preset_defaults(mine["kind"], mine.get("preset", "paper"))
    out: dict = {}

    def walk(a, b, prefix):
        for k in a:
            if not prefix and k in skip:
                continue
            if isinstance(a[k], dict) and isinstance(b.get(k), dict) and k != "arch":
                walk(a[k], b[k], f"{prefix}{k}.")
            elif a[k] != b.get(k):
                out[f"{prefix}{k}"] = a[k]

    walk(mine, base, "")
    return out
