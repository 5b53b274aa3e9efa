"""Tests of transforms.provenance: each policy rule on canonical-schema frames, the null/empty rules, param
validation, the stale boundary, precedence over quality reasons, and a run over the bundled sample data
(exactly the planted rows are caught)."""

import datetime as dt
import random
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from ftdata_assets import sample_data as sd
from ftdata_assets.project import RAW_SOURCE_DIRS
from ftdata_assets.schema import EXAMPLE_SCHEMA, ReasonCode, is_valid_reason
from ftdata_assets.transforms import provenance as pv
from ftdata_assets.transforms.ingest import read_examples

REPO_ROOT = Path(__file__).resolve().parents[1]
UTC = dt.UTC
TEACHER = ReasonCode.DISALLOWED_TEACHER_MODEL
LICENSE = ReasonCode.DISALLOWED_LICENSE
PARAMS: dict[str, Any] = {
    "teacher_models": [
        "gpt-4o-2024-08-06",
        "llama-3.1-70b-instruct",
        "mixtral-8x22b-instruct-v0.1",
        "qwen2.5-72b-instruct",
    ],
    "licenses": ["internal", "CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "Apache-2.0", "MIT"],
    "require_license_for": [],
    "stale_before": "2026-01-01",
}
POLICY = pv.ProvenancePolicy.from_params(PARAMS)
OFF = pv.ProvenancePolicy(teacher_models=None, licenses=None)
CONVERSATION = [
    {"role": "user", "content": "Does the Lumora Smart Plug work with Matter?"},
    {"role": "assistant", "content": "Yes, the Lumora Smart Plug works with Matter."},
]
NOV = dt.datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def examples(*rows: dict[str, Any]) -> pl.DataFrame:
    """Rows with the canonical schema (plus drop_reason / tags when a row gives them); ids, lines and a
    conversation are filled in, every other column is null unless given."""
    extra = {"drop_reason": pl.String, "tags": pl.List(pl.String)}
    schema = {**EXAMPLE_SCHEMA, **{k: v for k, v in extra.items() if any(k in r for r in rows)}}
    filled = [
        {
            "example_id": f"id-{i}",
            "source": "expert",
            "source_file": "expert/chat_examples.jsonl",
            "source_line": i + 1,
            "messages": CONVERSATION,
            **row,
        }
        for i, row in enumerate(rows)
    ]
    return pl.DataFrame(filled, schema=schema)


def synthetic(teacher: str | None, **row: Any) -> dict[str, Any]:
    return {"source": "synthetic", "teacher_model": teacher, "partition": "batch-1", **row}


def outcome(frame: pl.DataFrame, policy: pv.ProvenancePolicy = POLICY) -> list[tuple[str | None, str | None]]:
    out = pv.apply_policy(frame, policy)
    return list(out.select("drop_reason", "policy_detail").iter_rows())


# -------------------------------------------------------------------------------------------- contract


def test_adds_drop_reason_tags_and_policy_detail_with_their_types() -> None:
    out = pv.apply_policy(examples({"license": "internal"}), POLICY)
    assert out.columns == [*EXAMPLE_SCHEMA, "drop_reason", "policy_detail"]
    assert dict(out.schema) == {
        **EXAMPLE_SCHEMA,
        "drop_reason": pl.String,
        "tags": pl.List(pl.String),
        "policy_detail": pl.String,
    }
    assert out.row(0, named=True) == {
        **examples({"license": "internal"}).row(0, named=True),
        "drop_reason": None,
        "tags": [],
        "policy_detail": None,
    }


def test_existing_drop_reason_and_tags_stay_in_place() -> None:
    frame = examples({"drop_reason": None, "tags": ["refusal"], "source": "feedback"})
    out = pv.apply_policy(frame, POLICY)
    assert out.columns == [*frame.columns, "policy_detail"]
    assert out["tags"].to_list() == [["refusal"]]


def test_same_rows_same_order_and_other_columns_untouched() -> None:
    rng = random.Random(7)
    teachers = [*PARAMS["teacher_models"], "unvetted-teacher-13b", None]
    licenses = [*PARAMS["licenses"], "CC-BY-NC-4.0", None]
    rows = [
        {
            "source": rng.choice(("production_log", "expert", "synthetic", "feedback")),
            "teacher_model": rng.choice(teachers),
            "license": rng.choice(licenses),
            "created_at": rng.choice((None, NOV, dt.datetime(2025, 3, 1, tzinfo=UTC))),
        }
        for _ in range(200)
    ]
    frame = examples(*rows).sample(fraction=1.0, shuffle=True, seed=3)
    out = pv.apply_policy(frame, POLICY)
    assert out.height == frame.height
    # `tags` is a canonical column now, and the policy adds `stale` to it: every other column is untouched
    assert out.select(frame.columns).drop("tags").equals(frame.drop("tags"))
    reasons = set(out["drop_reason"].drop_nulls())
    assert reasons == {TEACHER, LICENSE}  # the random mix hits both rules, so the order check means something
    assert all(is_valid_reason(r) for r in reasons)


def test_empty_frame() -> None:
    out = pv.apply_policy(examples().head(0), POLICY)
    assert out.height == 0 and out.schema["policy_detail"] == pl.String and out.schema["tags"] == pl.List(pl.String)


def test_missing_columns_raise() -> None:
    with pytest.raises(ValueError, match="teacher_model"):
        pv.apply_policy(examples({}).drop("teacher_model"), POLICY)


def test_applying_the_policy_twice_raises() -> None:
    once = pv.apply_policy(examples(synthetic("unvetted-teacher-13b")), POLICY)
    with pytest.raises(ValueError, match="policy_detail"):
        pv.apply_policy(once, POLICY)


# ------------------------------------------------------------------------------------------ teacher models


def test_unlisted_teacher_on_a_synthetic_row_is_rejected() -> None:
    frame = examples(synthetic("unvetted-teacher-13b"), synthetic("gpt-4o-2024-08-06"))
    assert outcome(frame) == [
        (TEACHER, "teacher model 'unvetted-teacher-13b' is not in policy.teacher_models"),
        (None, None),
    ]


def test_teacher_match_ignores_case_and_surrounding_whitespace_but_nothing_else() -> None:
    frame = examples(
        synthetic(" GPT-4o-2024-08-06 "),
        synthetic("QWEN2.5-72B-INSTRUCT"),
        synthetic("gpt-4o"),  # a prefix of an allowed model is another model
        synthetic("mixtral-8x7b-instruct-v0.1"),  # a sibling of an allowed model
        synthetic("gpt-4o-2024-08-06-ft"),
    )
    assert [r for r, _ in outcome(frame)] == [None, None, TEACHER, TEACHER, TEACHER]
    assert pv.normalize_teacher_model("  Llama-3.1-70B-Instruct\t") == "llama-3.1-70b-instruct"


@pytest.mark.parametrize("teacher", [None, "", "   "])
def test_a_synthetic_row_without_teacher_is_rejected(teacher: str | None) -> None:
    [(reason, detail)] = outcome(examples(synthetic(teacher)))
    assert reason == TEACHER
    assert detail == "synthetic row has no teacher_model; policy.teacher_models requires a listed one"


def test_teacher_on_non_synthetic_rows_is_ignored() -> None:
    frame = examples(
        {"source": "production_log", "teacher_model": "support-assistant-v3"},
        {"source": "expert", "teacher_model": "unvetted-teacher-13b"},
        {"source": "feedback", "teacher_model": None},
    )
    assert outcome(frame) == [(None, None)] * 3


def test_empty_teacher_list_allows_no_synthetic_row() -> None:
    policy = pv.ProvenancePolicy.from_params({**PARAMS, "teacher_models": []})
    frame = examples(synthetic("gpt-4o-2024-08-06"), synthetic(None), {"source": "expert"})
    assert [r for r, _ in outcome(frame, policy)] == [TEACHER, TEACHER, None]


def test_null_teacher_list_disables_the_check() -> None:
    policy = pv.ProvenancePolicy.from_params({**PARAMS, "teacher_models": None})
    frame = examples(synthetic("unvetted-teacher-13b"), synthetic(None))
    assert outcome(frame, policy) == [(None, None)] * 2


# ------------------------------------------------------------------------------------------------ licenses


def test_unlisted_license_is_rejected_on_any_source() -> None:
    frame = examples(
        {"source": "expert", "license": "CC-BY-NC-4.0"},
        synthetic("llama-3.1-70b-instruct", license="GPL-3.0"),
        {"source": "feedback", "license": "proprietary"},
        {"source": "expert", "license": "internal"},
    )
    assert outcome(frame) == [
        (LICENSE, "license 'CC-BY-NC-4.0' is not in policy.licenses"),
        (LICENSE, "license 'GPL-3.0' is not in policy.licenses"),
        (LICENSE, "license 'proprietary' is not in policy.licenses"),
        (None, None),
    ]


def test_license_spellings_are_normalized() -> None:
    kept = ["cc-by-4.0", "CC BY 4.0", "CC_BY_SA_4.0", " mit ", "apache 2.0", "Internal", "cc0 - 1.0"]
    rejected = ["CC BY-NC 4.0", "cc_by_nc_4.0", "CC-BY-4.0-NC", "MIT-0"]
    frame = examples(*({"license": name} for name in kept + rejected))
    assert [r for r, _ in outcome(frame)] == [None] * len(kept) + [LICENSE] * len(rejected)
    assert pv.normalize_license("CC BY  4.0") == pv.normalize_license("cc_by_4.0") == "cc-by-4.0"
    assert pv.normalize_license("   ") is None


@pytest.mark.parametrize("license_", [None, "", "  "])
def test_missing_license_is_allowed_unless_the_source_requires_one(license_: str | None) -> None:
    policy = pv.ProvenancePolicy.from_params({**PARAMS, "require_license_for": ["expert"]})
    frame = examples(
        {"source": "expert", "license": license_},
        {"source": "expert", "license": "MIT"},
        synthetic("gpt-4o-2024-08-06", license=license_),
    )
    assert outcome(frame, policy) == [
        (LICENSE, "expert rows must carry a license from policy.licenses (policy.require_license_for)"),
        (None, None),
        (None, None),
    ]
    assert outcome(frame, POLICY) == [(None, None)] * 3  # require_license_for: [] requires nothing


def test_empty_license_list_rejects_every_licensed_row() -> None:
    policy = pv.ProvenancePolicy.from_params({**PARAMS, "licenses": []})
    frame = examples({"license": "internal"}, {"license": None})
    assert [r for r, _ in outcome(frame, policy)] == [LICENSE, None]


def test_null_license_list_disables_the_check() -> None:
    policy = pv.ProvenancePolicy.from_params({**PARAMS, "licenses": None})
    assert outcome(examples({"license": "CC-BY-NC-4.0"}), policy) == [(None, None)]


# -------------------------------------------------------------------------------------------- precedence


def test_policy_violation_takes_precedence_over_a_quality_reason() -> None:
    frame = examples(
        synthetic("unvetted-teacher-13b", drop_reason="low_quality:boilerplate"),
        {"license": "CC-BY-NC-4.0", "drop_reason": "low_quality:language"},
        {"license": "internal", "drop_reason": "low_quality:too_short"},
        {"license": "internal", "drop_reason": None},
    )
    assert outcome(frame) == [
        (
            TEACHER,
            "teacher model 'unvetted-teacher-13b' is not in policy.teacher_models; also dropped as "
            "low_quality:boilerplate",
        ),
        (LICENSE, "license 'CC-BY-NC-4.0' is not in policy.licenses; also dropped as low_quality:language"),
        ("low_quality:too_short", None),
        (None, None),
    ]


def test_a_row_violating_both_rules_counts_under_teacher_model() -> None:
    [(reason, detail)] = outcome(examples(synthetic("unvetted-teacher-13b", license="CC-BY-NC-4.0")))
    assert reason == TEACHER
    assert detail == (
        "teacher model 'unvetted-teacher-13b' is not in policy.teacher_models; "
        "license 'CC-BY-NC-4.0' is not in policy.licenses"
    )


def test_disabled_checks_change_nothing() -> None:
    frame = examples(
        synthetic(
            "unvetted-teacher-13b", license="CC-BY-NC-4.0", created_at=dt.datetime(2020, 1, 1, tzinfo=UTC), tags=[]
        ),
        {"license": None, "drop_reason": "low_quality:mojibake", "tags": ["mojibake_repaired"]},
    )
    out = pv.apply_policy(frame, OFF)
    assert out.drop("policy_detail").equals(frame)
    assert out["policy_detail"].null_count() == 2


# ------------------------------------------------------------------------------------------------ stale


def test_stale_boundary_and_null_created_at() -> None:
    cut = dt.datetime(2026, 1, 1, tzinfo=UTC)
    created = [
        cut,  # exactly at the date: not stale
        cut - dt.timedelta(microseconds=1),
        dt.datetime(2024, 9, 17, 10, 2, 11, tzinfo=UTC),
        None,  # unknown age is never stale
        NOV,
    ]
    out = pv.apply_policy(examples(*({"created_at": c} for c in created)), POLICY)
    assert out["tags"].to_list() == [[], ["stale"], ["stale"], [], []]
    assert out["drop_reason"].null_count() == 5  # stale rows are kept


def test_stale_tag_is_merged_sorted_and_unique() -> None:
    old = dt.datetime(2025, 6, 1, tzinfo=UTC)
    frame = examples(
        {"created_at": old, "tags": ["z_last", "refusal"]},
        {"created_at": old, "tags": ["stale"]},
        {"created_at": old, "tags": None},
        {"created_at": NOV, "tags": ["refusal", "edge_case"]},
    )
    out = pv.apply_policy(frame, POLICY)
    assert out["tags"].to_list() == [["refusal", "stale", "z_last"], ["stale"], ["stale"], ["edge_case", "refusal"]]


def test_created_at_is_compared_in_utc() -> None:
    # 00:30 in Berlin on New Year's Day is 23:30 UTC on New Year's Eve: stale
    berlin = dt.datetime(2026, 1, 1, 0, 30)
    frame = examples({}).with_columns(
        pl.lit(berlin).cast(pl.Datetime("us")).dt.replace_time_zone("Europe/Berlin").alias("created_at")
    )
    assert pv.apply_policy(frame, POLICY)["tags"].to_list() == [["stale"]]
    naive = examples({}).with_columns(pl.lit(dt.datetime(2025, 12, 31, 23, 30)).alias("created_at"))
    assert pv.apply_policy(naive, POLICY)["tags"].to_list() == [["stale"]]


@pytest.mark.parametrize(
    "value",
    ["2026-01-01", dt.date(2026, 1, 1), dt.datetime(2026, 1, 1), "2026-01-01T01:00:00+01:00", " 2026-01-01T00:00Z "],
)
def test_stale_before_spellings(value: object) -> None:
    policy = pv.ProvenancePolicy.from_params({**PARAMS, "stale_before": value})
    assert policy.stale_before == dt.datetime(2026, 1, 1, tzinfo=UTC)


def test_no_stale_before_tags_nothing() -> None:
    policy = pv.ProvenancePolicy.from_params({**PARAMS, "stale_before": None})
    out = pv.apply_policy(examples({"created_at": dt.datetime(2001, 1, 1, tzinfo=UTC)}), policy)
    assert out["tags"].to_list() == [[]]


# ------------------------------------------------------------------------------------------------ params


def test_from_params_takes_the_section_or_the_whole_params() -> None:
    assert pv.ProvenancePolicy.from_params({"sample": {"seed": 1}, "policy": PARAMS}) == POLICY
    assert POLICY.teacher_models == tuple(PARAMS["teacher_models"])
    assert POLICY.license_keys == ["internal", "cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0", "apache-2.0", "mit"]


def test_optional_keys_may_be_omitted_required_ones_may_not() -> None:
    policy = pv.ProvenancePolicy.from_params({"teacher_models": [], "licenses": None})
    assert policy.require_license_for == () and policy.stale_before is None
    assert pv.ProvenancePolicy.from_params({**PARAMS, "require_license_for": None}).require_license_for == ()


def test_the_projects_params_yaml_is_a_valid_policy() -> None:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    policy = pv.ProvenancePolicy.from_params(params["policy"])
    # the bundled sample's own teachers must be allowed, or every synthetic row would be rejected
    assert {pv.normalize_teacher_model(t) for t in sd.TEACHERS.values()} <= set(policy.teacher_keys or [])
    assert pv.normalize_license(sd.LICENSE) in (policy.license_keys or [])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"teacher_model": ["gpt-4o-2024-08-06"]}, r"unknown policy parameter\(s\) \['teacher_model'\]"),
        ({"stale_after": "2026-01-01"}, r"\['stale_after'\]"),
        ({"teacher_models": "gpt-4o-2024-08-06"}, r"policy\.teacher_models must be a list of strings or null"),
        ({"teacher_models": {"gpt-4o": True}}, r"policy\.teacher_models must be a list"),
        ({"licenses": ["MIT", 1.0]}, r"policy\.licenses\[1\] must be a string"),
        ({"licenses": ["MIT", "  "]}, r"policy\.licenses\[1\] is blank"),
        ({"stale_before": "last year"}, r"policy\.stale_before must be an ISO date"),
        ({"stale_before": 20260101}, r"policy\.stale_before must be an ISO date or timestamp or null, not int"),
        ({"stale_before": True}, r"policy\.stale_before"),
        ({"require_license_for": ["experts"]}, r"policy\.require_license_for: unknown source\(s\) \['experts'\]"),
        ({"require_license_for": "expert"}, r"policy\.require_license_for must be a list of strings"),
        ({"require_license_for": ["expert"], "licenses": None}, r"policy\.require_license_for needs policy\.licenses"),
    ],
)
def test_invalid_params_raise_naming_the_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pv.ProvenancePolicy.from_params({**PARAMS, **change})


@pytest.mark.parametrize("key", ["teacher_models", "licenses"])
def test_a_missing_allow_list_is_an_error_not_a_disabled_check(key: str) -> None:
    params = {k: v for k, v in PARAMS.items() if k != key}
    with pytest.raises(ValueError, match=rf"policy\.{key} is missing.*write null to disable"):
        pv.ProvenancePolicy.from_params(params)


@pytest.mark.parametrize("params", [None, [], "teacher_models: []"])
def test_policy_section_must_be_a_mapping(params: object) -> None:
    with pytest.raises(ValueError, match="policy must be a mapping"):
        pv.ProvenancePolicy.from_params(params)  # type: ignore[arg-type]


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ValueError, match=r"policy\.licenses"):
        pv.ProvenancePolicy(teacher_models=None, licenses="MIT")  # type: ignore[arg-type]
    policy = pv.ProvenancePolicy(teacher_models=["a"], licenses=None, stale_before="2026-01-01")  # type: ignore[arg-type]
    assert policy.teacher_models == ("a",) and policy.stale_before == dt.datetime(2026, 1, 1, tzinfo=UTC)
    hash(policy)  # frozen and hashable: lists became tuples


# ----------------------------------------------------------------------------------------------- summary


def test_policy_summary_counts() -> None:
    old = dt.datetime(2025, 1, 1, tzinfo=UTC)
    frame = examples(
        synthetic("unvetted-teacher-13b"),
        synthetic("unvetted-teacher-13b", created_at=old),
        synthetic(None),
        {"license": "CC-BY-NC-4.0", "created_at": old},
        {"license": "internal", "created_at": old},
        {"license": "internal", "created_at": NOV},
    )
    summary = pv.policy_summary(pv.apply_policy(frame, POLICY))
    assert summary == {
        "disallowed_teacher_model": 3,
        "disallowed_teacher_models": {"(missing)": 1, "unvetted-teacher-13b": 2},
        "disallowed_license": 1,
        "disallowed_licenses": {"CC-BY-NC-4.0": 1},
        "stale": 3,
        "stale_kept": 1,
    }


# ------------------------------------------------------------------------------------- the bundled sample


@pytest.fixture(scope="module")
def sample_examples(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("raw")
    sd.generate_sample(root)
    frames = []
    for source, folder in RAW_SOURCE_DIRS.items():
        for path in sorted((root / folder).iterdir()):
            frames.append(read_examples(path, source, root=root)[0])
    return pl.concat(frames)


def test_sample_data_exactly_the_planted_rows_are_caught(sample_examples: pl.DataFrame) -> None:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["policy"]
    out = pv.apply_policy(sample_examples, pv.ProvenancePolicy.from_params(params))
    caught = out.filter(pl.col("drop_reason").is_not_null())
    expected = Counter((p.file, p.reason) for p in sd.POLICY_PLANTS if p.reason)
    assert Counter(caught.select("source_file", "drop_reason").iter_rows()) == expected
    stale = out.filter(pl.col("tags").list.contains("stale"))
    planted_stale = sorted(dt.datetime.fromisoformat(p.value) for p in sd.POLICY_PLANTS if p.tag == "stale" and p.value)
    assert sorted(stale["created_at"]) == planted_stale
    assert set(stale["source_file"]) == {p.file for p in sd.POLICY_PLANTS if p.tag == "stale"}
    summary = pv.policy_summary(out)
    kinds = Counter(p.kind for p in sd.POLICY_PLANTS)
    assert summary[TEACHER] == kinds["policy:disallowed_teacher_model"]
    assert summary[LICENSE] == kinds["policy:disallowed_license"]
    assert summary["stale"] == summary["stale_kept"] == kinds["policy:stale"]
