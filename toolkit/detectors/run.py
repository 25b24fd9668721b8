"""Train a detector on a dataset, evaluate it, save it, and write its results into the dataset card.

This is what `toolkit train`, a recipe's `detector:` section and `toolkit eval` call. Outputs:
    MODEL_DIR/model.safetensors, detector.json, README.md (model card)
    MODEL_DIR/metrics.json (test metrics, breakdowns, robustness, training history)
    MODEL_DIR/roc.png, pr.png, robustness.png
and, when DATASET is a local toolkit build, OUT/meta/detector/card.json (+ the PNGs) and a refreshed
OUT/README.md, whose detector section shows every detector run on it (one entry per run: a second
run of a kind with other settings is kept beside the first).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from toolkit.detectors import detector_class, device as dev
from toolkit.detectors.config import to_dict
from toolkit.detectors.data import dataset_name, is_local, load_splits, train_val_test
from toolkit.detectors.metrics import best_threshold, breakdown, summary
from toolkit.detectors import plots, report, storage

CARD_JSON = "meta/detector/card.json"


def default_out(dataset: str, kind: str) -> str:
    return str(Path("outputs") / "detectors" / f"{dataset_name(dataset)}-{kind}")


def config_hash(cfg) -> str:
    data = to_dict(cfg)
    for k in ("out", "device"):
        data.pop(k, None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def train_and_evaluate(dataset: str, cfg, out: str | None = None, echo=print, update_card: bool = True) -> dict:
    import torch

    out = out or cfg.out or default_out(dataset, cfg.kind)
    outp = Path(out)
    splits = load_splits(dataset)
    train, val, test = train_val_test(splits, cfg, dataset)
    device = dev.pick(cfg.device)
    echo(f"detector {cfg.kind} (preset {cfg.preset}): train {len(train.pairs())} pairs ({len(train)} images), "
         f"val {len(val.pairs())} pairs ({len(val)} images; {val_how(cfg)}), test {len(test)} images; "
         f"device {dev.describe(device, cfg.precision)}")
    if not cfg.val_dataset:
        echo("  note: the papers validate on a separate set of generated images; pass --val DATASET "
             "(or val_dataset=...) to do the same")
    det = detector_class(cfg.kind)(cfg)
    fit_val = val
    if cfg.shuffle_labels and len(val):
        # the control uses no label information at all: early stopping and the threshold on true validation
        # labels would pick, among untrained-like networks, the ones that happen to separate the classes
        from toolkit.seeding import rng_for

        fit_val = val.subset(range(len(val)), val.name)
        fit_val.labels = val.labels[rng_for(cfg.seed, "shuffle-val-labels").permutation(len(val))]
    t0 = time.time()
    history = det.fit(train, fit_val, echo=echo)
    train_s = time.time() - t0
    thr = best_threshold(fit_val.labels, det.predict(val, desc="val")) if len(val) else 0.5
    det.threshold = thr
    t1 = time.time()
    scores = det.predict(test, desc="test")
    test_metrics = summary(test.labels, scores, thr)
    echo("test: " + ", ".join(f"{k}={v:.3f}" for k, v in test_metrics.items() if isinstance(v, float)))
    # made only now: a dataset, a model or a setting that fails before a first result leaves no folder
    outp.mkdir(parents=True, exist_ok=True)
    plots.roc_pr(test.labels, scores, str(outp / "roc.png"), str(outp / "pr.png"), f"{cfg.kind} on {dataset_name(dataset)}")
    rob = []
    if cfg.robustness:
        from toolkit.detectors.robustness import sweep

        rob = sweep(det, test, thr, progress=lambda r: echo(
            f"  robustness {r['perturbation']:>9}: AP={r['ap'] or 0:.3f} AUC={r['roc_auc'] or 0:.3f} "
            f"bal_acc={r['balanced_acc']:.3f}"))
        plots.robustness(rob, str(outp / "robustness.png"), f"{cfg.kind} on {dataset_name(dataset)}")
    eval_s = time.time() - t1
    rec = {"kind": cfg.kind, "dataset": dataset, "config": to_dict(cfg), "config_hash": config_hash(cfg),
           "device": dev.describe(device, cfg.precision), "torch_threads": torch.get_num_threads(),
           "epochs": getattr(det, "epochs_trained", len(history)), "best_epoch": getattr(det, "best_epoch", None),
           "train_s": round(train_s, 1), "eval_s": round(eval_s, 1),
           "val_threshold": thr, "test": test_metrics, "breakdown": breakdown(test, scores, thr),
           "robustness": rob, "history": history, "note": cfg.note,
           "splits": {"train": {"name": cfg.train_split, "pairs": len(train.pairs()), "images": len(train)},
                      "val": {"name": val.name if cfg.val_dataset else (cfg.val_split or f"{cfg.train_split} (held out)"),
                              "dataset": cfg.val_dataset or dataset, "pairs": len(val.pairs()), "images": len(val),
                              "how": val_how(cfg, val.name)},
                      "test": {"name": cfg.test_split, "images": len(test)}},
           "model_dir": str(outp)}
    rec.update({k: v for k, v in det.meta().items() if k in ("parameters", "hf_config", "stem", "preprocess")})
    storage.save(det, cfg, str(outp), {k: v for k, v in rec.items() if k != "history"}, report.model_card(rec))
    (outp / "metrics.json").write_text(json.dumps(rec, indent=1, sort_keys=True, default=_json) + "\n")
    echo(f"model saved to {outp} (model.safetensors, detector.json, README.md, metrics.json, plots)")
    if update_card and is_local(dataset) and (Path(dataset) / "meta" / "summary.json").exists():
        write_dataset_card(dataset, rec, outp)
        echo(f"results written into {Path(dataset) / 'README.md'}")
    return rec


def val_how(cfg, name: str | None = None) -> str:
    if cfg.val_dataset:
        return f"separate dataset `{cfg.val_dataset}`" + (f", split `{name}`" if name else "")
    if cfg.val_split:
        return f"split `{cfg.val_split}`"
    return f"{cfg.val_fraction:g} of the training pairs, held out by pair"


def record_key(records: dict, rec: dict) -> str:
    """The card's key for this run: its kind when that is free or holds this very run (same settings:
    a retrain replaces it), else `<kind>-<config hash>`, so a second run of a kind with other settings
    (seed, preset, ...) is kept beside the first instead of replacing it."""
    for key, old in records.items():
        if old.get("kind", key) == rec["kind"] and old.get("config_hash") == rec["config_hash"]:
            return key
    return rec["kind"] if rec["kind"] not in records else f"{rec['kind']}-{rec['config_hash'][:8]}"


def write_dataset_card(dataset: str, rec: dict, model_dir: Path) -> None:
    """Merge this run's record into OUT/meta/detector/card.json (one entry per run, see record_key) and
    re-render the card."""
    from toolkit.card.render import refresh_card
    from toolkit.store.atomic import AtomicFolder

    out = AtomicFolder(dataset)
    prev = out.read_json(CARD_JSON) if out.exists(CARD_JSON) else {}
    records = dict(prev.get("detectors", {}))
    key = record_key(records, rec)
    records[key] = {k: v for k, v in rec.items() if k != "history"}
    for name in ("roc.png", "pr.png", "robustness.png"):
        if (model_dir / name).exists():
            out.write_bytes(f"meta/detector/{key}-{name}", (model_dir / name).read_bytes())
    out.write_text(CARD_JSON, json.dumps({"detectors": records, "markdown": report.dataset_section(records)},
                                         indent=1, sort_keys=True, default=_json) + "\n")
    refresh_card(dataset)


def previous_record(dataset: str, cfg) -> dict | None:
    """The card's record of a run of this detector kind with the same settings, if any."""
    path = Path(dataset) / CARD_JSON
    if not path.exists():
        return None
    h = config_hash(cfg)
    for key, rec in json.loads(path.read_text()).get("detectors", {}).items():
        if rec.get("kind", key) == cfg.kind and rec.get("config_hash") == h:
            return rec
    return None


def evaluate(model_dir: str, datasets: list[str], split: str = "test", echo=print, robustness: bool = False,
             perturbations: list[str] | None = None, loaded=None) -> list[dict]:
    """One row per dataset: metrics at the model's validation threshold, breakdowns (per generator, per
    augmentation chain), the robustness sweep when asked (`perturbations`: a subset of its names), and
    `per_image`: pair_id, label, source, augment and the score under each perturbation (`score_frame`
    turns rows into one long table). `loaded`: (detector, meta) already loaded."""
    from toolkit.detectors.robustness import sweep

    det, meta = loaded or storage.load(model_dir)
    rows = []
    for ds in datasets:
        splits = load_splits(ds)
        if split not in splits:
            from toolkit.errors import ToolkitError

            raise ToolkitError(f"{ds}: no split {split!r} (has: {', '.join(splits)}); pass --split")
        s = splits[split]
        kept: dict = {}
        names = perturbations if robustness else []
        rob = sweep(det, s, det.threshold, names=names, keep_scores=kept, progress=None if not robustness else (
            lambda r: echo(f"  {dataset_name(ds)} {r['perturbation']:>9}: AP={r['ap'] or 0:.3f} "
                           f"bal_acc={r['balanced_acc']:.3f}")))
        scores = kept["clean"]
        m = summary(s.labels, scores, det.threshold)
        rows.append({"model": model_dir, "kind": meta.get("kind"), "dataset": ds, "split": split, "metrics": m,
                     "breakdown": breakdown(s, scores, det.threshold), "robustness": rob if robustness else [],
                     "per_image": {"pair_id": list(s.pair_ids), "label": s.labels.tolist(), "source": list(s.sources),
                                   "augment": list(s.augments), "scores": kept}})
        echo(f"{ds}: AP={m['ap'] or 0:.3f} AUC={m['roc_auc'] or 0:.3f} acc@0.5={m['acc@0.5']:.3f}")
    return rows


def score_frame(rows: list[dict]):
    """Per-image scores of `evaluate` rows as one long pandas table: model, dataset, split, perturbation,
    pair_id, label, source, augment, score."""
    import pandas as pd

    parts = []
    for r in rows:
        pi = r["per_image"]
        for name, sc in pi["scores"].items():
            parts.append(pd.DataFrame({"model": r["model"], "dataset": r["dataset"], "split": r["split"],
                                       "perturbation": name, "pair_id": pi["pair_id"], "label": pi["label"],
                                       "source": pi["source"], "augment": pi["augment"],
                                       "score": np.asarray(sc, dtype=np.float64)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["model", "dataset", "split", "perturbation", "pair_id", "label", "source", "augment", "score"])


def _json(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    return str(o)


__all__ = ["train_and_evaluate", "evaluate", "score_frame", "default_out", "previous_record"]


def train_from_recipe(recipe, output: str, echo=print) -> dict | None:
    """A recipe's `detector:` section, run after a complete build (skipped when the card already holds
    this detector trained with the same settings on this build)."""
    cfg = recipe.detector
    if not is_local(output):  # the build itself is fine: say why nothing was trained, do not fail it
        echo(f"detector: skipped, {output} is not a local folder; run `toolkit train` on a local copy")
        return None
    prev = previous_record(output, cfg)
    if prev is not None:
        echo(f"detector {cfg.kind}: already trained with these settings (see {output}/README.md); skipped")
        return prev
    out = cfg.out or str(Path(output).parent / f"{Path(output).name}-detector-{cfg.kind}")
    return train_and_evaluate(output, cfg, out=out, echo=echo)
