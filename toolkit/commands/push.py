"""`toolkit push OUT --hub org/ds` or `toolkit push OUT --to URL`: publish a finished build;
`toolkit push MODEL --hub org/detector`: publish a detector folder made by `toolkit train` (a model repo).

Only the dataset's files are published (README.md, recipe.yaml, data/, meta/ with a sha256 manifest);
never `_tmp/` or the download cache `_reals/`. An incomplete build (a planned shard missing, a shard
whose sha256 differs from its marker, stray data files) or a card that fails validation is refused.

  toolkit push outputs/demo --hub my-org/demo --dry-run      # files and settings, nothing sent
  toolkit push outputs/demo --hub my-org/demo --private [--revision BRANCH | --create-pr]
  toolkit push outputs/demo --to s3://bucket/prefix --storage-options '{"endpoint_url": "..."}'
  toolkit push outputs/detectors/demo-resnet50 --hub my-org/demo-detector [--dry-run]

The Hub token comes from HF_TOKEN or `hf auth login`; it is never printed or written.
"""

from __future__ import annotations

import sys

from toolkit.errors import ToolkitError

HELP = "publish a build to the Hugging Face Hub or any fsspec URL"
ORDER = 30


def add_arguments(p) -> None:
    p.add_argument("output", help="build folder (or fsspec URL) of a finished `toolkit make`, or a model "
                                  "folder of `toolkit train` (with --hub)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--hub", metavar="ORG/NAME", help="Hugging Face dataset repo id")
    where.add_argument("--to", metavar="URL", help="any fsspec URL (s3://, gs://, file://, memory://, ...)")
    p.add_argument("--private", action="store_true", help="Hub: create the repo private")
    p.add_argument("--revision", metavar="BRANCH", help="Hub: push to this branch (created if missing)")
    p.add_argument("--create-pr", action="store_true", help="Hub: open a pull request instead of committing")
    p.add_argument("--commit-message", metavar="TEXT", help="Hub: the commit (or pull request) title")
    p.add_argument("--storage-options", metavar="JSON", help="--to: fsspec storage options as a JSON object")
    p.add_argument("--overwrite", action="store_true", help="--to: delete the target first")
    p.add_argument("--dry-run", action="store_true", help="print the files and settings; send nothing")


def run(args) -> int:
    def echo(s: str) -> None:
        print(s, file=sys.stdout)

    from toolkit.detectors.storage import is_model_dir

    if is_model_dir(args.output):  # a detector folder (detector.json + model.safetensors), not a build
        if not args.hub:
            raise ToolkitError(f"{args.output}: a model folder is published with --hub ORG/NAME, not --to URL")
        if args.storage_options or args.overwrite:
            raise ToolkitError("--storage-options and --overwrite apply to --to URL, not to --hub")
        from toolkit.publish.model_hub import push_model_to_hub

        return push_model_to_hub(args.output, args.hub, private=args.private, revision=args.revision,
                                 create_pr=args.create_pr, dry_run=args.dry_run, echo=echo,
                                 commit_message=args.commit_message)
    if args.hub:
        if args.storage_options or args.overwrite:
            raise ToolkitError("--storage-options and --overwrite apply to --to URL, not to --hub")
        from toolkit.publish.hub import push_to_hub

        return push_to_hub(args.output, args.hub, private=args.private, revision=args.revision,
                           create_pr=args.create_pr, dry_run=args.dry_run, echo=echo,
                           commit_message=args.commit_message)
    if args.private or args.revision or args.create_pr or args.commit_message:
        raise ToolkitError("--private, --revision, --create-pr and --commit-message apply to --hub, not to --to URL")
    from toolkit.publish.remote import parse_storage_options, push_to_url

    return push_to_url(args.output, args.to, parse_storage_options(args.storage_options), dry_run=args.dry_run,
                       overwrite=args.overwrite, echo=echo)
