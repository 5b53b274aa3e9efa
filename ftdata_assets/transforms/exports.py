"""Trainer-facing exports of the curated splits: OpenAI chat fine-tuning JSONL and Alpaca JSON.

Pure module (no Dagster). Input: frames with the canonical `messages` column (list<struct<role, content>>,
`schema.EXAMPLE_SCHEMA`) and `example_id`; other columns are ignored. Row order is kept as given.

OpenAI chat JSONL (`openai_chat_records`, `write_openai_jsonl`): one `{"messages": [{"role": ..., "content":
...}, ...]}` per line, compact JSON, UTF-8 (non-ASCII unescaped), keys in exactly that order, no other keys.
The rules are OpenAI's documented chat fine-tuning format checks (the cookbook notebook "Data preparation and
analysis for chat model fine-tuning", examples/Chat_finetuning_data_prep.ipynb: every example has a non-empty
`messages` list; every message has `role` and `content`; no unrecognized keys; role in system/user/assistant
(`function` is the legacy function-calling role); content is a non-empty string; at least one assistant
message) plus two this project demands:

- the last message is an assistant turn (an example must end with what the model learns to say);
- no `tool` turns: OpenAI's `tool` message needs a `tool_call_id` that answers an assistant message's
  `tool_calls` entry (ChatCompletionRequestToolMessage in the OpenAI API spec), and the canonical schema
  carries neither, so a tool turn cannot be expressed faithfully. Relabelling it as user/assistant would
  teach the model to speak for the tool.

A row that breaks a rule is never silently dropped: `format_problems` returns one row per (example, problem),
and `write_openai_jsonl` returns that frame so the caller reports it. Problem codes: `PROBLEMS` (descriptions
in `PROBLEM_DESCRIPTIONS`). Content that is only whitespace counts as missing (the cookbook's "has textual
data"). Not checked here (file- or model-level, not row-level): OpenAI's minimum of 10 examples per file and
the per-example token limit of the chosen model.

Alpaca JSON (`alpaca_records`, `write_alpaca_json`): an array of `{"instruction", "input", "output"}` for the
instruction-shaped rows only, i.e. exactly one user turn followed by exactly one assistant turn, both with
non-blank content. Convention (the common one for chat -> Alpaca): instruction = the user turn, input = "",
output = the assistant turn. Rows with a system turn are NOT instruction-shaped: Alpaca has no field for a
per-example system prompt (its fixed "Below is an instruction..." preamble plays that part), and folding the
system prompt into the instruction or dropping it would change what the example teaches. Multi-turn and tool
rows are not instruction-shaped either. All rows stay in the chat JSONL and the Parquet splits.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl

from ftdata_assets.atomic_files import write_bytes_atomically
from ftdata_assets.schema import MESSAGES

__all__ = [
    "OPENAI_ROLES",
    "PROBLEMS",
    "PROBLEM_DESCRIPTIONS",
    "PROBLEM_SCHEMA",
    "alpaca_json_bytes",
    "alpaca_records",
    "format_problems",
    "instruction_shaped",
    "openai_chat_records",
    "openai_jsonl_bytes",
    "write_alpaca_json",
    "write_openai_jsonl",
]

OPENAI_ROLES: tuple[str, ...] = ("system", "user", "assistant")
"""Roles an exported message may have (the canonical `tool` role is reported, see module doc)."""

PROBLEM_DESCRIPTIONS: dict[str, str] = {
    "missing_messages": "the example has no messages (null or empty list)",
    "message_missing_key": "a message is null or has a null role or content",
    "unrecognized_role": "a message role is not system/user/assistant",
    "tool_turn_unsupported": "a tool turn: OpenAI needs its tool_call_id and the assistant's tool_calls",
    "missing_content": "a message's content is empty or only whitespace",
    "example_missing_assistant_message": "the example has no assistant message",
    "last_message_not_assistant": "the example does not end with an assistant message",
}
PROBLEMS: tuple[str, ...] = tuple(PROBLEM_DESCRIPTIONS)
"""Problem codes, in the order `format_problems` lists them for one example."""

PROBLEM_SCHEMA = pl.Schema({"example_id": pl.String, "problem": pl.String, "detail": pl.String})

_ALPACA_SCHEMA = pl.Schema({"instruction": pl.String, "input": pl.String, "output": pl.String})

_ROLE = pl.element().struct.field("role")
_CONTENT = pl.element().struct.field("content")


def _positions(condition: pl.Expr) -> pl.Expr:
    """1-based positions of the messages where `condition` holds, as "2, 5" (null when none)."""
    found = pl.col("messages").list.eval(pl.int_range(1, pl.len() + 1).filter(condition).cast(pl.String))
    return pl.when(found.list.len() > 0).then(pl.lit("message ") + found.list.join(", "))


def _checks() -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """problem -> (does the row have it, a detail), all vectorized over the `messages` list column."""
    messages = pl.col("messages")
    empty = messages.is_null() | (messages.list.len() == 0)
    has_messages = ~empty
    null_key = pl.element().is_null() | _ROLE.is_null() | _CONTENT.is_null()
    bad_role = _ROLE.is_not_null() & ~_ROLE.is_in(["tool", *OPENAI_ROLES])
    tool = _ROLE == "tool"
    blank = _CONTENT.is_not_null() & (_CONTENT.str.strip_chars() == "")
    has_assistant = messages.list.eval((_ROLE == "assistant").fill_null(False)).list.any()
    last_role = messages.list.last().struct.field("role")
    bad_roles = messages.list.eval(_ROLE.filter(bad_role).unique(maintain_order=True)).list.join("', '")
    return {
        "missing_messages": (empty, pl.lit("no messages")),
        "message_missing_key": (
            has_messages & messages.list.eval(null_key).list.any(),
            _positions(null_key),
        ),
        "unrecognized_role": (
            has_messages & messages.list.eval(bad_role.fill_null(False)).list.any(),
            _positions(bad_role) + pl.lit(": role '") + bad_roles + pl.lit("'"),
        ),
        "tool_turn_unsupported": (
            has_messages & messages.list.eval(tool.fill_null(False)).list.any(),
            _positions(tool),
        ),
        "missing_content": (
            has_messages & messages.list.eval(blank.fill_null(False)).list.any(),
            _positions(blank),
        ),
        "example_missing_assistant_message": (has_messages & ~has_assistant, pl.lit("no assistant message")),
        "last_message_not_assistant": (
            has_messages & has_assistant & (last_role.is_null() | (last_role != "assistant")),
            pl.lit("last role is ") + pl.coalesce(pl.lit("'") + last_role + pl.lit("'"), pl.lit("null")),
        ),
    }


def format_problems(frame: pl.DataFrame) -> pl.DataFrame:
    """Every reason a row cannot be exported as an OpenAI chat example: one row per (example, problem).

    Columns `PROBLEM_SCHEMA`: `example_id`, `problem` (a `PROBLEMS` code), `detail` (which messages, which
    role). Sorted by the input row order, then by `PROBLEMS` order. Empty when every row is exportable.
    """
    checks = _checks()
    flagged = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
        pl.col("example_id").cast(pl.String),
        *(
            pl.when(has.fill_null(True)).then(detail.fill_null(pl.lit(""))).otherwise(None).alias(name)
            for name, (has, detail) in checks.items()
        ),
    )
    long = flagged.unpivot(
        index=["_row", "example_id"], on=list(PROBLEMS), variable_name="problem", value_name="detail"
    )
    order = {name: i for i, name in enumerate(PROBLEMS)}
    return (
        long.filter(pl.col("detail").is_not_null())
        .with_columns(_order=pl.col("problem").replace_strict(order, return_dtype=pl.Int64))
        .sort("_row", "_order")
        .select(PROBLEM_SCHEMA.names())
        .cast(dict(PROBLEM_SCHEMA))
    )


def _exportable(frame: pl.DataFrame) -> pl.Series:
    """True for the rows `format_problems` has nothing to say about."""
    checks = _checks()
    return frame.select(~pl.any_horizontal(has.fill_null(True) for has, _ in checks.values())).to_series()


def openai_chat_records(frame: pl.DataFrame) -> pl.DataFrame:
    """The exportable rows, in input order, as one `messages` column holding only `role` and `content`.

    Rows with a format problem are left out here and listed by `format_problems` (call both, or use
    `write_openai_jsonl`, which returns the problems).
    """
    keep = _exportable(frame)
    return frame.filter(keep).select(
        pl.col("messages")
        .list.eval(pl.struct(_ROLE.alias("role"), _CONTENT.alias("content")))
        .cast(MESSAGES)
        .alias("messages")
    )


def openai_jsonl_bytes(frame: pl.DataFrame) -> tuple[bytes, pl.DataFrame]:
    """The JSONL file's bytes (empty when nothing is exportable) and the format problems."""
    records = openai_chat_records(frame)
    lines = records.select(pl.struct("messages").struct.json_encode()).to_series()
    data = b"".join(f"{line}\n".encode() for line in lines) if lines.len() else b""
    return data, format_problems(frame)


def write_openai_jsonl(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Write the OpenAI chat fine-tuning JSONL atomically; return the rows left out (`format_problems`)."""
    data, problems = openai_jsonl_bytes(frame)
    write_bytes_atomically(Path(path), data)
    return problems


def instruction_shaped(frame: pl.DataFrame) -> pl.Series:
    """True for rows that are exactly [user, assistant] with non-blank contents (module doc: Alpaca)."""
    messages = pl.col("messages")
    roles = messages.list.eval(_ROLE).list.join("\x1f")
    filled = messages.list.eval((_CONTENT.str.strip_chars().str.len_chars() > 0).fill_null(False)).list.all()
    return (
        frame.select((messages.list.len() == 2) & (roles == "user\x1fassistant") & filled)
        .to_series()
        .fill_null(False)
        .alias("instruction_shaped")
    )


def alpaca_records(frame: pl.DataFrame) -> pl.DataFrame:
    """The instruction-shaped rows, in input order, as `instruction` (user), `input` (""), `output` (assistant)."""
    shaped = frame.filter(instruction_shaped(frame))
    return shaped.select(
        pl.col("messages").list.get(0).struct.field("content").alias("instruction"),
        pl.lit("", dtype=pl.String).alias("input"),
        pl.col("messages").list.get(1).struct.field("content").alias("output"),
    ).cast(dict(_ALPACA_SCHEMA))


def alpaca_json_bytes(frame: pl.DataFrame) -> tuple[bytes, int]:
    """The Alpaca JSON array (2-space indent, UTF-8, trailing newline) and how many rows were in it."""
    records = alpaca_records(frame)
    data = orjson.dumps(records.to_dicts(), option=orjson.OPT_INDENT_2) + b"\n"
    return data, records.height


def write_alpaca_json(frame: pl.DataFrame, path: Path) -> int:
    """Write the Alpaca JSON array atomically; return how many rows were instruction-shaped (and written)."""
    data, count = alpaca_json_bytes(frame)
    write_bytes_atomically(Path(path), data)
    return count
