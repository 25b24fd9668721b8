"""Markdown for the dataset card's detector section and for the model card.

Says plainly what was trained (pretrained weights or random init, which architecture, how many
parameters, on how many pairs, on what device and for how long), so a small offline demo model is
never mistaken for the paper's ImageNet-initialised ResNet-50.
"""

from __future__ import annotations


def _f(v, digits=3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def describe_model(rec: dict) -> str:
    c = rec["config"]
    kind = rec["kind"]
    n = rec.get("parameters", 0)
    if kind in ("resnet50", "fakeinversion"):
        stem = "stem without early downsampling (stride-1 conv, no max-pool)" if not c["stem_downsample"] \
            else "ImageNet stem (stride 2 + max-pool)"
        if c["model"] and c["pretrained"]:
            init = f"ResNet initialised from `{c['model']}`"
        elif c["model"]:
            init = f"ResNet with the architecture of `{c['model']}`, **random init**"
        else:
            hf = rec.get("hf_config", {})
            init = (f"**Random-init** ResNet ({hf.get('layer_type', '?')} blocks, depths {hf.get('depths')}, "
                    f"widths {hf.get('hidden_sizes')})")
        if kind == "fakeinversion":
            init = f"{init}, over 9 channels (image, DDIM-inverted noise map, reconstruction)"
        return (f"{init}, {stem}, dropout {c['dropout']}, one logit; {n:,} parameters. "
                f"Adam lr {c['lr']:g}, {c['pairs_per_batch']} pairs per batch, {c['crop']} px crops after paired "
                f"augmentation, early stopping on validation balanced accuracy (patience {c['patience']}, "
                f"lr/10 down to {c['min_lr']:g}); evaluated on full images.")
    if kind == "clip-probe":
        return (f"Linear probe (UnivFD) on frozen `{c['model']}` image features; AdamW lr {c['lr']:g}, "
                f"batch {c['batch_size']}, early stopping on validation AP (patience {c['patience']}).")
    return (f"Nearest neighbours (UnivFD) on frozen `{c['model']}` image features, cosine similarity, "
            f"k={c['k']}, softmax vote at temperature {c['temperature']:g}.")


METRIC_ROWS = [("AP", "ap"), ("ROC-AUC", "roc_auc"), ("accuracy @0.5", "acc@0.5"),
               ("accuracy @val threshold", "acc@val"), ("real accuracy @0.5", "real_acc"),
               ("fake accuracy @0.5", "fake_acc"), ("balanced accuracy @0.5", "balanced_acc")]


def _group_table(groups: dict, what: str) -> list[str]:
    lines = [f"| {what} | n real | n fake | AP | ROC-AUC | real acc | fake acc | balanced acc |",
             "|---|---|---|---|---|---|---|---|"]
    for name, m in groups.items():
        lines.append(f"| {name} | {m['n_real']} | {m['n_fake']} | {_f(m['ap'])} | {_f(m['roc_auc'])} | "
                     f"{_f(m['real_acc'])} | {_f(m['fake_acc'])} | {_f(m['balanced_acc'])} |")
    return lines


def detector_markdown(rec: dict, image_prefix: str | None = None) -> str:
    """One detector's results (`rec` is the record run.py writes)."""
    m = rec["test"]
    lines = [f"### `{rec['kind']}`", "", describe_model(rec), "",
             f"Trained on split `{rec['splits']['train']['name']}` ({rec['splits']['train']['pairs']} pairs), "
             f"validated on {rec['splits']['val']['pairs']} pairs ({rec['splits']['val']['how']}), tested on "
             f"`{rec['splits']['test']['name']}` ({m['n_real']} real, {m['n_fake']} fake images). "
             f"{rec['epochs']} epochs in {rec['train_s']:.0f} s on {rec['device']}; "
             f"validation threshold {rec['val_threshold']:.3f}.", ""]
    if rec.get("note"):
        lines += [f"> {rec['note']}", ""]
    if rec["config"].get("shuffle_labels"):
        lines += ["> Control run: training labels were shuffled; these numbers should be at chance.", ""]
    lines += ["| metric | test |", "|---|---|"]
    lines += [f"| {name} | {_f(m.get(key))} |" for name, key in METRIC_ROWS]
    lines += ["", "Per generator (all reals against that generator's fakes):", ""]
    lines += _group_table(rec["breakdown"]["by_source"], "generator")
    lines += ["", "Per augmentation chain of the build (both members of a pair share it):", ""]
    lines += _group_table(rec["breakdown"]["by_augment"], "augmentation")
    if rec.get("robustness"):
        lines += ["", "Robustness (each perturbation applied to every test image, real and fake alike):", "",
                  "| perturbation | AP | ROC-AUC | balanced acc @0.5 | balanced acc @val |", "|---|---|---|---|---|"]
        for r in rec["robustness"]:
            lines.append(f"| {r['perturbation']} | {_f(r['ap'])} | {_f(r['roc_auc'])} | {_f(r['balanced_acc'])} | "
                         f"{_f(r.get('balanced_acc@val'))} |")
    if image_prefix is not None:
        p = image_prefix
        lines += ["", f"![ROC]({p}roc.png) ![PR]({p}pr.png)" + (f" ![robustness]({p}robustness.png)"
                                                               if rec.get("robustness") else "")]
    return "\n".join(lines) + "\n"


def dataset_section(records: dict) -> str:
    parts = [detector_markdown(rec, image_prefix=f"meta/detector/{kind}-") for kind, rec in sorted(records.items())]
    return "\n".join(parts)


def model_card(rec: dict) -> str:
    return (f"---\ntags:\n- synthetic-image-detection\n- toolkit-detector\nlibrary_name: toolkit\n---\n\n"
            f"# {rec['kind']} detector trained on `{rec['dataset']}`\n\n"
            f"Made by `toolkit train`; load with `toolkit eval THIS_FOLDER --on DATASET` "
            f"(weights in `model.safetensors`, settings in `detector.json`).\n\n"
            + detector_markdown(rec, image_prefix="").replace("### ", "## ", 1))


def cross_table(model: str, rows: list[dict]) -> str:
    lines = [f"Detector `{model}`", "", "| dataset | split | n real | n fake | AP | ROC-AUC | acc @0.5 | acc @val | "
             "real acc | fake acc | balanced acc |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r["metrics"]
        lines.append(f"| {r['dataset']} | {r['split']} | {m['n_real']} | {m['n_fake']} | {_f(m['ap'])} | "
                     f"{_f(m['roc_auc'])} | {_f(m['acc@0.5'])} | {_f(m.get('acc@val'))} | {_f(m['real_acc'])} | "
                     f"{_f(m['fake_acc'])} | {_f(m['balanced_acc'])} |")
    return "\n".join(lines) + "\n"
