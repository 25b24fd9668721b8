"""Markdown for the dataset card's detector section and for the model card.

Says plainly what was trained (pretrained weights or random init, which architecture, how many
parameters, which preset and which settings were overridden, how it was validated, on how many
pairs, on what device and for how long), so a small offline demo model is never mistaken for the
paper's ImageNet-initialised ResNet-50.
"""

from __future__ import annotations


def _f(v, digits=3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _aug_resnet(a: dict) -> str:
    def rng(x, fmt="g"):
        return f"{x[0]:{fmt}}-{x[1]:{fmt}}"

    size = f"to {a['resized_crop_size']} px" if a.get("resized_crop_size") else "back to the input size"
    b, c, s, h = a["color_jitter_strength"]
    return (f"random resized crop p {a['resized_crop']:g} (scale {rng(a['resized_crop_scale'])}, ratio "
            f"{rng(a['resized_crop_ratio'], '.3g')}, {size}), colour jitter p {a['color_jitter']:g} "
            f"({b:g}/{c:g}/{s:g}, hue {h:g}), grayscale p {a['grayscale']:g}, cutout p {a['cutout']:g} "
            f"(up to {a['cutout_size']} px), noise p {a['noise']:g} (variance {rng(a['noise_var'])}), blur p "
            f"{a['blur']:g} (sigma {rng(a['blur_sigma'])}), JPEG p {a['jpeg']:g} (q {rng(a['jpeg_quality'])}, "
            f"{'/'.join(a['jpeg_methods'])}), rot90 p {a['rot90']:g}, flip p {a['flip']:g}")


def _yaml(value) -> str:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip()
    return text[:-3].strip() if text.endswith("...") else text


def _preset_line(rec: dict) -> str:
    from toolkit.detectors.config import differences

    c = rec["config"]
    if "preset" not in c:
        return " Trained by an earlier toolkit version, before the papers' settings were restored (docs/fidelity.md)."
    try:
        diff = differences(c)
    except Exception:  # noqa: BLE001 - a record from an older toolkit: say nothing rather than fail the card
        return ""
    what = {"paper": "the reference code's settings, deviations in docs/fidelity.md",
            "demo": "the offline demo's small random-init model"}.get(c.get("preset", "paper"),
                                                                       "lighter than the reference code's")
    if rec["kind"] == "freq-probe":
        what = "the toolkit's offline instrument"
    if not diff:
        return f" Settings: preset `{c.get('preset', 'paper')}` ({what}), nothing overridden."
    shown = ", ".join(f"`{k}={_yaml(v)}`" for k, v in list(diff.items())[:12]) + (" ..." if len(diff) > 12 else "")
    return f" Settings: preset `{c.get('preset', 'paper')}` ({what}), overridden: {shown}."


def describe_model(rec: dict) -> str:
    c = rec["config"]
    kind = rec["kind"]
    n = rec.get("parameters", 0)
    legacy = "preset" not in c  # a record written before the reference settings were restored
    stem_kind = rec.get("stem") or ("conv-s1" if legacy else None)
    if kind in ("resnet50", "fakeinversion") and legacy:
        stem = ("ImageNet stem (stride 2 + max-pool)" if c["stem_downsample"]
                else "stem without early downsampling (stride-1 conv, no max-pool)")
        return (f"ResNet (`{c['model'] or 'random init'}`), {stem}, dropout {c['dropout']}, one logit; {n:,} parameters. "
                f"Adam lr {c['lr']:g}, {c['pairs_per_batch']} pairs per batch, {c['crop']} px crops after paired "
                f"augmentation, early stopping on validation balanced accuracy (patience {c['patience']}, "
                f"lr/10 down to {c['min_lr']:g}); evaluated on full images." + _preset_line(rec))
    if kind in ("resnet50", "fakeinversion"):
        if c["stem_downsample"]:
            stem = "ImageNet stem (stride-2 conv + stride-2 max-pool)"
        elif stem_kind == "conv-s1":
            stem = "stem without early downsampling (stride-1 conv, no max-pool)"
        else:
            stem = "stem without early downsampling (stride-1 7x7 conv + 3x3 max-pool at stride 1, the reference's)"
        if c["model"] and c["pretrained"]:
            init = f"ResNet initialised from `{c['model']}`, fc normal(0, 0.02)"
        elif c["model"]:
            init = f"ResNet with the architecture of `{c['model']}`, **random init**"
        else:
            hf = rec.get("hf_config", {})
            init = (f"**Random-init** ResNet ({hf.get('layer_type', '?')} blocks, depths {hf.get('depths')}, "
                    f"widths {hf.get('hidden_sizes')})")
        if kind == "fakeinversion":
            init = f"{init}, over 9 channels (image, DDIM-inverted noise map, reconstruction)"
        val = (f"on the training augmentation at {c['crop']} px crops" if c.get("val_augment") else "on full images")
        md = c.get("min_delta", 0.0)
        return (f"{init}, {stem}, dropout {c['dropout']}, one logit; {n:,} parameters. "
                f"Adam lr {c['lr']:g}, {c['pairs_per_batch']} pairs per batch, {c['crop']} px crops after paired "
                f"augmentation ({_aug_resnet(c['augment'])}). Validated {val}; early stopping on validation "
                f"balanced accuracy at 0.5 (better = more than {md:g} above the best so far, starting from the "
                f"untrained model's; patience {c['patience']}, lr/10 down to {c['min_lr']:g}, at most "
                f"{c['max_epochs']} epochs); evaluated on full images; {c.get('precision', 'float32')}."
                + _preset_line(rec))
    if kind == "bfree":  # toolkit/detectors/bfree.py
        hf = rec.get("hf_config", {})
        init = (f"initialised from `{c['model']}`" if c["model"] and c["pretrained"] else "**random init**"
                + (f" (hidden {hf.get('hidden_size')}, {hf.get('num_hidden_layers')} layers)" if hf else ""))
        test = "the mean logit of 5 crops (centre + corners)" if c["test_crops"] == 5 else "the centre crop"
        return (f"B-Free: DINOv2 ViT with {hf.get('num_register_tokens', '?')} registers (patch "
                f"{hf.get('patch_size', '?')}), {init}, one logit on the CLS token; {n:,} parameters. Adam lr "
                f"{c['lr']:g}, {c['pairs_per_batch']} pairs per batch, {c['crop']} px crops never resized, after paired "
                f"augmentation ({_aug_resnet(c['augment'])}); early stopping on validation balanced accuracy "
                f"(patience {c['patience']}, lr/10 down to {c['min_lr']:g}, at most {c['max_epochs']} epochs); "
                f"scored on {test} of {c['crop']} px; {c.get('precision', 'float32')}." + _preset_line(rec))
    if kind == "clip-probe":
        a = c.get("augment", {})
        if c.get("train_augment"):
            mode = (f"trained with UnivFD's augmentation recomputed every epoch (short side to {a.get('resize')}, "
                    f"blur p {a.get('blur'):g}, JPEG p {a.get('jpeg'):g}, random crop, flip p {a.get('flip'):g}"
                    f"{', one draw per pair' if a.get('paired') else ''})")
        else:
            mode = "trained on cached features of the stored images (no training-time augmentation)"
        return (f"Linear probe (UnivFD, weight init normal(0, 0.02)) on frozen `{c['model']}` image features "
                f"(projected embedding, UnivFD's centre crop), {mode}; AdamW lr {c['lr']:g}, batch {c['batch_size']}, "
                f"early stopping on validation accuracy at 0.5 (patience {c['patience']}, lr/10 down to "
                f"{c.get('min_lr', 1e-6):g}, at most {c['max_epochs']} epochs)." + _preset_line(rec))
    if kind == "freq-probe":
        return (f"Logistic regression (L2, C={c['c']:g}) on {n - 1} frequency, JPEG-blocking, block-DCT and "
                "intensity features of the full image (toolkit/detectors/freq_probe.py): an offline instrument "
                "for controlled studies, not a paper's detector." + _preset_line(rec))
    return (f"Nearest neighbours (UnivFD) on frozen `{c['model']}` image features, cosine similarity, "
            f"k={c['k']}, softmax vote at temperature {c['temperature']:g}." + _preset_line(rec))


METRIC_ROWS = [("AP", "ap"), ("ROC-AUC", "roc_auc"), ("accuracy @0.5", "acc@0.5"),
               ("accuracy @val threshold", "acc@val"), ("real accuracy @0.5", "real_acc"),
               ("fake accuracy @0.5", "fake_acc"), ("balanced accuracy @0.5", "balanced_acc"),
               ("accuracy @oracle threshold (searched on this test set, as UnivFD's tables; not a fair figure)",
                "acc@oracle"),
               ("ECE (15 bins; lower is better)", "ece"), ("NLL (lower is better)", "nll")]


def _group_table(groups: dict, what: str) -> list[str]:
    lines = [f"| {what} | n real | n fake | AP | ROC-AUC | real acc | fake acc | balanced acc |",
             "|---|---|---|---|---|---|---|---|"]
    for name, m in groups.items():
        lines.append(f"| {name} | {m['n_real']} | {m['n_fake']} | {_f(m['ap'])} | {_f(m['roc_auc'])} | "
                     f"{_f(m['real_acc'])} | {_f(m['fake_acc'])} | {_f(m['balanced_acc'])} |")
    return lines


def detector_markdown(rec: dict, image_prefix: str | None = None, key: str | None = None) -> str:
    """One detector's results (`rec` is the record run.py writes; `key`: its entry in the card when that
    is not just its kind, i.e. a further run of the same kind)."""
    m = rec["test"]
    title = f"### `{rec['kind']}`" + (f" (run `{key}`, seed {rec['config'].get('seed')})"
                                      if key and key != rec["kind"] else "")
    lines = [title, "", describe_model(rec), "",
             f"Trained on split `{rec['splits']['train']['name']}` ({rec['splits']['train']['pairs']} pairs), "
             f"validated on {rec['splits']['val']['pairs']} pairs ({rec['splits']['val']['how']}), tested on "
             f"`{rec['splits']['test']['name']}` ({m['n_real']} real, {m['n_fake']} fake images). "
             f"{rec['epochs']} epochs in {rec['train_s']:.0f} s on {rec['device']}"
             + (f" (weights of epoch {rec['best_epoch']}{', i.e. untrained' if rec['best_epoch'] == 0 else ''})"
                if rec.get("best_epoch") is not None else "")
             + f"; validation threshold {rec['val_threshold']:.3f}"
             + (f", oracle threshold {m['oracle_threshold']:.3f}" if m.get("oracle_threshold") is not None else "")
             + ".", ""]
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
    parts = [detector_markdown(rec, image_prefix=f"meta/detector/{key}-", key=key) for key, rec in sorted(records.items())]
    return "\n".join(parts)


def model_card(rec: dict) -> str:
    return (f"---\ntags:\n- synthetic-image-detection\n- toolkit-detector\nlibrary_name: toolkit\n---\n\n"
            f"# {rec['kind']} detector trained on `{rec['dataset']}`\n\n"
            f"Made by `toolkit train`; load with `toolkit eval THIS_FOLDER --on DATASET` "
            f"(weights in `model.safetensors`, settings in `detector.json`).\n\n"
            + detector_markdown(rec, image_prefix="").replace("### ", "## ", 1))


def cross_table(model: str, rows: list[dict]) -> str:
    lines = [f"Detector `{model}`", "", "| dataset | split | n real | n fake | AP | ROC-AUC | acc @0.5 | acc @val | "
             "real acc | fake acc | balanced acc | acc @oracle* |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r["metrics"]
        lines.append(f"| {r['dataset']} | {r['split']} | {m['n_real']} | {m['n_fake']} | {_f(m['ap'])} | "
                     f"{_f(m['roc_auc'])} | {_f(m['acc@0.5'])} | {_f(m.get('acc@val'))} | {_f(m['real_acc'])} | "
                     f"{_f(m['fake_acc'])} | {_f(m['balanced_acc'])} | {_f(m.get('acc@oracle'))} |")
    lines += ["", "\\* threshold searched on that dataset's own labels (UnivFD's tables): an upper bound, not a "
              "deployable figure; `acc @val` uses the threshold chosen on validation."]
    return "\n".join(lines) + "\n"
