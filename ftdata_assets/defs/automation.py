"""Jobs, the daily log-ingestion schedule, and the sensors for new synthetic batches and review files."""

import hashlib
from pathlib import Path

import dagster as dg

from ftdata_assets.defs.partitions import synthetic_batches
from ftdata_assets.defs.raw_assets import raw_production_logs, raw_synthetic
from ftdata_assets.project import Project, data_file_stem
from ftdata_assets.transforms.review import REVIEW_FILE_SUFFIXES

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
    tags={"ftdata/exclusive": "curate"},  # deploy/: the run queue allows one curate run at a time
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


def review_files_digest(folders: list[Path]) -> tuple[str, int]:
    """A digest of the names and bytes of every review file (decisions, audit labels), and how many there are.

    Content, not mtime: touching a file does not start a run, editing it does."""
    digest = hashlib.sha256()
    count = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith(".") and path.suffix in REVIEW_FILE_SUFFIXES:
                digest.update(f"{folder.name}/{path.name}\0".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
                count += 1
    return digest.hexdigest(), count


def review_decisions_sensor(project_root: Path) -> dg.SensorDefinition:
    """Watch data/review/decisions and data/review/audit_labels: a new or edited file starts a curate run,
    which applies the decisions and recomputes the audit."""

    @dg.sensor(
        name="review_decisions_sensor",
        job=curate_job,
        minimum_interval_seconds=60,
        description="Starts a curate run when review decisions or audit labels are added or changed.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        project = Project(project_root)
        digest, count = review_files_digest([project.decisions_dir, project.audit_labels_dir])
        if digest == context.cursor:
            return dg.SkipReason(f"no change in {count} review file(s)")
        if context.cursor is None and count == 0:
            return dg.SensorResult(skip_reason=dg.SkipReason("no review files yet"), cursor=digest)
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"review:{digest}")], cursor=digest)

    return _sensor
