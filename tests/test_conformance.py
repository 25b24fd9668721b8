"""Conformance: the same checks run over every registered generator and source (a new kind is tested for
free once it has a line in the tables below, and a kind without a line fails the coverage test).

Generators: one result per input, uint8 at the real's exact size (or a DropSample); the same pair gives
the same bytes whatever batch it is in (seeds come from the pair, never from the batch); provenance
serialises to JSON; the config refuses a bad value with a "field: message" error.
Sources: two listings of the same recipe give the same refs in the same order; every listed ref reads
back as bytes that decode; describe() serialises and carries the card's text keys; the config refuses a
bad value.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from toolkit.config.registry import GENERATORS, SOURCES, load_builtins

load_builtins()


def _builtin(registry) -> list[str]:
    return [n for n in registry.names() if registry.get(n).impl.__module__.startswith("toolkit.")]


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory):
    from tiny_sd import build_tiny_sd

    return build_tiny_sd(tmp_path_factory.mktemp("sd") / "tiny-sd")


@pytest.fixture(scope="module")
def tiny_inpaint(tmp_path_factory):
    from tiny_sd import build_tiny_sd_inpaint

    return build_tiny_sd_inpaint(tmp_path_factory.mktemp("inpaint") / "tiny-inpaint")


# kind -> (recipe section for a tiny run, a bad override that its config must refuse, bytes exact across
# batch sizes). Not exact: a diffusion pipeline's float kernels for a batch of 3 and of 1 differ in the
# last bits, which the denoising loop amplifies (docs/text2image.md: batch_size is part of the recipe
# hash for that reason); the noise, drawn per pair, is the same, so the images stay close.
GENERATOR_CASES = {
    "identity": (lambda ctx: {}, {"batch_size": 0}, True),
    "trace": (lambda ctx: {"amplitude": 2.0, "quantize": "floor"}, {"quantize": "ceil"}, True),
    "vae_roundtrip": (lambda ctx: {"model": "builtin:standin_vae", "subfolder": None, "dtype": "float32"},
                      {"latent": "smaple"}, True),
    "text2image": (lambda ctx: {"model": ctx["tiny_sd"], "steps": 2, "height": 32, "width": 32, "dtype": "float32",
                                "scheduler": "ddim"}, {"steps": 0}, False),
    "img2img": (lambda ctx: {"model": ctx["tiny_sd"], "steps": 4, "strength": 0.5, "height": 32, "width": 32,
                             "dtype": "float32", "scheduler": "ddim"}, {"strength": 0}, False),
    "inpaint": (lambda ctx: {"model": ctx["tiny_inpaint"], "mask": "rectangle", "steps": 2, "height": 32,
                             "width": 32, "dtype": "float32", "scheduler": "ddim"}, {"mask": "circle"}, False),
}


DIFFUSERS = ("text2image", "img2img", "inpaint")  # the kinds whose cases need the tiny pipelines built above


def _recipe(reals: dict, fakes: list[dict] | None = None, size: int = 32):
    from toolkit.config.recipe import validate

    return validate({"name": "conformance", "reals": reals, "image": {"size": size, "min_size": 8},
                     "fakes": fakes or [{"kind": "identity"}], "runner": {"device": "cpu"}})


def test_every_builtin_kind_has_a_conformance_case():
    assert set(_builtin(GENERATORS)) <= set(GENERATOR_CASES), "add the new generator to GENERATOR_CASES"
    assert set(_builtin(SOURCES)) <= set(SOURCE_CASES), "add the new source to SOURCE_CASES"


def _make_generator(kind: str, section: dict, batch_size: int):
    recipe = _recipe({"kind": "bundled", "count": 3}, [{"kind": kind, **section, "batch_size": batch_size}])
    entry = GENERATORS.get(kind)
    return entry.impl(recipe.fakes[0], recipe, "cpu")


@pytest.mark.parametrize("kind", sorted(GENERATOR_CASES))
def test_generator_conformance(kind, request):
    make_section, bad, exact = GENERATOR_CASES[kind]
    ctx = {name: request.getfixturevalue(name) for name in ("tiny_sd", "tiny_inpaint") if kind in DIFFUSERS}
    section = make_section(ctx)
    rng = np.random.default_rng(0)
    pixels = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(3)]
    pair_ids = ["p0", "p1", "p2"]
    captions = ["a red square", "a cat", "a bowl of soup"]

    def run(batch_size: int, idx: list[int]) -> list:
        gen = _make_generator(kind, section, batch_size)
        return gen([pixels[i] for i in idx], [pair_ids[i] for i in idx], captions=[captions[i] for i in idx])

    together = run(3, [0, 1, 2])
    assert len(together) == 3
    from toolkit.errors import DropSample
    from toolkit.generators.base import Fake

    def px(r):
        return r.pixels if isinstance(r, Fake) else r

    for real, res in zip(pixels, together):
        if isinstance(res, DropSample):
            continue
        assert px(res).dtype == np.uint8 and px(res).shape == real.shape
        if isinstance(res, Fake):
            json.dumps(res.provenance)
    alone = run(1, [2]) + run(1, [0])  # another batch, another order
    for a, b in ((alone[0], together[2]), (alone[1], together[0])):
        diff = np.abs(px(a).astype(int) - px(b).astype(int))
        if exact:
            assert not diff.any()
        else:  # the same noise (per pair): close, never another image
            assert diff.mean() < 2.0 and a.provenance.get("seed") == b.provenance.get("seed")
    assert np.abs(px(together[0]).astype(int) - px(together[1]).astype(int)).mean() > 5  # pairs differ
    json.dumps(_make_generator(kind, section, 1).provenance())
    with pytest.raises(ValueError, match=f"^{next(iter(bad))}: "):
        GENERATORS.get(kind).config(**{"kind": kind, **section, **bad})


def _folder(tmp_path) -> dict:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((40, 48, 3), 60 * i, np.uint8)).save(folder / f"im{i}.png")
    return {"kind": "folder", "path": str(folder)}


# kind -> (recipe section, a bad override, whether listing runs here: laion downloads, tested in test_laion*)
SOURCE_CASES = {
    "bundled": (lambda tmp: {"kind": "bundled", "count": 3}, {"count": 0}, True),
    "folder": (_folder, {"count": 0}, True),
    "shaders": (lambda tmp: {"kind": "shaders", "count": 2, "families": ["noise"]}, {"supersample": 0}, True),
    "laion": (lambda tmp: {"kind": "laion", "url_list": str(tmp / "urls.parquet")}, {"threads": 0}, False),
}


@pytest.mark.parametrize("kind", sorted(SOURCE_CASES))
def test_source_conformance(kind, tmp_path):
    make_section, bad, lists = SOURCE_CASES[kind]
    section = make_section(tmp_path)
    recipe = _recipe(section)
    recipe.output = str(tmp_path / "out")
    entry = SOURCES.get(kind)
    described = entry.impl(recipe.reals, recipe).describe()
    json.dumps(described)
    assert described["kind"] == kind
    for key in ("card_reals", "card_limitations"):
        assert isinstance(described.get(key, ""), str)
    with pytest.raises(ValueError, match=f"^{next(iter(bad))}: "):
        entry.config(**{**section, **bad})
    if not lists:
        return
    first = list(entry.impl(recipe.reals, recipe).list())
    again = entry.impl(recipe.reals, recipe)
    refs = list(again.list())
    assert [r.origin for r in refs] == [r.origin for r in first] and refs
    for ref in refs:
        data = again.read(ref)
        assert isinstance(data, bytes) and data
        Image.open(io.BytesIO(data)).load()
