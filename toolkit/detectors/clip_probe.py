"""UnivFD's linear probe: one linear layer (768 -> 1) on frozen CLIP image features.

AdamW, lr 1e-4, batch 256, early stopping on validation AP (the best epoch's weights are kept).
Features come from the cache (features.py), so training never augments: the probe sees the stored
images, which a toolkit build already augmented identically for both members of each pair. That is
a deliberate difference from UnivFD's training-time blur/JPEG, and what makes features cacheable.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ..seeding import derive_seed, rng_for
from .features import FeatureExtractor
from .metrics import average_precision


class ClipProbeDetector:
    kind = "clip-probe"

    def __init__(self, cfg, linear: nn.Linear | None = None):
        self.cfg = cfg
        self.extractor = FeatureExtractor(cfg.model, cfg.device, cfg.feature_batch, cfg.cache_dir)
        self.linear = linear

    def fit(self, train, val, echo=print) -> list[dict]:
        cfg = self.cfg
        xtr = torch.from_numpy(self.extractor.features(train, "features train"))
        ytr = torch.from_numpy(train.labels.astype(np.float32))
        if cfg.shuffle_labels:
            ytr = ytr[torch.from_numpy(rng_for(cfg.seed, "shuffle-labels").permutation(len(ytr)))]
        xva = torch.from_numpy(self.extractor.features(val, "features val")) if len(val) else None
        torch.manual_seed(derive_seed(cfg.seed, "detector-init") % (2 ** 31))
        self.linear = nn.Linear(xtr.shape[1], 1)
        opt = torch.optim.AdamW(self.linear.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        lossf = nn.BCEWithLogitsLoss()
        best, best_state, bad, history = None, None, 0, []
        from tqdm.auto import tqdm

        bar = tqdm(range(cfg.max_epochs), desc="probe", leave=False, dynamic_ncols=True, mininterval=0.5)
        for epoch in bar:
            order = torch.from_numpy(rng_for(cfg.seed, "detector-order", epoch).permutation(len(ytr)))
            total = 0.0
            for s in range(0, len(order), cfg.batch_size):
                idx = order[s : s + cfg.batch_size]
                loss = lossf(self.linear(xtr[idx]).squeeze(-1), ytr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            entry = {"epoch": epoch + 1, "train_loss": total / len(order)}
            if xva is not None:
                with torch.no_grad():
                    p = torch.sigmoid(self.linear(xva).squeeze(-1)).numpy()
                entry["val_ap"] = average_precision(val.labels, p)
                pc = np.clip(p, 1e-7, 1 - 1e-7)
                entry["val_loss"] = float(-np.mean(val.labels * np.log(pc) + (1 - val.labels) * np.log(1 - pc)))
                key = (entry["val_ap"] or 0.0, -entry["val_loss"])
            else:
                key = (0.0, -entry["train_loss"])
            history.append(entry)
            bar.set_postfix(loss=f"{entry['train_loss']:.4f}", val_ap=f"{entry.get('val_ap') or 0:.3f}")
            if best is None or key > best:
                best, bad, best_state = key, 0, copy.deepcopy(self.linear.state_dict())
            else:
                bad += 1
                if bad >= cfg.patience:
                    break
        bar.close()
        self.linear.load_state_dict(best_state)
        last = history[-1]
        echo(f"  probe: {len(history)} epochs, best val AP {best[0]:.3f}, last train loss {last['train_loss']:.4f}")
        return history

    @torch.no_grad()
    def predict(self, split, desc: str = "predict") -> np.ndarray:
        x = torch.from_numpy(self.extractor.features(split, f"features {desc}"))
        return torch.sigmoid(self.linear(x).squeeze(-1)).double().numpy()

    def tensors(self) -> dict:
        return {k: v.detach().contiguous() for k, v in self.linear.state_dict().items()}

    def meta(self) -> dict:
        return {"feature_model": self.cfg.model, "feature_fingerprint": self.extractor.fingerprint,
                "parameters": int(sum(p.numel() for p in self.linear.parameters()))}

    @classmethod
    def restore(cls, cfg, meta: dict, tensors: dict) -> "ClipProbeDetector":
        w = tensors["weight"]
        linear = nn.Linear(w.shape[1], 1)
        linear.load_state_dict(tensors)
        return cls(cfg, linear)
