"""`toolkit shaders`: list the shader programs, or render a contact sheet of one frame per program.

  toolkit shaders --list                              programs (family/name: description)
  toolkit shaders --contact-sheet sheet.png --size 96 one tile per program, labelled
  toolkit shaders --contact-sheet s.png --user-dir my_shaders/ --no-builtin

Tiles use each program's sample 0 (the uniforms a build with the same seed gives it). A program that
fails to compile gets a red tile and its GL log on stderr; a degenerate frame gets an orange border.
The exit code is 1 when any program failed to compile, time out or render.
"""

from __future__ import annotations

import sys

HELP = "list the shader library or render a contact sheet (one frame per program)"
ORDER = 40


def add_arguments(p) -> None:
    p.add_argument("--list", action="store_true", help="list programs and exit")
    p.add_argument("--contact-sheet", metavar="PNG", help="write a contact sheet to this PNG file")
    p.add_argument("--size", type=int, default=96, help="tile size in pixels (default 96)")
    p.add_argument("--columns", type=int, default=10, help="tiles per row (default 10)")
    p.add_argument("--seed", type=int, default=0, help="recipe seed the uniforms are drawn from (default 0)")
    p.add_argument("--index", type=int, default=0, help="sample index drawn per program (default 0)")
    p.add_argument("--supersample", type=int, default=1, help="supersampling factor (default 1)")
    p.add_argument("--user-dir", help="also include a folder of Shadertoy-style .glsl programs")
    p.add_argument("--no-builtin", action="store_true", help="leave out the built-in library")
    p.add_argument("--families", nargs="*", default=[], help="only these built-in families")
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds per frame (default 30)")


def _source(args):
    from toolkit.config.recipe import ImageConfig
    from toolkit.sources.shaders import ShadersConfig, ShadersSource

    class _R:  # the two recipe fields the source reads
        seed = args.seed
        image = ImageConfig(size=args.size)

    cfg = ShadersConfig(count=0, builtin=not args.no_builtin, user_dir=args.user_dir, families=list(args.families),
                        supersample=args.supersample, time_limit_s=args.time_limit)
    return ShadersSource(cfg, _R())


def run(args) -> int:
    from toolkit.errors import ToolkitError

    if not args.list and not args.contact_sheet:
        raise ToolkitError("toolkit shaders: give --list or --contact-sheet PNG")
    src = _source(args)
    progs = src.programs()
    if args.list:
        for key, p in progs.items():
            print(f"{key:36s} {p.description}")
        print(f"{len(progs)} programs in {len({p.family for p in progs.values()})} families", file=sys.stderr)
        return 0
    from toolkit.shaders.sheet import contact_sheet

    png, problems = contact_sheet(src, size=args.size, columns=args.columns, index=args.index)
    with open(args.contact_sheet, "wb") as fh:
        fh.write(png)
    print(f"wrote {args.contact_sheet}: {len(progs)} programs, {len(problems)} with problems", file=sys.stderr)
    for key, why in problems.items():
        print(f"  {key}: {why}", file=sys.stderr)
    hard = [k for k, why in problems.items() if not why.startswith("degenerate")]
    return 1 if hard else 0
