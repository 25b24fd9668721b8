"""Frozen CLIP image features, cached on disk so a second run does not recompute them.

Rows are cut into blocks of BLOCK consecutive rows of a split (the unit of caching, like a build's
shard). A block's cache key is the sha256 of: the model's fingerprint (id + config + weight files), the
preprocessing version, the precision it ran at, the perturbation tag (robustness sweep) and the sha256
of every image's bytes in it. So a rebuilt dataset with new bytes, another model or another
perturbation never reuses a stale file, and an unchanged one is never recomputed; the model is not even
loaded when every block is cached. Files are written under a temporary name and renamed (a killed run
leaves no half file).

Preprocessing (`preprocess=`):
- "univfd" (the detectors): UnivFD's test transform (WisconsinAIVision/UniversalFakeDetect,
  validate.py:198-202): torchvision's CenterCrop to the model's input size (224 for ViT-L/14) with
  its offset rounding (`int(round((H - 224) / 2))`, Python's round-half-to-even) and zero padding of
  any side shorter than the crop (no resizing), then CLIP's normalisation.
- "upscale" (retrieval, and detectors saved before the UnivFD transform): images whose short side is
  smaller are upscaled bicubically, then a centre crop at floor offsets.
The feature is the projected image embedding (768-d for ViT-L/14), what UnivFD's
`CLIPModel.forward` feeds its linear layer (`self.model.encode_image(x)`, models/clip_models.py:20):
CLIP's visual projection of the layer-normed class token.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from toolkit.detectors import device as dev

BLOCK = 512
PREPROCESS_VERSIONS = {"univfd": "univfd-center-crop-v2", "upscale": "center-crop-v1"}
PREPROCESS_VERSION = PREPROCESS_VERSIONS["upscale"]  # the earlier name, kept for importers
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
STATS = {"computed": 0, "reused": 0}  # rows whose features were computed / read from the cache


def default_cache_dir() -> Path:
    return Path(os.environ.get("TOOLKIT_CACHE", Path.home() / ".cache" / "toolkit")) / "features"


def model_fingerprint(name: str) -> str:
    """Identity of the model's weights without loading it: id + config + weight files (size, head, tail)."""
    path = Path(name)
    if not path.is_dir():
        try:
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(name, local_files_only=True))
        except Exception:  # noqa: BLE001 - not cached: the id alone (loading will say what is wrong)
            return hashlib.sha256(name.encode()).hexdigest()[:16]
    h = hashlib.sha256(name.encode())
    for f in sorted(path.iterdir()):
        if f.suffix in (".json",):
            h.update(f.name.encode() + f.read_bytes())
        elif f.suffix in (".safetensors", ".bin"):
            size = f.stat().st_size
            with open(f, "rb") as fh:
                head = fh.read(4 << 20)
                fh.seek(max(0, size - (4 << 20)))
                tail = fh.read()
            h.update(f"{f.name}:{size}".encode() + hashlib.sha256(head + tail).digest())
    return h.hexdigest()[:16]


def center_crop(arr: np.ndarray, size: int) -> np.ndarray:
    """torchvision's `center_crop` on HxWxC uint8: sides shorter than `size` are zero-padded
    ((size - side) // 2 before, the rest after), then the crop starts at int(round((side - size) / 2))."""
    h, w = arr.shape[:2]
    if h < size or w < size:
        ph, pw = max(0, size - h), max(0, size - w)
        arr = np.pad(arr, ((ph // 2, (ph + 1) // 2), (pw // 2, (pw + 1) // 2), (0, 0)))
        h, w = arr.shape[:2]
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return arr[top : top + size, left : left + size]


def normalize(crop: np.ndarray) -> np.ndarray:
    return (crop.astype(np.float32) / 255.0 - CLIP_MEAN) / CLIP_STD


def upscale_center_crop(arr: np.ndarray, size: int) -> np.ndarray:
    h, w = arr.shape[:2]
    if min(h, w) < size:
        s = size / min(h, w)
        arr = np.asarray(Image.fromarray(arr).resize((max(size, round(w * s)), max(size, round(h * s))), Image.BICUBIC))
        h, w = arr.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return arr[y : y + size, x : x + size]


def preprocess(arr: np.ndarray, size: int, mode: str = "upscale") -> np.ndarray:
    crop = center_crop(arr, size) if mode == "univfd" else upscale_center_crop(arr, size)
    return normalize(crop)


class FeatureExtractor:
    def __init__(self, model: str, device: str = "auto", batch: int = 32, cache_dir: str | None = None,
                 precision: str = "bfloat16", preprocess: str = "upscale"):
        if preprocess not in PREPROCESS_VERSIONS:
            raise ValueError(f"preprocess: must be one of {', '.join(PREPROCESS_VERSIONS)}, got {preprocess!r}")
        self.name = model
        self.device = dev.pick(device)
        self.batch = batch
        self.precision = precision
        self.mode = preprocess
        self.cache = Path(cache_dir) if cache_dir else default_cache_dir()
        self.fingerprint = model_fingerprint(model)
        self._model = None

    def model(self):
        if self._model is None:
            from transformers import CLIPVisionModelWithProjection

            from toolkit.models import load_error

            try:
                m = CLIPVisionModelWithProjection.from_pretrained(self.name)
            except (OSError, ValueError) as e:
                raise load_error(f"detector.model {self.name!r}: cannot load", e) from None
            self._model = m.eval().to(self.device)
        return self._model

    @property
    def image_size(self) -> int:
        return int(self.model().config.image_size)

    def block_key(self, split, start: int, stop: int) -> str:
        amp = "bf16" if dev.uses_bf16(self.device, self.precision) else "fp32"
        h = hashlib.sha256(f"{self.fingerprint}\x1f{PREPROCESS_VERSIONS[self.mode]}\x1f{amp}\x1f{split.tag}".encode())
        for i in range(start, stop):
            h.update(hashlib.sha256(split.images[i]).digest())
        return h.hexdigest()

    def features(self, split, desc: str = "features") -> np.ndarray:
        from tqdm.auto import tqdm

        blocks = []
        bar = tqdm(total=len(split), desc=desc, leave=False, dynamic_ncols=True, mininterval=0.5)
        for start in range(0, len(split), BLOCK):
            stop = min(len(split), start + BLOCK)
            path = self.cache / f"{self.block_key(split, start, stop)}.npy"
            if path.exists():
                blocks.append(np.load(path))
                STATS["reused"] += stop - start
            else:
                feats = self._compute(split, range(start, stop))
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{uuid.uuid4().hex}.tmp.npy")
                np.save(tmp, feats)
                os.replace(tmp, path)
                blocks.append(feats)
                STATS["computed"] += stop - start
            bar.update(stop - start)
        bar.close()
        if not blocks:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(blocks).astype(np.float32)

    def _compute(self, split, rows) -> np.ndarray:
        size = self.image_size
        rows = list(rows)
        out = [self.embed([preprocess(split.pixels(i), size, self.mode) for i in rows[s : s + self.batch]])
               for s in range(0, len(rows), self.batch)]
        return np.concatenate(out)

    @torch.no_grad()
    def embed(self, normalized: list[np.ndarray]) -> np.ndarray:
        """Projected image embeddings of preprocessed (normalised HxWx3 float32) crops, `batch` at a time."""
        model = self.model()
        out = []
        for s in range(0, len(normalized), self.batch):
            x = torch.from_numpy(np.stack(normalized[s : s + self.batch])).permute(0, 3, 1, 2).to(self.device)
            with dev.autocast(self.device, self.precision):
                emb = model(pixel_values=x).image_embeds
            out.append(emb.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)
