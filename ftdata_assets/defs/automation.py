"""Jobs, the daily log-ingestion schedule, and the sensors for new synthetic batches and review files."""

import hashlib
from pathlib import Path

import dagster as dg

from ftdata_assets.defs.families import PARTITIONED_FAMILIES, Family
from ftdata_assets.defs.partitions import synthetic_batches
from ftdata_assets.defs.raw_assets import raw_production_logs, raw_synthetic
from ftdata_assets.project import Project, data_file_stem
from ftdata_assets.transforms.review import REVIEW_FILE_SUFFIXES

AC = dg.AutomationCondition
ROW_LOCAL_CONDITION = (
    (AC.newly_missing() | AC.any_deps_updated()).since_last_handled()
    & ~AC.any_deps_missing()
    & ~AC.any_deps_in_progress()
    & ~AC.in_progress()
).with_label("new or updated input") | (
    AC.code_version_changed() & ~AC.any_deps_missing() & ~AC.in_progress()
).with_label("code version changed")
"""A row-local partition is computed when its raw partition is (re)materialized, and again when the layer's
code version (code, params section) changes; never for a day whose raw file is missing. Unlike `eager`, not
only in the latest day: a log file for an earlier day is processed when it arrives."""
JOIN_CONDITION = (
    (AC.newly_missing() | AC.any_deps_updated() | AC.code_version_changed()).since_last_handled()
    & ~AC.any_deps_in_progress()
    & ~AC.in_progress()
    & ~AC.any_deps_match(AC.will_be_requested())
).with_label("join")
"""A global step reading every partition of a row-local layer: once one of them changed and none is still
requested or running. Days without a file are missing for good, so unlike `eager` it does not wait for
missing partitions (the step reads the ones there are)."""
OUTSIDE_INPUTS = dg.AssetSelection.assets("released_split_registry")
"""Observable sources the global layers read: never 'missing' (no registry yet is a valid state)."""
GLOBAL_CONDITION = (
    (AC.newly_missing() | AC.any_deps_updated()).since_last_handled()
    & ~AC.any_deps_missing().ignore(OUTSIDE_INPUTS)
    & ~AC.any_deps_in_progress()
    & ~AC.in_progress()
).with_label("upstream updated") | AC.code_version_changed().with_label("code version changed")
"""The global layers after the join steps (`eager`, but an unobserved registry is not a missing input):
requested in the same evaluation as their upstream join step, so one run holds them all and the blocking
checks gate the release inside it."""


def row_local_keys(family: Family) -> list[str]:
    return [
        family.normalized,
        family.ingest_rejects,
        family.input_formats,
        family.scrubbed,
        family.verified,
        family.scored,
    ]


ROW_LOCAL_PARTITIONED_KEYS = [key for family in PARTITIONED_FAMILIES for key in row_local_keys(family)]


def row_local_job_name(family: Family) -> str:
    return f"prepare_{family.name}_partition"


row_local_jobs = [
    dg.define_asset_job(
        row_local_job_name(family),
        selection=dg.AssetSelection.assets(*row_local_keys(family)),
        description=f"The row-local layers of one {family.name} partition (what automation requests for it).",
    )
    for family in PARTITIONED_FAMILIES
]

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
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.assets(raw_production_logs, raw_synthetic, *ROW_LOCAL_PARTITIONED_KEYS),
    tags={"ftdata/exclusive": "curate"},  # deploy/: the run queue allows one curate run at a time
    description=(
        "Build every unpartitioned asset from every materialized partition: the expert and feedback sets and "
        "their row-local layers, the union of every family's partitions, dedup, review, splits, release, ledger."
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
