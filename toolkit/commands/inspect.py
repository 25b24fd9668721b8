"""`toolkit inspect OUT`: write a static HTML page to browse the pairs, and the sample grid PNG.

Pairs side by side (real | fake | |real - fake| with a gain slider | mask), with their caption, origin,
augmentation (written out) and PSNR; filterable by split, source, augmentation and format, sortable by
PSNR; a click opens the pair full size (1:1, zoom). Opens from disk, no server, no network.
Default destination: OUT/_inspect/ (an `_` folder: never published). Exit 2 when OUT is not a toolkit build.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.errors import ToolkitError

HELP = "write a browsable HTML page of a build's pairs"
ORDER = 40


def add_arguments(p) -> None:
    p.add_argument("output", help="build folder or fsspec URL")
    p.add_argument("--dest", help="folder for index.html, grid.png, img/ (default: OUT/_inspect)")
    p.add_argument("--max-pairs", type=int, default=100, help="pairs shown, spread over the shards (default 100)")


def run(args) -> int:
    import shutil

    from toolkit.card.render import load_build
    from toolkit.card.inspect_page import write_inspect
    from toolkit.commands._inputs import build_input

    if args.max_pairs < 1:
        raise ToolkitError("--max-pairs: must be at least 1")
    build_input(args.output)  # no such path / not a build: one line, exit 2 (as verify, push, card)
    out, _, _ = load_build(args.output)
    if args.dest:
        dest = Path(args.dest)
    elif "file" in (out.fs.protocol if isinstance(out.fs.protocol, (tuple, list)) else (out.fs.protocol,)):
        dest = Path(out.root) / "_inspect"
    else:
        raise ToolkitError(f"{args.output}: not a local folder; pass --dest DIR for the page")
    if dest.exists():
        shutil.rmtree(dest)
    info = write_inspect(out, dest, max_pairs=args.max_pairs)
    print(f"{info['index']}  ({info['pairs']} pairs, {info['images']} images; grid: {info['grid']})")
    return 0
