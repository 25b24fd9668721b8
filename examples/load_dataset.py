"""Load a toolkit dataset and look at one aligned pair.

    .venv/bin/python examples/load_dataset.py outputs/demo
"""

import io
import json
import sys

import datasets
import numpy as np
from PIL import Image

path = sys.argv[1] if len(sys.argv) > 1 else "outputs/demo"
ds = datasets.load_dataset(path)
print(ds)
train = ds["train"].cast_column("image", datasets.Image(decode=False))  # the exact stored bytes
first = train[0]
pair = [r for r in train.filter(lambda r: r["pair_id"] == first["pair_id"])]
for r in pair:
    img = Image.open(io.BytesIO(r["image"]["bytes"]))
    print(f"{r['source']:>14} label={r['label']} {img.format} {img.size} augment={json.loads(r['augment'])}")
real, fake = (np.asarray(Image.open(io.BytesIO(r["image"]["bytes"])), dtype=float) for r in pair[:2])
print(f"PSNR real vs fake: {10 * np.log10(255 ** 2 / np.mean((real - fake) ** 2)):.2f} dB")
