"""The layer checks inside Dagster: a violating frame fails the blocking check and the downstream asset does
not materialize; a drift-only failure warns without blocking. Real suites, real GX, real Dagster runs."""

from pathlib import Path

import dagster as dg
import polars as pl

from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.defs.validation_checks import expectations_check, splits_expectations
from ftdata_assets.schema import EXAMPLE_SCHEMA
from ftdata_assets.transforms.pii import ENTITY_TYPES
from tests.conftest import make_project


def example(n: int, user: str, answer: str, role: str = "user", source: str = "expert") -> dict:
    return {
        "example_id": f"{n:064x}",
        "source": source,
        "source_file": f"{source}/set.jsonl",
        "source_line": n,
        "partition": None,
        "messages": [{"role": role, "content": user}, {"role": "assistant", "content": answer}],
        "conversation_id": None,
        "user_id": None,
        "teacher_model": None,
        "prompt_template": None,
        "author": "a",
        "reviewed": True,
        "license": "internal",
        "created_at": None,
        "original_response": None,
    }


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=EXAMPLE_SCHEMA)


def scrubbed(rows: list[dict]) -> pl.DataFrame:
    zeros = {entity: 0 for entity in ENTITY_TYPES}
    return frame(rows).with_columns(pii_counts=pl.lit(zeros, dtype=pl.Struct(dict.fromkeys(zeros, pl.Int64))))


GOOD = [
    example(n, f"How do I reset the hub, case {n}?", "Hold the button for ten seconds until the light blinks.")
    for n in range(1, 41)
]


def run_with_check(tmp_path: Path, produced: pl.DataFrame) -> dg.ExecuteInProcessResult:
    root = make_project(tmp_path / "project", with_sample=False)

    @dg.asset(name="scrubbed_examples")
    def upstream() -> pl.DataFrame:
        return produced

    @dg.asset(deps=["scrubbed_examples"])
    def downstream() -> int:
        return 1

    defs = dg.Definitions(
        assets=[upstream, downstream],
        asset_checks=[expectations_check("scrubbed_examples")],
        resources={"project": ProjectResource(root=str(root)), "io_manager": dg.InMemoryIOManager()},
    )
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_a_clean_layer_passes_and_flows_on(tmp_path: Path) -> None:
    result = run_with_check(tmp_path, scrubbed(GOOD))
    assert result.success, [e.metadata for e in result.get_asset_check_evaluations()]
    assert materialized(result) == {"scrubbed_examples", "downstream"}


def test_a_leftover_email_fails_the_check_and_blocks_downstream(tmp_path: Path) -> None:
    leaked = [*GOOD[:-1], example(99, "Write to me at jane.roe@example.com please", "Will do.")]
    result = run_with_check(tmp_path, scrubbed(leaked))
    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "pii_findings" in evaluation.metadata["failures"].value
    assert materialized(result) == {"scrubbed_examples"}


def test_a_bad_role_fails_the_check_and_blocks_downstream(tmp_path: Path) -> None:
    bad = [*GOOD[:-1], example(99, "Reset it.", "Done.", role="narrator")]
    result = run_with_check(tmp_path, scrubbed(bad))
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and "roles_valid" in evaluation.metadata["failures"].value
    assert "downstream" not in materialized(result)


def constant_asset(name: str, value: pl.DataFrame) -> dg.AssetsDefinition:
    @dg.asset(name=name)
    def _asset() -> pl.DataFrame:
        return value

    return _asset


def run_splits(tmp_path: Path, train: pl.DataFrame, validation: pl.DataFrame, test: pl.DataFrame):
    root = make_project(tmp_path / "project", with_sample=False)
    split_assets = [
        constant_asset(name, value) for name, value in (("train", train), ("validation", validation), ("test", test))
    ]

    @dg.asset(deps=["train", "validation", "test"])
    def ledger_like() -> int:
        return 1

    defs = dg.Definitions(
        assets=[*split_assets, ledger_like],
        asset_checks=[splits_expectations],
        resources={"project": ProjectResource(root=str(root)), "io_manager": dg.InMemoryIOManager()},
    )
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)


def sources_mix(n: int) -> str:
    return ("production_log", "production_log", "production_log", "expert", "synthetic", "feedback")[n % 6]


SPLIT_ROWS = [
    example(n, f"Question number {n} about the hub?", "An answer that is long enough.", source=sources_mix(n))
    for n in range(1, 201)
]


def test_a_test_example_in_train_blocks_the_release(tmp_path: Path) -> None:
    rows = frame(SPLIT_ROWS)
    train, validation, test = rows[:160], rows[160:180], rows[180:]
    leaked_train = pl.concat([train, test.head(1)])
    result = run_splits(tmp_path, leaked_train, validation, test)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "example_id" in evaluation.metadata["splits/failures"].value
    assert "ledger_like" not in materialized(result)


def test_split_ratios_off_target_only_warn(tmp_path: Path) -> None:
    rows = frame(SPLIT_ROWS)
    train, validation, test = rows[:120], rows[120:160], rows[160:]  # 60/20/20 instead of 80/10/10
    result = run_splits(tmp_path, train, validation, test)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "ledger_like" in materialized(result)  # drift does not block


def test_duplicate_ids_in_a_split_block_the_release(tmp_path: Path) -> None:
    rows = frame(SPLIT_ROWS)
    train, validation, test = rows[:160], rows[160:180], rows[180:]
    result = run_splits(tmp_path, pl.concat([train, train.head(3)]), validation, test)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "expect_column_values_to_be_unique" in evaluation.metadata["splits/failures"].value
    assert "ledger_like" not in materialized(result)


def run_curated_splits(tmp_path: Path, assigned: pl.DataFrame) -> dg.ExecuteInProcessResult:
    from ftdata_assets.defs.split_assets import curated_splits

    root = make_project(tmp_path / "project", with_sample=False)

    @dg.asset(name="split_assignments")
    def upstream() -> pl.DataFrame:
        return assigned

    @dg.asset(deps=["test"])
    def release_like() -> int:
        return 1

    defs = dg.Definitions(
        assets=[upstream, curated_splits, release_like],
        resources={
            "project": ProjectResource(root=str(root)),
            "io_manager": dg.InMemoryIOManager(),
            "curated_io_manager": dg.InMemoryIOManager(),
        },
    )
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(raise_on_error=False)


def assigned_rows(rows: list[dict], splits: list[str]) -> pl.DataFrame:
    return frame(rows).with_columns(
        split=pl.Series(splits), contaminated_by=pl.lit(None, pl.String), contamination_detail=pl.lit(None, pl.String)
    )


def test_disjoint_splits_pass_splits_disjoint(tmp_path: Path) -> None:
    splits = ["train"] * 160 + ["validation"] * 20 + ["test"] * 20
    rows = [
        example(n, f"Topic {n}: " + " ".join(f"word{n}x{k}" for k in range(12)), "An answer that is long enough.")
        for n in range(1, 201)
    ]
    result = run_curated_splits(tmp_path, assigned_rows(rows, splits))
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "splits_disjoint" and evaluation.passed, evaluation.metadata
    assert "release_like" in materialized(result)


def test_a_near_duplicate_prompt_across_train_and_test_blocks_the_release(tmp_path: Path) -> None:
    splits = ["train"] * 160 + ["validation"] * 20 + ["test"] * 20
    rows = [
        example(n, f"Topic {n}: " + " ".join(f"word{n}x{k}" for k in range(12)), "An answer that is long enough.")
        for n in range(1, 201)
    ]
    leaked = rows[190]["messages"][0]["content"].replace("word191x11", "word191x99")  # one word changed
    rows[5] = example(6, leaked, "A different answer, still long enough.")
    result = run_curated_splits(tmp_path, assigned_rows(rows, splits))
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["near_duplicate_groups_across"].value == 1
    assert evaluation.metadata["ids_in_train_and_held_out"].value == 0
    assert "release_like" not in materialized(result)
