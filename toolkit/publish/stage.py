"""Stage a build for publishing: a folder holding exactly what the dataset repo must hold.

Why a staged copy rather than pushing OUT with include/exclude patterns: the file set is decided once
(`check_build`, which first refuses any build `toolkit verify --quick` fails: README.md,
recipe.yaml, the planned shards, meta/** but not a meta/manifest.json, which is always written afresh;
never `_tmp/`, the LAION download cache `_reals/` or stray files), the card is re-rendered for its target (the load
snippet names the repo or URL it will be loaded from) and validated against that exact file set, and
the sha256 manifest is computed over the very bytes that will be sent. Files are hard links into the
build folder when it is local (no copy, instant), copies otherwise.

The stage lives in `OUT/_push/` (an `_` folder: never published, removed after the push) so that
hard links stay on one filesystem.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from toolkit.card import user_content
from toolkit.card.render import load_build, render_card, validate_card
from toolkit.errors import ToolkitError
from toolkit.store.build_dir import open_build
from toolkit.store.layout import CARD_FILE
from toolkit.store.manifest import MANIFEST_FILE, build_manifest, manifest_bytes, publishable_files

STAGE_DIR = "_push"


@dataclass
class Staged:
    root: Path  # local folder with exactly the files to publish
    files: list[str]  # relative paths, manifest last
    manifest: dict
    card: str

    @property
    def total_bytes(self) -> int:
        return sum(e["size"] for e in self.manifest["files"].values()) + len(manifest_bytes(self.manifest))

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        parent = self.root.parent
        if parent.name == STAGE_DIR and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()


def _is_local(out) -> bool:
    protocol = out.fs.protocol
    return "file" in (protocol if isinstance(protocol, (tuple, list)) else (protocol,))


def stage(output: str, load_path: str, storage_options: list[str] | None = None) -> Staged:
    """Check the build, stage its files with a card for `load_path`, validate, write the manifest.

    Nothing is staged, and nothing sent, unless the path is a build (`open_build`: exit 2 otherwise) that
    `toolkit verify --quick` passes (`check_build`): every refusal is one ToolkitError line."""
    files = check_build(open_build(output))
    out, recipe, summary = load_build(output)  # recipe.yaml and meta/summary.json are known sound now
    if _is_local(out):
        base = Path(out.root) / STAGE_DIR
        base.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="stage-", dir=base))
    else:
        root = Path(tempfile.mkdtemp(prefix="toolkit-stage-"))
    try:
        for rel in files:
            if rel == CARD_FILE:
                continue
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if _is_local(out):
                try:
                    os.link(out.path(rel), dest)
                except OSError:
                    shutil.copyfile(out.path(rel), dest)
            else:
                out.fs.get_file(out.path(rel), str(dest))
        card = render_card(recipe, summary, load_path=load_path, out=out, storage_options=storage_options)
        card = user_content.for_push(out, card)  # OUT/README.md's user regions; refused if edited elsewhere
        (root / CARD_FILE).write_text(card, encoding="utf-8")
        record = root / user_content.RECORD_FILE  # the published card's own record (a hard link: replace it)
        record.unlink(missing_ok=True)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_bytes(user_content.record(card))
        files = sorted(set(files) | {user_content.RECORD_FILE})
        problems = validate_card(card, files + [MANIFEST_FILE], masks=recipe.makes_masks())
        if problems:
            raise ToolkitError(f"{output}: the dataset card fails validation, refusing to publish: "
                               + "; ".join(problems))
        manifest = build_manifest(str(root), files)
        (root / MANIFEST_FILE).write_bytes(manifest_bytes(manifest))
    except BaseException:
        Staged(root, [], {}, "").cleanup()
        raise
    return Staged(root=root, files=files + [MANIFEST_FILE], manifest=manifest, card=card)


def describe_files(staged: Staged, limit: int | None = None) -> list[str]:
    lines = []
    for rel in staged.files:
        size = (staged.manifest["files"][rel]["size"] if rel in staged.manifest["files"]
                else len(manifest_bytes(staged.manifest)))
        lines.append(f"  {size:>12,d}  {rel}")
    if limit is not None and len(lines) > limit:
        lines = lines[:limit] + [f"  ... and {len(lines) - limit} more"]
    return lines


def check_build(out) -> list[str]:
    """Return the publishable files of a complete, intact build, or raise one ToolkitError naming its problems.

    The checks are `toolkit verify --quick`'s (toolkit/verify.py), run here as they are, so that nothing
    `verify --quick` would fail is ever published: missing or damaged side files (a truncated plan, a marker
    that is not JSON), a planned shard without its marker or parquet, a parquet whose sha256 is not its
    marker's, a stray file in data/, a summary that recorded failed shards or predates the plan, a
    damaged meta/manifest.json. The dataset card (README.md) is required too."""
    from toolkit.verify import verify

    rep = verify(out, contract=False)
    if not rep.ok:
        raise ToolkitError(f"{out.url}: incomplete or damaged build, refusing to publish "
                           f"(`toolkit verify --quick` finds {len(rep.problems)} problem(s)): {rep.one_line()}")
    return publishable_files(out, rep.files)
