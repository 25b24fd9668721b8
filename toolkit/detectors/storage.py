"""A trained detector on disk: `model.safetensors` (weights), `detector.json` (kind, config,
architecture, validation threshold, results) and `README.md` (the model card). Loading rebuilds the
detector from these files alone; clip detectors also need their CLIP model (by id or path)."""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.detectors import detector_class
from toolkit.detectors.config import detector_config, to_dict

WEIGHTS, META, CARD = "model.safetensors", "detector.json", "README.md"


def save(detector, cfg, out_dir: str, record: dict, card_markdown: str) -> None:
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(detector.tensors(), str(out / WEIGHTS))
    meta = {"kind": cfg.kind, "config": to_dict(cfg), "model": detector.meta(),
            "threshold": record.get("val_threshold", 0.5), "record": record}
    (out / META).write_text(json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n")
    (out / CARD).write_text(card_markdown)


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
