"""UnivFD's linear probe: one linear layer (768 -> 1) on frozen CLIP image features.

Reference: WisconsinAIVision/UniversalFakeDetect (train.py, networks/trainer.py, options/, and the
EarlyStopping class train.py imports from Wang et al.'s CNNDetection, earlystop.py, which UnivFD's
repository does not ship: issue #5). The weight is initialised normal(0, 0.02) (trainer.py:16; the
bias keeps PyTorch's default); AdamW lr 1e-4, betas (0.9, 0.999), no weight decay, batches of 256
images, BCE on the logit. After each epoch the validation accuracy at 0.5 decides: it must reach the
best + `min_delta` (0.001) to count as better; after `patience` (5) epochs without a better one the
learning rate is divided by 10 (training stops once it falls below `min_lr`, 1e-6) and the stopper
starts afresh with `min_delta_after_drop` (0.002): the next epoch's accuracy becomes the best. At most
`max_epochs` (100). The weights kept are those of the last epoch the stopper saved (an improvement,
or the first epoch after an lr drop), which is UnivFD's `best` checkpoint.

Two modes:
- `train_augment: true` (UnivFD): every epoch recomputes the training features from UnivFD's
  augmentation (probe_augment.py: resize 256, blur, JPEG, random 224 crop, flip), drawn per image
  and epoch; validation features come from UnivFD's validation transform, drawn once.
- `train_augment: false` (`preset: light`): cached features of the stored images (UnivFD's test
  transform), computed once: the probe sees the images a toolkit build already augmented identically
  for both members of each pair, and a second run computes nothing.
Test features always use UnivFD's test transform (features.py, "univfd"), cached.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from toolkit.seeding import derive_seed, rng_for
from toolkit.detectors import probe_augment
from toolkit.detectors.features import FeatureExtractor, normalize
from toolkit.detectors.metrics import average_precision


def init_linear(dim: int, seed: int) -> nn.Linear:
    torch.manual_seed(derive_seed(seed, "detector-init") % (2 ** 31))
    linear = nn.Linear(dim, 1)
    with torch.no_grad():
        nn.init.normal_(linear.weight, 0.0, 0.02)  # trainer.py:16 (init_gain 0.02, base_options.py:44)
    return linear


class UnivFDStopper:
    """CNNDetection's EarlyStopping as UnivFD uses it (train.py:44, 75-83): `delta=-min_delta`, so a
    score counts as better when it is >= best + min_delta; a fresh stopper after each lr drop."""

    def __init__(self, patience: int, min_delta: float):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.counter, self.early_stop = None, 0, False

    def __call__(self, score: float) -> bool:
        """True when this epoch is saved as the best (the first call, or an improvement)."""
        if self.best is not None and score < self.best + self.min_delta:
            self.counter += 1
            if self.counter >= self.patience:
                self.early_stop = True
            return False
        self.best, self.counter = score, 0
        return True


class ClipProbeDetector:
    kind = "clip-probe"

    def __init__(self, cfg, linear: nn.Linear | None = None, preprocess: str = "univfd"):
        self.cfg = cfg
        self.preprocess = preprocess
        self.extractor = FeatureExtractor(cfg.model, cfg.device, cfg.feature_batch, cfg.cache_dir,
                                          precision=cfg.precision, preprocess=preprocess)
        self.linear = linear

    # --- features ----------------------------------------------------------------------------------
    def _crop(self) -> int:
        return self.cfg.augment.crop or self.extractor.image_size

    def augmented_features(self, split, epoch: int | None, desc: str) -> np.ndarray:
        """Features of every row under UnivFD's training transform (drawn for `epoch`), or under its
        validation transform when `epoch` is None."""
        from tqdm.auto import tqdm

        aug, crop = self.cfg.augment, self._crop()
        out = []
        bar = tqdm(total=len(split), desc=desc, leave=False, dynamic_ncols=True, mininterval=0.5)
        step = max(1, self.cfg.feature_batch)
        for s in range(0, len(split), step):
            crops = []
            for i in range(s, min(len(split), s + step)):
                px = split.pixels(i)
                key = probe_augment.row_key(split, i, aug.paired)
                plan = (probe_augment.draw_val(aug, crop, px.shape[:2], self.cfg.seed, key) if epoch is None else
                        probe_augment.draw(aug, crop, px.shape[:2], self.cfg.seed, key, epoch))
                crops.append(normalize(probe_augment.apply(plan, px)))
            out.append(self.extractor.embed(crops))
            bar.update(len(crops))
        bar.close()
        return np.concatenate(out).astype(np.float32)

    # --- training ----------------------------------------------------------------------------------
    def fit(self, train, val, echo=print) -> list[dict]:
        cfg = self.cfg
        from tqdm.auto import tqdm

        ytr = torch.from_numpy(train.labels.astype(np.float32))
        if cfg.shuffle_labels:
            ytr = ytr[torch.from_numpy(rng_for(cfg.seed, "shuffle-labels").permutation(len(ytr)))]
        if cfg.train_augment:
            xva = self.augmented_features(val, None, "features val (UnivFD val transform)") if len(val) else None
            xtr = None
            dim = xva.shape[1] if xva is not None else int(self.extractor.model().config.projection_dim)
        else:
            xtr = torch.from_numpy(self.extractor.features(train, "features train"))
            xva = self.extractor.features(val, "features val") if len(val) else None
            dim = xtr.shape[1]
        xva = torch.from_numpy(xva) if xva is not None else None
        self.linear = init_linear(dim, cfg.seed)
        lr = cfg.lr
        opt = torch.optim.AdamW(self.linear.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=cfg.weight_decay)
        lossf = nn.BCEWithLogitsLoss()
        stopper = UnivFDStopper(cfg.patience, cfg.min_delta)
        kept, kept_epoch, history = copy.deepcopy(self.linear.state_dict()), 0, []
        bar = tqdm(range(cfg.max_epochs), desc="probe", leave=False, dynamic_ncols=True, mininterval=0.5)
        for epoch in bar:
            x = xtr if xtr is not None else torch.from_numpy(
                self.augmented_features(train, epoch, f"features train (epoch {epoch + 1})"))
            order = torch.from_numpy(rng_for(cfg.seed, "detector-order", epoch).permutation(len(ytr)))
            total = 0.0
            for s in range(0, len(order), cfg.batch_size):
                idx = order[s : s + cfg.batch_size]
                loss = lossf(self.linear(x[idx]).squeeze(-1), ytr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            entry = {"epoch": epoch + 1, "lr": lr, "train_loss": total / len(order)}
            saved = True
            if xva is not None:
                with torch.no_grad():
                    p = torch.sigmoid(self.linear(xva).squeeze(-1)).double().numpy()
                y = val.labels
                entry["val_acc"] = self._val_acc(p, y)
                entry["val_ap"] = average_precision(y, p)
                pc = np.clip(p, 1e-7, 1 - 1e-7)
                entry["val_loss"] = float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc)))
                saved = stopper(entry["val_acc"])
            if saved:
                kept, kept_epoch = copy.deepcopy(self.linear.state_dict()), epoch + 1
            history.append(entry)
            bar.set_postfix(loss=f"{entry['train_loss']:.4f}", val_acc=f"{entry.get('val_acc', 0):.3f}")
            if stopper.early_stop:
                lr = lr / 10.0  # trainer.py:45-50
                if lr < cfg.min_lr:
                    echo(f"  probe: early stop, lr fell below {cfg.min_lr:g}")
                    break
                for g in opt.param_groups:
                    g["lr"] = lr
                stopper = UnivFDStopper(cfg.patience, cfg.min_delta_after_drop)  # train.py:80
        bar.close()
        self.linear.load_state_dict(kept)
        self.best_epoch, self.epochs_trained = kept_epoch, len(history)
        last = history[-1]
        echo(f"  probe: {len(history)} epochs ({'UnivFD augmentation' if cfg.train_augment else 'cached features'}), "
             f"weights of epoch {kept_epoch}, last val acc {last.get('val_acc', float('nan')):.3f}, "
             f"last train loss {last['train_loss']:.4f}")
        return history

    @staticmethod
    def _val_acc(p: np.ndarray, y: np.ndarray) -> float:
        """accuracy_score(y, p > 0.5) (validate.py:93), UnivFD's early-stopping score (train.py:70, 75)."""
        return float(((p > 0.5) == (y == 1)).mean())

    @torch.no_grad()
    def predict(self, split, desc: str = "predict") -> np.ndarray:
        x = torch.from_numpy(self.extractor.features(split, f"features {desc}"))
        return torch.sigmoid(self.linear(x).squeeze(-1)).double().numpy()

    def tensors(self) -> dict:
        return {k: v.detach().contiguous() for k, v in self.linear.state_dict().items()}

    def meta(self) -> dict:
        return {"feature_model": self.cfg.model, "feature_fingerprint": self.extractor.fingerprint,
                "preprocess": self.preprocess, "parameters": int(sum(p.numel() for p in self.linear.parameters()))}

    @classmethod
    def restore(cls, cfg, meta: dict, tensors: dict) -> "ClipProbeDetector":
        w = tensors["weight"]
        linear = nn.Linear(w.shape[1], 1)
        linear.load_state_dict(tensors)
        return cls(cfg, linear, preprocess=meta.get("preprocess", "upscale"))  # saved before: upscaled crops
