"""Jobs, the daily log-ingestion schedule and the sensor that registers new synthetic batches."""

from pathlib import Path

import dagster as dg

from ftdata_assets.defs.partitions import synthetic_batches
from ftdata_assets.defs.raw_assets import raw_production_logs, raw_synthetic
from ftdata_assets.project import Project, data_file_stem

ingest_production_logs_job = dg.define_asset_job(
    "ingest_production_logs",
    selection=[raw_production_logs],
    description="Ingest one day of production logs.",
)
ingest_synthetic_batch_job = dg.define_asset_job(
    "ingest_synthetic_batch",
    selection=[raw_synthetic],
    description="Ingest one synthetic batch.",
)
curate_job = dg.define_asset_job(
    "curate",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(raw_production_logs, raw_synthetic),
    description=(
        "Build everything downstream of the partitioned sources from every materialized partition: "
        "expert and feedback sets, normalized examples, rejects, curated splits, ledger."
    ),
)

daily_log_ingestion = dg.build_schedule_from_partitioned_job(
    ingest_production_logs_job,
    name="daily_log_ingestion",
    hour_of_day=2,
    description="At 02:00 UTC, ingest the previous day's production log file.",
)


def synthetic_batch_sensor(project_root: Path) -> dg.SensorDefinition:
    """Watch data/raw/synthetic: each new batch file becomes a partition and gets an ingestion run."""

    @dg.sensor(
        name="synthetic_batch_sensor",
        job=ingest_synthetic_batch_job,
        minimum_interval_seconds=60,
        description="Registers each new file in data/raw/synthetic as a partition and ingests it.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        files = Project(project_root).source_files("synthetic")
        keys = [data_file_stem(p) for p in files]
        known = set(context.instance.get_dynamic_partitions(synthetic_batches.name))
        new = [k for k in keys if k not in known]
        if not new:
            return dg.SkipReason(f"no new batch among {len(keys)} file(s) in data/raw/synthetic")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(partition_key=k, run_key=f"synthetic:{k}") for k in new],
            dynamic_partitions_requests=[synthetic_batches.build_add_request(new)],
        )

    return _sensor
