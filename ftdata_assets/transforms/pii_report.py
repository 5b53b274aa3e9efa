"""Totals of what `pii.scrub` replaced, and a re-scan of scrubbed text for anything left behind."""

from collections.abc import Sequence

import polars as pl

from ftdata_assets.transforms.pii import ENTITY_TYPES, detect


def pii_totals(scrubbed: pl.DataFrame) -> dict:
    """The DVC metric `data/metrics/pii.json`: findings replaced per type, and rows that had any."""
    counts = scrubbed.get_column("pii_counts").struct.unnest()
    by_type = {t: int(counts.get_column(t).sum()) for t in ENTITY_TYPES}
    rows_with_pii = int((counts.select(pl.sum_horizontal(pl.all())).to_series() > 0).sum())
    return {
        "rows": scrubbed.height,
        "rows_with_pii": rows_with_pii,
        "replaced": sum(by_type.values()),
        "by_type": by_type,
    }


def scrubbed_texts(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text a trainer will see, one per row: message contents, plus feedback's original response."""
    contents = (
        frame.select("example_id", pl.col("messages").list.eval(pl.element().struct.field("content")).alias("text"))
        .explode("text")
        .with_columns(field=pl.lit("messages"))
    )
    parts = [contents]
    if "original_response" in frame.columns:
        parts.append(
            frame.select("example_id", pl.col("original_response").alias("text")).with_columns(
                field=pl.lit("original_response")
            )
        )
    return pl.concat(parts).filter(pl.col("text").is_not_null())


def leftover_findings(frame: pl.DataFrame, allow_list: Sequence[str] = ()) -> pl.DataFrame:
    """`detect` over every scrubbed text; empty means the scrub left nothing (placeholders are not findings)."""
    texts = scrubbed_texts(frame)
    findings = detect(texts.get_column("text"), allow_list=allow_list)
    located = texts.with_row_index("row").select(pl.col("row").cast(pl.UInt32), "example_id", "field")
    return findings.join(located, on="row", how="left")
