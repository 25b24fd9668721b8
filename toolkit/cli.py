"""`toolkit` command line. Thin: parse, call, report.

Subcommands live in `toolkit/commands/<name>.py` and are discovered here.
Exit codes: 0 success; 1 the command ran but found a problem (incomplete build, failed check);
2 a usage or recipe error, reported as one readable line (never a traceback), including "not a build"
(`toolkit/commands/_inputs.py`, the one check every command taking a build or dataset makes).

A module docstring's examples are shown verbatim by `toolkit CMD --help` (RawDescriptionHelpFormatter).
AtomicFolder piped into a program that stops reading (`toolkit shaders --list | head -1`) ends quietly, as
`ls | head` does: no BrokenPipeError traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from toolkit import commands
from toolkit.errors import RecipeError, ToolkitError


def _commands() -> dict:
    mods = {}
    for info in pkgutil.iter_modules(commands.__path__):
        if not info.name.startswith("_"):
            mods[info.name] = importlib.import_module(f"{commands.__name__}.{info.name}")
    return dict(sorted(mods.items(), key=lambda kv: (getattr(kv[1], "ORDER", 50), kv[0])))


def _parser(mods: dict) -> argparse.ArgumentParser:
    from toolkit import __version__

    p = argparse.ArgumentParser(prog="toolkit", description="Aligned real/fake image datasets.",
                                epilog="`toolkit CMD --help` shows each command's options and examples.")
    p.add_argument("--version", action="version", version=f"toolkit {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for name, mod in mods.items():
        mod.add_arguments(sub.add_parser(name, help=mod.HELP, description=(mod.__doc__ or "").strip(),
                                         formatter_class=argparse.RawDescriptionHelpFormatter))
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # inside the try: a closed pipe is found here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _closed_pipe()


def _closed_pipe() -> int:
    """The reader of our stdout went away (`| head -1`): stop quietly. stdout is pointed at /dev/null so
    that the interpreter's final flush of the buffered rest does not raise again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a program killed by a closed pipe


def _main(argv: list[str] | None) -> int:
    from toolkit.engine.progress import plain_logs_off_a_terminal

    plain_logs_off_a_terminal()  # no carriage returns in a log file (progress.py)
    mods = _commands()
    parser = _parser(mods)
    args, rest = parser.parse_known_args(argv)
    if rest:  # key=value overrides may follow options (`make r.yaml --out X image.size=64`)
        bad = [r for r in rest if r.startswith("-")]
        if bad or not hasattr(args, "overrides"):
            parser.error(f"unrecognized arguments: {' '.join(bad or rest)}")
        args.overrides = list(args.overrides or []) + rest
    try:
        return mods[args.command].run(args)
    except RecipeError as e:
        print(f"toolkit: recipe error: {e}", file=sys.stderr)
        return 2
    except ToolkitError as e:
        print(f"toolkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("toolkit: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
