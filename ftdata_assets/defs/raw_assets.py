"""raw_* assets: every input line as read, as an example or as a reject with its reason, per source."""

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import polars as pl

from ftdata_assets.defs.partitions import production_log_days, synthetic_batches
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.defs.validation_checks import raw_check_spec, validate_asset
from ftdata_assets.schema import RAW_SCHEMA
from ftdata_assets.transforms.ingest import field_map_for, format_counts, read_raw, repair_counts
from ftdata_assets.transforms.settings import IngestConfig

RAW_GROUP = "ingest"
SOURCE_DIGEST = "source_sha256"
"""Materialization metadata: the digest of the file(s) read, so `ftdata run` re-reads only what changed."""
RAW_KINDS = {"polars", "parquet"}


def read_source_files(
    project: ProjectResource, source: str, files: Iterable[Path], partition: str | None
) -> pl.DataFrame:
    ingest = project.settings(IngestConfig)
    root = project.project.raw_dir
    frames = [
        read_raw(
            path,
            source,
            root=root,
            partition=partition,
            max_line_bytes=ingest.max_line_bytes,
            max_json_depth=ingest.max_json_depth,
            id_salt=ingest.id_salt,
            leading_assistant=ingest.leading_assistant,
            field_map=field_map_for(ingest.field_maps or {}, source, _relative(path, root)),
        )
        for path in files
    ]
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=RAW_SCHEMA)


def _relative(path: Path, root: Path) -> str:
    """The file's path under the raw root, lexically as `source_file` (DVC may link data into its cache), as
    `field_maps` globs see it; its name when it is elsewhere."""
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return path.name


def files_digest(files: Iterable[Path]) -> str:
    """sha256 over the names and bytes of the files, in order: a new, edited, renamed or removed file changes it."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def rows_by_file_and_format(raw: pl.DataFrame) -> dict[str, dict[str, int]]:
    """{source_file: {format: rows}}: the format detected per file ("none" for rows of no known shape)."""
    if "format" not in raw.columns or not raw.height:
        return {}
    counts = raw.group_by("source_file", pl.col("format").fill_null("none")).len().sort("source_file", "format")
    out: dict[str, dict[str, int]] = {}
    for source_file, fmt, n in counts.iter_rows():
        out.setdefault(source_file, {})[fmt] = int(n)
    return out


def describe_raw(raw: pl.DataFrame, files: list[Path]) -> dict:
    """Row counts, reject reasons, turn repairs and input formats as metadata, so the UI says what a
    materialization read. `rows_by_format` ({format: {rows, examples, rejected}}) is what the data card's
    "Rows per input format" table sums over the raw assets."""
    rejected = raw.filter(pl.col("reason").is_not_null())
    repaired = raw.filter(pl.col("reason").is_null() & (pl.col("tags").list.len() > 0))
    by_reason = rejected.group_by("reason").len().sort("reason")
    return {
        "files": dg.MetadataValue.json([p.name for p in files]),
        "lines": raw.height,
        "examples": raw.height - rejected.height,
        "rejected": rejected.height,
        "rejected_by_reason": dg.MetadataValue.json(dict(by_reason.iter_rows())),
        "repaired": repaired.height,
        "repaired_by_tag": dg.MetadataValue.json(repair_counts(repaired)),
        "rows_by_format": dg.MetadataValue.json(format_counts(raw)),
        "formats_by_file": dg.MetadataValue.json(rows_by_file_and_format(raw)),
    }


def partition_file_asset(
    name: str, source: str, partitions_def: dg.PartitionsDefinition, description: str
) -> dg.AssetsDefinition:
    """A source read one file per partition (a log day, a synthetic batch)."""

    @dg.asset(
        name=name,
        partitions_def=partitions_def,
        group_name=RAW_GROUP,
        kinds=RAW_KINDS,
        description=description,
        check_specs=[raw_check_spec(name)],
    )
    def _asset(context: dg.AssetExecutionContext, project: ProjectResource):
        path = project.project.partition_file(source, context.partition_key)
        raw = read_source_files(project, source, [path], context.partition_key)
        metadata = {
            **describe_raw(raw, [path]),
            SOURCE_DIGEST: files_digest([path]),
            "params_digest": project.params_digest,
        }
        yield dg.Output(raw, metadata=metadata)
        yield validate_asset(project, name, raw)

    return _asset


def folder_asset(name: str, source: str, description: str) -> dg.AssetsDefinition:
    """A source read as every file in its folder (expert sets, feedback)."""

    @dg.asset(name=name, group_name=RAW_GROUP, kinds=RAW_KINDS, description=description)
    def _asset(project: ProjectResource) -> dg.Output[pl.DataFrame]:
        files = project.project.source_files(source)
        raw = read_source_files(project, source, files, None)
        metadata = {
            **describe_raw(raw, files),
            SOURCE_DIGEST: files_digest(files),
            "params_digest": project.params_digest,
        }
        return dg.Output(raw, metadata=metadata)

    return _asset


raw_production_logs = partition_file_asset(
    "raw_production_logs",
    "production_log",
    production_log_days,
    "One day of production chat logs (data/raw/logs/<day>.jsonl[.gz]), every line kept.",
)
raw_synthetic = partition_file_asset(
    "raw_synthetic",
    "synthetic",
    synthetic_batches,
    "One synthetic batch from a teacher model (data/raw/synthetic/<batch>.*), every line kept.",
)
raw_expert = folder_asset("raw_expert", "expert", "Expert-written example sets (data/raw/expert/*), every line kept.")
raw_feedback = folder_asset(
    "raw_feedback",
    "feedback",
    "Users' edited responses (data/raw/feedback/*); the edit becomes the ideal assistant turn.",
)
