"""The deployment configuration in deploy/ loads with Dagster's (and DVC's) own schemas, the executor is chosen
by the environment, partition runs are independent, and the multiprocess executor builds the same dataset.

dagster-k8s and dagster-postgres must be installed (the test extra): without them these tests fail, they
never skip, so a CI that lost the packages cannot pass by testing nothing.
"""

import hashlib
import importlib
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.instance.config import ConcurrencyConfig
from dagster._core.instance.ref import InstanceRef

from ftdata_assets.defs.automation import ROW_LOCAL_PARTITIONED_KEYS, row_local_job_name, row_local_keys
from ftdata_assets.defs.build import build_definitions
from ftdata_assets.defs.executors import (
    EXECUTOR_CONFIG_ENV,
    EXECUTOR_ENV,
    ExecutorSelectionError,
    executor_from_env,
    select_executor,
)
from ftdata_assets.defs.families import PARTITIONED_FAMILIES
from ftdata_assets.defs.runner import (
    QUIET_CONSOLE,
    STEP_PROCESSES_ENV,
    STEP_PROCESSES_MIN_RAW_BYTES,
    PipelineError,
    log_days,
    materialize_all,
    wants_step_processes,
)
from ftdata_assets.project import Project
from tests.conftest import REPO_ROOT, make_project

DEPLOY = REPO_ROOT / "deploy"
JOB_NAMES = ("ingest_production_logs", "ingest_synthetic_batch", "curate")
PARTITIONED_SOURCES = {
    "raw_production_logs": "ingest_production_logs",
    "raw_synthetic": "ingest_synthetic_batch",
}
PG_ENV = {
    "DAGSTER_PG_USERNAME": "ftdata",
    "DAGSTER_PG_PASSWORD": "not-a-real-password",
    "DAGSTER_PG_HOST": "postgres.invalid",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_PORT": "6543",
}
OUTPUT_FOLDERS = ("curated", "rejects", "metrics", "splits", "review/export")


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def file_digests(root: Path, folders: tuple[str, ...]) -> dict[str, str]:
    files = [p for folder in folders for p in (root / "data" / folder).rglob("*") if p.is_file()]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def with_executor(defs: dg.Definitions, executor: dg.ExecutorDefinition | None) -> dg.Definitions:
    """What build.py does with `executor=executor_from_env()`, for a test that picks the executor itself."""
    return defs if executor is None else dg.Definitions.merge(defs, dg.Definitions(executor=executor))


def deployment_job(project_root: str, job_name: str, executor_name: str | None = None) -> dg.JobDefinition:
    """Module-level so that the multiprocess executor can rebuild the job in each step's process."""
    return with_executor(build_definitions(Path(project_root)), select_executor(executor_name)).resolve_job_def(
        job_name
    )


# --- (a) deploy/dagster.yaml is a Dagster instance config -----------------------------------------------------


def instance_ref(tmp_path: Path) -> InstanceRef:
    """Dagster's own loader: `dagster_instance_config` validates the file against the instance schema and
    turns each block into the ConfigurableClassData the instance would rehydrate. Nothing connects yet."""
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy2(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    return InstanceRef.from_dir(str(home))


def class_config(data) -> tuple[type, Any]:
    """Validate a block against its class's config schema with env vars resolved, as rehydrate() does just
    before it instantiates; the storage and the K8s launcher are not instantiated, since that connects to
    Postgres and to the Kubernetes API."""
    klass = getattr(importlib.import_module(data.module_name), data.class_name)
    result = process_config(resolve_to_config_type(klass.config_type()), data.config_dict)
    assert result.success, f"{data.class_name}: {[e.message for e in result.errors]}"
    return klass, result.value


def test_instance_config_validates_against_dagsters_schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in PG_ENV.items():
        monkeypatch.setenv(key, value)
    ref = instance_ref(tmp_path)

    storage_class, storage = class_config(ref.storage_data)
    assert storage_class.__name__ == "DagsterPostgresStorage"
    assert storage["postgres_db"] == {
        "username": "ftdata",
        "password": "not-a-real-password",
        "hostname": "postgres.invalid",
        "db_name": "dagster",
        "port": 6543,
        "params": {"sslmode": "require"},
        "scheme": "postgresql",
    }
    for data in (ref.run_storage_data, ref.event_storage_data, ref.schedule_storage_data):
        assert data.module_name == "dagster_postgres"
        class_config(data)

    launcher_class, launcher = class_config(ref.run_launcher_data)
    assert launcher_class.__name__ == "K8sRunLauncher"
    assert launcher["postgres_password_secret"] == "dagster-postgresql-secret"
    assert launcher["load_incluster_config"] is True

    for data in (ref.scheduler_data, ref.compute_logs_data, ref.local_artifact_storage_data):
        class_config(data)
    coordinator = ref.run_coordinator_data.rehydrate()  # no connection: instantiate it for real
    assert type(coordinator).__name__ == "QueuedRunCoordinator"
    queue = ConcurrencyConfig.from_concurrency_settings(
        ref.settings.get("concurrency", {}), coordinator.get_run_queue_config()
    ).run_queue_config
    assert queue is not None and queue.max_concurrent_runs == 8
    limits = {limit["key"]: limit for limit in queue.tag_concurrency_limits}
    assert limits["ftdata/exclusive"] == {"key": "ftdata/exclusive", "value": "curate", "limit": 1}
    assert limits["dagster/backfill"]["value"] == {"applyLimitPerUniqueValue": True}

    assert ref.settings["telemetry"] == {"enabled": False}
    assert ref.settings["run_monitoring"]["enabled"] is True


def test_instance_config_holds_no_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    postgres_db = read_yaml(DEPLOY / "dagster.yaml")["storage"]["postgres"]["postgres_db"]
    from_env = {key: value["env"] for key, value in postgres_db.items() if isinstance(value, dict) and "env" in value}
    assert set(postgres_db) - set(from_env) == {"params"}, "every connection field must come from an env var"
    assert set(from_env.values()) == set(PG_ENV)
    for key, value in PG_ENV.items():
        if key != "DAGSTER_PG_PASSWORD":
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("DAGSTER_PG_PASSWORD", raising=False)
    ref = instance_ref(tmp_path)
    klass = getattr(importlib.import_module(ref.storage_data.module_name), ref.storage_data.class_name)
    result = process_config(resolve_to_config_type(klass.config_type()), ref.storage_data.config_dict)
    assert not result.success
    assert "DAGSTER_PG_PASSWORD" in " ".join(error.message for error in result.errors)


def test_helm_values_agree_with_the_instance_and_the_image() -> None:
    values = read_yaml(DEPLOY / "helm" / "values.yaml")
    instance = read_yaml(DEPLOY / "dagster.yaml")

    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert values["dagster-user-deployments"]["enabled"] is True
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "ftdata_assets.definitions"]
    assert importlib.util.find_spec("ftdata_assets.definitions") is not None
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    env = {item["name"]: item["value"] for item in deployment["env"]}
    assert env[EXECUTOR_ENV] == "k8s"
    mounts = {mount["mountPath"]: mount["name"] for mount in deployment["volumeMounts"]}
    claims = {volume["name"]: volume["persistentVolumeClaim"]["claimName"] for volume in deployment["volumes"]}
    assert mounts[env["FTDATA_PROJECT_DIR"]] in claims, "FTDATA_PROJECT_DIR must be the mounted project volume"

    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "pip install -c constraints.txt -e '.[k8s]'" in dockerfile
    assert "WORKDIR /app" in dockerfile and "COPY deploy ./deploy" in dockerfile
    assert '"-m", "ftdata_assets.definitions"' in dockerfile
    image_path = Path(env[EXECUTOR_CONFIG_ENV])
    assert image_path.parts[:2] == ("/", "app") and (REPO_ROOT / image_path.relative_to("/app")).is_file()

    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["telemetry"] == {"enabled": False} and instance["telemetry"] == {"enabled": False}
    assert values["postgresql"]["enabled"] is False and values["generatePostgresqlPasswordSecret"] is False
    secret = values["global"]["postgresqlSecretName"]
    assert secret == instance["run_launcher"]["config"]["postgres_password_secret"]
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    coordinator = instance["run_coordinator"]["config"]
    assert queued["maxConcurrentRuns"] == coordinator["max_concurrent_runs"]
    assert queued["tagConcurrencyLimits"] == coordinator["tag_concurrency_limits"]


def test_dvc_remote_commands_keep_secrets_in_config_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every `dvc remote modify` line of deploy/dvc-remote-s3.md on a copy of the repository's DVC config."""
    from configparser import ConfigParser

    from dvc.cli import main as dvc_main

    shutil.copytree(
        REPO_ROOT / ".dvc", tmp_path / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp", "config.local")
    )
    monkeypatch.chdir(tmp_path)
    text = (DEPLOY / "dvc-remote-s3.md").read_text()
    commands = [
        shlex.split(line)
        for block in re.findall(r"```sh\n(.*?)```", text, re.S)
        for line in block.splitlines()
        if line.startswith("dvc remote modify")
    ]
    assert len(commands) >= 6
    for command in commands:
        assert dvc_main(command[1:]) == 0, command

    def remotes(path: Path) -> dict[str, dict[str, str]]:
        parser = ConfigParser()
        parser.read(path)
        return {section.split('"')[1]: dict(parser[section]) for section in parser.sections() if '"' in section}

    committed, local = remotes(tmp_path / ".dvc" / "config"), remotes(tmp_path / ".dvc" / "config.local")
    buckets = {name: remote["url"].split("/")[2] for name, remote in committed.items()}
    assert set(buckets) == {"curated", "raw"} and buckets["curated"] != buckets["raw"]
    assert all(remote["url"].startswith("s3://") for remote in committed.values())
    secrets = {"access_key_id", "secret_access_key", "session_token"}
    assert not any(secrets & set(remote) for remote in committed.values()), "credentials in the committed config"
    assert all({"access_key_id", "secret_access_key"} <= set(local[name]) for name in ("curated", "raw"))
    core = ConfigParser()
    core.read(tmp_path / ".dvc" / "config")
    assert "remote" not in core["core"], "no default remote: every output names its own"
    assert "/config.local" in (REPO_ROOT / ".dvc" / ".gitignore").read_text().split()


# --- (b) deploy/executor.yaml and how the executor is chosen --------------------------------------------------


def test_executor_yaml_validates_for_the_k8s_job_executor_and_every_job() -> None:
    from dagster_k8s import k8s_job_executor  # the test extra installs it: a missing package fails here

    run_config = read_yaml(DEPLOY / "executor.yaml")
    executor_config = run_config["execution"]["config"]
    result = process_config(k8s_job_executor.config_schema.config_type, executor_config)
    assert result.success, [error.message for error in result.errors]
    assert executor_config["max_concurrent"] >= 1
    assert executor_config["step_k8s_config"]["container_config"]["resources"]["requests"]

    defs = with_executor(build_definitions(REPO_ROOT), k8s_job_executor)
    steps = set()
    for name in JOB_NAMES:
        job = defs.resolve_job_def(name)
        assert job.executor_def is k8s_job_executor
        dg.validate_run_config(job, run_config)
        steps |= {node.name for node in job.graph.nodes}
    # Dagster does not check these keys: a renamed asset would silently lose its resources
    assert set(executor_config["per_step_k8s_config"]) <= steps


def test_executor_yaml_can_be_baked_into_the_executor() -> None:
    executor = select_executor("k8s", DEPLOY / "executor.yaml")
    assert executor is not None and executor.name == "k8s"
    defs = with_executor(build_definitions(REPO_ROOT), executor)
    for name in JOB_NAMES:
        dg.validate_run_config(defs.resolve_job_def(name), {})  # no run config needed any more


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({EXECUTOR_ENV: ""}, None),
        ({EXECUTOR_ENV: "default"}, None),
        ({EXECUTOR_ENV: "multiprocess"}, "multiprocess"),
        ({EXECUTOR_ENV: "in_process"}, "in_process"),
        ({EXECUTOR_ENV: "k8s"}, "k8s"),
        ({EXECUTOR_ENV: "k8s", EXECUTOR_CONFIG_ENV: str(DEPLOY / "executor.yaml")}, "k8s"),
    ],
)
def test_executor_from_env(environ: dict[str, str], expected: str | None) -> None:
    executor = executor_from_env(environ)
    assert (executor.name if executor else None) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({EXECUTOR_ENV: "celery"}, "expected one of"),
        ({EXECUTOR_CONFIG_ENV: str(DEPLOY / "executor.yaml")}, "say which executor"),
        ({EXECUTOR_ENV: "k8s", EXECUTOR_CONFIG_ENV: "/nonexistent/executor.yaml"}, "no such file"),
        ({EXECUTOR_ENV: "k8s", EXECUTOR_CONFIG_ENV: str(DEPLOY / "dagster.yaml")}, "no `execution: config:`"),
    ],
)
def test_executor_from_env_rejects_mistakes(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ExecutorSelectionError, match=message):
        executor_from_env(environ)


def test_a_multiprocess_executor_config_is_checked_too() -> None:
    """deploy/executor.yaml is k8s-only: baked into the multiprocess executor, its k8s fields are refused."""
    defs = with_executor(build_definitions(REPO_ROOT), select_executor("multiprocess", DEPLOY / "executor.yaml"))
    with pytest.raises(dg.DagsterInvalidConfigError, match="job_namespace"):
        dg.validate_run_config(defs.resolve_job_def("curate"), {})


# --- (c) per-partition steps are independent ------------------------------------------------------------------


def test_partitioned_sources_are_roots_and_each_partition_run_is_one_step() -> None:
    defs = build_definitions(REPO_ROOT)
    graph = defs.resolve_asset_graph()
    partitioned = {key.to_user_string() for key in graph.get_all_asset_keys() if graph.get(key).is_partitioned}
    assert partitioned == set(PARTITIONED_SOURCES) | set(ROW_LOCAL_PARTITIONED_KEYS)
    for asset_name, job_name in PARTITIONED_SOURCES.items():
        node = graph.get(dg.AssetKey(asset_name))
        assert node.parent_keys == set(), f"{asset_name} must read only its own file"
        job = defs.resolve_job_def(job_name)
        assert job.asset_layer.selected_asset_keys == {node.key}
        assert [n.name for n in job.graph.nodes] == [asset_name]
        assert job.partitions_def == node.partitions_def
    for family in PARTITIONED_FAMILIES:
        # a row-local partition reads its own raw partition only (identity mapping), fan-in only at the unions
        for key in row_local_keys(family):
            node = graph.get(dg.AssetKey(key))
            assert node.partitions_def == graph.get(dg.AssetKey(family.raw)).partitions_def
            for child in node.child_keys:
                assert graph.get(child).is_partitioned == (child.to_user_string() in ROW_LOCAL_PARTITIONED_KEYS)
        job = defs.resolve_job_def(row_local_job_name(family))
        assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == set(row_local_keys(family))


def run_reports(instance: dg.DagsterInstance) -> list[dict[str, Any]]:
    """Per run on the instance: job, partition, status, the pids its steps ran in, steps and materializations."""
    reports = []
    for run in instance.get_runs():
        events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.dagster_event is not None]
        reports.append(
            {
                "job": run.job_name,
                "partition": run.tags.get("dagster/partition"),
                "success": run.status == dg.DagsterRunStatus.SUCCESS,
                "pids": {e.pid for e in events if e.is_step_start},
                "steps": sorted(e.step_key for e in events if e.is_step_success),
                "materialized": sorted(
                    (e.asset_key.to_user_string(), e.partition) for e in events if e.is_step_materialization
                ),
            }
        )
    return reports


@pytest.fixture(scope="module")
def parallel_project(tmp_path_factory: pytest.TempPathFactory, materialized_project: Path) -> tuple[Path, list]:
    """A fresh project with the same raw files as `materialized_project` (built in this process by
    `materialize_all`), rebuilt by `materialize_all` as it does large inputs: the partition runs two at a
    time in worker processes, then `curate` with one process per step, two at a time."""
    root = make_project(tmp_path_factory.mktemp("parallel"), with_sample=False)
    shutil.copytree(materialized_project / "data" / "raw", root / "data" / "raw", dirs_exist_ok=True)
    home = root / "dagster_home"
    home.mkdir()
    # as in deploy/dagster.yaml: no per-step stdout capture (it costs two helper processes per step)
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "compute_logs:\n  module: dagster.core.storage.noop_compute_log_manager\n  class: NoOpComputeLogManager\n"
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        materialize_all(root, instance, progress=lambda _: None, step_processes=True)
        reports = run_reports(instance)
    return root, reports


def test_partitions_ingested_in_parallel_processes_match_the_sequential_run(
    parallel_project: tuple[Path, list], materialized_project: Path
) -> None:
    root, reports = parallel_project
    project = Project(root)
    partitions = len(log_days(project)) + len(project.source_files("synthetic"))
    ingest_runs = [report for report in reports if report["job"] in PARTITIONED_SOURCES.values()]
    row_local_runs = [report for report in reports if report["job"].startswith("prepare_")]
    assert len(ingest_runs) == len(row_local_runs) == partitions
    for runs in (ingest_runs, row_local_runs):
        worker_pids = set().union(*(report["pids"] for report in runs))
        assert len(worker_pids) == 2 and os.getpid() not in worker_pids, "partition runs did not share two workers"
    for report in ingest_runs:
        asset = next(a for a, job in PARTITIONED_SOURCES.items() if job == report["job"])
        assert report["success"], report
        assert report["steps"] == [asset]
        assert report["materialized"] == [(asset, report["partition"])], "a run touched another partition"
    for report in row_local_runs:
        assert report["success"], report
        assert {partition for _, partition in report["materialized"]} == {report["partition"]}, report
    folders = tuple(f"interim/{asset}" for asset in [*PARTITIONED_SOURCES, *ROW_LOCAL_PARTITIONED_KEYS])
    parallel = file_digests(root, folders)
    assert len(parallel) == partitions * (1 + len(ROW_LOCAL_PARTITIONED_KEYS) // len(PARTITIONED_FAMILIES))
    assert parallel == file_digests(materialized_project, folders)


# --- (d) the multiprocess executor builds the same dataset as the in-process run -----------------------------


def test_multiprocess_curate_run_is_byte_identical_to_the_in_process_run(
    parallel_project: tuple[Path, list], materialized_project: Path
) -> None:
    """What `materialize_all` runs on large inputs: `curate` with one process per step, two at a time."""
    root, reports = parallel_project
    curate_runs = [report for report in reports if report["job"] == "curate"]
    assert all(report["success"] for report in curate_runs)
    curate = max(curate_runs, key=lambda report: len(report["steps"]))  # the global layers' run
    assert len(curate["pids"]) > 1 and os.getpid() not in curate["pids"], "steps did not run in processes of their own"
    multiprocess = file_digests(root, OUTPUT_FOLDERS)
    assert len(multiprocess) > 20
    assert multiprocess == file_digests(materialized_project, OUTPUT_FOLDERS)


def test_a_partition_worker_leaves_when_the_pipeline_process_is_killed() -> None:
    """SIGKILL of `ftdata run` must not leave idle worker processes behind (they would wait forever)."""
    parent = subprocess.Popen(["sleep", "60"])
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from ftdata_assets.defs.runner import exit_with_parent\n"
            f"exit_with_parent({parent.pid})\n"
            "print('watching', flush=True)\n"
            "time.sleep(60)\n",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline() == "watching\n"
        time.sleep(1.5)
        assert worker.poll() is None, "the worker left while its parent was alive"
        parent.kill()
        parent.wait()
        assert worker.wait(timeout=10) == 1
    finally:
        parent.kill()
        worker.kill()


def test_ftdata_materialize_stays_in_process_when_a_deployment_picks_k8s(
    tmp_path: Path, materialized_project: Path
) -> None:
    """execute_in_process (the DVC stage) ignores the code location's executor: FTDATA_EXECUTOR=k8s is safe."""
    root = make_project(tmp_path / "p", with_sample=False)
    day = log_days(Project(materialized_project))[0]
    logs = root / "data" / "raw" / "logs"
    logs.mkdir(parents=True)
    shutil.copy2(Project(materialized_project).partition_file("production_log", day), logs)
    job = deployment_job(str(root), "ingest_production_logs", "k8s")
    assert job.executor_def.name == "k8s"
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, partition_key=day, run_config=QUIET_CONSOLE)
    assert result.success
    assert {e.pid for e in result.all_events if e.is_step_start} == {os.getpid()}


def test_large_inputs_get_one_process_per_curate_step_unless_the_environment_says_otherwise(tmp_path: Path) -> None:
    project = Project(make_project(tmp_path / "p", with_sample=False))
    logs = project.raw_dir / "logs"
    logs.mkdir(parents=True)
    small = logs / "2026-11-01.jsonl"
    small.write_text("{}\n")
    assert not wants_step_processes(project, {})
    with (logs / "2026-11-02.jsonl").open("wb") as handle:  # sparse: the size counts, not the blocks
        handle.truncate(STEP_PROCESSES_MIN_RAW_BYTES)
    assert wants_step_processes(project, {})
    assert not wants_step_processes(project, {STEP_PROCESSES_ENV: "0"})
    assert wants_step_processes(Project(tmp_path / "empty"), {STEP_PROCESSES_ENV: "1"})
    with pytest.raises(PipelineError, match=STEP_PROCESSES_ENV):
        wants_step_processes(project, {STEP_PROCESSES_ENV: "sometimes"})
