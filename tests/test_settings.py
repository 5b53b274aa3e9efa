"""Typed params sections (unknown keys and bad values refused, defaults as before), the per-run params
snapshot (an edit during a run does not reach its later steps, in one process or in step processes), and
the Launchpad run config of deduplicated_examples."""

import dataclasses
import hashlib
import re
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from ftdata_assets.defs.quality_assets import deduplicated_examples
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.transforms.dedup import DEFAULT_SOURCE_PRIORITY
from ftdata_assets.transforms.deduplicate import deduplicate
from ftdata_assets.transforms.prompts import CONFLICT_KINDS
from ftdata_assets.transforms.settings import (
    SECTIONS,
    DecontaminationConfig,
    DedupConfig,
    IngestConfig,
    ParamsError,
    ReviewConfig,
    SemanticConfig,
    SplitConfig,
)
from tests.conftest import REPO_ROOT, make_project
from tests.test_validation_checks import example, frame

PARAMS = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())

# ------------------------------------------------------------------------------------------- the classes


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_the_shipped_params_parse_and_an_unknown_key_is_refused_naming_it(section: str) -> None:
    config_class = SECTIONS[section]
    config_class.from_params(PARAMS[section])
    with pytest.raises(ParamsError) as refused:
        config_class.from_params({**PARAMS[section], "treshold": 0.5})
    message = str(refused.value)
    assert f"params.yaml `{section}`" in message and "'treshold'" in message
    expected = [f.name for f in dataclasses.fields(config_class)]  # type: ignore[arg-type]
    assert f"expected some of {sorted(expected)}" in message


@pytest.mark.parametrize(
    ("config_class", "key", "value", "says"),
    [
        (DedupConfig, "near_threshold", 1.5, "a number in (0, 1]"),
        (DedupConfig, "near_threshold", 0, "a number in (0, 1]"),
        (DedupConfig, "near_threshold", "0.6", "a number in (0, 1]"),
        (DedupConfig, "prompt_threshold", True, "a number in (0, 1]"),
        (DedupConfig, "answer_agreement", -0.1, "a number in [0, 1]"),
        (DedupConfig, "num_perm", 12.5, "an integer >= 1"),
        (DedupConfig, "shingle_size", 0, "an integer >= 1"),
        (DedupConfig, "source_priority", ["expert", "experts"], "distinct names out of"),
        (DedupConfig, "source_priority", ["expert", "expert"], "distinct names out of"),
        (DedupConfig, "contradiction_kinds", ["polarity", "tone"], "distinct names out of"),
        (DedupConfig, "semantic", "on", "null or a mapping"),
        (SplitConfig, "ratios", {"train": 0.8, "validation": 0.1, "test": 0.2}, "summing to 1"),
        (SplitConfig, "ratios", {"train": 0.8, "validation": 0.1, "dev": 0.1}, "summing to 1"),
        (SplitConfig, "leak_threshold", 2, "a number in (0, 1]"),
        (SplitConfig, "seed", "", "a non-empty string"),
        (DecontaminationConfig, "ngram", 0, "an integer >= 1"),
        (DecontaminationConfig, "min_words", "8", "an integer >= 1"),
        (ReviewConfig, "contradictions", "drop", "one of ['hold', 'keep']"),
        (ReviewConfig, "audit_sample_size", -1, "an integer >= 0"),
        (ReviewConfig, "max_audit_error_rate", 5, "a number in [0, 1]"),
        (IngestConfig, "leading_assistant", "keep", "one of ['drop', 'keep_as_context']"),
        (IngestConfig, "max_line_bytes", 0, "an integer >= 1"),
    ],
)
def test_a_bad_value_is_refused_naming_section_key_and_what_is_expected(
    config_class: type, key: str, value: object, says: str
) -> None:
    section = config_class.SECTION
    with pytest.raises(ParamsError) as refused:
        config_class.from_params({**PARAMS[section], key: value})
    message = str(refused.value)
    assert message.startswith(f"params.yaml `{section}.{key.split('.')[0]}`"), message
    assert says in message, message


def test_a_bad_semantic_model_and_a_missing_required_key_are_refused() -> None:
    with pytest.raises(ParamsError, match=re.escape("params.yaml `dedup.semantic.model` must be one of")):
        DedupConfig.from_params({**PARAMS["dedup"], "semantic": {"model": "e5-large"}})
    with pytest.raises(ParamsError, match=re.escape("params.yaml `dedup.semantic`: unknown key(s) ['treshold']")):
        DedupConfig.from_params({**PARAMS["dedup"], "semantic": {"treshold": 0.9}})
    for config_class, key in ((DedupConfig, "near_threshold"), (SplitConfig, "ratios"), (IngestConfig, "id_salt")):
        section = {k: v for k, v in PARAMS[config_class.SECTION].items() if k != key}
        with pytest.raises(ParamsError, match=re.escape(f"missing required key(s) ['{key}']")):
            config_class.from_params(section)


def test_a_missing_key_means_the_shipped_value() -> None:
    """The class defaults are the values params.yaml ships: deleting a line from it changes nothing."""
    required = {DedupConfig: ("near_threshold",), SplitConfig: ("seed", "ratios"), ReviewConfig: ()}
    required[IngestConfig] = ("max_line_bytes", "max_json_depth", "id_salt")
    sections = {DedupConfig: "dedup", SplitConfig: "split", ReviewConfig: "review", IngestConfig: "ingest"}
    sections[DecontaminationConfig] = "decontamination"
    for config_class, section in sections.items():
        shipped = config_class.from_params(PARAMS[section])
        minimal = config_class.from_params({k: PARAMS[section][k] for k in required.get(config_class, ())})
        assert minimal == shipped, section


def test_defaults_of_the_optional_keys() -> None:
    dedup = DedupConfig.from_params({"near_threshold": 0.6})
    assert (dedup.num_perm, dedup.shingle_size, dedup.seed) == (128, 3, "ftdata-dedup-v1")
    assert (dedup.prompt_threshold, dedup.answer_agreement) == (0.8, 0.5)
    assert dedup.contradiction_kinds == CONFLICT_KINDS and dedup.source_priority == DEFAULT_SOURCE_PRIORITY
    assert dedup.semantic is None and dedup.previous_version is None
    # null meant the default, an empty mapping meant off
    nulls = DedupConfig.from_params({"near_threshold": 0.6, "contradiction_kinds": None, "source_priority": None})
    assert nulls == dedup
    assert DedupConfig.from_params({"near_threshold": 0.6, "semantic": {}}).semantic is None
    assert DedupConfig.from_params({"near_threshold": 0.6, "contradiction_kinds": []}).contradiction_kinds == ()
    assert SemanticConfig.from_params({"model": "all-MiniLM-L6-v2"}).threshold == 0.9  # the model's suggestion
    assert SplitConfig.from_params({"seed": "s", "ratios": PARAMS["split"]["ratios"]}).leak_threshold == 0.5
    assert DecontaminationConfig.from_params(None) == DecontaminationConfig(ngram=13, min_words=8)
    review = ReviewConfig.from_params({})
    assert (review.contradictions, review.synthetic_sample, review.held_kinds) == ("hold", "keep", ("contradiction",))
    assert (review.synthetic_sample_size, review.audit_sample_size, review.max_audit_error_rate) == (5, 50, 0.05)
    assert ReviewConfig.from_params(PARAMS["review"]).held_kinds == ("contradiction",)  # synthetic_sample: keep
    ingest = IngestConfig.from_params({k: v for k, v in PARAMS["ingest"].items() if k != "leading_assistant"})
    assert ingest.leading_assistant == "drop"
    assert SplitConfig.from_params({**PARAMS["split"], "seed": 7}).seed == "7"  # str(seed), as before


def test_a_replaced_value_is_checked_like_a_read_one() -> None:
    dedup = DedupConfig.from_params(PARAMS["dedup"])
    assert dataclasses.replace(dedup, near_threshold=0.55).near_threshold == 0.55
    with pytest.raises(ParamsError, match=re.escape("`dedup.near_threshold` must be a number in (0, 1]")):
        dataclasses.replace(dedup, near_threshold=1.2)


# ------------------------------------------------------------------- realistic rows through deduplicate

HUB_QUESTION = "My smart hub stopped connecting to the {room} lights after the {what}, what should I try first?"
HUB_ANSWER = (
    "Unplug the hub for thirty seconds, plug it back in, then open the {app} and run the pairing wizard again "
    "for {which}."
)


def scored(rows: list[dict]) -> pl.DataFrame:
    """Rows as scored_examples holds them: kept (no drop reason), untagged, equal scores."""
    return frame(rows).with_columns(
        drop_reason=pl.lit(None, pl.String), tags=pl.lit([], pl.List(pl.String)), quality_score=pl.lit(1.0)
    )


def hub_rows() -> list[dict]:
    """Two support chats with an exact word-shingle Jaccard of 0.545 (3-word shingles: params.yaml's), an
    exact copy of the first from a synthetic batch, and unrelated rows."""
    first = example(
        1,
        HUB_QUESTION.format(room="kitchen", what="update last night"),
        HUB_ANSWER.format(app="app", which="each light"),
    )
    second = example(
        2,
        HUB_QUESTION.format(room="bedroom", what="firmware update yesterday"),
        HUB_ANSWER.format(app="mobile app", which="every bulb"),
        source="production_log",
    )
    copy = {**first, "example_id": f"{3:064x}", "source": "synthetic", "source_line": 3}
    others = [
        example(10, "How long does the battery of the A1 speaker last on one charge?", "About eight hours."),
        example(11, "Can I return an opened thermostat within thirty days?", "Yes, with the receipt."),
        example(
            12, "Write a haiku about rain on a tin roof.", "Tin roof drums softly / grey clouds hum their old song"
        ),
        example(13, "Which port does the camera use for streaming?", "It streams over port 554 (RTSP)."),
    ]
    return [first, second, copy, *others]


def test_a_mapping_and_the_typed_section_deduplicate_alike() -> None:
    rows = scored(hub_rows())
    by_mapping = deduplicate(rows, PARAMS["dedup"])
    by_config = deduplicate(rows, DedupConfig.from_params(PARAMS["dedup"]))
    assert by_mapping.equals(by_config)
    assert by_config.filter(pl.col("duplicate_of").is_not_null())["dedup_reason"].to_list() == ["exact_duplicate"]
    with pytest.raises(ParamsError, match="near_treshold"):
        deduplicate(rows, {**PARAMS["dedup"], "near_treshold": 0.5})


# ------------------------------------------------------------------------ run config of deduplicated_examples


def dedup_defs(root: Path, rows: pl.DataFrame) -> dg.Definitions:
    @dg.asset(name="scored_examples")
    def upstream() -> pl.DataFrame:
        return rows

    return dg.Definitions(
        assets=[upstream, deduplicated_examples],
        resources={"project": ProjectResource(root=str(root)), "io_manager": dg.InMemoryIOManager()},
    )


def run_dedup(root: Path, run_config: dict | None = None) -> tuple[dg.ExecuteInProcessResult, pl.DataFrame]:
    job = dedup_defs(root, scored(hub_rows())).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(run_config=run_config or {}, raise_on_error=False)
    out = result.output_for_node("deduplicated_examples") if result.success else pl.DataFrame()
    return result, out


def dedup_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("deduplicated_examples")
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_run_config_sets_near_threshold_for_one_run_and_says_so(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", with_sample=False)
    plain, kept_apart = run_dedup(root)
    assert plain.success
    assert kept_apart.filter(pl.col("dedup_reason") == "near_duplicate").height == 0
    assert dedup_metadata(plain)["near_threshold"] == "0.6 (params)"
    digest = hashlib.sha256((root / "params.yaml").read_bytes()).hexdigest()[:16]
    assert dedup_metadata(plain)["params_digest"] == f"sha256:{digest}"

    config = {"ops": {"deduplicated_examples": {"config": {"near_threshold": 0.45}}}}
    lowered, merged = run_dedup(root, config)
    assert lowered.success
    near = merged.filter(pl.col("dedup_reason") == "near_duplicate")
    assert near["example_id"].to_list() == [f"{2:064x}"]  # the log row loses to the expert one
    assert near["duplicate_of"].to_list() == [f"{1:064x}"]
    assert dedup_metadata(lowered)["near_threshold"] == "0.45 (run config; params: 0.6)"

    # the next run without run config is back to params.yaml, and params.yaml was never touched
    _, same = run_dedup(root)
    assert same.equals(kept_apart)
    assert (root / "params.yaml").read_bytes() == (REPO_ROOT / "params.yaml").read_bytes()


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    return str(failure.step_failure_data.error.message)  # type: ignore[union-attr]


def test_a_bad_run_config_or_params_value_fails_the_step_with_the_message(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", with_sample=False)
    bad_run, _ = run_dedup(root, {"ops": {"deduplicated_examples": {"config": {"near_threshold": 1.5}}}})
    assert not bad_run.success
    message = failure_message(bad_run)
    assert "run config of deduplicated_examples (near_threshold=1.5) refused" in message
    assert "must be a number in (0, 1]" in message

    params = root / "params.yaml"
    params.write_text(params.read_text().replace("  near_threshold: 0.6", "  near_treshold: 0.6"))
    typo, _ = run_dedup(root)
    assert not typo.success
    message = failure_message(typo)
    assert "params.yaml `dedup`: unknown key(s) ['near_treshold']" in message and "'near_threshold'" in message


# ----------------------------------------------------------------------------------------- the snapshot

EDITED = ("  near_threshold: 0.6", "  near_threshold: 0.7")


def snapshot_defs(root: str) -> dg.Definitions:
    """Two steps of one run: the first reads params, then edits params.yaml; the second reads params again."""

    @dg.asset
    def reads_then_edits(project: ProjectResource) -> dg.Output[float]:
        value = project.settings(DedupConfig).near_threshold
        path = Path(project.root) / "params.yaml"
        path.write_text(path.read_text().replace(*EDITED))
        return dg.Output(value, metadata={"near_threshold": value, "params_digest": project.params_digest})

    @dg.asset
    def reads_after_the_edit(project: ProjectResource, reads_then_edits: float) -> dg.Output[float]:
        value = project.settings(DedupConfig).near_threshold
        return dg.Output(value, metadata={"near_threshold": value, "params_digest": project.params_digest})

    return dg.Definitions(
        assets=[reads_then_edits, reads_after_the_edit],
        jobs=[dg.define_asset_job("params_snapshot")],
        resources={"project": ProjectResource(root=root)},
    )


def snapshot_job(root: str) -> dg.JobDefinition:
    """Module level, so that each step process of the multiprocess executor can rebuild it."""
    return snapshot_defs(root).resolve_job_def("params_snapshot").with_executor_def(dg.multiprocess_executor)


def seen(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, str]]:
    """Per asset of the run: the near_threshold it read and the params digest it recorded."""
    out = {}
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records:
        materialization = record.event_log_entry.dagster_event.event_specific_data.materialization  # type: ignore[union-attr]
        meta = materialization.metadata
        out[materialization.asset_key.to_user_string()] = (meta["near_threshold"].value, meta["params_digest"].value)
    return out


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_an_edit_during_a_run_reaches_the_next_run_only(tmp_path: Path, executor: str) -> None:
    root = make_project(tmp_path / "project", with_sample=False)
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        if executor == "multiprocess":
            # each step is a fresh (spawned) process that rebuilds the job from this module
            job = dg.build_reconstructable_job(
                __name__, snapshot_job.__name__, (str(root),), reconstructor_working_directory=str(REPO_ROOT)
            )
            spawn = {"execution": {"config": {"start_method": {"spawn": {}}}}}
            with dg.execute_job(job, instance=instance, run_config=spawn) as result:
                assert result.success
                run_id = result.run_id
            starts = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
            assert len({record.event_log_entry.dagster_event.pid for record in starts}) == 2  # type: ignore[union-attr]
        else:
            result = snapshot_defs(str(root)).resolve_job_def("params_snapshot").execute_in_process(instance=instance)
            run_id = result.run_id
        first = seen(instance, run_id)
        assert "near_threshold: 0.7" in (root / "params.yaml").read_text()  # the edit happened mid-run
        assert first["reads_then_edits"] == first["reads_after_the_edit"]
        assert first["reads_after_the_edit"][0] == 0.6
        snapshot = Path(instance.storage_directory()) / run_id / "params.yaml"
        assert snapshot.read_bytes() == (REPO_ROOT / "params.yaml").read_bytes()

        rerun = snapshot_defs(str(root)).resolve_job_def("params_snapshot").execute_in_process(instance=instance)
        second = seen(instance, rerun.run_id)
        assert second["reads_then_edits"][0] == 0.7 and second["reads_after_the_edit"][0] == 0.7
        assert second["reads_then_edits"][1] != first["reads_then_edits"][1]  # the digest tells the runs apart


# ---------------------------------------------------------------------------- run config of split_assignments

SUPPORT_QUESTIONS = [
    "How do I move my saved playlists from the old speaker to the new one without losing the order",
    "Why does the thermostat switch to eco mode every night even though the schedule says comfort",
    "Can the doorbell camera keep recordings for more than thirty days if I upgrade the plan",
    "What is the fastest way to share the wifi password with a guest who has an android phone",
    "The robot vacuum keeps skipping the hallway rug, is there a setting for thick carpets",
    "My invoice shows two charges for the same month, how do I get one of them refunded",
    "Is it safe to leave the charger plugged in overnight when the battery is already full",
    "How can I stop the smart lights from turning on by themselves at three in the morning",
    "Which cable do I need to connect the soundbar to a television that only has optical out",
    "After moving house the hub cannot find any devices, do I have to pair them all again",
    "Can two people control the same garage door opener from separate accounts at once",
    "The app logs me out every time I close it, how do I make it remember my login",
]


def reworded(question: str) -> str:
    """The same question with two words changed: user-turn Jaccard 0.39-0.52 with 3-word shingles."""
    words = question.split()
    words[len(words) // 3] = words[len(words) // 3].upper() + "S"
    words[2 * len(words) // 3] = "really " + words[2 * len(words) // 3]
    return " ".join(words)


def reviewed_rows() -> pl.DataFrame:
    rows = []
    for n, question in enumerate(SUPPORT_QUESTIONS):
        answer = f"Open the app, go to settings and follow step {n + 1} of the guide."
        rows.append(example(2 * n + 1, question + "?", answer, source="production_log"))
        rows.append(example(2 * n + 2, reworded(question) + "?", answer, source="production_log"))
    return frame(rows).with_columns(
        duplicate_of=pl.lit(None, pl.String),
        review_status=pl.lit(None, pl.String),
        prompt_cluster=pl.lit(None, pl.String),
    )


def run_splits(root: Path, run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    from ftdata_assets.defs.split_assets import curated_splits, split_assignments

    @dg.asset(name="reviewed_examples")
    def upstream() -> pl.DataFrame:
        return reviewed_rows()

    memory = dg.InMemoryIOManager()
    defs = dg.Definitions(
        assets=[upstream, split_assignments, curated_splits],
        resources={"project": ProjectResource(root=str(root)), "io_manager": memory, "curated_io_manager": memory},
    )
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(run_config=run_config or {}, raise_on_error=False)


def test_run_config_sets_leak_threshold_for_the_grouping_and_its_check(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", with_sample=False)
    results = {}
    for label, config in (("params", None), ("run", {"leak_threshold": 0.3})):
        result = run_splits(root, {"ops": {"split_assignments": {"config": config}}} if config else None)
        assert result.success
        (assignment,) = [
            e.materialization.metadata
            for e in result.get_asset_materialization_events()
            if e.asset_key == dg.AssetKey("split_assignments")
        ]
        (check,) = result.get_asset_check_evaluations()
        assert check.check_name == "splits_disjoint" and check.passed
        results[label] = (assignment, check.metadata)
    params_meta, params_check = results["params"]
    run_meta, run_check = results["run"]
    # at params' 0.5 only the three pairs with Jaccard >= 0.5 share a group; at 0.3 every reworded pair does
    assert params_meta["groups"].value == 21 and run_meta["groups"].value == 12
    assert params_meta["leak_threshold"].value == "0.5 (params)"
    assert run_meta["leak_threshold"].value == "0.3 (run config; params: 0.5)"
    assert params_check["leak_threshold"].value == 0.5 and run_check["leak_threshold"].value == 0.3


def test_every_run_of_the_whole_pipeline_read_one_copy_of_params(materialized_project: Path) -> None:
    """materialize_all on the bundled sample: an ingest run and a row-local run per log day and synthetic
    batch, one for the expert and feedback folders and their row-local layers, then the global layers, all
    tagged with one params group, whose copy is the only one."""
    from ftdata_assets.defs.resources import PARAMS_GROUP_TAG
    from ftdata_assets.project import Project

    project = Project(materialized_project)
    runs = 2 * (len(project.source_files("production_log")) + len(project.source_files("synthetic"))) + 3
    storage = materialized_project / "dagster_home" / "storage"
    copies = sorted(storage.glob("**/params.yaml"))
    assert len(copies) == 1 and copies[0].parent.parent.name == "params-groups"
    assert copies[0].read_bytes() == (materialized_project / "params.yaml").read_bytes()
    with dg.instance_for_test(temp_dir=str(materialized_project / "dagster_home")) as instance:
        groups = [run.tags.get(PARAMS_GROUP_TAG) for run in instance.get_runs()]
    assert runs > 10 and len(groups) == runs and set(groups) == {copies[0].parent.name}


def test_an_edit_during_a_whole_rebuild_reaches_none_of_its_runs(tmp_path: Path) -> None:
    """params.yaml edited after the partition runs, before curate: curate still reads the copy taken when
    materialize_all started (one `ftdata run` is one version of the params), the next rebuild the edit."""
    from ftdata_assets.defs.runner import materialize_all

    root = make_project(tmp_path / "project")
    (root / "dagster_home").mkdir()
    params = root / "params.yaml"
    original = params.read_bytes()
    edited = original.replace(b"near_threshold: 0.6", b"near_threshold: 0.7")
    assert edited != original

    def edit_before_curate(message: str) -> None:
        if message.startswith("curate (") and params.read_bytes() == original:
            params.write_bytes(edited)

    def dedup_metadata(instance: dg.DagsterInstance) -> dict:
        event = instance.get_latest_materialization_event(dg.AssetKey("deduplicated_examples"))
        return event.asset_materialization.metadata

    with dg.instance_for_test(temp_dir=str(root / "dagster_home")) as instance:
        materialize_all(root, instance, progress=edit_before_curate)
        assert params.read_bytes() == edited  # the edit happened while the rebuild ran
        first = dedup_metadata(instance)
        assert first["near_threshold"].value == "0.6 (params)"
        assert first["params_digest"].value == "sha256:" + hashlib.sha256(original).hexdigest()[:16]
        materialize_all(root, instance, progress=lambda _: None)
        assert dedup_metadata(instance)["near_threshold"].value == "0.7 (params)"


def test_the_review_queue_lists_a_contradiction_in_dedup_source_priority(tmp_path: Path) -> None:
    """review_queue orders a group's members by `dedup.source_priority`, the order dedup picks winners by."""
    from ftdata_assets.defs.review_assets import review_queue

    question = "Does the hub keep working when the internet is down?"
    rows = [
        example(1, question, "Yes, local automations keep running without internet.", source="expert"),
        example(2, question, "No, the hub stops working without internet.", source="synthetic"),
    ]
    deduplicated = frame(rows).with_columns(
        duplicate_of=pl.lit(None, pl.String), contradiction=pl.lit("polarity"), prompt_cluster=pl.lit("c1")
    )

    @dg.asset(name="deduplicated_examples")
    def upstream() -> pl.DataFrame:
        return deduplicated

    def queued_sources(root: Path) -> list[str]:
        defs = dg.Definitions(
            assets=[upstream, review_queue],
            resources={"project": ProjectResource(root=str(root)), "io_manager": dg.InMemoryIOManager()},
        )
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process()
        return result.output_for_node("review_queue")["source"].to_list()

    root = make_project(tmp_path / "project", with_sample=False)
    assert queued_sources(root) == ["expert", "synthetic"]
    params = root / "params.yaml"
    shipped = "source_priority: [expert, feedback, production_log, synthetic]"
    assert shipped in params.read_text()
    params.write_text(
        params.read_text().replace(shipped, "source_priority: [synthetic, expert, feedback, production_log]")
    )
    assert queued_sources(root) == ["synthetic", "expert"]
