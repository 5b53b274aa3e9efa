"""Incremental curation: a new partition is processed alone, a changed parameter recomputes exactly the
partitions that depend on it, the result equals a from-scratch build byte for byte, and a day the schedule
ingests reaches the splits through the automation conditions alone."""

import filecmp
import json
import random
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from ftdata_assets.defs.automation import daily_log_ingestion
from ftdata_assets.defs.build import build_definitions
from ftdata_assets.defs.runner import RunReport, materialize_all, run_automation
from tests.conftest import make_project

COMPARED = ("curated", "rejects", "splits", "review/export", "metrics")
REGISTRY = Path("data/splits/registry.parquet")


TOPICS = [
    "router",
    "camera",
    "thermostat",
    "doorbell",
    "speaker",
    "hub",
    "sensor",
    "plug",
    "bulb",
    "lock",
    "charger",
    "tablet",
]
ACTIONS = [
    "reset",
    "pair",
    "update",
    "mount",
    "clean",
    "calibrate",
    "rename",
    "share",
    "move",
    "replace",
    "unlock",
    "register",
]
PLACES = ["kitchen", "garage", "attic", "office", "porch", "hallway", "basement", "garden", "nursery", "balcony"]
DETAILS = (
    "after the firmware update it blinks orange twice and the app shows a timeout",
    "the battery drains within a day although motion alerts are switched off",
    "my partner invited me but the invitation link expired before I opened it",
    "the night mode picture is grainy and the infrared light stays off",
    "it keeps dropping off the network whenever the microwave is running",
)


def new_log_day(root: Path, day: str, rows: int = 40, seed: int = 7) -> Path:
    """A log file for `day` with conversations no other day has (new questions, new answers)."""
    rng = random.Random(seed)
    lines = []
    for i in range(rows):
        topic, action, place = rng.choice(TOPICS), rng.choice(ACTIONS), rng.choice(PLACES)
        detail = rng.choice(DETAILS)
        question = f"How do I {action} the {topic} in the {place}? Case {day}-{i}: {detail}."
        answer = (
            f"To {action} the {topic} in the {place}, open the app, choose the {topic} and follow step {i % 5 + 1}; "
            f"since {detail}, check the {rng.choice(TOPICS)} first and restart it after {rng.randint(2, 90)} seconds."
        )
        record = {
            "conversation_id": f"conv-new-{day}-{i}",
            "user_id": f"u-new-{i % 7}",
            "created_at": f"{day}T{8 + i % 12:02d}:{i % 60:02d}:00Z",
            "model": "support-assistant-v3",
            "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
        }
        lines.append(json.dumps(record))
    path = root / "data" / "raw" / "logs" / f"{day}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_labels(report: RunReport, prefix: str) -> list[str]:
    return sorted(label for label, _ in report.steps if label.startswith(prefix))


def materializations(instance: dg.DagsterInstance, asset: str) -> int:
    return len(instance.fetch_materializations(dg.AssetKey(asset), limit=10_000).records)


def differing_files(a: Path, b: Path) -> list[str]:
    out = []
    for folder in COMPARED:
        left, right = a / "data" / folder, b / "data" / folder
        names = {p.relative_to(left) for p in left.rglob("*") if p.is_file()} if left.is_dir() else set()
        names |= {p.relative_to(right) for p in right.rglob("*") if p.is_file()} if right.is_dir() else set()
        out += [
            f"{folder}/{n}"
            for n in sorted(names)
            if not ((left / n).is_file() and (right / n).is_file() and filecmp.cmp(left / n, right / n, shallow=False))
        ]
    return out


@pytest.fixture(scope="module")
def incremental(tmp_path_factory: pytest.TempPathFactory):
    """A built project, its registry before the new day, and the report of the daily run that added it."""
    root = make_project(tmp_path_factory.mktemp("incremental"))
    (root / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(root / "dagster_home")) as instance:
        full = materialize_all(root, instance, progress=lambda _: None)
        registry = tmp_path_factory.mktemp("registry") / "registry.parquet"
        shutil.copy2(root / REGISTRY, registry)
        new_log_day(root, "2026-11-09")
        daily = materialize_all(root, instance, progress=lambda _: None)
        yield root, instance, full, daily, registry


def test_a_new_partition_is_processed_alone(incremental) -> None:
    root, instance, full, daily, _ = incremental
    assert len(run_labels(full, "prepare_production_logs_partition")) == 7
    assert run_labels(daily, "ingest_") == ["ingest_production_logs[2026-11-09]"]
    assert run_labels(daily, "prepare_") == ["prepare_production_logs_partition[2026-11-09]"]
    # in the instance: one prepare step per stored day, the new day's included, and no other run of a day
    runs = instance.get_runs(dg.RunsFilter(job_name="prepare_production_logs_partition"))
    assert sorted(r.tags["dagster/partition"] for r in runs) == [f"2026-11-0{d}" for d in (1, 2, 3, 4, 5, 6, 7, 9)]
    assert materializations(instance, "scrubbed_synthetic") == 4  # no batch was scrubbed twice
    new_rows = pl.read_parquet(root / "data" / "interim" / "scored_examples.parquet").filter(
        pl.col("partition") == "2026-11-09"
    )
    assert new_rows.height > 0
    curated = pl.concat([pl.read_parquet(p) for p in (root / "data" / "curated").glob("*.parquet")])
    assert curated.filter(pl.col("partition") == "2026-11-09").height > 0


def test_nothing_changed_runs_nothing(incremental) -> None:
    root, instance, _, _, _ = incremental
    again = materialize_all(root, instance, progress=lambda _: None)
    assert again.steps == []


def test_incremental_outputs_equal_a_from_scratch_build(incremental, tmp_path: Path) -> None:
    root, _, _, _, registry = incremental
    scratch = make_project(tmp_path / "scratch", with_sample=False)
    shutil.copytree(root / "data" / "raw", scratch / "data" / "raw")
    (scratch / REGISTRY).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(registry, scratch / REGISTRY)  # the registry DVC carries from the version before
    (scratch / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(scratch / "dagster_home")) as instance:
        materialize_all(scratch, instance, progress=lambda _: None)
    assert differing_files(root, scratch) == []


def test_a_changed_parameter_recomputes_exactly_the_dependent_partitions(incremental) -> None:
    root, instance, _, _, _ = incremental
    scrubbed_before = materializations(instance, "scrubbed_production_logs")
    scored_before = materializations(instance, "scored_production_logs")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["quality"]["min_assistant_tokens"] = params["quality"].get("min_assistant_tokens", 1) + 1
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    report = materialize_all(root, instance, progress=lambda _: None)
    # every stored day and batch is scored again; nothing is ingested or scrubbed again
    assert materializations(instance, "scored_production_logs") == scored_before + 8
    assert materializations(instance, "scrubbed_production_logs") == scrubbed_before
    assert run_labels(report, "ingest_") == []
    assert len(run_labels(report, "prepare_synthetic_partition")) == 4


def test_a_scheduled_day_reaches_the_splits_with_no_manual_step(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    (root / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(root / "dagster_home")) as instance:
        materialize_all(root, instance, progress=lambda _: None)
        new_log_day(root, "2026-11-08")
        defs = build_definitions(root)
        # the schedule's tick at 02:00 on the 9th asks for the 8th; the run it requests ingests that file
        schedule = defs.resolve_schedule_def(daily_log_ingestion.name)
        tick = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 11, 9, 2, tzinfo=UTC)
        )
        (request,) = schedule.evaluate_tick(tick).run_requests or []
        job = defs.resolve_job_def(schedule.job_name)
        assert job.execute_in_process(instance=instance, partition_key=request.partition_key).success
        # then only the automation sensors' work, in-process: the conditions request the day and the splits
        report = run_automation(root, instance, progress=lambda _: None)
        assert run_labels(report, "prepare_") == ["prepare_production_logs_partition[2026-11-08]"]
        assert any(label == "curate" for label, _ in report.steps)
        splits = pl.read_parquet(root / "data" / "interim" / "split_assignments.parquet")
        assert splits.filter(pl.col("partition") == "2026-11-08").height > 0
