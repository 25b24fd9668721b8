"""The alignment paper's reference detector: a ResNet-50 with one logit (`res50nodown`).

Built on transformers' `ResNetForImageClassification` (ImageNet weights by `from_pretrained`, a hub id
or a local path; or random init from a `ResNetConfig`). Changes from the ImageNet model, as in the
reference (AniSundar18/AlignedForensics, training_code/networks/resnet_mod.py with `stride0=1`,
networks/__init__.py:56-64): the 7x7 stem conv runs at stride 1 and the 3x3 max-pool after it at stride 1
(padding 1), so the first blocks see the generator's pixel-level traces undecimated; the head is dropout
0.5 + one linear logit whose weight is initialised normal(0, 0.02) on pretrained weights
(`change_output`, resnet_mod.py:265-271) or Xavier-normal on a random-init network
(`_initialize_weights`, resnet_mod.py:229-237); the bias keeps PyTorch's default Linear init in both.

Training (training_code/train.py, utils/training.py): Adam (betas 0.9, 0.999), batches of whole pairs
(real and fakes of a pair in the same batch, augmented with the same draw, augment.py), crops of `crop`
px after the augmentation chain. Validation before any training gives the initial best score (the
untrained model's); after each epoch the validation balanced accuracy at logit 0 must beat the best by
more than `min_delta` (0.001) to count as better; after `patience` epochs without a better one the
learning rate is divided by 10, and training stops once it falls below `min_lr`; the best epoch's
weights are kept. Validation runs on the training augmentation and `crop` (`val_augment`, as the
reference) or on full images. Evaluation runs on the full image: global average pooling followed by the
linear head equals the spatial average of per-position logits, which is the reference's evaluation
(test_code/main.py with `patch_size: null`).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from toolkit.seeding import derive_seed, rng_for
from toolkit.detectors import augment, device as dev
from toolkit.detectors.metrics import average_precision

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # ImageNet, what the weights were trained with
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
STEM = "conv-s1+maxpool-s1"  # meta["stem"] of models made since the max-pool was restored
VAL_CACHE_BYTES = 1 << 30  # augmented validation crops are kept in memory up to this size


class StemMaxPool(nn.MaxPool2d):
    """The reference's stem max-pool (3x3, stride 1, padding 1), run in channels-last layout: the same
    values (a max is exact whatever the layout) at a third of PyTorch's NCHW CPU kernel's time."""

    def __init__(self):
        super().__init__(kernel_size=3, stride=1, padding=1)

    def forward(self, x):
        return super().forward(x.contiguous(memory_format=torch.channels_last)).contiguous()


def _tqdm(**kw):
    from tqdm.auto import tqdm

    return tqdm(dynamic_ncols=True, leave=False, mininterval=0.5, **kw)


def build_network(cfg, hf_config: dict | None = None, stem: str = STEM) -> nn.Module:
    """The network for `cfg`; `hf_config` (a saved ResNetConfig dict) rebuilds a trained one (`stem`:
    "conv-s1" for models saved before the stride-1 max-pool was restored, which had none)."""
    from transformers import ResNetConfig, ResNetForImageClassification

    torch.manual_seed(derive_seed(cfg.seed, "detector-init") % (2 ** 31))
    pretrained = False
    if hf_config is not None:
        model = ResNetForImageClassification(ResNetConfig(**hf_config))
    elif cfg.model is None:
        model = ResNetForImageClassification(ResNetConfig(**{**dict(cfg.arch), "num_labels": 1}))
    elif cfg.pretrained:
        model = _load(cfg.model, lambda: ResNetForImageClassification.from_pretrained(
            cfg.model, num_labels=1, ignore_mismatched_sizes=True, **dict(cfg.arch)))
        pretrained = True
    else:
        conf = _load(cfg.model, lambda: ResNetConfig.from_pretrained(cfg.model, num_labels=1, **dict(cfg.arch)))
        model = ResNetForImageClassification(conf)
    model.config.num_labels = 1
    if not cfg.stem_downsample:
        model.resnet.embedder.embedder.convolution.stride = (1, 1)
        # resnet_mod.py:181: MaxPool2d(kernel_size=3, stride=stride0, padding=1) with stride0=1
        model.resnet.embedder.pooler = StemMaxPool() if stem == STEM else nn.Identity()
    width = model.config.hidden_sizes[-1]
    fc = nn.Linear(width, 1)  # bias: PyTorch's default init, as the reference's ChannelLinear
    with torch.no_grad():
        if pretrained:
            nn.init.normal_(fc.weight, 0.0, 0.02)  # change_output, resnet_mod.py:270
        else:
            nn.init.xavier_normal_(fc.weight)  # _initialize_weights, resnet_mod.py:233
    model.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(cfg.dropout), fc)
    return model


def _load(name: str, fn):
    try:
        return fn()
    except (OSError, ValueError) as e:
        from toolkit.models import load_error

        raise load_error(f"detector.model {name!r}: cannot load", e, hint="offline, use a local path or "
                         "model=null with arch=... for random init") from None


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    x = np.stack(images).astype(np.float32) / 255.0
    x = (x - MEAN) / STD
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def balanced_accuracy_at_zero(labels: np.ndarray, logits: np.ndarray) -> float:
    """sklearn's balanced_accuracy_score(labels, logits > 0), the reference's validation score
    (train.py:63)."""
    pred = np.asarray(logits) > 0.0
    labels = np.asarray(labels)
    parts = [float((pred[labels == c] == bool(c)).mean()) for c in (0, 1) if (labels == c).any()]
    return float(np.mean(parts)) if parts else 0.0


def training_units(pairs: list[list[int]], pairs_per_batch: int, sync: bool) -> tuple[list, int]:
    """What one training item is, and how many items make a batch.

    Synced (the alignment paper's `--batched_syncing`, its released "Ours-Sync" model): an item is a
    pair, its members in one batch with one augmentation draw. Not synced (the paper's "Ours": its
    training without that flag, AniSundar18/AlignedForensics@e4cc011 training_code/utils/cap_dset.py
    :70-73 and :112-115, utils/training.py:186-193): every image is an item of its own, drawn into
    batches independently of its pair, with its own augmentation. The batch then holds as many images as a synced one (`pairs_per_batch` x members
    per pair), so the two settings take the same number of steps of the same size and differ only in
    the syncing (the reference would use `--batch_size` images, half as many, without the flag)."""
    if sync:
        return [(members, "detector-augment") for members in pairs], pairs_per_batch
    units = [([i], f"detector-augment-unsynced-{k}") for members in pairs for k, i in enumerate(members)]
    return units, max(1, round(pairs_per_batch * len(units) / max(1, len(pairs))))


def improved(score: float, best: float | None, min_delta: float) -> bool:
    """The alignment paper's rule (utils/__init__.py EarlyStopping, called with delta=0.001):
    a score is better only when it exceeds the best so far by more than `min_delta`."""
    return best is None or not score <= best + min_delta


class ResNetDetector:
    kind = "resnet50"

    def __init__(self, cfg, net: nn.Module | None = None, stem: str = STEM):
        self.cfg = cfg
        self.device = dev.pick(cfg.device)
        self.stem = stem
        self.net = (net or build_network(cfg)).to(self.device)
        self.threshold = 0.5
        self._val_cache: dict | None = None

    # pixels -> network input; a subclass with other inputs (fakeinversion: 9 channels) overrides these
    to_tensor = staticmethod(to_tensor)
    augment_apply = staticmethod(augment.apply)

    def _autocast(self):
        return dev.autocast(self.device, getattr(self.cfg, "precision", "float32"))

    # --- training ----------------------------------------------------------------------------------
    def fit(self, train, val, echo=print) -> list[dict]:
        cfg = self.cfg
        labels = train.labels.copy()
        if cfg.shuffle_labels:
            labels = labels[rng_for(cfg.seed, "shuffle-labels").permutation(len(labels))]
        pairs = train.pairs()
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, betas=(0.9, 0.999), weight_decay=0.0)
        lossf = nn.BCEWithLogitsLoss()
        self._val_cache = None
        lr, bad, history = cfg.lr, 0, []
        best = None
        best_state = _state(self.net)
        best_epoch = 0
        if len(val):  # the untrained model's score is the initial best (train.py:59-78)
            entry = {"epoch": 0, "lr": lr, **self._validate(val)}
            best = entry["val_balanced_acc"]
            history.append(entry)
            echo(_line(entry, False) + " (untrained: the initial best)")
        units, per_batch = training_units(pairs, cfg.pairs_per_batch, getattr(cfg, "sync_pairs", True))
        for epoch in range(cfg.max_epochs):
            self.net.train()
            order = rng_for(cfg.seed, "detector-order", epoch).permutation(len(units))
            nb = math.ceil(len(units) / per_batch)
            bar = _tqdm(total=nb, desc=f"epoch {epoch + 1}")
            total, count = 0.0, 0
            for b in range(nb):
                batch = [units[j] for j in order[b * per_batch : (b + 1) * per_batch]]
                imgs, ys = [], []
                for members, stream in batch:
                    plans: dict = {}  # one draw per unit (per size, should members differ: the same seed)
                    for i in members:
                        px = train.pixels(i)
                        shape = px.shape[:2]
                        if shape not in plans:
                            plans[shape] = augment.draw(cfg.augment, cfg.crop, shape, cfg.seed,
                                                        train.pair_ids[members[0]], epoch, stream=stream)
                        imgs.append(self.augment_apply(plans[shape], px))
                        ys.append(float(labels[i]))
                x = self.to_tensor(imgs).to(self.device)
                y = torch.tensor(ys, device=self.device)
                with self._autocast():
                    logits = self.net(x).logits.squeeze(-1)
                loss = lossf(logits.float(), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * len(ys)
                count += len(ys)
                bar.update(1)
                bar.set_postfix(loss=f"{total / count:.4f}", lr=f"{lr:.0e}")
            bar.close()
            entry = {"epoch": epoch + 1, "lr": lr, "train_loss": total / max(1, count)}
            if len(val):
                entry.update(self._validate(val))
                score = entry["val_balanced_acc"]
            else:  # nothing to validate on: the training loss decides
                score = -entry["train_loss"]
            history.append(entry)
            better = improved(score, best, cfg.min_delta)
            if better:
                best, bad, best_epoch = score, 0, epoch + 1
                best_state = _state(self.net)
            else:
                bad += 1
            echo(_line(entry, better))
            if bad >= cfg.patience:
                lr = lr / (1.0 / cfg.lr_factor)  # the reference divides by 10 (training.py:171-176)
                bad = 0
                if lr < cfg.min_lr:
                    echo(f"  early stop: lr fell below {cfg.min_lr:g}")
                    break
                for g in opt.param_groups:
                    g["lr"] = lr
        self.net.load_state_dict(best_state)
        self.best_epoch, self.epochs_trained = best_epoch, sum(1 for e in history if "train_loss" in e)
        if best_epoch == 0 and len(val):
            echo("  no epoch beat the untrained model on validation by more than min_delta: "
                 "the untrained weights are kept")
        return history

    def _validate(self, val) -> dict:
        """Validation loss, balanced accuracy at logit 0 and AP: on the training augmentation and crop
        drawn once per image (`val_augment`, the reference's validation loader) or on full images."""
        logits = self._val_logits(val) if self.cfg.val_augment else self._full_logits(val, "val")
        p = np.clip(_sigmoid(logits), 1e-7, 1 - 1e-7)
        y = val.labels
        return {"val_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
                "val_balanced_acc": balanced_accuracy_at_zero(y, logits), "val_ap": average_precision(y, p)}

    def val_plan(self, val, i: int, shape) -> dict:
        key = f"{val.pair_ids[i]}\x1f{val.sources[i]}"
        return augment.draw(self.cfg.augment, self.cfg.crop, shape, self.cfg.seed, key, 0, stream="detector-val")

    @torch.no_grad()
    def _val_logits(self, val) -> np.ndarray:
        self.net.eval()
        cache = self._val_cache
        if cache is None:
            cache = {}
        out = np.zeros(len(val), dtype=np.float64)
        bs = self.cfg.eval_batch
        bar = _tqdm(total=len(val), desc="val")
        keep = []
        for s in range(0, len(val), bs):
            idx = list(range(s, min(len(val), s + bs)))
            crops = []
            for i in idx:
                if i in cache:
                    crops.append(cache[i])
                else:
                    px = val.pixels(i)
                    crops.append(self.augment_apply(self.val_plan(val, i, px.shape[:2]), px))
            keep.extend(zip(idx, crops))
            x = self.to_tensor(crops).to(self.device)
            with self._autocast():
                out[idx] = self.net(x).logits.squeeze(-1).float().cpu().numpy()
            bar.update(len(idx))
        bar.close()
        if self._val_cache is None and sum(c.nbytes for _, c in keep) <= VAL_CACHE_BYTES:
            self._val_cache = dict(keep)
        return out

    # --- inference ---------------------------------------------------------------------------------
    @torch.no_grad()
    def _full_logits(self, split, desc: str) -> np.ndarray:
        """Logits per row on the full image; rows are batched by stored size (read from the header,
        so only one batch is decoded at a time)."""
        self.net.eval()
        out = np.zeros(len(split), dtype=np.float64)
        by_size: dict[tuple, list[int]] = {}
        for i in range(len(split)):
            by_size.setdefault(split.size(i), []).append(i)
        bar = _tqdm(total=len(split), desc=desc)
        for idx in by_size.values():
            for s in range(0, len(idx), self.cfg.eval_batch):
                chunk = idx[s : s + self.cfg.eval_batch]
                pixels = [split.pixels(i) for i in chunk]
                groups = [chunk] if len({p.shape for p in pixels}) == 1 else [[i] for i in chunk]
                for g in groups:
                    x = self.to_tensor(pixels if len(groups) == 1 else [pixels[chunk.index(g[0])]]).to(self.device)
                    with self._autocast():
                        out[g] = self.net(x).logits.squeeze(-1).float().cpu().numpy()
                bar.update(len(chunk))
        bar.close()
        return out

    def predict(self, split, desc: str = "predict") -> np.ndarray:
        """P(fake) per row, on the full image."""
        return _sigmoid(self._full_logits(split, desc))

    # --- persistence -------------------------------------------------------------------------------
    def tensors(self) -> dict:
        return {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}

    def meta(self) -> dict:
        conf = self.net.config.to_dict()
        keep = {k: conf[k] for k in ("num_channels", "embedding_size", "hidden_sizes", "depths", "layer_type",
                                     "hidden_act", "downsample_in_first_stage", "downsample_in_bottleneck")
                if k in conf}
        return {"hf_config": {**keep, "num_labels": 1}, "stem": self.stem,
                "parameters": int(sum(p.numel() for p in self.net.parameters()))}

    @classmethod
    def restore(cls, cfg, meta: dict, tensors: dict) -> "ResNetDetector":
        stem = meta.get("stem", "conv-s1")  # saved before the max-pool was restored: no pool
        net = build_network(cfg, hf_config=meta["hf_config"], stem=stem)
        net.load_state_dict(tensors)
        return cls(cfg, net, stem=stem)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return torch.sigmoid(torch.from_numpy(np.asarray(logits, dtype=np.float64))).numpy()


def _state(net: nn.Module) -> dict:
    return copy.deepcopy({k: v.detach().cpu() for k, v in net.state_dict().items()})


def _line(e: dict, better: bool) -> str:
    val = ""
    if "val_balanced_acc" in e:
        val = f" val_bal_acc={e['val_balanced_acc']:.3f} val_ap={e['val_ap'] or 0:.3f} val_loss={e['val_loss']:.4f}"
    loss = f" train_loss={e['train_loss']:.4f}" if "train_loss" in e else ""
    return f"  epoch {e['epoch']:3d} lr={e['lr']:.0e}{loss}{val}{' *' if better else ''}"
