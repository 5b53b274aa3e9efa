"""Deterministic, group-aware train/validation/test assignment.

A row's split depends only on its group key and the split seed, never on the other rows, so an example keeps
its split from one dataset version to the next and every member of a group (a conversation) lands together.
"""

import hashlib

import polars as pl

from ftdata_assets.schema import SPLITS


def group_bucket(group_keys: pl.Series, seed: str) -> pl.Series:
    """A number in [0, 1) per row, from blake2b(seed, group key): stable across machines and polars versions.

    polars' own `hash` is not stable across versions, so the digest is computed in Python, once per *unique*
    group key (cheap: ~1 s per million keys), then joined back.
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


def assign_splits(examples: pl.DataFrame, ratios: dict[str, float], seed: str) -> pl.DataFrame:
    """Add a `split` column. The group key is the conversation id where logs have one, else the example id.

    Buckets are laid out test | validation | train from 0 upwards, so growing the train ratio never moves a
    test example into train.
    """
    missing = set(SPLITS) - set(ratios)
    if missing or any(ratios[s] < 0 for s in SPLITS) or abs(sum(ratios[s] for s in SPLITS) - 1) > 1e-9:
        raise ValueError(f"split ratios must give {list(SPLITS)} non-negative shares summing to 1, got {ratios}")
    # Exact copies of one example in different conversations share the smallest of their group keys, so a
    # duplicate can never sit in train while its twin is in test. (Near-duplicates: the dedup layer's clusters.)
    group_key = examples.select(pl.coalesce("conversation_id", "example_id").min().over("example_id")).to_series()
    bucket = group_bucket(group_key, seed)
    test_cut = ratios["test"]
    validation_cut = test_cut + ratios["validation"]
    return examples.with_columns(
        pl.when(bucket < test_cut)
        .then(pl.lit("test"))
        .when(bucket < validation_cut)
        .then(pl.lit("validation"))
        .otherwise(pl.lit("train"))
        .alias("split")
    )
