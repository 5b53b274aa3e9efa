"""From the raw layers to the ledger: normalized_examples, ingest_rejects, rejects (every layer), ledger."""

import dagster as dg
import polars as pl

from ftdata_assets.defs.families import family_inputs, in_family_order
from ftdata_assets.defs.io import declared_files, write_json_atomically
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.schema import ReasonCode
from ftdata_assets.transforms.ingest import repair_counts
from ftdata_assets.transforms.ledger import build_ledger, ledger_imbalance
from ftdata_assets.transforms.normalize import rejects_from_examples


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
    ins=family_inputs("normalized") | family_inputs("ingest_rejects") | family_inputs("input_formats"),
)
def normalize(context: dg.AssetExecutionContext, **families: pl.DataFrame | dict[str, pl.DataFrame]):
    """Every family's row-local outputs in one frame each, in source priority then partition order (the
    order every layer keeps, so every run gives the same bytes)."""
    examples = pl.concat(in_family_order(families, "normalized"), how="vertical")
    rejects = pl.concat(in_family_order(families, "ingest_rejects"), how="vertical")
    by_format = pl.concat(in_family_order(families, "input_formats"), how="vertical")
    by_source = examples.group_by("source").len().sort("source")
    by_reason = rejects.group_by("reason").len().sort("reason")
    yield dg.Output(
        examples,
        output_name="normalized_examples",
        metadata={
            "rows_in": examples.height + rejects.height,
            "by_source": dg.MetadataValue.json(dict(by_source.iter_rows())),
            # examples per turn-repair tag (ingest.py "Turn repairs"); a row may carry several
            "repaired": examples.filter(pl.col("tags").list.len() > 0).height,
            "repairs_by_tag": dg.MetadataValue.json(repair_counts(examples)),
            "log_days": dg.MetadataValue.json(partition_keys(families, "normalized_production_logs")),
            "synthetic_batches": dg.MetadataValue.json(partition_keys(families, "normalized_synthetic")),
        },
    )
    yield dg.Output(
        rejects,
        output_name="ingest_rejects",
        metadata={"by_reason": dg.MetadataValue.json(dict(by_reason.iter_rows()))},
    )
    formats = (
        by_format.group_by("format").agg(pl.col("rows", "examples", "rejected").sum()).sort("format")
        if by_format.height
        else by_format
    )
    yield dg.Output(
        formats,
        output_name="input_formats",
        metadata={
            "rows_by_format": dg.MetadataValue.json(
                {f: {"rows": r, "examples": e, "rejected": j} for f, r, e, j in formats.iter_rows()}
            )
        },
    )


def partition_keys(families: dict[str, object], name: str) -> list[str]:
    value = families.get(name)
    return sorted(value) if isinstance(value, dict) else []


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
        "input_formats": dg.AssetIn(),
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
    input_formats: pl.DataFrame,
    train: pl.LazyFrame,
    validation: pl.LazyFrame,
    test: pl.LazyFrame,
    rejects: pl.DataFrame,
    reviewed_examples: pl.LazyFrame,
):
    # every raw line of every partition, counted per format as each partition's step read it
    rows_in = int(input_formats.get_column("rows").sum())
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
