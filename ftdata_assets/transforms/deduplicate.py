"""Apply exact, then near, deduplication to the examples frame and pick one winner per cluster.

Winners follow source priority (expert > feedback > production_log > synthetic by default), then quality
score, then the lowest example id, then file and line: the same inputs always keep the same rows.
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ftdata_assets.schema import ReasonCode
from ftdata_assets.transforms.dedup import (
    MAX_BUCKET_PAIRS,
    NearClusters,
    PairDecisions,
    exact_and_near_clusters_reusing,
    pair_decisions_key,
    pick_cluster_winners,
    source_rank,
)
from ftdata_assets.transforms.prompts import agreeing_with, cluster_conflicts, prompt_clusters, semantic_prompt_clusters
from ftdata_assets.transforms.semantic_dedup import embed_texts
from ftdata_assets.transforms.settings import DedupConfig

Embedder = Callable[[list[str]], np.ndarray]


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


def role_text(messages: pl.Expr, role: str) -> pl.Expr:
    """The contents of one role's turns joined by newlines (e.g. all user turns: the prompt)."""
    turn = pl.element().struct
    return (
        messages.list.eval(pl.when(turn.field("role") == role).then(turn.field("content")))
        .list.drop_nulls()
        .list.join("\n")
    )


PREVIOUS_RANK = "__ftdata_previous_rank"
"""0 for a row of the previous dataset version (it always wins), 1 for a new row."""


def _winners(frame: pl.DataFrame, cluster_col: str, priority: Sequence[str]) -> pl.DataFrame:
    return pick_cluster_winners(
        frame,
        cluster_col,
        [PREVIOUS_RANK, source_rank(priority), "quality_score"],
        descending=[False, False, True],
        tiebreak_cols=("source_file", "source_line"),
    )


def _with_previous(examples: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Mark rows of the previous version (by example id) and add its rows missing from the input as references."""
    if previous is None or previous.is_empty():
        return examples.with_columns(pl.lit(1, pl.Int8).alias(PREVIOUS_RANK), pl.lit(False).alias("__reference"))
    old_ids = previous.get_column("example_id").unique()
    marked = examples.with_columns(
        pl.when(pl.col("example_id").is_in(old_ids.implode())).then(0).otherwise(1).cast(pl.Int8).alias(PREVIOUS_RANK),
        pl.lit(False).alias("__reference"),
    )
    references = (
        previous.filter(~pl.col("example_id").is_in(examples.get_column("example_id").implode()))
        .select([c for c in previous.columns if c in examples.columns])
        .unique("example_id", keep="first", maintain_order=True)
        .with_columns(pl.lit(0, pl.Int8).alias(PREVIOUS_RANK), pl.lit(True).alias("__reference"))
    )
    return pl.concat([marked, references], how="diagonal_relaxed")


def conversation_pairs_key(config: DedupConfig) -> str:
    """The `pair_decisions_key` of the conversation dedup under `config`: pair decisions stored under another
    key are not reused."""
    return pair_decisions_key(
        config.near_threshold,
        num_perm=config.num_perm,
        shingle_size=config.shingle_size,
        seed=config.seed,
        max_bucket_pairs=MAX_BUCKET_PAIRS,
    )


def _conversation_dedup(
    frame: pl.DataFrame, config: DedupConfig, priority: Sequence[str], known: PairDecisions | None
) -> tuple[pl.DataFrame, NearClusters]:
    texts = frame.select(conversation_text(pl.col("messages"))).to_series()
    # the survivors (one row per exact cluster) hold every distinct text, so their near ids are those of all rows
    clusters = exact_and_near_clusters_reusing(
        texts,
        config.near_threshold,
        known=known,
        num_perm=config.num_perm,
        shingle_size=config.shingle_size,
        seed=config.seed,
        max_bucket_pairs=MAX_BUCKET_PAIRS,
    )
    exact_ids, near_ids = clusters.exact, clusters.near
    exact = _winners(frame.with_columns(exact_cluster_id=exact_ids), "exact_cluster_id", priority).rename(
        {"duplicate_of": "exact_duplicate_of"}
    )
    survives = exact.get_column("exact_duplicate_of").is_null()
    near = _winners(exact.filter(survives).with_columns(cluster_id=near_ids.filter(survives)), "cluster_id", priority)
    near = near.select("exact_cluster_id", "cluster_id", pl.col("duplicate_of").alias("near_duplicate_of"))
    decided = (
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
    return decided, clusters


def _prompt_dedup(
    frame: pl.DataFrame, config: DedupConfig, priority: Sequence[str], embed: Embedder | None = None
) -> pl.DataFrame:
    """Among rows still kept: `prompt_cluster`, `contradiction` (conflict kinds of the cluster) and, for
    non-contradicting clusters, `duplicate_prompt` drops of rows whose answer agrees with the cluster winner."""
    kept = frame.filter(pl.col("duplicate_of").is_null())
    prompts = kept.select(role_text(pl.col("messages"), "user")).to_series()
    answers = kept.select(role_text(pl.col("messages"), "assistant")).to_series()
    refusals = (
        kept.select(pl.col("tags").list.contains("refusal").fill_null(False)).to_series()
        if "tags" in kept.columns
        else pl.Series([False] * kept.height)
    )
    semantic = config.semantic
    if semantic is not None:
        clusters = semantic_prompt_clusters(
            prompts,
            float(semantic.threshold),  # type: ignore[arg-type]  # SemanticConfig fills in the model's own
            embed or functools.partial(embed_texts, model_name=semantic.model),
        )
    else:
        clusters = prompt_clusters(prompts, config.prompt_threshold, num_perm=config.num_perm, seed=config.seed)
    conflicts = cluster_conflicts(clusters, prompts, answers, refusals, kinds=config.contradiction_kinds).to_series()
    scored = kept.select("example_id").with_columns(
        prompt_cluster=clusters, contradiction=conflicts, __row=pl.int_range(pl.len())
    )
    candidates = _winners(
        kept.select("example_id", PREVIOUS_RANK, "source", "quality_score", "source_file", "source_line").with_columns(
            __cluster=pl.when(conflicts.is_null()).then(clusters)
        ),
        "__cluster",
        priority,
    ).get_column("duplicate_of")
    prompt_duplicate_of = _agreeing_winners(kept.get_column("example_id"), answers, candidates, config.answer_agreement)
    prompt_level = scored.select("__row", "prompt_cluster", "contradiction").with_columns(
        prompt_duplicate_of=prompt_duplicate_of
    )
    final_winner = dict(
        prompt_level.select(kept.get_column("example_id"), "prompt_duplicate_of").drop_nulls().iter_rows()
    )
    kept_rows = frame.with_row_index("__frame_row").filter(pl.col("duplicate_of").is_null()).get_column("__frame_row")
    prompt_level = prompt_level.with_columns(__frame_row=kept_rows)
    return (
        frame.with_row_index("__frame_row")
        .join(prompt_level.drop("__row"), on="__frame_row", how="left", maintain_order="left")
        .with_columns(
            # a conversation-level loser whose winner then lost on its prompt points at the row finally kept
            duplicate_of=pl.coalesce(
                pl.col("duplicate_of").replace_strict(final_winner, default=pl.col("duplicate_of")),
                "prompt_duplicate_of",
            ),
            dedup_reason=pl.when(pl.col("prompt_duplicate_of").is_not_null())
            .then(pl.lit(ReasonCode.DUPLICATE_PROMPT))
            .otherwise(pl.col("dedup_reason")),
        )
        .drop("__frame_row", "prompt_duplicate_of")
    )


def _agreeing_winners(example_ids: pl.Series, answers: pl.Series, winners: pl.Series, agreement: float) -> pl.Series:
    """Per row, its cluster winner's example id if their answers agree (`answer_agreement`), else null.

    Only rows that have a winner are compared (the others are kept anyway): a regex pass over every answer was a
    measurable share of the prompt step."""
    answer_by_id = dict(zip(example_ids.to_list(), answers.to_list(), strict=True))
    candidates = winners.to_list()
    has_winner = [i for i, w in enumerate(candidates) if w is not None]
    answer_list = answers.to_list()
    agree = agreeing_with(
        [answer_by_id.get(candidates[i]) or "" for i in has_winner],
        [answer_list[i] for i in has_winner],
        agreement,
    )
    result: list[str | None] = [None] * len(candidates)
    for i, ok in zip(has_winner, agree, strict=True):
        if ok:
            result[i] = candidates[i]
    return pl.Series(result, dtype=pl.String)


def deduplicate(
    examples: pl.DataFrame,
    config: DedupConfig | Mapping[str, Any],
    previous: pl.DataFrame | None = None,
    embed: Embedder | None = None,
) -> pl.DataFrame:
    """`deduplicate_reusing` without pair decisions of an earlier run: the deduplicated frame."""
    return deduplicate_reusing(examples, config, previous, embed).frame


@dataclass(frozen=True)
class Deduplicated:
    """The deduplicated frame and the conversation dedup's pair decisions (every borderline candidate pair of
    this run, for the next run: `deduplicate_reusing(known=...)`), with how many were reused and settled here."""

    frame: pl.DataFrame
    pairs: PairDecisions
    pairs_reused: int
    pairs_verified: int


def deduplicate_reusing(
    examples: pl.DataFrame,
    config: DedupConfig | Mapping[str, Any],
    previous: pl.DataFrame | None = None,
    embed: Embedder | None = None,
    *,
    known: PairDecisions | None = None,
) -> Deduplicated:
    """Add `cluster_id` (near cluster of the conversation), `duplicate_of` (the kept row's example id, null if
    kept), `dedup_reason` (exact_duplicate / near_duplicate / duplicate_prompt / null), `prompt_cluster`
    (same-question cluster, see `prompts`) and `contradiction` (conflict kinds of a same-question cluster
    whose answers disagree: those rows are all kept here and sent to review).

    Exact copies are settled first, then near-duplicate conversations, then same-question rows with agreeing
    answers. With `previous` (the previous dataset version's rows), its rows always win their clusters and are
    never dropped: only new rows are removed, also when they duplicate a previous row no longer in the input.
    With `dedup.semantic` ({model, threshold}; needs the `semantic` extra) same-question clusters come from
    sentence embeddings of the user turns instead of content words; `embed` overrides the model (tests).
    `config` is the `dedup` section (a mapping is read with `DedupConfig.from_params`: unknown keys fail).
    `known`: pair decisions of an earlier run (its `pairs`); a borderline pair of conversations found there is not
    verified exactly again. They only save time: the frame is the same with or without them (and decisions made under
    other settings, another `conversation_pairs_key`, are ignored).
    """
    if not isinstance(config, DedupConfig):
        config = DedupConfig.from_params(config)
    priority = config.source_priority
    frame = _with_previous(examples, previous)
    frame, clusters = _conversation_dedup(frame, config, priority, known)
    frame = _prompt_dedup(frame, config, priority, embed)
    is_old = pl.col(PREVIOUS_RANK) == 0
    deduplicated = (
        frame.with_columns(
            duplicate_of=pl.when(is_old).then(None).otherwise(pl.col("duplicate_of")),
            dedup_reason=pl.when(is_old).then(None).otherwise(pl.col("dedup_reason")),
        )
        .filter(~pl.col("__reference"))
        .drop(PREVIOUS_RANK, "__reference")
    )
    return Deduplicated(deduplicated, clusters.pairs, clusters.reused, clusters.verified)
