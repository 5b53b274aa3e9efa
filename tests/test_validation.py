"""Great Expectations suites per layer: every real-shaped layer passes its suite, and each broken promise fails
with the failed expectation named in the check metadata (error = blocking, drift = warn)."""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from ftdata_assets.schema import EXAMPLE_SCHEMA
from ftdata_assets.transforms.validation_views import combine_splits, view
from ftdata_assets.validation import (
    EXPECTATIONS_DIR,
    check_result,
    dump_suite,
    load_suite,
    main,
    profile_suite,
    read_suite_json,
    validate_frame,
    validate_layer,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
CONTEXT = {"allow_list": PARAMS["pii"]["allow_list"], "ratios": PARAMS["split"]["ratios"]}
SUITES = (
    "raw",
    "normalized_examples",
    "rejects",
    "scrubbed_examples",
    "scored_examples",
    "deduplicated_examples",
    "reviewed_examples",
    "split_assignments",
    "splits",
    "split_summary",
)


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    """Every layer built from the bundled sample with the pipeline's own transforms (no Dagster run)."""
    from ftdata_assets.project import RAW_SOURCE_DIRS, data_file_stem
    from ftdata_assets.sample_data import generate_sample
    from ftdata_assets.transforms.benchmarks import read_benchmarks
    from ftdata_assets.transforms.contamination import contaminated_train_rows
    from ftdata_assets.transforms.deduplicate import deduplicate
    from ftdata_assets.transforms.ingest import read_raw, split_raw
    from ftdata_assets.transforms.normalize import combine_raw, rejects_from_examples
    from ftdata_assets.transforms.pii import scrub
    from ftdata_assets.transforms.provenance import ProvenancePolicy, apply_policy
    from ftdata_assets.transforms.quality import QualityConfig, assess
    from ftdata_assets.transforms.split import assign_splits

    raw_dir = tmp_path_factory.mktemp("sample") / "raw"
    generate_sample(raw_dir, seed=PARAMS["sample"]["seed"])
    frames = []
    for source, folder in RAW_SOURCE_DIRS.items():
        for path in sorted((raw_dir / folder).iterdir()):
            partition = data_file_stem(path) if source in ("production_log", "synthetic") else None
            frames.append(
                read_raw(path, source, root=raw_dir, partition=partition, id_salt=PARAMS["ingest"]["id_salt"])
            )
    raw = combine_raw(frames)
    normalized, ingest_rejects = split_raw(raw)
    keyed = normalized.with_columns(__conversation=pl.coalesce("conversation_id", "example_id"))
    scrubbed = scrub(keyed, conversation_key="__conversation", allow_list=CONTEXT["allow_list"]).drop("__conversation")
    scored = apply_policy(
        assess(scrubbed, QualityConfig.from_params(PARAMS["quality"])), ProvenancePolicy.from_params(PARAMS["policy"])
    )
    deduplicated = deduplicate(scored.filter(pl.col("drop_reason").is_null()), PARAMS["dedup"])
    reviewed = deduplicated.with_columns(
        review_decision=pl.lit(None, pl.String),
        reviewed_by=pl.lit(None, pl.String),
        review_status=pl.when(pl.col("duplicate_of").is_null() & pl.col("contradiction").is_not_null()).then(
            pl.lit("held")
        ),
    )
    dropped = scored.filter(pl.col("drop_reason").is_not_null())
    is_quality = pl.col("drop_reason").str.starts_with("low_quality:")
    rejects = pl.concat(
        [
            ingest_rejects,
            rejects_from_examples(dropped.filter(is_quality), "quality", pl.col("drop_reason"), pl.lit("quality")),
            rejects_from_examples(dropped.filter(~is_quality), "policy", pl.col("drop_reason"), pl.lit("policy")),
            rejects_from_examples(
                deduplicated.filter(pl.col("duplicate_of").is_not_null()),
                "dedup",
                pl.col("dedup_reason"),
                pl.format("duplicate of {}", "duplicate_of"),
            ),
        ]
    )
    releasable = reviewed.filter(pl.col("duplicate_of").is_null() & pl.col("review_status").is_null())
    assigned = assign_splits(
        releasable.select(list(EXAMPLE_SCHEMA)), PARAMS["split"]["ratios"], PARAMS["split"]["seed"]
    )
    hits = contaminated_train_rows(assigned, read_benchmarks(REPO_ROOT / "data" / "benchmarks")[0])
    assigned = (
        assigned.with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int64))
        .join(hits, on="row", how="left", maintain_order="left")
        .drop("row")
    )
    splits = {
        s: assigned.filter(pl.col("split") == s).select(list(EXAMPLE_SCHEMA)) for s in ("train", "validation", "test")
    }
    combined = combine_splits(splits["train"], splits["validation"], splits["test"])
    return {
        "raw": raw,
        "normalized_examples": normalized,
        "rejects": rejects,
        "scrubbed_examples": scrubbed,
        "scored_examples": scored,
        "deduplicated_examples": deduplicated,
        "reviewed_examples": reviewed,
        "split_assignments": assigned,
        "splits": combined,
        "split_summary": combined,
    }


def failed_names(outcome) -> set[tuple[str, str | None]]:
    return {(f.expectation_type, f.column) for f in outcome.failures}


def assert_blocks(outcome, expectation_type: str, column: str | None) -> dg.AssetCheckResult:
    """The check fails with severity ERROR and its metadata table names the failed expectation and column."""
    assert (expectation_type, column) in failed_names(outcome), outcome.failures
    result = check_result(outcome)
    assert result.passed is False
    assert result.severity == dg.AssetCheckSeverity.ERROR
    table = result.metadata["failures"].value
    assert expectation_type in table and f"| {column} |" in table and "| ERROR |" in table
    assert result.metadata["failed_errors"].value >= 1
    return result


# ------------------------------------------------------------------------------------------- good layers


@pytest.mark.parametrize("suite", SUITES)
def test_every_layer_of_the_sample_passes_its_suite(layers: dict[str, pl.DataFrame], suite: str) -> None:
    outcome = validate_layer(suite, layers[suite], **CONTEXT)
    assert outcome.failures == (), [f.to_dict() for f in outcome.failures]
    assert outcome.success and outcome.evaluated == len(read_suite_json(suite)["expectations"])
    result = check_result(outcome, asset_key="x", check_name="gx")
    assert result.passed and result.metadata["expectations_evaluated"].value == outcome.evaluated
    assert result.metadata["status"].value == "passed"


def test_suites_are_deterministic_json_with_severity_and_why() -> None:
    files = sorted(EXPECTATIONS_DIR.glob("*.json"))
    assert {p.stem for p in files} == set(SUITES)
    for path in files:
        text = path.read_text()
        data = json.loads(text)
        assert dump_suite(data) == text, f"{path.name} is not in canonical form (sorted keys, indent 2)"
        assert "id" not in data and all("id" not in e for e in data["expectations"])
        assert all(e["meta"]["severity"] in ("error", "warn") and e["meta"]["why"] for e in data["expectations"])
        assert len(load_suite(path.stem).expectations) == len(data["expectations"])


def test_a_suite_without_severity_is_refused(tmp_path: Path) -> None:
    suite = {"name": "bad", "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}, "meta": {}}]}
    (tmp_path / "bad.json").write_text(json.dumps(suite))
    with pytest.raises(ValueError, match=r"meta\.severity"):
        load_suite("bad", tmp_path)


# ---------------------------------------------------------------------------------------- broken promises


def test_duplicate_kept_ids_block_deduplicated(layers: dict[str, pl.DataFrame]) -> None:
    frame = layers["deduplicated_examples"]
    kept = frame.filter(pl.col("duplicate_of").is_null())
    outcome = validate_layer("deduplicated_examples", pl.concat([frame, kept.head(2)]), **CONTEXT)
    assert_blocks(outcome, "expect_column_values_to_be_unique", "kept_example_id")


def test_gx_does_not_fingerprint_the_frame_it_validates(
    layers: dict[str, pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The md5 fingerprint of the whole pandas frame cost seconds per check at scale and is never read."""
    from great_expectations.execution_engine import pandas_execution_engine

    def refuse(frame: object) -> str:
        raise AssertionError("GX hashed the validated frame")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", refuse)
    frame = layers["deduplicated_examples"]
    kept = frame.filter(pl.col("duplicate_of").is_null())
    assert validate_layer("deduplicated_examples", frame, **CONTEXT).success
    outcome = validate_layer("deduplicated_examples", pl.concat([frame, kept.head(2)]), **CONTEXT)
    assert_blocks(outcome, "expect_column_values_to_be_unique", "kept_example_id")


def test_a_test_example_also_in_train_blocks_the_splits(layers: dict[str, pl.DataFrame]) -> None:
    combined = layers["splits"]
    leaked = combined.filter(pl.col("split") == "test").head(3).with_columns(split=pl.lit("train"))
    outcome = validate_layer("splits", pl.concat([combined, leaked]), **CONTEXT)
    result = assert_blocks(outcome, "expect_column_values_to_be_unique", "example_id")
    leaked_id = leaked.get_column("example_id")[0]
    failure = next(f for f in outcome.failures if f.column == "example_id")
    assert failure.unexpected_count == 6 and leaked_id in failure.unexpected_values
    assert any(f["column"] == "example_id" for f in result.metadata["failed_expectations"].value)


def _with_email_in_row(frame: pl.DataFrame, row: int, address: str = "sam.poe@example.net") -> pl.DataFrame:
    return frame.with_columns(
        messages=pl.when(pl.int_range(pl.len()) == row)
        .then(
            pl.col("messages").list.eval(
                pl.struct(
                    role=pl.element().struct.field("role"),
                    content=pl.element().struct.field("content") + f" Write to {address}",
                )
            )
        )
        .otherwise(pl.col("messages"))
    )


def test_a_leftover_email_blocks_scrubbed(layers: dict[str, pl.DataFrame]) -> None:
    leaky = _with_email_in_row(layers["scrubbed_examples"], 0, "jane.doe@example.org")
    outcome = validate_layer("scrubbed_examples", leaky, **CONTEXT)
    assert_blocks(outcome, "expect_column_values_to_be_between", "pii_findings")
    assert view("scrubbed_examples", leaky, **CONTEXT).get_column("pii_findings")[0] >= 1


def test_verified_texts_skip_the_rescan_but_an_edited_text_is_still_found(layers: dict[str, pl.DataFrame]) -> None:
    """What `no_pii_left` found clean is not scanned again; a text changed later (an edit in review) is."""
    from ftdata_assets.transforms.pii_report import clean_keys, leftover_findings

    scrubbed = layers["scrubbed_examples"]
    verified = clean_keys(scrubbed, leftover_findings(scrubbed, CONTEXT["allow_list"]))
    assert verified.height > 0.9 * scrubbed.height
    reviewed = layers["reviewed_examples"]
    full = view("reviewed_examples", reviewed, **CONTEXT).get_column("pii_findings")
    cached = view("reviewed_examples", reviewed, **CONTEXT, verified=verified).get_column("pii_findings")
    assert cached.equals(full)
    edited = _with_email_in_row(reviewed, 7)
    outcome = validate_layer("reviewed_examples", edited, **CONTEXT, verified=verified)
    assert_blocks(outcome, "expect_column_values_to_be_between", "pii_findings")
    found = view("reviewed_examples", edited, **CONTEXT, verified=verified).get_column("pii_findings")
    assert found[7] >= 1 and found.sum() == full.sum() + found[7] - full[7]


def test_a_verified_set_is_trusted_only_for_its_own_texts(layers: dict[str, pl.DataFrame]) -> None:
    """The skip is by content (128-bit keys): a verified set of other texts changes nothing, and a text with
    a finding is never recorded as clean."""
    from ftdata_assets.transforms.pii_report import clean_keys, detector_fingerprint, leftover_findings

    leaky = _with_email_in_row(layers["scrubbed_examples"], 3)
    findings = leftover_findings(leaky, CONTEXT["allow_list"])
    keys = clean_keys(leaky, findings)
    assert findings.height >= 1
    unrelated = clean_keys(layers["normalized_examples"].head(50), findings.clear())
    again = leftover_findings(leaky, CONTEXT["allow_list"], verified=unrelated)
    assert again.equals(findings)
    assert leftover_findings(leaky, CONTEXT["allow_list"], verified=keys).equals(findings)
    assert detector_fingerprint(["Lumora"]) != detector_fingerprint([]) == detector_fingerprint([])


def test_a_bad_role_blocks_normalized(layers: dict[str, pl.DataFrame]) -> None:
    frame = layers["normalized_examples"]
    bad = frame.with_columns(
        messages=pl.when(pl.int_range(pl.len()) == 5)
        .then(
            pl.col("messages").list.eval(
                pl.struct(role=pl.lit("narrator"), content=pl.element().struct.field("content"))
            )
        )
        .otherwise(pl.col("messages"))
    )
    outcome = validate_layer("normalized_examples", bad, **CONTEXT)
    assert_blocks(outcome, "expect_column_values_to_be_in_set", "roles_valid")
    assert ("expect_column_values_to_be_in_set", "has_user") in failed_names(outcome)


def test_an_unknown_reason_code_blocks_rejects_and_raw(layers: dict[str, pl.DataFrame]) -> None:
    rejects = layers["rejects"].with_columns(
        reason=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("because")).otherwise(pl.col("reason"))
    )
    outcome = validate_layer("rejects", rejects, **CONTEXT)
    assert_blocks(outcome, "expect_column_values_to_be_in_set", "reason_valid")
    raw = layers["raw"].with_columns(
        reason=pl.when(pl.col("reason").is_not_null()).then(pl.lit("low_quality:")).otherwise(pl.col("reason"))
    )
    assert_blocks(validate_layer("raw", raw, **CONTEXT), "expect_column_values_to_be_in_set", "reason_valid")


def test_an_unknown_drop_reason_blocks_scored(layers: dict[str, pl.DataFrame]) -> None:
    scored = layers["scored_examples"].with_columns(
        drop_reason=pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("vibes")).otherwise(pl.col("drop_reason"))
    )
    assert_blocks(
        validate_layer("scored_examples", scored, **CONTEXT), "expect_column_values_to_be_in_set", "reason_valid"
    )


def test_a_contract_change_is_named(layers: dict[str, pl.DataFrame]) -> None:
    frame = layers["normalized_examples"].drop("license").with_columns(pl.col("source_line").cast(pl.Int32))
    outcome = validate_layer("normalized_examples", frame, **CONTEXT)
    assert_blocks(outcome, "expect_column_values_to_be_in_set", "contract")
    failure = next(f for f in outcome.failures if f.column == "contract")
    assert "missing: license" in failure.observed_text() and "source_line: Int32" in failure.observed_text()


def test_ratios_out_of_tolerance_only_warn(layers: dict[str, pl.DataFrame]) -> None:
    combined = layers["split_summary"]
    skewed = pl.concat(
        [combined.filter(pl.col("split") != "train"), combined.filter(pl.col("split") == "train").head(300)]
    )
    outcome = validate_layer("split_summary", skewed, **CONTEXT)
    assert outcome.failures and not outcome.errors
    assert ("expect_column_values_to_be_between", "train_share_deviation") in failed_names(outcome)
    assert all(f.severity == "warn" for f in outcome.failures)
    result = check_result(outcome, asset_key="test", check_name="gx_split_summary")
    assert result.passed is True  # drift never blocks the release
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert "train_share_deviation" in result.metadata["failures"].value
    assert result.metadata["failed_warnings"].value == len(outcome.failures)
    assert result.metadata["status"].value.startswith("passed with")
    strict = check_result(outcome, warn_fails=True)
    assert strict.passed is False and strict.severity == dg.AssetCheckSeverity.WARN


def test_source_mix_out_of_bounds_warns(layers: dict[str, pl.DataFrame]) -> None:
    combined = layers["split_summary"]
    synthetic_heavy = pl.concat([combined, *[combined.filter(pl.col("source") == "synthetic")] * 4])
    outcome = validate_layer("split_summary", synthetic_heavy, **CONTEXT)
    assert ("expect_column_values_to_be_between", "share_synthetic") in failed_names(outcome)
    assert not outcome.errors


def test_a_missing_view_column_is_reported_not_raised() -> None:
    outcome = validate_frame(pl.DataFrame({"contract": ["ok"]}), "rejects")
    assert outcome.blocking
    assert ("expect_table_columns_to_match_set", None) in failed_names(outcome)
    assert any(f.exception for f in outcome.failures)  # e.g. the layer column does not exist


# ------------------------------------------------------------------------------------ profiling and CLI


def test_profile_regenerates_a_suite_the_good_version_passes(layers: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    frame = layers["scored_examples"]
    fresh = profile_suite("scored_examples", frame, **CONTEXT)
    assert dump_suite(fresh) == dump_suite(profile_suite("scored_examples", frame, **CONTEXT))
    (tmp_path / "scored_examples.json").write_text(dump_suite(fresh))
    assert validate_layer("scored_examples", frame, directory=tmp_path, **CONTEXT).success
    by_column = {(e["type"], e["kwargs"].get("column")): e for e in fresh["expectations"]}
    token = by_column[("expect_column_values_to_be_between", "token_count")]
    assert token["kwargs"]["min_value"] <= frame["token_count"].min() <= frame["token_count"].max()
    assert token["kwargs"]["max_value"] >= frame["token_count"].max()
    assert by_column[("expect_column_values_to_be_between", "pii_findings")]["meta"]["severity"] == "error"

    existing = read_suite_json("scored_examples")
    merged = profile_suite("scored_examples", frame, existing=existing, **CONTEXT)
    assert merged["expectations"][: len(existing["expectations"])][0]["meta"] == existing["expectations"][0]["meta"]
    kept_hand_written = [e for e in merged["expectations"] if e["type"] == "expect_compound_columns_to_be_unique"]
    assert kept_hand_written, "hand-written expectations the profiler cannot produce are kept"


def test_cli_validates_and_profiles_parquet(layers: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    path = tmp_path / "rejects.parquet"
    layers["rejects"].write_parquet(path)
    params = ["--params", str(REPO_ROOT / "params.yaml")]
    assert main(["validate", "rejects", str(path), *params]) == 0
    broken = tmp_path / "broken" / "rejects.parquet"
    broken.parent.mkdir()
    layers["rejects"].with_columns(reason=pl.lit("nope")).write_parquet(broken)
    assert main(["validate", "rejects", str(broken), *params]) == 1
    assert main(["profile", "rejects", str(path), "--out", str(tmp_path / "suites"), *params]) == 0
    assert read_suite_json("rejects", tmp_path / "suites")["name"] == "rejects"


def test_great_expectations_is_imported_lazily() -> None:
    code = (
        "import sys, ftdata_assets.validation, ftdata_assets.transforms.validation_views; "
        "print('great_expectations' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert out.stdout.strip() == "False"


def test_a_contaminated_held_out_row_or_a_straddling_group_blocks_split_assignments(
    layers: dict[str, pl.DataFrame],
) -> None:
    assigned = layers["split_assignments"]
    assert assigned["contaminated_by"].null_count() < assigned.height  # the sample's planted benchmark items
    first_test = pl.col("example_id") == assigned.filter(pl.col("split") == "test")["example_id"][0]
    tainted = assigned.with_columns(
        contaminated_by=pl.when(first_test).then(pl.lit("bench.jsonl")).otherwise("contaminated_by"),
        contamination_detail=pl.when(first_test).then(pl.lit("item 1")).otherwise("contamination_detail"),
    )
    assert_blocks(
        validate_layer("split_assignments", tainted, **CONTEXT),
        "expect_column_values_to_be_in_set",
        "contamination_on_train",
    )
    train_id = assigned.filter(pl.col("split") == "train")["split_group"][0]
    straddling = assigned.with_columns(split_group=pl.when(first_test).then(pl.lit(train_id)).otherwise("split_group"))
    assert_blocks(
        validate_layer("split_assignments", straddling, **CONTEXT), "expect_column_values_to_be_in_set", "group_splits"
    )


# ------------------------------------------------------------------------------------------- OASST trees


def _oasst_message(mid: str, role: str, text: str, *replies: dict, **fields: object) -> dict:
    return {"message_id": mid, "role": role, "text": text, "lang": "en", "replies": list(replies), **fields}


def test_a_branching_oasst_tree_passes_raw_and_balances_the_ledger_but_a_line_read_twice_blocks(
    tmp_path: Path,
) -> None:
    """An OASST tree gives one raw row per path, all on the tree's line: the raw suite's per-line uniqueness tells
    them apart by their message ids (`oasst_path`), even two paths of the same texts (the same example_id), and
    still blocks a line that gives two rows for any other reason."""
    import orjson

    from ftdata_assets.transforms.ingest import format_counts, read_raw, split_raw
    from ftdata_assets.transforms.ledger import build_ledger, ledger_imbalance

    fixture = REPO_ROOT / "tests" / "fixtures" / "formats" / "oasst_trees.jsonl"
    ranked = orjson.loads(fixture.read_bytes().splitlines()[0])  # best answer with two answered follow-ups
    unranked = {  # no ranks: every answer is followed, and two of them say the same
        "message_tree_id": "u2",
        "prompt": _oasst_message(
            "p1",
            "prompter",
            "Is it fine to water succulents once a week in winter?",
            _oasst_message("a1", "assistant", "Less often: every two to three weeks, when the soil is dry."),
            _oasst_message("a2", "assistant", "Less often: every two to three weeks, when the soil is dry."),
            _oasst_message(
                "a3",
                "assistant",
                "No, they rest in winter.",
                _oasst_message("p2", "prompter", "And in summer?", _oasst_message("a4", "assistant", "Weekly.")),
            ),
        ),
    }
    chat = {"messages": [{"role": "user", "content": "Name a prime."}, {"role": "assistant", "content": "Seven."}]}
    raw_dir = tmp_path / "raw"
    (raw_dir / "expert").mkdir(parents=True)
    path = raw_dir / "expert" / "oasst_export.jsonl"
    path.write_bytes(b"\n".join([orjson.dumps(ranked), orjson.dumps(unranked), orjson.dumps(chat), b'{"messages":']))
    raw = read_raw(path, "expert", root=raw_dir)

    assert raw["source_line"].to_list() == [1, 1, 2, 2, 2, 3, 4]
    assert raw["reason"].to_list() == [None] * 6 + ["invalid_json"]
    assert raw["example_id"][2] == raw["example_id"][3]  # two answers of the same text: the same example
    assert raw.select("source_file", "source_line").is_duplicated().sum() == 5  # what the old key refused
    outcome = validate_layer("raw", raw, **CONTEXT)
    assert not outcome.errors, [f.to_dict() for f in outcome.errors]
    assert ("expect_compound_columns_to_be_unique", None) not in failed_names(outcome)
    assert check_result(outcome).passed  # only warn-level drift (1 reject in 7 rows) may be listed

    # the ledger: every path is a row in, each one kept or rejected once
    examples, rejects = split_raw(raw)
    rows_in = sum(counts["rows"] for counts in format_counts(raw).values())
    ledger = build_ledger(rows_in, {"train": examples.height}, rejects, held_for_review=0)
    assert (rows_in, examples.height, ledger["rejected"]) == (7, 6, {"invalid_json": 1})
    assert ledger_imbalance(ledger) == 0

    # a tree line read twice, and a chat line giving two rows, still block the raw check
    for doubled in (pl.concat([raw, raw.filter(pl.col("source_line") == 2)]), pl.concat([raw, raw[5]])):
        blocked = validate_layer("raw", doubled, **CONTEXT)
        failure = next(f for f in blocked.failures if f.expectation_type == "expect_compound_columns_to_be_unique")
        assert failure.severity == "error"
        result = check_result(blocked)
        assert result.passed is False and result.severity == dg.AssetCheckSeverity.ERROR
        assert "expect_compound_columns_to_be_unique" in result.metadata["failures"].value
    # a line that became an example and a reject (no oasst_path on either) repeats its key too
    reject_too = pl.concat([raw, raw[6].with_columns(source_line=pl.lit(3, pl.Int64))])
    assert ("expect_compound_columns_to_be_unique", None) in failed_names(validate_layer("raw", reject_too, **CONTEXT))


def test_kto_rows_labelled_undesirable_pass_the_rejects_suite_as_ingest_rejects(tmp_path: Path) -> None:
    """`label: false` rows are ingest rejects (undesirable_label): the rejects suite's reason_matches_layer accepts
    them under layer ingest and nowhere else."""
    import orjson

    from ftdata_assets.transforms.ingest import read_raw, split_raw

    path = tmp_path / "kto.jsonl"
    rows = [
        {"prompt": f"How do I boil {food}?", "completion": f"Boil the {food} for {n} minutes.", "label": n % 2 == 0}
        for n, food in enumerate(("eggs", "rice", "pasta", "potatoes"), start=4)
    ]
    path.write_bytes(b"\n".join(orjson.dumps(row) for row in rows) + b"\n")
    examples, rejects = split_raw(read_raw(path, "expert", root=tmp_path))
    assert examples.height == 2 and rejects["reason"].to_list() == ["undesirable_label"] * 2
    assert rejects["layer"].unique().to_list() == ["ingest"]
    outcome = validate_layer("rejects", rejects, **CONTEXT)
    assert not outcome.errors, [f.to_dict() for f in outcome.errors]
    assert view("rejects", rejects)["reason_matches_layer"].to_list() == [True, True]
    elsewhere = rejects.with_columns(layer=pl.lit("quality"))
    assert_blocks(
        validate_layer("rejects", elsewhere, **CONTEXT), "expect_column_values_to_be_in_set", "reason_matches_layer"
    )


@pytest.mark.parametrize("layer", ["normalized_examples", "scrubbed_examples", "scored_examples", "rejects"])
def test_tree_paths_on_one_line_pass_but_a_line_read_twice_blocks(layers: dict[str, pl.DataFrame], layer: str) -> None:
    """An OASST tree gives one row per root-to-leaf path, all on the tree's line, with their own example ids:
    every layer after ingest accepts them; the same row twice (a line read twice) still blocks."""
    frame = layers[layer].filter(pl.col("example_id").is_not_null())
    row = frame.head(1)
    other_path = row.with_columns(example_id=pl.lit("f" * 64))  # another path of the same tree
    ok = validate_layer(layer, pl.concat([frame, other_path]), **CONTEXT)
    assert ("expect_compound_columns_to_be_unique", None) not in failed_names(ok), ok.failures
    twice = validate_layer(layer, pl.concat([frame, row]), **CONTEXT)
    assert ("expect_compound_columns_to_be_unique", None) in failed_names(twice), twice.failures
