"""`toolkit retrieve EVAL --pool DS [DS ...] --model CLIP --out OUT`: a retrieval-matched evaluation set.

Every fake of EVAL's split gets the nearest real of the pool (CLIP image + caption embeddings, exact
duplicates and the fake's own source excluded); OUT is a dataset `toolkit eval MODEL --on OUT` reads.
See toolkit/retrieval/match.py and docs/fakeinversion.md."""

from __future__ import annotations

import json
import sys

HELP = "match each fake of an evaluation set with its nearest real from a pool (retrieval-matched set)"
ORDER = 22


def add_arguments(p) -> None:
    p.add_argument("eval", help="the evaluation set: a toolkit build folder or hub dataset id (its fakes are matched)")
    p.add_argument("--pool", nargs="+", required=True, metavar="DATASET", help="datasets whose reals are the candidates")
    p.add_argument("--model", default="openai/clip-vit-large-patch14", help="CLIP model (hub id or local path)")
    p.add_argument("--out", required=True, help="folder of the matched dataset")
    p.add_argument("--split", default="test", help="split of EVAL to match (default test)")
    p.add_argument("--text-weight", type=float, default=0.5,
                   help="weight of the caption similarity (0: image only; default 0.5)")
    p.add_argument("--device", default="auto")
    p.add_argument("--block", type=int, default=65536, help="pool rows per search block (memory vs speed)")
    p.add_argument("--cache-dir", help="CLIP feature cache (default $TOOLKIT_CACHE or ~/.cache/toolkit/features)")


def run(args) -> int:
    from toolkit.retrieval.match import retrieve

    summary = retrieve(args.eval, args.pool, args.model, args.out, split=args.split, text_weight=args.text_weight,
                       device=args.device, block=args.block, cache_dir=args.cache_dir,
                       echo=lambda s: print(s, file=sys.stderr))
    print(json.dumps(summary, indent=1))
    return 0
