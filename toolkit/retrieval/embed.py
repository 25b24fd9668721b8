"""CLIP embeddings of a dataset's rows for retrieval: image (the detectors' cached CLIP image features,
toolkit/detectors/features.py) and caption (the same model's text tower, when it has one)."""

from __future__ import annotations

import numpy as np

from toolkit.retrieval.index import normalise


def image_embeddings(split, model: str, device: str = "auto", batch: int = 32, cache_dir: str | None = None,
                     desc: str = "clip image") -> np.ndarray:
    from toolkit.detectors.features import FeatureExtractor

    if len(split) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    return normalise(FeatureExtractor(model, device=device, batch=batch, cache_dir=cache_dir).features(split, desc))


class TextEmbedder:
    """CLIP text embeddings (projected, L2-normalised); `available` is False for a vision-only checkpoint."""

    def __init__(self, model: str, device: str = "auto", batch: int = 64):
        from toolkit.detectors import device as dev

        self.device = dev.pick(device)
        self.batch = batch
        self.model = self.tokenizer = None
        try:
            from transformers import AutoTokenizer, CLIPTextModelWithProjection

            self.tokenizer = AutoTokenizer.from_pretrained(model)
            self.model = CLIPTextModelWithProjection.from_pretrained(model).eval().to(self.device)
        except (OSError, ValueError, KeyError, TypeError):
            self.model = None

    @property
    def available(self) -> bool:
        return self.model is not None

    def __call__(self, captions: list) -> np.ndarray:
        """One row per caption; rows without a caption are zeros (they add nothing to a score)."""
        import torch

        dim = self.model.config.projection_dim
        out = np.zeros((len(captions), dim), dtype=np.float32)
        todo = [i for i, c in enumerate(captions) if c and str(c).strip()]
        for s in range(0, len(todo), self.batch):
            idx = todo[s : s + self.batch]
            tok = self.tokenizer([str(captions[i]) for i in idx], padding=True, truncation=True,
                                 max_length=self.tokenizer.model_max_length, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                emb = self.model(**tok).text_embeds.float().cpu().numpy()
            out[idx] = normalise(emb)
        return out
