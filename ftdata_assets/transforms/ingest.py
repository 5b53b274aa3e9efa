"""Ingest: read one raw input file into canonical examples and ingest-layer rejects.

Pure module (no Dagster). `read_raw` returns every non-blank input record of one file as one frame with
`schema.RAW_SCHEMA` (an example, or a reject with its reason); `read_examples` splits that frame into
(examples with `schema.EXAMPLE_SCHEMA`, rejects with `schema.REJECT_SCHEMA`, `layer` = "ingest").

File types (case-insensitive): `.jsonl` / `.ndjson` (optionally `.gz`), `.json` (a top-level array of
records, or one record, else read as JSON lines; also `.json.gz`), `.parquet`. Any other name, or a folder,
raises `IngestError`. Record shapes (`schema.FORMATS`, the raw `format` column), detected per record in this
order (the first key present with a non-null value wins, so e.g. a record with both `messages` and `prompt` is
chat): OpenAI chat (`messages`), ShareGPT (`conversations`; with a `chosen` it is LLaMA-Factory's preference
shape, `sharegpt_preference`: `_sharegpt_preference_turns`), Alpaca (`instruction`/`input`/`output`, or
`response` as GPTeacher writes it) and Dolly (`instruction`/`context`/`response`/`category`: `context` is the
input), an OpenAssistant message tree (`prompt` an object with nested `replies`), prompt/completion
(`prompt`/`completion`, strings or TRL-style lists of chat messages), TRL-style preference rows (`prompt` and
`chosen`, no `completion`; `_preference_turns`), an Anthropic HH transcript (`chosen`:
"\n\nHuman: ...\n\nAssistant: ..." turns, each trimmed), a ChatML `text` (`<|im_start|>role\n...<|im_end|>`
turns; text outside them is `wrong_type`, plain `text` stays `unknown_format`). `ingest.field_maps`
(`field_map_for`) renames a file's fields first, or makes them turns (`mapped`).

Formats, provenance and the ledger:
- Provenance a format has beyond the contract's columns (Dolly `category`, HH / preference `rejected`, OASST `lang`,
  `message_tree_id` and the path's `message_ids`, ShareGPT `tools` and `tool_call_turns`, `schema.FORMAT_EXTRAS`)
  goes to the raw `extras` column as JSON. It stays in the raw layers: `rejected` is an unscrubbed answer that
  must never be trained on.
- An OASST tree gives one example per root-to-leaf path (`_oasst_paths`: the best-ranked answer at each
  prompter turn, or every answer when none of them is ranked; every answered follow-up at each assistant turn;
  deleted and failed-review messages skipped with their subtrees), all with the tree's line number; its
  `message_tree_id` is the conversation id when the record has none, so the paths (which share turns) land in
  one split. A tree is read whole or is one reject. So raw rows = examples + rejects for every format, and
  rows = records except for trees. A message nests two JSON levels (itself, its `replies`), so a path of more
  than 15 messages exceeds the default `ingest.max_json_depth` of 32 and the tree is `too_deep`: raise it (64
  reads 31 messages) for OASST.
- A file where no record has a known format and most rows are unknown_format stops the run (`IngestError`
  naming the file and showing its first record): it is a shape to map, not a file of bad lines. So does a
  mapped field that no record of the file has. Benchmarks read with `require_format=False`.

Decisions where the contract is silent (also listed in the tests):
- `source_line` is the physical 1-based line number in the file (blank lines are skipped, not renumbered),
  the element index + 1 for a JSON array, the row index + 1 for Parquet.
- A JSON `null` value is treated exactly like an absent key (Parquet files that mix record shapes hold
  nulls in the other shapes' columns), e.g. `"input": null` is no input.
- Roles are matched case-insensitively after trimming, against one table for chat and ShareGPT:
  system/developer -> system; user/human -> user; assistant/gpt/chatgpt/bing/bard/model -> assistant;
  tool/function/observation -> tool (`function` is OpenAI's legacy name of the tool-result role,
  `developer` its newer name of the system role). Anything else is `bad_role`; nothing is guessed.
- ShareGPT tool calling (LLaMA-Factory: `function_call` turns holding the call as a JSON `{"name", "arguments"}`
  string, `observation` turns holding its result, a `tools` string of definitions): a fine-tuning user wants
  these conversations, and the call is what the model must learn to write, so a `function_call` turn becomes
  an assistant turn with the call's text verbatim and `observation` a tool turn. The row is tagged
  `tool_calls_as_assistant`, and its raw `extras` keep `tool_call_turns` (the positions of those assistant
  turns in the final messages) and `tools`, so the original roles and the definitions stay recoverable. Only
  in ShareGPT lists: in OpenAI chat a call is `tool_calls`, which the schema cannot carry (`missing_field`).
- A boolean `label` (KTO, TRL's unpaired preference rows) that is false marks the answer undesirable: the
  record is rejected `undesirable_label`, never kept with a tag, since every kept row can reach a curated
  split and nothing downstream reads a KTO label; the rejects table keeps the record for KTO training. A true
  label is the default (the row is kept as before); a `label` of another type is not read.
- A reject keeps the record's `format` whenever its shape was recognized (a ShareGPT row with an unknown role
  counts under `sharegpt`, not "none"), so `format_counts` balances per shape.
- Content parts: only `{"type": "text", "text": str}` parts, joined with "\n" (as vLLM does).
- A message whose content is null/absent is `missing_field` (an assistant turn with only `tool_calls`
  cannot be represented by the {role, content} schema, so it is reported, not silently emptied).
- Turn repairs (a repaired example is kept and carries one tag per repair in `tags`, `schema.IngestTag`;
  an unrepaired one has `tags` = []). Real chat dumps (ShareGPT splits long chats into chunks) often open
  mid-answer, hold a blank turn, or stop before the answer; rejecting them whole lost good turns:
  1. Blank (empty or whitespace-only) turns are removed (`removed_blank_turns`). Two same-role turns that
     only a removed blank turn separated are merged, joined by a blank line (`merged_turns`): chat templates
     want alternating roles and the second turn continues the first. Tool turns are never merged, and
     same-role turns that were adjacent in the input stay as they were.
  2. A conversation without a user turn or without an assistant turn (after step 1) is `empty_content`.
  3. Assistant/tool turns before the first system or user turn (a chunk that opens mid-answer, a greeting,
     an orphan tool result) follow `ingest.leading_assistant`: `drop` (default; `dropped_leading_turns`)
     or `keep_as_context`: folded into a system turn that reads `CONTEXT_HEADER` then "\n\n<role>: <content>"
     per turn, appended to the conversation's own leading system turn if it has one
     (`leading_turns_as_context`): the model sees them as context and is never trained to say them. A
     conversation opening with a system turn is not repaired (an assistant greeting after the system prompt
     is a normal shape), and the top-level `system` field is inserted before this step.
  4. Trailing user turns (the chunk stopped before the answer) are trimmed (`trimmed_trailing_user`). Other
     last roles (tool, system) are left as they are.
  5. A conversation cut in step 3 or 4 with no assistant turn after its first user turn left is
     `bad_turn_order`: nothing trainable is left (e.g. an assistant greeting and one unanswered question).
     A conversation that only lost blank turns is accepted on the same terms as one that had none.
  `example_id` hashes the repaired turns. Repairs run after the `edited_response` step below (an edit ends
  the conversation on the assistant, so its context is never trimmed).
- A message containing NUL is `nul_byte` (never repaired). A blank Alpaca `instruction` is `empty_content`.
- The assistant-side field (`output`, `completion`) is required (`missing_field`) unless the record has
  an `edited_response`, which then supplies the assistant turn.
- A top-level `system` string (LLaMA-Factory style, any shape) becomes a leading system turn unless the
  conversation already starts with one; a blank `system` adds nothing.
- `edited_response` is honoured on any source's record. The context must end with a user or tool turn
  (an assistant answering a tool result is the normal agent flow) or an assistant turn, which is
  replaced; the replaced text becomes `original_response` when the record has none. A context ending in a
  system turn is `missing_field` (the user turn is missing).
- `conversation_id` / `user_id` may be strings or integers (an integral float below 2**53, as pandas writes
  nullable int columns, counts as the integer; a larger float, e.g. a JSON integer past 2**64, is
  `wrong_type`: it is no longer exact); blank strings are null. Hashed as sha256(id_salt + ":" + str(value)).
  Rejects keep their `original` line verbatim, raw ids and PII included: the rejects table has the
  sensitivity of the raw data.
- `created_at` (or `timestamp`): ISO-8601 string (naive = UTC), a Parquet timestamp (any unit, pandas'
  nanoseconds truncated to microseconds) or date, or an epoch number in seconds; numbers above 1e11 / 1e14 /
  1e17 are read as milli / micro / nanoseconds (1e11 s is the year 5138). Numeric strings are epochs too.
  Anything else is `wrong_type`.
- `reviewed` must be a JSON boolean; provenance strings must be strings (`wrong_type` otherwise).
- JSON depth counts open containers: `{"messages": [{...}]}` has depth 3.
- A text file starting with a UTF-16/UTF-32 byte-order mark, UTF-16 without one, or another format's
  signature (gzip without `.gz`, Parquet, zip, bzip2, xz, zstd) raises `IngestError` naming the file and
  what it is: reading it as UTF-8 lines would turn every line into a meaningless reject.
- Lines end with LF or CRLF; a file without any LF whose head holds CRs (classic Mac OS) is read with CR
  as the line end (a raw CR cannot occur inside a JSON string).
- A Parquet value Python cannot represent (a timestamp past year 9999) rejects its row as `wrong_type`.
- For JSON arrays and Parquet the "line" checked against `max_line_bytes` / `max_json_depth` and kept as
  `original` is the record re-serialized as compact JSON.
- `source_file` is relative to `root` lexically (no symlink resolution: DVC may link data into its cache).
- A `.json` file whose array cannot be parsed as a whole (a syntax error anywhere, or nesting past orjson's
  limit of 1024) is read as JSON lines, as the contract says; a pretty-printed broken array then yields one
  reject per line, each detail ending with the file-level parse error (e.g. where it was truncated).
- Duplicated keys in a record: the last occurrence wins (as in Python's json and JavaScript).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import gzip
import hashlib
import io
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ftdata_assets.schema import (
    EXAMPLE_SCHEMA,
    FORMATS,
    INGEST_TAGS,
    MESSAGE,
    RAW_SCHEMA,
    SOURCES,
    IngestTag,
    ReasonCode,
)

__all__ = [
    "CONTEXT_HEADER",
    "FIELD_MAP_TARGETS",
    "LEADING_ASSISTANT_POLICIES",
    "IngestError",
    "check_field_maps",
    "field_map_for",
    "format_counts",
    "read_examples",
    "read_raw",
    "repair_counts",
    "split_raw",
]

LAYER = "ingest"
ORIGINAL_KEEP_CHARS = 10_000
"""A too_long line keeps only this many characters in `original`, followed by TRUNCATION_MARKER."""
TRUNCATION_MARKER = "…[truncated by ftdata ingest]"

_BOM = b"\xef\xbb\xbf"
_NUL = b"\x00"
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16 LE/BE (and UTF-32 LE starts with FF FE too)
_MAGIC: tuple[tuple[bytes, str], ...] = (  # file signatures that never start a UTF-8 JSON text
    (b"\x1f\x8b", "gzip data: name the file *.gz (or it is compressed twice)"),
    (b"PAR1", "a Parquet file: name it *.parquet"),
    (b"PK\x03\x04", "a zip archive: unpack it"),
    (b"\xfd7zXZ\x00", "an xz archive: decompress it (only gzip is read)"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive: decompress it (only gzip is read)"),
)
_HEAD_BYTES = 1 << 16
"""How much of a text file is looked at before reading it: encoding, signatures, CR-only line ends."""
_MAX_EXACT_FLOAT = 2**53
"""Integral floats below this are exact integers; above it two ids can round to the same float."""
_JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")

_ROLES: dict[str, str] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
    "observation": "tool",
}

_TOOL_CALL_ROLES = frozenset(["function_call"])
"""ShareGPT roles of an assistant's tool call (LLaMA-Factory's tool format); its result is `observation` (tool)."""
TOOL_CALL = "tool_call"
"""The third element `_turns` gives a tool-call turn ([role, content, TOOL_CALL]) until `_Builder.example` drops it."""

_JSON_TYPES: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}

# Skips JSON strings (also an unterminated one at the end, so the scan stays linear on broken input).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")

_PROVENANCE_KEYS = frozenset(
    [
        "conversation_id",
        "user_id",
        "teacher_model",
        "prompt_template",
        "author",
        "reviewed",
        "license",
        "created_at",
        "timestamp",
    ]
)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)
_MIN_US = (dt.datetime(1, 1, 1, tzinfo=dt.UTC) - _EPOCH) // _ONE_US
_MAX_US = (dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC) - _EPOCH) // _ONE_US


_TOOL_CALL_FORMATS = frozenset(["sharegpt", "sharegpt_preference"])
"""Formats whose turns may be tool calls (`function_call`)."""

_NO_EXAMPLE = (None,) * 10
_NO_PROVENANCE = (None,) * 8

# HH transcripts: "\n\nHuman: ...\n\nAssistant: ..." (the first marker may open the text without the blank line).
_HH_MARKER = re.compile(r"(?:\A|\n\n)(Human|Assistant):[ \t]?")
_HH_ROLES = {"Human": "user", "Assistant": "assistant"}
_CHATML_START = "<|im_start|>"
_CHATML_TURN = re.compile(r"<\|im_start\|>([^\n]*)\n?(.*?)(?:<\|im_end\|>|(?=<\|im_start\|>)|\Z)", re.DOTALL)
_OASST_ROLES = {"prompter": "user", "assistant": "assistant"}

FIELD_MAP_ROLES: tuple[str, ...] = ("system", "user", "assistant")
"""Targets of `ingest.field_maps` that make a field one turn of that role (fields of one role are joined)."""
FIELD_MAP_TARGETS: frozenset[str] = frozenset(
    [
        *FIELD_MAP_ROLES,
        "messages",
        "conversations",
        "instruction",
        "input",
        "output",
        "response",
        "context",
        "category",
        "prompt",
        "completion",
        "chosen",
        "rejected",
        "text",
        "edited_response",
        "original_response",
        *_PROVENANCE_KEYS,
    ]
)
"""What a mapped field can become: a turn of a role, or a field one of the built-in formats reads."""
_GLOB_CHARS = frozenset("*?[/.")
_NO_TAGS: list[str] = []  # shared by every unrepaired example (never mutated)

LEADING_ASSISTANT_POLICIES: tuple[str, ...] = ("drop", "keep_as_context")
"""params.yaml `ingest.leading_assistant`: what becomes of the turns before a chunk's first system/user turn."""
CONTEXT_HEADER = "Earlier in this conversation:"
"""`keep_as_context` folds the leading turns into a system turn: this line, then "\n\n<role>: <content>" each."""


def _drop_blank_turns(turns: list[list[Any]]) -> tuple[list[list[Any]], bool]:
    """The turns without the blank ones (content set to None), and whether same-role neighbours were merged.

    Two user (or assistant, or system) turns that only a removed blank turn separated are merged with a blank
    line between them: chat templates demand alternating roles, and the second turn continues the first
    (a user re-asking after an answer that failed to render). Tool turns are never merged (parallel results)
    and same-role turns that were adjacent in the input stay as they were; neither are tool calls (a marked
    assistant turn), which stay one call each.
    """
    out: list[list[Any]] = []
    merged = gap = False
    for turn in turns:
        if turn[1] is None:
            gap = True
            continue
        if gap and out and out[-1][0] == turn[0] and turn[0] != "tool" and len(turn) == len(out[-1]) == 2:
            out[-1][1] = f"{out[-1][1]}\n\n{turn[1]}"
            merged = True
        else:
            out.append(turn)
        gap = False
    return out, merged


class IngestError(ValueError):
    """A file that cannot be read at all (corrupt gzip, truncated Parquet, wrong text encoding)."""


class _Reject(Exception):
    __slots__ = ("detail", "format", "reason")

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        self.format: str | None = None  # the record's shape, when it was recognized before the reject


# ---------------------------------------------------------------------------------------------- helpers


def _strip_eol(line: bytes) -> bytes:
    if line[-1:] == b"\n":
        return line[:-2] if line[-2:] == b"\r\n" else line[:-1]
    return line


def _original(line: bytes) -> str:
    """The line as kept in `original`: without its terminator; undecodable bytes as \\xNN escapes."""
    return _strip_eol(line).decode("utf-8", "backslashreplace")


def _jtype(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _json_depth(raw: bytes, limit: int) -> int:
    """Maximum container nesting of a JSON text, without parsing it (no recursion, linear time).

    Strings are removed first so brackets inside them do not count; stops early once past `limit`.
    """
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for b in brackets:
        if b == 0x5B or b == 0x7B:  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _hash_id(salt: str, value: Any, field: str) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        if not value.strip():
            return None
    elif type(value) is int:
        value = str(value)
    elif type(value) is float and value.is_integer() and abs(value) < _MAX_EXACT_FLOAT:
        value = str(int(value))  # pandas-written Parquet: nullable ints become floats
    elif type(value) is float and value.is_integer():  # e.g. a JSON integer past 2**64, parsed as a float
        raise _Reject(ReasonCode.WRONG_TYPE, f"{field} {value!r} is too large to be an exact id; write it as a string")
    else:
        raise _Reject(ReasonCode.WRONG_TYPE, f"{field} is {_jtype(value)}, expected a string or integer")
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()


def _opt_str(record: dict, field: str) -> str | None:
    value = record.get(field)
    if value is None or type(value) is str:
        return value
    raise _Reject(ReasonCode.WRONG_TYPE, f"{field} is {_jtype(value)}, expected a string")


def _epoch_us(number: float, field: str) -> int:
    magnitude = abs(number)
    if magnitude >= 1e17:
        us = number / 1000
    elif magnitude >= 1e14:
        us = number
    elif magnitude >= 1e11:
        us = number * 1000
    else:
        us = number * 1_000_000
    us = round(us)
    if not _MIN_US <= us <= _MAX_US:
        raise _Reject(ReasonCode.WRONG_TYPE, f"{field} epoch {number!r} is out of range")
    return us


def _created_at_us(record: dict) -> int | None:
    field = "created_at"
    value = record.get(field)
    if value is None:
        field = "timestamp"
        value = record.get(field)
        if value is None:
            return None
    kind = type(value)
    if kind is str:
        text = value.strip()
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise _Reject(ReasonCode.WRONG_TYPE, f"{field} {value[:100]!r} is not an ISO-8601 timestamp") from None
            if number != number or number in (float("inf"), float("-inf")):
                raise _Reject(ReasonCode.WRONG_TYPE, f"{field} {value[:100]!r} is not a timestamp") from None
            return _epoch_us(number, field)
    elif kind is int or kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _Reject(ReasonCode.WRONG_TYPE, f"{field} {value!r} is not a timestamp")
        return _epoch_us(value, field)
    elif kind is dt.datetime:  # Parquet timestamp column
        parsed = value
    elif isinstance(value, dt.datetime):  # a subclass: pandas.Timestamp, for a nanosecond column
        parsed = dt.datetime(*value.timetuple()[:6], value.microsecond, tzinfo=value.tzinfo)
    elif isinstance(value, dt.date):  # Parquet date column
        parsed = dt.datetime(value.year, value.month, value.day)
    else:
        raise _Reject(ReasonCode.WRONG_TYPE, f"{field} is {_jtype(value)}, expected an ISO-8601 string")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return (parsed - _EPOCH) // _ONE_US


def _text_parts(parts: list, field: str) -> str:
    texts = []
    for j, part in enumerate(parts):
        if type(part) is not dict:
            raise _Reject(ReasonCode.WRONG_TYPE, f"{field}[{j}] is {_jtype(part)}, expected a content part")
        kind = part.get("type")
        if kind != "text":
            raise _Reject(
                ReasonCode.WRONG_TYPE, f"{field}[{j}].type is {kind!r}; only text content parts are supported"
            )
        text = part.get("text")
        if type(text) is not str:
            raise _Reject(ReasonCode.WRONG_TYPE, f"{field}[{j}].text is {_jtype(text)}, expected a string")
        texts.append(text)
    return "\n".join(texts)


def _turns(value: Any, field: str, role_key: str, content_key: str, tool_calls: bool = False) -> list[list[Any]]:
    """Parse a list of {role, content} (chat) or {from, value} (ShareGPT) messages.

    With `tool_calls` (ShareGPT lists), a `function_call` turn (LLaMA-Factory's tool call: a JSON
    `{"name", "arguments"}` string) is an assistant turn marked `[role, content, TOOL_CALL]`, so that
    `_Builder.example` can record where the calls are once the turns are repaired.
    """
    if type(value) is not list:
        raise _Reject(ReasonCode.WRONG_TYPE, f"{field} is {_jtype(value)}, expected an array")
    turns = []
    for i, message in enumerate(value):
        if type(message) is not dict:
            raise _Reject(ReasonCode.WRONG_TYPE, f"{field}[{i}] is {_jtype(message)}, expected an object")
        rkey, ckey = role_key, content_key
        raw_role = message.get(rkey)
        if raw_role is None and rkey == "from" and message.get("role") is not None:
            rkey, ckey = "role", "content"  # ShareGPT lists written with chat keys
            raw_role = message["role"]
        if raw_role is None:
            raise _Reject(ReasonCode.MISSING_FIELD, f"{field}[{i}].{rkey} is missing")
        if type(raw_role) is not str:
            raise _Reject(ReasonCode.WRONG_TYPE, f"{field}[{i}].{rkey} is {_jtype(raw_role)}, expected a string")
        role = _ROLES.get(raw_role) or _ROLES.get(raw_role.strip().lower())
        call = False
        if role is None and tool_calls and raw_role.strip().lower() in _TOOL_CALL_ROLES:
            role, call = "assistant", True
        if role is None:
            raise _Reject(ReasonCode.BAD_ROLE, f"{field}[{i}].{rkey} {raw_role[:100]!r} is not a known role")
        content = message.get(ckey)
        if type(content) is not str:
            if type(content) is list and ckey == "content":
                content = _text_parts(content, f"{field}[{i}].content")
            elif content is None:
                extra = " (it has tool_calls, which the schema cannot carry)" if message.get("tool_calls") else ""
                raise _Reject(ReasonCode.MISSING_FIELD, f"{field}[{i}].{ckey} is missing{extra}")
            else:
                raise _Reject(ReasonCode.WRONG_TYPE, f"{field}[{i}].{ckey} is {_jtype(content)}, expected a string")
        turns.append([role, content, TOOL_CALL] if call else [role, content])
    return turns


def _side(record: dict, field: str, role: str) -> list[list[str]]:
    """A prompt/completion side: a string (one turn of `role`) or a list of chat messages."""
    value = record[field]
    if type(value) is str:
        return [[role, value]]
    if type(value) is list:
        return _turns(value, field, "role", "content")
    raise _Reject(ReasonCode.WRONG_TYPE, f"{field} is {_jtype(value)}, expected a string or an array")


def _extras(values: dict[str, Any]) -> str | None:
    kept = {k: v for k, v in values.items() if v is not None}
    return orjson.dumps(kept).decode() if kept else None


def _hh_turns(text: Any, field: str) -> list[list[str]]:
    """An Anthropic HH transcript ("\n\nHuman: ...\n\nAssistant: ...") as turns, each trimmed."""
    if type(text) is not str:
        raise _Reject(ReasonCode.WRONG_TYPE, f"{field} is {_jtype(text)}, expected a Human:/Assistant: transcript")
    text = text.lstrip("\r\n")
    parts = _HH_MARKER.split(text)
    if len(parts) < 3:
        raise _Reject(ReasonCode.WRONG_TYPE, f"{field} holds no Human:/Assistant: turn")
    if parts[0].strip():
        raise _Reject(ReasonCode.WRONG_TYPE, f"{field} has text before its first Human:/Assistant: turn")
    return [[_HH_ROLES[parts[i]], parts[i + 1].strip()] for i in range(1, len(parts), 2)]


def _chatml_turns(text: str) -> list[list[str]]:
    """ChatML turns (<|im_start|>role\ncontent<|im_end|>); text outside the turns is refused, not dropped."""
    turns = []
    position = 0
    for match in _CHATML_TURN.finditer(text):
        if text[position : match.start()].strip():
            raise _Reject(ReasonCode.WRONG_TYPE, "text has content outside <|im_start|> ... <|im_end|> turns")
        position = match.end()
        raw_role = match.group(1).strip()
        role = _ROLES.get(raw_role.lower()) or _ROLES.get(raw_role.split(" ")[0].lower())
        if role is None:
            raise _Reject(ReasonCode.BAD_ROLE, f"text turn {len(turns)} role {raw_role[:100]!r} is not a known role")
        turns.append([role, match.group(2).strip("\n")])
    if text[position:].strip():
        raise _Reject(ReasonCode.WRONG_TYPE, "text has content outside <|im_start|> ... <|im_end|> turns")
    return turns


def _oasst_usable(node: Any, where: str) -> bool:
    if type(node) is not dict:
        raise _Reject(ReasonCode.WRONG_TYPE, f"{where} is {_jtype(node)}, expected a message object")
    return node.get("deleted") is not True and node.get("review_result") is not False


def _oasst_ranked(node: dict) -> bool:
    return type(node.get("rank")) in (int, float)  # a JSON number (not a boolean, not null)


def _oasst_paths(
    node: dict, where: str = "prompt", turns: tuple = (), ids: tuple = ()
) -> list[tuple[list[list[str]], list[Any]]]:
    """(turns, message ids) per root-to-leaf path of an OASST (sub)tree, each ending on an assistant message.

    At a prompter message only its best-ranked usable assistant reply is followed (lower `rank` is better,
    ties to the first; unranked replies lose to any ranked one): the other answers lost the ranking. When
    none of its usable answers has a `rank` (a tree exported before ranking, or a README example), every one
    is followed, each giving its own paths: nothing says which is better, and taking the first in the list
    (or the earliest) would silently drop reviewed answers by an accident of order. The paths share the
    tree's conversation id (one split group), and near-identical prompts with different answers are for the
    dedup layer's duplicate-prompt and contradiction checks to decide, as for any other source. At an assistant
    message every usable prompter reply that gets an answer starts its own path; with none, the path ends
    there (an unanswered follow-up adds nothing). Deleted messages and ones that failed review
    (`review_result` false) are skipped with their subtrees. Recursion depth is bounded by the JSON nesting
    (two levels per message, and orjson stops at 1024).
    """
    role = _OASST_ROLES.get(node.get("role"))  # type: ignore[arg-type]
    if role is None:
        raise _Reject(ReasonCode.BAD_ROLE, f"{where}.role {str(node.get('role'))[:100]!r} is not prompter/assistant")
    text = node.get("text")
    if type(text) is not str:
        kind = ReasonCode.MISSING_FIELD if text is None else ReasonCode.WRONG_TYPE
        raise _Reject(kind, f"{where}.text is {_jtype(text)}, expected a string")
    turns = (*turns, [role, text])
    ids = (*ids, node.get("message_id"))
    replies = node.get("replies") or []
    if type(replies) is not list:
        raise _Reject(ReasonCode.WRONG_TYPE, f"{where}.replies is {_jtype(replies)}, expected an array")
    usable = [
        (reply, f"{where}.replies[{i}]")
        for i, reply in enumerate(replies)
        if _oasst_usable(reply, f"{where}.replies[{i}]")
    ]
    if role == "user":
        answers = [pair for pair in usable if pair[0].get("role") == "assistant"]
        ranked = [pair for pair in answers if _oasst_ranked(pair[0])]
        if ranked:
            answers = [min(ranked, key=lambda pair: pair[0]["rank"])]  # min keeps the first of equal ranks
        return [path for answer, at in answers for path in _oasst_paths(answer, at, turns, ids)]
    paths = [
        path for reply, at in usable if reply.get("role") != "assistant" for path in _oasst_paths(reply, at, turns, ids)
    ]
    return paths or [([list(turn) for turn in turns], list(ids))]


def _tools(record: dict) -> Any:
    """LLaMA-Factory's `tools` (the tool definitions a tool-calling conversation was written against, a JSON
    string), kept in extras with the conversation; an empty list ("[]", as the set writes it) is no tools."""
    tools = record.get("tools")
    if type(tools) is str:
        return tools if tools.strip() not in ("", "[]") else None
    return tools if type(tools) in (list, dict) and tools else None


def _rejected_value(record: dict) -> Any:
    """The `rejected` answer of a preference row as written (a string, a message or a message list)."""
    rejected = record.get("rejected")
    return rejected if type(rejected) in (str, list, dict) else None


def _sharegpt_preference_turns(record: dict, turns: list[list[Any]]) -> list[list[Any]]:
    """LLaMA-Factory preference rows: `conversations` is the prompt, `chosen` its answer ({from, value}, or a
    list of them), appended as the assistant turn; `rejected` goes to extras (`_rejected_value`).

    The prompt must end where an answer goes (a user or tool turn) and the chosen turns must be answers
    (assistant, a tool call, a tool result): anything else is `bad_turn_order`, not a guess.
    """
    chosen = record["chosen"]
    if type(chosen) is dict:
        chosen = [chosen]
    elif type(chosen) is not list:
        raise _Reject(ReasonCode.WRONG_TYPE, f"chosen is {_jtype(chosen)}, expected a {{from, value}} object or array")
    answer = _turns(chosen, "chosen", "from", "value", tool_calls=True)
    last = turns[-1][0] if turns else None
    if last not in ("user", "tool"):
        raise _Reject(
            ReasonCode.BAD_TURN_ORDER,
            f"conversations ends with {last or 'nothing'}; a preference prompt ends with the turn chosen answers",
        )
    if not answer or answer[0][0] != "assistant" or any(turn[0] in ("system", "user") for turn in answer):
        roles = ", ".join(turn[0] for turn in answer) or "nothing"
        raise _Reject(ReasonCode.BAD_TURN_ORDER, f"chosen holds {roles}; expected the assistant's answer")
    return [*turns, *answer]


def _rejected_extras(record: dict) -> str | None:
    """The `rejected` answer of preference data (a string or a message list), kept in extras, never trained on."""
    rejected = record.get("rejected")
    return _extras({"rejected": rejected if type(rejected) in (str, list) else None})


def _preference_turns(record: dict) -> list[list[str]]:
    """TRL-style preference rows: `prompt` and `chosen` (no `completion`), strings or message lists.

    An HH prompt ("\n\nHuman: ...\n\nAssistant:") with a string `chosen` is one transcript; a `chosen` list
    that already starts with the prompt's user turn (UltraFeedback) is the whole conversation.
    """
    prompt, chosen = record["prompt"], record["chosen"]
    if type(chosen) is str:
        if type(prompt) is str and _HH_MARKER.search(prompt):
            return _hh_turns(prompt + chosen, "prompt + chosen")
        return [*_side(record, "prompt", "user"), ["assistant", chosen]]
    if type(chosen) is not list:
        raise _Reject(ReasonCode.WRONG_TYPE, f"chosen is {_jtype(chosen)}, expected a string or an array")
    answer = _turns(chosen, "chosen", "role", "content")
    if answer and answer[0][0] in ("system", "user"):
        return answer
    return [*_side(record, "prompt", "user"), *answer]


def _record_turns(
    record: dict, has_edit: bool, mapped: list[list[str]] | None = None
) -> tuple[str, list[list[list[str]]], list[str | None], Any]:
    """(format, conversations, extras per conversation, conversation key) of a record; raises _Reject.

    Every format gives one conversation except an OASST tree (one per path). The conversation key (an OASST
    `message_tree_id`) stands in for a missing `conversation_id`, so a tree's paths share a split.
    """
    if mapped is not None:
        return "mapped", [mapped], [None], None
    if record.get("messages") is not None:
        try:
            turns = _turns(record["messages"], "messages", "role", "content")
        except _Reject as rejected:
            rejected.format = "chat"
            raise
        return "chat", [turns], [None], None
    if record.get("conversations") is not None:
        fmt = "sharegpt_preference" if record.get("chosen") is not None else "sharegpt"
        try:
            turns = _turns(record["conversations"], "conversations", "from", "value", tool_calls=True)
            if fmt == "sharegpt_preference":
                turns = _sharegpt_preference_turns(record, turns)
                extras = _extras({"rejected": _rejected_value(record), "tools": _tools(record)})
            else:
                extras = _extras({"tools": _tools(record)})
        except _Reject as rejected:
            rejected.format = fmt
            raise
        return fmt, [turns], [extras], None
    if record.get("instruction") is not None:
        dolly = record.get("context") is not None or record.get("category") is not None
        fmt = "dolly" if dolly else "alpaca"
        try:
            instruction = record["instruction"]
            if type(instruction) is not str:
                raise _Reject(ReasonCode.WRONG_TYPE, f"instruction is {_jtype(instruction)}, expected a string")
            if not instruction or instruction.isspace():
                raise _Reject(ReasonCode.EMPTY_CONTENT, "instruction is blank")
            extra = _opt_str(record, "input")
            if extra is None:
                extra = _opt_str(record, "context")
            user = f"{instruction}\n\n{extra}" if extra and not extra.isspace() else instruction
            turns = [["user", user]]
            output = _opt_str(record, "output")
            if output is None:
                output = _opt_str(record, "response")
            if output is not None:
                turns.append(["assistant", output])
            elif not has_edit:
                raise _Reject(ReasonCode.MISSING_FIELD, f"output (or response) is missing ({fmt} record)")
            extras = _extras({"category": _opt_str(record, "category")}) if dolly else None
        except _Reject as rejected:
            rejected.format = fmt
            raise
        return fmt, [turns], [extras], None
    prompt = record.get("prompt")
    if type(prompt) is dict and ("replies" in prompt or "message_id" in prompt or "message_tree_id" in record):
        try:
            if not _oasst_usable(prompt, "prompt"):
                raise _Reject(ReasonCode.EMPTY_CONTENT, "the tree's prompt is deleted or failed review")
            paths = _oasst_paths(prompt)
            if not paths:
                raise _Reject(
                    ReasonCode.EMPTY_CONTENT, "no usable assistant reply (deleted, failed review, or none) in the tree"
                )
        except _Reject as rejected:
            rejected.format = "oasst"
            raise
        tree = record.get("message_tree_id", prompt.get("message_tree_id"))
        lang = prompt.get("lang") if type(prompt.get("lang")) is str else None
        extras = [_extras({"lang": lang, "message_tree_id": tree, "message_ids": ids}) for _, ids in paths]
        return "oasst", [turns for turns, _ in paths], extras, tree
    if prompt is not None and record.get("completion") is None and record.get("chosen") is not None:
        try:
            turns = _preference_turns(record)
        except _Reject as rejected:
            rejected.format = "preference"
            raise
        return "preference", [turns], [_rejected_extras(record)], None
    if prompt is not None:
        try:
            turns = _side(record, "prompt", "user")
            if record.get("completion") is not None:
                turns.extend(_side(record, "completion", "assistant"))
            elif not has_edit:
                raise _Reject(ReasonCode.MISSING_FIELD, "completion is missing (prompt/completion record)")
        except _Reject as rejected:
            rejected.format = "prompt_completion"
            raise
        return "prompt_completion", [turns], [None], None
    if record.get("chosen") is not None:
        try:
            turns = _hh_turns(record["chosen"], "chosen")
            extras = _rejected_extras(record)
        except _Reject as rejected:
            rejected.format = "hh"
            raise
        return "hh", [turns], [extras], None
    text = record.get("text")
    if type(text) is str and _CHATML_START in text:
        try:
            turns = _chatml_turns(text)
        except _Reject as rejected:
            rejected.format = "chatml"
            raise
        return "chatml", [turns], [None], None
    keys = ", ".join(sorted(str(k)[:40] for k in record)[:20]) or "none"
    raise _Reject(
        ReasonCode.UNKNOWN_FORMAT,
        f"no messages, conversations, instruction, prompt, chosen or ChatML text field (keys: {keys})",
    )


def _shape(record: dict, mapped: list[list[str]] | None) -> str | None:
    """The format of a record rejected before its turns were read (only on that reject path), or None."""
    try:
        return _record_turns(record, True, mapped)[0]
    except _Reject as rejected:
        return rejected.format


# ------------------------------------------------------------------------------------------ the builder


class _Builder:
    """Accumulates rows as tuples and flat message columns; one frame is built at the end."""

    def __init__(
        self,
        source: str,
        salt: str,
        max_line_bytes: int,
        max_json_depth: int,
        leading_assistant: str = "drop",
        field_map: Mapping[str, str] | None = None,
    ) -> None:
        self.source = source
        self.field_map = dict(field_map or {})
        self.map_roles = {t for t in self.field_map.values() if t in FIELD_MAP_ROLES}
        self.mapped_seen: set[str] = set()  # mapped fields some record of the file has
        self.first_record: str | None = None  # shown when no record of the file matches a format
        self.fmt: str | None = None  # the format of the record being added, for its reject
        self.tool_calls = False  # the record being added is of a format whose turns may be tool calls
        self.keep_leading = leading_assistant == "keep_as_context"
        self.leading_tag = IngestTag.LEADING_TURNS_AS_CONTEXT if self.keep_leading else IngestTag.DROPPED_LEADING_TURNS
        self.salt = salt
        self.max_line_bytes = max_line_bytes
        self.max_json_depth = max_json_depth
        self.is_feedback = source == "feedback"
        # (source_line, example_id, conversation_id, user_id, teacher_model, prompt_template, author,
        #  reviewed, license, created_at_us, original_response, reason, detail, original, tags, format, extras)
        self.rows: list[tuple] = []
        self.offsets: list[int] = [0]
        # Roles and contents of all examples, flat, split by offsets: plain strings, which the garbage
        # collector does not track (keeping the per-turn lists alive made every gc pass slower).
        self.roles: list[str] = []
        self.contents: list[str] = []
        self.note: str | None = None  # appended to every reject's detail: why the whole file is read this way

    # -- rejects

    def reject(self, line_no: int, reason: str, detail: str, original: str) -> None:
        if self.note:
            detail = f"{detail}; {self.note}"
        self.rows.append((line_no, *_NO_EXAMPLE, reason, detail, original, None, self.fmt, None))
        self.offsets.append(self.offsets[-1])
        self.fmt = None

    def reject_too_long(self, line_no: int, head: bytes, total: int) -> None:
        """`head` is the line or its first bytes, `total` the line's length without terminator."""
        head = _strip_eol(head)[: ORIGINAL_KEEP_CHARS * 4]  # >= 10,000 characters once decoded
        text = head.decode("utf-8", "backslashreplace")
        detail = f"line is {total:,} bytes, over max_line_bytes={self.max_line_bytes:,}"
        if len(head) < total or len(text) > ORIGINAL_KEEP_CHARS:
            text = f"{text[:ORIGINAL_KEEP_CHARS]}{TRUNCATION_MARKER}"
            detail += f"; original keeps only its first {ORIGINAL_KEEP_CHARS:,} characters"
        self.reject(line_no, ReasonCode.TOO_LONG, detail, text)

    # -- one JSON text (a line, or a re-serialized array element / Parquet row)

    def add_raw(self, line_no: int, raw: bytes, original: bytes, record: Any = None) -> None:
        """Check and parse `raw` (the stripped line), or use `record` if already parsed.

        `original` is the line as read (terminator included) and is only decoded for a reject.
        """
        if len(raw) > self.max_line_bytes:
            self.reject_too_long(line_no, original, len(_strip_eol(original)))
            return
        if _NUL in raw:
            self.reject(
                line_no,
                ReasonCode.NUL_BYTE,
                f"NUL byte at byte {raw.index(_NUL)} of the stripped line",
                _original(original),
            )
            return
        limit = self.max_json_depth
        if raw.count(b"[") + raw.count(b"{") > limit:  # cheap filter: only then scan the brackets
            depth = _json_depth(raw, limit)
            if depth > limit:
                self.reject(
                    line_no,
                    ReasonCode.TOO_DEEP,
                    f"JSON nests deeper than max_json_depth={limit}",
                    _original(original),
                )
                return
        if record is None:
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as error:
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as bad:
                    reason, detail = (
                        ReasonCode.INVALID_UTF8,
                        f"invalid UTF-8 at byte {bad.start}: {bad.reason}",
                    )
                else:
                    reason, detail = ReasonCode.INVALID_JSON, str(error)
                    if "depth limit" in detail:
                        reason = ReasonCode.TOO_DEEP
                self.reject(line_no, reason, detail, _original(original))
                return
        if type(record) is not dict:
            self.reject(
                line_no,
                ReasonCode.INVALID_JSON,
                f"the JSON value is {_jtype(record)}, expected an object",
                _original(original),
            )
            return
        if self.first_record is None:
            self.first_record = _original(original)
        try:
            self.add_record(line_no, record)
        except _Reject as rejected:
            self.reject(line_no, rejected.reason, rejected.detail, _original(original))
        self.fmt = None

    def add_record(self, line_no: int, record: dict) -> None:
        mapped = None
        if self.field_map:
            if self.map_roles:
                self.fmt = "mapped"  # also the format of a reject for a missing mapped field
            record, mapped = self.map_record(record)
        edited = record.get("edited_response")
        try:
            original_response = _opt_str(record, "original_response")
            if edited is None:
                if self.is_feedback and original_response is not None:
                    raise _Reject(
                        ReasonCode.MISSING_FIELD,
                        "edited_response is missing on a feedback record with original_response",
                    )
            elif type(edited) is not str:
                raise _Reject(ReasonCode.WRONG_TYPE, f"edited_response is {_jtype(edited)}, expected a string")
        except _Reject:  # checked first (the more specific reason); counted under the record's shape all the same
            self.fmt = self.fmt or _shape(record, mapped)
            raise
        try:
            fmt, conversations, extras, tree = _record_turns(record, edited is not None, mapped)
        except _Reject as rejected:
            self.fmt = rejected.format
            raise
        self.fmt = fmt
        self.tool_calls = fmt in _TOOL_CALL_FORMATS
        if record.get("label") is False:  # KTO: an answer marked undesirable is never a training example
            raise _Reject(
                ReasonCode.UNDESIRABLE_LABEL,
                "label is false: the answer is marked undesirable (KTO), so it is not trained on",
            )
        system = record.get("system")
        if system is not None and type(system) is not str:
            raise _Reject(ReasonCode.WRONG_TYPE, f"system is {_jtype(system)}, expected a string")
        # Every conversation of the record is checked before any is committed: a record is whole or a reject.
        if len(conversations) == 1:  # all formats but an OASST tree: no list to build
            built = (self.example(conversations[0], system, edited, original_response),)
        else:
            built = tuple(self.example(turns, system, edited, original_response) for turns in conversations)
        if tree is None and _PROVENANCE_KEYS.isdisjoint(record):  # the common case: no provenance at all
            provenance = _NO_PROVENANCE
        else:
            provenance = self.provenance(record, tree)
        rows, offsets = self.rows, self.offsets
        for (example_id, roles, contents, tags, response, calls), extra in zip(built, extras, strict=True):
            if calls:  # which assistant turns were tool calls: the role the schema cannot carry, kept recoverable
                extra = _extras({**(orjson.loads(extra) if extra else {}), "tool_call_turns": calls})
            rows.append((line_no, example_id, *provenance, response, None, None, None, tags, fmt, extra))
            self.roles += roles
            self.contents += contents
            offsets.append(len(self.roles))

    def provenance(self, record: dict, tree: Any) -> tuple:
        """(conversation_id, user_id, teacher_model, prompt_template, author, reviewed, license, created_at)."""
        if tree is not None and record.get("conversation_id") is None:
            record = {**record, "conversation_id": tree if type(tree) in (str, int) else None}
        if _PROVENANCE_KEYS.isdisjoint(record):  # the common case: no provenance at all
            return _NO_PROVENANCE
        reviewed = record.get("reviewed")
        if reviewed is not None and type(reviewed) is not bool:
            raise _Reject(ReasonCode.WRONG_TYPE, f"reviewed is {_jtype(reviewed)}, expected a boolean")
        salt = self.salt
        return (
            _hash_id(salt, record.get("conversation_id"), "conversation_id"),
            _hash_id(salt, record.get("user_id"), "user_id"),
            _opt_str(record, "teacher_model"),
            _opt_str(record, "prompt_template"),
            _opt_str(record, "author"),
            reviewed,
            _opt_str(record, "license"),
            _created_at_us(record),
        )

    def map_record(self, record: dict) -> tuple[dict, list[list[str]] | None]:
        """Apply `ingest.field_maps`: rename fields, or make them turns (fields of one role joined by a blank line)."""
        out = dict(record)
        by_role: dict[str, list[str]] = {}
        for field, target in self.field_map.items():
            if field not in record:
                continue
            self.mapped_seen.add(field)
            value = out.pop(field)
            if target not in FIELD_MAP_ROLES:
                out[target] = value
                continue
            if value is None:
                continue
            if type(value) is not str:
                raise _Reject(
                    ReasonCode.WRONG_TYPE,
                    f"{field} is {_jtype(value)}, expected a string (ingest.field_maps makes it the {target} turn)",
                )
            by_role.setdefault(target, []).append(value)
        if not self.map_roles:
            return out, None
        for role in ("user", "assistant"):
            if (
                role in self.map_roles
                and role not in by_role
                and not (role == "assistant" and out.get("edited_response"))
            ):
                fields = " or ".join(f for f, t in self.field_map.items() if t == role)
                raise _Reject(
                    ReasonCode.MISSING_FIELD, f"{fields} is missing (ingest.field_maps makes it the {role} turn)"
                )
        turns = [[role, "\n\n".join(by_role[role])] for role in FIELD_MAP_ROLES if role in by_role]
        return out, turns

    def example(
        self, turns: list[list[str]], system: str | None, edited: str | None, original_response: str | None
    ) -> tuple[str, list[str], list[str], list[str], str | None, list[int] | None]:
        """(example_id, roles, contents, tags, original_response, tool-call positions or None) of one
        conversation, repaired; raises _Reject."""
        if system and not system.isspace() and (not turns or turns[0][0] != "system"):
            turns.insert(0, ["system", system])

        if edited is not None:
            last = turns[-1][0] if turns else None
            if last == "assistant":
                replaced = turns.pop()[1]
                if original_response is None:
                    original_response = replaced
            elif last not in ("user", "tool"):
                raise _Reject(
                    ReasonCode.MISSING_FIELD,
                    f"edited_response needs a context ending with a user turn; it ends with {last or 'nothing'}",
                )
            turns.append(["assistant", edited])
        blanks = 0
        for i, turn in enumerate(turns):
            content = turn[1]
            if content[:1] == "\ufeff" or "\r" in content:
                if content[:1] == "\ufeff":
                    content = content[1:]
                turn[1] = content = content.replace("\r\n", "\n").replace("\r", "\n")
            if not content or content.isspace() or "\x00" in content:
                if "\x00" in content:
                    raise _Reject(ReasonCode.NUL_BYTE, f"message {i} ({turn[0]}) contains a NUL character")
                turn[1] = None  # blank: removed below
                blanks += 1
        tags = _NO_TAGS
        if blanks:
            turns, merged = _drop_blank_turns(turns)
            tags = (
                [IngestTag.REMOVED_BLANK_TURNS, IngestTag.MERGED_TURNS] if merged else [IngestTag.REMOVED_BLANK_TURNS]
            )
        roles = [turn[0] for turn in turns]
        if "user" not in roles or "assistant" not in roles:
            missing = "user" if "user" not in roles else "assistant"
            removed = f" ({blanks} blank turn{'s' if blanks > 1 else ''} removed)" if blanks else ""
            raise _Reject(ReasonCode.EMPTY_CONTENT, f"no {missing} turn{removed}")
        reshaped = False  # turns cut at either end: check that an answered user turn is left
        if roles[0] != "user" and roles[0] != "system":  # a chunk of a longer chat: opens mid-answer
            turns = self.repair_leading(turns, roles)
            tags = [*tags, self.leading_tag]
            roles = [turn[0] for turn in turns]
            reshaped = True
        if roles[-1] == "user":  # the chat was cut before the answer (an edited_response never ends here)
            while roles and roles[-1] == "user":
                roles.pop()
                turns.pop()
            tags = [*tags, IngestTag.TRIMMED_TRAILING_USER]
            reshaped = True
        if reshaped:
            first_user = roles.index("user") if "user" in roles else len(roles)
            if "assistant" not in roles[first_user + 1 :]:
                raise _Reject(
                    ReasonCode.BAD_TURN_ORDER,
                    f"no assistant turn answers a user turn once repaired ({', '.join(sorted(tags))})",
                )
        calls = None
        if self.tool_calls:  # a ShareGPT record: where its tool calls ended up, then plain [role, content] turns
            calls = [i for i, turn in enumerate(turns) if len(turn) > 2] or None
            if calls:
                turns = [turn[:2] for turn in turns]
                tags = [*tags, IngestTag.TOOL_CALLS_AS_ASSISTANT]
        if tags:
            tags = sorted(tags)

        # Canonical JSON: byte-identical to json.dumps(turns, ensure_ascii=False, separators=(",", ":")).
        example_id = hashlib.sha256(orjson.dumps(turns)).hexdigest()
        return example_id, roles, [turn[1] for turn in turns], tags, original_response, calls

    def repair_leading(self, turns: list[list[str]], roles: list[str]) -> list[list[str]]:
        """Drop the assistant/tool turns before the first system or user turn, or fold them into a system turn
        (`keep_as_context`): the model then sees them as context but is never trained to say them."""
        k = next(i for i, role in enumerate(roles) if role == "user" or role == "system")
        lead, rest = turns[:k], turns[k:]
        if not self.keep_leading:
            return rest
        context = CONTEXT_HEADER + "".join(f"\n\n{turn[0]}: {turn[1]}" for turn in lead)
        if rest[0][0] == "system":  # the operator's prompt stays first
            rest[0][1] = f"{rest[0][1]}\n\n{context}"
        else:
            rest.insert(0, ["system", context])
        return rest

    # -- the frame

    def frame(self, source_file: str, partition: str | None) -> pl.DataFrame:
        n = len(self.rows)
        rows = self.rows
        columns = [[row[j] for row in rows] for j in range(17)]
        (
            lines,
            ids,
            conv,
            user,
            teacher,
            template,
            author,
            reviewed,
            lic,
            created,
            orig_resp,
            reason,
            detail,
            orig,
            tags,
            fmt,
            extras,
        ) = columns
        flat = pl.DataFrame(
            {
                "role": pl.Series(self.roles, dtype=pl.String),
                "content": pl.Series(self.contents, dtype=pl.String),
            }
        )
        messages = pa.LargeListArray.from_arrays(
            pa.array(self.offsets, pa.int64()),
            flat.select(list(MESSAGE.to_schema())).to_struct("message").to_arrow(compat_level=pl.CompatLevel.newest()),
            mask=pa.array([r is not None for r in reason], pa.bool_()),
        )

        def text(values: list) -> pl.Series:
            return pl.Series(values, dtype=pl.String)

        frame = pl.DataFrame(
            {
                "example_id": text(ids),
                "source": pl.Series([self.source] * n, dtype=pl.String),
                "source_file": pl.Series([source_file] * n, dtype=pl.String),
                "source_line": pl.Series(lines, dtype=pl.Int64),
                "partition": pl.Series([partition] * n, dtype=pl.String),
                "messages": pl.Series(messages),
                "conversation_id": text(conv),
                "user_id": text(user),
                "teacher_model": text(teacher),
                "prompt_template": text(template),
                "author": text(author),
                "reviewed": pl.Series(reviewed, dtype=pl.Boolean),
                "license": text(lic),
                "created_at": pl.Series(created, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
                "original_response": text(orig_resp),
                "tags": pl.Series(tags, dtype=pl.List(pl.String)),
                "reason": text(reason),
                "detail": text(detail),
                "original": text(orig),
                "format": text(fmt),
                "extras": text(extras),
            }
        )
        return frame.cast(dict(RAW_SCHEMA)).select(list(RAW_SCHEMA))


# ---------------------------------------------------------------------------------------------- readers


def _lines(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes, int]]:
    """Yield (line number, line with its terminator, -1 or the length of a too-long line).

    At most `limit` bytes of a line are held in memory: the rest of a longer line is read in chunks and
    only counted, so a 20 MB (or 20 GB) line costs `limit` bytes, not its size.
    """
    readline = stream.readline
    line_no = 0
    while True:
        line = readline(limit)
        if not line:
            return
        line_no += 1
        if len(line) < limit or line[-1:] == b"\n":
            yield line_no, line, -1
            continue
        total, tail = len(line), line[-2:]
        while tail[-1:] != b"\n":
            more = readline(1 << 20)
            if not more:
                break
            total += len(more)
            tail = (tail + more)[-2:]
        if tail[-1:] == b"\n":
            total -= 2 if tail == b"\r\n" else 1
        yield line_no, line, total


def _read_json_lines(stream: BinaryIO, builder: _Builder) -> None:
    # Untrusted, heterogeneous lines must be parsed one at a time to isolate each bad line with its line
    # number and reason (a vectorized reader fails or nulls the whole batch), so this loop is the one
    # deliberate per-row Python loop; it only appends to lists, the frame is built once at the end.
    # Hold at least max_line_bytes + CRLF, and enough for a too_long reject to keep 10,000 characters.
    limit = max(builder.max_line_bytes, ORIGINAL_KEEP_CHARS * 4) + 2
    add_raw = builder.add_raw
    for line_no, line, too_long in _lines(stream, limit):
        if too_long >= 0:  # checked first: its unread tail may hold anything
            builder.reject_too_long(line_no, line, too_long)
            continue
        raw = line.strip()
        if raw[:3] == _BOM:
            raw = raw[3:].lstrip()
        if not raw:
            continue
        add_raw(line_no, raw, line)


def _dumps_default(value: Any) -> str:
    return str(value)


def _read_records(records: list, builder: _Builder, unreadable: dict[int, str] | None = None) -> None:
    for index, record in enumerate(records):
        try:
            raw = orjson.dumps(record, default=_dumps_default, option=orjson.OPT_NON_STR_KEYS)
        except (TypeError, orjson.JSONEncodeError) as error:  # e.g. a float NaN map key
            builder.reject(index + 1, ReasonCode.WRONG_TYPE, f"record cannot be serialized: {error}", repr(record))
            continue
        if unreadable and index in unreadable:
            builder.reject(index + 1, ReasonCode.WRONG_TYPE, unreadable[index], raw.decode())
            continue
        builder.add_raw(index + 1, raw, raw, record)


def _check_head(head: bytes, path: Path) -> None:
    """Refuse, naming the file, text that is not UTF-8 JSON at all: read line by line it would only give
    meaningless nul_byte / invalid_utf8 rejects, one per line, and hide what is wrong with the file."""
    if head[:2] in _WIDE_BOMS:
        raise IngestError(f"cannot read {path}: it starts with a UTF-16/UTF-32 byte-order mark; re-encode it as UTF-8")
    even, odd = head[0:8:2], head[1:8:2]
    if len(head) >= 8 and ((odd == b"\0\0\0\0" and _NUL not in even) or (even == b"\0\0\0\0" and _NUL not in odd)):
        raise IngestError(
            f"cannot read {path}: it looks like UTF-16 text without a byte-order mark; re-encode it as UTF-8"
        )
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise IngestError(f"cannot read {path}: its content is {what}")
    if head[:3] == b"BZh" and head[3:4].isdigit():
        raise IngestError(f"cannot read {path}: its content is a bzip2 archive: decompress it (only gzip is read)")


def _is_cr_only(head: bytes) -> bool:
    """Classic Mac OS line ends: CRs and no LF. A raw CR cannot occur inside a JSON string, so each is a line end."""
    return b"\n" not in head and b"\r" in head.rstrip(b"\r")


class _CrToLf(io.RawIOBase):
    """A CR-only stream with every CR read as LF (a CR-only file holds no LF to confuse them with)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer)).replace(b"\r", b"\n")
        buffer[: len(data)] = data
        return len(data)


def _read_json_file(data: bytes, path: Path, builder: _Builder) -> None:
    """A `.json` file: an array of records, one record, or else JSON lines."""
    _check_head(data[:_HEAD_BYTES], path)
    body = data[3:] if data[:3] == _BOM else data
    first = body.lstrip()[:1]
    if first in (b"[", b"{"):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            text = body.lstrip()
            ends = [i for i in (text.find(b"\n"), text.find(b"\r")) if i >= 0]
            try:  # a first line that parses alone means JSON lines, a normal content of a .json file
                orjson.loads(text[: min(ends, default=len(text))])
            except orjson.JSONDecodeError:
                builder.note = f"the file is not valid JSON ({error}), so it was read as JSON lines"
        else:
            if type(parsed) is list:
                _read_records(parsed, builder)
                return
            if type(parsed) is dict:  # one (pretty-printed) record
                _read_records([parsed], builder)
                return
    if _is_cr_only(data[:_HEAD_BYTES]):
        data = data.replace(b"\r", b"\n")
    _read_json_lines(io.BytesIO(data), builder)


def _read_text_file(path: Path, kind: str, builder: _Builder) -> None:
    compressed = path.name.lower().endswith(".gz")
    try:
        with gzip.open(path, "rb") if compressed else open(path, "rb") as stream:
            if kind == "json":
                _read_json_file(stream.read(), path, builder)
                return
            head = stream.read(_HEAD_BYTES)
            _check_head(head, path)
            stream.seek(0)
            if _is_cr_only(head):
                _read_json_lines(io.BufferedReader(_CrToLf(stream), _HEAD_BYTES), builder)
            else:
                _read_json_lines(stream, builder)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise IngestError(f"cannot read {path}: corrupt gzip ({type(error).__name__}: {error})") from error
    except OSError as error:  # e.g. permission denied: still name the file in the message
        raise IngestError(f"cannot read {path}: {error.strerror or error}") from error


_CONVERSION_ERRORS = (pa.ArrowException, OverflowError, ValueError)


def _parquet_records(table: pa.Table) -> tuple[list[dict], dict[int, str]]:
    """The rows as dicts, and {row index: why} for rows holding a value Python cannot represent (a timestamp
    past year 9999...), so that such a value rejects its row instead of failing the whole file."""
    try:
        return table.to_pylist(), {}
    except _CONVERSION_ERRORS:
        pass
    unreadable: dict[int, str] = {}
    columns: dict[str, list] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        try:
            columns[name] = column.to_pylist()
            continue
        except _CONVERSION_ERRORS:
            pass
        values = []
        for index, scalar in enumerate(column):  # only the failing column, value by value
            try:
                values.append(scalar.as_py())
            except _CONVERSION_ERRORS as error:
                values.append(f"<unreadable {column.type} value>")
                unreadable.setdefault(index, f"{name} cannot be read: {type(error).__name__}: {error}")
        columns[name] = values
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)], unreadable


def _read_parquet(path: Path, builder: _Builder) -> None:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise IngestError(f"cannot read {path}: not a readable Parquet file ({error})") from error
    records, unreadable = _parquet_records(table)
    _read_records(records, builder, unreadable)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(_JSON_LINES_SUFFIXES):
        return "jsonl"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".parquet") and not path.name.lower().endswith(".gz"):
        return "parquet"
    what = "it is a folder (source folders are flat)" if path.is_dir() else "unsupported file type"
    raise IngestError(
        f"cannot read {path}: {what}; ingestion reads .jsonl, .ndjson, .jsonl.gz, .ndjson.gz, .json, .json.gz and "
        ".parquet files: convert it, or move it out of the source folder"
    )


def _source_file(path: Path, root: Path | None) -> str:
    if root is None:
        return path.name
    absolute, base = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        raise ValueError(f"{path} is not under the raw data root {root}") from None


# ------------------------------------------------------------------------------------------- public API


def check_field_maps(field_maps: Mapping[str, Any], where: str = "params.yaml `ingest.field_maps`") -> dict:
    """`ingest.field_maps` as {source name or file glob: {field: target}}, or ValueError naming what is wrong.

    A key is a source (`expert`) or a glob over the file's path under the raw root (`expert/faq_*.jsonl`; one
    without a `/` is matched against the file name). A target is a role (`system`, `user`, `assistant`: the
    field becomes that turn) or a field a built-in format reads (`instruction`, `output`, `messages`, ...).
    """
    if not isinstance(field_maps, Mapping):
        raise ValueError(f"{where} must be a mapping of source names or file globs to field mappings")
    checked: dict[str, dict[str, str]] = {}
    for key, mapping in field_maps.items():
        if not isinstance(key, str) or not (key in SOURCES or _GLOB_CHARS & set(key)):
            raise ValueError(
                f"{where}: {key!r} is neither a source ({', '.join(SOURCES)}) nor a file glob (like expert/*.jsonl)"
            )
        if not isinstance(mapping, Mapping) or not mapping:
            raise ValueError(f"{where}.{key} must be a non-empty mapping of field: target, like {{question: user}}")
        for field, target in mapping.items():
            if not isinstance(field, str) or not field:
                raise ValueError(f"{where}.{key}: {field!r} is not a field name")
            if not isinstance(target, str) or target not in FIELD_MAP_TARGETS:
                raise ValueError(
                    f"{where}.{key}: {field!r} maps to {target!r}, which is not a role or a field ingest reads; "
                    f"expected one of {sorted(FIELD_MAP_TARGETS)}"
                )
        checked[key] = dict(mapping)
    return checked


def field_map_for(field_maps: Mapping[str, Mapping[str, str]], source: str, source_file: str) -> dict[str, str]:
    """The mapping for one file: its source's, then every matching glob's on top (in params.yaml order)."""
    merged = dict(field_maps.get(source) or {})
    name = source_file.rsplit("/", 1)[-1]
    for key, mapping in field_maps.items():
        if key in SOURCES:
            continue
        if fnmatch.fnmatchcase(source_file if "/" in key else name, key):
            merged.update(mapping)
    return merged


def format_counts(raw: pl.DataFrame) -> dict[str, dict[str, int]]:
    """{format: {"rows", "examples", "rejected"}} of a RAW_SCHEMA frame; rows of no format under "none".

    rows = examples + rejected for each format: the per-format ledger of what ingest read.
    """
    if "format" not in raw.columns or not raw.height:
        return {}
    counts = (
        raw.group_by(pl.col("format").fill_null("none"))
        .agg(rows=pl.len(), rejected=pl.col("reason").is_not_null().sum())
        .sort("format")
    )
    return {
        fmt: {"rows": int(rows), "examples": int(rows - rejected), "rejected": int(rejected)}
        for fmt, rows, rejected in counts.iter_rows()
    }


def _check_formats(builder: _Builder, path: Path, require_format: bool) -> None:
    """Stop on a file ingest cannot make sense of: a mapped field no record has, or records of no known format."""
    if builder.first_record is None:
        return
    missing = [field for field in builder.field_map if field not in builder.mapped_seen]
    if missing:
        raise IngestError(
            f"cannot read {path}: params.yaml `ingest.field_maps` maps {', '.join(map(repr, missing))}, which no "
            f"record of the file has; first record: {builder.first_record[:500]}"
        )
    if not require_format:
        return
    reasons = [row[11] for row in builder.rows]
    unknown = reasons.count(ReasonCode.UNKNOWN_FORMAT)
    if unknown * 2 > len(reasons) and all(row[15] is None for row in builder.rows):
        hint = (
            "it looks like OpenAssistant's flat message list (one message per row, linked by parent_id): "
            "use the message-tree export (*.trees.jsonl), whose records nest their replies"
            if all(f'"{key}"' in builder.first_record for key in ("message_id", "parent_id", "role"))
            else "map its fields to turns in params.yaml `ingest.field_maps` (e.g. {question: user, answer: assistant})"
        )
        raise IngestError(
            f"cannot read {path}: none of its records matches a known format ({', '.join(FORMATS)}); {hint}; "
            f"first record: {builder.first_record[:500]}"
        )


def read_raw(
    path: str | Path,
    source: str,
    *,
    root: Path | None = None,
    partition: str | None = None,
    max_line_bytes: int = 1_000_000,
    max_json_depth: int = 32,
    id_salt: str = "ftdata-v1",
    leading_assistant: str = "drop",
    field_map: Mapping[str, str] | None = None,
    require_format: bool = True,
) -> pl.DataFrame:
    """Every non-blank record of one file, in file order, as one frame with `schema.RAW_SCHEMA`.

    A row is an example (`reason` null, `original` null) or a reject (`reason`, `detail`, `original` set;
    the example columns null except source, source_file, source_line, partition). An OASST tree gives one
    row per path. `field_map` is this file's `ingest.field_maps` entry (`field_map_for`).
    Raises ValueError for an unknown extension or source or a bad `field_map`, IngestError if the file cannot
    be read at all, if a mapped field is in none of its records, or (with `require_format`) if most of its
    rows are unknown_format and none has a known format (a shape to map, not bad lines to reject).
    """
    path = Path(path)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    if max_line_bytes < 1 or max_json_depth < 1:
        raise ValueError("max_line_bytes and max_json_depth must be positive")
    if leading_assistant not in LEADING_ASSISTANT_POLICIES:
        raise ValueError(
            f"ingest.leading_assistant is {leading_assistant!r}; "
            f"expected one of {', '.join(LEADING_ASSISTANT_POLICIES)}"
        )
    if field_map:
        field_map = check_field_maps({source: field_map}, f"ingest.field_maps for {path}")[source]
    kind = _kind(path)
    source_file = _source_file(path, root)
    builder = _Builder(source, id_salt, max_line_bytes, max_json_depth, leading_assistant, field_map)
    if path.stat().st_size > 0:
        if kind == "parquet":
            _read_parquet(path, builder)
        else:
            _read_text_file(path, kind, builder)
    _check_formats(builder, path, require_format)
    return builder.frame(source_file, partition)


def split_raw(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a RAW_SCHEMA frame into (examples with EXAMPLE_SCHEMA, ingest rejects with REJECT_SCHEMA)."""
    is_reject = pl.col("reason").is_not_null()
    examples = raw.filter(~is_reject).select(list(EXAMPLE_SCHEMA))
    rejects = raw.filter(is_reject).select(
        pl.lit(LAYER, pl.String).alias("layer"),
        "reason",
        "detail",
        "source",
        "source_file",
        "source_line",
        "partition",
        pl.lit(None, pl.String).alias("example_id"),
        "original",
    )
    return examples, rejects


def read_examples(
    path: str | Path,
    source: str,
    *,
    root: Path | None = None,
    partition: str | None = None,
    max_line_bytes: int = 1_000_000,
    max_json_depth: int = 32,
    id_salt: str = "ftdata-v1",
    leading_assistant: str = "drop",
    field_map: Mapping[str, str] | None = None,
    require_format: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(examples with `schema.EXAMPLE_SCHEMA`, rejects with `schema.REJECT_SCHEMA`), both in line order."""
    return split_raw(
        read_raw(
            path,
            source,
            root=root,
            partition=partition,
            max_line_bytes=max_line_bytes,
            max_json_depth=max_json_depth,
            id_salt=id_salt,
            leading_assistant=leading_assistant,
            field_map=field_map,
            require_format=require_format,
        )
    )


def repair_counts(examples: pl.DataFrame) -> dict[str, int]:
    """{ingest tag: examples carrying it}, every `schema.INGEST_TAGS` entry present (0 when none)."""
    counts = dict.fromkeys(INGEST_TAGS, 0)
    if "tags" in examples.columns and examples.height:
        exploded = examples.select(pl.col("tags").explode(empty_as_null=False)).drop_nulls()
        for tag, n in exploded.group_by("tags").len().iter_rows():
            if tag in counts:
                counts[tag] = int(n)
    return counts
