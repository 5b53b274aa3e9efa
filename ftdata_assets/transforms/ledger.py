"""The row ledger: every input row is in a curated split, in rejects under a reason, or held for review."""

from collections.abc import Mapping

import polars as pl

from ftdata_assets.schema import SPLITS


def build_ledger(rows_in: int, split_counts: Mapping[str, int], rejects: pl.DataFrame, held_for_review: int) -> dict:
    """The ledger as stored in `data/metrics/ledger.json` (keys in a fixed order, reasons sorted)."""
    by_reason = rejects.group_by("reason").len().sort("reason")
    return {
        "rows_in": int(rows_in),
        "curated": {split: int(split_counts.get(split, 0)) for split in SPLITS},
        "rejected": {row["reason"]: int(row["len"]) for row in by_reason.iter_rows(named=True)},
        "held_for_review": int(held_for_review),
    }


def ledger_imbalance(ledger: Mapping) -> int:
    """rows_in minus every row accounted for; 0 means nothing was lost or counted twice."""
    accounted = sum(ledger["curated"].values()) + sum(ledger["rejected"].values()) + ledger["held_for_review"]
    return ledger["rows_in"] - accounted
