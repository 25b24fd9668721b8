"""`kind: freq-probe`: a logistic regression on hand-made frequency features of the full image.

Why it exists: offline studies need a detector that can learn *compression and upsampling cues* on a
CPU in seconds, so that the papers' effects (a detector trained on JPEG reals and PNG fakes learns the
format; matched augmentation; quantisation shortcuts) can be measured with repeats. A random-init CNN
trained for a few CPU minutes cannot even separate q75 JPEG from PNG on identical pixels (issue 20);
these features expose such cues directly, at full resolution, never resized or cropped:

- the high-pass residual's power spectrum (luma minus its 3x3 mean), averaged over a `bins` x `bins`
  grid of folded frequencies in [0, 0.5] cycles/pixel, plus the power at the exact periods 2 and 4
  (checkerboard and upsampling residue) relative to the whole spectrum;
- JPEG blocking: mean absolute neighbour difference per position modulo 8, horizontal and vertical,
  relative to the image's mean difference;
- 8x8 block DCT: the share of near-zero coefficients per frequency (JPEG quantisation zeroes them);
- intensity: mean, spread, and the shares of pixels at 0 and 255.

Not a paper's detector: a transparent instrument for controlled experiments. Training is
scikit-learn's L2-regularised logistic regression (lbfgs) on standardised features; the seed only
changes which pairs are held out for validation (and the subsample, with max_train_pairs).
"""

from __future__ import annotations

import numpy as np
import torch

FEATURE_VERSION = 1


def _luma(px: np.ndarray) -> np.ndarray:
    x = px.astype(np.float64)
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def _spectrum(y: np.ndarray, bins: int) -> list[float]:
    from scipy.ndimage import uniform_filter

    r = y - uniform_filter(y, size=3, mode="reflect")
    p = np.abs(np.fft.fft2(r)) ** 2 / r.size
    fy = np.abs(np.fft.fftfreq(r.shape[0]))[:, None]
    fx = np.abs(np.fft.fftfreq(r.shape[1]))[None, :]
    by = np.minimum((fy * 2 * bins).astype(int), bins - 1)
    bx = np.minimum((fx * 2 * bins).astype(int), bins - 1)
    idx = (by * bins + bx).ravel()
    sums = np.bincount(idx, weights=p.ravel(), minlength=bins * bins)
    counts = np.maximum(np.bincount(idx, minlength=bins * bins), 1)
    total = p.mean() + 1e-9
    out = list(np.log(sums / counts + 1e-6))
    for period in (2, 4):  # power at exactly 1/period cycles/pixel, along each axis and both
        ky, kx = r.shape[0] // period, r.shape[1] // period
        for (a, b) in ((ky, 0), (0, kx), (ky, kx)):
            out.append(float(np.log(p[a, b] / total + 1e-6)) if r.shape[0] % period == 0 == r.shape[1] % period
                       else 0.0)
    return out


def _blocking(y: np.ndarray) -> list[float]:
    out = []
    for d in (np.abs(np.diff(y, axis=1)).mean(axis=0), np.abs(np.diff(y, axis=0)).mean(axis=1)):
        mean = d.mean() + 1e-6  # d: mean absolute difference per column (row) position
        phase = np.bincount(np.arange(len(d)) % 8, weights=d, minlength=8)
        count = np.bincount(np.arange(len(d)) % 8, minlength=8)
        out += [float(np.log(p / c / mean + 1e-6)) if c else 0.0 for p, c in zip(phase, count)]
    return out


def _dct_zeros(y: np.ndarray) -> list[float]:
    from scipy.fft import dctn

    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    if h == 0 or w == 0:
        return [0.0] * 64
    blocks = (y[:h, :w] - 128.0).reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)
    c = dctn(blocks, axes=(2, 3), norm="ortho")
    return list((np.abs(c) < 0.5).mean(axis=(0, 1)).ravel())


def features(px: np.ndarray, bins: int = 8) -> np.ndarray:
    """The feature vector of one HxWx3 uint8 image (length bins^2 + 6 + 16 + 64 + 4)."""
    y = _luma(px)
    inten = [px.mean() / 255.0, px.std() / 255.0, float((px == 0).mean()), float((px == 255).mean())]
    return np.asarray(_spectrum(y, bins) + _blocking(y) + _dct_zeros(y) + inten, dtype=np.float64)


_CACHE: dict = {}  # (transform tag, sha256 of the stored bytes, bins) -> features; a study evaluates many
_CACHE_MAX = 500_000  # models on the same images: each image's features are computed once per process


def split_features(split, bins: int) -> np.ndarray:
    """Features of every row of a detectors.data.Split, memoised by image bytes and perturbation."""
    import hashlib

    rows = []
    cacheable = split.transform is None or bool(split.tag)  # an unnamed transform: never cached
    for i in range(len(split)):
        key = (split.tag or "", hashlib.sha256(split.images[i]).hexdigest(), bins)
        f = _CACHE.get(key) if cacheable else None
        if f is None:
            f = features(split.pixels(i), bins)
            if cacheable and len(_CACHE) < _CACHE_MAX:
                _CACHE[key] = f
        rows.append(f)
    return np.stack(rows)


class FreqProbeDetector:
    kind = "freq-probe"

    def __init__(self, cfg, mean=None, std=None, weight=None, bias: float = 0.0):
        self.cfg = cfg
        self.mean, self.std, self.weight, self.bias = mean, std, weight, bias
        self.threshold = 0.5

    def _features(self, split, desc: str) -> np.ndarray:
        return split_features(split, self.cfg.bins)

    def fit(self, train, val, echo=print) -> list[dict]:
        from sklearn.linear_model import LogisticRegression

        from toolkit.seeding import rng_for
        from toolkit.detectors.metrics import average_precision

        x = self._features(train, "train")
        y = train.labels.copy()
        if self.cfg.shuffle_labels:
            y = y[rng_for(self.cfg.seed, "shuffle-labels").permutation(len(y))]
        self.mean, self.std = x.mean(axis=0), x.std(axis=0) + 1e-6
        clf = LogisticRegression(C=self.cfg.c, max_iter=self.cfg.max_iter)
        clf.fit((x - self.mean) / self.std, y)
        self.weight, self.bias = clf.coef_[0].astype(np.float64), float(clf.intercept_[0])
        p = self._scores(x)
        entry = {"epoch": 1, "train_loss": float(-np.mean(y * np.log(np.clip(p, 1e-7, 1)) +
                                                            (1 - y) * np.log(np.clip(1 - p, 1e-7, 1))))}
        if len(val):
            entry["val_ap"] = average_precision(val.labels, self.predict(val, "val"))
        echo(f"  freq-probe: {x.shape[1]} features, {len(y)} images; train_loss={entry['train_loss']:.4f}"
             + (f" val_ap={entry['val_ap'] or 0:.3f}" if "val_ap" in entry else ""))
        self.epochs_trained, self.best_epoch = 1, 1
        return [entry]

    def _scores(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.std) @ self.weight + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))

    def predict(self, split, desc: str = "predict") -> np.ndarray:
        return self._scores(self._features(split, desc))

    def tensors(self) -> dict:
        return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)) for k, v in
                (("mean", self.mean), ("std", self.std), ("weight", self.weight), ("bias", np.asarray([self.bias])))}

    def meta(self) -> dict:
        return {"feature_version": FEATURE_VERSION, "parameters": int(len(self.weight) + 1)}

    @classmethod
    def restore(cls, cfg, meta: dict, tensors: dict) -> "FreqProbeDetector":
        t = {k: v.numpy() for k, v in tensors.items()}
        return cls(cfg, t["mean"], t["std"], t["weight"], float(t["bias"][0]))
