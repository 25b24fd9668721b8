"""Opening a dataset the way every reader here needs it: by folder or hub id through
`datasets.load_dataset`, the image column undecoded (the exact stored bytes, never re-encoded PIL),
and a failure to load as one line naming the dataset instead of a library traceback.
Used by the detectors, the audit and retrieval."""

from __future__ import annotations

from toolkit.errors import ToolkitError, first_line


def load_undecoded(dataset: str):
    """`datasets.load_dataset(dataset)` with every split's `image` column (and `mask`, in builds with masks)
    cast to `Image(decode=False)`."""
    import datasets

    try:
        dsd = datasets.load_dataset(dataset)
    except Exception as e:  # noqa: BLE001 - one readable line, not a library traceback
        first = first_line(e)
        raise ToolkitError(f"{dataset}: cannot load as a dataset ({first})") from None
    def undecoded(ds):
        if "image" in ds.column_names:
            ds = ds.cast_column("image", datasets.Image(decode=False))
        if "mask" in ds.column_names and isinstance(ds.features["mask"], datasets.Image):
            ds = ds.cast_column("mask", datasets.Image(decode=False))
        return ds

    return datasets.DatasetDict({name: undecoded(ds) for name, ds in dsd.items()})
