"""Run the whole graph on a Dagster instance: every log day, every synthetic batch, then curation.

This is what the DVC stage runs. Each partition is its own run, as the schedule and the sensor would launch
it, so the run history in the UI looks the same whether data came in by schedule or by `ftdata run`. On
large inputs (see STEP_PROCESSES_MIN_RAW_BYTES) the partition runs go two at a time in worker processes and
`curate` runs one process per step; the bytes are the same.
"""

import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
from dagster._core.execution.job_execution_result import JobExecutionResult

from ftdata_assets.atomic_files import remove_stale_temp_files
from ftdata_assets.defs import planning
from ftdata_assets.defs.automation import ROW_LOCAL_PARTITIONED_KEYS
from ftdata_assets.defs.build import build_definitions
from ftdata_assets.defs.families import Family
from ftdata_assets.defs.partitions import LOGS_START_DATE, synthetic_batches
from ftdata_assets.defs.resources import PARAMS_GROUP_TAG, params_group_dir, run_snapshot
from ftdata_assets.project import RAW_SOURCE_DIRS, Project, data_file_stem

QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""The terminal gets progress lines and warnings; the full event log is in the instance (and the UI)."""

STEP_PROCESSES_ENV = "FTDATA_STEP_PROCESSES"
STEP_PROCESSES_MIN_RAW_BYTES = 200 * 2**20
"""From this much raw data on, `curate` runs one process per step (Dagster's multiprocess executor): a
step's memory goes back to the system when it ends, instead of piling up in one process over 30 steps, and
independent steps (checks, the review and release branches) run side by side on the two cores. The partition
runs (independent by construction: each reads one file, writes one partition) go MAX_CONCURRENT_STEPS at a
time in worker processes too. Below it, the ~1 s a process costs is not worth it. FTDATA_STEP_PROCESSES=1 or
0 forces either way."""
STEP_PROCESS_PRELOAD = ["dagster", "polars", "great_expectations", "ftdata_assets.defs.build", __name__]
"""Imported once by the forkserver, so every step process starts with them loaded."""
MAX_CONCURRENT_STEPS = 2
INGEST_JOBS = {"raw_production_logs": "ingest_production_logs", "raw_synthetic": "ingest_synthetic_batch"}
NOT_IN_CURATE = {"raw_production_logs", "raw_synthetic", *ROW_LOCAL_PARTITIONED_KEYS}
"""Assets the curate job does not hold (the partitioned ones): never 'never materialized' for the final check."""


def curate_job(project_root: str) -> dg.JobDefinition:
    """`curate` on the multiprocess executor; module level, so each step process can rebuild it by name."""
    return build_definitions(Path(project_root)).resolve_job_def("curate").with_executor_def(dg.multiprocess_executor)


def wants_step_processes(project: Project, environ: Mapping[str, str] | None = None) -> bool:
    """FTDATA_STEP_PROCESSES if set (1/0), else whether data/raw holds STEP_PROCESSES_MIN_RAW_BYTES."""
    value = (os.environ if environ is None else environ).get(STEP_PROCESSES_ENV, "").strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    if value:
        raise PipelineError(f"{STEP_PROCESSES_ENV}={value!r}: expected 1 or 0")
    raw = project.raw_dir
    total = sum(p.stat().st_size for p in raw.rglob("*") if p.is_file()) if raw.is_dir() else 0
    return total >= STEP_PROCESSES_MIN_RAW_BYTES


def run_curate_in_step_processes(
    project_root: Path,
    instance: dg.DagsterInstance,
    tags: Mapping[str, str],
    asset_selection: list[dg.AssetKey] | None = None,
) -> JobExecutionResult:
    job = dg.build_reconstructable_job(__name__, curate_job.__name__, (str(project_root),))
    start = {"forkserver": {"preload_modules": STEP_PROCESS_PRELOAD}}
    execution = {"config": {"max_concurrent": MAX_CONCURRENT_STEPS, "start_method": start}}
    return dg.execute_job(
        job,
        instance=instance,
        run_config={**QUIET_CONSOLE, "execution": execution},
        tags=dict(tags),
        asset_selection=asset_selection,
    )


class PipelineError(RuntimeError):
    """A run failed; the message says which step and why, for the terminal."""


@dataclass
class RunReport:
    steps: list[tuple[str, float]] = field(default_factory=list)
    wall_s: float = 0.0
    """Elapsed time of the whole rebuild (partition runs may overlap, so not the sum of the steps)."""


@dataclass(frozen=True)
class RunOutcome:
    """What the terminal needs from one finished run; picklable, so a worker process can send it back."""

    label: str
    seconds: float
    success: bool
    failure: str
    warned_checks: tuple[str, ...]
    failed_checks: tuple[str, ...]


def run_outcome(label: str, seconds: float, result: dg.ExecuteInProcessResult | JobExecutionResult) -> RunOutcome:
    evaluations = result.get_asset_check_evaluations() if result.success else []

    def checks(severity: dg.AssetCheckSeverity) -> tuple[str, ...]:
        return tuple(
            f"{e.asset_key.to_user_string()}:{e.check_name}"
            for e in evaluations
            if not e.passed and e.severity == severity
        )

    return RunOutcome(
        label,
        seconds,
        result.success,
        "" if result.success else failure_summary(result),
        checks(dg.AssetCheckSeverity.WARN),
        checks(dg.AssetCheckSeverity.ERROR),
    )


@dataclass(frozen=True)
class PlannedRun:
    """One run to launch: a job, its partition (None: unpartitioned) and the assets it materializes (None: all
    of the job's); picklable, for a worker process."""

    job_name: str
    partition: str | None
    assets: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        where = f"[{self.partition}]" if self.partition is not None else ""
        return f"{self.job_name}{where}"

    def asset_keys(self) -> list[dg.AssetKey] | None:
        return None if self.assets is None else [dg.AssetKey.from_user_string(a) for a in self.assets]


def execute_partition_run(
    defs: dg.Definitions, instance: dg.DagsterInstance, run: PlannedRun, tags: Mapping[str, str]
) -> RunOutcome:
    started = time.perf_counter()
    result = defs.resolve_job_def(run.job_name).execute_in_process(
        instance=instance,
        partition_key=run.partition,
        asset_selection=run.asset_keys(),
        raise_on_error=False,
        run_config=QUIET_CONSOLE,
        tags=dict(tags),
    )
    return run_outcome(run.label, time.perf_counter() - started, result)


def exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: leave when the parent is gone (SIGKILL included), instead of idling forever.

    A run cut short this way is like a killed run: its outputs are written to temp files and renamed, so
    nothing partial is visible, and the next `materialize_all` removes the temp files."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except (ProcessLookupError, PermissionError):  # PermissionError: the pid now belongs to another user
                os._exit(1)

    threading.Thread(target=watch, name="ftdata-exit-with-parent", daemon=True).start()


_worker_defs: dict[str, dg.Definitions] = {}


def _partition_run_in_worker(
    project_root: str, instance_ref: object, run: PlannedRun, tags: Mapping[str, str]
) -> RunOutcome:
    """One partition run in a worker process, on the caller's (shared, persistent) instance."""
    defs = _worker_defs.get(project_root)
    if defs is None:
        defs = _worker_defs[project_root] = build_definitions(Path(project_root))
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        return execute_partition_run(defs, instance, run, tags)


def partition_runs_in_this_process(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    runs: list[PlannedRun],
    progress: Callable[[str], None],
    tags: Mapping[str, str],
) -> Generator[RunOutcome, None, None]:
    for index, run in enumerate(runs, start=1):
        progress(f"[{index}/{len(runs)}] {run.label} ...")
        yield execute_partition_run(defs, instance, run, tags)


def partition_runs_in_workers(
    project_root: Path, instance: dg.DagsterInstance, runs: list[PlannedRun], tags: Mapping[str, str]
) -> Generator[RunOutcome, None, None]:
    """The partition runs, MAX_CONCURRENT_STEPS at a time in worker processes, yielded in the order given.

    When the caller stops iterating (a run failed), runs not started yet are cancelled; the ones running
    finish (each writes only its own partition)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(STEP_PROCESS_PRELOAD)
    pool = ProcessPoolExecutor(
        max_workers=MAX_CONCURRENT_STEPS, mp_context=context, initializer=exit_with_parent, initargs=(os.getpid(),)
    )
    ref = instance.get_ref()
    futures: list[Future[RunOutcome]] = [
        pool.submit(_partition_run_in_worker, str(project_root), ref, run, dict(tags)) for run in runs
    ]
    try:
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def log_days(project: Project) -> list[str]:
    """Partition keys of the log files present; a file that is not a valid day is an error, not skipped."""
    days = []
    for path in project.source_files("production_log"):
        key = data_file_stem(path)
        try:
            day = date.fromisoformat(key)
        except ValueError:
            raise PipelineError(f"log file {path} is not named <YYYY-MM-DD>.<ext>; rename it") from None
        if day < date.fromisoformat(LOGS_START_DATE):
            raise PipelineError(f"log file {path} is before the first log day {LOGS_START_DATE}")
        days.append(key)
    return days


def output_dirs(project: Project) -> list[Path]:
    """The folders the pipeline writes (and nobody else does): where an interrupted run can leave temp files."""
    return [
        project.interim_dir,
        project.curated_dir,
        project.rejects_dir,
        project.splits_dir,
        project.review_export_dir,
        project.metrics_dir,
    ]


MAX_EVALUATIONS = 8
"""Automation evaluations per phase of one `ftdata run` (each takes one or two); more means a condition keeps
requesting, which is reported instead of looping."""


@dataclass
class Session:
    """One `ftdata run`: where it runs and how, and what it has done so far."""

    project: Project
    defs: dg.Definitions
    instance: dg.DagsterInstance
    tags: dict[str, str]
    step_processes: bool
    progress: Callable[[str], None]
    report: RunReport = field(default_factory=RunReport)
    ran_release: bool = False

    def run_partitions(self, runs: list[PlannedRun]) -> None:
        """Partition runs (independent by construction: each reads and writes its own partition)."""
        if not runs:
            return
        if self.step_processes and len(runs) > 1:
            self.progress(f"{len(runs)} partition runs, {MAX_CONCURRENT_STEPS} at a time in worker processes ...")
            outcomes = partition_runs_in_workers(self.project.root, self.instance, runs, self.tags)
        else:
            outcomes = partition_runs_in_this_process(self.defs, self.instance, runs, self.progress, self.tags)
        try:
            for index, outcome in enumerate(outcomes, start=1):
                record_outcome(self.report, outcome, f"[{index}/{len(runs)}]", self.progress)
        finally:
            outcomes.close()  # on a failure: cancel the runs not started yet now, not when the traceback is freed

    def run_unpartitioned(self, label: str, assets: set[dg.AssetKey] | None) -> None:
        """One run of the curate job (all of it, or the assets given), so blocking checks gate what follows."""
        selection = None if assets is None else sorted(assets, key=lambda k: k.to_user_string())
        names = "all" if selection is None else f"{len(selection)} assets"
        self.progress(f"{label} ({names}) ...")
        started = time.perf_counter()
        # until it succeeds, the next run rebuilds the unpartitioned layers: a killed or failed run must not
        # leave its requests handled and its outputs stale
        planning.save_curate_inputs(self.instance, planning.PENDING)
        if self.step_processes:
            result = run_curate_in_step_processes(self.project.root, self.instance, self.tags, selection)
        else:
            result = self.defs.resolve_job_def("curate").execute_in_process(
                instance=self.instance,
                asset_selection=selection,
                raise_on_error=False,
                run_config=QUIET_CONSOLE,
                tags=self.tags,
            )
        outcome = run_outcome(label, time.perf_counter() - started, result)
        record_outcome(self.report, outcome, "", self.progress)
        if selection is None or planning.FINAL_ASSET in selection:
            self.ran_release = True

    def run_automation(self, catch_up: list[tuple[Family, str]], rebuild_global: str | None = None) -> None:
        """The row-local phase until nothing more is requested, then the global one (planning.PHASES), so
        the global layers run once and never see a family half updated. `catch_up`: row-local partitions
        to compute whatever the conditions say (their raw partition is stored, they are not).
        `rebuild_global` (why): every global layer runs, whatever the conditions say; they are evaluated
        first, so what they saw counts as handled and the next run does not repeat the work."""
        for phase in planning.PHASES:
            if rebuild_global is not None and phase is planning.PHASES[1]:
                planning.evaluate(self.defs, self.instance, phase)
                selection = phase.selection.resolve(self.defs.resolve_asset_graph())
                self.run_unpartitioned(f"curate ({rebuild_global})", set(selection))
                # and after: their own updates count as seen, or they would mask the next partition's update
                # (an update of an asset and of its input in one evaluation reads as handled)
                planning.evaluate(self.defs, self.instance, phase)
                continue
            for _ in range(MAX_EVALUATIONS):
                requests = planning.evaluate(self.defs, self.instance, phase)
                for family, key in catch_up if phase is planning.PHASES[0] else []:
                    requests.add_family(family, key)
                catch_up = []
                if not requests:
                    break
                runs = [
                    PlannedRun(job, key, tuple(sorted(k.to_user_string() for k in keys)))
                    for (job, key), keys in sorted(requests.partitions.items())
                ]
                self.progress(
                    f"{phase.name}: {len(runs)} partition run(s)"
                    + (f", {len(requests.unpartitioned)} unpartitioned asset(s)" if requests.unpartitioned else "")
                )
                self.run_partitions(runs)
                if requests.unpartitioned:
                    self.run_unpartitioned(phase.name, requests.unpartitioned)
            else:
                raise PipelineError(
                    f"the {phase.name} conditions still request runs after {MAX_EVALUATIONS} evaluations"
                )


def run_automation(
    project_root: Path, instance: dg.DagsterInstance, progress: Callable[[str], None] = print
) -> RunReport:
    """What the two automation sensors of a deployment do, in-process: evaluate the conditions and run what they
    request until nothing is (after the schedule or the batch sensor ingested a partition, say)."""
    project = Project(project_root)
    defs = build_definitions(project_root)
    session = Session(project, defs, instance, params_group_tags(project, instance), False, progress)
    session.run_automation([])
    return session.report


def materialize_all(
    project_root: Path,
    instance: dg.DagsterInstance,
    progress: Callable[[str], None] = print,
    step_processes: bool | None = None,
) -> RunReport:
    """Bring every asset up to date with data/raw, computing only what changed.

    1. Inputs: a new, edited or removed raw file (or a changed ingest code version) is (re)ingested or
       forgotten, as the schedule and the batch sensor would do in a deployment.
    2. Automation: the assets' own conditions (automation.py) are evaluated in-process against the instance, as
       Dagster's automation sensor would, and what they request is run: the row-local layers of the new or
       changed partitions, one run per partition, then the global layers in one run.
    3. Inputs outside the graph (review files, benchmarks, the split registry) changed, or the last global run
       failed: the global layers run again.

    Temp files that a killed run left beside its outputs are removed first (every output is written to a
    hidden temp file and renamed, so a kill leaves whole files and, at most, such a temp file).
    `step_processes` overrides `wants_step_processes`."""
    project = Project(project_root)
    unexpected = project.unexpected_raw_entries()
    if unexpected:
        names = ", ".join(str(p.relative_to(project.raw_dir)) for p in unexpected)
        raise PipelineError(
            f"{project.raw_dir} holds entries that belong to no source: {names}; inputs go in "
            f"{', '.join(f'{d}/' for d in RAW_SOURCE_DIRS.values())}"
        )
    defs = build_definitions(project_root)
    stale = remove_stale_temp_files(output_dirs(project))
    if stale:
        names = ", ".join(str(p.relative_to(project.root)) for p in stale[:5]) + (" ..." if len(stale) > 5 else "")
        progress(f"removed {len(stale)} temp file(s) an interrupted run left behind: {names}")

    log_days(project)  # a file that is not a valid day is an error, not skipped
    partitions = planning.registered_partitions(project)
    known = set(instance.get_dynamic_partitions(synthetic_batches.name))
    new_batches = [b for b in partitions["raw_synthetic"] if b not in known]
    if new_batches:
        instance.add_dynamic_partitions(synthetic_batches.name, new_batches)

    # step processes write to the instance themselves: an in-memory (ephemeral) one cannot be shared
    if step_processes is None:
        step_processes = wants_step_processes(project)
    step_processes = step_processes and not instance.is_ephemeral
    if step_processes:
        progress(
            f"large input: partition runs {MAX_CONCURRENT_STEPS} at a time in worker processes, curate one process "
            f"per step, {MAX_CONCURRENT_STEPS} at a time"
        )
    session = Session(project, defs, instance, params_group_tags(project, instance), step_processes, progress)
    started = time.perf_counter()
    for phase in planning.PHASES:  # the conditions compare with the last evaluation: take one before any change
        if planning.load_cursor(instance, phase) is None:
            planning.evaluate(defs, instance, phase)

    graph = defs.resolve_asset_graph()
    rebuild_global = why_rebuild_global(project, instance, graph)  # before any run changes the outputs
    raw_version = graph.get(dg.AssetKey("raw_expert")).code_version or ""
    raw = planning.plan_raw(project, instance, partitions, raw_version)
    lost = planning.lost_partitions(project, instance)
    if raw.removed:
        forgotten = planning.forget_partitions(project, instance, raw.removed)
        progress(f"{forgotten} partition(s) whose raw file was removed forgotten: {raw.removed[0][1]} ...")
    if lost:
        planning.forget_row_local(project, instance, lost)
        progress(f"{len(lost)} stored partition(s) lost their files; they are computed again")
    lost_assets = planning.lost_unpartitioned(defs, instance)
    if lost_assets:
        instance.wipe_assets(lost_assets)
        rebuild_global = rebuild_global or "stored files of global layers were removed"
        progress(f"{len(lost_assets)} stored asset(s) lost their files ({lost_assets[0].to_user_string()} ...)")
    partition_runs = [PlannedRun(INGEST_JOBS[asset], key) for asset, key in raw.runs if key is not None]
    folder_assets = tuple(asset for asset, key in raw.runs if key is None)
    progress(
        f"inputs: {len(partition_runs)} raw partition(s) new or changed"
        + (f", {', '.join(folder_assets)} changed" if folder_assets else "")
    )
    session.run_partitions(partition_runs)
    if folder_assets:
        session.run_unpartitioned("ingest " + ", ".join(folder_assets), {dg.AssetKey(a) for a in folder_assets})

    session.run_automation(planning.missing_row_local(instance), rebuild_global)
    if session.ran_release:
        planning.save_curate_inputs(instance, planning.curate_inputs_digest(project))
    if not session.report.steps:
        progress("everything is up to date")
    session.report.wall_s = time.perf_counter() - started
    return session.report


def why_rebuild_global(project: Project, instance: dg.DagsterInstance, graph: object) -> str | None:
    """Why every global layer must run whatever the automation conditions say, or None: one was never
    materialized, the last global run did not finish, or files the graph does not materialize changed since
    the last release (review files, benchmarks, the split registry; or outputs `dvc repro` deleted)."""
    never = [
        k
        for k in graph.get_all_asset_keys()  # type: ignore[attr-defined]
        if graph.get(k).is_materializable  # type: ignore[attr-defined]
        and k.path[0] not in NOT_IN_CURATE
        and instance.get_latest_materialization_event(k) is None
    ]
    if never:
        return "never materialized: " + never[0].to_user_string()
    stored = planning.stored_curate_inputs(instance)
    if stored == planning.PENDING:
        return "the last run of the global layers did not finish"
    if stored != planning.curate_inputs_digest(project):
        return "review files, benchmarks, splits or outputs changed"
    return None


def params_group_tags(project: Project, instance: dg.DagsterInstance) -> dict[str, str]:
    """The tag that makes every run of this rebuild read one params copy, taken now (none on an instance
    without storage on disk: each run then reads its own copy)."""
    try:
        storage = Path(instance.storage_directory())
    except Exception:  # an ephemeral instance has no storage folder
        return {}
    group = uuid.uuid4().hex
    run_snapshot(project.root, params_group_dir(storage, group))
    return {PARAMS_GROUP_TAG: group}


def record_outcome(report: RunReport, outcome: RunOutcome, position: str, progress: Callable[[str], None]) -> None:
    """Report one finished run on the terminal; a failed run or a failed blocking check stops the rebuild."""
    report.steps.append((outcome.label, outcome.seconds))
    if not outcome.success:
        raise PipelineError(f"{outcome.label} failed: {outcome.failure}")
    for check in outcome.warned_checks:
        progress(f"warning: check {check} failed (WARN, not blocking)")
    if outcome.failed_checks:
        raise PipelineError(f"{outcome.label}: blocking checks failed: {', '.join(outcome.failed_checks)}")
    progress(f"{position} {outcome.label} done in {outcome.seconds:.1f}s")


def failure_summary(result: dg.ExecuteInProcessResult | JobExecutionResult) -> str:
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            cause = error.cause.message.strip() if error.cause else error.message.strip()
            messages.append(f"step {event.step_key}: {cause.splitlines()[-1] if cause else error.message}")
    return "; ".join(messages) or "see the run's logs in the Dagster UI"
