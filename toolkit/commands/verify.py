"""`toolkit verify OUT`: check a build's plan, markers, hashes, counts and the alignment contract on
every row. Exit 0 when all is well, 1 with the list of problems otherwise (a damaged side file, such as a
truncated meta/plan.parquet or marker, is one problem naming the file), 2 when OUT does not exist or
is not a toolkit build (no meta/build.json)."""

from __future__ import annotations

HELP = "check that a build is complete, intact and aligned (exit 1 listing what is wrong, 2: not a build)"
ORDER = 10


def add_arguments(p) -> None:
    p.add_argument("output", help="the build's output folder or fsspec URL")
    p.add_argument("--quick", action="store_true",
                   help="plan, markers, hashes and counts only; skip decoding every row for the contract")


def run(args) -> int:
    from toolkit.verify import verify

    rep = verify(args.output, contract=not args.quick)
    print(rep.format())
    return 0 if rep.ok else 1
