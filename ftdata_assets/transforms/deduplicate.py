"""Apply exact, then near, deduplication to the examples frame and pick one winner per cluster.

Winners follow source priority (expert > feedback > production_log > synthetic by default), then quality
score, then the lowest example id, then file and line: the same inputs always keep the same rows.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ftdata_assets.schema import ReasonCode
from ftdata_assets.transforms.dedup import (
    DEFAULT_SOURCE_PRIORITY,
    exact_duplicate_clusters,
    near_duplicate_clusters,
    pick_cluster_winners,
    source_rank,
)


def conversation_text(messages: pl.Expr) -> pl.Expr:
    """The conversation as one text ("role: content" per turn), the unit exact/near dedup compares.

    System turns are left out: a product's few system prompts are shared by design, and a long one would make
    every pair of short chats under it look like near-duplicates."""
    turn = pl.element().struct
    return (
        messages.list.eval(
            pl.when(turn.field("role") != "system").then(turn.field("role") + pl.lit(": ") + turn.field("content"))
        )
        .list.drop_nulls()
        .list.join("\n")
    )


def _winners(frame: pl.DataFrame, cluster_col: str, priority: Sequence[str]) -> pl.DataFrame:
    return pick_cluster_winners(
        frame,
        cluster_col,
        [source_rank(priority), "quality_score"],
        descending=[False, True],
        tiebreak_cols=("source_file", "source_line"),
    )


def deduplicate(examples: pl.DataFrame, params: Mapping[str, Any]) -> pl.DataFrame:
    """Add `cluster_id` (near cluster), `duplicate_of` (the kept row's example id, null if kept) and
    `dedup_reason` (exact_duplicate / near_duplicate / null). Exact copies are settled first, so a row is
    only a near duplicate if no exact copy of it was kept."""
    priority = tuple(params.get("source_priority") or DEFAULT_SOURCE_PRIORITY)
    texts = examples.select(conversation_text(pl.col("messages"))).to_series()
    exact = _winners(
        examples.with_columns(exact_cluster_id=exact_duplicate_clusters(texts)), "exact_cluster_id", priority
    ).rename({"duplicate_of": "exact_duplicate_of"})

    survivors = exact.filter(pl.col("exact_duplicate_of").is_null())
    near_ids = near_duplicate_clusters(
        survivors.select(conversation_text(pl.col("messages"))).to_series(),
        float(params["near_threshold"]),
        num_perm=int(params.get("num_perm", 128)),
        shingle_size=int(params.get("shingle_size", 5)),
        seed=str(params.get("seed", "ftdata-dedup-v1")),
    )
    near = _winners(survivors.with_columns(cluster_id=near_ids), "cluster_id", priority).select(
        "exact_cluster_id", "cluster_id", pl.col("duplicate_of").alias("near_duplicate_of")
    )
    return (
        exact.join(near, on="exact_cluster_id", how="left", maintain_order="left")
        .with_columns(
            # an exact copy of a row that then lost as a near-duplicate points at the row finally kept
            duplicate_of=pl.coalesce("near_duplicate_of", "exact_duplicate_of"),
            dedup_reason=pl.when(pl.col("exact_duplicate_of").is_not_null())
            .then(pl.lit(ReasonCode.EXACT_DUPLICATE))
            .when(pl.col("near_duplicate_of").is_not_null())
            .then(pl.lit(ReasonCode.NEAR_DUPLICATE)),
        )
        .drop("exact_duplicate_of", "near_duplicate_of")
    )
