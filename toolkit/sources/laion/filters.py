"""The filters applied to the URL list before anything is downloaded; every row dropped is counted under its reason."""

from __future__ import annotations



from collections import Counter
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.sources.laion.fetch import PLAIN_HTTP, allowed_url


# ------------------------------------------------------------------------------------------------
# filters before download

FILTER_REASONS = ("missing_url", "unsupported_scheme", "filter_too_small", "filter_aspect_ratio", "filter_punsafe",
                  "filter_punsafe_unknown", "filter_pwatermark", "filter_pwatermark_unknown", "duplicate_url")


def filter_urls(table: pa.Table, *, min_width: int, min_height: int, max_aspect_ratio: Optional[float],
                max_punsafe: Optional[float], max_pwatermark: Optional[float]
                ) -> tuple[np.ndarray, Counter, list[str]]:
    """Indices of the rows to download, drop counts by reason (each row counted once, under the
    first reason in FILTER_REASONS that applies), and the filters that could not be applied."""
    n = table.num_rows
    reason = np.full(n, -1, np.int16)

    def mark(mask, name: str):
        reason[(reason < 0) & np.asarray(mask, bool)] = FILTER_REASONS.index(name)

    def floats(name: str) -> np.ndarray:
        return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)

    def has(name: str) -> bool:
        return table.column(name).null_count < n

    urls = table.column("url").to_pylist()
    mark([u is None or not str(u).strip() for u in urls], "missing_url")
    # file:, data:, ftp:, paths, ...; the common case (a plain http(s):// prefix) is checked vectorised
    plain = np.asarray(pc.fill_null(pc.match_substring_regex(table.column("url"), PLAIN_HTTP), False), bool)
    mark([not plain[i] and u is not None and not allowed_url(u) for i, u in enumerate(urls)], "unsupported_scheme")
    not_applied = []
    w, h = floats("width"), floats("height")
    if min_width or min_height:
        if not (has("width") and has("height")) and n:
            not_applied.append("min_width/min_height (no width/height column)")
        with np.errstate(invalid="ignore"):
            mark((w < min_width) | (h < min_height), "filter_too_small")  # NaN compares False: passes
    if max_aspect_ratio is not None:
        if not (has("width") and has("height")) and n:
            not_applied.append("max_aspect_ratio (no width/height column)")
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.maximum(w, h) / np.minimum(w, h)
            mark(ratio > max_aspect_ratio, "filter_aspect_ratio")
    for col, limit in (("punsafe", max_punsafe), ("pwatermark", max_pwatermark)):
        if limit is None:
            continue
        if not has(col):
            if n:
                not_applied.append(f"max_{col} (no {col} column)")
            continue
        v = floats(col)
        with np.errstate(invalid="ignore"):
            mark(v > limit, f"filter_{col}")
        mark(np.isnan(v), f"filter_{col}_unknown")
    seen: set[str] = set()
    dup = np.zeros(n, bool)
    for i in np.flatnonzero(reason < 0):
        u = urls[i]
        if u in seen:
            dup[i] = True
        seen.add(u)
    mark(dup, "duplicate_url")
    counts = Counter({FILTER_REASONS[k]: int(c) for k, c in zip(*np.unique(reason[reason >= 0], return_counts=True))})
    return np.flatnonzero(reason < 0), counts, not_applied


