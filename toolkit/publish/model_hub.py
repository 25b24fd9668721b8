"""`toolkit push MODEL --hub org/detector`: publish a trained detector folder as a Hugging Face model repo.

What is sent: the files `toolkit train` wrote (model.safetensors, config.json for the ResNet kinds,
detector.json, README.md with its YAML metadata, metrics.json, the plots), nothing else in the folder.
The same client seam (`hub.hf_api`) and token rules as dataset pushes (`hub.py`): HF_TOKEN or the
huggingface_hub login, never printed; errors are one line with the token scrubbed.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.errors import ToolkitError, first_line
from toolkit.publish import hub

MODEL_FILES = ("model.safetensors", "config.json", "detector.json", "README.md", "metrics.json",
               "roc.png", "pr.png", "robustness.png")


def model_files(model_dir: str) -> list[str]:
    root = Path(model_dir)
    return [f for f in MODEL_FILES if (root / f).is_file()]


def push_model_to_hub(model_dir: str, repo_id: str, private: bool = False, revision: str | None = None,
                      create_pr: bool = False, dry_run: bool = False, echo=print,
                      commit_message: str | None = None) -> int:
    if not hub.REPO_RE.match(repo_id or ""):
        raise ToolkitError(f"--hub {repo_id!r}: expected a repo id of the form org/name")
    if create_pr and revision:
        raise ToolkitError("--create-pr opens a pull request against the default branch and cannot be combined "
                           "with --revision")
    files = model_files(model_dir)
    root = Path(model_dir)
    total = sum((root / f).stat().st_size for f in files)
    message = commit_message or f"Upload detector {repo_id} ({len(files)} files) with toolkit"
    token, token_source = hub.hub_token()
    if dry_run:
        echo(f"dry run: would push {len(files)} files ({total:,d} bytes) to https://huggingface.co/{repo_id}")
        echo(f"  create_repo(repo_id={repo_id!r}, repo_type='model', private={private}, exist_ok=True)")
        if revision and not revision.startswith("refs/pr/"):
            echo(f"  create_branch(repo_id={repo_id!r}, branch={revision!r}, exist_ok=True)")
        echo(f"  upload_folder(folder_path={model_dir!r}, repo_type='model', allow_patterns=<the files below>, "
             f"revision={revision!r}, create_pr={create_pr}, commit_message={message!r})")
        echo(f"  token: {token_source} (value never shown)")
        for f in files:
            echo(f"  {(root / f).stat().st_size:>12,d}  {f}")
        return 0
    if not token:
        raise ToolkitError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    api = hub.hf_api(token)
    try:
        url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        if revision and not revision.startswith("refs/pr/"):
            api.create_branch(repo_id, branch=revision, repo_type="model", exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, folder_path=str(root), repo_type="model", revision=revision,
                                   create_pr=create_pr or None, commit_message=message, allow_patterns=files)
    except Exception as e:  # noqa: BLE001 - one readable line, token scrubbed
        first = first_line(e)
        raise ToolkitError(f"push to {repo_id} failed: {type(e).__name__}: {first.replace(token, '***')}") from None
    pr = getattr(commit, "pr_url", None)
    echo(f"pushed {len(files)} files to {url}" + (f" (pull request: {pr})" if pr else ""))
    return 0
