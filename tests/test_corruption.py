"""Every kind of damage to a build folder gets one clear line naming the file, never a library traceback:
`toolkit verify` exits 1 listing it (2 when the path is not a build at all), `toolkit push` refuses in one
line before anything reaches the destination. Also: `toolkit verify` never dies of SIGABRT at exit."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, demo_args

SHARD = "train-00000"
MARKER = f"meta/shards/{SHARD}.json"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    from toolkit.cli import main

    out = tmp_path_factory.mktemp("corruption") / "ds"
    assert main(demo_args(out)) == 0
    return out


def _data_file(ds: Path) -> Path:
    return ds / json.loads((ds / MARKER).read_text())["file"]


def _truncate(path: Path, keep: float) -> None:
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * keep)])


def _edit_marker(ds: Path, **changes) -> None:
    m = json.loads((ds / MARKER).read_text())
    for k, v in changes.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    (ds / MARKER).write_text(json.dumps(m))


def _replace_data_matching_marker(ds: Path, blob: bytes) -> None:
    """Damage the data file and fix up its marker's sha256: only reading the parquet can catch it."""
    _data_file(ds).write_bytes(blob)
    _edit_marker(ds, sha256=hashlib.sha256(blob).hexdigest())


def _plan_without_columns(ds: Path) -> None:
    import pyarrow.parquet as pq

    t = pq.read_table(ds / "meta/plan.parquet")
    pq.write_table(t.select(["pair_id"]), ds / "meta/plan.parquet")


def _data_without_columns(ds: Path) -> None:
    import io

    import pyarrow.parquet as pq

    t = pq.read_table(_data_file(ds))
    buf = io.BytesIO()
    pq.write_table(t.drop_columns(["image", "label"]), buf)
    _replace_data_matching_marker(ds, buf.getvalue())


def _manifest(ds: Path) -> Path:
    """A meta/manifest.json as `toolkit push` writes it on a published copy."""
    from toolkit.store.atomic import AtomicFolder
    from toolkit.store.manifest import MANIFEST_FILE, build_manifest, manifest_bytes, publishable_files

    path = ds / MANIFEST_FILE
    path.write_bytes(manifest_bytes(build_manifest(str(ds), publishable_files(AtomicFolder(str(ds))))))
    return path


# (case id, damage(ds), the file the one line must name, what it must say)
CASES = [
    ("plan_truncated_half", lambda ds: _truncate(ds / "meta/plan.parquet", 0.5),
     "meta/plan.parquet", "not a readable parquet file"),
    ("plan_zero_bytes", lambda ds: _truncate(ds / "meta/plan.parquet", 0), "meta/plan.parquet", "empty"),
    ("plan_deleted", lambda ds: (ds / "meta/plan.parquet").unlink(), "meta/plan.parquet", "missing"),
    ("plan_missing_columns", _plan_without_columns, "meta/plan.parquet", "lacks column(s) split, shard"),
    ("plan_is_a_folder", lambda ds: ((ds / "meta/plan.parquet").unlink(), (ds / "meta/plan.parquet").mkdir()),
     "meta/plan.parquet", "is a folder"),
    ("build_json_garbage", lambda ds: (ds / "meta/build.json").write_bytes(b"\x00\xffgarbage{"),
     "meta/build.json", "not valid JSON"),
    ("build_json_truncated", lambda ds: _truncate(ds / "meta/build.json", 0.5), "meta/build.json", "not valid JSON"),
    ("build_json_a_list", lambda ds: (ds / "meta/build.json").write_text("[]"), "meta/build.json",
     "expected a JSON object, found list"),
    ("build_json_lacks_plan", lambda ds: (ds / "meta/build.json").write_text('{"shards": {}}'), "meta/build.json",
     "lacks key(s) plan"),
    ("marker_truncated", lambda ds: _truncate(ds / MARKER, 0.5), MARKER, "not valid JSON"),
    ("marker_zero_bytes", lambda ds: _truncate(ds / MARKER, 0), MARKER, "empty"),
    ("marker_a_list", lambda ds: (ds / MARKER).write_text("[]"), MARKER, "expected a JSON object, found list"),
    ("marker_lacks_sha256", lambda ds: _edit_marker(ds, sha256=None), MARKER, "lacks key(s) sha256"),
    ("marker_rows_not_a_number", lambda ds: _edit_marker(ds, rows="8"), MARKER, "wrong type for key(s) rows"),
    ("marker_names_another_file", lambda ds: _edit_marker(ds, file="meta/plan.parquet"), MARKER,
     "names meta/plan.parquet, the plan names data/train-00000-of-00003.parquet"),
    ("marker_deleted", lambda ds: (ds / MARKER).unlink(), MARKER, "not built (no completion marker"),
    ("summary_truncated", lambda ds: _truncate(ds / "meta/summary.json", 0.5), "meta/summary.json",
     "not valid JSON"),
    ("summary_deleted", lambda ds: (ds / "meta/summary.json").unlink(), "meta/summary.json", "missing"),
    ("recipe_not_yaml", lambda ds: (ds / "recipe.yaml").write_text(": :\n"), "recipe.yaml", "not valid YAML"),
    ("recipe_not_a_mapping", lambda ds: (ds / "recipe.yaml").write_text("- a\n- b\n"), "recipe.yaml",
     "expected a YAML mapping"),
    ("recipe_bad_fakes", lambda ds: (ds / "recipe.yaml").write_text("name: x\nfakes: 3\n"), "recipe.yaml",
     "'fakes' must be a list"),
    ("recipe_deleted", lambda ds: (ds / "recipe.yaml").unlink(), "recipe.yaml", "missing"),
    ("data_truncated_marker_matches", lambda ds: _replace_data_matching_marker(
        ds, _data_file(ds).read_bytes()[: _data_file(ds).stat().st_size // 2]), "data/train-00000-of-00003.parquet",
     "not a readable parquet file"),
    ("data_zero_bytes_marker_matches", lambda ds: _replace_data_matching_marker(ds, b""),
     "data/train-00000-of-00003.parquet", "empty"),
    ("data_missing_columns_marker_matches", _data_without_columns, "data/train-00000-of-00003.parquet",
     "lacks column(s) image, label"),
    ("data_byte_flipped", lambda ds: _data_file(ds).write_bytes(_data_file(ds).read_bytes()[:-9] + b"\0" * 9),
     "data/train-00000-of-00003.parquet", "sha256 differs from its completion marker"),
    ("data_deleted", lambda ds: _data_file(ds).unlink(), "data/train-00000-of-00003.parquet", "missing"),
    ("stray_data_file", lambda ds: shutil.copy(_data_file(ds), ds / "data/train-00007-of-00009.parquet"),
     "data/train-00007-of-00009.parquet", "stray file"),
    ("readme_deleted", lambda ds: (ds / "README.md").unlink(), "README.md", "missing"),
    ("manifest_truncated", lambda ds: _truncate(_manifest(ds), 0.5), "meta/manifest.json", "not valid JSON"),
    ("manifest_stale", lambda ds: (_manifest(ds), (ds / "meta/environment.json").write_text("{}\n")),
     "meta/environment.json", "sha256 differs from meta/manifest.json"),
]


@pytest.fixture
def damaged(built, tmp_path, request):
    _, damage, _, _ = request.param
    ds = tmp_path / "ds"
    shutil.copytree(built, ds)
    damage(ds)
    return ds


@pytest.mark.parametrize("damaged, case", [(c, c) for c in CASES], ids=[c[0] for c in CASES],
                         indirect=["damaged"])
def test_verify_names_the_damaged_file(cli, damaged, case):
    _, _, name, says = case
    for quick in ([], ["--quick"]):
        code, out, err = cli("verify", damaged, *quick)
        assert code == 1, (quick, out, err)
        lines = [line for line in out.splitlines() if line.startswith("  - ")]
        assert any(name in line and says in line for line in lines), (quick, out)
        assert "Traceback" not in out + err


@pytest.mark.parametrize("damaged, case", [(c, c) for c in CASES], ids=[c[0] for c in CASES],
                         indirect=["damaged"])
def test_push_refuses_in_one_line_and_sends_nothing(cli, damaged, case, tmp_path):
    _, _, name, says = case
    dest = tmp_path / "dest"
    code, out, err = cli("push", damaged, "--to", f"file://{dest}")
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("toolkit: error: "), err
    assert "refusing to publish" in err and name in err and says in err, err
    assert "Traceback" not in out + err
    assert not dest.exists() or not any(p.is_file() for p in dest.rglob("*"))
    assert not (damaged / "_push").exists()


@pytest.mark.parametrize("command", ["verify", "push", "card", "inspect", "audit"])
def test_not_a_build_is_one_line_and_exit_2_everywhere(cli, command, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.txt").write_text("not a dataset")
    extra = ["--to", f"file://{tmp_path / 'dest'}"] if command == "push" else []
    for path, says in ((tmp_path / "no-such-dir", "no such file or directory"),
                       (folder / "a.txt", "not a toolkit build (no meta/build.json)")) + (
            () if command == "audit" else ((folder, "not a toolkit build (no meta/build.json)"),)):
        code, out, err = cli(command, path, *extra)
        assert code == 2, (command, path, out, err)
        assert err == f"toolkit: error: {path}: {says}" + (
            "" if says.startswith("not") else " (expected a toolkit build folder)") + "\n", (command, err)
    assert not (tmp_path / "dest").exists()


def test_a_pushed_copy_verifies_with_its_manifest(cli, built, tmp_path):
    dest = tmp_path / "dest"
    code, _, err = cli("push", built, "--to", f"file://{dest}")
    assert code == 0, err
    code, out, _ = cli("verify", dest, "--quick")
    assert code == 0, out
    (dest / "meta/figures/figures.json").write_text("{}\n")  # a file only the manifest vouches for
    code, out, _ = cli("verify", dest, "--quick")
    assert code == 1 and "meta/figures/figures.json: sha256 differs from meta/manifest.json" in out


_THREADS = """
import os, sys
import numpy, PIL.Image, pyarrow.parquet, yaml  # what verify uses, and the threads they start on import
before = len(os.listdir("/proc/self/task"))
from toolkit.cli import main
code = main(["verify", sys.argv[1]])
print("threads", before, len(os.listdir("/proc/self/task")), "toolkit.engine.pipeline" in sys.modules)
sys.exit(code)
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc")
def test_verify_starts_no_arrow_pool_thread(built):
    """The cause of the SIGABRT at exit: Arrow pool threads still holding a Python file object when the
    interpreter finalizes. verify reads parquet on the calling thread, so it starts no thread at all
    beyond those its libraries start on import; and it does not import the build pipeline."""
    proc = subprocess.run([sys.executable, "-c", _THREADS, str(built)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    before, after, pipeline = proc.stdout.split("threads", 1)[1].split()
    assert after == before and pipeline == "False", proc.stdout


def test_verify_in_subprocesses_never_aborts(built):
    """Cheap insurance against exit 134 (SIGABRT after printing OK): 20 separate interpreters, 4 at a time."""
    cmd = [sys.executable, "-m", "toolkit.cli", "verify", str(built)]
    codes = []
    for _ in range(5):
        procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            codes.append(p.returncode)
            assert p.returncode == 0, (p.returncode, out.decode()[-500:], err.decode()[-1500:])
    assert codes == [0] * 20


@pytest.mark.parametrize("rel, text, says", [("meta/summary.json", "{cut", "meta/summary.json: not valid JSON"),
                                             ("recipe.yaml", ": :", "recipe.yaml: line 1 invalid YAML")])
def test_card_on_a_damaged_build_is_one_line(cli, built, tmp_path, rel, text, says):
    ds = tmp_path / "ds"
    shutil.copytree(built, ds)
    (ds / rel).write_text(text)
    code, _, err = cli("card", ds)
    assert code == 2 and says in err and err.count("\n") == 1 and "Traceback" not in err
