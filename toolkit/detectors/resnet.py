"""The alignment paper's reference detector: a ResNet-50 with one logit.

Built on transformers' `ResNetForImageClassification` (ImageNet weights by `from_pretrained`, a hub id
or a local path; or random init from a `ResNetConfig`). Changes from the ImageNet model, as in the
paper's code: the stem keeps full resolution (stride-1 7x7 conv, no max-pool), so the first blocks
see the generator's pixel-level traces undecimated; the head is dropout 0.5 + one linear logit.

Training: Adam, batches of whole pairs (real and fakes of a pair in the same batch, augmented with
the same draw), crops of `crop` px after the augmentation chain, early stopping on validation
balanced accuracy (ties broken by validation loss): after `patience` epochs without a better one
the learning rate is divided by 10, and training stops once it falls below `min_lr`; the best
epoch's weights are kept. Evaluation runs on the full image: global average pooling followed by the
linear head equals the spatial average of per-position logits, which is the paper's evaluation.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from ..seeding import derive_seed, rng_for
from . import augment, device as dev
from .metrics import accuracies, average_precision

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # ImageNet, what the weights were trained with
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _tqdm(**kw):
    from tqdm.auto import tqdm

    return tqdm(dynamic_ncols=True, leave=False, mininterval=0.5, **kw)


def build_network(cfg, hf_config: dict | None = None) -> nn.Module:
    """The network for `cfg`; `hf_config` (a saved ResNetConfig dict) rebuilds a trained one."""
    from transformers import ResNetConfig, ResNetForImageClassification

    torch.manual_seed(derive_seed(cfg.seed, "detector-init") % (2 ** 31))
    if hf_config is not None:
        model = ResNetForImageClassification(ResNetConfig(**hf_config))
    elif cfg.model is None:
        model = ResNetForImageClassification(ResNetConfig(**{**dict(cfg.arch), "num_labels": 1}))
    elif cfg.pretrained:
        model = _load(cfg.model, lambda: ResNetForImageClassification.from_pretrained(
            cfg.model, num_labels=1, ignore_mismatched_sizes=True, **dict(cfg.arch)))
    else:
        conf = _load(cfg.model, lambda: ResNetConfig.from_pretrained(cfg.model, num_labels=1, **dict(cfg.arch)))
        model = ResNetForImageClassification(conf)
    model.config.num_labels = 1
    if not cfg.stem_downsample:
        model.resnet.embedder.embedder.convolution.stride = (1, 1)
        model.resnet.embedder.pooler = nn.Identity()
    width = model.config.hidden_sizes[-1]
    model.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(cfg.dropout), nn.Linear(width, 1))
    return model


def _load(name: str, fn):
    from ..errors import ToolkitError

    try:
        return fn()
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ToolkitError(f"detector.model {name!r}: cannot load ({first}); offline, use a local path or "
                           "model=null with arch=... for random init") from None


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    x = np.stack(images).astype(np.float32) / 255.0
    x = (x - MEAN) / STD
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


class ResNetDetector:
    kind = "resnet50"

    def __init__(self, cfg, net: nn.Module | None = None):
        self.cfg = cfg
        self.device = dev.pick(cfg.device)
        self.net = (net or build_network(cfg)).to(self.device)
        self.threshold = 0.5

    # pixels -> network input; a subclass with other inputs (fakeinversion: 9 channels) overrides these
    to_tensor = staticmethod(to_tensor)
    augment_apply = staticmethod(augment.apply)

    # --- training ----------------------------------------------------------------------------------
    def fit(self, train, val, echo=print) -> list[dict]:
        cfg = self.cfg
        labels = train.labels.copy()
        if cfg.shuffle_labels:
            labels = labels[rng_for(cfg.seed, "shuffle-labels").permutation(len(labels))]
        pairs = train.pairs()
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        lossf = nn.BCEWithLogitsLoss()
        lr, best, best_state, bad, history = cfg.lr, None, None, 0, []
        for epoch in range(cfg.max_epochs):
            self.net.train()
            order = rng_for(cfg.seed, "detector-order", epoch).permutation(len(pairs))
            nb = math.ceil(len(pairs) / cfg.pairs_per_batch)
            bar = _tqdm(total=nb, desc=f"epoch {epoch + 1}")
            total, count = 0.0, 0
            for b in range(nb):
                batch = [pairs[j] for j in order[b * cfg.pairs_per_batch : (b + 1) * cfg.pairs_per_batch]]
                imgs, ys = [], []
                for members in batch:
                    first = train.pixels(members[0])
                    plan = augment.draw(cfg.augment, cfg.crop, first.shape[:2], cfg.seed,
                                        train.pair_ids[members[0]], epoch)
                    for k, i in enumerate(members):
                        imgs.append(self.augment_apply(plan, first if k == 0 else train.pixels(i)))
                        ys.append(float(labels[i]))
                x = self.to_tensor(imgs).to(self.device)
                y = torch.tensor(ys, device=self.device)
                with dev.autocast(self.device):
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
                scores = self.predict(val, desc="val")
                p = np.clip(scores, 1e-7, 1 - 1e-7)
                entry.update({"val_loss": float(-np.mean(val.labels * np.log(p) + (1 - val.labels) * np.log(1 - p))),
                              "val_balanced_acc": accuracies(val.labels, scores)["balanced_acc"],
                              "val_ap": average_precision(val.labels, scores)})
                key = (entry["val_balanced_acc"], -entry["val_loss"])
            else:
                key = (0.0, -entry["train_loss"])
            history.append(entry)
            improved = best is None or key > best
            if improved:
                best, bad = key, 0
                best_state = copy.deepcopy({k: v.detach().cpu() for k, v in self.net.state_dict().items()})
            else:
                bad += 1
            echo(_line(entry, improved))
            if bad >= cfg.patience:
                lr *= cfg.lr_factor
                bad = 0
                if lr < cfg.min_lr * (1 - 1e-6):
                    echo(f"  early stop: lr fell below {cfg.min_lr:g}")
                    break
                for g in opt.param_groups:
                    g["lr"] = lr
        if best_state is not None:
            self.net.load_state_dict(best_state)
        return history

    # --- inference ---------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, split, desc: str = "predict") -> np.ndarray:
        """P(fake) per row, on the full image; rows are batched by stored size (read from the header,
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
                    with dev.autocast(self.device):
                        logits = self.net(x).logits.squeeze(-1).float()
                    out[g] = torch.sigmoid(logits).cpu().numpy()
                bar.update(len(chunk))
        bar.close()
        return out

    # --- persistence -------------------------------------------------------------------------------
    def tensors(self) -> dict:
        return {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}

    def meta(self) -> dict:
        conf = self.net.config.to_dict()
        keep = {k: conf[k] for k in ("num_channels", "embedding_size", "hidden_sizes", "depths", "layer_type",
                                     "hidden_act", "downsample_in_first_stage", "downsample_in_bottleneck")
                if k in conf}
        return {"hf_config": {**keep, "num_labels": 1},
                "parameters": int(sum(p.numel() for p in self.net.parameters()))}

    @classmethod
    def restore(cls, cfg, meta: dict, tensors: dict) -> "ResNetDetector":
        net = build_network(cfg, hf_config=meta["hf_config"])
        net.load_state_dict(tensors)
        return cls(cfg, net)


def _line(e: dict, improved: bool) -> str:
    val = ""
    if "val_balanced_acc" in e:
        val = f" val_bal_acc={e['val_balanced_acc']:.3f} val_ap={e['val_ap'] or 0:.3f} val_loss={e['val_loss']:.4f}"
    return f"  epoch {e['epoch']:3d} lr={e['lr']:.0e} train_loss={e['train_loss']:.4f}{val}{' *' if improved else ''}"
