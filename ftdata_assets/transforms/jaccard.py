"""Exact Jaccard similarity of the word-shingle sets of pairs of normalized texts (dedup's borderline check).

Pure numpy/scipy; never imports Dagster. `pair_jaccard` is what `dedup.exact_jaccard` runs.

Each text's distinct shingles are one row of a 0/1 CSR matrix (columns: the top `hash_bits` bits of the 64-bit
shingle hashes, sorted within a row). Per batch of pairs, the rows of both sides are gathered by scipy's C row
indexing and intersected by its sorted-row merge (the elementwise product of two canonical 0/1 rows): linear in
the shingles, in C, batches side by side on `dedup._worker_threads` (scipy's sparse routines release the GIL).
This replaced a polars list `gather` + `to_arrow` per batch (same merge after it), which was most of the time on
corpora with many borderline pairs.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.sparse import csr_array

from ftdata_assets.transforms.dedup import _chunked_shingle_hashes, _starts_of_runs, _worker_threads, sorted_unique


def pair_jaccard(
    texts: pl.Series, shingle_size: int, lo: np.ndarray, hi: np.ndarray, *, batch: int, hash_bits: int
) -> np.ndarray:
    """Jaccard similarity of the shingle sets of texts[lo[i]] and texts[hi[i]] per pair (1.0 when both are
    empty), shingles compared by the top `hash_bits` bits of their hashes. A batch holds about `batch`
    shingles of both sides (bounds memory)."""
    lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
    out = np.ones(len(lo), dtype=np.float64)
    if len(lo) == 0:
        return out
    nodes = sorted_unique(np.concatenate((lo, hi)))
    if len(nodes) >= 1 << (64 - hash_bits):  # more texts than the sort key can number: halve the pairs
        half = len(lo) // 2
        out[:half] = pair_jaccard(texts, shingle_size, lo[:half], hi[:half], batch=batch, hash_bits=hash_bits)
        out[half:] = pair_jaccard(texts, shingle_size, lo[half:], hi[half:], batch=batch, hash_bits=hash_bits)
        return out
    rows = _shingle_rows(texts.gather(nodes), shingle_size, hash_bits)
    size = np.diff(rows.indptr)
    a, b = np.searchsorted(nodes, lo), np.searchsorted(nodes, hi)
    bounds = _starts_of_runs(np.cumsum(size[a] + size[b]) // batch).tolist()  # ascending: runs of pairs

    def run(pairs: tuple[int, int]) -> None:
        """Batches write disjoint slices of `out`, so they run side by side (scipy releases the GIL)."""
        first, last = pairs
        inter = _shared(rows, a[first:last], b[first:last])
        union = size[a[first:last]] + size[b[first:last]] - inter
        out[first:last] = np.where(union > 0, inter / np.maximum(union, 1), 1.0)

    batches = list(zip(bounds, [*bounds[1:], len(lo)], strict=True))
    if len(batches) > 1:
        list(_worker_threads().map(run, batches))
    else:
        run(batches[0])
    return out


def _shingle_rows(texts: pl.Series, shingle_size: int, hash_bits: int) -> csr_array:
    """The 0/1 CSR matrix of the texts' distinct shingles (top `hash_bits` bits), one row per text, columns
    sorted within a row (canonical by construction). Fewer than 2^(64 - hash_bits) texts."""
    hashes, owner = _chunked_shingle_hashes(texts, shingle_size)
    keys = sorted_unique((owner.astype(np.uint64) << np.uint64(hash_bits)) | (hashes >> np.uint64(64 - hash_bits)))
    owner = (keys >> np.uint64(hash_bits)).astype(np.int64)
    columns = (keys & np.uint64((1 << hash_bits) - 1)).astype(np.int64)
    indptr = np.searchsorted(owner, np.arange(texts.len() + 1))
    rows = csr_array((np.ones(len(columns), dtype=np.int8), columns, indptr), shape=(texts.len(), 1 << hash_bits))
    rows.has_canonical_format = True
    return rows


def _shared(rows: csr_array, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shingles shared by rows a[i] and b[i]: the stored entries of their elementwise product (1 * 1 per shared
    column). Row gathers keep each row's sorted columns, so both sides stay canonical and scipy merges them
    without sorting."""
    left, right = rows[a], rows[b]
    left.has_canonical_format = right.has_canonical_format = True
    return np.diff(left.multiply(right).indptr)
