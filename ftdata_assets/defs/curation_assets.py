"""From the raw layers to the ledger: normalized_examples, ingest_rejects, rejects (every layer), ledger."""

import dagster as dg
import polars as pl

from ftdata_assets.defs.io import declared_files, write_json_atomically
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.schema import ReasonCode
from ftdata_assets.transforms.ingest import format_counts, repair_counts, split_raw
from ftdata_assets.transforms.ledger import build_ledger, ledger_imbalance
from ftdata_assets.transforms.normalize import combine_raw, rejects_from_examples

ALL_PARTITIONS = dg.AssetIn(metadata={"allow_missing_partitions": True})
"""Partitioned sources are read across every materialized partition; days without a file are skipped."""

RAW_INPUTS = {
    "raw_production_logs": ALL_PARTITIONS,
    "raw_synthetic": ALL_PARTITIONS,
    "raw_expert": dg.AssetIn(),
    "raw_feedback": dg.AssetIn(),
}


def ordered_raw(
    raw_production_logs: dict[str, pl.DataFrame] | None,
    raw_synthetic: dict[str, pl.DataFrame] | None,
    raw_expert: pl.DataFrame,
    raw_feedback: pl.DataFrame,
) -> pl.DataFrame:
    """All raw rows in a fixed order (source priority, then partition), so every run gives the same bytes."""
    logs = [raw_production_logs[k] for k in sorted(raw_production_logs or {})]
    synthetic = [raw_synthetic[k] for k in sorted(raw_synthetic or {})]
    return combine_raw([raw_expert, raw_feedback, *logs, *synthetic])


@dg.multi_asset(
    outs={
        "normalized_examples": dg.AssetOut(
            group_name="curate",
            kinds={"polars", "parquet"},
            description="Every input row that parsed, in the canonical example schema (messages + provenance).",
        ),
        "ingest_rejects": dg.AssetOut(
            group_name="curate",
            kinds={"polars", "parquet"},
            description="Input lines that could not become an example, with reason code and the original line.",
        ),
        "input_formats": dg.AssetOut(
            group_name="curate",
            kinds={"polars", "parquet"},
            description=(
                "Rows per input format ingest recognized (chat, sharegpt, alpaca, dolly, hh, oasst, chatml, ...): "
                "rows = examples + rejected per format; the data card's table, without reloading the raw layers."
            ),
        ),
    },
    ins=RAW_INPUTS,
)
def normalize(
    context: dg.AssetExecutionContext,
    raw_production_logs: dict[str, pl.DataFrame],
    raw_synthetic: dict[str, pl.DataFrame],
    raw_expert: pl.DataFrame,
    raw_feedback: pl.DataFrame,
):
    raw = ordered_raw(raw_production_logs, raw_synthetic, raw_expert, raw_feedback)
    examples, rejects = split_raw(raw)
    by_source = examples.group_by("source").len().sort("source")
    by_reason = rejects.group_by("reason").len().sort("reason")
    yield dg.Output(
        examples,
        output_name="normalized_examples",
        metadata={
            "rows_in": raw.height,
            "by_source": dg.MetadataValue.json(dict(by_source.iter_rows())),
            # examples per turn-repair tag (ingest.py "Turn repairs"); a row may carry several
            "repaired": examples.filter(pl.col("tags").list.len() > 0).height,
            "repairs_by_tag": dg.MetadataValue.json(repair_counts(examples)),
            "log_days": dg.MetadataValue.json(sorted(raw_production_logs or {})),
            "synthetic_batches": dg.MetadataValue.json(sorted(raw_synthetic or {})),
        },
    )
    yield dg.Output(
        rejects,
        output_name="ingest_rejects",
        metadata={"by_reason": dg.MetadataValue.json(dict(by_reason.iter_rows()))},
    )
    formats = format_counts(raw)
    yield dg.Output(
        pl.DataFrame(
            [{"format": name, **counts} for name, counts in formats.items()],
            schema={"format": pl.String, "rows": pl.Int64, "examples": pl.Int64, "rejected": pl.Int64},
        ),
        output_name="input_formats",
        metadata={"rows_by_format": dg.MetadataValue.json(formats)},
    )


@dg.asset(
    group_name="curate",
    kinds={"polars", "parquet"},
    io_manager_key="rejects_io_manager",
    description=(
        "Every row that left the pipeline, from every layer: layer, reason code, detail and the original "
        "line (ingest) or example (later layers). Holds raw lines with PII: stored under data/rejects and "
        "pushed to the raw DVC remote only, never to the trainers' one."
    ),
)
def rejects(
    ingest_rejects: pl.DataFrame,
    scored_examples: pl.DataFrame,
    reviewed_examples: pl.DataFrame,
    split_assignments: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    dropped = scored_examples.filter(pl.col("drop_reason").is_not_null())
    is_quality = pl.col("drop_reason").str.starts_with(ReasonCode.LOW_QUALITY_PREFIX)
    quality = rejects_from_examples(
        dropped.filter(is_quality),
        "quality",
        pl.col("drop_reason"),
        pl.lit("failed quality rule ") + pl.col("drop_reason").str.strip_prefix(ReasonCode.LOW_QUALITY_PREFIX),
    )
    policy = rejects_from_examples(
        dropped.filter(~is_quality), "policy", pl.col("drop_reason"), pl.col("policy_detail").fill_null("")
    )
    duplicates = rejects_from_examples(
        reviewed_examples.filter(pl.col("duplicate_of").is_not_null()),
        "dedup",
        pl.col("dedup_reason"),
        pl.format("duplicate of {} (cluster {})", "duplicate_of", pl.coalesce("prompt_cluster", "cluster_id")),
    )
    in_review = rejects_from_examples(
        reviewed_examples.filter(pl.col("review_status") == "rejected"),
        "review",
        pl.lit(ReasonCode.REJECTED_IN_REVIEW),
        pl.lit("rejected by ") + pl.col("reviewed_by").fill_null("?"),
    )
    contaminated = rejects_from_examples(
        split_assignments.filter(pl.col("contaminated_by").is_not_null()),
        "decontaminate",
        pl.lit(ReasonCode.BENCHMARK_CONTAMINATION),
        pl.col("contamination_detail"),
    )
    frame = pl.concat([ingest_rejects, quality, policy, duplicates, in_review, contaminated])
    by_layer = frame.group_by("layer", "reason").len().sort("layer", "reason")
    return dg.Output(
        frame,
        metadata={
            "by_reason": dg.MetadataValue.json(dict(frame.group_by("reason").len().sort("reason").iter_rows())),
            "by_layer": dg.MetadataValue.md(
                "| layer | reason | rows |\n|---|---|---|\n"
                + "\n".join(f"| {layer} | {reason} | {n} |" for layer, reason, n in by_layer.iter_rows())
            ),
        },
    )


@dg.asset(
    group_name="release",
    kinds={"json"},
    ins={
        **RAW_INPUTS,
        "train": dg.AssetIn(),
        "validation": dg.AssetIn(),
        "test": dg.AssetIn(),
        "rejects": dg.AssetIn(),
        "reviewed_examples": dg.AssetIn(),
    },
    check_specs=[
        dg.AssetCheckSpec(
            "ledger_balances",
            asset="ledger",
            blocking=True,
            description="rows_in == curated + rejected + held_for_review: no row lost or counted twice.",
        )
    ],
    metadata=declared_files("data/metrics/ledger.json"),
    description="The row ledger (data/metrics/ledger.json, a DVC metric): where every input row went.",
)
def ledger(
    project: ProjectResource,
    raw_production_logs: dict[str, pl.LazyFrame],
    raw_synthetic: dict[str, pl.LazyFrame],
    raw_expert: pl.LazyFrame,
    raw_feedback: pl.LazyFrame,
    train: pl.LazyFrame,
    validation: pl.LazyFrame,
    test: pl.LazyFrame,
    rejects: pl.DataFrame,
    reviewed_examples: pl.LazyFrame,
):
    raw_frames = [
        *(raw_production_logs or {}).values(),
        *(raw_synthetic or {}).values(),
        raw_expert,
        raw_feedback,
    ]
    rows_in = sum(count_rows(frame) for frame in raw_frames)
    split_counts = {
        "train": count_rows(train),
        "validation": count_rows(validation),
        "test": count_rows(test),
    }
    held = count_rows(reviewed_examples.filter(pl.col("review_status") == "held"))
    payload = build_ledger(rows_in, split_counts, rejects, held_for_review=held)
    write_json_atomically(payload, project.project.metrics_dir / "ledger.json")
    imbalance = ledger_imbalance(payload)
    yield dg.MaterializeResult(
        metadata={
            "rows_in": payload["rows_in"],
            "curated": dg.MetadataValue.json(payload["curated"]),
            "rejected": dg.MetadataValue.json(payload["rejected"]),
            "held_for_review": payload["held_for_review"],
            "path": dg.MetadataValue.path(str(project.project.metrics_dir / "ledger.json")),
        }
    )
    yield dg.AssetCheckResult(
        check_name="ledger_balances",
        passed=imbalance == 0,
        metadata={"imbalance": imbalance, "rows_in": payload["rows_in"]},
    )


def count_rows(frame: pl.LazyFrame | pl.DataFrame) -> int:
    if isinstance(frame, pl.LazyFrame):
        return int(frame.select(pl.len()).collect().item())
    return frame.height
