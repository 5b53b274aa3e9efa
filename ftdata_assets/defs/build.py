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
    GLOBAL_CONDITION,
    JOIN_CONDITION,
    ROW_LOCAL_CONDITION,
    curate_job,
    daily_log_ingestion,
    ingest_production_logs_job,
    ingest_synthetic_batch_job,
    review_decisions_sensor,
    row_local_jobs,
    synthetic_batch_sensor,
)
from ftdata_assets.defs.code_versions import global_code_version, raw_code_version
from ftdata_assets.defs.executors import executor_from_env
from ftdata_assets.defs.io import FILES_KEY, PolarsParquetIOManager, declared_files
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.defs.rowlocal_assets import ROW_LOCAL_GROUP, row_local_assets
from ftdata_assets.project import Project
from ftdata_assets.transforms.pii import PiiSettings
from ftdata_assets.transforms.pii_report import detector_fingerprint

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


def project_params(project: Project) -> tuple[dict | None, bytes, str]:
    """params.yaml as the code versions see it: parsed (None when unreadable: the run reports why), its bytes,
    and the PII detector fingerprint under its `pii` section."""
    path = project.root / "params.yaml"
    raw = path.read_bytes() if path.is_file() else b""
    try:
        params = project.params
        fingerprint = detector_fingerprint(PiiSettings.from_params(params.get("pii")))
    except Exception:  # invalid params: every run of these definitions fails with the params error itself
        return None, raw, "unreadable"
    return params, raw, fingerprint


def with_automation(
    assets: list[dg.AssetsDefinition], params: dict | None, params_bytes: bytes, expectations_dir: Path
) -> list[dg.AssetsDefinition]:
    """Code versions and automation conditions, set in one place from the asset's place in the graph: raw
    (materialized by the schedule, the sensor or `ftdata run`), row-local (per partition), join (an
    unpartitioned step reading a partitioned layer) or global."""
    partitioned = {key for ad in assets if ad.partitions_def is not None for key in ad.keys}
    global_version = global_code_version(params_bytes, expectations_dir)
    raw_version = raw_code_version(params, expectations_dir / "raw.json")
    out = []
    for ad in assets:
        if not ad.is_executable or ad.is_observable:
            out.append(ad)
            continue
        groups = {spec.group_name for spec in ad.specs}
        if groups == {raw_assets.RAW_GROUP}:
            out.append(ad.map_asset_specs(lambda spec: spec.replace_attributes(code_version=raw_version)))
            continue
        if groups == {ROW_LOCAL_GROUP}:  # code versions set per layer by row_local_assets
            out.append(
                ad.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=ROW_LOCAL_CONDITION))
            )
            continue
        joins = ad.partitions_def is None and any(d.asset_key in partitioned for spec in ad.specs for d in spec.deps)
        condition = JOIN_CONDITION if joins else GLOBAL_CONDITION
        out.append(
            ad.map_asset_specs(
                lambda spec, condition=condition: spec.replace_attributes(
                    automation_condition=condition, code_version=global_version
                )
            )
        )
    return out


def automation_sensors() -> list[dg.AutomationConditionSensorDefinition]:
    """The deployment's automation: one sensor per `ftdata run` phase (planning.PHASES), running by default, so
    a day the schedule ingested reaches the splits with no manual step, through the same conditions."""
    from ftdata_assets.defs.planning import PHASES

    return [
        dg.AutomationConditionSensorDefinition(
            f"{phase.name}_automation",
            target=phase.selection,
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=60,
            description=f"Requests what the automation conditions of the {phase.name} layers ask for.",
        )
        for phase in PHASES
    ]


def build_definitions(project_root: Path) -> dg.Definitions:
    project = Project(project_root)
    params, params_bytes, fingerprint = project_params(project)
    assets = [
        *dg.map_asset_specs(with_declared_files, dg.load_assets_from_modules(ASSET_MODULES)),
        *row_local_assets(params, fingerprint),
    ]
    return dg.Definitions(
        # the suites the checks read are the project's (a user's profiled bounds), not the package's
        assets=with_automation(assets, params, params_bytes, project.root / "expectations"),
        asset_checks=[
            *dg.load_asset_checks_from_modules(ASSET_MODULES),
            *validation_checks.layer_checks,
            validation_checks.splits_expectations,
        ],
        jobs=[ingest_production_logs_job, ingest_synthetic_batch_job, curate_job, *row_local_jobs],
        schedules=[daily_log_ingestion],
        sensors=[
            synthetic_batch_sensor(project_root),
            review_decisions_sensor(project_root),
            *automation_sensors(),
        ],
        resources={
            "project": ProjectResource(root=str(project_root)),
            "io_manager": PolarsParquetIOManager(base_dir=str(project.interim_dir)),
            # staged: curated_release publishes the splits to data/curated once their blocking checks pass
            "curated_io_manager": PolarsParquetIOManager(base_dir=str(project.release_staging_dir)),
            "rejects_io_manager": PolarsParquetIOManager(base_dir=str(project.rejects_dir)),
        },
        executor=executor_from_env(),  # FTDATA_EXECUTOR=k8s|multiprocess|in_process; unset: Dagster's default
    )
