"""The alignment contract, checked on rows as `datasets.load_dataset` returns them."""

from __future__ import annotations

import io
import json
from collections import defaultdict

from PIL import Image


def load(out: str):
    """All splits of a build, image bytes undecoded (exactly what is stored)."""
    import datasets

    dsd = datasets.load_dataset(str(out))
    return {split: ds.cast_column("image", datasets.Image(decode=False)) for split, ds in dsd.items()}


def pairs_of(dsd) -> dict[str, list[dict]]:
    pairs = defaultdict(list)
    for split, ds in dsd.items():
        for row in ds:
            pairs[row["pair_id"]].append({**row, "split": split})
    return pairs


def check_alignment(dsd, generators=("vae_roundtrip",)) -> dict[str, list[dict]]:
    pairs = pairs_of(dsd)
    assert pairs, "no rows"
    for pid, rows in pairs.items():
        sources = sorted(r["source"] for r in rows)
        assert sources == sorted(["real", *generators]), (pid, sources)  # every real has its fakes
        assert len({r["split"] for r in rows}) == 1, pid
        assert len({(r["width"], r["height"]) for r in rows}) == 1, pid
        assert len({r["format"] for r in rows}) == 1, pid
        assert len({r["augment"] for r in rows}) == 1, pid
        labels = {r["source"]: r["label"] for r in rows}
        assert labels["real"] == 0 and all(v == 1 for k, v in labels.items() if k != "real")
        infos = []
        for r in rows:
            data = r["image"]["bytes"]
            with Image.open(io.BytesIO(data)) as im:
                assert im.format.lower() == {"jpeg": "jpeg", "png": "png", "webp": "webp"}[r["format"]]
                assert im.size == (r["width"], r["height"])
                assert im.mode == "RGB"
                infos.append({"quant": getattr(im, "quantization", None),
                              "sub": _jpeg_subsampling(im) if im.format == "JPEG" else None,
                              "webp": _webp_kind(data) if im.format == "WEBP" else None})
        assert all(i == infos[0] for i in infos), (pid, infos)
        codec = json.loads(rows[0]["augment"])[-1]
        assert codec["op"] == rows[0]["format"]
    return pairs


def _jpeg_subsampling(im):
    from PIL import JpegImagePlugin

    return JpegImagePlugin.get_sampling(im)


def _webp_kind(data: bytes) -> str:
    return data[12:16].decode("latin-1")  # VP8 (lossy) | VP8L (lossless) | VP8X
