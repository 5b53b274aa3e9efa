"""Tests of transforms.exports (OpenAI chat JSONL, Alpaca JSON) and of the curated Parquet as Hugging Face
`datasets` loads it (the messages column in the conversational shape TRL's SFTTrainer reads)."""

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from ftdata_assets.defs.io import PARQUET_WRITE_OPTIONS  # what the pipeline writes with
from ftdata_assets.schema import EXAMPLE_SCHEMA, SPLITS
from ftdata_assets.transforms import exports as ex

UTC = dt.UTC


def turns(*pairs: tuple[str | None, str | None]) -> list[dict[str, str | None]]:
    return [{"role": role, "content": content} for role, content in pairs]


# one conversation per case, the ids say what each is
CASES: dict[str, list[dict[str, str | None]] | None] = {
    "single": turns(("user", "How do I reset my password?"), ("assistant", "Open Settings > Account > Reset.")),
    "system": turns(
        ("system", "You are Lumora's support assistant."),
        ("user", "Can I return shoes after 30 days?"),
        ("assistant", "Returns are accepted within 30 days of delivery."),
    ),
    "multi_turn": turns(
        ("user", "Wie spät ist es in Tokio?"),
        ("assistant", "Ich habe keinen Zugriff auf die aktuelle Uhrzeit."),
        ("user", "東京の天気は？ 😀"),
        ("assistant", "申し訳ありませんが、リアルタイムの天気情報はありません。"),
    ),
    "refusal": turns(("user", "What is my neighbour's PIN?"), ("assistant", "I can't help with that.")),
    "ends_with_user": turns(("user", "Summarise this."), ("assistant", "Which text?"), ("user", "The one above.")),
    "tool": turns(
        ("user", "What's the weather in Oslo?"),
        ("assistant", "Let me check."),
        ("tool", '{"temp_c": -3}'),
        ("assistant", "It is -3 °C in Oslo."),
    ),
    "no_assistant": turns(("user", "Hello?")),
    "blank_answer": turns(("user", "Say something"), ("assistant", "   ")),
    "bad_role": turns(("bot", "hi"), ("assistant", "hello")),
    "null_content": turns(("user", "q"), ("assistant", None)),
    "empty": [],
    "null_messages": None,
}
EXPORTABLE = ["single", "system", "multi_turn", "refusal"]
EXPECTED_PROBLEMS = [
    ("ends_with_user", "last_message_not_assistant", "last role is 'user'"),
    ("tool", "tool_turn_unsupported", "message 3"),
    ("no_assistant", "example_missing_assistant_message", "no assistant message"),
    ("blank_answer", "missing_content", "message 2"),
    ("bad_role", "unrecognized_role", "message 1: role 'bot'"),
    ("null_content", "message_missing_key", "message 2"),
    ("empty", "missing_messages", "no messages"),
    ("null_messages", "missing_messages", "no messages"),
]


def examples(cases: dict[str, list | None] = CASES, splits: list[str] | None = None) -> pl.DataFrame:
    """A frame with every EXAMPLE_SCHEMA column filled the way the pipeline fills it."""
    n = len(cases)
    data = {
        "example_id": list(cases),
        "source": ["expert", "production_log", "synthetic", "feedback"] * (n // 4) + ["expert"] * (n % 4),
        "source_file": [f"expert/set_{i}.jsonl" for i in range(n)],
        "source_line": list(range(1, n + 1)),
        "partition": [None] * n,
        "messages": list(cases.values()),
        "conversation_id": [None] * n,
        "user_id": [None] * n,
        "teacher_model": [None] * n,
        "prompt_template": [None] * n,
        "author": ["ana"] * n,
        "reviewed": [True] * n,
        "license": ["cc-by-4.0"] * n,
        "created_at": [dt.datetime(2026, 3, 1, 12, 30, i, tzinfo=UTC) for i in range(n)],
        "original_response": [None] * n,
        "tags": [[]] * n,
    }
    frame = pl.DataFrame(data, schema=EXAMPLE_SCHEMA)
    if splits is not None:
        frame = frame.with_columns(split=pl.Series(splits, dtype=pl.String))
    return frame


# ------------------------------------------------------------------------------------------ format problems


def test_format_problems_lists_every_row_that_cannot_be_exported() -> None:
    problems = ex.format_problems(examples())
    assert problems.schema == ex.PROBLEM_SCHEMA
    assert problems.rows() == EXPECTED_PROBLEMS
    assert set(problems.get_column("problem")) <= set(ex.PROBLEMS)


def test_no_row_is_lost_between_records_and_problems() -> None:
    frame = examples()
    records = ex.openai_chat_records(frame)
    problem_ids = set(ex.format_problems(frame).get_column("example_id"))
    assert records.height == len(EXPORTABLE)
    assert records.height + len(problem_ids) == frame.height
    assert problem_ids.isdisjoint(EXPORTABLE)


def test_several_problems_of_one_row_are_all_listed_in_rule_order() -> None:
    frame = examples({"x": turns(("user", ""), ("narrator", "once"), ("user", None))})
    assert ex.format_problems(frame).rows() == [
        ("x", "message_missing_key", "message 3"),
        ("x", "unrecognized_role", "message 2: role 'narrator'"),
        ("x", "missing_content", "message 1"),
        ("x", "example_missing_assistant_message", "no assistant message"),
    ]


def test_a_null_message_inside_the_list_is_a_problem_not_a_crash() -> None:
    frame = examples({"x": [None, {"role": "assistant", "content": "ok"}]})
    assert ex.format_problems(frame).rows() == [("x", "message_missing_key", "message 1")]
    assert ex.openai_chat_records(frame).height == 0


def test_empty_frame() -> None:
    frame = examples({})
    assert ex.format_problems(frame).height == 0
    assert ex.openai_chat_records(frame).height == 0


# ------------------------------------------------------------------------------------------- OpenAI JSONL


def test_openai_jsonl_lines_follow_the_chat_fine_tuning_format(tmp_path: Path) -> None:
    path = tmp_path / "exports" / "train.openai.jsonl"
    problems = ex.write_openai_jsonl(examples(), path)
    assert problems.rows() == EXPECTED_PROBLEMS

    raw = path.read_bytes()
    assert raw.endswith(b"\n") and b"\r" not in raw
    assert "東京の天気は？ 😀".encode() in raw  # UTF-8, not \u escapes
    lines = raw.decode("utf-8").splitlines()
    assert len(lines) == len(EXPORTABLE)
    for line, case in zip(lines, EXPORTABLE, strict=True):
        record = json.loads(line)
        assert list(record) == ["messages"]  # no extra keys
        messages = record["messages"]
        assert messages == CASES[case]  # same turns, same order (rows stay in input order)
        for message in messages:
            assert list(message) == ["role", "content"]
            assert message["role"] in {"system", "user", "assistant"}
            assert isinstance(message["content"], str) and message["content"].strip()
        assert messages[-1]["role"] == "assistant"
        assert any(m["role"] == "assistant" for m in messages)
        assert line == json.dumps(record, ensure_ascii=False, separators=(",", ":"))  # compact
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temp file


def test_openai_jsonl_escapes_what_json_must_escape() -> None:
    tricky = 'quote " backslash \\ tab\t newline\n ctrl \x01 bidi \u202e <|im_start|>'
    data, problems = ex.openai_jsonl_bytes(examples({"x": turns(("user", tricky), ("assistant", "ok"))}))
    assert problems.height == 0
    assert json.loads(data)["messages"][0]["content"] == tricky
    assert data.count(b"\n") == 1  # the newline inside the content is escaped


def test_openai_records_keep_only_role_and_content() -> None:
    extra = pl.List(pl.Struct({"role": pl.String, "name": pl.String, "content": pl.String}))
    frame = pl.DataFrame(
        {
            "example_id": ["x"],
            "messages": [[{"role": "user", "name": "ana", "content": "hi"}, {"role": "assistant", "content": "yo"}]],
        },
        schema={"example_id": pl.String, "messages": extra},
    )
    data, _ = ex.openai_jsonl_bytes(frame)
    assert data == b'{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}\n'


def test_openai_jsonl_of_nothing_exportable_is_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    problems = ex.write_openai_jsonl(examples({"x": turns(("user", "hi"))}), path)
    assert path.read_bytes() == b""
    assert problems.get_column("problem").to_list() == ["example_missing_assistant_message"]


# -------------------------------------------------------------------------------------------------- Alpaca


def test_alpaca_json_holds_only_instruction_shaped_rows(tmp_path: Path) -> None:
    path = tmp_path / "train.alpaca.json"
    count = ex.write_alpaca_json(examples(), path)
    assert count == 2  # single and refusal; system, multi-turn, tool and broken rows are not instruction-shaped
    records = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(records, list)
    assert records == [
        {
            "instruction": "How do I reset my password?",
            "input": "",
            "output": "Open Settings > Account > Reset.",
        },
        {"instruction": "What is my neighbour's PIN?", "input": "", "output": "I can't help with that."},
    ]
    assert all(list(r) == ["instruction", "input", "output"] for r in records)


def test_instruction_shape() -> None:
    shaped = ex.instruction_shaped(examples())
    assert dict(zip(CASES, shaped.to_list(), strict=True)) == {
        "single": True,
        "system": False,  # Alpaca has no field for a per-example system prompt
        "multi_turn": False,
        "refusal": True,
        "ends_with_user": False,
        "tool": False,
        "no_assistant": False,
        "blank_answer": False,
        "bad_role": False,
        "null_content": False,
        "empty": False,
        "null_messages": False,
    }


def test_alpaca_keeps_unicode_unescaped(tmp_path: Path) -> None:
    frame = examples({"x": turns(("user", "Übersetze: 猫"), ("assistant", "Katze 🐈"))})
    data, count = ex.alpaca_json_bytes(frame)
    assert count == 1
    assert "Übersetze: 猫".encode() in data and "Katze 🐈".encode() in data
    assert ex.alpaca_json_bytes(examples({})) == (b"[]\n", 0)


# ------------------------------------------------------------------------------- Hugging Face datasets, TRL


@pytest.fixture
def hf_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The real `datasets` package, offline, with its caches in the test's folder."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    import datasets

    datasets.disable_progress_bars()
    return datasets


# TRL's own check (trl/data_utils.py `is_conversational` and `apply_chat_template`): a row is conversational
# when a supported key holds a list of dicts with "role" and "content"; for language modelling (what
# SFTTrainer does with a `messages` column) the supported keys present must be exactly {"messages"}.
TRL_KEYS = {"prompt", "chosen", "rejected", "completion", "messages", "label"}


def assert_trl_conversational(row: dict) -> None:
    assert {k for k in row if k in TRL_KEYS} == {"messages"}
    messages = row["messages"]
    assert isinstance(messages, list) and messages
    for message in messages:
        assert isinstance(message, dict)
        assert set(message) == {"role", "content"}
        assert isinstance(message["role"], str) and isinstance(message["content"], str)


def test_polars_parquet_loads_with_hf_datasets(tmp_path: Path, hf_datasets) -> None:
    exportable = {k: CASES[k] for k in EXPORTABLE}
    frame = examples(exportable, splits=["train", "train", "validation", "test"])
    files = {}
    for split in SPLITS:
        files[split] = str(tmp_path / "curated" / f"{split}.parquet")
        Path(files[split]).parent.mkdir(parents=True, exist_ok=True)
        frame.filter(pl.col("split") == split).drop("split").write_parquet(files[split], **PARQUET_WRITE_OPTIONS)

    ds = hf_datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "cache"))
    assert {s: ds[s].num_rows for s in SPLITS} == {"train": 2, "validation": 1, "test": 1}
    assert ds["train"].column_names == list(EXAMPLE_SCHEMA)

    first = ds["train"][0]
    assert first["messages"] == CASES["single"]
    assert all(isinstance(m, dict) and set(m) == {"role", "content"} for m in first["messages"])
    assert ds["validation"][0]["messages"] == CASES["multi_turn"]  # unicode survives
    for split in SPLITS:
        for row in ds[split]:
            assert_trl_conversational(row)

    # created_at: a tz-aware timestamp in Arrow, an aware datetime in Python; no cast needed
    assert str(ds["train"].features["created_at"].dtype) == "timestamp[us, tz=UTC]"
    created = first["created_at"]
    assert created.utcoffset() == dt.timedelta(0)
    assert created == dt.datetime(2026, 3, 1, 12, 30, 0, tzinfo=UTC)
    assert ds["train"][1]["reviewed"] is True and ds["train"][1]["source_line"] == 2


def test_hf_datasets_rejects_an_empty_split_file(tmp_path: Path, hf_datasets) -> None:
    """Known limitation of `datasets`: a Parquet file without rows fails the whole load. The data card leaves
    empty splits out of `configs` for this reason (tests/test_data_card.py)."""
    frame = examples({"single": CASES["single"]})
    files = {"train": str(tmp_path / "train.parquet"), "validation": str(tmp_path / "validation.parquet")}
    frame.write_parquet(files["train"], **PARQUET_WRITE_OPTIONS)
    frame.clear().write_parquet(files["validation"], **PARQUET_WRITE_OPTIONS)
    with pytest.raises(ValueError, match="corresponds to no data"):
        hf_datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "cache"))
