"""The schedule and the sensor produce the run requests and partitions scheduled ingestion relies on."""

import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from ftdata_assets.defs.automation import daily_log_ingestion, review_decisions_sensor, synthetic_batch_sensor
from ftdata_assets.defs.build import build_definitions
from ftdata_assets.defs.partitions import synthetic_batches


def test_daily_schedule_ingests_the_previous_day(tmp_path: Path) -> None:
    schedule = build_definitions(tmp_path).resolve_schedule_def(daily_log_ingestion.name)
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 8, 2, 0, tzinfo=UTC))
    requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert [r.partition_key for r in requests] == ["2026-11-07"]
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "ingest_production_logs"


def write_batch(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text('{"prompt": "2+2?", "completion": "4", "teacher_model": "m"}\n')


def test_sensor_registers_new_batches_once(tmp_path: Path) -> None:
    synthetic = tmp_path / "data" / "raw" / "synthetic"
    write_batch(synthetic, "batch-a.jsonl")
    write_batch(synthetic, "batch-b.jsonl.gz.partial")  # not a data file: an upload in progress
    (synthetic / "batch-c.parquet").write_bytes(b"")
    sensor = synthetic_batch_sensor(tmp_path)
    with dg.instance_for_test() as instance:
        result = sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(result, dg.SensorResult)
        assert sorted(r.partition_key for r in result.run_requests) == ["batch-a", "batch-c"]
        (add_request,) = result.dynamic_partitions_requests
        assert add_request.partitions_def_name == synthetic_batches.name
        assert sorted(add_request.partition_keys) == ["batch-a", "batch-c"]

        instance.add_dynamic_partitions(synthetic_batches.name, list(add_request.partition_keys))
        assert isinstance(sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)

        write_batch(synthetic, "batch-d.jsonl")
        again = sensor(dg.build_sensor_context(instance=instance))
        assert [r.partition_key for r in again.run_requests] == ["batch-d"]


def test_definitions_load_with_schedule_sensor_and_jobs(tmp_path: Path) -> None:
    defs = build_definitions(tmp_path)
    assert defs.resolve_schedule_def("daily_log_ingestion")
    assert defs.resolve_sensor_def("synthetic_batch_sensor")
    for job in ("ingest_production_logs", "ingest_synthetic_batch", "curate"):
        assert defs.resolve_job_def(job)
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["raw_production_logs"] == "ingest"
    assert groups["train"] == "release"


def test_review_sensor_runs_curate_once_per_change_of_decision_or_label_files(tmp_path: Path) -> None:
    decisions = tmp_path / "data" / "review" / "decisions"
    labels = tmp_path / "data" / "review" / "audit_labels"
    decisions.mkdir(parents=True)
    labels.mkdir(parents=True)
    (decisions / "README.md").write_text("not a decision file")
    sensor = review_decisions_sensor(tmp_path)
    with dg.instance_for_test() as instance:

        def evaluate(cursor: str | None) -> dg.SensorResult:
            result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
            assert isinstance(result, dg.SensorResult)
            return result

        first = evaluate(None)
        assert not first.run_requests and first.cursor  # nothing to apply yet

        (decisions / "alice.csv").write_text("example_id,decision,reviewer\nabc,reject,alice\n")
        added = evaluate(first.cursor)
        assert len(added.run_requests) == 1 and sensor.job_name == "curate"
        assert isinstance(sensor(dg.build_sensor_context(instance=instance, cursor=added.cursor)), dg.SkipReason)

        os.utime(decisions / "alice.csv", (1, 1))  # touched, not changed
        assert isinstance(sensor(dg.build_sensor_context(instance=instance, cursor=added.cursor)), dg.SkipReason)

        (labels / "audit.csv").write_text("example_id,reviewer,label\nabc,bob,ok\n")
        labelled = evaluate(added.cursor)
        assert len(labelled.run_requests) == 1
        assert labelled.run_requests[0].run_key != added.run_requests[0].run_key
