"""benchmarks/gpu_all.py, the one script that measures every GPU figure of issue 18, must run to the end
wherever a GPU turns up; here (no GPU) its --smoke mode runs every section on the CPU at toy sizes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_script_smoke_runs_every_section(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("gpu_all", ROOT / "benchmarks" / "gpu_all.py")
    gpu_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_all)
    out = tmp_path / "rows.json"
    work = tmp_path / "work"
    work.mkdir()
    assert gpu_all.main(["--smoke", "--json", str(out), "--tmp", str(work)]) == 0
    rows = json.loads(out.read_text())
    sections = {r["section"] for r in rows}
    assert {"vae", "vae_naive", "shard", "diffusion"} <= sections
    vae = [r for r in rows if r["section"] == "vae"]
    assert {r["model"] for r in vae} == {"sd15_kl4", "kl16", "vq_f4"}
    assert all(r["gflop_per_img"] > 0 and r["img_s"] > 0 for r in vae)  # FLOPs counted, rates measured
    assert {r["setting"] for r in vae} >= {"base", "dtype=fp32", "dtype=fp16", "channels_last=False",
                                           "attention=classic", "batch=1"}
    assert {(r["pipeline"], r["same_bytes"]) for r in rows if r["section"] == "diffusion"} == {
        ("text2image", True), ("inpaint", True)}
    assert list(work.iterdir()) == []  # its models and sources are removed
    assert "% peak" in capsys.readouterr().out
