"""`toolkit train DATASET --detector resnet50|clip-probe|clip-knn|fakeinversion|bfree|freq-probe [--preset paper|light|demo]
[--val VAL_DATASET] [--out DIR] [--print-config] [key=value ...]`: train a reference detector on a toolkit
build (a folder) or a hub dataset id, evaluate it on the test split (metrics, per-generator and
per-augmentation breakdowns, robustness sweep, ROC/PR plots), save it (safetensors + model card) and,
for a local build, write the results into its card. The defaults are the papers' settings
(docs/fidelity.md); `--print-config` prints the resolved settings as YAML and exits."""

from __future__ import annotations

import sys

HELP = "train and evaluate a reference detector on a dataset"
ORDER = 20


def add_arguments(p) -> None:
    p.add_argument("dataset", help="a toolkit build folder or a Hugging Face dataset id")
    p.add_argument("overrides", nargs="*", help="detector settings, e.g. max_epochs=5 crop=64 model=null "
                                                "arch.depths=[1,1,1,1] (see docs/detectors.md)")
    p.add_argument("--detector", default="resnet50", help="resnet50 (default) | clip-probe | clip-knn | fakeinversion | "
                                                          "bfree | freq-probe (offline instrument for studies)")
    p.add_argument("--preset", help="paper (default: the reference settings) | light (lighter augmentation and "
                                    "batches, validation on full images, cached CLIP features; for CPUs) | demo "
                                    "(resnet50: the offline demo's small random-init model, no override needed)")
    p.add_argument("--val", metavar="DATASET", help="validate on this separate dataset (folder or hub id), as "
                                                    "the papers do; default: hold out val_fraction of the training pairs")
    p.add_argument("--out", help="model folder (default outputs/detectors/<dataset>-<detector>)")
    p.add_argument("--no-card", action="store_true", help="do not write the results into the dataset's card")
    p.add_argument("--print-config", action="store_true", help="print the resolved settings (YAML) and exit")


def run(args) -> int:
    from toolkit.detectors.config import detector_config, to_dict, with_overrides

    base = {"kind": args.detector}
    if args.preset is not None:
        base["preset"] = args.preset
    if args.val is not None:
        base["val_dataset"] = args.val
    raw = with_overrides(base, args.overrides or [], "toolkit train")
    cfg = detector_config(raw, where="toolkit train", path="detector")
    if args.print_config:
        import yaml

        print(yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=None), end="")
        return 0
    from toolkit.commands._inputs import dataset_input
    from toolkit.models import check_detector_models

    # before torch is imported, the data loaded or the model folder made: one line, exit 2
    dataset_input(args.dataset)  # a path that does not exist
    if cfg.val_dataset:
        dataset_input(cfg.val_dataset)
    check_detector_models(cfg)  # offline, a model that is not cached
    from toolkit.detectors.run import train_and_evaluate

    rec = train_and_evaluate(args.dataset, cfg, out=args.out, update_card=not args.no_card,
                             echo=lambda s: print(s, file=sys.stderr))
    m = rec["test"]
    print(f"{cfg.kind} on {args.dataset}: AP {m['ap']:.3f}, ROC-AUC {m['roc_auc']:.3f}, acc@0.5 {m['acc@0.5']:.3f}, "
          f"balanced acc {m['balanced_acc']:.3f}; model in {rec['model_dir']}")
    return 0
