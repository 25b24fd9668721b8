"""`toolkit push OUT --to URL`: copy a staged build to any fsspec URL and verify it from there.

Order matters on object stores, where there is no atomic folder rename: an old manifest on the target
is deleted first, then every data and side file is copied, then `meta/manifest.json` is written last.
A target with a manifest is therefore a finished copy; one without is a copy in progress (or killed:
re-run the same command). After the copy every file is read back from the target and its sha256 is
compared with the manifest (`store.manifest.verify_manifest`, reusable by a later `toolkit verify`).

A target that already holds `data/` files this build does not have is refused (a `data/<split>-*`
pattern would load them with ours) unless `overwrite` deletes the target first.

`storage_options` (credentials, endpoint) go to fsspec only; they are never printed.
"""

from __future__ import annotations

import json
import time

from toolkit.errors import ToolkitError
from toolkit.store.atomic import AtomicFolder
from toolkit.store.manifest import MANIFEST_FILE, url_to_fs, verify_manifest
from toolkit.publish.stage import Staged, describe_files, stage


def parse_storage_options(text: str | None) -> dict:
    if not text:
        return {}
    try:
        opts = json.loads(text)
    except ValueError as e:
        raise ToolkitError(f"--storage-options: not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(opts, dict):
        raise ToolkitError("--storage-options: expected a JSON object, e.g. '{\"anon\": true}'")
    return opts


def push_to_url(output: str, url: str, storage_options: dict | None = None, dry_run: bool = False,
                overwrite: bool = False, echo=print) -> int:
    url = url.rstrip("/")
    fs, root = url_to_fs(url, storage_options)
    staged = stage(output, load_path=url, storage_options=sorted(storage_options or {}))
    try:
        if dry_run:
            echo(f"dry run: would copy {len(staged.files)} files ({staged.total_bytes:,d} bytes) to {url}")
            echo(f"  protocol: {fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]}; "
                 f"storage options: {', '.join(sorted(storage_options or {})) or 'none'} (values not shown)")
            echo("  then write meta/manifest.json last and verify every file's sha256 from the target")
            for line in describe_files(staged):
                echo(line)
            return 0
        try:
            return _copy_and_verify(staged, url, storage_options, overwrite, echo)
        except ToolkitError:
            raise
        except Exception as e:  # noqa: BLE001 - one line naming the URL, not a client library traceback
            first = (str(e).strip().splitlines() or [""])[0][:300]
            raise ToolkitError(f"{url}: copy failed: {type(e).__name__}: {first} "
                               "(re-run the same command to retry)") from None
    finally:
        staged.cleanup()


def _copy_and_verify(staged: Staged, url: str, storage_options, overwrite: bool, echo) -> int:
    target = AtomicFolder(url, storage_options)
    if overwrite:
        target.rm()
    stray = [f"data/{n}" for n in target.ls("data") if f"data/{n}" not in staged.manifest["files"]]
    if stray:
        raise ToolkitError(f"{url}: already holds data files this build does not have ({', '.join(stray[:3])}"
                           f"{' ...' if len(stray) > 3 else ''}); pass --overwrite to delete the target first")
    if target.exists(MANIFEST_FILE):
        target.fs.rm(target.path(MANIFEST_FILE))
    t0, sent = time.time(), 0
    for rel in staged.files:  # manifest last: its presence means the copy is complete
        remote = target.path(rel)
        parent = remote.rsplit("/", 1)[0]
        target.fs.makedirs(parent, exist_ok=True)
        target.fs.put_file(str(staged.root / rel), remote)
        sent += (staged.root / rel).stat().st_size
    echo(f"copied {len(staged.files)} files ({sent:,d} bytes) to {url} in {time.time() - t0:.1f} s; verifying ...")
    problems = verify_manifest(url, storage_options, expected=staged.manifest)
    if problems:
        echo(f"VERIFY FAILED at {url}: " + "; ".join(problems[:10]))
        return 1
    echo(f"verified: {len(staged.manifest['files'])} files match meta/manifest.json (sha256)")
    return 0
