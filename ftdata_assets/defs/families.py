"""The input families: each raw source and how it is partitioned (a log day, a synthetic batch, or none).

The row-local layers (scrub, score) are built once per family, partitioned like its raw asset, so a new
partition is processed alone and an unchanged one is never recomputed; the global layers read every
partition of every family, in FAMILIES order (source priority, then partition key).
"""

from dataclasses import dataclass
from typing import Any

import dagster as dg

from ftdata_assets.defs.partitions import production_log_days, synthetic_batches


@dataclass(frozen=True)
class Family:
    """One raw source: `raw_<name>` and its row-local layers (`normalized_<name>`, `scrubbed_<name>`, ...)."""

    name: str
    partitions_def: dg.PartitionsDefinition | None

    @property
    def raw(self) -> str:
        return f"raw_{self.name}"

    @property
    def normalized(self) -> str:
        return f"normalized_{self.name}"

    @property
    def ingest_rejects(self) -> str:
        return f"ingest_rejects_{self.name}"

    @property
    def input_formats(self) -> str:
        return f"input_formats_{self.name}"

    @property
    def scrubbed(self) -> str:
        return f"scrubbed_{self.name}"

    @property
    def verified(self) -> str:
        return f"pii_verified_{self.name}"

    @property
    def scored(self) -> str:
        return f"scored_{self.name}"

    @property
    def partitioned(self) -> bool:
        return self.partitions_def is not None


FAMILIES: tuple[Family, ...] = (
    Family("expert", None),
    Family("feedback", None),
    Family("production_logs", production_log_days),
    Family("synthetic", synthetic_batches),
)
"""Source priority order: expert sets, feedback, then log days and synthetic batches (partition order)."""
PARTITIONED_FAMILIES = tuple(f for f in FAMILIES if f.partitioned)

ALL_PARTITIONS = dg.AssetIn(metadata={"allow_missing_partitions": True})
"""A partitioned layer read across every materialized partition; days without a file are skipped."""


def family_inputs(layer: str) -> dict[str, dg.AssetIn]:
    """`ins=` of a global step reading one row-local layer (`normalized`, `scrubbed`, `scored`, ...) of every family."""
    return {getattr(f, layer): ALL_PARTITIONS if f.partitioned else dg.AssetIn() for f in FAMILIES}


def in_family_order(inputs: dict[str, Any], layer: str) -> list[Any]:
    """A global step's family inputs of one layer in FAMILIES order, each family's partitions by key."""
    out: list[Any] = []
    for family in FAMILIES:
        value = inputs[getattr(family, layer)]
        out.extend(value[key] for key in sorted(value)) if isinstance(value, dict) else out.append(value)
    return out
