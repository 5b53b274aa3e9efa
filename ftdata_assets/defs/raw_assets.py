"""raw_* assets: every input line as read, as an example or as a reject with its reason, per source."""

from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import polars as pl

from ftdata_assets.defs.partitions import production_log_days, synthetic_batches
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.schema import RAW_SCHEMA
from ftdata_assets.transforms.ingest import read_raw

RAW_GROUP = "ingest"
RAW_KINDS = {"polars", "parquet"}


def read_source_files(
    project: ProjectResource, source: str, files: Iterable[Path], partition: str | None
) -> pl.DataFrame:
    ingest = project.params("ingest")
    frames = [
        read_raw(
            path,
            source,
            root=project.project.raw_dir,
            partition=partition,
            max_line_bytes=int(ingest["max_line_bytes"]),
            max_json_depth=int(ingest["max_json_depth"]),
            id_salt=str(ingest["id_salt"]),
        )
        for path in files
    ]
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=RAW_SCHEMA)


def describe_raw(context: dg.AssetExecutionContext, raw: pl.DataFrame, files: list[Path]) -> None:
    """Row counts and reject reasons as metadata, so the UI says what a materialization read."""
    rejected = raw.filter(pl.col("reason").is_not_null())
    by_reason = rejected.group_by("reason").len().sort("reason")
    context.add_output_metadata(
        {
            "files": dg.MetadataValue.json([p.name for p in files]),
            "lines": raw.height,
            "examples": raw.height - rejected.height,
            "rejected": rejected.height,
            "rejected_by_reason": dg.MetadataValue.json(dict(by_reason.iter_rows())),
        }
    )


@dg.asset(
    partitions_def=production_log_days,
    group_name=RAW_GROUP,
    kinds=RAW_KINDS,
    description="One day of production chat logs (data/raw/logs/<day>.jsonl[.gz]), every line kept.",
)
def raw_production_logs(context: dg.AssetExecutionContext, project: ProjectResource) -> pl.DataFrame:
    path = project.project.partition_file("production_log", context.partition_key)
    raw = read_source_files(project, "production_log", [path], context.partition_key)
    describe_raw(context, raw, [path])
    return raw


@dg.asset(
    partitions_def=synthetic_batches,
    group_name=RAW_GROUP,
    kinds=RAW_KINDS,
    description="One synthetic batch from a teacher model (data/raw/synthetic/<batch>.*), every line kept.",
)
def raw_synthetic(context: dg.AssetExecutionContext, project: ProjectResource) -> pl.DataFrame:
    path = project.project.partition_file("synthetic", context.partition_key)
    raw = read_source_files(project, "synthetic", [path], context.partition_key)
    describe_raw(context, raw, [path])
    return raw


@dg.asset(
    group_name=RAW_GROUP,
    kinds=RAW_KINDS,
    description="Expert-written example sets (data/raw/expert/*), every line kept.",
)
def raw_expert(context: dg.AssetExecutionContext, project: ProjectResource) -> pl.DataFrame:
    files = project.project.source_files("expert")
    raw = read_source_files(project, "expert", files, None)
    describe_raw(context, raw, files)
    return raw


@dg.asset(
    group_name=RAW_GROUP,
    kinds=RAW_KINDS,
    description="Users' edited responses (data/raw/feedback/*); the edit becomes the ideal assistant turn.",
)
def raw_feedback(context: dg.AssetExecutionContext, project: ProjectResource) -> pl.DataFrame:
    files = project.project.source_files("feedback")
    raw = read_source_files(project, "feedback", files, None)
    describe_raw(context, raw, files)
    return raw
