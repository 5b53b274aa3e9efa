"""Combine the raw layers, and turn rows a later layer lets go into rejects."""

import polars as pl

from ftdata_assets.schema import RAW_SCHEMA, REJECT_SCHEMA


def combine_raw(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate raw frames (every source, every partition) in the order given.

    A partition stored before ingest tagged its turn repairs has no `tags` column: its examples were not
    repaired, so they get [] (rejects null), and an unchanged partition need not be ingested again; one
    stored before ingest recorded each row's format has no `format`/`extras` columns: they are null.
    """
    if not frames:
        return pl.DataFrame(schema=RAW_SCHEMA)
    untagged = pl.when(pl.col("reason").is_null()).then(pl.lit([], pl.List(pl.String))).alias("tags")
    unformatted = [pl.lit(None, pl.String).alias(c) for c in ("format", "extras")]
    frames = [f if "tags" in f.columns else f.with_columns(untagged) for f in frames]
    frames = [(f if "format" in f.columns else f.with_columns(unformatted)).select(list(RAW_SCHEMA)) for f in frames]
    return pl.concat(frames, how="vertical")


def rejects_from_examples(dropped: pl.DataFrame, layer: str, reason: pl.Expr, detail: pl.Expr) -> pl.DataFrame:
    """Rows a later layer let go, in the rejects schema; `original` is the example as JSON at that layer."""
    return dropped.select(
        layer=pl.lit(layer),
        reason=reason,
        detail=detail,
        source="source",
        source_file="source_file",
        source_line="source_line",
        partition="partition",
        example_id="example_id",
        original=pl.struct("messages").struct.json_encode(),
    ).select(list(REJECT_SCHEMA))
