"""Peak resident memory of a build does not grow with the number of shards.

Builds of 4 and of 16 shards (identity generator, 256 px, in-process scheduler so every byte is in one
process) each run in a fresh subprocess that reports its own peak RSS (ru_maxrss).

    .venv/bin/python benchmarks/memory.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import write_sources

_CHILD = r"""
import json, resource, sys, tempfile
sys.path.insert(0, sys.argv[1])
from common import folder_recipe
from toolkit.engine.runner import make
from pathlib import Path
recipe = folder_recipe(Path(sys.argv[2]), 256, int(sys.argv[3]), shard_size=16)
res = make(recipe, output=tempfile.mkdtemp(), scheduler="synchronous", echo=lambda s: None)
assert res.ok
print(json.dumps({"shards": res.summary["shards"], "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure() -> dict:
    folder = Path(tempfile.mkdtemp()) / "src"
    write_sources(folder, 256, 256)
    runs = []
    for n in (64, 256):
        p = subprocess.run([sys.executable, "-c", _CHILD, str(Path(__file__).parent), str(folder), str(n)],
                           capture_output=True, text=True, check=True)
        runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    return {"runs": runs, "growth": runs[1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]}


def report(r: dict) -> str:
    a, b = r["runs"]
    return (f"peak RSS: {a['shards']} shards {a['peak_rss_mb']:.0f} MB, {b['shards']} shards "
            f"{b['peak_rss_mb']:.0f} MB -> {r['growth']:.2f}x for {b['shards'] / a['shards']:.0f}x the shards")


if __name__ == "__main__":
    r = measure()
    print(json.dumps(r) if "--json" in sys.argv else report(r))
