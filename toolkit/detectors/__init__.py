"""Reference detectors trained and evaluated on toolkit datasets.

One concern per module: `config` (typed settings per detector kind, the `paper` and `light` presets),
`data` (loading a build or a hub dataset with pairs kept together), `augment` (the alignment paper's
training augmentation, drawn once per pair), `probe_augment` (UnivFD's transforms for the probe),
`resnet`, `features` (CLIP features, cached), `clip_probe`, `clip_knn`, `fakeinversion`, `freq_probe` (an offline instrument for
studies), `metrics`,
`plots`, `robustness`, `storage` (safetensors + model card), `report` (markdown for the cards) and
`run` (train, evaluate, write results), which the `toolkit train` / `toolkit eval` commands and a
recipe's `detector:` call. docs/fidelity.md compares every setting with the reference code.
"""

KINDS = {
    "resnet50": "toolkit.detectors.resnet:ResNetDetector",
    "clip-probe": "toolkit.detectors.clip_probe:ClipProbeDetector",
    "clip-knn": "toolkit.detectors.clip_knn:ClipKnnDetector",
    "fakeinversion": "toolkit.detectors.fakeinversion:FakeInversionDetector",
    "bfree": "toolkit.detectors.bfree:BFreeDetector",
    "freq-probe": "toolkit.detectors.freq_probe:FreqProbeDetector",
}


def detector_class(kind: str):
    import importlib

    mod, name = KINDS[kind].split(":")
    return getattr(importlib.import_module(mod), name)
