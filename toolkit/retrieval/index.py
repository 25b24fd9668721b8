"""Exact cosine nearest neighbours over a pool held as float16 blocks, with per-query exclusions.

Why exact and chunked rather than an approximate index (FAISS, HNSW): the pool is at most a few
million rows, the queries (an evaluation set's fakes) a few thousand, and an exact search is
deterministic, needs no extra package and no tuning; its cost is one matrix product per block.
Memory: the pool is `N x D` float16, L2-normalised (1M x 768 = 1.5 GB; with a 768-d caption embedding
concatenated, 3 GB); a search holds one `query_block x block` float32 score tile at a time
(1024 x 65536 = 256 MB) plus boolean exclusion masks of the same shape. Measured speed is in
docs/fakeinversion.md.

Exclusions are per query and per candidate integer keys (sha256 of the image bytes, pair_id, origin
factorised to integers once): a candidate sharing any key with the query scores -inf. So the fake's
own source real (same pair_id or origin) and byte-identical copies (same sha256, of the fake or of
its source real) are never returned, wherever in the pool they sit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


class KeyCodes:
    """Strings -> integers, shared between pool and queries; a string never seen codes as -1 (no match)."""

    def __init__(self):
        self.codes: dict = {}

    def fit(self, values) -> np.ndarray:
        return np.array([self.codes.setdefault(v, len(self.codes)) if v is not None else -1 for v in values],
                        dtype=np.int64)

    def lookup(self, values) -> np.ndarray:
        return np.array([self.codes.get(v, -1) if v is not None else -1 for v in values], dtype=np.int64)


@dataclass
class Pool:
    vectors: np.ndarray  # N x D float16, rows L2-normalised (or scaled parts of normalised vectors)
    keys: np.ndarray  # N x K int64 exclusion keys (e.g. sha256, pair_id, origin codes); -1 matches nothing

    @classmethod
    def build(cls, vectors: np.ndarray, keys: np.ndarray) -> "Pool":
        return cls(np.ascontiguousarray(vectors, dtype=np.float16), np.asarray(keys, dtype=np.int64).reshape(len(vectors), -1))

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def nbytes(self) -> int:
        return int(self.vectors.nbytes + self.keys.nbytes)


def search(pool: Pool, queries: np.ndarray, query_keys: np.ndarray, k: int = 1, block: int = 65536,
           query_block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Top-k pool rows per query by dot product (cosine for normalised vectors), exclusions applied.

    `query_keys` is Q x K' int64: a candidate is excluded when any of its keys equals any of the
    query's keys (-1 never matches). Returns (indices Q x k int64, scores Q x k float32), best first,
    ties broken by the lower pool index (deterministic); -1 / -inf where fewer than k candidates remain."""
    q = np.asarray(queries, dtype=np.float32)
    qk = np.asarray(query_keys, dtype=np.int64).reshape(len(q), -1)
    n_q = len(q)
    best_i = np.full((n_q, k), -1, dtype=np.int64)
    best_s = np.full((n_q, k), -np.inf, dtype=np.float32)
    for qs in range(0, n_q, query_block):
        qe = min(n_q, qs + query_block)
        bi, bs = best_i[qs:qe], best_s[qs:qe]
        for cs in range(0, len(pool), block):
            ce = min(len(pool), cs + block)
            scores = q[qs:qe] @ pool.vectors[cs:ce].astype(np.float32).T
            ck = pool.keys[cs:ce]
            for a in range(qk.shape[1]):
                qa = qk[qs:qe, a][:, None]
                for b in range(ck.shape[1]):
                    scores[(qa == ck[None, :, b]) & (qa >= 0)] = -np.inf
            part = _top(scores, min(k, ce - cs))
            cand_i = np.concatenate([bi, part + cs], axis=1)
            cand_s = np.concatenate([bs, np.take_along_axis(scores, part, axis=1)], axis=1)
            # order: score descending, then pool index ascending (-1 placeholders last)
            idx_key = np.where(cand_i < 0, np.iinfo(np.int64).max, cand_i)
            order = np.lexsort((idx_key, -cand_s), axis=1)[:, :k]
            bi = np.take_along_axis(cand_i, order, axis=1)
            bs = np.take_along_axis(cand_s, order, axis=1)
        best_i[qs:qe], best_s[qs:qe] = bi, bs
    best_i[~np.isfinite(best_s)] = -1
    return best_i, best_s


def _top(scores: np.ndarray, kk: int) -> np.ndarray:
    """Column indices of the kk best scores per row; among equal scores at the cut, the lowest index
    (argpartition alone picks any of them; rows with such a tie, rare, are fully sorted)."""
    n = scores.shape[1]
    if kk >= n:
        return np.tile(np.arange(n), (len(scores), 1))
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    cut = np.take_along_axis(scores, part, axis=1).min(axis=1)
    picked_at_cut = (np.take_along_axis(scores, part, axis=1) == cut[:, None]).sum(axis=1)
    tied = np.flatnonzero((scores == cut[:, None]).sum(axis=1) > picked_at_cut)
    for r in tied:
        part[r] = np.argsort(-scores[r], kind="stable")[:kk]
    return part
