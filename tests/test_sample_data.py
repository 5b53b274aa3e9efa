"""The sample-data generator: byte-for-byte determinism, honest counts, and every planted problem on disk.

The planted problems are checked by scanning the written files with validators written here (not the
module's), so a generator bug cannot hide behind its own bookkeeping.
"""

import functools
import gzip
import hashlib
import io
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ftdata_assets import sample_data as sd

SEED = sd.DEFAULT_SEED
ASSISTANT_ROLES = {"gpt", "chatgpt", "assistant", "bing", "bard"}
USER_ROLES = {"human", "user"}


# --------------------------------------------------------------------------------------------------
# fixtures: generate once per module (each generation takes about a second)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], float]:
    raw = tmp_path_factory.mktemp("raw_a")
    start = time.perf_counter()
    counts = sd.generate_sample(raw, SEED)
    return raw, counts, time.perf_counter() - start


@pytest.fixture(scope="module")
def raw(generated: tuple[Path, dict[str, int], float]) -> Path:
    return generated[0]


@pytest.fixture(scope="module")
def records(raw: Path) -> list[tuple[str, int, bytes, Any]]:
    """(file, 1-based record number, raw line bytes or b"", parsed value or None) for every record."""
    return list(_iter_records(raw))


def _sha256s(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _text_lines(root: Path, name: str) -> list[bytes]:
    data = (root / name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")


def _iter_records(root: Path) -> Iterator[tuple[str, int, bytes, Any]]:
    for name in sd.OWNED_FILES:
        if name.endswith(".parquet"):
            for i, row in enumerate(pq.read_table(root / name).to_pylist(), 1):
                yield name, i, b"", row
        elif name.endswith(".json"):
            for i, item in enumerate(json.loads((root / name).read_bytes()), 1):
                yield name, i, b"", item
        else:
            n = 0
            for line in _text_lines(root, name):
                if not line.strip():
                    continue
                n += 1
                try:
                    value = json.loads(line.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                    value = None
                yield name, n, line, value


def _messages(value: Any) -> list[tuple[str, Any]] | None:
    """Normalize any supported record to [(role, content)], or None if it is not a well-formed record."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("messages"), list):
        msgs = [(m.get("role"), m.get("content")) for m in value["messages"] if isinstance(m, dict)]
        if "edited_response" in value:
            msgs.append(("assistant", value["edited_response"]))
        return msgs
    if isinstance(value.get("conversations"), list):
        role = {**dict.fromkeys(USER_ROLES, "user"), **dict.fromkeys(ASSISTANT_ROLES, "assistant")}
        return [(role.get(m["from"], m["from"]), m["value"]) for m in value["conversations"]]
    if "instruction" in value:
        user = value["instruction"] + (f"\n\n{value['input']}" if value.get("input") else "")
        return [("user", user), ("assistant", value.get("output"))]
    if "prompt" in value:
        return [("user", value["prompt"]), ("assistant", value.get("completion"))]
    return None


def _texts(records: list[tuple[str, int, bytes, Any]]) -> list[str]:
    out = []
    for _, _, _, value in records:
        for _, content in _messages(value) or []:
            if isinstance(content, str):
                out.append(content)
    return out


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _mod97_ok(iban: str) -> bool:
    s = iban.replace(" ", "")
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


# --------------------------------------------------------------------------------------------------
# determinism, idempotence, counts, speed
# --------------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_rerun_only_touches_owned_files(
    raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "raw_b"
    (other / "logs").mkdir(parents=True)
    (other / "logs" / "2026-11-01.jsonl").write_bytes(b"stale\n")  # an owned file: must be replaced
    (other / "logs" / "README.md").write_text("not ours")  # a foreign file: must survive
    assert sd.main([str(other), "--seed", str(SEED)]) == 0  # the CLI entry point
    assert "total" in capsys.readouterr().out
    assert sd.generate_sample(other, SEED) == sd.generate_sample(other, SEED)  # reruns are idempotent
    hashes = _sha256s(other)
    assert hashes.pop("logs/README.md") == hashlib.sha256(b"not ours").hexdigest()
    assert hashes == _sha256s(raw)
    assert sorted(hashes) == sorted(sd.OWNED_FILES)
    assert not list(other.rglob("*.tmp"))


@functools.cache
def _build(seed: int) -> sd.SampleData:
    return sd.build_sample(seed)


def test_different_seed_gives_different_bytes(raw: Path) -> None:
    other = _build(SEED + 1)
    for name in sd.OWNED_FILES:
        assert hashlib.sha256(other.files[name]).digest() != hashlib.sha256((raw / name).read_bytes()).digest()


def test_counts_match_disk(generated: tuple[Path, dict[str, int], float], records: list) -> None:
    _, counts, _ = generated
    assert list(counts) == list(sd.OWNED_FILES)
    on_disk = Counter(name for name, *_ in records)
    assert counts == {name: on_disk[name] for name in sd.OWNED_FILES}
    assert sum(counts.values()) >= 3000
    for name in sd.LOG_FILES:
        assert 300 <= counts[name] <= 450, name
    assert 200 <= counts[sd.EXPERT_ALPACA] <= 300
    assert 180 <= counts[sd.EXPERT_CHAT] <= 230
    for name in sd.TEACHERS:
        assert 250 <= counts[name] <= 410, name
    assert 270 <= counts[sd.FEEDBACK] <= 330


# --------------------------------------------------------------------------------------------------
# malformed lines and file quirks
# --------------------------------------------------------------------------------------------------


def test_file_quirks(raw: Path) -> None:
    assert (raw / sd.SYN_LLAMA).read_bytes().startswith(b"\xef\xbb\xbf{")
    assert sum(not (raw / n).read_bytes().startswith(b"\xef\xbb\xbf") for n in sd.OWNED_FILES) == 13
    crlf = (raw / sd.LOG_FILES[4]).read_bytes()
    assert crlf.count(b"\n") == crlf.count(b"\r\n") > 300
    for name in sd.OWNED_FILES:
        if name != sd.LOG_FILES[4] and not name.endswith((".gz", ".parquet")):
            assert b"\r\n" not in (raw / name).read_bytes(), name
    blank = {n: sum(1 for line in _text_lines(raw, n) if not line.strip()) for n in sd.BLANK_LINES}
    assert blank == sd.BLANK_LINES


_KIND_CHECKS: dict[str, Any] = {
    "truncated_json": lambda line, v: v is None and line.startswith(b"{") and b"\x00" not in line,
    "invalid_utf8_latin1": lambda line, v: b"caf\xe9" in line,
    "invalid_utf8_cp1252": lambda line, v: b"\x93device offline\x94" in line,
    "nul_byte_raw": lambda line, v: b"\x00" in line,
    "nul_escaped": lambda line, v: b"\\u0000" in line and v is not None,
    "content_is_number": lambda line, v: any(isinstance(c, int) for _, c in _messages(v) or []),
    "messages_is_string": lambda line, v: isinstance(v, dict) and isinstance(v.get("messages"), str),
    "unknown_role": lambda line, v: any(r == "narrator" for r, _ in _messages(v) or []),
    "empty_content": lambda line, v: [c for r, c in _messages(v) or [] if r != "system"] == ["   ", ""],
    "missing_messages": lambda line, v: isinstance(v, dict) and "conversation_id" in v and "messages" not in v,
    "completion_missing": lambda line, v: isinstance(v, dict) and "prompt" in v and "completion" not in v,
    "not_an_object_array": lambda line, v: v == [1, 2],
    "not_an_object_string": lambda line, v: v == "text",
    "unknown_format": lambda line, v: isinstance(v, dict) and _messages(v) is None and ("foo" in v or "text" in v),
    "too_deep": lambda line, v: v is not None and _depth(v) >= 200,
    "too_long": lambda line, v: sd.MAX_LINE_BYTES < len(line) < 2 * sd.MAX_LINE_BYTES,
    "alpaca_missing_output": lambda line, v: isinstance(v, dict) and "instruction" in v and "output" not in v,
    "null_content": lambda line, v: any(r == "assistant" and c is None for r, c in _messages(v) or []),
    "empty_messages": lambda line, v: isinstance(v, dict) and v.get("messages") == [],
}


def test_every_malformed_line_is_on_disk(records: list) -> None:
    by_file = defaultdict(list)
    for name, _, line, value in records:
        by_file[name].append((line, value))
    for item in sd.MALFORMED_LINES:
        check = _KIND_CHECKS[item.kind]
        hits = sum(1 for line, value in by_file[item.file] if check(line, value))
        assert hits >= 1, item


def test_raw_line_problems(records: list) -> None:
    lines = [line for _, _, line, _ in records if line]
    assert any(_invalid_json(line) for line in lines)
    assert sum(_invalid_utf8(line) for line in lines) == 2
    assert sum(b"\x00" in line for line in lines) == 1
    assert sum(len(line) > sd.MAX_LINE_BYTES for line in lines) == 1


def _invalid_json(line: bytes) -> bool:
    try:
        json.loads(line.decode("utf-8"))
    except json.JSONDecodeError:
        return True
    except (UnicodeDecodeError, RecursionError):
        return False
    return False


def _invalid_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_parquet_has_plain_arrow_schema(raw: Path) -> None:
    meta = pq.ParquetFile(raw / sd.SYN_MIXTRAL)
    schema = meta.schema_arrow
    assert b"pandas" not in (schema.metadata or {})
    assert str(schema.field("messages").type) == "list<element: struct<role: string, content: string>>"
    assert meta.metadata.row_group(0).column(0).compression == "ZSTD"


def test_gzip_headers_carry_no_name_or_time(raw: Path) -> None:
    for name in sd.OWNED_FILES:
        if name.endswith(".gz"):
            header = (raw / name).read_bytes()[:10]
            assert header[3] == 0 and header[4:8] == b"\x00\x00\x00\x00", name  # no FNAME flag, mtime 0


# --------------------------------------------------------------------------------------------------
# content problems
# --------------------------------------------------------------------------------------------------

CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){11,18}(?![\d-])")
PII_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"\b[\w.]+@[\w-]+(?:\.[\w-]+)+\b"),
    "phone_international": re.compile(r"\+(?:44|49|33|1) \d[\d ]{7,14}\d"),
    "phone_national": re.compile(r"\(\d{3}\) 555-01\d\d|\b\d{3}-555-01\d\d\b"),
    "us_ssn": re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),
    "ipv4": re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
    "ipv6": re.compile(r"\b2001:0?db8:[0-9a-f:]+\b"),
    "aws_access_key": re.compile(r"\bAKIA[A-Z2-7]{16}\b"),
    "github_token": re.compile(r"\bghp_[A-Za-z0-9]{36}\b"),
    "openai_key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9]{48}\b"),
    "jwt": re.compile(r"\beyJ[\w-]+\.eyJ[\w-]+\.[\w-]{20,}"),
    "password_assignment": re.compile(r"password=\S+"),
    "connection_string": re.compile(r"postgres://\w+:\w+@[\w.]+:\d+/\w+"),
    "pem_private_key": re.compile(r"-----BEGIN RSA PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END RSA PRIVATE KEY-----"),
    "street_address": re.compile(
        r"221B Baker Street, London NW1 6XE|1600 Amphitheatre Pkwy, Mountain View, CA 94043"
        r"|\d+ (?:Maple Ave|Oak Street|Mission St|Elm Drive), \w[\w ]*, [A-Z]{2} \d{5}"
    ),
    "person_name": re.compile(r"My name is [A-Z]\w+ [A-Z][\w'-]+|addressed? (?:the replacement )?to [A-Z]\w+ [A-Z]"),
}


def test_every_pii_type_is_present_and_validated_types_validate(records: list) -> None:
    text = "\n".join(_texts(records))
    for kind, pattern in PII_PATTERNS.items():
        assert pattern.search(text), kind
    paid = [re.sub(r"\D", "", m) for m in re.findall(rf"paid with card ({CARD.pattern})", text)]
    assert len(paid) >= 3 and all(_luhn_ok(c) for c in paid), paid
    receipts = [re.sub(r"\D", "", m) for m in re.findall(r"order number on my receipt is ([\d ]+)\.", text)]
    assert len(receipts) >= 3 and all(len(c) == 16 and not _luhn_ok(c) for c in receipts), receipts
    # JCB, Maestro, UnionPay numbers besides Visa/Mastercard/Amex
    assert any(c.startswith(("2131", "1800", "3528", "6759", "5018", "6304", "62")) for c in paid), paid
    ibans = [i.replace(" ", "") for i in re.findall(r"refund it to my IBAN ([A-Za-z0-9 ]+)\.", text)]
    assert ibans and all(_mod97_ok(i.upper()) for i in ibans), ibans
    countries = {i[:2].upper() for i in ibans}
    assert len(countries) >= 4 and countries - {"DE", "GB", "FR"}, countries
    assert any(i == i.lower() for i in ibans)  # some typed in lower case


def test_phone_numbers_of_many_countries_are_valid_numbers(records: list) -> None:
    """The non-US planted numbers are real-format numbers of their country (phonenumbers' metadata)."""
    import phonenumbers

    text = "\n".join(_texts(records))
    intl = re.findall(r"Call me back on (\+[\d ()-]+\d), I'm usually free", text)
    national = re.findall(r"My number is ([\d ()-]+\d) if it's easier", text)
    other_intl = [n for n in intl if not n.startswith(("+44 ", "+49 ", "+33 ", "+1 "))]
    assert len(other_intl) >= 3 and all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in other_intl)
    assert len({n.split()[0] for n in other_intl}) >= 3
    non_us = [n for n in national if "555-01" not in n]
    assert len(non_us) >= 3
    assert all(
        any(
            phonenumbers.is_valid_number(phonenumbers.parse(n, region))
            for region in ("ES", "FR", "NL", "DE", "BE", "GB")
        )
        for n in non_us
    ), non_us


def test_lookalikes_are_present(records: list) -> None:
    text = "\n".join(_texts(records))
    assert re.search(r"ISBN 978-\d-\d{3}-\d{5}-\d", text)
    assert re.search(r"firmware \d+\.\d+\.\d+\.\d+", text)  # looks like an IPv4 address, is a version
    assert re.search(r"It started on (?:2026-10-\d\d|\d\d/10/2026)", text)
    assert re.search(r"[$€£]\d[\d,]*\.\d\d", text)


def test_content_problems_are_present(records: list) -> None:
    texts = _texts(records)
    text = "\n".join(texts)
    answers = [c for _, _, _, v in records for r, c in _messages(v) or [] if r == "assistant"]
    placeholders = {a for a in answers if a in sd.PLACEHOLDER_OUTPUTS}
    assert {"", "N/A", "<noinput>", "<No Output>", "none", "null"} <= placeholders
    assert None in answers  # a JSON null answer
    assert "As an AI language model" in text
    assert "I can't help with that" in text and "The source does not say." in text
    assert re.search(r"### \d+\. Instruction:", text)
    assert "Ã" in text and "â€™" in text
    assert "\x1b[31m" in text
    assert "Bestellung" in text and "commande" in text and "pedido" in text
    assert re.search(r"[\u3040-\u30ff]", text)  # Japanese kana


def test_exact_duplicates_within_a_file_and_across_sources(records: list) -> None:
    lines = Counter((name, line) for name, _, line, _ in records if line)
    assert any(n > 1 for n in lines.values())
    files_by_key: dict[str, set[str]] = defaultdict(set)
    for name, _, _, value in records:
        msgs = _messages(value)
        if msgs and all(isinstance(c, str) and c for _, c in msgs):
            files_by_key[json.dumps(msgs)].add(name)
    for src, dst, n in sd.CROSS_SOURCE_COPIES:
        assert sum(1 for files in files_by_key.values() if {src, dst} <= files) >= n, (src, dst)


def test_exact_duplicates_are_the_planted_ones(records: list) -> None:
    """Templates must not collide on their own, or dedup numbers would swamp the planted 1-5%."""
    keys = Counter()
    for _, _, _, value in records:
        msgs = [(r, c) for r, c in _messages(value) or [] if r != "system"]
        if msgs and all(isinstance(c, str) and c.strip() for _, c in msgs):
            keys[json.dumps(msgs)] += 1
    duplicate_rows = sum(n - 1 for n in keys.values())
    planted = _build(SEED).planted
    assert duplicate_rows <= planted["exact_duplicate:within_file"] + planted["exact_duplicate:cross_source"]
    assert duplicate_rows >= 0.8 * planted["exact_duplicate:within_file"]


def test_near_duplicates_exist(records: list) -> None:
    """Same first user turn up to casing, punctuation and spacing, but different bytes."""
    variants: dict[str, set[str]] = defaultdict(set)
    for _, _, _, value in records:
        users = [c for r, c in _messages(value) or [] if r == "user" and isinstance(c, str)]
        if users:
            variants[re.sub(r"[^a-z0-9]+", "", users[0].lower())].add(users[0])
    assert sum(len(v) > 1 for v in variants.values()) >= 20


def test_contradictions_are_in_their_files(records: list) -> None:
    pairs = defaultdict(set)
    for name, _, _, value in records:
        msgs = [(r, c) for r, c in _messages(value) or [] if r != "system"]
        if len(msgs) == 2:
            pairs[name].add((msgs[0][1], msgs[1][1]))
    for c in sd.CONTRADICTIONS:
        assert (c.prompt_a, c.answer_a) in pairs[c.file_a], c.topic
        assert (c.prompt_b, c.answer_b) in pairs[c.file_b], c.topic
        assert c.answer_a != c.answer_b


def test_sharegpt_uses_several_role_spellings(records: list) -> None:
    spellings = {
        m["from"]
        for name, _, _, v in records
        if name == sd.SYN_GPT and isinstance(v, dict) and "conversations" in v
        for m in v["conversations"]
    }
    assert spellings >= {"system", "human", "user", "gpt", "chatgpt", "assistant", "bing", "bard"}


def _gpt_chunk_shapes(records: list) -> Counter:
    """Per record of the ShareGPT batch: does it open with an assistant turn, hold a blank turn, end on a user?"""
    shapes: Counter = Counter()
    for name, _, _, value in records:
        if name != sd.SYN_GPT or not isinstance(value, dict) or not isinstance(value.get("conversations"), list):
            continue
        turns = value["conversations"]
        if not all(isinstance(m.get("value"), str) for m in turns):
            continue
        shapes["leading_assistant"] += turns[0]["from"] in ASSISTANT_ROLES
        shapes["blank_turn"] += any(not m["value"].strip() for m in turns)
        shapes["trailing_user"] += turns[-1]["from"] in USER_ROLES
    return shapes


def test_sharegpt_chunks_need_turn_repairs_and_ingest_repairs_each(raw: Path, records: list) -> None:
    from ftdata_assets.transforms.ingest import read_examples, repair_counts

    planted = sd.build_sample(SEED).planted
    shapes = _gpt_chunk_shapes(records)
    for kind in ("leading_assistant", "blank_turn", "trailing_user"):
        # an exact duplicate of a planted row repeats it on disk, so the disk may hold more than the plants
        assert shapes[kind] >= planted[f"turn_repair:{kind}"] >= 1, kind
    examples, rejects = read_examples(raw / sd.SYN_GPT, "synthetic", root=raw)
    repairs = repair_counts(examples)
    assert repairs["dropped_leading_turns"] == shapes["leading_assistant"]
    assert repairs["removed_blank_turns"] == shapes["blank_turn"]
    assert repairs["trimmed_trailing_user"] == shapes["trailing_user"]
    assert 1 <= repairs["merged_turns"] <= repairs["removed_blank_turns"]
    assert not {"bad_turn_order", "empty_content"} & set(rejects["reason"])  # every chunk stays an example


def test_feedback_messages_end_with_a_user_turn(records: list) -> None:
    rows = [v for name, _, _, v in records if name == sd.FEEDBACK and isinstance(v, dict) and "messages" in v]
    assert len(rows) > 250
    assert all(r["messages"][-1]["role"] == "user" for r in rows)
    assert sum(r["original_response"] != r["edited_response"] for r in rows) > 0.9 * len(rows)


# --------------------------------------------------------------------------------------------------
# the catalogue the rest of the project relies on
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [SEED, SEED + 1])
def test_every_planted_category_is_planted_at_a_realistic_rate(seed: int) -> None:
    sample = _build(seed)
    planted = sample.planted
    missing = [c for c in sd.PLANTED_PROBLEMS if planted.get(c, 0) < 1]
    assert not missing
    kinds = {m.kind for m in sd.MALFORMED_LINES}
    assert set(planted) <= set(sd.PLANTED_PROBLEMS) | {f"malformed:{k}" for k in kinds}
    assert planted["malformed"] == len(sd.MALFORMED_LINES)
    total = sum(sample.counts.values())
    for family in ("pii:", "lookalike:", "non_english:", "placeholder_output", "boilerplate", "refusal"):
        rate = sum(n for c, n in planted.items() if c.startswith(family)) / total
        assert 0.005 <= rate <= 0.05, (family, rate)


def test_malformed_reasons_are_valid_reason_codes() -> None:
    from ftdata_assets.schema import is_valid_reason

    assert all(is_valid_reason(m.reason) for m in sd.MALFORMED_LINES)


def test_validators_agree_with_known_values() -> None:
    assert sd.luhn_valid("4539 1488 0343 6467") and not sd.luhn_valid("4539 1488 0343 6468")
    assert sd.iban_valid("GB82 WEST 1234 5698 7654 32") and not sd.iban_valid("GB82 WEST 1234 5698 7654 33")
    assert _luhn_ok("4539148803436467") and _mod97_ok("DE89370400440532013000")


def test_count_records_handles_every_format() -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
        gz.write(b'{"a": 1}\n\n  \n{"b": 2}\n')
    assert sd.count_records("x.jsonl.gz", buf.getvalue()) == 2
    assert sd.count_records("x.jsonl", b'{"a": 1}\r\n\r\n{"b": 2}\r\n') == 2
    assert sd.count_records("x.json", b'[{"a": 1}, "text"]') == 2


# --------------------------------------------------------------------------------------------------
# provenance-policy plants: disallowed teacher models, non-commercial licenses, stale rows
# --------------------------------------------------------------------------------------------------

POLICY_KINDS = {"policy:disallowed_teacher_model": 5, "policy:disallowed_license": 4, "policy:stale": 6}
STALE_CUTOFF = "2026-01-01T00:00:00+00:00"


def _policy_value(name: str, value: Any) -> tuple[str, Any] | None:
    """(field, value) if the record at `name` deviates from its file's normal provenance, else None."""
    if not isinstance(value, dict) or _messages(value) is None:  # malformed lines carry no provenance
        return None
    if name in sd.TEACHERS and value.get("teacher_model") != sd.TEACHERS[name]:
        return "teacher_model", value.get("teacher_model")
    if name in (sd.EXPERT_ALPACA, sd.EXPERT_CHAT) and value.get("license") != sd.LICENSE:
        return "license", value.get("license")
    if "created_at" in value and name not in sd.LOG_FILES and name not in (sd.SYN_GPT, sd.FEEDBACK):
        return "created_at", value["created_at"]
    return None


@pytest.mark.parametrize("seed", [SEED, SEED + 1])
def test_policy_plant_catalogue_and_counts(seed: int) -> None:
    assert Counter(p.kind for p in sd.POLICY_PLANTS) == POLICY_KINDS
    assert {k: n for k, n in _build(seed).planted.items() if k.startswith("policy:")} == POLICY_KINDS
    assert set(POLICY_KINDS) <= set(sd.PLANTED_PROBLEMS)
    allowed_teachers = {t.lower() for t in sd.TEACHERS.values()}
    for p in sd.POLICY_PLANTS:
        assert p.reason is None or p.reason in {"disallowed_teacher_model", "disallowed_license"}, p
        if p.kind == "policy:disallowed_teacher_model":
            assert p.file in sd.TEACHERS and p.field == "teacher_model", p
            assert p.value is None or p.value.strip().lower() not in allowed_teachers, p
        elif p.kind == "policy:disallowed_license":
            assert p.file.startswith("expert/") and p.field == "license" and p.value and "-NC" in p.value, p
        else:
            assert p.field == "created_at" and p.tag == "stale" and p.reason is None, p
            assert p.value and p.value < sd.POLICY_STALE_BEFORE, p
    stale = [p.value for p in sd.POLICY_PLANTS if p.kind == "policy:stale"]
    assert len(set(stale)) == len(stale)  # each stale row is identified by its timestamp


def test_policy_plants_are_on_disk_clean_and_unique(records: list) -> None:
    found = Counter()
    rows = []
    for name, _, _, value in records:
        deviation = _policy_value(name, value)
        if deviation:
            found[(name, *deviation)] += 1
            rows.append(value)
    assert found == Counter((p.file, p.field, p.value) for p in sd.POLICY_PLANTS)
    # otherwise clean, valid rows: a user and an assistant turn, non-blank strings, no content plant
    signatures = [*sd.BOILERPLATE_PREFIXES, sd.BOILERPLATE_SUFFIX.strip(), "\x1b", "### ", "Ã", "â€"]
    for value in rows:
        msgs = _messages(value)
        assert msgs and {"user", "assistant"} <= {r for r, _ in msgs}, value
        assert all(isinstance(c, str) and c.strip() and c not in sd.PLACEHOLDER_OUTPUTS for _, c in msgs), value
        text = "\n".join(c for _, c in msgs)
        assert not any(s in text for s in signatures), value
        assert not any(pattern.search(text) for pattern in PII_PATTERNS.values()), value
        assert value.get("reviewed", True) is True
    # and no exact copy of them exists anywhere: dedup cannot remove them, nothing else inherits their value
    keys = Counter()
    for _, _, _, value in records:
        msgs = [(r, c) for r, c in _messages(value) or [] if r != "system"]
        keys[json.dumps(msgs)] += 1
    for value in rows:
        assert keys[json.dumps([(r, c) for r, c in _messages(value) or [] if r != "system"])] == 1, value


def test_policy_plants_survive_ingest(raw: Path) -> None:
    import datetime as dt

    import polars as pl

    from ftdata_assets.project import RAW_SOURCE_DIRS
    from ftdata_assets.transforms.ingest import read_examples

    frames, rejected = [], []
    for source, folder in RAW_SOURCE_DIRS.items():
        for path in sorted((raw / folder).iterdir()):
            examples, rejects = read_examples(path, source, root=raw)
            frames.append(examples)
            rejected.append(rejects)
    examples = pl.concat(frames)
    rejects = pl.concat(rejected)

    by_file = {name: examples.filter(pl.col("source_file") == name) for name in sd.OWNED_FILES}
    mixtral = by_file[sd.SYN_MIXTRAL]["teacher_model"]
    planted_teachers = Counter(p.value for p in sd.POLICY_PLANTS if p.kind == "policy:disallowed_teacher_model")
    assert Counter(t for t in mixtral if t != sd.TEACHERS[sd.SYN_MIXTRAL]) == planted_teachers
    assert by_file[sd.SYN_MIXTRAL].filter(pl.col("teacher_model").is_null())["source"].to_list() == ["synthetic"]
    licenses = pl.concat([by_file[sd.EXPERT_ALPACA], by_file[sd.EXPERT_CHAT]])
    planted_licenses = Counter(p.value for p in sd.POLICY_PLANTS if p.kind == "policy:disallowed_license")
    assert Counter(v for v in licenses["license"] if v != sd.LICENSE) == planted_licenses
    assert set(licenses.filter(pl.col("license") != sd.LICENSE)["source"]) == {"expert"}

    # the planted timestamps reach created_at (UTC), and they are the only rows before the cut-off
    cutoff = dt.datetime.fromisoformat(STALE_CUTOFF)
    old = examples.filter(pl.col("created_at") < cutoff)
    planted = sorted(dt.datetime.fromisoformat(p.value) for p in sd.POLICY_PLANTS if p.kind == "policy:stale")
    assert sorted(old["created_at"]) == planted
    assert set(old["source_file"]) == {sd.EXPERT_CHAT}
    assert examples["created_at"].drop_nulls().len() > 2000  # logs, the GPT batch and feedback are dated
    # and none of them is an ingest reject
    for p in sd.POLICY_PLANTS:
        if p.value is not None:
            assert not rejects["original"].str.contains(p.value, literal=True).any(), p
