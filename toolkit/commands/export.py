"""`toolkit export OUT --format webdataset [--to DIR] [--shard-size N] [--overwrite]`: write a finished
build as WebDataset tar shards (the exact stored image bytes, one sample per row keyed `<pair_id>_<role>`,
a `.json` with pair_id, label, split, generator and metadata; `.mask.png` in builds with masks).

  toolkit export outputs/demo --format webdataset                     # -> outputs/demo/_export/webdataset
  toolkit export outputs/demo --format webdataset --to /data/demo-wds --shard-size 1000

Only a build that `toolkit verify --quick` passes is exported; DIR must be new, empty, or an earlier
export (replaced with --overwrite). Exit 2, one line, for anything else. docs/export.md.
"""

from __future__ import annotations

from toolkit.errors import ToolkitError

HELP = "export a finished build as WebDataset tar shards"
ORDER = 35
FORMATS = ("webdataset",)


def add_arguments(p) -> None:
    p.add_argument("output", help="build folder (or fsspec URL) of a finished `toolkit make`")
    p.add_argument("--format", required=True, help="webdataset (tar shards)")
    p.add_argument("--to", metavar="DIR", help="target folder or fsspec URL (default: OUT/_export/<format>, "
                                               "never published)")
    p.add_argument("--shard-size", type=int, metavar="N", help="at most N samples per tar (a pair is never "
                                                               "split); default: one tar per parquet shard")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in DIR")


def run(args) -> int:
    from toolkit.publish.webdataset import export_webdataset
    from toolkit.store.build_dir import open_build
    from toolkit.verify import verify

    if args.format not in FORMATS:
        raise ToolkitError(f"--format {args.format!r}: unknown (known: {', '.join(FORMATS)})")
    if args.shard_size is not None and args.shard_size < 1:
        raise ToolkitError(f"--shard-size: must be at least 1, got {args.shard_size}")
    out = open_build(args.output)  # not a build: one line, exit 2
    if args.to:
        dest = args.to
    elif "file" in (out.fs.protocol if isinstance(out.fs.protocol, (tuple, list)) else (out.fs.protocol,)):
        dest = out.path(f"_export/{args.format}")
    else:
        raise ToolkitError(f"{args.output}: not a local folder; pass --to DIR for the export")
    rep = verify(out, contract=False)
    if not rep.ok:
        raise ToolkitError(f"{args.output}: incomplete or damaged build, refusing to export "
                           f"(`toolkit verify --quick` finds {len(rep.problems)} problem(s)): {rep.one_line()}")
    index = export_webdataset(out, rep.files, dest, shard_size=args.shard_size, overwrite=args.overwrite)
    n = sum(s["samples"] for s in index["splits"].values())
    per_split = ", ".join(f"{k} {v['samples']}" for k, v in index["splits"].items())
    print(f"{dest}: {len(index['tars'])} tar(s), {n} samples ({per_split}); "
          f"image formats: {', '.join(index['image_formats'])}")
    print(f"datasets' webdataset builder: {index['datasets_builder']}")
    return 0
