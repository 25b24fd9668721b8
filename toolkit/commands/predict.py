"""`toolkit predict MODEL IMAGES... [--json]`: score images with a trained detector, one line per image:
`score<TAB>path` (the probability that the image is fake), in the order given.

  toolkit predict outputs/detectors/demo-resnet50 photo.jpg shots/ https://example.org/x.png
  toolkit predict org/detector shots/ --json          # a model pushed with `toolkit push MODEL --hub`

MODEL is a folder made by `toolkit train` (any kind but fakeinversion, whose inputs need the build's DDIM
maps) or, for the ResNet detectors, a transformers folder or hub id (`config.json` of model_type
`toolkit-detector`). IMAGES are files, folders (their images, recursively, sorted) and http(s) URLs
(fetched through the same guard as LAION downloads: http/https only, a deadline and a size cap). Each
image is scored whole, as `toolkit eval` scores a test split. An image that cannot be read or fetched is
one line on stderr; the others are still scored, and the exit code is then 1. A MODEL that cannot be
loaded is one line and exit 2.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from toolkit.errors import ToolkitError, first_line

HELP = "score images (files, folders, URLs) with a trained detector: P(fake) per image"
ORDER = 22
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
# The URLs are the user's own, typed on the command line (not a third-party list): hosts on the user's
# own network are allowed (a LAION build refuses them unless its recipe opts in; sources/laion/fetch.py).
FETCH = {"timeout": 10.0, "deadline": 30.0, "max_bytes": 64 * 1024 ** 2, "allow_private": True}
BATCH = 64


def add_arguments(p) -> None:
    p.add_argument("model", help="model folder made by `toolkit train`, or a hub id / folder of a pushed detector")
    p.add_argument("images", nargs="+", help="image files, folders, http(s) URLs")
    p.add_argument("--json", action="store_true", help="print one JSON document (scores, threshold, errors)")


def expand(items: list[str]) -> list[tuple[str, str | None]]:
    """(name, problem) per image: a folder becomes its images; a missing path is a problem."""
    from toolkit.sources.laion.fetch import url_scheme

    out: list[tuple[str, str | None]] = []
    for item in items:
        if url_scheme(item) in ("http", "https"):
            out.append((item, None))
            continue
        p = Path(item)
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            out.extend((f, None) for f in found) if found else out.append((item, "no images in this folder"))
        elif p.is_file():
            out.append((item, None))
        elif url_scheme(item) not in ("", "file") and len(url_scheme(item)) > 1:
            out.append((item, f"unsupported URL scheme {url_scheme(item)!r} (http and https only)"))
        else:
            out.append((item, "no such file or directory"))
    return out


def read_image(name: str) -> bytes:
    """The bytes of a file or URL, checked to decode as an image (ValueError with the reason otherwise)."""
    from PIL import Image

    from toolkit.sources.laion.fetch import fetch, url_scheme

    if url_scheme(name) in ("http", "https"):
        body, err = fetch(name, **FETCH)
        if err:
            raise ValueError(f"cannot fetch ({err})")
        data = body.getvalue()
    else:
        try:
            data = Path(name).read_bytes()
        except OSError as e:
            raise ValueError(f"cannot read ({e.strerror or type(e).__name__})") from None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.convert("RGB").load()
    except Exception as e:  # noqa: BLE001 - any decoder failure: one line
        first = first_line(e)[:200]
        raise ValueError(f"not a readable image ({first})") from None
    return data


def load_scorer(model: str):
    """(score(list of image bytes) -> list of P(fake), threshold, description)."""
    from toolkit.detectors import storage

    if storage.is_model_dir(model):
        det, meta = storage.load(model)
        if meta["kind"] == "fakeinversion":
            raise ToolkitError(f"{model}: a fakeinversion detector needs the DDIM maps a build computes; "
                               "use `toolkit eval` on a build with `features: [{kind: ddim_inversion}]`")

        def score(images: list[bytes]) -> list[float]:
            import numpy as np

            from toolkit.detectors.data import Split

            n = len(images)
            split = Split("predict", list(images), np.zeros(n, dtype=np.int64), [str(i) for i in range(n)],
                          ["unknown"] * n, ["unknown"] * n)
            return [float(s) for s in det.predict(split, desc="predict")]

        return score, float(det.threshold), f"{meta['kind']} ({model})"
    return _transformers_scorer(model)


def _transformers_scorer(model: str):
    import numpy as np
    from PIL import Image

    from toolkit.detectors.hf_model import MODEL_TYPE, ToolkitDetectorModel

    local = Path(model)
    if local.exists() and not (local / "config.json").is_file():
        raise ToolkitError(f"{model}: not a detector (no detector.json + model.safetensors from `toolkit train`, "
                           "nor a transformers config.json)")
    try:
        net = ToolkitDetectorModel.from_pretrained(model).eval()
    except Exception as e:  # noqa: BLE001 - offline, unknown id, wrong model type: one line
        first = first_line(e)[:300]
        raise ToolkitError(f"{model}: cannot load a {MODEL_TYPE} model ({type(e).__name__}: {first})") from None
    if net.config.inputs != "rgb":
        raise ToolkitError(f"{model}: this detector reads {net.config.inputs}, not plain images")

    def score(images: list[bytes]) -> list[float]:
        out = []
        for data in images:
            with Image.open(io.BytesIO(data)) as im:
                rgb = np.asarray(im.convert("RGB"))
            out.append(float(net.predict_proba(net.preprocess(rgb))[0]))
        return out

    return score, float(net.config.threshold), f"{net.config.kind} ({model})"


def run(args) -> int:
    score, threshold, what = load_scorer(args.model)
    items = expand(args.images)
    results: list[dict] = []
    errors: list[dict] = []
    pending: list[tuple[str, bytes]] = []

    def flush():
        if not pending:
            return
        for (name, _), s in zip(pending, score([d for _, d in pending])):
            results.append({"path": name, "score": s, "fake": s >= threshold})
            if not args.json:
                print(f"{s:.6f}\t{name}", flush=True)
        pending.clear()

    for name, problem in items:
        if problem is None:
            try:
                pending.append((name, read_image(name)))
            except ValueError as e:
                problem = str(e)
        if problem is not None:
            flush()  # keep stdout in input order
            errors.append({"path": name, "error": problem})
            print(f"toolkit: predict: {name}: {problem}", file=sys.stderr)
        if len(pending) >= BATCH:
            flush()
    flush()
    if args.json:
        print(json.dumps({"model": what, "threshold": threshold, "images": results, "errors": errors}, indent=1))
    if errors:
        print(f"toolkit: predict: {len(errors)} of {len(items)} image(s) could not be scored", file=sys.stderr)
        return 1
    return 0
