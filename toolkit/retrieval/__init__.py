"""Retrieval-matched evaluation sets (FakeInversion's reverse-image-search protocol, offline).

For every fake of an evaluation set, the nearest real of a pool of candidate reals (other toolkit
builds, e.g. LAION shards) by CLIP image and caption embeddings, excluding exact duplicates and the
fake's own source. One concern per module: `index` (chunked exact cosine search over float16 blocks,
no model), `embed` (CLIP image/text embeddings of a dataset's rows), `match` (the matched set, written
as a dataset `toolkit eval` reads like any build), used by the `toolkit retrieve` command.
"""
