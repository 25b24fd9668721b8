"""Reals from a LAION-style URL list, downloaded with img2dataset: `reals: {kind: laion, ...}`.

One concern per module: `config` (the recipe section and the build's file names), `url_table` (reading
the URL list), `filters` (what is dropped before download, counted), `fetch` (the guard around
img2dataset's downloader: http(s) only, no private addresses, a deadline and a byte cap per image),
`outcomes` (download errors -> drop reasons; downloaded bytes described) and `source` (the `Source`:
list, download, index, read; its card text and licence). The full story is `source`'s docstring.
"""

from toolkit.sources.laion.config import LaionConfig
from toolkit.sources.laion.filters import FILTER_REASONS, filter_urls
from toolkit.sources.laion.outcomes import describe_bytes, download_reason, sniff
from toolkit.sources.laion.source import LAION_LICENSE, LaionSource
from toolkit.sources.laion.url_table import read_url_table

__all__ = ["LaionConfig", "LaionSource", "LAION_LICENSE", "FILTER_REASONS", "filter_urls", "describe_bytes",
           "download_reason", "sniff", "read_url_table"]
