"""`toolkit push OUT --hub org/ds`: publish a staged build as a Hugging Face dataset repo.

`create_repo(exist_ok=True)` then `upload_folder` on the staged folder. With the installed
huggingface_hub (2.x, hf_xet present) `upload_folder` is the resumable large-folder path: uploads
stream while the folder is checked against the Hub, big folders are committed in several batches, and
re-running the same command after an interruption skips what is already committed. (Releases before
2.x recommended a separate `upload_large_folder`, which 2.x folded into `upload_folder`; and
`upload_large_folder` never supported `create_pr` nor commit messages.)

Constraints handled here rather than left to a library traceback:
- `--create-pr` always opens a PR against the default branch: combined with `--revision` it is
  refused; to resume an interrupted PR upload pass `--revision refs/pr/N` without `--create-pr`.
- `--revision BRANCH` is created (from the default branch) when it does not exist.
- `--private` applies when the repo is created; an existing repo keeps its visibility (we say so).

The token comes from `HF_TOKEN` or the huggingface_hub login and is handed to huggingface_hub only:
never printed, logged or written (error messages are scrubbed of it too).
"""

from __future__ import annotations

import os
import re

from toolkit.errors import ToolkitError, first_line
from toolkit.publish.stage import Staged, describe_files, stage

REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def hf_api(token):
    """The HfApi client (a seam for tests, which substitute a recorder)."""
    from huggingface_hub import HfApi

    return HfApi(token=token)


def _token() -> tuple[str | None, str]:
    env = os.environ.get("HF_TOKEN")
    if env:
        return env, "HF_TOKEN"
    try:
        from huggingface_hub import get_token

        tok = get_token()
    except Exception:  # noqa: BLE001
        tok = None
    return tok, ("huggingface_hub login" if tok else "none found")


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


# What a build owns in its repo: on a re-push, files under these that the new build does not have (shards of
# an earlier build, with another shard count, still match `data/train-*`) are deleted in the same commit.
# README.md, .gitattributes and anything else a person added at the top level are never deleted.
DELETE_PATTERNS = ["data/*", "features/*", "meta/*", "recipe.yaml"]


def push_to_hub(output: str, repo_id: str, private: bool = False, revision: str | None = None,
                create_pr: bool = False, dry_run: bool = False, echo=print, commit_message: str | None = None) -> int:
    if not REPO_RE.match(repo_id or ""):
        raise ToolkitError(f"--hub {repo_id!r}: expected a repo id of the form org/name")
    if create_pr and revision:
        raise ToolkitError("--create-pr opens a pull request against the default branch and cannot be combined "
                           "with --revision; to resume an interrupted PR upload pass --revision refs/pr/N alone")
    token, token_source = _token()
    staged = stage(output, load_path=repo_id)
    message = commit_message or f"Upload dataset {repo_id} ({len(staged.files)} files) with toolkit"
    try:
        if dry_run:
            echo(f"dry run: would push {len(staged.files)} files ({staged.total_bytes:,d} bytes) "
                 f"to https://huggingface.co/datasets/{repo_id}")
            echo(f"  create_repo(repo_id={repo_id!r}, repo_type='dataset', private={private}, exist_ok=True)"
                 + ("  # private applies only if the repo is created" if private else ""))
            if revision and not revision.startswith("refs/pr/"):
                echo(f"  create_branch(repo_id={repo_id!r}, branch={revision!r}, exist_ok=True)")
            echo(f"  upload_folder(folder_path=<staged>, repo_type='dataset', revision={revision!r}, "
                 f"create_pr={create_pr}, commit_message={message!r}, delete_patterns={DELETE_PATTERNS!r})")
            echo("  # delete_patterns: files of an earlier build that this one does not have go in the same commit")
            echo(f"  token: {token_source} (value never shown)")
            for line in describe_files(staged):
                echo(line)
            return 0
        if not token:
            raise ToolkitError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
        return _upload(staged, repo_id, private, revision, create_pr, message, token, echo)
    finally:
        staged.cleanup()


def _upload(staged: Staged, repo_id, private, revision, create_pr, message, token, echo) -> int:
    api = hf_api(token)
    try:
        url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if private:
            info = api.repo_info(repo_id, repo_type="dataset")
            if not getattr(info, "private", True):
                echo(f"note: {repo_id} already exists and is public; --private does not change an existing repo")
        if revision and not revision.startswith("refs/pr/"):
            api.create_branch(repo_id, branch=revision, repo_type="dataset", exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, folder_path=str(staged.root), repo_type="dataset",
                                   revision=revision, create_pr=create_pr or None, commit_message=message,
                                   delete_patterns=DELETE_PATTERNS)
    except ToolkitError:
        raise
    except Exception as e:  # noqa: BLE001 - one readable line, token scrubbed
        first = first_line(e)
        raise ToolkitError(f"push to {repo_id} failed: {type(e).__name__}: {_scrub(first, token)}") from None
    pr = getattr(commit, "pr_url", None)
    echo(f"pushed {len(staged.files)} files to {url}" + (f" (pull request: {pr})" if pr else ""))
    return verify_hub(api, staged, repo_id, revision if not create_pr else getattr(commit, "pr_revision", None), echo)


def verify_hub(api, staged: Staged, repo_id: str, revision: str | None, echo) -> int:
    """Compare the repo's files with the manifest: LFS/xet files by sha256, small files by git blob id."""
    import hashlib

    try:
        entries = {e.path: e for e in api.list_repo_tree(repo_id, repo_type="dataset", revision=revision,
                                                          recursive=True, expand=True)
                   if hasattr(e, "size")}
    except Exception as e:  # noqa: BLE001
        echo(f"note: could not list {repo_id} to verify ({type(e).__name__}); the upload itself succeeded")
        return 0
    problems = []
    import fnmatch

    stale = sorted(p for p in entries if p not in staged.files and any(fnmatch.fnmatch(p, pat) for pat in DELETE_PATTERNS))
    if stale:  # load_dataset would read an earlier build's shard with this one's
        problems.append(f"files of another build remain: {', '.join(stale[:3])}" + (" ..." if len(stale) > 3 else ""))
    for rel in staged.files:
        entry = entries.get(rel)
        if entry is None:
            problems.append(f"{rel}: missing")
            continue
        data_path = staged.root / rel
        lfs = getattr(entry, "lfs", None)
        if lfs is not None and getattr(lfs, "sha256", None):
            want = staged.manifest["files"].get(rel, {}).get("sha256")
            if want and lfs.sha256 != want:
                problems.append(f"{rel}: sha256 differs")
        else:
            data = data_path.read_bytes()
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            if getattr(entry, "blob_id", blob) != blob:
                problems.append(f"{rel}: content differs")
    if problems:
        echo(f"VERIFY FAILED on {repo_id}: " + "; ".join(problems[:10]))
        return 1
    echo(f"verified: {len(staged.files)} files on {repo_id} match the manifest")
    return 0


def hub_token() -> tuple[str | None, str]:
    """(the Hub token, where it came from: "HF_TOKEN", "huggingface_hub login" or "none found"), for the
    other publishers (model folders: model_hub.py)."""
    return _token()
