"""What a person writes into a dataset card survives every re-render.

The card (README.md) is re-rendered from the build by `toolkit card OUT`, at the end of `toolkit make`,
by `toolkit audit` / `toolkit train` (their sections), and for each `toolkit push` (the load snippet
names the destination). Two places hold what only the dataset's author knows:

- the recipe's `card:` section (description, citation, authors, contact, homepage, tags, language;
  `config.recipe.CardConfig`), rendered into the card by the template;
- **user regions** of README.md, carried over verbatim on every re-render:

      <!-- user:begin about -->
      Anything: paragraphs, tables, images, extra citations.
      <!-- user:end about -->

  The template has three, empty until filled: `about` (under the introduction), `notes` (after the
  limitations) and `citation` (above the papers the toolkit cites). A region of another name found in
  README.md is kept too, at the end of the card.

Edits anywhere else are toolkit-owned text and would be lost, so the toolkit records a hash of the card
it wrote (`meta/card_written.json`: sha256 of the card with the regions' contents left out, so filling
a region is not an edit). When README.md differs from that record:
- a re-render (`toolkit card`, `make`, `audit`, `train`) keeps the edited file as `OUT/README.md.bak`
  (never published) and prints one warning line naming it, then writes the new card;
- `toolkit push` refuses, before anything is sent, with one line saying where to move the edits (a
  published card must not silently drop them, and push never rewrites OUT/README.md itself).
A build from before this record (no meta/card_written.json) is treated the same way by a re-render
(its README.md is kept as README.md.bak, once) and pushed as before.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys

from toolkit.errors import ToolkitError
from toolkit.store.layout import CARD_FILE

RECORD_FILE = "meta/card_written.json"
BACKUP_FILE = "README.md.bak"
TEMPLATE_REGIONS = ("about", "notes", "citation")
_REGION = re.compile(r"<!-- user:begin (?P<name>[A-Za-z0-9_-]+) -->(?P<body>.*?)<!-- user:end (?P=name) -->", re.S)


def regions(text: str) -> dict[str, str]:
    """The user regions of a card, by name, each body verbatim (in the order they appear)."""
    found: dict[str, str] = {}
    for m in _REGION.finditer(_body(text)):
        found.setdefault(m.group("name"), m.group("body"))
    return found


def _body(text: str) -> str:
    """The card without its YAML front matter (regions live in the markdown body)."""
    m = re.match(r"^---\n.*?\n---\n", text, re.S)
    return text[m.end():] if m else text


def _region(name: str, body: str) -> str:
    return f"<!-- user:begin {name} -->{body}<!-- user:end {name} -->"


def carry_over(new: str, old: str | None) -> str:
    """`new` (a freshly rendered card) with every user region's body taken from `old` verbatim; regions of
    `old` that `new` lacks are appended at the end, so nothing a person wrote is dropped."""
    if not old:
        return new
    kept = regions(old)
    if not kept:
        return new
    head_len = len(new) - len(_body(new))
    head, body = new[:head_len], new[head_len:]
    present = set()

    def fill(m: re.Match) -> str:
        name = m.group("name")
        present.add(name)
        return _region(name, kept[name]) if name in kept else m.group(0)

    body = _REGION.sub(fill, body)
    extra = [name for name in kept if name not in present]
    if extra:
        body = body.rstrip("\n") + "\n\n" + "\n\n".join(_region(n, kept[n]) for n in extra) + "\n"
    return head + body


def skeleton_hash(text: str) -> str:
    """sha256 of the card with every region's body left out: what the toolkit owns."""
    skeleton = _REGION.sub(lambda m: _region(m.group("name"), ""), text)
    return hashlib.sha256(skeleton.encode("utf-8")).hexdigest()


def record(text: str) -> bytes:
    """The content of meta/card_written.json for a card the toolkit writes."""
    return (json.dumps({"version": 1, "skeleton_sha256": skeleton_hash(text)}, indent=1) + "\n").encode()


def edited(out, old: str) -> bool | None:
    """Whether OUT/README.md (`old`) was edited outside its user regions since the toolkit wrote it:
    True / False, None when there is no (readable) record of what it wrote."""
    if not out.exists(RECORD_FILE):
        return None
    try:
        want = json.loads(out.read_bytes(RECORD_FILE)).get("skeleton_sha256")
    except (ValueError, OSError, AttributeError):
        return None
    return skeleton_hash(old) != want


def _read_card(out) -> str | None:
    if not out.exists(CARD_FILE):
        return None
    try:
        return out.read_bytes(CARD_FILE).decode("utf-8")
    except UnicodeDecodeError:
        return None


def write(out, new: str, warn=None) -> str:
    """Write the rendered card `new` to OUT/README.md keeping the old card's user regions; an old card
    edited outside them (or with no record) is kept as README.md.bak with one warning line. Returns the
    text written."""
    warn = warn or (lambda s: print(s, file=sys.stderr, flush=True))
    old = _read_card(out)
    text = carry_over(new, old)
    if old is not None and old != text:
        state = edited(out, old)
        if state is not False:
            out.write_text(BACKUP_FILE, old)
            why = ("was edited outside its <!-- user:begin NAME --> regions since toolkit wrote it" if state
                   else "has no record of what toolkit wrote (a build from an earlier version)")
            warn(f"toolkit: warning: {out.path(CARD_FILE)} {why}; kept it as {out.path(BACKUP_FILE)} "
                 "(move your text into a user region or the recipe's card: section to keep it in the card)")
    out.write_text(CARD_FILE, text)
    out.write_bytes(RECORD_FILE, record(text))
    return text


def for_push(out, new: str) -> str:
    """The card to publish: `new` with OUT/README.md's user regions. Refuses (ToolkitError, nothing sent)
    when OUT/README.md was edited outside its regions since the toolkit wrote it."""
    old = _read_card(out)
    if old is not None and edited(out, old):
        raise ToolkitError(f"{out.path(CARD_FILE)}: edited outside its <!-- user:begin NAME --> regions since "
                           "toolkit wrote it, and the published card is re-rendered: move the edits into a user "
                           "region or the recipe's card: section, or run `toolkit card OUT` (which keeps the "
                           f"edited file as {BACKUP_FILE}), then push again")
    return carry_over(new, old)
