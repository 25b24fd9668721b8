"""Shards on disk (or any fsspec URL): parquet writing, atomic placement, completion markers."""
