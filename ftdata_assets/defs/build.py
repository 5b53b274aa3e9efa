"""Assemble the Definitions for a project folder (the real one, or a temporary one in tests)."""

from pathlib import Path

import dagster as dg

from ftdata_assets.defs import (
    curation_assets,
    pii_assets,
    quality_assets,
    raw_assets,
    release_assets,
    review_assets,
    split_assets,
    validation_checks,
)
from ftdata_assets.defs.automation import (
    curate_job,
    daily_log_ingestion,
    ingest_production_logs_job,
    ingest_synthetic_batch_job,
    review_decisions_sensor,
    synthetic_batch_sensor,
)
from ftdata_assets.defs.executors import executor_from_env
from ftdata_assets.defs.io import FILES_KEY, PolarsParquetIOManager, declared_files
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.project import Project

ASSET_MODULES = [raw_assets, curation_assets, pii_assets, quality_assets, review_assets, split_assets, release_assets]
REVIEW_EXPORTS = {
    "review_queue": declared_files("data/review/export/queue.parquet", "data/review/export/queue.csv"),
    "audit_sample": declared_files("data/review/export/audit_sample.parquet", "data/review/export/audit_sample.csv"),
}
"""The files the review assets write for people (transforms.review.write_review_export), declared on them here
so that every file under data/ is named in the graph."""


def with_declared_files(spec: dg.AssetSpec) -> dg.AssetSpec:
    extra = REVIEW_EXPORTS.get(spec.key.to_user_string())
    if extra is None or FILES_KEY in spec.metadata:
        return spec
    return spec.merge_attributes(metadata=extra)


def build_definitions(project_root: Path) -> dg.Definitions:
    project = Project(project_root)
    return dg.Definitions(
        assets=dg.map_asset_specs(with_declared_files, dg.load_assets_from_modules(ASSET_MODULES)),
        asset_checks=[
            *dg.load_asset_checks_from_modules(ASSET_MODULES),
            *validation_checks.layer_checks,
            validation_checks.splits_expectations,
        ],
        jobs=[ingest_production_logs_job, ingest_synthetic_batch_job, curate_job],
        schedules=[daily_log_ingestion],
        sensors=[synthetic_batch_sensor(project_root), review_decisions_sensor(project_root)],
        resources={
            "project": ProjectResource(root=str(project_root)),
            "io_manager": PolarsParquetIOManager(base_dir=str(project.interim_dir)),
            # staged: curated_release publishes the splits to data/curated once their blocking checks pass
            "curated_io_manager": PolarsParquetIOManager(base_dir=str(project.release_staging_dir)),
            "rejects_io_manager": PolarsParquetIOManager(base_dir=str(project.rejects_dir)),
        },
        executor=executor_from_env(),  # FTDATA_EXECUTOR=k8s|multiprocess|in_process; unset: Dagster's default
    )
