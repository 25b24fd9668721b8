"""A stand-in for huggingface_hub.HfApi (no network in the tests): every call is checked against the
installed HfApi's signature (so API drift fails a test), recorded in `calls`, and `upload_folder` keeps
what the Hub would hold afterwards in `uploaded` (allow_patterns and delete_patterns applied with
huggingface_hub's own matcher). Reset with `RecordingHfApi.calls, RecordingHfApi.uploaded = [], {}`."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from types import SimpleNamespace


def check_signature(name: str, *args, **kw) -> None:
    from huggingface_hub import HfApi

    inspect.signature(getattr(HfApi, name)).bind(None, *args, **kw)


class RecordingHfApi:
    calls: list = []
    uploaded: dict = {}

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, **kw):
        check_signature("create_repo", repo_id, **kw)
        self.calls.append(("create_repo", repo_id, kw))
        return f"https://huggingface.co/{'datasets/' if kw.get('repo_type') == 'dataset' else ''}{repo_id}"

    def repo_info(self, repo_id, **kw):
        check_signature("repo_info", repo_id, **kw)
        return SimpleNamespace(private=True)

    def create_branch(self, repo_id, **kw):
        check_signature("create_branch", repo_id, **kw)
        self.calls.append(("create_branch", repo_id, kw))

    def upload_folder(self, **kw):
        from huggingface_hub.utils import filter_repo_objects

        check_signature("upload_folder", **kw)
        self.calls.append(("upload_folder", kw["repo_id"], {k: v for k, v in kw.items() if k != "folder_path"}))
        root = Path(kw["folder_path"])
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        new = {f: (root / f).read_bytes()
               for f in filter_repo_objects(files, allow_patterns=kw.get("allow_patterns"))}
        # files already there stay unless delete_patterns match them and the upload does not have them
        old = {f: b for f, b in RecordingHfApi.uploaded.items() if f not in new}
        gone = set(filter_repo_objects(list(old), allow_patterns=kw.get("delete_patterns"))) \
            if kw.get("delete_patterns") else set()
        RecordingHfApi.uploaded = {**{f: b for f, b in old.items() if f not in gone}, **new}
        if kw.get("create_pr"):
            return SimpleNamespace(pr_url="https://huggingface.co/datasets/x/pr/1", pr_revision="refs/pr/1")
        return SimpleNamespace(pr_url=None)

    def list_repo_tree(self, repo_id, **kw):
        check_signature("list_repo_tree", repo_id, **kw)
        for path, data in self.uploaded.items():
            if path.endswith(".parquet") or path.endswith(".png"):
                yield SimpleNamespace(path=path, size=len(data), blob_id="x",
                                      lfs=SimpleNamespace(sha256=hashlib.sha256(data).hexdigest()))
            else:
                blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                yield SimpleNamespace(path=path, size=len(data), blob_id=blob, lfs=None)
        yield SimpleNamespace(path="data", tree_id="t")  # folders have no size
