"""A folder of broken and unusual files: the build finishes, each bad file is counted under its
reason, the good ones are aligned correctly (orientation applied, modes converted)."""

from __future__ import annotations

import io
import json
from collections import Counter

import numpy as np
import yaml
from PIL import Image

from bad_files import write_bad_files
from invariants import check_alignment, load


def test_bad_files_are_counted_and_good_ones_aligned(cli, tmp_path, tiny_vae):
    folder = tmp_path / "imgs"
    folder.mkdir()
    expected = write_bad_files(folder)
    (folder / "plain.txt").write_text("a plain test picture")  # sidecar caption
    recipe = {
        "name": "bad-input", "seed": 1,
        "reals": {"kind": "folder", "path": str(folder)},
        "image": {"size": None, "min_size": 32},  # native size: shows orientation and odd sizes
        "fakes": [{"kind": "vae_roundtrip", "model": tiny_vae, "subfolder": None, "latent": "mode"}],
        "split": {"train": 0.5, "test": 0.5},
        "runner": {"scheduler": "synchronous", "shard_size": 3, "progress": False},
    }
    rpath = tmp_path / "r.yaml"
    rpath.write_text(yaml.safe_dump(recipe))
    out = tmp_path / "out"
    code, stdout, err = cli("make", rpath, "--out", out)
    assert code == 0, err

    summary = json.loads((out / "meta" / "summary.json").read_text())
    want = Counter(r for r in expected.values() if r)
    assert summary["dropped"] == dict(want), summary["dropped"]
    logged = {(d["origin"].rsplit("/", 1)[-1], d["reason"]) for d in summary["drop_log"]}
    assert logged == {(f, r) for f, r in expected.items() if r}
    for reason, n in want.items():
        assert f"{reason} {n}" in stdout

    pairs = check_alignment(load(out))
    good = sorted(f for f, r in expected.items() if r is None)
    by_name = {rows[0]["origin"].rsplit("/", 1)[-1]: rows for rows in pairs.values()}
    assert sorted(by_name) == good
    for name, rows in by_name.items():
        real = next(r for r in rows if r["source"] == "real")
        src = Image.open(folder / name)
        w, h = src.size
        if name == "rotated.jpg":  # EXIF orientation 6: 120x80 stored, 80x120 shown
            assert (real["width"], real["height"]) == (80, 120)
        else:
            assert (real["width"], real["height"]) == (w, h), name
    assert by_name["plain.png"][0]["caption"] == "a plain test picture"

    def pixels(name):
        real = next(r for r in by_name[name] if r["source"] == "real")
        return np.asarray(Image.open(io.BytesIO(real["image"]["bytes"])))

    rot = pixels("rotated.jpg")
    from bad_files import rotated_expectation

    for (x, y), colour in rotated_expectation()["points"].items():
        assert np.abs(rot[y, x].astype(int) - np.array(colour)).max() < 40, ((x, y), rot[y, x], colour)
    prov = json.loads(next(r for r in by_name["rotated.jpg"] if r["source"] == "real")["provenance"])
    assert prov["exif_orientation"] == 6
    # 16-bit values were mapped to 8 bits, not clipped: the image spans the range
    sixteen = pixels("sixteen_bit.png")
    assert sixteen.max() > 200 and sixteen.min() < 50
