"""UnivFD's nearest-neighbour detector: cosine similarity to a bank of training features.

The score of an image is a soft vote of its k most similar training images: weights
softmax(similarity / temperature) over those k, P(fake) = weighted share of fakes. k=1 is UnivFD's
nearest neighbour exactly (a 0/1 score); k > 1 gives a ranking, which AP and ROC-AUC need.
Nothing is trained: the bank is the cached features of the training split, computed with UnivFD's
test transform (features.py; validation only picks the threshold).
"""

from __future__ import annotations

import numpy as np
import torch

from toolkit.seeding import rng_for
from toolkit.detectors.features import FeatureExtractor


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn_scores(bank: np.ndarray, bank_labels: np.ndarray, query: np.ndarray, k: int, temperature: float) -> np.ndarray:
    sims = _unit(query) @ _unit(bank).T
    k = min(k, bank.shape[0])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    s = np.take_along_axis(sims, top, axis=1)
    w = np.exp((s - s.max(axis=1, keepdims=True)) / temperature)
    return (w * bank_labels[top]).sum(axis=1) / w.sum(axis=1)


class ClipKnnDetector:
    kind = "clip-knn"

    def __init__(self, cfg, bank: np.ndarray | None = None, bank_labels: np.ndarray | None = None,
                 preprocess: str = "univfd"):
        self.cfg = cfg
        self.preprocess = preprocess
        self.extractor = FeatureExtractor(cfg.model, cfg.device, cfg.feature_batch, cfg.cache_dir,
                                          precision=cfg.precision, preprocess=preprocess)
        self.bank, self.bank_labels = bank, bank_labels

    def fit(self, train, val, echo=print) -> list[dict]:
        self.bank = self.extractor.features(train, "features train")
        labels = train.labels.astype(np.float64)
        if self.cfg.shuffle_labels:
            labels = labels[rng_for(self.cfg.seed, "shuffle-labels").permutation(len(labels))]
        self.bank_labels = labels
        echo(f"  knn: bank of {len(labels)} features ({int(labels.sum())} fake), k={self.cfg.k}")
        return [{"bank": int(len(labels))}]

    def predict(self, split, desc: str = "predict") -> np.ndarray:
        q = self.extractor.features(split, f"features {desc}")
        return knn_scores(self.bank, self.bank_labels, q, self.cfg.k, self.cfg.temperature)

    def tensors(self) -> dict:
        return {"bank": torch.from_numpy(np.ascontiguousarray(self.bank, dtype=np.float32)),
                "bank_labels": torch.from_numpy(np.ascontiguousarray(self.bank_labels, dtype=np.float32))}

    def meta(self) -> dict:
        return {"feature_model": self.cfg.model, "feature_fingerprint": self.extractor.fingerprint,
                "preprocess": self.preprocess, "parameters": 0, "bank": int(len(self.bank_labels))}

    @classmethod
    def restore(cls, cfg, meta: dict, tensors: dict) -> "ClipKnnDetector":
        return cls(cfg, tensors["bank"].numpy(), tensors["bank_labels"].numpy().astype(np.float64),
                   preprocess=meta.get("preprocess", "upscale"))  # saved before: upscaled crops
