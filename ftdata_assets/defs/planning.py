"""What a run of `ftdata run` has to do, decided from the Dagster instance: which raw inputs changed, which
stored partitions have lost their input, and what the automation conditions request.

The raw step is what the daily schedule and the batch sensor do in a deployment (a new or edited file is
ingested); everything after it is what Dagster's automation sensor would request, evaluated in-process with
the same conditions (`dg.evaluate_automation_conditions`) and a cursor kept in the instance, so a daily run,
a UI-launched run and `dvc repro` take one path.
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.definitions.asset_daemon_cursor import AssetDaemonCursor
from dagster._serdes import deserialize_value, serialize_value

from ftdata_assets.defs.automation import row_local_job_name, row_local_keys
from ftdata_assets.defs.families import FAMILIES, PARTITIONED_FAMILIES, Family
from ftdata_assets.defs.raw_assets import RAW_GROUP, SOURCE_DIGEST, files_digest
from ftdata_assets.defs.rowlocal_assets import ROW_LOCAL_GROUP
from ftdata_assets.project import Project, data_file_stem


@dataclass(frozen=True)
class Phase:
    """Assets evaluated together, with their own cursor (instance key-value storage): what they saw last."""

    name: str
    selection: dg.AssetSelection

    @property
    def cursor_key(self) -> str:
        return f"ftdata/automation_cursor/{self.name}"


PHASES = (
    Phase("prepare", dg.AssetSelection.groups(ROW_LOCAL_GROUP)),
    Phase("curate", dg.AssetSelection.all() - dg.AssetSelection.groups(ROW_LOCAL_GROUP, RAW_GROUP)),
)
"""`ftdata run` brings the row-local layers up to date first, then the global ones in one run: evaluated
together, a global layer whose code changed would run before the partitions it reads were recomputed. The
same two selections are the deployment's two automation sensors."""
CURATE_INPUTS_KEY = "ftdata/curate_inputs"
"""Digest of the inputs the global layers read outside the asset graph (review files, benchmarks, the split
registry, the release), as of the last successful global run: a change there reruns them."""
PENDING = "pending"
"""The stored digest while an unpartitioned run is under way: a killed or failed run leaves it, and the next
`ftdata run` then runs the global layers whatever the conditions say."""
CODE_VERSION_TAG = "dagster/code_version"
SOURCES = {"raw_production_logs": "production_log", "raw_synthetic": "synthetic", "raw_expert": "expert"}
SOURCES["raw_feedback"] = "feedback"
FINAL_ASSET = dg.AssetKey("curated_release")


def load_cursor(instance: dg.DagsterInstance, phase: Phase) -> AssetDaemonCursor | None:
    stored = instance.run_storage.get_cursor_values({phase.cursor_key}).get(phase.cursor_key)
    if not stored:
        return None
    try:
        return deserialize_value(stored, AssetDaemonCursor)
    except Exception:  # written by another Dagster version: start over (nothing is lost, only the history)
        return None


def save_cursor(instance: dg.DagsterInstance, phase: Phase, cursor: AssetDaemonCursor) -> None:
    instance.run_storage.set_cursor_values({phase.cursor_key: serialize_value(cursor)})


def evaluate(defs: dg.Definitions, instance: dg.DagsterInstance, phase: Phase) -> "Requests":
    """One evaluation of the phase's automation conditions from its saved cursor, as runs; the new cursor is
    saved at once (what it requested counts as handled, as with the automation sensor)."""
    result = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=phase.selection, cursor=load_cursor(instance, phase)
    )
    save_cursor(instance, phase, result.cursor)
    return requests_of(result, defs)


def stored_curate_inputs(instance: dg.DagsterInstance) -> str | None:
    return instance.run_storage.get_cursor_values({CURATE_INPUTS_KEY}).get(CURATE_INPUTS_KEY) or None


def save_curate_inputs(instance: dg.DagsterInstance, digest: str) -> None:
    instance.run_storage.set_cursor_values({CURATE_INPUTS_KEY: digest})


def curate_inputs_digest(project: Project) -> str:
    """The files the global layers read that no asset materializes (review decisions and audit labels, the
    benchmarks, the split registry of earlier versions) and the files they write for trainers and DVC (the
    release, rejects, review exports, metrics: `dvc repro` deletes some of them before the stage runs)."""
    digest = hashlib.sha256()
    folders = [project.decisions_dir, project.audit_labels_dir, project.benchmarks_dir, project.splits_dir]
    folders += [project.curated_dir, project.rejects_dir, project.review_export_dir, project.metrics_dir]
    for folder in folders:
        files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
        digest.update(f"{folder.name}:{len(files)}\0".encode())
        digest.update(files_digest(files).encode())
    return digest.hexdigest()


@dataclass
class RawRecord:
    """The latest materialization of one raw partition (or of an unpartitioned raw asset)."""

    source_digest: str | None
    code_version: str | None


def latest_raw_records(instance: dg.DagsterInstance, asset: str) -> dict[str | None, RawRecord]:
    """{partition key (None: unpartitioned): the latest materialization's source digest and code version}."""
    out: dict[str | None, RawRecord] = {}
    cursor = None
    while True:  # newest first, in pages (the event log serves at most 10,000 records at a time)
        page = instance.fetch_materializations(dg.AssetKey(asset), limit=10_000, cursor=cursor, ascending=False)
        for record in page.records:
            event = record.asset_materialization
            if event is None or event.partition in out:
                continue
            digest = event.metadata.get(SOURCE_DIGEST)
            out[event.partition] = RawRecord(
                digest.value if isinstance(digest, dg.TextMetadataValue) else None, event.tags.get(CODE_VERSION_TAG)
            )
        if not page.has_more:
            return out
        cursor = page.cursor


@dataclass
class RawPlan:
    """The raw runs to launch: (asset, partition or None), and the partitions whose input file is gone."""

    runs: list[tuple[str, str | None]] = field(default_factory=list)
    removed: list[tuple[Family, str]] = field(default_factory=list)


def plan_raw(
    project: Project, instance: dg.DagsterInstance, partitions: dict[str, list[str]], raw_code_version: str
) -> RawPlan:
    """A raw partition is (re)ingested when its file is new, its bytes changed or the ingest code or params
    changed; a partition stored before whose file was removed is listed to be forgotten."""
    plan = RawPlan()
    for family in FAMILIES:
        source = SOURCES[family.raw]
        records = latest_raw_records(instance, family.raw)
        if family.partitioned:
            files = {data_file_stem(p): p for p in project.source_files(source)}
            for key in partitions[family.raw]:
                record = records.get(key)
                if (
                    record is None
                    or record.source_digest != files_digest([files[key]])
                    or record.code_version != raw_code_version
                ):
                    plan.runs.append((family.raw, key))
            materialized = instance.get_materialized_partitions(dg.AssetKey(family.raw))
            plan.removed += [(family, key) for key in sorted(materialized - set(partitions[family.raw]))]
        else:
            record = records.get(None)
            current = files_digest(project.source_files(source))
            stored = (project.interim_dir / f"{family.raw}.parquet").is_file()
            if (
                record is None
                or not stored
                or record.source_digest != current
                or record.code_version != raw_code_version
            ):
                plan.runs.append((family.raw, None))
    return plan


def forget_partitions(project: Project, instance: dg.DagsterInstance, removed: Iterable[tuple[Family, str]]) -> int:
    """A removed input file takes its stored partitions with it (files and the instance's records), so no layer
    reads rows whose source is gone; returns how many partitions were forgotten."""
    count = 0
    for family, key in removed:
        for asset in [family.raw, *row_local_keys(family)]:
            (project.interim_dir / asset / f"{key}.parquet").unlink(missing_ok=True)
            instance.wipe_asset_partitions(dg.AssetKey(asset), [key])
        if family.partitions_def is not None and isinstance(family.partitions_def, dg.DynamicPartitionsDefinition):
            instance.delete_dynamic_partition(family.partitions_def.name, key)
        count += 1
    return count


def lost_partitions(project: Project, instance: dg.DagsterInstance) -> list[tuple[Family, str]]:
    """Row-local partitions the instance records but whose file is gone (data/interim was deleted or is
    a fresh clone's): they are forgotten, so automation sees them missing and computes them again."""
    lost = []
    for family in PARTITIONED_FAMILIES:
        for key in sorted(instance.get_materialized_partitions(dg.AssetKey(family.scored))):
            if not all((project.interim_dir / asset / f"{key}.parquet").is_file() for asset in row_local_keys(family)):
                lost.append((family, key))
    return lost


def forget_row_local(project: Project, instance: dg.DagsterInstance, lost: Iterable[tuple[Family, str]]) -> None:
    for family, key in lost:
        for asset in row_local_keys(family):
            (project.interim_dir / asset / f"{key}.parquet").unlink(missing_ok=True)
            instance.wipe_asset_partitions(dg.AssetKey(asset), [key])


def lost_unpartitioned(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[dg.AssetKey]:
    """Unpartitioned assets whose last materialization's stored file (`path` metadata) is gone: forgotten by
    the caller, so the conditions see them missing and compute them again."""
    graph = defs.resolve_asset_graph()
    lost = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.partitions_def is not None or not node.is_materializable:
            continue
        event = instance.get_latest_materialization_event(key)
        path = event.asset_materialization.metadata.get("path") if event and event.asset_materialization else None
        if isinstance(path, dg.PathMetadataValue | dg.TextMetadataValue) and not Path(str(path.value)).exists():
            lost.append(key)
    return lost


def missing_row_local(instance: dg.DagsterInstance) -> list[tuple[Family, str]]:
    """Partitions whose raw partition is stored but whose row-local layers are not (a failed step, a wiped
    partition, an instance from before the layers were partitioned): requested once per `ftdata run`."""
    out = []
    for family in PARTITIONED_FAMILIES:
        raw = instance.get_materialized_partitions(dg.AssetKey(family.raw))
        done = instance.get_materialized_partitions(dg.AssetKey(family.scored))
        out += [(family, key) for key in sorted(raw - done)]
    return out


@dataclass
class Requests:
    """One evaluation's requests as runs: per (row-local job, partition) the asset keys, and the unpartitioned
    asset keys (one run, so the blocking checks gate the release inside it)."""

    partitions: dict[tuple[str, str], set[dg.AssetKey]] = field(default_factory=lambda: defaultdict(set))
    unpartitioned: set[dg.AssetKey] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.partitions or self.unpartitioned)

    def add_family(self, family: Family, key: str | None) -> None:
        keys = {dg.AssetKey(k) for k in row_local_keys(family)}
        if key is None:
            self.unpartitioned |= keys
        else:
            self.partitions[(row_local_job_name(family), key)] |= keys


def family_of(asset_key: dg.AssetKey) -> Family | None:
    name = asset_key.to_user_string()
    return next((f for f in FAMILIES if name in row_local_keys(f)), None)


def requests_of(result: object, defs: dg.Definitions) -> Requests:
    """The requested asset partitions of an evaluation, grouped into runs; an output of a step that cannot run
    one output alone brings the step's other outputs along (a changed quality rule reruns `scored_<family>`,
    not the scrub)."""
    requests = Requests()
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        partitions = result.get_requested_partitions(key) or set()  # type: ignore[attr-defined]
        step = set(graph.get(key).execution_set_asset_keys) or {key}
        family = family_of(key)
        for partition in partitions:
            if family is not None and partition is not None:
                requests.partitions[(row_local_job_name(family), partition)] |= step
            else:
                requests.unpartitioned |= step
    return requests


def registered_partitions(project: Project) -> dict[str, list[str]]:
    """{raw asset: partition keys of the files present}, log days validated by the caller."""
    return {
        family.raw: [data_file_stem(p) for p in project.source_files(SOURCES[family.raw])]
        for family in PARTITIONED_FAMILIES
    }
