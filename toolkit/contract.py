"""The alignment contract, checked on stored rows.

Every member of a pair (the real and one fake per generator) must be indistinguishable by anything but
pixels: same split, same width and height, same container, same augmentation record, and, at the byte
level, the same JPEG quantisation tables and chroma subsampling or the same WebP bitstream kind. Labels
must say real=0, fake=1, and the stored bytes must decode to what the row claims.

This is library code (not only a test helper) because `toolkit verify` runs it on every row of a build
a user is about to publish; the tests run the same function, so what CI checks is what users can check.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from typing import Iterable

from PIL import Image, JpegImagePlugin

_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


def image_facts(data: bytes) -> dict:
    """Container-level facts of an encoded image that must match inside a pair."""
    with Image.open(io.BytesIO(data)) as im:
        facts = {"format": im.format, "size": im.size, "mode": im.mode, "quant": None, "subsampling": None,
                 "webp": None}
        if im.format == "JPEG":
            facts["quant"] = {k: list(v) for k, v in getattr(im, "quantization", {}).items()}
            facts["subsampling"] = JpegImagePlugin.get_sampling(im)
        elif im.format == "WEBP":
            facts["webp"] = data[12:16].decode("latin-1")  # VP8 (lossy) | VP8L (lossless) | VP8X
        im.load()  # a truncated or corrupt payload fails here, not later in a user's training loop
    return facts


def group_pairs(rows: Iterable[dict]) -> dict[str, list[dict]]:
    pairs: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        pairs[r["pair_id"]].append(r)
    return pairs


def pair_problems(pair_id: str, rows: list[dict], generators: Iterable[str], masks: bool = False) -> list[str]:
    """Everything wrong with one pair, as readable lines (empty when the pair honours the contract).

    `rows` carry the stored columns plus `split`; `image` is {"bytes": ...} or raw bytes. The `mask`
    column (sample.MASK_COLUMN) is checked when the rows have it or `masks` says the build must."""
    problems: list[str] = []
    want = sorted(["real", *generators])
    got = sorted(r["source"] for r in rows)
    if got != want:
        problems.append(f"pair {pair_id}: members {got}, expected {want}")
    for key in ("split", "width", "height", "format", "augment"):
        values = {str(r.get(key)) for r in rows}
        if len(values) > 1:
            problems.append(f"pair {pair_id}: {key} differs between members: {sorted(values)}")
    for r in rows:
        want_label = 0 if r["source"] == "real" else 1
        if r["label"] != want_label:
            problems.append(f"pair {pair_id}: {r['source']} has label {r['label']}, expected {want_label}")
    facts = []
    for r in rows:
        data = r["image"]["bytes"] if isinstance(r["image"], dict) else r["image"]
        try:
            f = image_facts(data)
        except Exception as e:  # noqa: BLE001 - reported, not raised: verify lists every problem
            problems.append(f"pair {pair_id}: {r['source']} image does not decode ({type(e).__name__}: {e})")
            continue
        if f["format"] != _FORMATS.get(r["format"]):
            problems.append(f"pair {pair_id}: {r['source']} row says {r['format']} but bytes are {f['format']}")
        if f["size"] != (r["width"], r["height"]):
            problems.append(f"pair {pair_id}: {r['source']} row says {r['width']}x{r['height']} "
                            f"but image is {f['size'][0]}x{f['size'][1]}")
        if f["mode"] != "RGB":
            problems.append(f"pair {pair_id}: {r['source']} image mode {f['mode']}, expected RGB")
        facts.append((r["source"], {k: f[k] for k in ("quant", "subsampling", "webp")}))
    if facts and any(f != facts[0][1] for _, f in facts):
        problems.append(f"pair {pair_id}: codec settings differ between members: "
                        + "; ".join(f"{s}: {_short(f)}" for s, f in facts))
    if masks or any("mask" in r for r in rows):
        problems += mask_problems(pair_id, rows)
    try:
        codec = json.loads(rows[0]["augment"])[-1]["op"]
        if codec != rows[0]["format"]:
            problems.append(f"pair {pair_id}: last augment op {codec!r} but format {rows[0]['format']!r}")
    except (ValueError, KeyError, IndexError, TypeError):
        problems.append(f"pair {pair_id}: augment record is not a JSON list of ops: {rows[0]['augment']!r:.80}")
    return problems


def _short(f: dict) -> str:
    if f["quant"]:
        return f"jpeg q-tables {[v[:4] for v in f['quant'].values()]}... subsampling {f['subsampling']}"
    if f["webp"]:
        return f"webp {f['webp']}"
    return "png"


def mask_problems(pair_id: str, rows: list[dict]) -> list[str]:
    """The `mask` column of a pair (docs/regeneration.md): null on the real; on every fake a lossless PNG,
    single channel (mode L), values 0/255 only, at exactly the row's width x height."""
    import numpy as np

    problems = []
    for r in rows:
        if "mask" not in r:
            problems.append(f"pair {pair_id}: {r['source']} row has no mask column (the build has masks)")
            continue
        cell = r["mask"]
        data = cell.get("bytes") if isinstance(cell, dict) else cell
        if r["source"] == "real":
            if data is not None:
                problems.append(f"pair {pair_id}: real carries a mask (reals' masks are null)")
            continue
        if data is None:
            problems.append(f"pair {pair_id}: {r['source']} has no mask (every fake carries one)")
            continue
        try:
            with Image.open(io.BytesIO(data)) as im:
                fmt, mode, size = im.format, im.mode, im.size
                values = np.unique(np.asarray(im)) if mode == "L" else None
        except Exception as e:  # noqa: BLE001 - reported, not raised
            problems.append(f"pair {pair_id}: {r['source']} mask does not decode ({type(e).__name__}: {e})")
            continue
        if fmt != "PNG" or mode != "L":
            problems.append(f"pair {pair_id}: {r['source']} mask is {fmt} mode {mode}, expected a PNG of mode L")
        if size != (r["width"], r["height"]):
            problems.append(f"pair {pair_id}: {r['source']} mask is {size[0]}x{size[1]} but the image is "
                            f"{r['width']}x{r['height']}")
        if values is not None and not set(values.tolist()) <= {0, 255}:
            problems.append(f"pair {pair_id}: {r['source']} mask has values other than 0 and 255")
    return problems
