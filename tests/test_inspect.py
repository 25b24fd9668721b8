"""`toolkit inspect`: a static page that renders in headless Chromium with no console errors."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from publish_demo import demo_build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return demo_build(tmp_path_factory)


def chromium(tmp_path, url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
                           "--window-size=1280,1000", *args, url],
                          capture_output=True, text=True, timeout=120)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_inspect_page_renders_without_console_errors(built, tmp_path, cli):
    dest = tmp_path / "inspect"
    code, stdout, err = cli("inspect", built, "--dest", dest)
    assert code == 0, err
    info = json.loads((dest / "inspect.json").read_text())
    summary = json.loads((built / "meta/summary.json").read_text())
    assert info["pairs"] == summary["pairs"] == 12
    assert info["images"] == 3 * 12  # real, fake, difference map per pair
    assert set(info["filters"]["source"]) == {"vae_roundtrip"}
    assert Image.open(dest / "grid.png").size[0] > 100
    # images are the stored bytes: a JPEG-augmented member is shown as the JPEG a user gets
    rows = pq.read_table(built / "data/train-00000-of-00003.parquet").to_pylist()
    r = rows[0]
    ext = {"png": "png", "jpeg": "jpg", "webp": "webp"}[r["format"]]
    assert (dest / "img" / f"{r['pair_id']}_real.{ext}").read_bytes() == r["image"]["bytes"]

    shot = tmp_path / "inspect.png"
    proc = chromium(tmp_path, (dest / "index.html").as_uri(), f"--screenshot={shot}")
    lines = console_lines(proc.stderr)
    n = info["images"]
    assert any(f"toolkit-inspect: ready, {n} of {n} images loaded" in line for line in lines), proc.stderr[-2000:]
    bad = [line for line in lines if "ERROR" in line or "Uncaught" in line or "failed" in line]
    assert not bad, bad
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (1000, 1280) and pixels.std() > 20  # not a blank page


def test_inspect_filters_by_augmentation_and_source(built, tmp_path, cli):
    dest = tmp_path / "inspect"
    assert cli("inspect", built, "--dest", dest)[0] == 0
    jpeg_pairs = sum(1 for f in sorted((built / "data").glob("*.parquet"))
                     for r in pq.read_table(f, columns=["label", "format"]).to_pylist()
                     if r["label"] == 0 and r["format"] == "jpeg")
    assert 0 < jpeg_pairs < 12
    summary = json.loads((built / "meta/summary.json").read_text())
    test_pairs = summary["splits"]["test"]["pairs"]
    for fragment, want in (("#augment=jpeg", jpeg_pairs), ("#source=vae_roundtrip", 12), ("#split=test", test_pairs),
                           ("#augment=png&split=test", None)):
        proc = chromium(tmp_path, (dest / "index.html").as_uri() + fragment, "--dump-dom")
        dom = proc.stdout
        shown = int(dom.split('data-shown="', 1)[1].split('"', 1)[0])
        if want is not None:
            assert shown == want, fragment
        else:
            assert shown <= test_pairs


def test_a_broken_image_is_reported_on_the_console(built, tmp_path, cli):
    dest = tmp_path / "inspect"
    assert cli("inspect", built, "--dest", dest)[0] == 0
    victim = sorted((dest / "img").glob("*_diff.png"))[0]
    victim.unlink()
    proc = chromium(tmp_path, (dest / "index.html").as_uri(), f"--screenshot={tmp_path / 's.png'}")
    lines = console_lines(proc.stderr)
    assert any("image failed to load" in line and victim.name in line for line in lines), proc.stderr[-2000:]


def test_inspect_of_missing_build_is_one_line(tmp_path, cli):
    code, _, err = cli("inspect", tmp_path / "none")
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1


def _attr_values(dom: str, selector_start: str, attr: str) -> list[str]:
    """`attr` of every element whose tag starts with `selector_start` (e.g. '<div class="pair"'), in DOM order."""
    return [chunk.split(f'{attr}="', 1)[1].split('"', 1)[0] for chunk in dom.split(selector_start)[1:]]


def test_gain_slider_sort_by_psnr_and_the_full_size_view(built, tmp_path, cli):
    from toolkit.card.figures import decode

    dest = tmp_path / "inspect"
    assert cli("inspect", built, "--dest", dest)[0] == 0
    info = json.loads((dest / "inspect.json").read_text())
    gain = info["diff_gain"]
    # the maps are |real - fake| at gain 1, exactly; the default gain saturates at most 1% of the values
    # (and doubling it would saturate more: it is the largest such power of two)
    rows = [r for f in sorted((built / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    by_pair: dict = {}
    for r in rows:
        by_pair.setdefault(r["pair_id"], {})[r["source"]] = r
    diffs = []
    for pid, members in by_pair.items():
        d = np.abs(decode(members["real"]).astype(int) - decode(members["vae_roundtrip"]).astype(int))
        assert (np.asarray(Image.open(dest / "img" / f"{pid}_vae_roundtrip_diff.png")) == d).all()
        diffs.append(d.ravel())
    values = np.concatenate(diffs)
    assert (values * gain >= 255).mean() <= 0.01 < (values * gain * 2 >= 255).mean()
    page = (dest / "index.html").read_text()
    from toolkit.config.recipe import StoreConfig

    level = StoreConfig().png_compress_level  # the recipe default the demo build used
    assert "jpeg (quality " in page and f"png (compress_level {level})" in page  # augmentation written out

    pid = sorted(by_pair)[0]
    url = (dest / "index.html").as_uri()
    proc = chromium(tmp_path, url + f"#sort=psnr-desc&gain=32&open={pid}&zoom=4", "--dump-dom")
    dom = proc.stdout
    psnrs = [float(x) for x in _attr_values(dom, '<div class="pair"', "data-psnr")]
    assert len(psnrs) == 12 and psnrs == sorted(psnrs, reverse=True) and psnrs != sorted(psnrs)
    table = [float(x) for x in _attr_values(dom.split("<tbody>", 1)[1], "<tr ", "data-psnr")]
    assert table == psnrs
    assert 'data-gain="32"' in dom and dom.count("filter: brightness(32)") >= 12
    viewer = dom.split('id="viewer"', 1)[1].split("</script>", 1)[0]
    assert f'data-pair="{pid}"' in viewer and 'data-zoom="4"' in viewer and "hidden" not in viewer.split(">", 1)[0]
    assert viewer.count("width: 256px") == 3  # real, fake, diff of 64 px at 4x
    assert [int(x) for x in _attr_values(dom, '<div class="pair"', "data-order")] != list(range(12))  # moved

    # the slider changes what is drawn: the same page is brighter at gain 64 than at gain 1
    means = {}
    for g in (1, 64):
        shot = tmp_path / f"gain{g}.png"
        chromium(tmp_path, url + f"#gain={g}", f"--screenshot={shot}")
        means[g] = np.asarray(Image.open(shot).convert("L"), dtype=float).mean()
    assert means[64] > means[1] + 5, means
