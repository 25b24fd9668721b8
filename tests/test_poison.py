"""A sample that kills the process (segfault) is isolated on the retry: its pair is dropped and counted
as poison_crash, the rest of the shard is built, and the build verifies."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from conftest import ROOT, demo_args

# A source that segfaults the reading process on one origin, registered before the CLI runs.
_CRASHY = textwrap.dedent("""
    import os, signal, sys
    from dataclasses import dataclass
    from toolkit.registry import SOURCES, load_builtins
    load_builtins()
    from toolkit.sources.bundled import BundledConfig, BundledSource

    @dataclass
    class CrashyConfig(BundledConfig):
        kind: str = "crashy"

    @SOURCES.register("crashy", CrashyConfig)
    class Crashy(BundledSource):
        kind = "crashy"
        def read(self, ref):
            if ref.origin == sorted(r.origin for r in self.list())[3]:
                os.kill(os.getpid(), signal.SIGSEGV)
            return super().read(ref)

    from toolkit.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_segfaulting_sample_is_isolated_on_retry(tmp_path):
    out = tmp_path / "poison"
    args = [sys.executable, "-c", _CRASHY, *demo_args(out, "reals.kind=crashy", "reals.count=8")]
    first = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=300)
    assert first.returncode == -11, first.stderr.decode()[-1500:]  # the whole process died, as it would
    attempts = list((out / "_tmp" / "attempts").glob("*.json"))
    assert len(attempts) == 1  # the shard that was running when it died

    second = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=300)
    assert second.returncode == 0, second.stderr.decode()[-1500:]
    summary = json.loads((out / "meta" / "summary.json").read_text())
    assert summary["dropped"] == {"poison_crash": 1}
    assert summary["pairs"] == 7 and summary["complete"]
    markers = [json.loads(p.read_text()) for p in (out / "meta" / "shards").glob("*.json")]
    assert sum(m["isolated"] for m in markers) == 1
    log = [d for m in markers for d in m["drop_log"]]
    assert len(log) == 1 and "SIGSEGV" in log[0]["detail"]
    assert not list((out / "_tmp" / "attempts").glob("*.json"))
    verify = subprocess.run([sys.executable, "-m", "toolkit.cli", "verify", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stdout
