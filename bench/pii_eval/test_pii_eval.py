"""Checks of the evaluation sets themselves: `.venv/bin/python -m pytest bench/pii_eval/test_pii_eval.py -q`
(`-m`, so the repository root is on sys.path for the `bench.pii_eval` package).

A benchmark whose gold labels are wrong measures nothing, so these check the labels against the formats'
own rules (Luhn, mod-97, SSA ranges, `ipaddress`), the split (no document, locale or template shared
between the parts) and the scoring rule on a hand-made case.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from pathlib import Path

import pytest
from stdnum import iban as stdnum_iban

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.pii_eval import Sample, Span, build, templates_a, templates_b  # noqa: E402
from bench.pii_eval.core import luhn_ok  # noqa: E402
from bench.pii_eval.faker_source import TUNING_LOCALES  # noqa: E402
from bench.pii_eval.independent import faker_names, hand_picked  # noqa: E402

N = 1500


@pytest.fixture(scope="module")
def parts() -> dict[str, list[Sample]]:
    return {p: build(p, N, 11) for p in ("tuning", "heldout")}


def test_deterministic_for_a_seed(parts: dict[str, list[Sample]]) -> None:
    again = build("heldout", N, 11)
    assert [(s.text, s.spans) for s in again] == [(s.text, s.spans) for s in parts["heldout"]]
    other = build("heldout", N, 12)
    assert [s.text for s in other] != [s.text for s in again]


def test_spans_are_inside_the_text_and_trimmed(parts: dict[str, list[Sample]]) -> None:
    for samples in parts.values():
        for s in samples:
            for x in s.spans:
                value = s.text[x.start : x.end]
                assert 0 <= x.start < x.end <= len(s.text), (s.text, x)
                assert value == value.strip(), (s.text, x)


def _values(samples: list[Sample], typ: str) -> list[str]:
    return [s.text[x.start : x.end] for s in samples for x in s.spans if x.type == typ]


def test_structured_gold_values_are_valid(parts: dict[str, list[Sample]]) -> None:
    lengths: set[int] = set()
    for samples in parts.values():
        cards = _values(samples, "CREDIT_CARD")
        assert cards and all(luhn_ok(re.sub(r"\D", "", c)) for c in cards)
        lengths |= {len(re.sub(r"\D", "", c)) for c in cards}
        ibans = _values(samples, "IBAN_CODE")
        # registry country and length, mod-97 (national BBAN check digits are random in generated ones)
        assert ibans and all(stdnum_iban.is_valid(i.replace(" ", "").upper(), check_country=False) for i in ibans)
        assert any(i == i.lower() for i in ibans), "lower-case IBANs are part of the set"
        for ssn in _values(samples, "US_SSN"):
            d = re.sub(r"\D", "", ssn)
            assert len(d) == 9 and d[:3] not in ("000", "666") and d[0] != "9" and d[3:5] != "00" and d[5:] != "0000"
        for ip in _values(samples, "IP_ADDRESS"):
            bare = ip.split("/")[0]
            if bare.count(":") == 1:  # IPv4 with a port
                bare = bare.split(":")[0]
            ipaddress.ip_address(bare)
    assert lengths >= {12, 13, 14, 15, 16, 19}  # Maestro 12, Visa 13, Diners 14, Amex/JCB 15, Visa 19


def test_negatives_have_no_gold_and_real_text_only_strict_labels(parts: dict[str, list[Sample]]) -> None:
    for samples in parts.values():
        assert all(not s.spans for s in samples if s.kind == "negative")
        real = [x for s in samples if s.kind == "real" for x in s.spans]
        assert {x.type for x in real} <= {"EMAIL_ADDRESS", "IP_ADDRESS", "LOCATION"}


def test_the_parts_share_no_generator_template_or_document(parts: dict[str, list[Sample]]) -> None:
    tuning, heldout = parts["tuning"], parts["heldout"]
    tuning_sources = {x.source.split("|")[0] for s in tuning for x in s.spans}
    assert tuning_sources <= {f"faker:{loc}" for loc in TUNING_LOCALES} | {"local7", "real-text"}
    assert {s.template.split(":")[0] for s in tuning if s.kind != "real"} == {"templates_a"}
    # held-out texts with tuning entities are always in template set B
    for s in heldout:
        if s.cell == "tuning-entities x B":
            assert s.template.startswith("templates_b")
        if s.cell.startswith("new-entities"):
            assert all(not x.source.startswith(tuple(f"faker:{loc}" for loc in TUNING_LOCALES)) for x in s.spans)
    docs_t = {s.origin for s in tuning if s.kind == "real"}
    docs_h = {s.origin for s in heldout if s.kind == "real"}
    assert docs_t and docs_h and not docs_t & docs_h
    assert not set(templates_a.NEGATIVE) & set(templates_b.NEGATIVE)
    assert not {t for v in templates_a.POSITIVE.values() for t in v} & {
        t for v in templates_b.POSITIVE.values() for t in v
    }


def test_heldout_has_every_generator_and_type(parts: dict[str, list[Sample]]) -> None:
    heldout = parts["heldout"]
    gens = {x.source.split(":")[0].split("|")[0] for s in heldout for x in s.spans}
    assert {"mimesis", "faker", "independent", "local7"} <= gens  # real-text gold is rare: not required
    types = {x.type for s in heldout for x in s.spans}
    assert types == {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "PERSON",
                     "LOCATION"}  # fmt: skip
    assert {s.kind for s in heldout} == {"positive", "negative", "real"}


def test_hand_picked_names_are_not_in_faker() -> None:
    firsts, lasts = hand_picked()
    known = faker_names()
    assert len(firsts) > 40 and len(lasts) > 30
    assert all(part.lower() not in known for n in firsts + lasts for part in n.split())


def test_score_counts_overlaps_of_the_same_type() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import pii as bench_pii  # bench/pii.py

    text = "Call 555 0100 or mail a@b.de"
    s = Sample(text, [Span("PHONE_NUMBER", 5, 13, "t"), Span("EMAIL_ADDRESS", 22, 28, "t")], "positive", "t")
    preds = [[("PHONE_NUMBER", 9, 13), ("PHONE_NUMBER", 0, 4), ("PERSON", 22, 23)]]
    got = bench_pii.score([s], preds, ["PHONE_NUMBER", "EMAIL_ADDRESS", "PERSON"])
    assert got["PHONE_NUMBER"]["recall"] == 1.0 and got["PHONE_NUMBER"]["precision"] == 0.5
    assert got["EMAIL_ADDRESS"]["recall"] == 0.0 and got["EMAIL_ADDRESS"]["recall_any_type"] == 1.0
    assert got["PERSON"]["precision"] == 0.0 and got["PERSON"]["precision_any_type"] == 1.0
    lo, hi = bench_pii.wilson(90, 100)
    assert 0.82 < lo < 0.84 and 0.94 < hi < 0.95


def test_show_misses_refuses_the_heldout_part() -> None:
    cmd = [sys.executable, str(ROOT / "bench" / "pii.py"), "--part", "heldout", "--show-misses", "PERSON"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--i-am-not-tuning" in r.stderr
