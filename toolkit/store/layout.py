"""Where everything lives inside a build's output folder.

    OUT/README.md                          dataset card (YAML configs -> data/<split>-*)
    OUT/recipe.yaml                        the resolved recipe the build ran
    OUT/data/<split>-NNNNN-of-MMMMM.parquet the rows (Hugging Face naming)
    OUT/meta/build.json                    recipe hash, shard plan, versions
    OUT/meta/plan.parquet                  every planned pair: pair_id, split, shard, origin
    OUT/meta/shards/<split>-NNNNN.json     completion record of one shard (store/shard_record.py)
    OUT/meta/drops/<split>-NNNNN.parquet   every dropped pair of that shard: pair_id, origin, reason, detail
    OUT/meta/summary.json                  the build summary
    OUT/_tmp/                              files being written; renamed into place when complete

Side files live under meta/, which no `configs` pattern matches, so `load_dataset(OUT)` sees only rows.
"""

from __future__ import annotations


def shard_file(split: str, index: int, total: int) -> str:
    return f"data/{split}-{index:05d}-of-{total:05d}.parquet"


def split_of(rel: str) -> str:
    """The split of a data file named by `shard_file` ("data/train-00003-of-00016.parquet" -> "train")."""
    return rel.rsplit("/", 1)[-1].rsplit("-", 3)[0]


def marker_file(split: str, index: int) -> str:
    return f"meta/shards/{split}-{index:05d}.json"


def drops_file(split: str, index: int) -> str:
    return f"meta/drops/{split}-{index:05d}.parquet"


BUILD_FILE = "meta/build.json"
PLAN_FILE = "meta/plan.parquet"
SUMMARY_FILE = "meta/summary.json"
RECIPE_FILE = "recipe.yaml"
CARD_FILE = "README.md"
TMP_DIR = "_tmp"
