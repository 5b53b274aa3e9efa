"""Deterministic, group-aware, source-stratified train/validation/test assignment with a frozen held-out set.

- Groups: rows linked by a conversation, a same-question cluster or near-duplicate user turns (any chain of
  them) form one group, and a group never straddles splits: near-duplicates cannot leak from train to test.
- Frozen: a `registry` (example_id -> split) of the previous versions is honoured first. A group holding a
  registered member takes the most held-out split among its members (test > validation > train), so a test
  example never moves into train, whatever the new data or ratios; a train example may move to held-out
  when a new row ties it to a held-out group (that is the safe direction).
- Stratified: new groups fill, per source (the group's highest-priority source), the shortfall of each split
  against `ratios` of that source's rows, in order of a stable hash of the group key (blake2b, not polars'
  version-dependent `hash`). With no registry (the first version) that is an exact stratified split.
"""

import hashlib
from collections.abc import Sequence

import numpy as np
import polars as pl

from ftdata_assets.schema import SPLITS
from ftdata_assets.transforms.dedup import DEFAULT_SOURCE_PRIORITY, connected_components, source_rank

HELD_OUT_RANK = {"test": 0, "validation": 1, "train": 2}
"""Lower = more held out: when a group's registered members disagree, the most held-out split wins."""

REGISTRY_SCHEMA = pl.Schema({"example_id": pl.String, "split": pl.String})


def group_bucket(group_keys: pl.Series, seed: str) -> pl.Series:
    """A number in [0, 1) per row, from blake2b(seed, group key): stable across machines and polars versions.

    The digest is computed in Python once per *unique* group key (~1 s per million keys), then joined back.
    """
    unique = group_keys.unique(maintain_order=True)
    scale = float(1 << 64)
    buckets = [
        int.from_bytes(hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=8).digest(), "big") / scale
        for key in unique.to_list()
    ]
    lookup = pl.DataFrame({"key": unique, "bucket": pl.Series(buckets, dtype=pl.Float64)})
    return (
        pl.DataFrame({"key": group_keys}).join(lookup, on="key", how="left", maintain_order="left").get_column("bucket")
    )


def split_groups(example_ids: pl.Series, links: Sequence[pl.Series]) -> pl.Series:
    """The group key per row: the smallest example id among all rows linked to it, transitively.

    `links` are label columns (conversation id, same-question cluster, near-duplicate component of the user
    turns, ...); two rows with the same non-null label in any of them are linked. Rows with the same example
    id are always linked (exact copies)."""
    n = len(example_ids)
    rows = pl.DataFrame({"row": np.arange(n, dtype=np.int64)})
    lo_parts, hi_parts = [], []
    for label in [example_ids, *links]:
        linked = rows.with_columns(label=label.alias("label")).filter(pl.col("label").is_not_null())
        first = linked.with_columns(first=pl.col("row").min().over("label")).filter(pl.col("row") != pl.col("first"))
        lo_parts.append(first.get_column("first").to_numpy())
        hi_parts.append(first.get_column("row").to_numpy())
    component = connected_components(
        n, np.concatenate(lo_parts).astype(np.int64), np.concatenate(hi_parts).astype(np.int64)
    )
    return (
        pl.DataFrame({"example_id": example_ids, "component": component})
        .select(pl.col("example_id").min().over("component"))
        .to_series()
        .alias("split_group")
    )


def check_ratios(ratios: dict[str, float]) -> None:
    missing = set(SPLITS) - set(ratios)
    if missing or any(ratios[s] < 0 for s in SPLITS) or abs(sum(ratios[s] for s in SPLITS) - 1) > 1e-9:
        raise ValueError(f"split ratios must give {list(SPLITS)} non-negative shares summing to 1, got {ratios}")


def assign_splits(
    examples: pl.DataFrame,
    ratios: dict[str, float],
    seed: str,
    *,
    groups: pl.Series | None = None,
    registry: pl.DataFrame | None = None,
    priority: Sequence[str] = DEFAULT_SOURCE_PRIORITY,
) -> pl.DataFrame:
    """`examples` (needs example_id, source; conversation_id if `groups` is not given) with `split`,
    `split_group` and `split_origin` (`frozen`: decided by the registry, `new`: by the quotas).

    `groups` defaults to `split_groups` over the conversation id. `registry` holds earlier assignments."""
    check_ratios(ratios)
    if groups is None:
        groups = split_groups(examples.get_column("example_id"), [examples.get_column("conversation_id")])
    registry = registry if registry is not None else pl.DataFrame(schema=REGISTRY_SCHEMA)
    rows = examples.select("example_id", "source").with_columns(groups.alias("split_group"))
    registered = rows.join(
        registry.select("example_id", pl.col("split").alias("registered")).unique("example_id"),
        on="example_id",
        how="left",
        maintain_order="left",
    ).with_columns(
        registered_rank=pl.col("registered").replace_strict(HELD_OUT_RANK, default=None, return_dtype=pl.Int64),
        source_rank=source_rank(priority),
    )
    per_group = registered.group_by("split_group").agg(
        size=pl.len(),
        frozen_rank=pl.col("registered_rank").min(),
        group_source=pl.col("source").sort_by("source_rank", "example_id").first(),
    )
    rank_to_split = {rank: split for split, rank in HELD_OUT_RANK.items()}
    frozen = per_group.filter(pl.col("frozen_rank").is_not_null()).with_columns(
        split=pl.col("frozen_rank").replace_strict(rank_to_split, return_dtype=pl.String)
    )
    fresh = per_group.filter(pl.col("frozen_rank").is_null())
    fresh = fresh.with_columns(bucket=group_bucket(fresh.get_column("split_group"), seed))
    shortfall = _shortfall(per_group, frozen, ratios)
    fresh = (
        fresh.join(shortfall, on="group_source", how="left")
        .sort("group_source", "bucket", "split_group")
        .with_columns(before=(pl.col("size").cum_sum() - pl.col("size")).over("group_source"))
        .with_columns(
            split=pl.when(pl.col("before") < pl.col("need_test"))
            .then(pl.lit("test"))
            .when(pl.col("before") < pl.col("need_test") + pl.col("need_validation"))
            .then(pl.lit("validation"))
            .otherwise(pl.lit("train"))
        )
    )
    decided = pl.concat(
        [
            frozen.select("split_group", "split", split_origin=pl.lit("frozen")),
            fresh.select("split_group", "split", split_origin=pl.lit("new")),
        ]
    )
    assigned = rows.join(decided, on="split_group", how="left", maintain_order="left")
    return examples.with_columns(assigned.select("split", "split_group", "split_origin"))


def _shortfall(per_group: pl.DataFrame, frozen: pl.DataFrame, ratios: dict[str, float]) -> pl.DataFrame:
    """Per source: how many more rows test and validation need to reach their ratio of the source's rows."""
    totals = per_group.group_by("group_source").agg(total=pl.col("size").sum())
    have = frozen.group_by("group_source").agg(
        have_test=pl.col("size").filter(pl.col("split") == "test").sum(),
        have_validation=pl.col("size").filter(pl.col("split") == "validation").sum(),
    )
    return (
        totals.join(have, on="group_source", how="left")
        .fill_null(0)
        .select(
            "group_source",
            need_test=(pl.col("total") * ratios["test"]).round().cast(pl.Int64) - pl.col("have_test"),
            need_validation=(pl.col("total") * ratios["validation"]).round().cast(pl.Int64) - pl.col("have_validation"),
        )
        .with_columns(pl.col("need_test", "need_validation").clip(lower_bound=0))
    )


def updated_registry(registry: pl.DataFrame | None, assigned: pl.DataFrame) -> pl.DataFrame:
    """The registry for the next version: this version's assignments, plus every earlier entry for an example
    not in this version (so an example that comes back later returns to its split). Sorted: stable bytes."""
    current = assigned.select("example_id", "split").unique("example_id", keep="first")
    if registry is None or registry.is_empty():
        return current.sort("example_id")
    return pl.concat([current, registry.join(current, on="example_id", how="anti").select(current.columns)]).sort(
        "example_id"
    )
