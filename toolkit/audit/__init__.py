"""Shortcut audit: can anything but the generator's own artifacts tell real from fake in a dataset?

One concern per module: `data` reads rows (a local build or any `datasets.load_dataset` path),
`features` turns each stored image's bytes into cheap container/metadata/content features,
`shortcuts` trains classifiers on those features alone (cross-validated by pair), `fidelity` measures
real-vs-fake agreement of round-trip pairs, `balance` counts classes and broken pairs, and `report`
writes the JSON, the plots and the dataset card section. `run.run_audit` ties them together.
"""
