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


def detector_class(kind: str):
    """The implementation of a detector kind, from the one registry (registered by `config`, lazily)."""
    from toolkit.config.registry import DETECTORS
    from toolkit.detectors import config  # noqa: F401 - registers the kinds

    return DETECTORS.get(kind).impl
