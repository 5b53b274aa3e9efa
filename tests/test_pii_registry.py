"""The recognizer registry: users' own patterns and deny-lists from params, switching types off, bad config."""

import polars as pl
import pytest
from stdnum import luhn

from ftdata_assets.schema import MESSAGES
from ftdata_assets.transforms.pii import (
    ENTITY_TYPES,
    PII_COUNTS,
    PiiConfigError,
    PiiSettings,
    detect,
    scrub,
)
from ftdata_assets.transforms.pii_report import detector_fingerprint, leftover_findings, pii_totals, rescrub_changed

PARAMS = {
    "allow_list": ["Lumora"],
    "recognizers": [
        {"name": "employee_code", "entity_type": "EMPLOYEE_ID", "patterns": [r"\bEMP-[0-9]{6}\b"]},
        {"name": "customers", "entity_type": "CUSTOMER_ID", "deny_list": ["ACME-00017", "Globex Key 42"]},
    ],
}


def frame(*conversations: list[str]) -> pl.DataFrame:
    rows = [
        {"example_id": f"ex{i}", "messages": [{"role": "user", "content": c} for c in conv]}
        for i, conv in enumerate(conversations)
    ]
    return pl.DataFrame(rows, schema={"example_id": pl.String, "messages": MESSAGES})


def contents(out: pl.DataFrame) -> list[list[str]]:
    return [[m["content"] for m in msgs] for msgs in out["messages"].to_list()]


def test_a_user_pattern_and_a_deny_list_term_are_found_and_scrubbed_to_typed_placeholders() -> None:
    settings = PiiSettings.from_params(PARAMS)
    texts = [
        "Escalated by EMP-004211 for customer acme-00017 (ACME-00017 in the CRM).",
        "EMP-0042111 is too long and ACME-000170 is another id; Globex key 42 is ours.",
    ]
    found = detect(pl.Series(texts), settings=settings)
    got = list(zip(found["row"], found["entity_type"], found["text"], strict=True))
    assert got == [
        (0, "EMPLOYEE_ID", "EMP-004211"),
        (0, "CUSTOMER_ID", "acme-00017"),
        (0, "CUSTOMER_ID", "ACME-00017"),
        (1, "CUSTOMER_ID", "Globex key 42"),
    ]
    out = scrub(
        frame([texts[0], "Ask EMP-004211 again, and mail ops@acme.example"]), settings=settings, text_columns=()
    )
    assert contents(out) == [
        [
            "Escalated by <EMPLOYEE_ID_1> for customer <CUSTOMER_ID_1> (<CUSTOMER_ID_1> in the CRM).",
            "Ask <EMPLOYEE_ID_1> again, and mail <EMAIL_ADDRESS_1>",
        ]
    ]
    counts = out["pii_counts"][0]
    # the built-in fields first, unchanged; then one field per user type: no count is lost
    assert list(counts) == [*ENTITY_TYPES, "EMPLOYEE_ID", "CUSTOMER_ID"]
    assert counts["EMPLOYEE_ID"] == 2 and counts["CUSTOMER_ID"] == 2 and counts["EMAIL_ADDRESS"] == 1
    assert pii_totals(out)["by_type"]["CUSTOMER_ID"] == 2 and pii_totals(out)["replaced"] == 5


def test_the_placeholder_of_a_user_type_is_never_redetected() -> None:
    # a pattern that would match its own placeholder's text
    params = {"recognizers": [{"name": "ids", "entity_type": "TICKET_ID", "patterns": [r"[A-Z_]+_[0-9]+"]}]}
    settings = PiiSettings.from_params(params)
    out = scrub(frame(["see TICKET_9 and BUG_12"]), settings=settings, text_columns=())
    assert contents(out) == [["see <TICKET_ID_1> and <TICKET_ID_2>"]]
    assert detect(pl.Series(contents(out)[0]), settings=settings).height == 0
    assert leftover_findings(out, settings).height == 0
    # nor by a detector under other settings (the built-in registry, another user's patterns)
    other = PiiSettings.from_params({"recognizers": [{"name": "t", "entity_type": "TAG", "patterns": ["TICKET"]}]})
    assert detect(pl.Series(contents(out)[0])).height == 0
    assert detect(pl.Series(contents(out)[0]), settings=other).height == 0


def test_without_the_user_settings_the_default_registry_knows_nothing_of_user_types() -> None:
    texts = pl.Series(["Escalated by EMP-004211 for ACME-00017"])
    assert detect(texts).height == 0
    assert detect(texts, settings=PiiSettings.from_params(PARAMS)).height == 2
    out = scrub(frame(["hello"]), text_columns=())
    assert out.schema["pii_counts"] == PII_COUNTS  # the data contract is unchanged without user types


def test_context_words_and_a_validator_gate_a_user_pattern() -> None:
    params = {
        "recognizers": [
            {
                "name": "loyalty",
                "entity_type": "LOYALTY_CARD",
                "patterns": [r"\b[0-9]{10}\b"],
                "context": ["loyalty", "Kundenkarte"],
                "validator": "luhn",
            }
        ]
    }
    settings = PiiSettings.from_params(params)
    valid = "499273987" + luhn.calc_check_digit("499273987")
    invalid = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    texts = [f"loyalty no. {valid}", f"Kundenkarte: {valid}", f"loyalty no. {invalid}", f"ref {valid}"]
    found = detect(pl.Series(texts), settings=settings).filter(pl.col("entity_type") == "LOYALTY_CARD")
    assert found["row"].to_list() == [0, 1]  # Luhn fails on row 2, no context word in row 3


def test_a_disabled_type_or_recognizer_is_not_reported() -> None:
    texts = pl.Series(["SSN 078-05-1121, call +44 20 7946 0958, mail a.b@example.org"])
    all_types = set(detect(texts)["entity_type"])
    assert {"US_SSN", "PHONE_NUMBER", "EMAIL_ADDRESS"} <= all_types
    no_ssn = detect(texts, settings=PiiSettings.from_params({"disable": ["US_SSN", "phone"]}))
    assert set(no_ssn["entity_type"]) == all_types - {"US_SSN", "PHONE_NUMBER"}
    out = scrub(frame(["SSN 078-05-1121"]), settings=PiiSettings.from_params({"disable": ["US_SSN"]}))
    assert contents(out) == [["SSN 078-05-1121"]]
    assert out.schema["pii_counts"] == PII_COUNTS and out["pii_counts"][0]["US_SSN"] == 0  # the field stays


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"allowlist": ["x"]}, "unknown key(s) ['allowlist']"),
        ({"disable": ["PHONE"]}, "pii.disable: ['PHONE'] is neither"),
        ({"recognizers": [{"name": "x", "entity_type": "X", "patterns": ["("]}]}, "invalid regex '('"),
        ({"recognizers": [{"name": "x", "entity_type": "X", "patterns": ["a*"]}]}, "matches the empty string"),
        ({"recognizers": [{"name": "x", "entity_type": "X", "regex": ["a"]}]}, "unknown key(s) ['regex']"),
        ({"recognizers": [{"name": "x", "entity_type": "X"}]}, "exactly one of `patterns`"),
        ({"recognizers": [{"name": "x", "entity_type": "X", "patterns": ["a"], "deny_list": ["a"]}]}, "exactly one"),
        ({"recognizers": [{"name": "x", "entity_type": "employee", "patterns": ["a"]}]}, "must be upper case"),
        ({"recognizers": [{"name": "Bad Name", "entity_type": "X", "patterns": ["a"]}]}, "lowercase identifier"),
        ({"recognizers": [{"name": "phone", "entity_type": "X", "patterns": ["a"]}]}, "used twice"),
        ({"recognizers": [{"name": "x", "entity_type": "X", "patterns": ["a"], "validator": "md5"}]}, "validator"),
        ({"recognizers": [{"name": "x", "entity_type": "X", "deny_list": []}]}, "non-empty list"),
        (
            {"recognizers": [{"name": "x", "entity_type": "X", "deny_list": ["a"], "context": ["b"]}]},
            "apply to `patterns` only",
        ),
        ({"recognizers": "EMP-[0-9]+"}, "expected a list of recognizers"),
        ({"allow_list": "Lumora"}, "pii.allow_list: expected a list"),
    ],
)
def test_bad_config_is_a_clear_error_at_load_time(params: dict, message: str) -> None:
    with pytest.raises(PiiConfigError) as err:
        PiiSettings.from_params(params)
    assert message in str(err.value)


def test_the_settings_are_part_of_the_detector_fingerprint() -> None:
    base = detector_fingerprint(PiiSettings.from_params({"allow_list": ["Lumora"]}))
    assert (
        base
        == detector_fingerprint(["Lumora"])
        == detector_fingerprint(PiiSettings.from_params({"allow_list": ["lumora"]}))
    )
    others = [
        detector_fingerprint(PiiSettings.from_params(PARAMS)),
        detector_fingerprint(PiiSettings.from_params({"allow_list": ["Lumora"], "disable": ["PERSON"]})),
        detector_fingerprint(PiiSettings.from_params({"allow_list": ["Lumora", "Nimbus"]})),
    ]
    assert len({base, *others}) == 4


def test_a_repair_rescrub_numbers_user_types_after_the_placeholders_they_have() -> None:
    settings = PiiSettings.from_params(PARAMS)
    before = scrub(frame(["EMP-004211 asked"]), settings=settings, text_columns=()).with_columns(
        conversation_id=pl.lit(None, pl.String)
    )
    repaired_messages = [[{"role": "user", "content": "<EMPLOYEE_ID_1> asked; cc EMP-000777"}]]
    after = before.with_columns(messages=pl.Series(repaired_messages, dtype=MESSAGES))
    out, added = rescrub_changed(before, after, settings)
    assert added == 1
    assert contents(out) == [["<EMPLOYEE_ID_1> asked; cc <EMPLOYEE_ID_2>"]]
    assert out["pii_counts"][0]["EMPLOYEE_ID"] == 2 and out.schema["pii_counts"] == before.schema["pii_counts"]


def test_allow_list_and_settings_are_not_both_given() -> None:
    with pytest.raises(ValueError, match="not both"):
        detect(pl.Series(["x"]), allow_list=["Lumora"], settings=PiiSettings())


def test_the_layer_contract_accepts_the_user_types_counts_only_under_their_registry() -> None:
    from ftdata_assets.transforms.validation_views import view

    settings = PiiSettings.from_params(PARAMS)
    out = scrub(frame(["Escalated by EMP-004211."]), settings=settings, text_columns=())
    under_registry = view("scrubbed_examples", out, pii_settings=settings)["contract"][0]
    without = view("scrubbed_examples", out)["contract"][0]
    assert "pii_counts" not in under_registry and "missing: source" in under_registry
    assert "pii_counts: Struct" in without  # the default contract has no EMPLOYEE_ID field
