"""The reference detectors against the papers' code (docs/fidelity.md), on tiny weights, in seconds.

The references are AniSundar18/AlignedForensics (training_code/) and WisconsinAIVision/
UniversalFakeDetect; nothing of theirs is imported or copied. Each check is an independent
implementation of what their code does, written here in plain torch / numpy, compared with the
toolkit's: the ResNet's logits, the fc initialisation, the CLIP feature, the augmentation draws and
their order, the early-stopping rules and UnivFD's oracle accuracy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tiny_detect import tiny_clip, write_pairs

# --- the alignment paper's ResNet (training_code/networks/resnet_mod.py, `res50nodown`) -------------


class RefBottleneck(nn.Module):
    """resnet_mod.py Bottleneck (expansion 4, stride on the 3x3 conv, padding 1)."""

    def __init__(self, inplanes: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + identity)


class RefResNet(nn.Module):
    """resnet_mod.py ResNet with the stem width and stage widths as parameters (64 and 64..512 there):
    conv 7x7 at stride0 (padding 3), BN, ReLU, max-pool 3x3 at stride0 (padding 1), the stages (the first
    at stride 1, the others at 2), global average pooling, dropout, one linear logit."""

    def __init__(self, stem: int, planes: list[int], layers: list[int], stride0: int = 1, dropout: float = 0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 7, stride=stride0, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.maxpool = nn.MaxPool2d(3, stride=stride0, padding=1)
        stages, inplanes = [], stem
        for s, (p, n) in enumerate(zip(planes, layers)):
            blocks = []
            for b in range(n):
                blocks.append(RefBottleneck(inplanes, p, stride=2 if (s > 0 and b == 0) else 1))
                inplanes = p * 4
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(inplanes, 1)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for stage in self.stages:
            x = stage(x)
        x = x.mean(dim=(2, 3))
        return F.linear(self.dropout(x), self.fc.weight, self.fc.bias).squeeze(-1)


def _copy_into_reference(net, ref: RefResNet) -> None:
    """The transformers ResNet's weights into RefResNet, by name."""
    sd = net.state_dict()
    out = {}
    for name in ref.state_dict():
        parts = name.split(".")
        if parts[0] == "conv1":
            src = "resnet.embedder.embedder.convolution.weight"
        elif parts[0] == "bn1":
            src = f"resnet.embedder.embedder.normalization.{parts[1]}"
        elif parts[0] == "fc":
            src = f"classifier.2.{parts[1]}"
        else:  # stages.S.B.(conv|bn)K.x | stages.S.B.downsample.(0|1).x
            s, b, mod = parts[1], parts[2], parts[3]
            base = f"resnet.encoder.stages.{s}.layers.{b}"
            if mod == "downsample":
                src = f"{base}.shortcut.{'convolution' if parts[4] == '0' else 'normalization'}.{parts[5]}"
            else:
                j = int(mod[-1]) - 1
                src = f"{base}.layer.{j}.{'convolution' if mod.startswith('conv') else 'normalization'}.{parts[4]}"
        out[name] = sd[src]
    ref.load_state_dict(out)


def _tiny_resnet_cfg(**kw):
    from toolkit.detectors.config import detector_config

    arch = {"embedding_size": 8, "hidden_sizes": [16, 32], "depths": [2, 1], "layer_type": "bottleneck"}
    return detector_config({"kind": "resnet50", "model": None, "arch": arch, **kw})


def _randomise(net: nn.Module, seed: int = 0) -> None:
    """Non-trivial weights and BatchNorm statistics, so every layer matters to the logits."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.dtype.is_floating_point:
                if name.endswith("running_var"):
                    t.copy_(0.5 + torch.rand(t.shape, generator=g))
                else:
                    t.copy_(torch.randn(t.shape, generator=g) * (0.3 if t.dim() > 1 else 0.5))


def test_resnet_logits_equal_an_independent_reference_implementation():
    from toolkit.detectors.resnet import build_network

    net = build_network(_tiny_resnet_cfg()).eval()
    _randomise(net)
    ref = RefResNet(stem=8, planes=[4, 8], layers=[2, 1], stride0=1).eval()
    _copy_into_reference(net, ref)
    x = torch.randn(3, 3, 33, 40, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = net(x).logits.squeeze(-1), ref(x)
    assert torch.equal(ours, theirs), (ours, theirs)
    # the pool runs channels-last for speed: same values and gradients as nn.MaxPool2d(3, 1, 1)
    xr = torch.randn(2, 4, 20, 20, requires_grad=True)
    g = torch.randn(2, 4, 20, 20)
    (net.resnet.embedder.pooler(torch.relu(xr)) * g).sum().backward()
    ours_grad, xr.grad = xr.grad.clone(), None
    (ref.maxpool(torch.relu(xr)) * g).sum().backward()
    assert torch.equal(ours_grad, xr.grad)
    # the stem the toolkit had before (no max-pool) gives other logits with the same weights
    net.resnet.embedder.pooler = nn.Identity()
    with torch.no_grad():
        assert not torch.allclose(net(x).logits.squeeze(-1), theirs, atol=1e-3)
    # the ImageNet stem (stem_downsample=true) is the reference with stride0=2
    net2 = build_network(_tiny_resnet_cfg(stem_downsample=True)).eval()
    _randomise(net2, seed=3)
    ref2 = RefResNet(stem=8, planes=[4, 8], layers=[2, 1], stride0=2).eval()
    _copy_into_reference(net2, ref2)
    with torch.no_grad():
        assert torch.equal(net2(x).logits.squeeze(-1), ref2(x))


def test_fc_init_statistics(tmp_path):
    """normal(0, 0.02) on pretrained weights (change_output, resnet_mod.py:270), Xavier-normal on a
    random-init network (resnet_mod.py:233); the bias keeps PyTorch's default uniform(+-1/sqrt(fan_in))."""
    from transformers import ResNetConfig, ResNetForImageClassification

    from toolkit.detectors.config import detector_config
    from toolkit.detectors.resnet import build_network

    arch = {"embedding_size": 8, "hidden_sizes": [2048], "depths": [1], "layer_type": "bottleneck"}
    torch.manual_seed(0)
    ResNetForImageClassification(ResNetConfig(**arch)).save_pretrained(tmp_path / "imagenet-like")
    fc = build_network(detector_config({"kind": "resnet50", "model": str(tmp_path / "imagenet-like")})).classifier[2]
    w = fc.weight.detach().flatten()
    assert w.numel() == 2048
    assert abs(w.mean().item()) < 3 * 0.02 / math.sqrt(2048)
    assert abs(w.std().item() - 0.02) < 0.0015  # PyTorch's default would give 1/sqrt(3 * 2048) = 0.0128
    assert w.abs().max().item() > 1 / math.sqrt(2048)  # not uniform(+-1/sqrt(2048))
    assert fc.bias.abs().item() <= 1 / math.sqrt(2048)
    fc = build_network(detector_config({"kind": "resnet50", "model": None, "arch": arch})).classifier[2]
    w = fc.weight.detach().flatten()
    xavier = math.sqrt(2.0 / (2048 + 1))
    assert abs(w.std().item() - xavier) < 0.1 * xavier


# --- UnivFD's feature: the projected CLIP embedding (models/clip_models.py:20) -----------------------


def _manual_clip_embedding(model, pixel_values: torch.Tensor) -> torch.Tensor:
    """OpenAI CLIP's VisionTransformer.forward (what `encode_image` runs), written out: patch conv,
    class token, positions, ln_pre, residual attention blocks (QuickGELU MLP), ln_post on the class
    token, then the projection."""
    sd = {k: v for k, v in model.state_dict().items()}
    cfg = model.config
    eps = cfg.layer_norm_eps
    vm = "vision_model."
    x = F.conv2d(pixel_values, sd[vm + "embeddings.patch_embedding.weight"], stride=cfg.patch_size)
    x = x.flatten(2).transpose(1, 2)
    cls = sd[vm + "embeddings.class_embedding"].expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], dim=1) + sd[vm + "embeddings.position_embedding.weight"]
    x = F.layer_norm(x, (cfg.hidden_size,), sd[vm + "pre_layrnorm.weight"], sd[vm + "pre_layrnorm.bias"], eps)
    heads, d = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    for i in range(cfg.num_hidden_layers):
        p = f"{vm}encoder.layers.{i}."
        h = F.layer_norm(x, (cfg.hidden_size,), sd[p + "layer_norm1.weight"], sd[p + "layer_norm1.bias"], eps)
        q, k, v = (F.linear(h, sd[p + f"self_attn.{n}_proj.weight"], sd[p + f"self_attn.{n}_proj.bias"])
                   .view(h.shape[0], -1, heads, d).transpose(1, 2) for n in "qkv")
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1) @ v
        att = att.transpose(1, 2).reshape(h.shape)
        x = x + F.linear(att, sd[p + "self_attn.out_proj.weight"], sd[p + "self_attn.out_proj.bias"])
        h = F.layer_norm(x, (cfg.hidden_size,), sd[p + "layer_norm2.weight"], sd[p + "layer_norm2.bias"], eps)
        h = F.linear(h, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"])
        h = h * torch.sigmoid(1.702 * h)  # QuickGELU
        x = x + F.linear(h, sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
    pooled = F.layer_norm(x[:, 0], (cfg.hidden_size,), sd[vm + "post_layernorm.weight"], sd[vm + "post_layernorm.bias"], eps)
    return pooled @ sd["visual_projection.weight"].T


def _torchvision_center_crop(arr: np.ndarray, size: int) -> np.ndarray:
    """torchvision.transforms.functional.center_crop, written out for HxWxC arrays."""
    h, w = arr.shape[:2]
    if size > h or size > w:
        top, left = (size - h) // 2 if size > h else 0, (size - w) // 2 if size > w else 0
        bottom, right = (size - h + 1) // 2 if size > h else 0, (size - w + 1) // 2 if size > w else 0
        padded = np.zeros((h + top + bottom, w + left + right, arr.shape[2]), dtype=arr.dtype)
        padded[top : top + h, left : left + w] = arr
        arr, (h, w) = padded, padded.shape[:2]
    t, lft = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return arr[t : t + size, lft : lft + size]


def test_center_crop_rounds_like_torchvision_and_pads_with_zeros():
    from toolkit.detectors.features import center_crop

    arr = np.arange(45 * 37 * 1, dtype=np.int64).reshape(45, 37, 1)
    # (45 - 32) / 2 = 6.5 -> 6 (round half to even), (37 - 32) / 2 = 2.5 -> 2; floor would give 6, 2 too,
    # so also a case where they differ: (35 - 32) / 2 = 1.5 -> 2 (floor: 1)
    assert np.array_equal(center_crop(arr, 32), arr[6:38, 2:34])
    assert np.array_equal(center_crop(arr[:35, :35], 32), arr[2:34, 2:34])
    small = np.full((20, 29, 3), 200, dtype=np.uint8)
    out = center_crop(small, 32)
    assert out.shape == (32, 32, 3)
    assert (out[:6] == 0).all() and (out[26:] == 0).all() and (out[:, :1] == 0).all() and (out[:, 30:] == 0).all()
    assert (out[6:26, 1:30] == 200).all()
    for shape in [(33, 40), (35, 35), (31, 50), (20, 20), (32, 32)]:
        a = np.random.default_rng(0).integers(0, 256, size=(*shape, 3), dtype=np.uint8)
        assert np.array_equal(center_crop(a, 32), _torchvision_center_crop(a, 32)), shape


def test_clip_feature_is_the_projected_embedding(tmp_path):
    from transformers import CLIPVisionModelWithProjection

    from toolkit.detectors.data import Split
    from toolkit.detectors.features import CLIP_MEAN, CLIP_STD, FeatureExtractor

    path = tiny_clip(tmp_path / "clip")
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, size=s, dtype=np.uint8) for s in [(35, 41, 3), (24, 50, 3), (32, 32, 3)]]
    import io

    from PIL import Image

    def png(a):
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="PNG")
        return buf.getvalue()

    split = Split("test", [png(a) for a in arrays], np.array([0, 1, 0]), ["a", "a", "b"], ["real", "g", "real"],
                  ["png"] * 3)
    ext = FeatureExtractor(path, device="cpu", batch=2, cache_dir=str(tmp_path / "cache"), precision="float32",
                           preprocess="univfd")
    ours = ext.features(split)
    model = CLIPVisionModelWithProjection.from_pretrained(path).eval()
    x = np.stack([(_torchvision_center_crop(a, 32).astype(np.float32) / 255.0 - CLIP_MEAN) / CLIP_STD for a in arrays])
    with torch.no_grad():
        manual = _manual_clip_embedding(model, torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    assert ours.shape == (3, model.config.projection_dim) == (3, 16)  # projected (16), not the hidden size (32)
    np.testing.assert_allclose(ours, manual, rtol=1e-4, atol=1e-5)


# --- augmentation draws: the documented distributions and order ---------------------------------------

N_DRAWS = 3000


def _within(frac: float, p: float, n: int = N_DRAWS) -> bool:
    return abs(frac - p) <= 4.5 * math.sqrt(p * (1 - p) / n) + 1e-9


def test_alignment_augmentation_draws_match_the_reference_distributions():
    from toolkit.detectors import augment
    from toolkit.detectors.config import detector_config

    aug = detector_config({"kind": "resnet50"}).augment
    h, w = 300, 400
    plans = [augment.draw(aug, 96, (h, w), 0, f"pair-{i}", 3) for i in range(N_DRAWS)]
    freq = {op: sum(op in p for p in plans) / N_DRAWS for op in augment.ORDER}
    expected = {"resized_crop": 0.2, "color_jitter": 0.8, "grayscale": 0.2, "cutout": 0.2, "noise": 0.2, "blur": 0.5,
                "jpeg": 0.5, "rot90": 1.0, "flip": 0.5, "crop": 1.0}
    for op, p in expected.items():
        assert _within(freq[op], p), (op, freq[op], p)
    rrc = [p["resized_crop"] for p in plans if "resized_crop" in p]
    for top, left, ch, cw, oh, ow in rrc:
        assert (oh, ow) == (256, 256) and 0 <= top <= h - ch and 0 <= left <= w - cw
        assert 0.08 * h * w * 0.9 <= ch * cw <= h * w
        assert 0.75 * 0.9 <= cw / ch <= (4 / 3) * 1.1
    areas = np.array([ch * cw / (h * w) for _, _, ch, cw, _, _ in rrc])
    assert areas.min() < 0.15 and areas.max() > 0.9  # the full 0.08..1 range is used
    cj = [p["color_jitter"] for p in plans if "color_jitter" in p]
    for order, b, c, s, hue in cj:
        assert sorted(order) == [0, 1, 2, 3] and all(0.6 <= f <= 1.4 for f in (b, c, s)) and -0.1 <= hue <= 0.1
    assert len({o for o, *_ in cj}) == 24  # every order of the four adjustments occurs
    cut = [p["cutout"] for p in plans if "cutout" in p]
    sizes = [(y2 - y1, x2 - x1) for y1, y2, x1, x2 in cut]
    assert max(max(s) for s in sizes) == 48 and min(min(s) for s in sizes) < 48  # clipped at the borders
    var = np.array([p["noise"][0] ** 2 for p in plans if "noise" in p])
    assert var.min() >= 10 and var.max() <= 50 and abs(var.mean() - 30) < 2
    sig = np.array([p["blur"] for p in plans if "blur" in p])
    assert sig.min() >= 0 and sig.max() <= 3 and abs(sig.mean() - 1.5) < 0.1
    q = [p["jpeg"][0] for p in plans if "jpeg" in p]
    assert min(q) == 30 and max(q) == 100 and abs(np.mean(q) - 65) < 2
    methods = [p["jpeg"][1] for p in plans if "jpeg" in p]
    assert _within(methods.count("cv2") / len(methods), 0.5, len(methods))
    ks = [p["rot90"] for p in plans]
    for k in range(4):
        assert _within(ks.count(k) / N_DRAWS, 0.25), (k, ks.count(k))
    for p in plans:
        size, ph, pw, top, left = p["crop"]
        assert size == 96 and ph == pw == 0 and top >= 0 and left >= 0
    # an image smaller than the crop is padded symmetrically (both sides by crop - side), never resized
    small = augment.draw(aug, 96, (40, 70), 0, "small", 0)
    if "resized_crop" not in small:
        hh, ww = (70, 40) if small.get("rot90", 0) % 2 else (40, 70)
        assert small["crop"][1:3] == (96 - hh, 96 - ww)


def test_alignment_augmentation_runs_its_ops_in_the_reference_order(monkeypatch):
    from toolkit.detectors import augment

    # make_aug (processing.py:211-301), then make_post's random crop (processing.py:189-196)
    assert augment.ORDER == ("resized_crop", "color_jitter", "grayscale", "cutout", "noise", "blur", "jpeg",
                             "rot90", "flip", "crop")
    calls = []
    for name, fn in list(augment.OPS.items()):
        monkeypatch.setitem(augment.OPS, name, (lambda n, f: lambda a, p: (calls.append(n), f(a, p))[1])(name, fn))
    plan = {"crop": (16, 0, 0, 0, 0), "flip": True, "rot90": 1, "jpeg": (80, "pil"), "blur": 1.0, "noise": (3.0, 1),
            "cutout": (0, 8, 0, 8), "grayscale": True, "color_jitter": ((3, 2, 1, 0), 1.1, 0.9, 1.2, 0.05),
            "resized_crop": (0, 0, 30, 30, 32, 32)}
    img = np.random.default_rng(0).integers(0, 256, size=(40, 48, 3), dtype=np.uint8)
    out = augment.apply(plan, img)
    assert calls == list(augment.ORDER) and out.shape == (16, 16, 3)
    # cutout before the rotation: the grey square lands where rot90 moves it
    plan = {"cutout": (0, 8, 0, 8), "rot90": 1, "crop": (40, 0, 0, 0, 0)}
    out = augment.apply(plan, np.zeros((40, 40, 3), dtype=np.uint8))
    assert (out[32:, :8] == 128).all() and (out[:32] == 0).all()  # counter-clockwise: top-left -> bottom-left


def test_noise_and_blur_ops_follow_the_reference_libraries():
    from scipy.ndimage import gaussian_filter

    from toolkit.detectors import augment

    grey = np.full((200, 200, 3), 128, dtype=np.uint8)
    out = augment.apply({"noise": (math.sqrt(30.0), 7), "crop": (200, 0, 0, 0, 0)}, grey).astype(float) - 128
    assert abs(out.std() - math.sqrt(30.0)) < 0.1 and not np.array_equal(out[..., 0], out[..., 1])  # per channel
    img = np.random.default_rng(1).integers(0, 256, size=(30, 30, 3), dtype=np.uint8)
    blurred = augment.apply({"blur": 2.0, "crop": (30, 0, 0, 0, 0)}, img)
    for c in range(3):
        assert np.array_equal(blurred[..., c], gaussian_filter(img[..., c], sigma=2.0))


def test_univfd_probe_augmentation_draws():
    from toolkit.detectors import probe_augment
    from toolkit.detectors.config import detector_config

    aug = detector_config({"kind": "clip-probe"}).augment
    plans = [probe_augment.draw(aug, 224, (300, 400), 0, f"k{i}", 2) for i in range(N_DRAWS)]
    assert all(p["resize"] == (256, 341) for p in plans)  # short side 256, long int(256 * 400 / 300)
    for op, p in {"blur": 0.5, "jpeg": 0.5, "flip": 0.5}.items():
        assert _within(sum(op in pl for pl in plans) / N_DRAWS, p), op
    sig = np.array([p["blur"] for p in plans if "blur" in p])
    assert sig.min() >= 0 and sig.max() <= 3 and abs(sig.mean() - 1.5) < 0.1
    q = [p["jpeg"][0] for p in plans if "jpeg" in p]
    assert min(q) == 30 and max(q) == 100
    assert all(0 <= p["crop"][0] <= 256 - 224 and 0 <= p["crop"][1] <= 341 - 224 for p in plans)
    assert list(probe_augment.ORDER[:4]) == ["resize", "blur", "jpeg", "crop"]  # data/datasets.py:108-115
    vals = [probe_augment.draw_val(aug, 224, (300, 400), 0, f"k{i}") for i in range(N_DRAWS)]
    assert {p["blur"] for p in vals if "blur" in p} == {1.5} and {p["jpeg"] for p in vals if "jpeg" in p} == {(65, "pil")}
    assert _within(sum("blur" in p for p in vals) / N_DRAWS, 0.5) and not any("flip" in p for p in vals)
    out = probe_augment.apply(plans[0], np.zeros((300, 400, 3), dtype=np.uint8))
    assert out.shape == (224, 224, 3)


# --- early stopping --------------------------------------------------------------------------------


def test_alignment_improvement_rule():
    from toolkit.detectors.resnet import improved

    assert improved(0.1, None, 0.001)
    assert improved(0.5 + 0.0011, 0.5, 0.001)
    assert not improved(0.5 + 0.001, 0.5, 0.001)  # `score <= best + delta` is no improvement (utils/__init__.py)
    assert not improved(0.5005, 0.5, 0.001)


def _scripted_fit(tmp_path, scores, **cfg_kw):
    """fit() on a few tiny pairs with the validation scores scripted; returns (detector, history, states)."""
    from toolkit.detectors.config import detector_config
    from toolkit.detectors.data import load_splits
    from toolkit.detectors.resnet import ResNetDetector

    ds = write_pairs(tmp_path / "ds", {"train": 3, "test": 2}, size=24)
    train = load_splits(ds)["train"]
    cfg = detector_config({"kind": "resnet50", "model": None, "crop": 16, "pairs_per_batch": 4, "device": "cpu",
                           "arch": {"embedding_size": 4, "hidden_sizes": [4], "depths": [1], "layer_type": "basic"},
                           **cfg_kw})
    det = ResNetDetector(cfg)
    it, states = iter(scores), []

    def scripted(val):
        states.append({k: v.clone() for k, v in det.net.state_dict().items()})
        return {"val_loss": 0.5, "val_balanced_acc": next(it), "val_ap": 0.5}

    det._validate = scripted
    history = det.fit(train, train, echo=lambda s: None)
    return det, history, states


def _batches(tmp_path, sync: bool):
    """One epoch of fit() on 6 tiny pairs, 2 pairs per batch: per batch, (pair_id, label, plan) of each image."""
    from toolkit.detectors.config import detector_config
    from toolkit.detectors.data import load_splits
    from toolkit.detectors.resnet import ResNetDetector

    train = load_splits(write_pairs(tmp_path / f"ds{sync}", {"train": 6, "test": 2}, size=24))["train"]
    cfg = detector_config({"kind": "resnet50", "model": None, "crop": 16, "pairs_per_batch": 2, "device": "cpu",
                           "max_epochs": 1, "sync_pairs": sync,
                           "arch": {"embedding_size": 4, "hidden_sizes": [4], "depths": [1], "layer_type": "basic"}})
    det = ResNetDetector(cfg)
    seen, batches = [], []
    apply, to_tensor = det.augment_apply, det.to_tensor
    index = {train.pixels(i).tobytes(): i for i in range(len(train))}

    def recording_apply(plan, px):
        i = index[px.tobytes()]
        seen.append((train.pair_ids[i], int(train.labels[i]), repr(plan)))
        return apply(plan, px)

    def recording_tensor(imgs):
        batches.append(seen[-len(imgs):])
        return to_tensor(imgs)

    det.augment_apply, det.to_tensor = recording_apply, recording_tensor
    det.fit(train, train.subset([]), echo=lambda s: None)
    return batches


def test_synced_and_unsynced_pairs_in_training(tmp_path):
    """sync_pairs (the alignment paper's --batched_syncing, its "Ours-Sync" model): a real and its fake in
    one batch with one draw; false (its "Ours"): every image an item of its own. Same batch size both ways."""
    synced, unsynced = _batches(tmp_path, True), _batches(tmp_path, False)
    for batches in (synced, unsynced):
        assert [len(b) for b in batches] == [4, 4, 4]  # 12 images, 4 per step, each once
        assert sorted((p, y) for b in batches for p, y, _ in b) == sorted((p, y) for p in {p for b in batches for p, _, _ in b}
                                                                          for y in (0, 1))
    for b in synced:  # both members of each pair, one plan
        by_pair = {}
        for p, y, plan in b:
            by_pair.setdefault(p, []).append((y, plan))
        assert all(sorted(y for y, _ in m) == [0, 1] and m[0][1] == m[1][1] for m in by_pair.values())
    where = {}
    for k, b in enumerate(unsynced):
        for p, y, plan in b:
            where[(p, y)] = (k, plan)
    pairs = {p for p, _ in where}
    split_up = sum(where[(p, 0)][0] != where[(p, 1)][0] for p in pairs)
    different = sum(where[(p, 0)][1] != where[(p, 1)][1] for p in pairs)
    assert split_up >= 1 and different == len(pairs), (split_up, different)


def test_alignment_early_stopping_starts_from_the_untrained_score(tmp_path):
    untrained, e1, e2, e3 = 0.70, 0.65, 0.7005, 0.7011
    det, history, states = _scripted_fit(tmp_path, [untrained, e1, e2, e3, 0.5, 0.5, 0.5, 0.5, 0.5],
                                         patience=2, max_epochs=20)
    assert [h["epoch"] for h in history] == list(range(8))
    # 0.65 and 0.7005 do not beat the untrained 0.70 by more than 0.001: patience 2 -> lr / 10
    assert [h["lr"] for h in history] == pytest.approx([1e-4] * 3 + [1e-5] * 3 + [1e-6] * 2)
    assert det.best_epoch == 3 and det.epochs_trained == 7  # 0.7011 is the one improvement; stop below 1e-6
    final = det.net.state_dict()
    assert all(torch.equal(final[k], states[3][k]) for k in final)  # epoch 3's weights are kept
    # nothing beats the untrained model: its weights are what is left
    det, history, states = _scripted_fit(tmp_path / "b", [0.9, 0.9, 0.8, 0.9005], patience=3, max_epochs=3)
    assert det.best_epoch == 0
    final = det.net.state_dict()
    assert all(torch.equal(final[k], states[0][k]) for k in final)
    assert not all(torch.equal(final[k], states[-1][k]) for k in final)  # training did move the weights


def test_univfd_early_stopping(tmp_path):
    """CNNDetection's EarlyStopping with UnivFD's deltas (train.py:44, 80): >= best + 0.001 is better; after
    `patience` worse epochs the lr drops and a fresh stopper (+0.002) takes the next epoch as its best."""
    from toolkit.detectors.clip_probe import ClipProbeDetector, UnivFDStopper
    from toolkit.detectors.config import detector_config
    from toolkit.detectors.data import Split

    s = UnivFDStopper(patience=2, min_delta=0.001)
    assert s(0.5) and not s(0.5 + 0.0009) and s(0.5 + 0.001) and s.counter == 0
    assert not s(0.2) and not s.early_stop and not s(0.2) and s.early_stop

    cfg = detector_config({"kind": "clip-probe", "model": "unused", "train_augment": False, "patience": 2,
                           "device": "cpu", "cache_dir": str(tmp_path)})
    det = ClipProbeDetector(cfg)
    rng = np.random.default_rng(0)
    feats = {"train": rng.normal(size=(8, 6)).astype(np.float32), "val": rng.normal(size=(4, 6)).astype(np.float32)}
    det.extractor.features = lambda split, desc="": feats[split.name]
    train = Split("train", [b""] * 8, np.array([0, 1] * 4), [f"p{i // 2}" for i in range(8)], ["real", "g"] * 4, ["png"] * 8)
    val = Split("val", [b""] * 4, np.array([0, 1] * 2), ["q0", "q0", "q1", "q1"], ["real", "g"] * 2, ["png"] * 4)
    accs = iter([0.50, 0.5009, 0.40,          # no improvement twice -> lr 1e-5, fresh stopper (delta 0.002)
                 0.30, 0.3015, 0.3025,        # 0.30 is the new best (saved); 0.3015 no; 0.3025 yes (saved)
                 0.1, 0.1,                    # -> lr 1e-6, fresh stopper
                 0.2, 0.1, 0.1])              # 0.2 saved; two worse -> lr 1e-7 < 1e-6: stop
    saved_at = []
    orig = det.linear

    def scripted(p, y):
        saved_at.append({k: v.clone() for k, v in det.linear.state_dict().items()})
        return next(accs)

    det._val_acc = scripted
    history = det.fit(train, val, echo=lambda s: None)
    assert orig is None and len(history) == 11
    assert [h["lr"] for h in history] == pytest.approx([1e-4] * 3 + [1e-5] * 5 + [1e-6] * 3)
    assert det.best_epoch == 9  # the last epoch the stopper saved: the first after the second drop
    final = det.linear.state_dict()
    assert all(torch.equal(final[k], saved_at[8][k]) for k in final)
    w = det.linear.weight  # init normal(0, 0.02) was moved by training, but the layer is the probe's
    assert w.shape == (1, 6)


def test_probe_init_statistics():
    from toolkit.detectors.clip_probe import init_linear

    lin = init_linear(768, seed=0)
    w = lin.weight.detach().flatten()
    assert abs(w.std().item() - 0.02) < 0.002 and w.abs().max().item() > 1 / math.sqrt(768)
    assert lin.bias.abs().item() <= 1 / math.sqrt(768)


# --- UnivFD's oracle accuracy (validate.py:45-65, 90-94) ------------------------------------------


def _univfd_oracle(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """find_best_threshold + calculate_acc, for reals first then fakes, as a plain loop."""
    n = len(y_true)
    if y_pred[: n // 2].max() <= y_pred[n // 2 :].min():
        thres = (y_pred[: n // 2].max() + y_pred[n // 2 :].min()) / 2
    else:
        best_acc, thres = 0.0, 0.0
        for t in y_pred:
            acc = ((y_pred >= t).astype(int) == y_true).sum() / n
            if acc >= best_acc:
                best_acc, thres = acc, t
    return float(thres), float(((y_pred > thres).astype(int) == y_true).mean())


def test_oracle_accuracy_is_univfds():
    from toolkit.detectors.metrics import oracle_threshold, summary

    # hand-computed: reals 0.1 0.6 0.3, fakes 0.5 0.8 0.2. Calling fake every score >= t, the best
    # accuracy (4/6) is reached at t = 0.5, 0.8 and 0.2; the last one tried wins (0.2). Accuracy is then
    # taken with "> 0.2": fakes 0.5, 0.8 and reals 0.6, 0.3 are called fake, the fake 0.2 real: 3/6
    labels, scores = np.array([0, 0, 0, 1, 1, 1]), np.array([0.1, 0.6, 0.3, 0.5, 0.8, 0.2])
    assert oracle_threshold(labels, scores) == 0.2
    m = summary(labels, scores, val_threshold=0.5)
    assert m["acc@oracle"] == pytest.approx(0.5) and m["oracle_threshold"] == 0.2
    assert m["real_acc@oracle"] == pytest.approx(1 / 3) and m["fake_acc@oracle"] == pytest.approx(2 / 3)
    # separable: the midpoint of the highest real and the lowest fake
    assert oracle_threshold([0, 0, 1, 1], [0.1, 0.4, 0.6, 0.9]) == pytest.approx(0.5)
    assert summary([0, 0, 1, 1], [0.1, 0.4, 0.6, 0.9])["acc@oracle"] == 1.0
    # rows in any order: reals are put first, then fakes (each in split order), like UnivFD's lists
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(2, 20))
        y = rng.permutation(np.array([0] * n + [1] * n))
        s = np.round(rng.random(2 * n), int(rng.integers(1, 3)))  # coarse scores: many ties
        order = np.argsort(y, kind="stable")
        t_ref, acc_ref = _univfd_oracle(y[order], s[order])
        m = summary(y, s)
        assert m["oracle_threshold"] == pytest.approx(t_ref) and m["acc@oracle"] == pytest.approx(acc_ref), trial


# --- the command line ----------------------------------------------------------------------------


def test_print_config_shows_the_resolved_settings(cli):
    import yaml

    code, out, err = cli("train", "anything", "--print-config")
    assert code == 0, err
    c = yaml.safe_load(out)
    assert c["preset"] == "paper" and c["pairs_per_batch"] == 32 and c["max_epochs"] == 1000 and c["min_delta"] == 0.001
    assert c["augment"]["color_jitter"] == 0.8 and c["augment"]["jpeg_quality"] == [30, 100] and c["val_augment"]
    code, out, _ = cli("train", "anything", "--detector", "resnet50", "--preset", "light", "crop=64", "--print-config")
    c = yaml.safe_load(out)
    assert code == 0 and c["preset"] == "light" and c["pairs_per_batch"] == 16 and c["crop"] == 64
    assert c["augment"]["jpeg"] == 0.1 and not c["val_augment"]
    code, out, _ = cli("train", "x", "--detector", "clip-probe", "--val", "other", "--print-config")
    c = yaml.safe_load(out)
    assert code == 0 and c["val_dataset"] == "other" and c["train_augment"] and c["patience"] == 5
    assert c["max_epochs"] == 100 and c["batch_size"] == 256
    code, _, err = cli("train", "x", "--preset", "lite", "--print-config")
    assert code == 2 and "did you mean 'light'" in err


def test_separate_validation_dataset(cli, tmp_path):
    import json

    ds = write_pairs(tmp_path / "train", {"train": 6, "test": 4}, size=24, seed=3)
    val = write_pairs(tmp_path / "val", {"validation": 3}, size=24, seed=4, generator="other")
    code, _, err = cli("train", ds, "--val", val, "--out", tmp_path / "m", "--no-card", "model=null",
                       "arch={embedding_size: 4, hidden_sizes: [4], depths: [1], layer_type: basic}",
                       "crop=16", "max_epochs=1", "robustness=false", "augment.resized_crop_size=32")
    assert code == 0, err
    rec = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert rec["splits"]["val"]["dataset"] == val and rec["splits"]["val"]["images"] == 6
    assert rec["splits"]["train"]["pairs"] == 6  # nothing held out of train
    assert [h["epoch"] for h in rec["history"]] == [0, 1] and "val_balanced_acc" in rec["history"][0]
    card = (tmp_path / "m" / "README.md").read_text()
    assert f"separate dataset `{val}`" in card and "Validated on the training augmentation at 16 px crops" in card
    assert "accuracy @oracle threshold" in card and "preset `paper`" in card and "`crop=16`" in card
