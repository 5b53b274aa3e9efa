"""The second opinion in `no_pii_left`: it finds what the scrub's detector leaves, stays quiet on look-alikes,
and the blocking check fails on a planted miss (real assets, real Dagster instance) and passes on clean data."""

import json
import random
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ftdata_assets.defs import pii_assets, rowlocal_assets
from ftdata_assets.defs.families import FAMILIES
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.defs.rowlocal_assets import row_local_assets
from ftdata_assets.sample_data import LOOKALIKE_KINDS, _lookalike_sentence, luhn_check_digit
from ftdata_assets.schema import EXAMPLE_SCHEMA
from ftdata_assets.transforms.pii import PiiSettings, scrub
from ftdata_assets.transforms.pii_crosscheck import (
    CROSSCHECK_TYPES,
    context_snippet,
    crosscheck_findings,
    enabled_types,
    mask_value,
    second_opinion,
)
from ftdata_assets.transforms.pii_report import VERIFIED_SCHEMA
from tests.conftest import make_project
from tests.test_validation_checks import example


def _luhn(payload: str) -> str:
    return payload + luhn_check_digit(payload)


JCB_15 = _luhn("21310000123456")  # 15-digit JCB (2131 range)
MAESTRO_12 = _luhn("67595000012")  # 12-digit Maestro
LOWER_IBAN = "de89 3704 0044 0532 0130 00"  # the standard example IBAN, typed in lower case
# values as people type them, with the type the second opinion must report
PLANTED: list[tuple[str, str, str]] = [
    ("You can call me on 0490 75 40 81 after six.", "0490 75 40 81", "PHONE_NUMBER"),
    ("Mobile: 699 956 915", "699 956 915", "PHONE_NUMBER"),
    ("The office is +46 (0)8 928 123 45, ask for the front desk.", "+46 (0)8 928 123 45", "PHONE_NUMBER"),
    ("Call 345-899-3560x4587 tomorrow morning.", "345-899-3560x4587", "PHONE_NUMBER"),
    ("Ring me on 00 44 20 7946 0958 if the app fails again.", "00 44 20 7946 0958", "PHONE_NUMBER"),
    ("--\nTymon\nM: 511 496 966", "511 496 966", "PHONE_NUMBER"),
    ("phone,+48 536 243 648,mobile", "+48 536 243 648", "PHONE_NUMBER"),
    (f"The JCB I used is {JCB_15}, it was declined.", JCB_15, "CREDIT_CARD"),
    (
        f"CC# {JCB_15[:4]} {JCB_15[4:8]} {JCB_15[8:12]} {JCB_15[12:]}",
        f"{JCB_15[:4]} {JCB_15[4:8]} {JCB_15[8:12]} {JCB_15[12:]}",
        "CREDIT_CARD",
    ),
    (f"pan={MAESTRO_12} amount=12.00", MAESTRO_12, "CREDIT_CARD"),
    (f"please refund it to {LOWER_IBAN} thanks", LOWER_IBAN, "IBAN_CODE"),
    ("iban: gb82west12345698765432", "gb82west12345698765432", "IBAN_CODE"),
    ("Write to jane.doe@example.org when it ships.", "jane.doe@example.org", "EMAIL_ADDRESS"),
]

NEGATIVES: list[str] = [
    "Order LM-4839201 hasn't arrived.",
    "order 512 345 678 shipped yesterday",
    "Invoice 4111 1111 1111 1111 is attached.",  # a Luhn-valid Visa number, but labelled as an invoice
    "Is the setup guide (ISBN 978-3-16-148410-0) still current?",
    "It started on 2026-10-15.",
    "It started on 15/10/2026 at 08:15.",
    "at 2026-11-01T08:15:00Z the log rotated",
    "ts=1793000000123 and again 1793000000456",
    "This began after the update to firmware 1.12.3.45.",
    "We are on version 4.2.0 and build 20261101.",
    "I was charged $1,234.00, which seems wrong.",
    "The plan is €12.99 a month, right?",
    "It costs 699 956 915 euros in total.",
    "We had 10 000 000 visitors and 1 234 567 sign-ups.",
    "The server 203.0.113.5 and the subnet 86.39.64.85/24 are fine.",
    "Call <PHONE_NUMBER_1> or mail <EMAIL_ADDRESS_2>, card <CREDIT_CARD_1>, IBAN <IBAN_CODE_1>.",
    "My card is <CREDIT_CARD_1>, exp 04/29.",
    "icon@2x.png and git@github.com:acme/app.git",
    "postgres://app:<SECRET_1>@db.internal:5432/orders",
    "EAN 4090382749817 / qty 12",
    "uuid de305d54-75b4-431b-adb2-eb6b9e546014, sha de12ab34cd56ef7890abcdef1234567890abcdef",
    "Ship to 94105-1234 (ZIP+4), postcode 039-8100.",
    "ca-certificates-java (20110425) unstable; urgency=low",
    "The matrix is [[1, 2, 3], [4, 5, 6]] and pi is 3.14159265358979.",
    "Temperatures were 22 23 24 25 26 27 28 degrees this week.",
    "It's 12 345 678 bytes, port 8080, pid 48213, tracking 1Z999AA10123456784.",
]


def test_it_finds_every_planted_value_with_its_exact_span() -> None:
    texts = pl.Series([text for text, _, _ in PLANTED])
    found = second_opinion(texts)
    got = {(r["row"], r["entity_type"], r["text"]) for r in found.iter_rows(named=True)}
    want = {(i, kind, value) for i, (_, value, kind) in enumerate(PLANTED)}
    assert got == want
    for r in found.iter_rows(named=True):
        assert texts[r["row"]][r["start"] : r["end"]] == r["text"]


def test_it_finds_what_the_scrub_leaves() -> None:
    """After the scrub's own detector has done its work, each planted value is a placeholder or a finding of
    the second opinion: together they leave nothing."""
    frame = pl.DataFrame(
        {
            "example_id": [f"{i:064x}" for i in range(len(PLANTED))],
            "messages": [[{"role": "user", "content": text}] for text, _, _ in PLANTED],
        }
    )
    scrubbed = scrub(frame)
    after = scrubbed.select(pl.col("messages").list.first().struct.field("content")).to_series()
    found = second_opinion(after)
    for i, (_, value, kind) in enumerate(PLANTED):
        if value in after[i]:
            assert (i, kind, value) in {(r["row"], r["entity_type"], r["text"]) for r in found.iter_rows(named=True)}
    left = [value for i, (_, value, _) in enumerate(PLANTED) if value in after[i]]
    assert found.height == len(left)  # nothing but the leftovers


def test_it_stays_quiet_on_look_alikes_and_placeholders() -> None:
    rng = random.Random(20261101)
    generated = [_lookalike_sentence(rng, kind) for kind in LOOKALIKE_KINDS for _ in range(200)]
    found = second_opinion(pl.Series([*NEGATIVES, *generated]))
    assert found.height == 0, found.to_dicts()


def test_a_switched_off_type_is_not_looked_for() -> None:
    texts = pl.Series([text for text, _, _ in PLANTED])
    types = enabled_types({"disable": ["PHONE_NUMBER", "iban"]})  # by type and by the scrub's recognizer name
    assert types == {"CREDIT_CARD", "EMAIL_ADDRESS"}
    found = second_opinion(texts, enabled_types=types)
    assert set(found.get_column("entity_type")) == {"CREDIT_CARD", "EMAIL_ADDRESS"}
    assert enabled_types({"allow_list": ["Lumora"]}) == set(CROSSCHECK_TYPES)
    with pytest.raises(ValueError, match=r"pii\.disable"):
        enabled_types({"disable": "PHONE_NUMBER"})


def test_allow_list_placeholders_repeats_and_bad_regions() -> None:
    support = "+1 (800) 555-0100"
    texts = pl.Series(
        [
            f"Our support line is {support}.",
            "Before <PERSON_1> mailed <EMAIL_ADDRESS_12>, call 0490 75 40 81 please.",
            "Before <PERSON_1> mailed <EMAIL_ADDRESS_12>, call 0490 75 40 81 please.",
            None,
            "",
        ]
    )
    found = second_opinion(texts, allow_list=["+18005550100"])  # punctuation and spaces do not matter
    assert found.get_column("row").to_list() == [1, 2]  # the repeat of a text gets its findings too
    for r in found.iter_rows(named=True):
        assert texts[r["row"]][r["start"] : r["end"]] == "0490 75 40 81"  # offsets in the text as given
    assert second_opinion(texts).get_column("row").to_list() == [0, 1, 2]
    with pytest.raises(ValueError, match="unknown phone region"):
        second_opinion(texts, regions=["XX"])


def test_masks_do_not_leak_the_value() -> None:
    text = "Call 0490 75 40 81 or mail jane.doe@example.org, card 4111 1111 1111 1111."
    assert mask_value("0490 75 40 81") == "04** ** ** 81"  # 2+2 of 10 digits shown, 1+1 below 10
    assert mask_value("699 956 915") == "6** *** **5"
    assert mask_value("de89 3704 0044 0532 0130 00") == "de** **** **** **** **** 00"
    assert mask_value("jane.doe@example.org") == "j*******@*******.org"
    start = text.index("0490")
    snippet = context_snippet(text, start, start + len("0490 75 40 81"))
    assert "0490" not in snippet and "jane" not in snippet and "4111" not in snippet
    assert snippet.startswith("Call [04** ** ** 81] or mail <e-mail>")


# ---------------------------------------------------------------------------------- the blocking check

MISSED = "+46 (0)8 928 123 45"
"""A phone number the test makes the scrub's detector miss (as a format it does not know would be)."""


CLEAN = [
    example(n, f"How do I reset the hub in room {n}? My order is LM-{4_000_000 + n}.", "Hold the button for 10 s.")
    for n in range(1, 31)
]


def blind_to(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the scrub's detector miss `value`: the scrub sees a harmless word in its place (put back after),
    and the re-scan drops any finding of it. The second opinion is not touched."""
    real_scrub, real_rescan = rowlocal_assets.scrub, rowlocal_assets.leftover_findings
    hidden = "zzhiddenvaluezz"

    def swap(frame: pl.DataFrame, old: str, new: str) -> pl.DataFrame:
        content = pl.field("content").str.replace_all(old, new, literal=True)
        return frame.with_columns(pl.col("messages").list.eval(pl.element().struct.with_fields(content)))

    def scrub_missing(frame: pl.DataFrame, *args, **kwargs) -> pl.DataFrame:
        return swap(real_scrub(swap(frame, value, hidden), *args, **kwargs), hidden, value)

    def rescan_missing(*args, **kwargs) -> pl.DataFrame:
        found = real_rescan(*args, **kwargs)
        return found.filter(~pl.col("text").str.contains(value[-5:], literal=True))

    monkeypatch.setattr(rowlocal_assets, "scrub", scrub_missing)
    monkeypatch.setattr(rowlocal_assets, "leftover_findings", rescan_missing)
    monkeypatch.setattr(pii_assets, "leftover_findings", rescan_missing)


def run_scrub(
    tmp_path: Path, rows: list[dict], disable: list[str] | None = None
) -> tuple[dg.ExecuteInProcessResult, dg.AssetCheckEvaluation]:
    root = make_project(tmp_path / "project", with_sample=False)
    if disable:
        params = root / "params.yaml"
        params.write_text(params.read_text().replace("  disable: []", f"  disable: [{', '.join(disable)}]", 1))
    produced = pl.DataFrame(rows, schema=EXAMPLE_SCHEMA).with_columns(
        [pl.lit(None, pl.String).alias(c) for c in ("reason", "detail", "original", "format", "extras")]
    )
    prepare_expert = next(a for a in row_local_assets(None, "test") if a.node_def.name == "prepare_expert")
    others = [f for f in FAMILIES if f.name != "expert"]

    @dg.asset(name="raw_expert")
    def upstream() -> pl.DataFrame:
        return produced

    @dg.multi_asset(outs={name: dg.AssetOut() for f in others for name in (f.scrubbed, f.verified)})
    def other_families():  # the other families hold no rows here: an empty partition, scrubbed
        none = pl.DataFrame(schema=EXAMPLE_SCHEMA).with_columns(conversation=pl.lit(None, pl.String))
        settings = PiiSettings.from_params({"disable": disable} if disable else None)
        empty = scrub(none, conversation_key="conversation", settings=settings).drop("conversation")
        for f in others:
            yield dg.Output(empty, output_name=f.scrubbed)
            yield dg.Output(pl.DataFrame(schema=VERIFIED_SCHEMA), output_name=f.verified)

    @dg.asset(deps=["scrubbed_examples"])
    def downstream() -> int:
        return 1

    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        result = dg.materialize(
            [upstream, prepare_expert, other_families, pii_assets.scrubbed_examples, downstream],
            instance=instance,
            resources={"project": ProjectResource(root=str(root)), "io_manager": dg.InMemoryIOManager()},
            raise_on_error=False,
        )
        # the partition's check (where the scrub's output is first re-scanned and second-opinioned)
        (evaluation,) = [
            e
            for e in result.get_asset_check_evaluations()
            if e.check_name == "no_pii_left" and e.asset_key.to_user_string() == "scrubbed_expert"
        ]
    return result, evaluation


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_the_check_fails_on_a_miss_of_the_scrub_and_shows_it_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blind_to(MISSED, monkeypatch)
    rows = [*CLEAN, example(99, f"The office is {MISSED}, ask for the front desk.", "I'll call them.")]
    result, evaluation = run_scrub(tmp_path, rows)
    assert not evaluation.passed
    assert "downstream" not in materialized(result)  # blocking: nothing after the scrub runs
    metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert metadata["findings"] == 1
    assert metadata["rescan_findings"] == 0
    assert metadata["second_opinion_findings"] == 1
    assert metadata["by_detector"] == {"second_opinion:phonenumbers": 1}
    (shown,) = metadata["examples"]
    assert shown["example_id"] == f"{99:064x}"
    assert shown["field"] == "messages"
    assert shown["entity_type"] == "PHONE_NUMBER"
    assert shown["detector"] == "second_opinion:phonenumbers"
    assert shown["value"] == "+46 (*)* *** *** 45"
    assert "ask for the front desk" in shown["context"]
    assert "928 123" not in json.dumps(metadata)  # the check's metadata is no PII leak itself


def test_the_check_passes_on_clean_data(tmp_path: Path) -> None:
    result, evaluation = run_scrub(tmp_path, [*CLEAN, example(99, f"The office is {MISSED}.", "Thanks.")])
    assert evaluation.passed, evaluation.metadata
    assert {"scrubbed_examples", "downstream"} <= materialized(result)
    metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert metadata["findings"] == 0 and metadata["examples"] == []


def test_a_type_switched_off_in_params_does_not_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pii.disable: [PHONE_NUMBER]`: the scrub keeps phone numbers, and the second opinion does not call
    them leftovers; the other types are still checked."""
    rows = [*CLEAN, example(99, f"The office is {MISSED}, ask for the front desk.", "I'll call them.")]
    result, evaluation = run_scrub(tmp_path, rows, disable=["PHONE_NUMBER"])
    assert evaluation.passed, evaluation.metadata
    metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert metadata["second_opinion_types"] == ["CREDIT_CARD", "EMAIL_ADDRESS", "IBAN_CODE"]
    assert "downstream" in materialized(result)
    blind_to(LOWER_IBAN, monkeypatch)  # and a miss of a type that is still on
    leaky = [*rows, example(100, f"Please refund it to {LOWER_IBAN}.", "Done.")]
    _, evaluation = run_scrub(tmp_path / "again", leaky, disable=["phone"])  # by recognizer name too
    assert not evaluation.passed
    metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert metadata["by_type"] == {"IBAN_CODE": 1}  # the phone number is not reported


def test_no_false_alarm_on_the_bundled_sample(materialized_project: Path) -> None:
    """The sample pipeline's scrub output (every source, every plant and look-alike): the second opinion
    finds nothing, so `no_pii_left` passed and the curated splits were written."""
    scrubbed = pl.read_parquet(materialized_project / "data" / "interim" / "scrubbed_examples.parquet")
    assert scrubbed.height > 4_000
    found = crosscheck_findings(scrubbed, ["Lumora"])
    assert found.height == 0, found.to_dicts()
    assert (materialized_project / "data" / "curated" / "train.parquet").exists()


# ------------------------------------------------------------------------------------------ release gate


def test_the_release_gate_counts_second_opinion_findings_on_unverified_texts_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`pii_findings` (the later layers' checks): a leftover only the second opinion sees blocks the layer,
    unless its type is switched off or `no_pii_left` already verified that text; a value both detectors
    see counts once."""
    from ftdata_assets.transforms import validation_views
    from ftdata_assets.transforms.pii import ENTITY_TYPES, PiiSettings
    from ftdata_assets.transforms.pii_report import text_keys
    from ftdata_assets.validation import validate_layer

    zeros = {entity: 0 for entity in ENTITY_TYPES}
    rows = [*CLEAN, example(99, f"The office is {MISSED}, ask for the front desk.", "I'll call them.")]
    frame = pl.DataFrame(rows, schema=EXAMPLE_SCHEMA).with_columns(
        pii_counts=pl.lit(zeros, dtype=pl.Struct(dict.fromkeys(zeros, pl.Int64)))
    )
    context = {"allow_list": ["Lumora"]}
    both = validation_views.view("scrubbed_examples", frame, **context).get_column("pii_findings")
    assert both.to_list() == [0] * len(CLEAN) + [1]  # seen by both detectors: one finding

    real_rescan = validation_views.leftover_findings
    monkeypatch.setattr(
        validation_views,
        "leftover_findings",
        lambda *a, **k: real_rescan(*a, **k).filter(~pl.col("text").str.contains("123 45", literal=True)),
    )
    only_second = validation_views.view("scrubbed_examples", frame, **context).get_column("pii_findings")
    assert only_second.to_list() == [0] * len(CLEAN) + [1]
    outcome = validate_layer("scrubbed_examples", frame, **context)
    assert ("expect_column_values_to_be_between", "pii_findings") in {
        (f.expectation_type, f.column) for f in outcome.errors
    }
    off = validation_views.view("scrubbed_examples", frame, **context, enabled_types={"CREDIT_CARD", "IBAN_CODE"})
    assert off.get_column("pii_findings").sum() == 0
    disabled = PiiSettings.from_params({"allow_list": ["Lumora"], "disable": ["phone"]})
    under = validation_views.view("scrubbed_examples", frame, pii_settings=disabled).get_column("pii_findings")
    assert under.sum() == 0  # the registry's switched-off type is no leftover for either detector
    leaky_text = pl.Series([f"The office is {MISSED}, ask for the front desk."])
    verified = text_keys(leaky_text)
    skipped = validation_views.view("scrubbed_examples", frame, **context, verified=verified)
    assert skipped.get_column("pii_findings").sum() == 0
