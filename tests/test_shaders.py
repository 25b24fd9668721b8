"""Shader reals: the library, the renderer's colour and orientation, determinism, the failure paths
(compile error, degenerate frame, hang) and an end-to-end build loaded with datasets."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from invariants import check_alignment, load
from shader_files import write


@pytest.fixture(scope="module")
def renderer():
    from toolkit.shaders.render import Renderer

    return Renderer()  # one GL context for the whole library test


def _recipe(tmp_path, **reals):
    from toolkit.config.recipe import validate
    from toolkit.config.registry import load_builtins

    load_builtins()

    raw = {"name": "t", "seed": 0, "output": str(tmp_path / "out"),
           "reals": {"kind": "shaders", "count": 4, **reals}, "image": {"size": 64},
           "fakes": [{"kind": "vae_roundtrip", "model": "builtin:standin_vae", "subfolder": None}]}
    return validate(raw)


def _source(tmp_path, **reals):
    from toolkit.sources.shaders import ShadersSource

    recipe = _recipe(tmp_path, **reals)
    recipe.output = None  # no card side files for unit-level tests
    return ShadersSource(recipe.reals, recipe)


def test_every_builtin_program_compiles_and_renders_a_distinct_non_degenerate_frame(renderer):
    from toolkit.shaders.library import builtin_programs
    from toolkit.shaders.quality import degenerate_reason
    from toolkit.shaders.uniforms import draw_builtin

    progs = builtin_programs()
    assert len(progs) >= 60
    assert len({p.family for p in progs}) >= 10
    frames, problems = {}, {}
    for p in progs:
        rgb, nonfinite = renderer.render(p, draw_builtin(0, p.key, 0), 64, 64)
        assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
        reason = degenerate_reason(rgb, nonfinite)
        if reason:
            problems[p.key] = reason
        frames[p.key] = rgb.astype(np.float32)
    assert not problems, problems
    keys = sorted(frames)
    for i, a in enumerate(keys):  # no two programs draw the same picture
        for b in keys[i + 1:]:
            assert np.abs(frames[a] - frames[b]).mean() > 3.0, (a, b)


def test_uniforms_vary_per_sample_and_come_from_the_seed():
    from toolkit.shaders.uniforms import draw_builtin

    a, b = draw_builtin(0, "noise/value_fbm", 0), draw_builtin(0, "noise/value_fbm", 1)
    assert a != b
    assert draw_builtin(0, "noise/value_fbm", 0) == a
    assert draw_builtin(1, "noise/value_fbm", 0) != a


def test_shadertoy_wrapper_colour_and_orientation(tmp_path):
    """A known ramp: red = x, green = y (bottom to top in GL, so the top row of the PNG is green),
    blue = fract(iTime). Checks the wrapper uniforms, the flip and the quantisation exactly."""
    write(tmp_path / "user", "ramp")
    src = _source(tmp_path, builtin=False, user_dir=str(tmp_path / "user"), count=2, width=48, height=32)
    refs = list(src.list())
    assert [r.origin for r in refs] == ["shader://user/ramp#i=0", "shader://user/ramp#i=1"]
    img = Image.open(io.BytesIO(src.read(refs[0])))
    assert img.format == "PNG" and img.mode == "RGB" and img.size == (48, 32)
    got = np.asarray(img).astype(np.int32)
    u = refs[0].meta["uniforms"]
    x = (np.arange(48) + 0.5) / 48
    y = (np.arange(32) + 0.5) / 32
    want = np.zeros((32, 48, 3))
    want[..., 0] = x[None, :]
    want[..., 1] = y[::-1, None]  # row 0 of the image is the top of the frame
    want[..., 2] = u["iTime"] % 1.0
    want = np.floor(want * 255 + 0.5).astype(np.int32)
    assert np.abs(got - want).max() <= 1


def test_supersampling_is_a_box_filter(tmp_path):
    from toolkit.shaders.render import quantize

    frame = np.random.default_rng(0).random((8, 12, 3)).astype(np.float32)
    rgb, nonfinite = quantize(frame, 2)
    want = np.floor(frame.reshape(4, 2, 6, 2, 3).mean(axis=(1, 3)) * 255 + 0.5)
    assert rgb.shape == (4, 6, 3) and nonfinite == 0.0
    assert np.array_equal(rgb, want.astype(np.uint8))
    write(tmp_path / "user", "rings")
    src = _source(tmp_path, builtin=False, user_dir=str(tmp_path / "user"), count=1, supersample=3)
    ref = next(iter(src.list()))
    img = Image.open(io.BytesIO(src.read(ref)))
    assert img.size == (64, 64)


def test_same_seed_same_bytes_in_a_fresh_renderer(tmp_path, monkeypatch):
    src = _source(tmp_path, programs=["raymarch/spheres_plane", "fractal/julia", "warp/iq_warp"], count=6)
    refs = list(src.list())
    first = [src.read(r) for r in refs]
    assert len(set(first)) == 6  # samples of one program differ
    monkeypatch.setenv("LP_NUM_THREADS", "1")  # llvmpipe's tiling must not depend on its thread count
    again = _source(tmp_path, programs=["raymarch/spheres_plane", "fractal/julia", "warp/iq_warp"], count=6)
    refs2 = list(again.list())
    assert [r.meta for r in refs2] == [r.meta for r in refs]
    assert [again.read(r) for r in refs2] == first  # a new render process, the same pixels


def test_compile_error_is_reported_with_name_and_log_skipped_and_counted(tmp_path, capsys):
    from toolkit.engine.runner import plan_build

    write(tmp_path / "user", "broken", "rings")
    recipe = _recipe(tmp_path, builtin=False, user_dir=str(tmp_path / "user"), count=3)
    plan = plan_build(recipe, recipe.output)
    err = capsys.readouterr().err
    assert "user/broken" in err and "undefined_thing" in err  # the name and the GL log
    assert plan.skipped == {"shader_compile_error": 1} and plan.dropped == {}
    origins = [r.origin for t in plan.shards for r in t.refs]
    assert sorted(origins) == [f"shader://user/rings#i={i}" for i in range(3)]  # its share went to the others
    card = json.loads((tmp_path / "out" / "meta" / "shaders" / "card.json").read_text())
    assert "undefined_thing" in card["failed_programs"]["user/broken"]


def test_degenerate_frames_are_rejected_with_a_reason(tmp_path, cli):
    from toolkit.shaders.quality import degenerate_reason

    noisy = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert degenerate_reason(noisy) is None
    assert degenerate_reason(np.full((32, 32, 3), 7, np.uint8)) == "degenerate_constant"
    assert degenerate_reason(noisy, nonfinite_fraction=0.5) == "shader_nan"
    write(tmp_path / "user", "flat", "nan", "mostly_flat", "rings", "broken")
    out = tmp_path / "out"
    code, _, err = cli("make", ROOT / "recipes" / "shaders.yaml", "--out", out, "reals.builtin=false",
                       f"reals.user_dir={tmp_path / 'user'}", "reals.count=8", "reals.supersample=1",
                       "image.size=32", "image.min_size=16", "runner.scheduler=synchronous",
                       "runner.progress=false")
    assert code == 0, err
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["dropped"] == {"degenerate_constant": 2, "shader_nan": 2, "degenerate_one_colour": 2}
    assert summary["skipped"] == {"shader_compile_error": 1}
    assert summary["pairs"] == 2
    card = (out / "README.md").read_text()
    assert "- `user/broken`: 0:2(14): error:" in card  # name + the last line of its GL log
    logged = {d["origin"] for d in summary["drop_log"]}
    assert "shader://user/flat#i=1" in logged


def test_a_hanging_program_is_killed_not_the_build(tmp_path, cli):
    write(tmp_path / "user", "hang", "rings")
    out = tmp_path / "out"
    t0 = time.time()
    code, _, err = cli("make", ROOT / "recipes" / "shaders.yaml", "--out", out, "reals.builtin=false",
                       f"reals.user_dir={tmp_path / 'user'}", "reals.count=4", "reals.time_limit_s=2",
                       "reals.supersample=1", "image.size=32", "image.min_size=16",
                       "runner.scheduler=synchronous", "runner.progress=false")
    elapsed = time.time() - t0
    assert code == 0, err
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["dropped"] == {"shader_timeout": 2}
    assert summary["pairs"] == 2  # the good program's frames, rendered by a restarted process
    assert elapsed < 60


def test_end_to_end_build_is_aligned_deterministic_and_carded(tmp_path, cli):
    args = ["reals.count=12", "reals.supersample=1", "image.size=64", "runner.shard_size=4",
            "runner.scheduler=synchronous", "runner.progress=false",
            "reals.programs=[noise/*, fractal/julia, raymarch/blob_metaballs, tiling/*]"]
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        code, stdout, err = cli("make", ROOT / "recipes" / "shaders.yaml", "--out", out, *args)
        assert code == 0, err
    dsd = load(outs[0])
    pairs = check_alignment(dsd)
    assert len(pairs) == 12
    reals = [r for rows in pairs.values() for r in rows if r["source"] == "real"]
    assert all(r["origin"].startswith("shader://") for r in reals)
    prov = json.loads(reals[0]["provenance"])
    assert "uZoom" in prov["source_meta"]["uniforms"] or "iTime" in prov["source_meta"]["uniforms"]
    assert {r["origin"].split("/")[2] for r in reals} >= {"noise", "tiling"}  # families interleave
    # a rebuild gives the same bytes
    files = sorted(p.relative_to(outs[0]) for p in (outs[0] / "data").glob("*.parquet"))
    assert files
    for f in files:
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes()
    card = (outs[0] / "README.md").read_text()
    assert "## Shader reals" in card and "meta/shaders/contact_sheet.png" in card
    assert (outs[0] / "meta" / "shaders" / "contact_sheet.png").exists()


def test_shaders_recipe_loads():
    from toolkit.config.recipe import load_recipe

    r = load_recipe(ROOT / "recipes" / "shaders.yaml")
    assert r.reals.kind == "shaders" and r.fakes[0].model == "builtin:standin_vae"
    assert r.augment.matched


def test_cli_list_and_contact_sheet(tmp_path, cli):
    code, stdout, _ = cli("shaders", "--list")
    assert code == 0 and len(stdout.strip().splitlines()) >= 60
    sheet = tmp_path / "sheet.png"
    code, _, err = cli("shaders", "--contact-sheet", sheet, "--size", "32", "--families", "fractal", "moire")
    assert code == 0, err
    with Image.open(sheet) as im:
        assert im.format == "PNG" and im.width > 5 * 32


def test_bad_options_are_one_line_errors(tmp_path, cli):
    code, _, err = cli("shaders", "--list", "--families", "nosuch")
    assert code == 2 and "unknown family 'nosuch'" in err
    code, _, err = cli("make", ROOT / "recipes" / "shaders.yaml", "--out", tmp_path / "o",
                       f"reals.user_dir={tmp_path / 'missing'}")
    assert code == 2 and "no such folder" in err
