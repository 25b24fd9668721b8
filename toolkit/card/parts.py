"""A shard's contribution to the dataset card, computed where the shard was built.

The card's statistics read every data file and its PSNR histogram decodes 64 pairs; done after the
last shard, that is a serial tail on one core while every worker waits (docs/performance.md, "Scaling
and memory"). So each shard task, right after writing its data file, also computes that file's part:
its counters (`stats.file_stats`) and the PSNRs of its first `k` pairs (`figures.file_psnrs`). The
client only merges the parts in file order. A part is a pure function of the data file's bytes, so the
card is the same whether a part was computed in a worker, on the client (a resumed build's finished
shards, `toolkit card OUT`: no part, the same function runs there), with 1 or with N workers.
"""

from __future__ import annotations

from toolkit.card.figures import GRID_PAIRS, PSNR_PAIRS, file_psnrs, pairs_per_file
from toolkit.card.stats import file_stats
from toolkit.store.atomic import AtomicFolder


def pairs_per_shard(planned_shards: int) -> int:
    """The pairs each shard's part covers: enough for the card when every planned shard has a data file
    (a shard whose every pair was dropped has none; then the card recomputes the parts it needs)."""
    return pairs_per_file(max(GRID_PAIRS, PSNR_PAIRS), planned_shards)


def card_part(task, record: dict, k: int) -> dict | None:
    """The part of one finished shard (`task` is its ShardTask, `record` its completion record), keyed
    by the client on `record["file"]`; None for a shard without a data file."""
    rel = record.get("file")
    if not rel:
        return None
    out = AtomicFolder(task.output)
    return {"stats": file_stats(out, rel), "psnr": file_psnrs(out, rel, k)}
