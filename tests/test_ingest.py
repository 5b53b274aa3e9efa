"""Tests of transforms.ingest on real input shapes, written to temporary files as bytes."""

import gzip
import hashlib
import json
from pathlib import Path

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ftdata_assets.schema import EXAMPLE_SCHEMA, INGEST_TAGS, RAW_SCHEMA, REJECT_SCHEMA, ReasonCode, is_valid_reason
from ftdata_assets.transforms.ingest import (
    CONTEXT_HEADER,
    ORIGINAL_KEEP_CHARS,
    TRUNCATION_MARKER,
    IngestError,
    format_counts,
    read_examples,
    read_raw,
    repair_counts,
)

SALT = "ftdata-v1"
CHAT = {
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
    ]
}
CHAT_TURNS = [("system", "You are terse."), ("user", "What is 2+2?"), ("assistant", "4")]


def jsonl(*records: object) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def read(path: Path, source: str = "expert", **kwargs) -> tuple[pl.DataFrame, pl.DataFrame]:
    examples, rejects = read_examples(path, source, **kwargs)
    assert examples.schema == EXAMPLE_SCHEMA
    assert rejects.schema == REJECT_SCHEMA
    return examples, rejects


def turns(examples: pl.DataFrame, row: int = 0) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in examples["messages"][row]]


def canonical_id(pairs: list[tuple[str, str]]) -> str:
    text = json.dumps([list(p) for p in pairs], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def salted(value: str) -> str:
    return hashlib.sha256(f"{SALT}:{value}".encode()).hexdigest()


def only_reject(path: Path, **kwargs) -> dict:
    examples, rejects = read(path, **kwargs)
    assert examples.is_empty(), examples
    assert rejects.height == 1, rejects
    return rejects.row(0, named=True)


# ------------------------------------------------------------------------------------------ record shapes


def test_openai_chat(tmp_path: Path) -> None:
    record = {
        "messages": [
            {"role": "developer", "content": "Use the tool."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "Let me check.", "weight": 0},
            {"role": "function", "name": "weather", "content": '{"temp": 21}'},
            {"role": "tool", "content": "ok"},
            {"role": "Assistant", "content": "It is 21 °C in Paris."},
        ]
    }
    examples, rejects = read(write(tmp_path, "chat.jsonl", jsonl(CHAT, record)))
    assert rejects.is_empty()
    assert turns(examples, 0) == CHAT_TURNS
    assert [r for r, _ in turns(examples, 1)] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert examples["example_id"][0] == canonical_id(CHAT_TURNS)
    assert examples["source_line"].to_list() == [1, 2]
    assert examples["source"].to_list() == ["expert", "expert"]


def test_chat_content_parts(tmp_path: Path) -> None:
    parts = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "text", "text": "this."}]},
            {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
        ]
    }
    image = {
        "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/cat.png"}}]},
            {"role": "assistant", "content": "A cat."},
        ]
    }
    examples, rejects = read(write(tmp_path, "parts.jsonl", jsonl(parts, image)))
    assert turns(examples) == [("user", "Describe\nthis."), ("assistant", "A cat.")]
    assert rejects["reason"].to_list() == [ReasonCode.WRONG_TYPE]
    assert "image_url" in rejects["detail"][0]
    assert rejects["source_line"].to_list() == [2]


@pytest.mark.parametrize(
    ("spelling", "role"),
    [
        ("human", "user"),
        ("user", "user"),
        ("Human", "user"),
        ("gpt", "assistant"),
        ("chatgpt", "assistant"),
        ("bing", "assistant"),
        ("bard", "assistant"),
        ("assistant", "assistant"),
        ("model", "assistant"),
        ("GPT", "assistant"),
        ("system", "system"),
        ("tool", "tool"),
        ("function", "tool"),
        ("observation", "tool"),
        ("Observation", "tool"),
    ],
)
def test_sharegpt_role_spellings(tmp_path: Path, spelling: str, role: str) -> None:
    conversation = [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]
    at = 0 if role == "system" else 1
    conversation.insert(at, {"from": spelling, "value": "x"})
    examples, rejects = read(write(tmp_path, "sg.jsonl", jsonl({"conversations": conversation})))
    assert rejects.is_empty(), rejects["detail"].to_list()
    assert turns(examples)[at] == (role, "x")


def test_sharegpt_unknown_role_is_bad_role(tmp_path: Path) -> None:
    record = {"conversations": [{"from": "human", "value": "hi"}, {"from": "narrator", "value": "..."}]}
    reject = only_reject(write(tmp_path, "sg.jsonl", jsonl(record)))
    assert reject["reason"] == ReasonCode.BAD_ROLE
    assert "narrator" in reject["detail"] and "conversations[1]" in reject["detail"]


def test_rejects_keep_the_format_their_shape_was_recognized_as(tmp_path: Path) -> None:
    """A role or content problem inside a recognized shape counts under that shape in the per-format ledger."""
    records = [
        {"conversations": [{"from": "human", "value": "hi"}, {"from": "narrator", "value": "..."}]},
        {"conversations": [{"from": "human", "value": "hi"}, {"value": "no role"}]},
        {"conversations": "not a list"},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "critic", "content": "meh"}]},
        {"messages": [{"role": "user", "content": 7}]},
        {"question": "no known shape"},
        {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
        {"instruction": "Fix: teh", "output": "teh", "edited_response": 3},  # rejected before the turns are read
    ]
    frame = read_raw(write(tmp_path, "mixed.jsonl", jsonl(*records)), "expert")
    assert frame["reason"].to_list() == [
        ReasonCode.BAD_ROLE,
        ReasonCode.MISSING_FIELD,
        ReasonCode.WRONG_TYPE,
        ReasonCode.BAD_ROLE,
        ReasonCode.WRONG_TYPE,
        ReasonCode.UNKNOWN_FORMAT,
        None,
        ReasonCode.WRONG_TYPE,
    ]
    assert frame["format"].to_list() == ["sharegpt"] * 3 + ["chat"] * 2 + [None, "sharegpt", "alpaca"]
    assert format_counts(frame) == {
        "alpaca": {"rows": 1, "examples": 0, "rejected": 1},
        "chat": {"rows": 2, "examples": 0, "rejected": 2},
        "none": {"rows": 1, "examples": 0, "rejected": 1},
        "sharegpt": {"rows": 4, "examples": 1, "rejected": 3},
    }
    # a feedback record without its edit keeps the specific reason, and its shape
    feedback = {"prompt": "Summarise.", "original_response": "Long."}
    frame = read_raw(write(tmp_path, "feedback.jsonl", jsonl(feedback)), "feedback")
    assert frame.select("reason", "format").rows() == [(ReasonCode.MISSING_FIELD, "prompt_completion")]
    assert "edited_response is missing" in frame["detail"][0]


@pytest.mark.parametrize(
    "record",
    [
        {"messages": [{"role": "user", "content": "Is it safe?"}, {"role": "assistant", "content": "Totally."}]},
        {"conversations": [{"from": "human", "value": "Is it safe?"}, {"from": "gpt", "value": "Totally."}]},
        {
            "prompt": [{"role": "user", "content": "Is it safe?"}],
            "completion": [{"role": "assistant", "content": "No"}],
        },
        {"prompt": "Is it safe?", "completion": "Totally."},  # TRL's unpaired preference rows (KTO)
        {"instruction": "Is it safe?", "output": "Totally."},
    ],
    ids=["chat", "sharegpt", "conversational_prompt_completion", "prompt_completion", "alpaca"],
)
def test_a_false_label_rejects_the_record_in_every_format(tmp_path: Path, record: dict) -> None:
    path = write(tmp_path, "kto.jsonl", jsonl({**record, "label": False}, {**record, "label": True}))
    frame = read_raw(path, "expert")
    assert frame["reason"].to_list() == [ReasonCode.UNDESIRABLE_LABEL, None]
    assert frame["format"][0] == frame["format"][1] is not None  # counted under its shape
    assert is_valid_reason(frame["reason"][0])


@pytest.mark.parametrize("label", ["bad", 0, None, "false"])
def test_a_label_that_is_not_a_boolean_is_not_read(tmp_path: Path, label: object) -> None:
    """Only a JSON boolean is a KTO label (TRL and LLaMA-Factory write booleans); other labels are not read."""
    examples, rejects = read(write(tmp_path, "labels.jsonl", jsonl({**CHAT, "label": label})))
    assert rejects.is_empty() and turns(examples) == CHAT_TURNS


def test_leading_tool_call_turns_of_a_chunk_are_dropped_or_folded_like_any_leading_turn(tmp_path: Path) -> None:
    record = {
        "conversations": [
            {"from": "function_call", "value": '{"name": "lookup_order", "arguments": {"id": 1}}'},
            {"from": "observation", "value": '{"status": "shipped"}'},
            {"from": "human", "value": "So when does it arrive?"},
            {"from": "gpt", "value": "Within three working days."},
        ]
    }
    path = write(tmp_path, "chunk.jsonl", jsonl(record))
    dropped, _ = read(path)
    assert turns(dropped) == [("user", "So when does it arrive?"), ("assistant", "Within three working days.")]
    assert dropped["tags"][0].to_list() == ["dropped_leading_turns"]  # no call left in the messages
    folded, _ = read(path, leading_assistant="keep_as_context")
    assert turns(folded)[0] == (
        "system",
        f'{CONTEXT_HEADER}\n\nassistant: {{"name": "lookup_order", "arguments": {{"id": 1}}}}'
        '\n\ntool: {"status": "shipped"}',
    )


def test_sharegpt_top_level_system(tmp_path: Path) -> None:
    record = {"system": "Be kind.", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}
    examples, _ = read(write(tmp_path, "sg.jsonl", jsonl(record)))
    assert turns(examples) == [("system", "Be kind."), ("user", "hi"), ("assistant", "yo")]


def test_sharegpt_with_chat_keys(tmp_path: Path) -> None:
    record = {"conversations": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    examples, _ = read(write(tmp_path, "sg.jsonl", jsonl(record)))
    assert turns(examples) == [("user", "hi"), ("assistant", "yo")]


def test_alpaca(tmp_path: Path) -> None:
    records = [
        {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
        {"instruction": "Name a colour.", "input": "", "output": "Blue"},
        {"instruction": "Name a colour.", "input": "  \n", "output": "Red"},
        {"instruction": "Name a colour.", "output": "Green", "system": "Answer in one word."},
    ]
    examples, rejects = read(write(tmp_path, "alpaca.jsonl", jsonl(*records)))
    assert rejects.is_empty()
    assert turns(examples, 0) == [("user", "Translate to French.\n\nGood morning"), ("assistant", "Bonjour")]
    assert turns(examples, 1) == [("user", "Name a colour."), ("assistant", "Blue")]
    assert turns(examples, 2) == [("user", "Name a colour."), ("assistant", "Red")]
    assert turns(examples, 3)[0] == ("system", "Answer in one word.")


def test_prompt_completion(tmp_path: Path) -> None:
    trl = {
        "prompt": [{"role": "user", "content": "Capital of France?"}],
        "completion": [{"role": "assistant", "content": "Paris."}],
    }
    plain = {"prompt": "Capital of France?", "completion": "Paris."}
    examples, rejects = read(write(tmp_path, "pc.jsonl", jsonl(plain, trl)))
    assert rejects.is_empty()
    assert turns(examples, 0) == turns(examples, 1) == [("user", "Capital of France?"), ("assistant", "Paris.")]
    assert examples["example_id"][0] == examples["example_id"][1]


def test_messages_win_over_prompt(tmp_path: Path) -> None:
    # UltraChat-style records carry both the first prompt and the full conversation.
    record = {"prompt": "What is 2+2?", **CHAT}
    examples, _ = read(write(tmp_path, "both.jsonl", jsonl(record)))
    assert turns(examples) == CHAT_TURNS


def test_feedback_edited_response(tmp_path: Path) -> None:
    records = [
        # context ends with the user turn: the edit is appended
        {
            "messages": [{"role": "user", "content": "Summarise."}],
            "original_response": "Long rambling summary.",
            "edited_response": "Short summary.",
        },
        # context ends with the assistant turn: it is replaced, and becomes original_response
        {
            "conversations": [{"from": "human", "value": "Summarise."}, {"from": "gpt", "value": "Rambling."}],
            "edited_response": "Short.",
        },
        {"prompt": "Fix: teh", "completion": "teh", "original_response": "teh", "edited_response": "the"},
        {"instruction": "Fix the typo.", "input": "teh", "edited_response": "the"},
        # a feedback record with original_response but no edit is missing its edit
        {"prompt": "Fix: teh", "original_response": "teh"},
        # a thumbs-up feedback record without any edit is a plain example
        {"prompt": "Hi", "completion": "Hello!"},
    ]
    examples, rejects = read(write(tmp_path, "fb.jsonl", jsonl(*records)), source="feedback")
    assert turns(examples, 0) == [("user", "Summarise."), ("assistant", "Short summary.")]
    assert turns(examples, 1) == [("user", "Summarise."), ("assistant", "Short.")]
    assert turns(examples, 2) == [("user", "Fix: teh"), ("assistant", "the")]
    assert turns(examples, 3) == [("user", "Fix the typo.\n\nteh"), ("assistant", "the")]
    assert turns(examples, 4) == [("user", "Hi"), ("assistant", "Hello!")]
    assert examples["original_response"].to_list() == ["Long rambling summary.", "Rambling.", "teh", None, None]
    assert rejects.select("source_line", "reason").rows() == [(5, ReasonCode.MISSING_FIELD)]
    assert "edited_response" in rejects["detail"][0]


# ------------------------------------------------------------------------------------------- provenance


def test_provenance_and_hashed_ids(tmp_path: Path) -> None:
    raw_conversation_id = "conv-8c1f-secret-7731"
    record = {
        **CHAT,
        "conversation_id": raw_conversation_id,
        "user_id": 424242,
        "teacher_model": "teacher-70b",
        "prompt_template": "qa-v3",
        "author": "ana",
        "reviewed": True,
        "license": "CC-BY-4.0",
        "created_at": "2026-03-01T12:30:00+02:00",
        "unknown_extra": {"ignored": True},
    }
    examples, rejects = read(write(tmp_path, "logs.jsonl", jsonl(record)), source="production_log")
    assert rejects.is_empty()
    row = examples.row(0, named=True)
    assert row["conversation_id"] == salted(raw_conversation_id)
    assert row["user_id"] == salted("424242")
    assert (row["teacher_model"], row["prompt_template"], row["author"]) == ("teacher-70b", "qa-v3", "ana")
    assert (row["reviewed"], row["license"]) == (True, "CC-BY-4.0")
    assert row["created_at"].isoformat() == "2026-03-01T10:30:00+00:00"
    # the raw ids appear nowhere in the output
    dumped = examples.write_ndjson()
    assert raw_conversation_id not in dumped and "424242" not in dumped
    # pandas-written Parquet turns nullable int ids into floats: 424242.0 is the same user
    floats, _ = read(write(tmp_path, "f.jsonl", jsonl({**CHAT, "user_id": 424242.0})))
    assert floats["user_id"][0] == row["user_id"]
    # another salt, another hash
    other, _ = read_examples(tmp_path / "logs.jsonl", "production_log", id_salt="other")
    assert other["conversation_id"][0] != row["conversation_id"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"created_at": "2026-03-01T12:30:00Z"}, "2026-03-01T12:30:00+00:00"),
        ({"created_at": "2026-03-01 12:30:00"}, "2026-03-01T12:30:00+00:00"),  # naive = UTC
        ({"created_at": "2026-03-01"}, "2026-03-01T00:00:00+00:00"),
        ({"created_at": 1772368200}, "2026-03-01T12:30:00+00:00"),  # epoch seconds
        ({"created_at": 1772368200.5}, "2026-03-01T12:30:00.500000+00:00"),
        ({"created_at": 1772368200000}, "2026-03-01T12:30:00+00:00"),  # epoch milliseconds
        ({"timestamp": "1772368200"}, "2026-03-01T12:30:00+00:00"),
        ({}, None),
    ],
)
def test_created_at(tmp_path: Path, fields: dict, expected: str | None) -> None:
    examples, rejects = read(write(tmp_path, "t.jsonl", jsonl({**CHAT, **fields})))
    assert rejects.is_empty(), rejects["detail"].to_list()
    value = examples["created_at"][0]
    assert (value.isoformat() if value else None) == expected


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"created_at": "last tuesday"}, "created_at"),
        ({"timestamp": True}, "timestamp"),
        ({"created_at": 1e30}, "created_at"),
        ({"reviewed": "yes"}, "reviewed"),
        ({"teacher_model": 7}, "teacher_model"),
        ({"conversation_id": {"id": 1}}, "conversation_id"),
    ],
)
def test_unreadable_provenance_is_wrong_type(tmp_path: Path, fields: dict, field: str) -> None:
    reject = only_reject(write(tmp_path, "t.jsonl", jsonl({**CHAT, **fields})))
    assert reject["reason"] == ReasonCode.WRONG_TYPE
    assert field in reject["detail"]


# -------------------------------------------------------------------------------------------- file types


def test_jsonl_gz_and_ndjson(tmp_path: Path) -> None:
    data = jsonl(CHAT, {"prompt": "a", "completion": "b"})
    for name, payload in [
        ("a.jsonl.gz", gzip.compress(data)),
        ("b.ndjson", data),
        ("c.NDJSON.GZ", gzip.compress(data)),
    ]:
        examples, rejects = read(write(tmp_path, name, payload))
        assert examples.height == 2 and rejects.is_empty(), name
        assert turns(examples) == CHAT_TURNS


def test_json_array(tmp_path: Path) -> None:
    data = json.dumps([CHAT, 42, {"instruction": "Say hi.", "output": "hi"}], indent=2).encode()
    examples, rejects = read(write(tmp_path, "set.json", data))
    assert examples["source_line"].to_list() == [1, 3]
    assert rejects.select("source_line", "reason").rows() == [(2, ReasonCode.INVALID_JSON)]
    assert rejects["original"][0] == "42"


def test_json_array_element_limits(tmp_path: Path) -> None:
    long = {"prompt": "q", "completion": "z" * 500}
    deep = {"prompt": "q", "completion": "a", "meta": [[[[[[]]]]]]}
    examples, rejects = read(
        write(tmp_path, "set.json", orjson.dumps([CHAT, long, deep])), max_line_bytes=400, max_json_depth=5
    )
    assert examples["source_line"].to_list() == [1]
    assert rejects.select("source_line", "reason").rows() == [(2, ReasonCode.TOO_LONG), (3, ReasonCode.TOO_DEEP)]
    assert rejects["original"][1] == orjson.dumps(deep).decode()


def test_json_that_is_not_an_array_is_read_as_json_lines(tmp_path: Path) -> None:
    examples, rejects = read(write(tmp_path, "lines.json", b"\xef\xbb\xbf" + jsonl(CHAT, CHAT) + b"{oops\n"))
    assert examples["source_line"].to_list() == [1, 2]
    assert rejects.select("source_line", "reason").rows() == [(3, ReasonCode.INVALID_JSON)]


def test_parquet_nested_and_mixed_shapes(tmp_path: Path) -> None:
    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    table = pa.table(
        {
            "messages": pa.array([CHAT["messages"], None, None], pa.list_(message)),
            "conversations": pa.array(
                [None, [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}], None],
                pa.list_(pa.struct([("from", pa.string()), ("value", pa.string())])),
            ),
            "instruction": pa.array([None, None, "Say hi."]),
            "output": pa.array([None, None, None], pa.string()),
            "created_at": pa.array([1772368200_000000, None, None], pa.timestamp("us", tz="UTC")),
        }
    )
    path = tmp_path / "batch.parquet"
    pq.write_table(table, path)
    examples, rejects = read(path, source="synthetic")
    assert examples["source_line"].to_list() == [1, 2]
    assert turns(examples, 0) == CHAT_TURNS
    assert turns(examples, 1) == [("user", "hi"), ("assistant", "yo")]
    assert examples["created_at"][0].isoformat() == "2026-03-01T12:30:00+00:00"
    assert rejects.select("source_line", "reason").rows() == [(3, ReasonCode.MISSING_FIELD)]
    assert json.loads(rejects["original"][0])["instruction"] == "Say hi."


def test_mixed_formats_in_one_file(tmp_path: Path) -> None:
    records = [
        CHAT,
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]},
        {"instruction": "q", "output": "a"},
        {"prompt": "q", "completion": "a"},
    ]
    examples, rejects = read(write(tmp_path, "mixed.jsonl", jsonl(*records)))
    assert rejects.is_empty()
    assert examples.height == 4
    # same content in three shapes -> one id
    assert examples["example_id"][1] == examples["example_id"][2] == examples["example_id"][3]
    assert examples["example_id"][1] == canonical_id([("user", "q"), ("assistant", "a")])


def test_same_content_from_two_sources_same_id(tmp_path: Path) -> None:
    chat = write(tmp_path, "expert/a.jsonl", jsonl(CHAT))
    sharegpt = {
        "conversations": [
            {"from": "system", "value": "You are terse."},
            {"from": "human", "value": "What is 2+2?"},
            {"from": "gpt", "value": "4"},
        ]
    }
    batch = write(tmp_path, "synthetic/b.jsonl.gz", gzip.compress(jsonl(sharegpt)))
    a, _ = read(chat, source="expert")
    b, _ = read(batch, source="synthetic")
    assert a["example_id"][0] == b["example_id"][0] == canonical_id(CHAT_TURNS)


def test_source_file_partition_and_raw_frame(tmp_path: Path) -> None:
    path = write(tmp_path, "raw/logs/2026-03-01.jsonl", jsonl(CHAT) + b"not json\n" + jsonl(CHAT))
    raw = read_raw(path, "production_log", root=tmp_path / "raw", partition="2026-03-01")
    assert raw.schema == RAW_SCHEMA
    assert raw["source_line"].to_list() == [1, 2, 3]
    assert raw["source_file"].unique().to_list() == ["logs/2026-03-01.jsonl"]
    assert raw["partition"].unique().to_list() == ["2026-03-01"]
    reject = raw.row(1, named=True)
    assert reject["reason"] == ReasonCode.INVALID_JSON and reject["original"] == "not json"
    example_columns = set(EXAMPLE_SCHEMA) - {"source", "source_file", "source_line", "partition"}
    assert all(reject[c] is None for c in example_columns)
    assert raw.filter(pl.col("reason").is_null())["original"].null_count() == 2
    examples, rejects = read_examples(path, "production_log", root=tmp_path / "raw", partition="2026-03-01")
    assert rejects["layer"].to_list() == ["ingest"] and rejects["example_id"].to_list() == [None]
    assert examples["source_file"][0] == "logs/2026-03-01.jsonl"
    assert read_examples(path, "production_log")[0]["source_file"][0] == "2026-03-01.jsonl"


def test_empty_and_blank_files(tmp_path: Path) -> None:
    for name, data in [("e.jsonl", b""), ("e.json", b""), ("e.parquet", b""), ("b.jsonl", b"\n  \r\n\t\n")]:
        examples, rejects = read(write(tmp_path, name, data))
        assert examples.is_empty() and rejects.is_empty(), name
    assert read_raw(tmp_path / "e.jsonl", "expert").schema == RAW_SCHEMA


# ------------------------------------------------------------------------------------ bad lines, bad files

BAD_LINES: list[tuple[bytes, str, str]] = [
    # (line, reason, a word the detail must contain)
    (b'{"messages": [{"role": "user", "content": "hi"}', ReasonCode.INVALID_JSON, "line 1"),
    (b"[1, 2, 3]", ReasonCode.INVALID_JSON, "array"),
    (b'"just a string"', ReasonCode.INVALID_JSON, "string"),
    (b'{"prompt": "caf\xe9", "completion": "x"}', ReasonCode.INVALID_UTF8, "UTF-8"),
    (b'{"prompt": "a", "completion": "b"}\x00', ReasonCode.NUL_BYTE, "NUL"),
    (b'{"prompt": "a\\u0000b", "completion": "c"}', ReasonCode.NUL_BYTE, "NUL"),
    (b'{"messages": [{"role": "user", "content": 42}]}', ReasonCode.WRONG_TYPE, "messages[0].content"),
    (b'{"messages": "user: hi"}', ReasonCode.WRONG_TYPE, "messages"),
    (b'{"messages": [{"role": "narrator", "content": "x"}]}', ReasonCode.BAD_ROLE, "narrator"),
    (b'{"messages": [{"content": "x"}]}', ReasonCode.MISSING_FIELD, "role"),
    (b'{"messages": [{"role": "assistant", "tool_calls": [{"id": "c1"}]}]}', ReasonCode.MISSING_FIELD, "tool_calls"),
    (b'{"instruction": "Say hi."}', ReasonCode.MISSING_FIELD, "output"),
    (b'{"prompt": "Say hi."}', ReasonCode.MISSING_FIELD, "completion"),
    (b'{"prompt": "   ", "completion": "x"}', ReasonCode.EMPTY_CONTENT, "user"),
    (b'{"messages": [{"role": "user", "content": "hi"}]}', ReasonCode.EMPTY_CONTENT, "assistant"),
    (b'{"messages": [{"role": "assistant", "content": "hi"}]}', ReasonCode.EMPTY_CONTENT, "user"),
    (b'{"messages": []}', ReasonCode.EMPTY_CONTENT, "user"),
    (
        b'{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "q"},'
        b' {"role": "assistant", "content": " \\n "}]}',
        ReasonCode.EMPTY_CONTENT,
        "no assistant turn (1 blank turn removed)",
    ),
    (
        b'{"messages": [{"role": "assistant", "content": "Hi! How can I help?"},'
        b' {"role": "user", "content": "Where is my parcel?"}]}',
        ReasonCode.BAD_TURN_ORDER,
        "once repaired (dropped_leading_turns, trimmed_trailing_user)",
    ),
    (b'{"text": "a pretraining document"}', ReasonCode.UNKNOWN_FORMAT, "text"),
    (b'{"messages": null}', ReasonCode.UNKNOWN_FORMAT, "messages"),
    (b'{"prompt": "q", "completion": "' + b"x" * 300 + b'"}', ReasonCode.TOO_LONG, "max_line_bytes"),
    (b'{"prompt": "q", "completion": "a", "meta": ' + b"[" * 40 + b"]" * 40 + b"}", ReasonCode.TOO_DEEP, "32"),
]


def test_every_reject_reason_keeps_line_and_original(tmp_path: Path) -> None:
    good = orjson.dumps(CHAT)
    lines = [good]
    for line, _, _ in BAD_LINES:
        lines += [line, b"", good]  # a blank line between, to check physical line numbers
    path = write(tmp_path, "bad.jsonl", b"\n".join(lines) + b"\n")
    examples, rejects = read(path, max_line_bytes=300)

    non_blank = sum(1 for line in path.read_bytes().split(b"\n") if line.strip())
    assert non_blank == examples.height + rejects.height
    assert examples.height == len(BAD_LINES) + 1
    assert rejects["source_line"].to_list() == [2 + 3 * i for i in range(len(BAD_LINES))]
    assert examples["source_line"].to_list() == [1] + [4 + 3 * i for i in range(len(BAD_LINES))]
    for row, (line, reason, word) in zip(rejects.iter_rows(named=True), BAD_LINES, strict=True):
        assert row["reason"] == reason, (line, row["detail"])
        assert word in row["detail"], (reason, row["detail"])
        assert row["original"] == line.decode("utf-8", "backslashreplace"), reason
        assert row["layer"] == "ingest" and row["source"] == "expert"
    covered = set(rejects["reason"])
    ingest_reasons = {
        ReasonCode.INVALID_JSON,
        ReasonCode.INVALID_UTF8,
        ReasonCode.NUL_BYTE,
        ReasonCode.UNKNOWN_FORMAT,
        ReasonCode.MISSING_FIELD,
        ReasonCode.WRONG_TYPE,
        ReasonCode.BAD_ROLE,
        ReasonCode.BAD_TURN_ORDER,
        ReasonCode.EMPTY_CONTENT,
        ReasonCode.TOO_LONG,
        ReasonCode.TOO_DEEP,
    }
    assert covered == ingest_reasons
    assert all(is_valid_reason(r) for r in covered)


def test_invalid_utf8_original_keeps_the_bytes_as_escapes(tmp_path: Path) -> None:
    reject = only_reject(write(tmp_path, "u.jsonl", b'{"prompt": "\xff\xfe", "completion": "x"}\n'))
    assert reject["reason"] == ReasonCode.INVALID_UTF8
    assert reject["original"] == '{"prompt": "\\xff\\xfe", "completion": "x"}'


def test_bom_and_crlf_parse_cleanly(tmp_path: Path) -> None:
    record = {"prompt": "line one\r\nline two\rline three", "completion": "\ufeffok\r\n"}
    data = b"\xef\xbb\xbf" + orjson.dumps(record) + b"\r\n\r\n" + b"\xef\xbb\xbf" + orjson.dumps(CHAT) + b"\r\n"
    examples, rejects = read(write(tmp_path, "win.jsonl", data))
    assert rejects.is_empty(), rejects["detail"].to_list()
    assert examples["source_line"].to_list() == [1, 3]
    assert turns(examples, 0) == [("user", "line one\nline two\nline three"), ("assistant", "ok\n")]
    assert turns(examples, 1) == CHAT_TURNS


def test_content_is_kept_verbatim(tmp_path: Path) -> None:
    content = "  leading and trailing spaces  \n\n\tand tabs, <b>markup</b>, émoji 🙂  "
    examples, _ = read(write(tmp_path, "v.jsonl", jsonl({"prompt": "q", "completion": content})))
    assert turns(examples)[1][1] == content


def test_deep_nesting_does_not_crash(tmp_path: Path) -> None:
    deep = b'{"prompt": "q", "completion": "a", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    unbalanced = b"[" * 10_000
    brackets_in_strings = orjson.dumps({"prompt": "[" * 100 + "{" * 100, "completion": "]" * 100})
    path = write(tmp_path, "deep.jsonl", b"\n".join([deep, unbalanced, brackets_in_strings]) + b"\n")
    examples, rejects = read(path)
    assert rejects["reason"].to_list() == [ReasonCode.TOO_DEEP, ReasonCode.TOO_DEEP]
    assert examples["source_line"].to_list() == [3]
    # past orjson's own depth limit (1024) with a generous max_json_depth: still too_deep, no crash
    examples, rejects = read(path, max_json_depth=50_000)
    assert rejects["reason"][0] == ReasonCode.TOO_DEEP


def test_twenty_megabyte_line(tmp_path: Path) -> None:
    huge = b'{"prompt": "q", "completion": "' + b"y" * 20_000_000 + b'"}'
    path = write(tmp_path, "huge.jsonl", huge + b"\r\n" + orjson.dumps(CHAT) + b"\n")
    examples, rejects = read(path)
    assert examples["source_line"].to_list() == [2]
    reject = rejects.row(0, named=True)
    assert (reject["reason"], reject["source_line"]) == (ReasonCode.TOO_LONG, 1)
    assert f"{len(huge):,} bytes" in reject["detail"] and "10,000" in reject["detail"]
    assert reject["original"] == huge[:ORIGINAL_KEEP_CHARS].decode() + TRUNCATION_MARKER


def test_corrupt_gzip_raises_ingest_error(tmp_path: Path) -> None:
    not_gzip = write(tmp_path, "corrupt.jsonl.gz", b"this is not gzip at all\n")
    with pytest.raises(IngestError, match=r"corrupt\.jsonl\.gz"):
        read_examples(not_gzip, "production_log")
    truncated = write(tmp_path, "truncated.jsonl.gz", gzip.compress(jsonl(CHAT) * 200)[:-40])
    with pytest.raises(IngestError, match=r"truncated\.jsonl\.gz.*gzip"):
        read_examples(truncated, "production_log")


def test_unreadable_files(tmp_path: Path) -> None:
    pq.write_table(pa.table({"prompt": ["q"], "completion": ["a"]}), tmp_path / "ok.parquet")
    truncated = write(tmp_path, "cut.parquet", (tmp_path / "ok.parquet").read_bytes()[:-20])
    with pytest.raises(IngestError, match=r"cut\.parquet"):
        read_examples(truncated, "synthetic")
    utf16 = write(tmp_path, "utf16.jsonl", '{"prompt": "q", "completion": "a"}\n'.encode("utf-16"))
    with pytest.raises(IngestError, match=r"utf16\.jsonl.*UTF-16"):
        read_examples(utf16, "expert")
    assert issubclass(IngestError, ValueError)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"data\.csv"):
        read_examples(write(tmp_path, "data.csv", b"a,b\n"), "expert")
    with pytest.raises(ValueError, match="unknown source"):
        read_examples(write(tmp_path, "x.jsonl", jsonl(CHAT)), "scraped")


# ------------------------------------------------------------------------------------------ turn repairs
# Shapes seen in real ShareGPT dumps: FastChat's split_long_conversation cuts long chats into chunks, so a
# chunk (id "abc_2") opens with the tail of an answer; blank turns where an answer failed to render; a chat
# shared before the last question was answered.

CHUNK = {
    "id": "QWJhYvA_2",
    "conversations": [
        {"from": "gpt", "value": "...and finally, step 4: restart the hub and wait for the green light."},
        {"from": "human", "value": "It is still blinking orange. What now?"},
        {"from": "gpt", "value": "Hold the reset button for 10 seconds, then pair it again in the app."},
        {"from": "human", "value": "ok thanks, one more thing"},
    ],
}


def repaired(tmp_path: Path, *records: object, **kwargs) -> tuple[pl.DataFrame, pl.DataFrame]:
    return read(write(tmp_path, "chunks.jsonl", jsonl(*records)), **kwargs)


def test_unrepaired_examples_have_no_tags(tmp_path: Path) -> None:
    examples, _ = repaired(tmp_path, CHAT)
    assert examples["tags"].to_list() == [[]]


def test_chunk_opening_mid_answer_drops_leading_turns_and_trims_trailing_user(tmp_path: Path) -> None:
    examples, rejects = repaired(tmp_path, CHUNK)
    assert rejects.is_empty()
    expected = [
        ("user", "It is still blinking orange. What now?"),
        ("assistant", "Hold the reset button for 10 seconds, then pair it again in the app."),
    ]
    assert turns(examples) == expected
    assert examples["tags"][0].to_list() == ["dropped_leading_turns", "trimmed_trailing_user"]
    assert examples["example_id"][0] == canonical_id(expected)  # the id hashes the repaired turns


def test_keep_as_context_folds_leading_turns_into_a_system_turn(tmp_path: Path) -> None:
    examples, _ = repaired(tmp_path, CHUNK, leading_assistant="keep_as_context")
    assert turns(examples)[0] == (
        "system",
        "Earlier in this conversation:\n\nassistant: ...and finally, step 4: restart the hub and wait for the "
        "green light.",
    )
    assert [role for role, _ in turns(examples)] == ["system", "user", "assistant"]
    assert examples["tags"][0].to_list() == ["leading_turns_as_context", "trimmed_trailing_user"]


def test_keep_as_context_appends_to_the_conversations_own_system_turn(tmp_path: Path) -> None:
    record = {
        "messages": [
            {"role": "tool", "content": '{"status": "offline"}'},
            {"role": "assistant", "content": "Your hub is offline."},
            {"role": "system", "content": "You are Lumora support."},
            {"role": "user", "content": "Why is it offline?"},
            {"role": "assistant", "content": "It lost Wi-Fi; move it closer to the router."},
        ]
    }
    examples, _ = repaired(tmp_path, record, leading_assistant="keep_as_context")
    assert turns(examples)[0] == (
        "system",
        'You are Lumora support.\n\nEarlier in this conversation:\n\ntool: {"status": "offline"}'
        "\n\nassistant: Your hub is offline.",
    )
    assert len(turns(examples)) == 3
    dropped, _ = repaired(tmp_path, record)
    assert [role for role, _ in turns(dropped)] == ["system", "user", "assistant"]
    assert dropped["tags"][0].to_list() == ["dropped_leading_turns"]


def test_the_policy_switch_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"leading_assistant.*drop, keep_as_context"):
        repaired(tmp_path, CHAT, leading_assistant="keep")


def test_a_system_prompt_followed_by_a_greeting_is_not_repaired(tmp_path: Path) -> None:
    record = {
        "system": "You are Lumora support.",
        "conversations": [
            {"from": "gpt", "value": "Hello! How can I help?"},
            {"from": "human", "value": "Is my order shipped?"},
            {"from": "gpt", "value": "Yes, it left this morning."},
        ],
    }
    examples, _ = repaired(tmp_path, record)
    assert [role for role, _ in turns(examples)] == ["system", "assistant", "user", "assistant"]
    assert examples["tags"].to_list() == [[]]


def test_blank_turns_are_removed_and_separated_same_role_turns_merged(tmp_path: Path) -> None:
    rerender = {  # the answer failed to render, so the user asked again
        "conversations": [
            {"from": "human", "value": "How do I export my data?"},
            {"from": "gpt", "value": ""},
            {"from": "human", "value": "Hello? How do I export my data?"},
            {"from": "gpt", "value": "Open Settings > Privacy > Export and pick a format."},
        ]
    }
    regenerated = {  # an empty first attempt, then the answer: nothing to merge
        "messages": [
            {"role": "user", "content": "What is the warranty?"},
            {"role": "assistant", "content": " \n\t"},
            {"role": "assistant", "content": "Two years from the date of purchase."},
        ]
    }
    adjacent = {  # same-role turns that were adjacent in the input stay two turns
        "messages": [
            {"role": "user", "content": "Two questions."},
            {"role": "user", "content": "First: the price?"},
            {"role": "assistant", "content": "It costs 49 euros."},
        ]
    }
    parallel_tools = {
        "messages": [
            {"role": "user", "content": "Weather in Oslo and Bergen?"},
            {"role": "tool", "content": '{"oslo": 3}'},
            {"role": "tool", "content": ""},
            {"role": "tool", "content": '{"bergen": 7}'},
            {"role": "assistant", "content": "Oslo 3 degrees, Bergen 7."},
        ]
    }
    examples, rejects = repaired(tmp_path, rerender, regenerated, adjacent, parallel_tools)
    assert rejects.is_empty()
    assert turns(examples, 0) == [
        ("user", "How do I export my data?\n\nHello? How do I export my data?"),
        ("assistant", "Open Settings > Privacy > Export and pick a format."),
    ]
    assert turns(examples, 1) == [
        ("user", "What is the warranty?"),
        ("assistant", "Two years from the date of purchase."),
    ]
    assert len(turns(examples, 2)) == 3
    assert [role for role, _ in turns(examples, 3)] == ["user", "tool", "tool", "assistant"]
    assert examples["tags"].to_list() == [
        ["merged_turns", "removed_blank_turns"],
        ["removed_blank_turns"],
        [],
        ["removed_blank_turns"],
    ]


def test_removing_a_blank_turn_accepts_what_the_same_chat_without_it_gets(tmp_path: Path) -> None:
    greeting_then_tool = [
        {"role": "system", "content": "You are Lumora support."},
        {"role": "assistant", "content": "Hi! Checking your hub now."},
        {"role": "user", "content": "Thanks."},
        {"role": "tool", "content": '{"hub": "online"}'},
    ]
    with_blank = [*greeting_then_tool[:3], {"role": "assistant", "content": " "}, greeting_then_tool[3]]
    examples, rejects = repaired(tmp_path, {"messages": greeting_then_tool}, {"messages": with_blank})
    assert rejects.is_empty()
    assert turns(examples, 0) == turns(examples, 1)
    assert examples["tags"].to_list() == [[], ["removed_blank_turns"]]


def test_what_cannot_become_an_example_is_still_rejected(tmp_path: Path) -> None:
    cases = [
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "   "}]}, "empty_content"),
        ({"conversations": [{"from": "human", "value": ""}, {"from": "gpt", "value": "a"}]}, "empty_content"),
        ({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]}, "empty_content"),
        ({"conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "q"}]}, "bad_turn_order"),
        (  # a greeting after the system prompt, then an unanswered question: nothing left to learn
            {"system": "s", "messages": [{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "q"}]},
            "bad_turn_order",
        ),
        ({"messages": [{"role": "user", "content": "q\u0000"}, {"role": "assistant", "content": "a"}]}, "nul_byte"),
    ]
    for keep in ("drop", "keep_as_context"):
        examples, rejects = repaired(tmp_path, *(record for record, _ in cases), leading_assistant=keep)
        assert examples.is_empty(), examples["messages"].to_list()
        assert rejects["reason"].to_list() == [reason for _, reason in cases]
        assert rejects["original"].to_list() == [orjson.dumps(record).decode() for record, _ in cases]


def test_edited_response_is_never_trimmed(tmp_path: Path) -> None:
    record = {
        "messages": [
            {"role": "assistant", "content": "Welcome back!"},
            {"role": "user", "content": "Cancel my order."},
        ],
        "original_response": "I can't do that.",
        "edited_response": "Done: order 4411 is cancelled and refunded.",
    }
    examples, _ = read(write(tmp_path, "fb.jsonl", jsonl(record)), source="feedback")
    assert turns(examples) == [
        ("user", "Cancel my order."),
        ("assistant", "Done: order 4411 is cancelled and refunded."),
    ]
    assert examples["tags"][0].to_list() == ["dropped_leading_turns"]
    assert examples["original_response"][0] == "I can't do that."


def test_repair_counts_and_rejects_per_reason(tmp_path: Path) -> None:
    """Counts on a realistic mix: two thirds of the chunks of one shared chat open mid-answer."""
    records = [CHUNK, CHAT, CHAT, {"conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "q"}]}]
    records.append({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]})
    examples, rejects = repaired(tmp_path, *records)
    assert examples.height == 3
    assert repair_counts(examples) == {
        "dropped_leading_turns": 1,
        "leading_turns_as_context": 0,
        "removed_blank_turns": 0,
        "merged_turns": 0,
        "trimmed_trailing_user": 1,
        "tool_calls_as_assistant": 0,
    }
    assert set(repair_counts(examples)) == set(INGEST_TAGS)
    assert dict(rejects.group_by("reason").len().iter_rows()) == {"bad_turn_order": 1, "empty_content": 1}
    raw = read_raw(write(tmp_path, "chunks.jsonl", jsonl(*records)), "expert")
    assert raw.filter(pl.col("reason").is_not_null())["tags"].to_list() == [None, None]


def test_repair_counts_of_an_empty_frame() -> None:
    assert repair_counts(pl.DataFrame(schema=EXAMPLE_SCHEMA)) == dict.fromkeys(INGEST_TAGS, 0)


def test_a_raw_partition_stored_before_tags_existed_still_combines(tmp_path: Path) -> None:
    from ftdata_assets.transforms.ingest import split_raw
    from ftdata_assets.transforms.normalize import combine_raw

    bad = b'{"messages": []}'
    old = read_raw(write(tmp_path, "old.jsonl", jsonl(CHAT) + bad + b"\n"), "production_log").drop("tags")
    new = read_raw(write(tmp_path, "new.jsonl", jsonl(CHUNK)), "production_log")
    raw = combine_raw([old, new])
    assert raw.schema == RAW_SCHEMA
    assert raw["tags"].to_list() == [[], None, ["dropped_leading_turns", "trimmed_trailing_user"]]
    examples, rejects = split_raw(raw)
    assert examples.height == 2 and rejects["reason"].to_list() == ["empty_content"]


def test_a_raw_partition_stored_before_formats_existed_still_combines(tmp_path: Path) -> None:
    """A partition written before ingest recorded `format`/`extras` (and `tags`) combines with new ones."""
    from ftdata_assets.transforms.normalize import combine_raw

    old = read_raw(write(tmp_path, "old.jsonl", jsonl(CHAT)), "production_log")
    new = read_raw(write(tmp_path, "new.jsonl", jsonl(CHUNK)), "production_log")
    for stale in (old.drop("format", "extras"), old.drop("format", "extras", "tags")):
        raw = combine_raw([stale, new])
        assert raw.schema == RAW_SCHEMA
        assert raw["format"].to_list() == [None, "sharegpt"]  # the chunk is a ShareGPT record
