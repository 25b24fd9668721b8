"""A trained detector on disk: `model.safetensors` (weights), `detector.json` (kind, config,
architecture, validation threshold, results) and `README.md` (the model card). Loading rebuilds the
detector from these files alone; clip detectors also need their CLIP model (by id or path).

The ResNet kinds (resnet50, fakeinversion) are also a transformers model: `config.json` beside the same
`model.safetensors` (written by `save_pretrained` of `hf_model.ToolkitDetectorModel`, whose state dict
is the network's), so `AutoModel.from_pretrained(folder)` loads them once `toolkit.detectors.hf_model`
is imported. The model card's YAML metadata (`datasets`, `metrics`, `model-index` with the test results,
the training settings under `toolkit`) is what the Hub indexes."""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.detectors import detector_class
from toolkit.detectors.config import detector_config, to_dict

WEIGHTS, META, CARD, HF_CONFIG = "model.safetensors", "detector.json", "README.md", "config.json"
TRANSFORMERS_KINDS = ("resnet50", "fakeinversion")  # hf_model.KINDS, without importing transformers here


def save(detector, cfg, out_dir: str, record: dict, card_markdown: str) -> None:
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.kind in TRANSFORMERS_KINDS:
        from toolkit.detectors.hf_model import from_detector

        detector.threshold = record.get("val_threshold", getattr(detector, "threshold", 0.5))
        from_detector(detector).save_pretrained(str(out))  # config.json + model.safetensors
    else:
        save_file(detector.tensors(), str(out / WEIGHTS), metadata={"format": "pt"})
    meta = {"kind": cfg.kind, "config": to_dict(cfg), "model": detector.meta(),
            "threshold": record.get("val_threshold", 0.5), "record": record}
    (out / META).write_text(json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n")
    (out / CARD).write_text(with_metadata(card_markdown, card_metadata(cfg, record)) + usage(cfg.kind))


def usage(kind: str) -> str:
    """The card's "Use" section: the commands and, for the ResNet kinds, the transformers snippet."""
    text = ("\n\n## Use\n\n```bash\ntoolkit predict THIS_MODEL image.png photos/ https://example.org/x.jpg   "
            "# P(fake) per image\ntoolkit eval THIS_MODEL --on DATASET                                  "
            "# metrics on a dataset\n```\n")
    if kind == "resnet50":
        text += ("\nWith transformers (the classes come from the toolkit package; no remote code):\n\n```python\n"
                 "import numpy as np, toolkit.detectors.hf_model  # registers model_type toolkit-detector\n"
                 "from PIL import Image\nfrom transformers import AutoModel\n\n"
                 "model = AutoModel.from_pretrained(\"THIS_MODEL\")\n"
                 "rgb = np.asarray(Image.open(\"image.png\").convert(\"RGB\"))\n"
                 "p_fake = model.predict_proba(model.preprocess(rgb))  # the full image, ImageNet-normalised\n"
                 "is_fake = p_fake >= model.config.threshold          # the threshold chosen on validation\n```\n")
    return text


def is_model_dir(path) -> bool:
    """A folder made by `toolkit train` (what `toolkit push` and `toolkit predict` take)."""
    p = Path(path)
    return p.is_dir() and (p / META).is_file() and (p / WEIGHTS).is_file()


def _hub_id(dataset: str) -> str:
    """A dataset reference for the card: the hub id, or a local folder's name (no local path in a card)."""
    import re

    text = str(dataset)
    if re.fullmatch(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*", text) and not Path(text).exists():
        return text
    return Path(text.rstrip("/")).name or text


def card_metadata(cfg, record: dict) -> dict:
    """The model card's YAML: what the Hub shows and searches (datasets, metrics, model-index), and the
    training settings (the resolved config, minus where it ran)."""
    settings = {k: v for k, v in to_dict(cfg).items() if k not in ("out", "device", "cache_dir")}
    dataset = _hub_id(record.get("dataset", ""))
    test = record.get("test") or {}
    names = {"ap": ("average_precision", "AP"), "roc_auc": ("roc_auc", "ROC-AUC"),
             "acc@0.5": ("accuracy", "accuracy at 0.5"), "balanced_acc": ("balanced_accuracy", "balanced accuracy")}
    metrics = [{"type": t, "name": n, "value": round(float(test[k]), 4)} for k, (t, n) in names.items()
               if isinstance(test.get(k), (int, float))]
    meta = {"library_name": "toolkit", "pipeline_tag": "image-classification",
            "tags": ["synthetic-image-detection", "toolkit-detector", cfg.kind]
            + (["transformers"] if cfg.kind in TRANSFORMERS_KINDS else []),
            "datasets": [dataset] if dataset else [],
            "metrics": [m["type"] for m in metrics]}
    if metrics:
        split = (record.get("splits") or {}).get("test", {}).get("name", getattr(cfg, "test_split", "test"))
        meta["model-index"] = [{"name": f"{dataset}-{cfg.kind}", "results": [{
            "task": {"type": "image-classification", "name": "AI-generated image detection"},
            "dataset": {"type": dataset, "name": dataset, "split": split},
            "metrics": metrics}]}]
    meta["toolkit"] = {"kind": cfg.kind, "threshold": record.get("val_threshold", 0.5),
                       "epochs": record.get("epochs"), "best_epoch": record.get("best_epoch"),
                       "parameters": record.get("parameters"), "settings": settings}
    return meta


def with_metadata(markdown: str, meta: dict) -> str:
    """`markdown` with its YAML front matter replaced by `meta` (its tags kept)."""
    import yaml

    body = markdown
    if markdown.startswith("---\n") and "\n---\n" in markdown[4:]:
        head, body = markdown[4:].split("\n---\n", 1)
        old = yaml.safe_load(head) or {}
        meta = {**meta, "tags": list(dict.fromkeys([*(old.get("tags") or []), *meta.get("tags", [])]))}
    text = yaml.safe_dump(meta, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return f"---\n{text}---\n" + body


def load(model_dir: str):
    from safetensors.torch import load_file

    path = Path(model_dir)
    if not (path / META).exists() or not (path / WEIGHTS).exists():
        raise ToolkitError(f"{model_dir}: not a trained detector (needs {META} and {WEIGHTS}; made by toolkit train)")
    meta = json.loads((path / META).read_text())
    cfg = detector_config(meta["config"], where=str(path / META), path="config")
    det = detector_class(meta["kind"]).restore(cfg, meta["model"], load_file(str(path / WEIGHTS)))
    det.threshold = meta.get("threshold", 0.5)
    return det, meta
