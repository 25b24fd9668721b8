"""The `reals: {kind: laion}` section and the constants of a LAION build's files (see the package docstring)."""

from __future__ import annotations



import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING



DOWNLOAD_DIR = "_reals/laion"  # under the build output
STATS_FILE = "meta/laion/stats.json"
I2D_DIR = "img2dataset"
INDEX_DIR = "index"
IMAGE_EXT = "jpg"  # img2dataset's member extension (encode_format); the real format is sniffed
INDEX_COL = "toolkit_row"  # row number in the URL list, carried through img2dataset
OOM_SHARD_COUNT = 5  # img2dataset's shard-name width: 00000.tar

# auto-detected columns (first present wins) when width_col/height_col are null
WIDTH_COLS = ("original_width", "width", "WIDTH")
HEIGHT_COLS = ("original_height", "height", "HEIGHT")
PUNSAFE_COLS = ("punsafe", "PUNSAFE")
PWATERMARK_COLS = ("pwatermark", "PWATERMARK")
FORMATS = {".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass
class LaionConfig:
    # how to download, not what: changing these on a re-run resumes the same build. deadline and
    # max_bytes are limits on what one URL may cost (time, memory/disk), like timeout; what is kept is
    # decided by the filters below and by align (image.max_pixels), so they stay out of the recipe hash
    runtime_fields = ("processes", "threads", "timeout", "retries", "deadline", "max_bytes", "allow_private_addresses")

    kind: str = "laion"
    url_list: str = MISSING  # parquet / csv / tsv / jsonl file, folder or glob; any fsspec URL
    input_format: Optional[str] = None  # parquet | csv | tsv | jsonl; null: from the file extension
    url_col: str = "url"  # old LAION dumps: URL
    caption_col: Optional[str] = "caption"  # old dumps: TEXT; null: no captions
    width_col: Optional[str] = None  # null: the first of original_width, width, WIDTH present
    height_col: Optional[str] = None  # null: the first of original_height, height, HEIGHT present
    count: Optional[int] = None  # use only the first N rows of the list
    # filters before download (each drop is counted under its reason)
    min_width: Optional[int] = None  # listed width below this is dropped; null: image.min_size
    min_height: Optional[int] = None  # null: image.min_size
    max_aspect_ratio: Optional[float] = None  # long side / short side; null: no limit
    max_punsafe: Optional[float] = None  # when the list has a punsafe column; null: no limit
    max_pwatermark: Optional[float] = None  # when the list has a pwatermark column; null: no limit
    # img2dataset concurrency and limits
    processes: Optional[int] = None  # download processes; null: one per core, at most 8
    threads: int = 32  # download threads per process
    timeout: float = 10.0  # seconds per connection / read
    deadline: float = 60.0  # seconds per image in all (connect + headers + body), per attempt
    max_bytes: int = 256 * 1024 ** 2  # bytes per image (256 MiB = image.max_pixels x 3: raw 8-bit RGB)
    # hosts that are not public internet addresses (127.0.0.1, 10/8, 169.254/16, ...) are refused unless
    # this is true: the URL list is third-party data, the recipe is yours (laion/fetch.py)
    allow_private_addresses: bool = False
    retries: int = 0  # extra attempts per failed URL (img2dataset retries every error, 404s too)
    samples_per_shard: int = 10_000  # URLs per img2dataset shard (unit of download resume)
    user_agent_token: Optional[str] = "img2dataset"  # X-Robots-Tag directives for this token are honoured
    disallowed_header_directives: List[str] = field(
        default_factory=lambda: ["noai", "noimageai", "noindex", "noimageindex"])
    storage_options: Dict[str, Any] = field(default_factory=dict)  # for reading url_list

    def __post_init__(self):
        # checked when the recipe is read (one line naming reals.<key>, exit 2), before anything is downloaded
        for name in ("threads", "samples_per_shard", "max_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.processes is not None and self.processes < 1:
            raise ValueError(f"processes: must be at least 1 or null, got {self.processes}")
        if self.retries < 0:
            raise ValueError(f"retries: must be >= 0, got {self.retries}")
        for name in ("timeout", "deadline"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"{name}: must be a finite number of seconds > 0, got {v}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"count: must be >= 0 or null, got {self.count}")


