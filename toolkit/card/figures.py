"""The card's figures, as PNG files under OUT/meta/figures/ (no `configs` pattern matches meta/).

- `sample_grid.png`: rows of real | fake(s) | amplified |real - fake|, drawn with PIL from the exact
  bytes users get (JPEG/WebP members decoded as stored), so the grid shows what a detector sees.
- `histograms.png`: per label, the augmentation/format counts, the short side, and the codec quality;
  plus the per-pair PSNR of fake against real. Matched bars are what alignment looks like.

Both are deterministic (fixed sample: the first pairs of each shard in plan order; no timestamps in
the PNG metadata), so a rebuild rewrites identical bytes. The PSNRs are the only part that decodes
many images (64 pairs): in a build they are computed per data file in the shard tasks, in parallel
(`file_psnrs`, via `toolkit/card/parts.py`), so what runs after the last shard decodes only the grid's
few pairs and draws; a shard without a part (`toolkit card OUT`, a resumed build's finished shards) is
computed here, from the same bytes by the same function, so the figures do not depend on which.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from toolkit.sample import LABELS
from toolkit.store.layout import split_of
from toolkit.store.manifest import data_files

FIG_DIR = "meta/figures"
GRID_FILE = f"{FIG_DIR}/sample_grid.png"
HIST_FILE = f"{FIG_DIR}/histograms.png"
INFO_FILE = f"{FIG_DIR}/figures.json"
DIFF_GAIN = 8  # |real - fake| is multiplied by this (then clipped to 255) to make it visible
CELL = 128
PAD = 4
HEADER = 18
GRID_PAIRS = 6  # pairs in the sample grid
PSNR_PAIRS = 64  # pairs whose PSNR the histogram shows


def sample_files(out) -> list[str]:
    """The data files in the order the figures sample them: test split first when there is one."""
    files = data_files(out)
    return sorted(files, key=lambda r: (not r.startswith("data/test-"), files.index(r)))


def pairs_per_file(max_pairs: int, files: int) -> int:
    """How many pairs the figures take from each data file, so that a sample spans several shards."""
    return max(1, math.ceil(max_pairs / max(1, files)))


def first_pairs(out, rel: str, k: int) -> list[dict]:
    """The first `k` pairs of one data file that have a real and a fake, in row order, each
    `{pair_id, split, real: row, fakes: [row, ...]}` with image bytes; reads only as far as it needs."""
    taken: dict[str, dict] = {}
    with out.fs.open(out.path(rel), "rb") as f:
        pf = pq.ParquetFile(f)
        for batch in pf.iter_batches(batch_size=max(16, 4 * k), use_threads=False):
            for row in batch.to_pylist():
                p = taken.setdefault(row["pair_id"], {"pair_id": row["pair_id"], "split": split_of(rel),
                                                      "real": None, "fakes": []})
                if row["label"] == 0:
                    p["real"] = row
                else:
                    p["fakes"].append(row)
            complete = [p for p in taken.values() if p["real"] is not None and p["fakes"]]
            if len(complete) > k:
                break
    complete = [p for p in taken.values() if p["real"] is not None and p["fakes"]]
    return complete[:k]


def read_pairs(out, max_pairs: int = 8, per_shard: int | None = None, files: list[str] | None = None) -> list[dict]:
    """Up to `max_pairs` pairs `{pair_id, split, real: row, fakes: [row, ...]}`, rows with image bytes.

    Takes the first pairs of each shard in turn (test split first when there is one), so a grid shows
    several shards' content without reading whole shards."""
    files = sample_files(out) if files is None else files
    per_shard = per_shard or pairs_per_file(max_pairs, len(files))
    pairs: list[dict] = []
    for rel in files:
        if len(pairs) >= max_pairs:
            break
        pairs.extend(first_pairs(out, rel, per_shard)[: max_pairs - len(pairs)])
    return pairs


def pair_psnrs(pair: dict) -> list[float]:
    """PSNR of each fake of a pair against its real (fakes of another size are left out)."""
    real = None
    values = []
    for f in pair["fakes"]:
        if (pair["real"]["width"], pair["real"]["height"]) == (f["width"], f["height"]):
            real = decode(pair["real"]) if real is None else real
            values.append(psnr(real, decode(f)))
    return values


def file_psnrs(out, rel: str, k: int) -> dict:
    """One data file's contribution to the PSNR histogram: the PSNRs of its first `k` pairs (one list per
    pair). Computed in the shard task while the file is fresh (`toolkit/card/parts.py`), or here on the
    client; a part with a smaller `k` than the card needs is recomputed."""
    return {"k": k, "pairs": [pair_psnrs(p) for p in first_pairs(out, rel, k)]}


def decode(row: dict) -> np.ndarray:
    with Image.open(io.BytesIO(row["image"]["bytes"])) as im:
        return np.asarray(im.convert("RGB"))


def diff_image(real: np.ndarray, fake: np.ndarray, gain: int = DIFF_GAIN) -> np.ndarray:
    d = np.abs(real.astype(np.int16) - fake.astype(np.int16)) * gain
    return np.clip(d, 0, 255).astype(np.uint8)


def psnr(real: np.ndarray, fake: np.ndarray) -> float:
    """In integers: the sum of squared differences is exact (as the float64 sum of these integers was),
    so the MSE is the same correctly rounded quotient, without two float64 copies of each image."""
    d = np.subtract(real, fake, dtype=np.int16)
    sse = int(np.square(d, dtype=np.int32).sum(dtype=np.int64))
    mse = sse / d.size
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def _cell(arr: np.ndarray) -> Image.Image:
    im = Image.fromarray(arr)
    scale = CELL / max(im.size)
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im.resize(size, Image.NEAREST if scale >= 1 else Image.LANCZOS)


def grid_png(pairs: list[dict]) -> bytes:
    """real | fake | |diff| x GAIN for each pair (one column group per fake generator)."""
    n_fakes = max((len(p["fakes"]) for p in pairs), default=1)
    names = next((([f["source"] for f in p["fakes"]]) for p in pairs if len(p["fakes"]) == n_fakes), [])
    titles = ["real"] + [t for i in range(n_fakes)
                         for t in (f"fake: {names[i]}" if n_fakes > 1 and i < len(names) else "fake",
                                   f"|real-fake| x{DIFF_GAIN}")]
    cols = len(titles)
    w = cols * (CELL + PAD) + PAD
    h = HEADER + max(1, len(pairs)) * (CELL + PAD) + PAD
    canvas = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for c, t in enumerate(titles):
        draw.text((PAD + c * (CELL + PAD) + 2, 3), t, fill=(0, 0, 0))
    for r, p in enumerate(pairs):
        real = decode(p["real"])
        cells = [real]
        for f in p["fakes"]:
            fake = decode(f)
            cells += [fake, diff_image(real, fake) if fake.shape == real.shape else np.zeros_like(real)]
        for c, arr in enumerate(cells):
            im = _cell(arr)
            x = PAD + c * (CELL + PAD) + (CELL - im.width) // 2
            y = HEADER + PAD + r * (CELL + PAD) + (CELL - im.height) // 2
            canvas.paste(im, (x, y))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def histograms_png(stats: dict, psnrs: list[float]) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.2), dpi=80)
    axes = fig.subplots(1, 4)
    colors = {"real": "#4477aa", "fake": "#ee6677"}

    def bars(ax, table: dict, title: str, xlabel: str = "") -> None:
        keys = [str(k) for k in table]
        x = np.arange(len(keys))
        for i, lab in enumerate(LABELS):
            ax.bar(x + (i - 0.5) * 0.4, [table[k].get(lab, 0) for k in table], width=0.4, label=lab,
                   color=colors[lab])
        ax.set_xticks(x, keys, rotation=30 if len(keys) > 4 else 0, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=8)

    bars(axes[0], stats["augment_by_label"], "augmentation (rows)")
    axes[0].legend(fontsize=8)
    bars(axes[1], stats["format_by_label"], "stored format (rows)")
    sides = {k: {lab: stats["short_side_by_label"][lab].get(k, 0) for lab in LABELS}
             for k in sorted({k for lab in LABELS for k in stats["short_side_by_label"][lab]})}
    if len(sides) > 12:  # many native sizes: a histogram, not one bar each
        ax = axes[2]
        for lab in LABELS:
            vals = [k for k, c in stats["short_side_by_label"][lab].items() for _ in range(c)]
            ax.hist(vals, bins=20, alpha=0.5, label=lab, color=colors[lab])
        ax.set_title("short side (px)", fontsize=10)
    else:
        bars(axes[2], sides, "short side (rows)", "px")
    finite = [p for p in psnrs if math.isfinite(p)]
    ax = axes[3]
    if finite:
        ax.hist(finite, bins=min(20, max(5, len(finite) // 2)), color=colors["fake"])
    ax.set_title(f"PSNR fake vs real, {len(psnrs)} pairs (dB)", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def write_figures(out, stats: dict, grid_pairs: int = GRID_PAIRS, psnr_pairs: int = PSNR_PAIRS,
                  parts: dict | None = None) -> dict:
    """Render both figures into OUT/meta/figures/; return their paths and the PSNR summary.

    `parts` maps a data file to its `toolkit/card/parts.py` contribution: the PSNRs the shard tasks
    computed, so that only the few pairs of the grid are decoded here, after the last shard."""
    files = sample_files(out)
    max_pairs = max(grid_pairs, psnr_pairs)
    per_shard = pairs_per_file(max_pairs, len(files))
    sampled, psnrs = 0, []
    for rel in files:
        if sampled >= max_pairs:
            break
        part = (parts or {}).get(rel)
        part = part["psnr"] if part is not None and part["psnr"]["k"] >= per_shard else file_psnrs(out, rel, per_shard)
        for values in part["pairs"][: min(per_shard, max_pairs - sampled)]:
            psnrs.extend(values)
            sampled += 1
    out.write_bytes(GRID_FILE, grid_png(read_pairs(out, grid_pairs, per_shard, files)))
    out.write_bytes(HIST_FILE, histograms_png(stats, psnrs))
    finite = [p for p in psnrs if math.isfinite(p)]
    info = {"grid": GRID_FILE, "histograms": HIST_FILE, "grid_pairs": min(grid_pairs, sampled),
            "diff_gain": DIFF_GAIN,
            "psnr": {"pairs": len(psnrs), "median": round(float(np.median(finite)), 2) if finite else None,
                     "min": round(min(finite), 2) if finite else None,
                     "max": round(max(finite), 2) if finite else None}}
    out.write_json(INFO_FILE, info)  # so a re-render of the card (e.g. for a push) needs no decoding
    return info
