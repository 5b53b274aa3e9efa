"""Semantic dedup: clustering on hand-built embeddings (no model needed) and the missing-extra error."""

import sys
from itertools import combinations

import numpy as np
import polars as pl
import pytest

from ftdata_assets.transforms.semantic_dedup import (
    EMBEDDING_MODELS,
    SemanticExtraMissingError,
    _load_encoder,
    _similar_pairs,
    _unit_rows,
    embed_texts,
    semantic_duplicate_clusters,
)


def _angles(*degrees: float) -> np.ndarray:
    """Unit vectors in a plane at the given angles: cosine of two rows = cos(angle difference)."""
    radians = np.radians(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(radians), np.sin(radians), np.zeros_like(radians)], axis=1)


def _groups(labels: pl.Series) -> list[list[int]]:
    by_label: dict[str, list[int]] = {}
    for row, label in enumerate(labels.to_list()):
        by_label.setdefault(label, []).append(row)
    return sorted(by_label.values())


def _assert_cliques(embeddings: np.ndarray, labels: pl.Series, threshold: float) -> None:
    unit = _unit_rows(embeddings)
    for group in _groups(labels):
        for a, b in combinations(group, 2):
            assert unit[a] @ unit[b] >= threshold - 1e-6, (a, b, group)


def _clustered_cloud(seed: int, n_centers: int, per_center: int, dims: int = 32, noise: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_centers, dims))
    points = np.repeat(centers, per_center, axis=0) + noise * rng.normal(size=(n_centers * per_center, dims))
    return points[rng.permutation(len(points))]


def test_chain_does_not_merge_the_ends():
    # A~B and B~C (20 degrees apart), A!~C (40 degrees): a star around B would put A and C together
    labels = semantic_duplicate_clusters(_angles(0, 20, 40), threshold=float(np.cos(np.radians(25))))
    assert labels.name == "semantic_cluster_id"
    assert labels.dtype == pl.String
    # B has the highest degree: it anchors; A and C tie on closeness, node order picks A
    assert labels.to_list() == ["1", "1", "2"]


def test_long_chain_splits_into_cliques():
    embeddings = _angles(*range(0, 100, 10))  # each step 10 degrees, threshold 15 degrees
    threshold = float(np.cos(np.radians(15)))
    labels = semantic_duplicate_clusters(embeddings, threshold)
    _assert_cliques(embeddings, labels, threshold)
    # greedy by degree (ends have degree 1), neighbours with the better rank first: pairs 1-2, 3-4, 5-6, 7-8
    assert labels.to_list() == ["0", "1", "1", "3", "3", "5", "5", "7", "7", "9"]


def test_threshold_boundary_is_inclusive():
    embeddings = np.array([[3.0, 4.0, 0.0], [4.0, 3.0, 0.0], [0.0, 0.0, 1.0]])  # cos(row0, row1) = 24/25
    assert semantic_duplicate_clusters(embeddings, 0.96).to_list() == ["0", "0", "2"]
    assert semantic_duplicate_clusters(embeddings, 0.9601).to_list() == ["0", "1", "2"]
    # inputs need not be normalized; scaling a row changes nothing
    scaled = embeddings * np.array([[10.0], [0.001], [7.0]])
    assert semantic_duplicate_clusters(scaled, 0.96).to_list() == ["0", "0", "2"]


def test_identical_vectors_at_threshold_one():
    embeddings = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.1]])
    assert semantic_duplicate_clusters(embeddings, 1.0).to_list() == ["0", "0", "2"]


@pytest.mark.parametrize("block_size", [1, 3, 7, 64, 2048])
def test_blocks_spanning_the_block_size_give_the_same_clusters(block_size):
    embeddings = _clustered_cloud(seed=1, n_centers=12, per_center=5)
    reference = semantic_duplicate_clusters(embeddings, 0.98, block_size=4096)
    labels = semantic_duplicate_clusters(embeddings, 0.98, block_size=block_size)
    assert labels.to_list() == reference.to_list()
    assert labels.n_unique() == 12  # every planted group found, across tile boundaries
    _assert_cliques(embeddings, labels, 0.98)


def test_tiled_pairs_equal_the_full_matrix():
    unit = _unit_rows(_clustered_cloud(seed=2, n_centers=9, per_center=4, noise=0.3))
    full = unit @ unit.T >= 0.9
    expected = {(a, b) for a, b in zip(*np.nonzero(np.triu(full, k=1)), strict=True)}
    for block_size in (1, 5, 8, 100):
        lo, hi = _similar_pairs(unit, 0.9, block_size)
        assert set(zip(lo.tolist(), hi.tolist(), strict=True)) == expected
        assert len(lo) == len(expected)  # each pair once


def test_pair_across_the_first_and_last_block():
    rng = np.random.default_rng(3)
    embeddings = rng.normal(size=(10, 64))
    embeddings[9] = embeddings[0] + 1e-4
    labels = semantic_duplicate_clusters(embeddings, 0.99, block_size=4)
    assert labels[9] == labels[0] == "0"
    assert labels.n_unique() == 9


def test_deterministic_and_row_order_free_with_ids():
    embeddings = _clustered_cloud(seed=4, n_centers=8, per_center=4, noise=0.15)
    ids = [f"id{row:03d}" for row in range(len(embeddings))]
    labels = semantic_duplicate_clusters(embeddings, 0.97, ids=ids)
    again = semantic_duplicate_clusters(embeddings.copy(), 0.97, ids=pl.Series(ids))
    assert labels.to_list() == again.to_list()
    _assert_cliques(embeddings, labels, 0.97)
    assert set(labels.to_list()) <= set(ids)  # a cluster id is the id of one of its rows (the anchor)
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(ids))
        shuffled = semantic_duplicate_clusters(embeddings[order], 0.97, ids=[ids[i] for i in order])
        assert shuffled.to_list() == [labels[int(i)] for i in order]


def test_equal_ids_share_a_cluster_and_singletons_keep_their_id():
    embeddings = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.7, 0.7]])
    labels = semantic_duplicate_clusters(embeddings, 0.99, ids=["b", "c", "b", "a"])
    assert labels.to_list() == ["b", "c", "b", "a"]


def test_zero_rows_are_similar_to_nothing_and_empty_input():
    labels = semantic_duplicate_clusters(np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]), 0.5)
    assert labels.to_list() == ["0", "1", "2"]
    empty = semantic_duplicate_clusters(np.zeros((0, 8)), 0.9)
    assert len(empty) == 0
    assert empty.dtype == pl.String


@pytest.mark.parametrize(
    ("embeddings", "threshold", "kwargs", "message"),
    [
        (np.ones((2, 2)), 0.0, {}, "threshold"),
        (np.ones((2, 2)), 1.5, {}, "threshold"),
        (np.ones(4), 0.9, {}, "2-D"),
        (np.array([[1.0, np.nan]]), 0.9, {}, "NaN"),
        (np.ones((2, 2)), 0.9, {"block_size": 0}, "block_size"),
        (np.ones((2, 2)), 0.9, {"ids": ["a"]}, "ids"),
        (np.ones((2, 2)), 0.9, {"ids": ["a", None]}, "null"),
    ],
)
def test_bad_input_is_rejected(embeddings, threshold, kwargs, message):
    with pytest.raises(ValueError, match=message):
        semantic_duplicate_clusters(embeddings, threshold, **kwargs)


@pytest.mark.parametrize("model_name", sorted(EMBEDDING_MODELS))
def test_missing_extra_names_the_extra(monkeypatch, model_name):
    model = EMBEDDING_MODELS[model_name]
    monkeypatch.setitem(sys.modules, model.module, None)  # import of it fails, installed or not
    _load_encoder.cache_clear()
    with pytest.raises(SemanticExtraMissingError, match=rf"pip install 'ftdata\[{model.extra}\]'") as error:
        embed_texts(["hello"], model_name)
    assert isinstance(error.value, ImportError)


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="unknown embedding model"):
        embed_texts(["hello"], "no-such-model")
