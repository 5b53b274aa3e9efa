"""The data contract: one polars schema per layer, the closed reason-code enum, the sources.

Every layer's frame is built against these schemas, so a column never changes type between runs and an
empty frame still has the right columns.
"""

import polars as pl

SOURCES: tuple[str, ...] = ("production_log", "expert", "synthetic", "feedback")
"""Input sources, in default priority order (highest first) used when duplicates meet."""

ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")

MESSAGE = pl.Struct({"role": pl.String, "content": pl.String})
MESSAGES = pl.List(MESSAGE)

EXAMPLE_SCHEMA = pl.Schema(
    {
        "example_id": pl.String,  # sha256 of the canonical messages JSON: same content -> same id
        "source": pl.String,
        "source_file": pl.String,  # path relative to the raw data root, posix separators
        "source_line": pl.Int64,  # 1-based line (jsonl), element (json array) or row (parquet)
        "partition": pl.String,  # day for logs, batch id for synthetic, null otherwise
        "messages": MESSAGES,
        "conversation_id": pl.String,  # salted sha256 of the log's conversation id
        "user_id": pl.String,  # salted sha256 of the log's user id
        "teacher_model": pl.String,
        "prompt_template": pl.String,
        "author": pl.String,
        "reviewed": pl.Boolean,
        "license": pl.String,
        "created_at": pl.Datetime("us", "UTC"),
        "original_response": pl.String,  # feedback: the response the user edited
        "tags": pl.List(pl.String),  # sorted, unique: what a layer changed or found (INGEST_TAGS, quality's...)
    }
)

REJECT_SCHEMA = pl.Schema(
    {
        "layer": pl.String,  # which layer let the row go: ingest, quality, dedup, ...
        "reason": pl.String,  # a ReasonCode value
        "detail": pl.String,  # human-readable why, e.g. the JSON error and its column
        "source": pl.String,
        "source_file": pl.String,
        "source_line": pl.Int64,
        "partition": pl.String,
        "example_id": pl.String,  # null when the line never became an example
        "original": pl.String,  # the original line; undecodable bytes kept as \\xNN escapes
    }
)

RAW_SCHEMA = pl.Schema(
    {
        **EXAMPLE_SCHEMA,
        "reason": pl.String,  # null = the line became an example
        "detail": pl.String,
        "original": pl.String,
        "format": pl.String,  # the record shape detected (FORMATS); null when none was (unknown_format, bad JSON)
        "extras": pl.String,  # compact JSON of a format's provenance fields (FORMAT_EXTRAS), null when none
    }
)
"""The raw_* layers: every non-blank input line as read, either an example or a reject with its reason.

`format` and `extras` stay in the raw layers (they are not in EXAMPLE_SCHEMA): `extras` can hold unscrubbed
text (HH's `rejected` answer), which must never reach a curated split; `source_file` + `source_line` link an
example back to its raw row.
"""

FORMATS: dict[str, str] = {
    "chat": "OpenAI chat: `messages` of {role, content}",
    "sharegpt": "ShareGPT: `conversations` of {from, value}",
    "alpaca": "Alpaca: `instruction`, optional `input`, `output` or `response` (GPTeacher)",
    "dolly": "Dolly: `instruction`, `context` as the input, `response`; `category` kept in extras",
    "prompt_completion": "`prompt` / `completion`, strings or lists of chat messages",
    "preference": "TRL-style preference: `prompt` and `chosen` (strings or messages); `rejected` kept in extras",
    "hh": "Anthropic HH: a `chosen` transcript of Human:/Assistant: turns; `rejected` kept in extras",
    "oasst": "OpenAssistant message tree: `prompt` with nested `replies`, one example per path; `lang` in extras",
    "chatml": "a `text` field of ChatML turns (<|im_start|>role ... <|im_end|>)",
    "mapped": "fields mapped to turns by params.yaml `ingest.field_maps`",
    "sharegpt_preference": "LLaMA-Factory preference: ShareGPT `conversations` (the prompt) + `chosen` / `rejected` "
    "{from, value} answers; `chosen` is the assistant turn, `rejected` kept in extras",
}
"""The record shapes ingest recognizes (raw `format` values), for the raw metadata and the data card."""

FORMAT_EXTRAS: dict[str, tuple[str, ...]] = {
    "dolly": ("category",),
    "preference": ("rejected",),
    "hh": ("rejected",),
    "oasst": ("lang", "message_tree_id", "message_ids"),
    "sharegpt": ("tools", "tool_call_turns"),
    "sharegpt_preference": ("rejected", "tools", "tool_call_turns"),
}
"""Provenance fields each format keeps in the raw `extras` column (never trained on)."""

SPLITS: tuple[str, ...] = ("train", "validation", "test")


class IngestTag:
    """Tags ingest puts on an example it repaired (a turn repair), so a reviewer can filter on each repair."""

    DROPPED_LEADING_TURNS = "dropped_leading_turns"
    LEADING_TURNS_AS_CONTEXT = "leading_turns_as_context"
    REMOVED_BLANK_TURNS = "removed_blank_turns"
    MERGED_TURNS = "merged_turns"
    TRIMMED_TRAILING_USER = "trimmed_trailing_user"
    TOOL_CALLS_AS_ASSISTANT = "tool_calls_as_assistant"


INGEST_TAGS: tuple[str, ...] = tuple(
    value for name, value in vars(IngestTag).items() if name.isupper() and isinstance(value, str)
)

TAG_DESCRIPTIONS: dict[str, str] = {
    IngestTag.DROPPED_LEADING_TURNS: "opened with assistant/tool turns (a chunk of a longer chat); they were dropped",
    IngestTag.LEADING_TURNS_AS_CONTEXT: "opened with assistant/tool turns; they were folded into a system turn",
    IngestTag.REMOVED_BLANK_TURNS: "blank (empty or whitespace-only) turns were removed",
    IngestTag.MERGED_TURNS: "two same-role turns that a removed blank turn separated were merged into one",
    IngestTag.TRIMMED_TRAILING_USER: "ended with user turns that had no answer; they were trimmed",
    IngestTag.TOOL_CALLS_AS_ASSISTANT: "ShareGPT `function_call` turns (tool calls, JSON text) became assistant "
    "turns; the raw row's extras list them in `tool_call_turns`",
    "mojibake_repaired": "mis-decoded text (UTF-8 read as cp1252/latin-1) was repaired with ftfy",
    "normalized_null": 'a null-input marker ("<noinput>") was removed from a user turn',
    "stripped_control": "control characters / terminal escapes were stripped",
    "refusal": 'an assistant turn refuses or says "the source does not say" (kept and counted)',
    "edge_case": "a user turn that is empty-ish or malformed while the answer is correct",
    "other_language": "the detected language is outside quality.languages",
    "stale": "created before policy.stale_before (kept)",
    "edited_in_review": "a reviewer edited the row",
}
"""What each tag means, for the data card (tags not listed here are shown without a meaning)."""


class ReasonCode:
    """The closed enum of reasons a row leaves the pipeline; `low_quality:<rule>` is the only open family."""

    INVALID_JSON = "invalid_json"
    INVALID_UTF8 = "invalid_utf8"
    NUL_BYTE = "nul_byte"
    UNKNOWN_FORMAT = "unknown_format"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    BAD_ROLE = "bad_role"
    BAD_TURN_ORDER = "bad_turn_order"
    EMPTY_CONTENT = "empty_content"
    TOO_LONG = "too_long"
    TOO_DEEP = "too_deep"
    EXACT_DUPLICATE = "exact_duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    BENCHMARK_CONTAMINATION = "benchmark_contamination"
    DUPLICATE_PROMPT = "duplicate_prompt"
    DISALLOWED_TEACHER_MODEL = "disallowed_teacher_model"
    DISALLOWED_LICENSE = "disallowed_license"
    REJECTED_IN_REVIEW = "rejected_in_review"
    UNDESIRABLE_LABEL = "undesirable_label"
    LOW_QUALITY_PREFIX = "low_quality:"


REASON_CODES: frozenset[str] = frozenset(
    value for name, value in vars(ReasonCode).items() if name.isupper() and name != "LOW_QUALITY_PREFIX"
)

REASON_DESCRIPTIONS: dict[str, str] = {
    ReasonCode.INVALID_JSON: "the line is not valid JSON (or a JSON array element is not an object)",
    ReasonCode.INVALID_UTF8: "the line's bytes are not valid UTF-8",
    ReasonCode.NUL_BYTE: "the line or a message contains a NUL character",
    ReasonCode.UNKNOWN_FORMAT: "the record matches none of the shapes ingest reads (chat, ShareGPT, Alpaca, Dolly, "
    "prompt/completion, preference, HH, OASST tree, ChatML) or its field_maps",
    ReasonCode.MISSING_FIELD: "a field the detected format needs is absent",
    ReasonCode.WRONG_TYPE: "a field has the wrong JSON type (e.g. content is a number)",
    ReasonCode.BAD_ROLE: "a message role is not system/user/assistant/tool or a known spelling of one",
    ReasonCode.BAD_TURN_ORDER: "no assistant turn answers a user turn once leading and trailing turns are repaired",
    ReasonCode.EMPTY_CONTENT: "no user turn or no assistant turn with non-blank content",
    ReasonCode.TOO_LONG: "the line is longer than ingest.max_line_bytes",
    ReasonCode.TOO_DEEP: "the JSON nests deeper than ingest.max_json_depth",
    ReasonCode.EXACT_DUPLICATE: "an exact copy of a kept example",
    ReasonCode.NEAR_DUPLICATE: "a near-duplicate of a kept example",
    ReasonCode.BENCHMARK_CONTAMINATION: "overlaps a held-out split or a benchmark",
    ReasonCode.DUPLICATE_PROMPT: "a kept example has near-identical user turns and an agreeing answer",
    ReasonCode.DISALLOWED_TEACHER_MODEL: "a synthetic row whose teacher model is missing or not on the allow-list",
    ReasonCode.DISALLOWED_LICENSE: "a row whose license is not on the license allow-list",
    ReasonCode.REJECTED_IN_REVIEW: "a reviewer rejected the row (data/review/decisions)",
    ReasonCode.UNDESIRABLE_LABEL: "a KTO-style row with `label: false`: its answer is marked undesirable",
}


def is_valid_reason(reason: str) -> bool:
    """A reason is valid if it is in the closed enum or is a `low_quality:<rule>` code."""
    return reason in REASON_CODES or (
        reason.startswith(ReasonCode.LOW_QUALITY_PREFIX) and len(reason) > len(ReasonCode.LOW_QUALITY_PREFIX)
    )


def empty_frame(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)
