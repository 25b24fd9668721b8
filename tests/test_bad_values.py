"""Every recipe value is checked before any work starts: a bad one is exit code 2 and one line naming the
file and the key path, and the output folder is never created (nothing was planned, downloaded, loaded
or written). Mapping overrides replace their node; interpolation is refused; folder metadata errors are
one line naming the file and line."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import ROOT, demo_args

DEMO = ROOT / "recipes" / "demo.yaml"

# (overrides after demo_args, key path the one-line message must name)
BAD = [
    # the observed failures
    (["fakes.0.latent=smaple"], "fakes[0].latent"),
    (["fakes.0.dtype=float99"], "fakes[0].dtype"),
    (["runner.device=tpu"], "runner.device"),
    (["store.png_compress_level=10"], "store.png_compress_level"),
    (["image.max_pixels=0"], "image.max_pixels"),
    (["image.min_size=0"], "image.min_size"),
    (["runner.workers=-1"], "runner.workers"),
    (["runner.retries=-1"], "runner.retries"),
    (["runner.shard_size=0"], "runner.shard_size"),
    (["runner.scheduler=bogus"], "runner.scheduler"),
    (["name=x-${oc.env:HF_TOKEN}"], "name"),
    (['split={"../../escaped": 1.0}'], "split"),
    (["name=../escaped"], "name"),
    (["name=a b"], "name"),
    (["fakes.0.name=real"], "fakes[0].name"),
    (["fakes.0.name=../x"], "fakes[0].name"),
    (["fakes=[{kind: vae_roundtrip, model: 'builtin:standin_vae', subfolder: null}, {kind: identity, "
      "name: vae_roundtrip}]"], "fakes[1].name"),
    (["detector={kind: resnet50, lr_factor: 1.5}"], "detector.lr_factor"),
    # image
    (["image.size=4"], "image.size"),
    (["image.crop=middle"], "image.crop"),
    (["image.icc=keep"], "image.icc"),
    (["image.alpha_background=[0, 0, 300]"], "image.alpha_background"),
    # split, seed, runner
    (["split={train: 1.2, test: -0.2}"], "split.train"),
    (["split={}"], "split"),
    (["seed=abc"], "seed"),
    (["runner.scheduler=tcp://host"], "runner.scheduler"),
    (["runner.gpu_resource=GPU=1"], "runner.gpu_resource"),
    (["store.row_group_size=0"], "store.row_group_size"),
    # sources
    (["reals.count=-1"], "reals.count"),
    (["reals.photos=[chelsae]"], "reals.photos[0]"),
    (["reals.photos=[]"], "reals.photos"),
    (["reals.min_crop=4"], "reals.min_crop"),
    (["reals.max_aspect=0.5"], "reals.max_aspect"),
    (["reals={kind: folder, path: /nowhere, count: 0}"], "reals.count"),
    (["reals={kind: folder, path: /nowhere, extensions: []}"], "reals.extensions"),
    (["reals={kind: shaders, supersample: 9}"], "reals.supersample"),
    (["reals={kind: shaders, families: [fractl]}"], "reals.families[0]"),
    (["reals={kind: shaders, backend: x11}"], "reals.backend"),
    (["reals={kind: shaders, time_limit_s: 0}"], "reals.time_limit_s"),
    (["reals={kind: shaders, builtin: false}"], "reals.user_dir"),
    # generators
    (["fakes.0.batch_size=0"], "fakes[0].batch_size"),
    (["fakes.0.model=''"], "fakes[0].model"),
    (["fakes.0.model=${oc.env:HOME}"], "fakes[0].model"),
    (["fakes=[{kind: text2image, steps: 0}]"], "fakes[0].steps"),
    (["fakes=[{kind: text2image, guidance_scale: -1}]"], "fakes[0].guidance_scale"),
    (["fakes=[{kind: text2image, scheduler: eulr}]"], "fakes[0].scheduler"),
    (["fakes=[{kind: text2image, width: 100}]"], "fakes[0].width"),
    (["fakes=[{kind: identity, batch_size: -3}]"], "fakes[0].batch_size"),
    (["runner.device=cpu", "fakes=[{kind: text2image}]"], "fakes[0].dtype"),  # float16 (default) needs a GPU
    # augmentation
    (["augment.ops.jpeg.p=1.5"], "augment.ops.jpeg.p"),
    (["augment.ops.jpeg.p=0.9"], "augment.ops"),  # codec probabilities sum above 1
    (["augment.ops.jpeg.quality=[0, 100]"], "augment.ops.jpeg.quality"),
    (["augment.ops.jpeg.subsampling=4:1:1"], "augment.ops.jpeg.subsampling"),
    (["augment.ops.webp.method=7"], "augment.ops.webp.method"),
    (["augment.ops.webp.apply_to=reals"], "augment.ops.webp.apply_to"),
    (["augment.ops.blur={p: 0.5, sigma: [-1, 1]}"], "augment.ops.blur.sigma"),
    (["augment.ops.resize={p: 0.5, scale: [0, 1]}"], "augment.ops.resize.scale"),
    (["augment.ops.resize={p: 0.5, filter: cubic}"], "augment.ops.resize.filter"),
    # captioner, features, detector
    (["captioner={mode: always}"], "captioner.mode"),
    (["captioner={batch_size: 0}"], "captioner.batch_size"),
    (["captioner={dtype: half}"], "captioner.dtype"),
    (["features=[{kind: ddim_inversion, resolution: 100}]"], "features[0].resolution"),
    (["features=[{kind: ddim_inversion, guidance: 0.5}]"], "features[0].guidance"),
    (["features=[{kind: ddim_inversion}, {kind: ddim_inversion}]"], "features[1].kind"),
    (["detector={kind: resnet50, augment: {flip: 2}}"], "detector.augment.flip"),
    (["detector={kind: resnet50, patience: 0}"], "detector.patience"),
    (["detector={kind: resnet50, device: gpu}"], "detector.device"),
    (["detector={kind: clip-knn, k: 0}"], "detector.k"),
    (["detector={kind: clip-probe, lr: 0}"], "detector.lr"),
    (["detector={kind: clip-probe, train_split: ../x}"], "detector.train_split"),
    (["detector={kind: resnet50, val_fraction: 1}"], "detector.val_fraction"),
]


def _one_line_error(err: str, key: str, where: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert where in line, line
    assert f": {key}: " in line, line  # the key path, as `file: key: message`
    return line


@pytest.mark.parametrize("overrides, key", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_bad_value_is_exit_2_naming_the_key_before_any_work(cli, tmp_path, overrides, key):
    out = tmp_path / "out"
    code, stdout, err = cli(*demo_args(out, *overrides))
    assert code == 2, (stdout, err)
    _one_line_error(err, key, str(DEMO))
    assert not out.exists(), "work started: the output folder was created"


def test_messages_say_what_is_allowed(cli, tmp_path):
    out = tmp_path / "out"
    _, _, err = cli(*demo_args(out, "fakes.0.latent=smaple"))
    assert "fakes[0].latent: must be sample or mode (got 'smaple') (did you mean 'sample'?)" in err
    _, _, err = cli(*demo_args(out, "fakes.0.dtype=float99"))
    assert "float32, float16 or bfloat16" in err
    _, _, err = cli(*demo_args(out, "runner.scheduler=bogus"))
    assert "synchronous" in err and "tcp://HOST:PORT" in err
    _, _, err = cli(*demo_args(out, "image.max_pixels=0"))
    assert "min_size**2" in err
    assert not out.exists()


@pytest.mark.parametrize("scheduler", ["synchronous", "null", "tcp://127.0.0.1:8786", "tls://scheduler.example:8786",
                                       "tcp://[::1]:8786"])
def test_accepted_scheduler_forms(scheduler):
    from toolkit.config.recipe import load_recipe

    r = load_recipe(DEMO, [f"runner.scheduler={scheduler}"])
    assert r.runner.scheduler == (None if scheduler == "null" else scheduler)


def test_aliases_and_devices_still_accepted():
    from toolkit.config.recipe import load_recipe

    r = load_recipe(DEMO, ["fakes.0.dtype=bf16", "runner.device=cuda:1", "detector.device=mps"])
    assert r.fakes[0].dtype == "bf16" and r.runner.device == "cuda:1" and r.detector.device == "mps"


# --- interpolation ----------------------------------------------------------------------------------


def _write(tmp_path, data: dict) -> str:
    p = tmp_path / "r.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(p)


def _demo() -> dict:
    return yaml.safe_load(DEMO.read_text())


@pytest.mark.parametrize("key, place", [
    ("name", lambda d: d.update(name="x-${oc.env:HF_TOKEN}")),
    ("fakes[0].model", lambda d: d["fakes"][0].update(model="${oc.env:HF_TOKEN}")),
    ("split.train", lambda d: d.update(split={"train": "${oc.env:HF_TOKEN}", "test": 0.2})),
    ("detector.note", lambda d: d["detector"].update(note="token ${oc.env:HF_TOKEN}")),
])
def test_interpolation_in_the_recipe_file_is_refused(cli, tmp_path, monkeypatch, key, place):
    monkeypatch.setenv("HF_TOKEN", "hf_SECRET_VALUE")
    data = _demo()
    place(data)
    out = tmp_path / "out"
    code, stdout, err = cli("make", _write(tmp_path, data), "--out", out)
    assert code == 2, err
    line = _one_line_error(err, key, str(tmp_path / "r.yaml"))
    assert "interpolation" in line and "not supported" in line
    assert "hf_SECRET_VALUE" not in stdout + err
    assert not out.exists()


def test_interpolation_is_never_resolved_when_printing(cli, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_SECRET_VALUE")
    code, stdout, err = cli("make", DEMO, "name=${oc.env:HF_TOKEN}", "--print-recipe")
    assert code == 2 and "hf_SECRET_VALUE" not in stdout + err and "name: interpolation" in err


def test_train_overrides_refuse_interpolation_and_bad_values(cli, tmp_path):
    code, _, err = cli("train", str(tmp_path), "note=${oc.env:HOME}")
    assert code == 2 and "note: interpolation" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("train", str(tmp_path), "k=0", "--detector", "clip-knn")
    assert code == 2 and "detector.k: must be at least 1" in err and len(err.strip().splitlines()) == 1


# --- mapping overrides replace the node; dict fields are taken as is ----------------------------------


def test_user_split_is_taken_as_is(cli, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = cli(*demo_args(out, "split={train: 0.9, validation: 0.1}", "name=split_demo"))
    assert code == 0, err
    assert sorted(p.name.split("-")[0] for p in (out / "data").glob("*.parquet")) \
        == ["train"] * 3 + ["validation"]
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert sorted(summary["splits"]) == ["train", "validation"]
    assert yaml.safe_load((out / "recipe.yaml").read_text())["split"] == {"train": 0.9, "validation": 0.1}
    # the name is escaped where it lands in markdown (card title, licence), not in the YAML metadata
    card = (out / "README.md").read_text()
    assert "\n# split\\_demo\n" in card and "pretty_name: split_demo" in card
    assert "Licence of split\\_demo" in (out / "meta" / "LICENSE.md").read_text()


def test_split_in_the_recipe_file_is_not_merged_with_the_default(tmp_path):
    from toolkit.config.recipe import load_recipe

    data = _demo()
    data["split"] = {"train": 0.9, "validation": 0.1}
    r = load_recipe(_write(tmp_path, data))
    assert r.split == {"train": 0.9, "validation": 0.1}
    assert list(load_recipe(_write(tmp_path, {**data, "split": {"all": 1.0}})).split) == ["all"]


def _folder_of_images(folder, n: int) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (72, 80, 3), dtype=np.uint8), "RGB").save(buf, format="PNG")
        (folder / f"img{i:02d}.png").write_bytes(buf.getvalue())


def test_reals_mapping_override_leaves_nothing_of_the_bundled_section(cli, tmp_path):
    """demo_args sets reals.count=12 on the bundled source; the folder section replaces it whole."""
    folder = tmp_path / "imgs"
    _folder_of_images(folder, 14)
    out = tmp_path / "out"
    code, stdout, err = cli(*demo_args(out, f"reals={{kind: folder, path: {folder}}}", "image.min_size=32"))
    assert code == 0, err
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["pairs"] == 14  # no leftover count: 12
    recipe = yaml.safe_load((out / "recipe.yaml").read_text())
    assert recipe["reals"]["kind"] == "folder" and recipe["reals"]["count"] is None
    assert "photos" not in recipe["reals"]


def test_empty_ops_override_disables_augmentation(cli, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    code, stdout, err = cli(*demo_args(out, "augment.ops={}", "reals.count=8"))
    assert code == 0, err
    rows = [r for f in sorted((out / "data").glob("*.parquet"))
            for r in pq.read_table(f, columns=["format", "augment"]).to_pylist()]
    assert len(rows) == 16 and {r["format"] for r in rows} == {"png"}
    assert all(json.loads(r["augment"])[-1]["op"] == "png" and len(json.loads(r["augment"])) == 1 for r in rows)
    assert yaml.safe_load((out / "recipe.yaml").read_text())["augment"]["ops"] == {}


def test_dotted_override_still_changes_one_key():
    from toolkit.config.recipe import load_recipe

    r = load_recipe(DEMO, ["augment.ops.jpeg.p=0.5"])
    assert r.augment.ops["jpeg"].p == 0.5 and r.augment.ops["jpeg"].quality == [65, 100]
    assert set(r.augment.ops) == {"jpeg", "webp"}


def test_valid_recipes_keep_their_hash():
    """Pinned: the demo recipe's identity did not change with the validation rewrite."""
    from toolkit.config.recipe import load_recipe

    old_png = ["store.png_compress_level=6"]  # the PNG default before issue 18 (docs/performance.md)
    assert load_recipe(DEMO, old_png).content_hash() == "a891c941720834fc"
    assert load_recipe(DEMO, old_png + ["split={train: 0.8, test: 0.2}"]).content_hash() == "a891c941720834fc"
    assert load_recipe(ROOT / "recipes" / "shaders.yaml", old_png).content_hash() == "7b6d328e3ad3ea90"
    assert load_recipe(DEMO).content_hash() == "140789d6a644d3ee"  # the PNG default changed the bytes


# --- names in paths and markdown --------------------------------------------------------------------


def test_card_escapes_the_name():
    from toolkit.card.render import md_escape

    assert md_escape("my_data") == "my\\_data"
    assert md_escape("[x](javascript:1) <b>") == "\\[x\\]\\(javascript:1\\) \\<b\\>"


def test_configs_built_directly_raise_one_line_errors():
    """A config built by a command (not a recipe) fails as a ToolkitError too: one line, exit 2."""
    from toolkit.errors import ToolkitError
    from toolkit.sources.shaders import ShadersConfig

    with pytest.raises(ToolkitError, match=r"families\[0\]: unknown family 'nosuch'"):
        ShadersConfig(families=["nosuch"])
    with pytest.raises(ValueError, match="supersample: must be within 1..8"):
        ShadersConfig(supersample=0)


# --- folder metadata --------------------------------------------------------------------------------


@pytest.mark.parametrize("name, text, needle", [
    ("metadata.jsonl", '{"file_name": "img00.png", "caption": "a"}\n{"file_name": "img01.png", "caption": \n',
     "metadata.jsonl: line 2: invalid JSON"),
    ("metadata.jsonl", '{"file_name": "img00.png", "caption": "a"}\n\n["img01.png", "b"]\n',
     "metadata.jsonl: line 3: expected a JSON object"),
    ("metadata.jsonl", '{"file_name": "img00.png", "caption": "a"}\n{"caption": "b"}\n',
     "metadata.jsonl: line 2: file_name must be a non-empty string"),
    ("metadata.jsonl", '{"file_name": "img00.png", "caption": ["a"]}\n',
     "metadata.jsonl: line 1: caption must be a string or null"),
    ("metadata.csv", "file_name,caption\nimg00.png,a\nimg01.png," + "x" * 200_000 + "\n",
     "metadata.csv: line 3: malformed CSV"),
    ("metadata.csv", "file_name,caption\nimg00.png,a\n,b\n",
     "metadata.csv: line 3: file_name must be a non-empty string"),
    ("metadata.csv", b"file_name,caption\nimg00.png,caf\xe9\n",
     "metadata.csv: line 2: not UTF-8 text"),
])
def test_malformed_folder_metadata_is_one_line(cli, tmp_path, name, text, needle):
    folder = tmp_path / "imgs"
    _folder_of_images(folder, 2)
    (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    code, stdout, err = cli(*demo_args(tmp_path / "out", f"reals={{kind: folder, path: {folder}}}",
                                       "image.min_size=32"))
    assert code == 2, (stdout, err)
    assert "Traceback" not in err
    assert needle in err, err
    assert len([ln for ln in err.strip().splitlines() if ln.startswith("toolkit:")]) == 1, err
