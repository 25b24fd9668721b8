"""Sources of reals: folder (paths, globs, fsspec URLs, captions) and bundled photographs."""

from __future__ import annotations

import io
import json

import fsspec
import numpy as np
import pytest
from PIL import Image

from toolkit.errors import ToolkitError
from toolkit.config.recipe import Recipe
from toolkit.sources.bundled import BundledConfig, BundledSource
from toolkit.sources.folder import FolderConfig, FolderSource
from toolkit.transforms.align import decode

RECIPE = Recipe(name="t", reals={"kind": "bundled"}, seed=5)


def png(colour, size=(20, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def test_folder_metadata_captions_glob_and_relative_origins(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.png").write_bytes(png("red"))
    (tmp_path / "sub" / "b.png").write_bytes(png("blue"))
    (tmp_path / "sub" / "c.jpg").write_bytes(png("green"))
    (tmp_path / "notes.md").write_text("not an image")
    (tmp_path / "metadata.jsonl").write_text(
        json.dumps({"file_name": "a.png", "caption": "red"}) + "\n"
        + json.dumps({"file_name": "sub/b.png", "caption": "blue"}) + "\n")
    src = FolderSource(FolderConfig(path=str(tmp_path)), RECIPE)
    refs = list(src.list())
    assert [r.origin for r in refs] == [f"{tmp_path}/a.png", f"{tmp_path}/sub/b.png", f"{tmp_path}/sub/c.jpg"]
    assert [r.caption for r in refs] == ["red", "blue", None]
    assert src.read(refs[0]) == png("red")
    globbed = list(FolderSource(FolderConfig(path=f"{tmp_path}/**/*.png"), RECIPE).list())
    assert [r.origin.rsplit("/", 1)[-1] for r in globbed] == ["a.png", "b.png"]
    assert len(list(FolderSource(FolderConfig(path=str(tmp_path), count=1), RECIPE).list())) == 1


def test_folder_over_an_fsspec_url():
    fs = fsspec.filesystem("memory")
    fs.pipe("/imgs/x.png", png("white"))
    fs.pipe("/imgs/x.txt", b"a white square")
    src = FolderSource(FolderConfig(path="memory://imgs"), RECIPE)
    (ref,) = list(src.list())
    assert ref.origin == "memory:///imgs/x.png" and ref.caption == "a white square"
    assert src.read(ref) == png("white")


def test_folder_errors_name_the_path(tmp_path):
    with pytest.raises(ToolkitError, match="no such folder"):
        list(FolderSource(FolderConfig(path=str(tmp_path / "missing")), RECIPE).list())
    (tmp_path / "metadata.csv").write_text("name,caption\nx.png,hi\n")
    (tmp_path / "x.png").write_bytes(png("red"))
    with pytest.raises(ToolkitError, match="metadata.csv: needs a file_name column"):
        list(FolderSource(FolderConfig(path=str(tmp_path)), RECIPE).list())


def test_bundled_crops_are_deterministic_and_record_their_origin():
    cfg = BundledConfig(count=12, min_crop=100, max_crop=200)
    a = list(BundledSource(cfg, RECIPE).list())
    b = list(BundledSource(cfg, RECIPE).list())
    assert [r.origin for r in a] == [r.origin for r in b]
    assert len({r.origin for r in a}) == 12
    assert a[0].origin.startswith("skimage://astronaut.png#crop=")
    for ref in a[:6]:
        img, info = decode(BundledSource(cfg, RECIPE).read(ref))
        x, y, w, h = ref.meta["crop"]
        assert img.size == (w, h) and 100 <= min(w, h) <= 200
        assert np.asarray(img).std() > 5  # a photograph, not a blank
    other = list(BundledSource(cfg, Recipe(name="t", reals={}, seed=6)).list())
    assert [r.origin for r in other] != [r.origin for r in a]
