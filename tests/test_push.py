"""`toolkit push`: exactly the dataset's files, a verified sha256 manifest, refusal of incomplete builds,
and a Hub token that never shows up anywhere."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from hub_recorder import RecordingHfApi
from publish_demo import demo_build, demo_copy, files_under

from toolkit.store.manifest import MANIFEST_FILE, verify_manifest

FAKE_TOKEN = "hf_FAKE0123456789abcdefTOKENvalue"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return demo_build(tmp_path_factory)


def expected_files(out: Path) -> list[str]:
    """What a published copy must hold: README, recipe, the shards, meta/** plus the manifest."""
    keep = [f for f in files_under(out) if f in ("README.md", "recipe.yaml") or f.startswith(("data/", "meta/"))]
    return sorted(set(keep) | {MANIFEST_FILE})


def with_cache_dirs(out: Path) -> None:
    """Things a build folder may hold that must never be published."""
    (out / "_reals/laion/img2dataset").mkdir(parents=True, exist_ok=True)
    (out / "_reals/laion/img2dataset/00000.tar").write_bytes(b"cache")
    (out / "_tmp").mkdir(exist_ok=True)
    (out / "_tmp/half-written.parquet").write_bytes(b"junk")


def test_push_to_file_url_copies_exactly_the_dataset_and_verifies(built, tmp_path_factory, tmp_path, cli):
    from datasets import load_dataset

    out = demo_copy(tmp_path_factory, tmp_path)
    with_cache_dirs(out)
    want = expected_files(out)
    target = tmp_path / "target"
    code, stdout, err = cli("push", out, "--to", f"file://{target}")
    assert code == 0, err
    assert "verified" in stdout
    assert files_under(target) == want  # no _tmp/, no _reals/, no _push/
    assert not (out / "_push").exists()  # the stage is removed
    manifest = json.loads((target / MANIFEST_FILE).read_text())
    assert sorted(manifest["files"]) == [f for f in want if f != MANIFEST_FILE]
    for rel, e in manifest["files"].items():
        assert hashlib.sha256((target / rel).read_bytes()).hexdigest() == e["sha256"]
    assert verify_manifest(f"file://{target}") == []
    ds = load_dataset(str(target))
    summary = json.loads((out / "meta/summary.json").read_text())
    assert {s: ds[s].num_rows for s in ds} == {s: v["rows"] for s, v in summary["splits"].items()}
    # the card's own snippet works for this destination (a URL is not a dataset repo: parquet + data_files)
    card = (target / "README.md").read_text()
    snippet = re.search(r"^ds = (load_dataset\(.*\))$", card, re.M).group(1)
    assert f'"parquet", data_files={{"train": "file://{target}/data/train-*.parquet"' in snippet
    from_card = eval(snippet, {"load_dataset": load_dataset})  # noqa: S307 - our own card's line
    assert {s: from_card[s].num_rows for s in from_card} == {s: ds[s].num_rows for s in ds}
    # a corrupted copy is caught
    shard = next((target / "data").glob("train-*"))
    shard.write_bytes(shard.read_bytes()[:-1] + b"\0")
    problems = verify_manifest(f"file://{target}")
    assert len(problems) == 1 and shard.name in problems[0]


def test_push_to_memory_url_and_refuse_foreign_data(built, cli):
    import fsspec

    url = "memory://toolkit-test/demo"
    code, stdout, err = cli("push", built, "--to", url, "--overwrite")
    assert code == 0, err
    assert verify_manifest(url) == []
    fs = fsspec.filesystem("memory")
    fs.pipe("/toolkit-test/demo/data/train-00007-of-00009.parquet", b"old build")
    code, _, err = cli("push", built, "--to", url)
    assert code == 2 and "already holds data files" in err and "train-00007-of-00009" in err
    code, _, err = cli("push", built, "--to", url, "--overwrite")
    assert code == 0, err
    assert not fs.exists("/toolkit-test/demo/data/train-00007-of-00009.parquet")
    fs.rm("/toolkit-test", recursive=True)


@pytest.mark.parametrize("damage, message", [  # the refusal quotes `toolkit verify --quick`'s problems
    ("drop_shard", "data/train-00001-of-00003.parquet: missing (shard train-00001 is marked complete)"),
    ("drop_marker", "shard train-00001: not built (no completion marker meta/shards/train-00001.json)"),
    ("corrupt_shard", "data/train-00001-of-00003.parquet: sha256 differs from its completion marker"),
    ("stray_shard", "data/train-00005-of-00009.parquet: stray file claimed by no completion marker"),
    ("drop_summary", "meta/summary.json: missing"),
])
def test_push_refuses_an_incomplete_build(built, tmp_path_factory, tmp_path, cli, damage, message):
    out = demo_copy(tmp_path_factory, tmp_path)
    shard = out / "data/train-00001-of-00003.parquet"
    if damage == "drop_shard":
        shard.unlink()
    elif damage == "drop_marker":
        (out / "meta/shards/train-00001.json").unlink()
    elif damage == "corrupt_shard":
        shard.write_bytes(shard.read_bytes() + b"x")
    elif damage == "stray_shard":
        shutil.copy(shard, out / "data/train-00005-of-00009.parquet")
    elif damage == "drop_summary":
        (out / "meta/summary.json").unlink()
    target = tmp_path / "target"
    for args in (["--to", f"file://{target}"], ["--hub", "org/ds", "--dry-run"]):
        code, stdout, err = cli("push", out, *args)
        assert code == 2, (damage, args)
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not target.exists()


def test_push_refuses_a_card_that_fails_validation(built, tmp_path_factory, tmp_path, cli, monkeypatch):
    import toolkit.publish.stage as stage_mod

    out = demo_copy(tmp_path_factory, tmp_path)
    real_render = stage_mod.render_card
    monkeypatch.setattr(stage_mod, "render_card", lambda *a, **k: real_render(*a, **k).replace(
        "path: data/train-*", "path: meta/shards/*"))
    code, _, err = cli("push", out, "--to", f"file://{tmp_path / 'target'}")
    assert code == 2 and "card fails validation" in err


def test_hub_dry_run_lists_files_and_settings_and_never_the_token(built, tmp_path_factory, tmp_path, cli,
                                                                   monkeypatch):
    out = demo_copy(tmp_path_factory, tmp_path)
    with_cache_dirs(out)
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    code, stdout, err = cli("push", out, "--hub", "my-org/demo", "--private", "--revision", "v1", "--dry-run")
    assert code == 0, err
    listed = sorted(line.split()[-1] for line in stdout.splitlines() if line.startswith("  ") and
                    line.strip()[0].isdigit())
    assert listed == expected_files(out)
    assert "repo_type='dataset'" in stdout and "private=True" in stdout and "exist_ok=True" in stdout
    assert "create_branch" in stdout and "revision='v1'" in stdout
    assert "token: HF_TOKEN (value never shown)" in stdout
    assert FAKE_TOKEN not in stdout + err
    for f in out.rglob("*"):
        if f.is_file():
            assert FAKE_TOKEN.encode() not in f.read_bytes(), f


def test_hub_push_creates_repo_then_uploads_the_staged_folder(built, tmp_path_factory, tmp_path, cli,
                                                               monkeypatch):
    import toolkit.publish.hub as hub

    out = demo_copy(tmp_path_factory, tmp_path)
    with_cache_dirs(out)
    monkeypatch.setattr(hub, "hf_api", RecordingHfApi)
    RecordingHfApi.calls = []
    # the repo holds an earlier build: 10 train shards, and a note a person added
    RecordingHfApi.uploaded = {"data/train-00009-of-00010.parquet": b"old", "notes/keep.md": b"mine"}
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    code, stdout, err = cli("push", out, "--hub", "my-org/demo", "--private", "--revision", "v1",
                            "--commit-message", "Rebuild with matched WebP")
    assert code == 0, err
    assert RecordingHfApi.calls[-1][2]["commit_message"] == "Rebuild with matched WebP"
    assert "data/train-00009-of-00010.parquet" not in RecordingHfApi.uploaded  # deleted in the same commit
    assert RecordingHfApi.uploaded.pop("notes/keep.md") == b"mine"  # not the build's: kept
    names = [c[0] for c in RecordingHfApi.calls]
    assert names == ["create_repo", "create_branch", "upload_folder"]
    assert RecordingHfApi.calls[0][2] == {"repo_type": "dataset", "private": True, "exist_ok": True}
    assert RecordingHfApi.calls[2][2]["revision"] == "v1" and RecordingHfApi.calls[2][2]["repo_type"] == "dataset"
    assert sorted(RecordingHfApi.uploaded) == expected_files(out)
    assert 'load_dataset("my-org/demo")' in RecordingHfApi.uploaded["README.md"].decode()
    assert "verified: " in stdout
    assert FAKE_TOKEN not in stdout + err
    assert not any(FAKE_TOKEN.encode() in data for data in RecordingHfApi.uploaded.values())
    assert not any(FAKE_TOKEN.encode() in f.read_bytes() for f in out.rglob("*") if f.is_file())
    assert not (out / "_push").exists()
    # --create-pr with --revision is refused in one line; --create-pr alone opens a PR
    code, _, err = cli("push", out, "--hub", "my-org/demo", "--create-pr", "--revision", "v1")
    assert code == 2 and "--create-pr" in err and "refs/pr/N" in err
    RecordingHfApi.calls = []
    code, stdout, err = cli("push", out, "--hub", "my-org/demo", "--create-pr")
    assert code == 0, err
    assert RecordingHfApi.calls[-1][2]["create_pr"] is True and "pull request" in stdout

    class Corrupting(RecordingHfApi):  # the Hub ends up with different bytes: verification says so
        def list_repo_tree(self, repo_id, **kw):
            for e in super().list_repo_tree(repo_id, **kw):
                if getattr(e, "lfs", None) is not None:
                    e.lfs = SimpleNamespace(sha256="0" * 64)
                yield e

    monkeypatch.setattr(hub, "hf_api", Corrupting)
    code, stdout, err = cli("push", out, "--hub", "my-org/demo")
    assert code == 1 and "VERIFY FAILED" in stdout

    class KeepsStale(RecordingHfApi):  # a Hub that did not delete: verification names the leftover shard
        def upload_folder(self, **kw):
            res = super().upload_folder(**{k: v for k, v in kw.items() if k != "delete_patterns"})
            RecordingHfApi.uploaded["data/train-00009-of-00010.parquet"] = b"old"
            return res

    monkeypatch.setattr(hub, "hf_api", KeepsStale)
    code, stdout, err = cli("push", out, "--hub", "my-org/demo")
    assert code == 1 and "files of another build remain: data/train-00009-of-00010.parquet" in stdout


def test_hub_errors_are_one_line_and_scrub_the_token(built, tmp_path_factory, tmp_path, cli, monkeypatch):
    import toolkit.publish.hub as hub

    class Failing(RecordingHfApi):
        def create_repo(self, repo_id, **kw):
            raise RuntimeError(f"401 Unauthorized for token {FAKE_TOKEN}\nmore detail")

    monkeypatch.setattr(hub, "hf_api", Failing)
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    code, stdout, err = cli("push", built, "--hub", "my-org/demo")
    assert code == 2 and "401 Unauthorized" in err and FAKE_TOKEN not in stdout + err
    code, _, err = cli("push", built, "--hub", "not a repo id")
    assert code == 2 and "org/name" in err


def test_push_to_s3_on_a_moto_server(built, tmp_path, capsys, monkeypatch):
    """S3 over HTTP to moto on 127.0.0.1, through fsspec: s3fs when installed, else pyarrow's S3 client
    registered as fsspec's s3:// (tests/arrow_s3.py; s3fs is not installed in this environment)."""
    import boto3
    from arrow_s3 import s3_options, s3_protocol
    from datasets import load_dataset
    from moto.server import ThreadedMotoServer

    from toolkit.cli import main

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        boto3.client("s3", endpoint_url=f"http://{host}:{port}", aws_access_key_id="testing",
                     aws_secret_access_key="testing", region_name="us-east-1").create_bucket(Bucket="toolkit")
        opts = s3_options(host, port)
        pushed_opts = dict(opts)  # load_dataset below adds its own key to the dict it is given
        url = "s3://toolkit/datasets/demo"
        with s3_protocol():
            assert main(["push", str(built), "--to", url, "--storage-options", json.dumps(opts)]) == 0
            out = capsys.readouterr().out
            assert "verified" in out and "testing" not in out  # storage options are never printed
            assert verify_manifest(url, opts) == []
            import fsspec

            fs, root = fsspec.core.url_to_fs(url, **opts)
            keys = sorted(p[len(root) + 1:] for p in fs.find(root))
            assert keys == expected_files(built)
            import datasets

            # the suite runs offline (conftest); this server is on 127.0.0.1, so let datasets reach it
            monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
            ds = load_dataset("parquet", data_files={"train": f"{url}/data/train-*.parquet",
                                                     "test": f"{url}/data/test-*.parquet"}, storage_options=opts,
                              cache_dir=str(tmp_path / "hf_cache"))
            summary = json.loads((built / "meta/summary.json").read_text())
            assert {s: ds[s].num_rows for s in ds} == {s: v["rows"] for s, v in summary["splits"].items()}
            from toolkit.sample import hf_features

            assert ds["train"].features == hf_features()
            card = fs.cat_file(f"{root}/README.md").decode()  # the card says that call, with option keys only
            assert (f'load_dataset("parquet", data_files={{"train": "{url}/data/train-*.parquet", '
                    f'"test": "{url}/data/test-*.parquet"}}, storage_options={{') in card
            assert all(f'"{k}": ...' in card for k in pushed_opts)
            assert not any(f": {json.dumps(v)}" in card for v in pushed_opts.values())  # keys only, never values
            # a damaged object on the server is caught by the manifest
            shard = f"{root}/data/test-00000-of-00001.parquet"
            with fs.open(shard, "wb") as f:
                f.write(b"truncated")
            assert any("test-00000-of-00001" in p for p in verify_manifest(url, opts))
    finally:
        server.stop()


def test_unusable_url_is_one_line(built, cli):
    code, _, err = cli("push", built, "--to", "memory://x/y", "--storage-options", "{not json")
    assert code == 2 and "--storage-options: not valid JSON" in err
    code, _, err = cli("push", built, "--to", "nosuchproto://bucket/x")
    assert code == 2 and "nosuchproto://bucket/x" in err and "Traceback" not in err
    try:
        import s3fs  # noqa: F401
    except ImportError:
        code, _, err = cli("push", built, "--to", "s3://bucket/x")
        assert code == 2 and "s3fs" in err and err.count("\n") == 1


def test_publish_a_folder_build_with_drops_native_sizes_and_empty_shards(cli, tmp_path, tiny_vae):
    """Bad files dropped (a shard may end with no rows and no parquet), native sizes, a folder source
    whose licence the toolkit cannot know: the card says so, and the copy loads and verifies."""
    import yaml
    from bad_files import write_bad_files
    from datasets import load_dataset

    folder = tmp_path / "imgs"
    folder.mkdir()
    expected = write_bad_files(folder)
    recipe = {"name": "bad-input", "seed": 1, "reals": {"kind": "folder", "path": str(folder)},
              "image": {"size": None, "min_size": 32},
              "fakes": [{"kind": "vae_roundtrip", "model": tiny_vae, "subfolder": None, "latent": "mode"}],
              "split": {"train": 0.5, "test": 0.5},
              "runner": {"scheduler": "synchronous", "shard_size": 1, "progress": False}}
    rpath = tmp_path / "r.yaml"
    rpath.write_text(yaml.safe_dump(recipe))
    out = tmp_path / "out"
    assert cli("make", rpath, "--out", out)[0] == 0
    markers = [json.loads(p.read_text()) for p in (out / "meta/shards").glob("*.json")]
    assert any(m["file"] is None for m in markers)  # shard_size 1 + dropped files: empty shards exist
    text = (out / "README.md").read_text()
    assert "license_name: unknown-rights" in text and "Research use only" in text
    for reason in {r for r in expected.values() if r}:
        assert f"| `{reason}` |" in text
    target = tmp_path / "target"
    code, stdout, err = cli("push", out, "--to", f"file://{target}")
    assert code == 0, err
    assert verify_manifest(f"file://{target}") == []
    summary = json.loads((out / "meta/summary.json").read_text())
    ds = load_dataset(str(target))
    assert {s: ds[s].num_rows for s in ds} == {s: v["rows"] for s, v in summary["splits"].items() if v["rows"]}
