"""The review loop end to end on the bundled sample: queue export, decisions picked up by the sensor and applied
on the next curate run, the hold policy in the ledger, and the blocking audit check."""

import csv
import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ftdata_assets.defs.automation import review_decisions_sensor
from ftdata_assets.defs.build import build_definitions
from ftdata_assets.defs.runner import materialize_all
from ftdata_assets.sample_data import CONTRADICTIONS
from ftdata_assets.schema import SPLITS
from ftdata_assets.transforms.deduplicate import role_text
from tests.conftest import make_project


def curated(root: Path) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(root / "data" / "curated" / f"{split}.parquet") for split in SPLITS])


def ledger(root: Path) -> dict:
    return json.loads((root / "data" / "metrics" / "ledger.json").read_text())


def balanced(payload: dict) -> bool:
    held = payload["held_for_review"]
    return sum(payload["curated"].values()) + sum(payload["rejected"].values()) + held == payload["rows_in"]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run_sensor_request(root: Path, instance: dg.DagsterInstance, cursor: str | None) -> str:
    """Evaluate the sensor; it must request a curate run, which is executed like the daemon would."""
    defs = build_definitions(root)
    result = review_decisions_sensor(root)(dg.build_sensor_context(instance=instance, cursor=cursor))
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1, result
    request = result.run_requests[0]
    job = defs.resolve_job_def("curate")
    outcome = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    assert outcome.success
    return result.cursor


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    root = make_project(tmp_path_factory.mktemp("review"))
    with dg.instance_for_test(temp_dir=str(tmp_path_factory.mktemp("dagster_home"))) as instance:
        materialize_all(root, instance, progress=lambda _: None)
        yield root, instance


def test_review_round_trip_through_the_sensor(project) -> None:
    root, instance = project
    queue = read_csv(root / "data" / "review" / "export" / "queue.csv")
    assert pl.read_parquet(root / "data" / "review" / "export" / "queue.parquet").height == len(queue)
    by_prompt = {row["prompt"]: row for row in queue if row["review_kind"] == "contradiction"}
    metformin = next(c for c in CONTRADICTIONS if c.topic == "metformin_pregnancy")
    refund = next(c for c in CONTRADICTIONS if c.topic == "refund_window")
    truth, wrong = by_prompt[metformin.prompt_a], by_prompt[metformin.prompt_b]
    assert truth["review_group"] == wrong["review_group"]
    group_rows = [i for i, row in enumerate(queue) if row["review_group"] == truth["review_group"]]
    assert group_rows == list(range(group_rows[0], group_rows[0] + len(group_rows)))  # side by side
    synthetic_sample = [row for row in queue if row["review_kind"] == "synthetic_sample"]
    assert len(synthetic_sample) == 5 * len({row["partition"] for row in synthetic_sample}) > 0

    before = ledger(root)
    contradiction_ids = {row["example_id"] for row in queue if row["review_kind"] == "contradiction"}
    assert before["held_for_review"] == len(contradiction_ids) > 0  # review.contradictions: hold
    assert balanced(before)
    assert not contradiction_ids & set(curated(root)["example_id"])

    cursor = review_decisions_sensor(root)(dg.build_sensor_context(instance=instance)).cursor
    assert isinstance(
        review_decisions_sensor(root)(dg.build_sensor_context(instance=instance, cursor=cursor)), dg.SkipReason
    )

    edited = "Returns are accepted within 30 days of delivery. Questions? Write to returns.desk@example.org."
    decisions = [dict(row) for row in queue]
    for row in decisions:
        if row["example_id"] == truth["example_id"]:
            row.update(decision="accept", reviewer="alice")
        elif row["example_id"] == wrong["example_id"]:
            row.update(decision="reject", reviewer="alice", note="metformin is used in pregnancy")
        elif row["prompt"] == refund.prompt_b:
            row.update(decision="edit", reviewer="bob", edited_answer=edited)
            refund_b = row["example_id"]
    write_csv(root / "data" / "review" / "decisions" / "2026-11-22-alice.csv", decisions)

    cursor = run_sensor_request(root, instance, cursor)
    after = ledger(root)
    assert balanced(after)
    assert after["held_for_review"] == before["held_for_review"] - 3
    assert after["rejected"].get("rejected_in_review") == 1

    rows = curated(root)
    assert truth["example_id"] in set(rows["example_id"])
    assert wrong["example_id"] not in set(rows["example_id"])
    answer = rows.filter(pl.col("example_id") == refund_b).select(role_text(pl.col("messages"), "assistant")).item()
    assert answer.startswith("Returns are accepted within 30 days") and "returns.desk@example.org" not in answer
    assert "<EMAIL_ADDRESS_1>" in answer  # a reviewer's text is scrubbed like every input
    rejects = pl.read_parquet(root / "data" / "rejects" / "rejects.parquet")
    rejected = rejects.filter(pl.col("reason") == "rejected_in_review")
    assert rejected["example_id"].to_list() == [wrong["example_id"]]
    assert rejected["detail"].item() == "rejected by alice"

    # unchanged files: no new run; a garbled extra file is reported, not fatal
    assert isinstance(
        review_decisions_sensor(root)(dg.build_sensor_context(instance=instance, cursor=cursor)), dg.SkipReason
    )


def test_audit_above_five_percent_errors_blocks_the_version_and_kappa_is_reported(project) -> None:
    root, instance = project
    sample = read_csv(root / "data" / "review" / "export" / "audit_sample.csv")
    assert len(sample) == 50
    released = set(curated(root)["example_id"])
    assert {row["example_id"] for row in sample} <= released

    labels = []
    for index, row in enumerate(sample):
        labels.append({"example_id": row["example_id"], "reviewer": "alice", "label": "error" if index < 4 else "ok"})
        if index < 20:
            labels.append({"example_id": row["example_id"], "reviewer": "bob", "label": "error" if index < 3 else "ok"})
    labels_file = root / "data" / "review" / "audit_labels" / "audit-1.csv"
    write_csv(labels_file, labels)
    defs = build_definitions(root)
    failed = defs.resolve_job_def("curate").execute_in_process(instance=instance, raise_on_error=False)
    evaluations = {e.check_name: e for e in failed.get_asset_check_evaluations()}
    audit = evaluations["audit_error_rate"]
    assert not audit.passed  # 4 of 50 rows are errors (a tie counts as error): 8% > 5%
    assert audit.metadata["error_rate"].value == pytest.approx(4 / 50)
    assert audit.metadata["kappa"].value == pytest.approx(
        # 20 double-labelled rows: alice says error on 4, bob on 3, they agree on 19
        (19 / 20 - (4 / 20 * 3 / 20 + 16 / 20 * 17 / 20)) / (1 - (4 / 20 * 3 / 20 + 16 / 20 * 17 / 20))
    )
    planned = {key.to_user_string() for key in failed.dagster_run.asset_selection or []}
    materialized = {e.asset_key.to_user_string() for e in failed.get_asset_materialization_events()}
    assert "train" not in materialized  # the blocking check stopped the release
    assert "train" in planned or not planned

    labels = [dict(row, label="ok") for row in labels]  # the errors were fixed and relabelled
    write_csv(labels_file, labels)
    passed = defs.resolve_job_def("curate").execute_in_process(instance=instance, raise_on_error=False)
    assert passed.success
    results = {e.check_name: e for e in passed.get_asset_check_evaluations()}
    assert results["audit_error_rate"].passed
    # every blocking check passes; a drift warning (split ratios after decontamination) may not
    assert all(e.passed or e.severity == dg.AssetCheckSeverity.WARN for e in results.values())
