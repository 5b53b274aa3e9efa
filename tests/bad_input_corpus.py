"""A deterministic corpus of malformed input files, written by code (no binary blobs in git).

Why: "bad input, nothing lost" is only a promise if every kind of broken file a user can export is run
through ingestion and the whole pipeline. Each file here is described by a `CorpusFile`: where it goes under
`data/raw`, which source reads it, what it exercises, and what must happen:
- `rows`: the (source_line, reason) of every row ingestion must produce, in file order (reason None = the
  line becomes an example). Line numbers are physical lines (blank lines are skipped, not renumbered).
- `error`: a regex the file-level `IngestError` must match (it always names the file).
- `ignored`: the file is not data by design (a README, a hidden file) and no source reads it.

`write_readable(raw_dir)` writes the files that ingestion reads row by row, `write_valid(raw_dir)` a small
clean set to mix them with, `write_unreadable(raw_dir)` the files that cannot be read at all (each stops a
pipeline run, so they are kept apart), `write_corpus(raw_dir)` all three. Everything is built from literals
and `range`s: same bytes on every run and machine.
"""

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ftdata_assets.schema import ReasonCode as R

MAX_LINE_BYTES = 1_000_000
"""Mirrors params.yaml ingest.max_line_bytes (the default of read_raw)."""
MAX_JSON_DEPTH = 32
"""Mirrors params.yaml ingest.max_json_depth (the default of read_raw)."""

BOM = b"\xef\xbb\xbf"

GARBAGE = bytes(b for b in range(256) if b not in b"\r\n")
"""Every byte value except the line terminators (254 bytes)."""

Row = tuple[bytes, str | None]  # (line without terminator, expected reason or None for an example)


@dataclass(frozen=True)
class CorpusFile:
    path: str  # relative to the raw data root, posix separators
    source: str
    case: str  # what it exercises
    rows: tuple[tuple[int, str | None], ...] = ()
    error: str | None = None
    ignored: bool = False

    @property
    def rejects(self) -> tuple[tuple[int, str], ...]:
        return tuple((line, reason) for line, reason in self.rows if reason is not None)


# ---------------------------------------------------------------------------------------------- builders


def dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def chat(question: str, answer: str, **extra: object) -> dict:
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}], **extra}


def ok(question: str, answer: str, **extra: object) -> Row:
    return dumps(chat(question, answer, **extra)), None


def text_file(items: Sequence[Row | bytes], *, eol: bytes = b"\n", last_eol: bool = True) -> tuple[bytes, tuple]:
    """Join lines with `eol`; a plain bytes item is filler (blank or whitespace) that yields no row."""
    lines, rows = [], []
    for number, item in enumerate(items, start=1):
        if isinstance(item, tuple):
            line, reason = item
            rows.append((number, reason))
        else:
            line = item
        lines.append(line)
    return eol.join(lines) + (eol if last_eol else b""), tuple(rows)


def nested(depth: int) -> object:
    """A JSON value that nests `depth` arrays."""
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def line_of_size(size: int) -> bytes:
    """A valid prompt/completion record of exactly `size` bytes."""
    base = dumps({"prompt": "Repeat the letter x.", "completion": ""})
    line = dumps({"prompt": "Repeat the letter x.", "completion": "x" * (size - len(base))})
    assert len(line) == size
    return line


VALID_QA: tuple[tuple[str, str], ...] = (
    ("How do I reset my password?", "Open Settings, choose Security, then click Reset password and follow the email."),
    ("What does the red warning light on the router mean?", "It means the router lost its internet connection."),
    ("Can I export my invoices as a spreadsheet?", "Yes: on the Billing page, pick a date range and click Export."),
    ("How long does a refund take to arrive?", "Refunds reach your card within five to ten business days."),
    ("Which browsers does the dashboard support?", "The latest Chrome, Firefox, Safari and Edge are supported."),
    ("How can I change the language of the app?", "Go to Profile, then Preferences, and pick a language there."),
    ("Why was my upload rejected?", "Files larger than two gigabytes or in unknown formats are rejected."),
    ("Is there a keyboard shortcut for search?", "Press the slash key anywhere to jump to the search box."),
    ("How do I invite a colleague to my team?", "Open Team, click Invite, and enter your colleague's address."),
    ("Where can I find the API documentation?", "The API reference is linked at the bottom of every page."),
    ("Can I undo a deleted project?", "Deleted projects stay in the trash for thirty days; restore them there."),
    ("What happens when my trial ends?", "Your workspace becomes read-only until you choose a paid plan."),
    ("How do I turn on two-factor authentication?", "In Security settings, enable two-factor and scan the code."),
    ("Why is the sync so slow today?", "A regional outage slowed syncing this morning; it is recovering now."),
    ("Can I use the mobile app offline?", "Yes, recent documents are cached and editable without a network."),
    ("How do I merge two accounts?", "Support can merge accounts once you confirm both email addresses."),
    ("What file types can I attach to a ticket?", "Images, PDFs, text files and zip archives up to fifty megabytes."),
    ("How do I cancel my subscription?", "Under Billing, choose Cancel plan; you keep access until renewal."),
    ("Does the service keep a history of changes?", "Every document keeps a version history for one full year."),
    ("How can I print a weekly report?", "Open Reports, select Weekly, and use the Print button on top."),
)


# ---------------------------------------------------------------------------------------------- the corpus


@cache
def _readable() -> list[tuple[CorpusFile, bytes]]:
    files: list[tuple[CorpusFile, bytes]] = []

    def add(path: str, source: str, case: str, data: bytes, rows: tuple = ()) -> None:
        files.append((CorpusFile(path, source, case, tuple(rows)), data))

    def add_text(path: str, source: str, case: str, items: Sequence[Row | bytes], **kwargs: object) -> None:
        data, rows = text_file(items, **kwargs)
        add(path, source, case, data, rows)

    # -- truncation
    add_text(
        "expert/truncated_last_line.jsonl",
        "expert",
        "an export cut off mid-record: the last line has no newline and no closing braces",
        [
            ok("What is a ledger?", "A record of every row."),
            ok("Name a colour.", "Blue."),
            (b'{"messages":[{"ro', R.INVALID_JSON),
        ],
        last_eol=False,
    )
    records = [chat(q, a) for q, a in VALID_QA[:4]]
    pretty = json.dumps(records, indent=2).encode()
    cut = pretty[: len(pretty) * 3 // 5]
    add(
        "expert/truncated_array_pretty.json",
        "expert",
        "a pretty-printed JSON array truncated mid-way: read as JSON lines, every fragment is a reject",
        cut,
        [(n, R.INVALID_JSON) for n, line in enumerate(cut.split(b"\n"), start=1) if line.strip()],
    )
    compact = dumps(records)
    add(
        "expert/truncated_array_compact.json",
        "expert",
        "a one-line JSON array truncated mid-way: one reject keeping the whole text",
        compact[: len(compact) // 2],
        [(1, R.INVALID_JSON)],
    )

    # -- encodings
    add_text(
        "expert/latin1.jsonl",
        "expert",
        "Latin-1 / cp1252 bytes (not UTF-8) on some lines; ASCII-only lines of the same file are fine",
        [
            ok("Plain ASCII question?", "Plain ASCII answer."),
            (b'{"prompt":"Un caf\xe9, s\'il vous pla\xeet.","completion":"Voil\xe0."}', R.INVALID_UTF8),
            (b'{"prompt":"na\xefve r\xe9sum\xe9","completion":"ok"}', R.INVALID_UTF8),
            (b'{"prompt":"\x93smart quotes\x94","completion":"cp1252"}', R.INVALID_UTF8),
            (b'{"prompt":"overlong slash \xc0\xaf","completion":"x"}', R.INVALID_UTF8),
            ok("Another ASCII question?", "Another ASCII answer."),
        ],
    )
    add_text(
        "expert/surrogates.jsonl",
        "expert",
        "escaped lone surrogates (\\ud800, \\udc00) are invalid JSON; a valid escaped pair is an emoji",
        [
            (b'{"prompt":"lone high \\ud800","completion":"x"}', R.INVALID_JSON),
            (b'{"prompt":"lone low \\udc00","completion":"x"}', R.INVALID_JSON),
            (b'{"prompt":"high then letter \\ud800\\u0041","completion":"x"}', R.INVALID_JSON),
            (b'{"\\ud800":"in a key","prompt":"q","completion":"x"}', R.INVALID_JSON),
            (b'{"prompt":"raw CESU-8 surrogate \xed\xa0\x80","completion":"x"}', R.INVALID_UTF8),
            (b'{"prompt":"a valid pair \\ud83d\\ude00 here","completion":"smile"}', None),
        ],
    )
    add_text(
        "expert/bom_crlf.jsonl",
        "expert",
        "UTF-8 BOM, CRLF endings, blank CRLF lines and a second BOM at a line start: all read cleanly",
        [
            (BOM + ok("First line after a BOM?", "Yes.")[0], None),
            b"",
            ok("Windows line endings?", "They are fine.\r\nReally."),
            b"   ",
            (BOM + ok("A BOM in the middle of the file?", "Stripped too.")[0], None),
        ],
        eol=b"\r\n",
    )
    add_text(
        "expert/cr_only.jsonl",
        "expert",
        "classic-Mac CR-only line endings: each CR ends a line",
        [
            ok("Old Mac line endings?", "Each CR ends a line."),
            ok("Second record?", "Second answer."),
            (b'{"prompt": broken}', R.INVALID_JSON),
            ok("Fourth record?", "Fourth answer."),
        ],
        eol=b"\r",
    )

    # -- sizes
    huge = dumps({"prompt": "Summarize.", "completion": "y" * 20_000_000})
    add_text(
        "expert/twenty_mb_line.jsonl",
        "expert",
        "a 20 MB line (20x max_line_bytes) between good lines, and 2 MB of binary garbage without a newline",
        [
            ok("Before the huge line?", "Yes."),
            (huge, R.TOO_LONG),
            ok("After the huge line?", "Still read."),
            (GARBAGE * 8256, R.TOO_LONG),
        ],
        last_eol=False,
    )
    add_text(
        "expert/line_limit_boundary.jsonl",
        "expert",
        "a line of exactly max_line_bytes is read, one byte more is too_long",
        [(line_of_size(MAX_LINE_BYTES), None), (line_of_size(MAX_LINE_BYTES + 1), R.TOO_LONG)],
    )
    add_text(
        "expert/long_content.jsonl",
        "expert",
        "extremely long message content within the line limit (ASCII, 2-byte and 4-byte characters)",
        [
            ok("Write the letter a many times.", "a" * 900_000),
            ok("Write é many times.", "é" * 400_000),
            ok("Write the emoji many times.", "🙂" * 200_000),
        ],
    )
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}: {'question' if i % 2 == 0 else 'reply'}"}
        for i in range(1_000)
    ]
    add_text(
        "expert/long_conversation.jsonl",
        "expert",
        "a 1,000-turn conversation",
        [(dumps({"messages": turns}), None), (dumps({"messages": turns[:999]}), None)],
    )

    # -- types and shapes
    add_text(
        "expert/wrong_types.jsonl",
        "expert",
        "numbers, nulls, booleans, lists and objects where strings are expected",
        [
            (b'{"messages":[{"role":"user","content":42},{"role":"assistant","content":"a"}]}', R.WRONG_TYPE),
            (b'{"messages":[{"role":"user","content":null},{"role":"assistant","content":"a"}]}', R.MISSING_FIELD),
            (b'{"messages":[{"role":"user","content":["a","b"]},{"role":"assistant","content":"a"}]}', R.WRONG_TYPE),
            (b'{"messages":[{"role":"user","content":{"text":"q"}},{"role":"assistant","content":"a"}]}', R.WRONG_TYPE),
            (b'{"messages":[{"role":1,"content":"q"},{"role":"assistant","content":"a"}]}', R.WRONG_TYPE),
            (b'{"messages":[{"role":null,"content":"q"},{"role":"assistant","content":"a"}]}', R.MISSING_FIELD),
            (b'{"messages":{"role":"user","content":"q"}}', R.WRONG_TYPE),
            (b'{"messages":["user: q","assistant: a"]}', R.WRONG_TYPE),
            (b'{"conversations":"human: q"}', R.WRONG_TYPE),
            (b'{"prompt":5,"completion":"a"}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":true}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":null}', R.MISSING_FIELD),
            (b'{"instruction":["q"],"output":"a"}', R.WRONG_TYPE),
            (b'{"instruction":"q","input":3,"output":"a"}', R.WRONG_TYPE),
            (b'{"instruction":"q","output":{"text":"a"}}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","system":7}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","reviewed":"yes"}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","author":["ann"]}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","conversation_id":[1]}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","user_id":true}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","conversation_id":1.5}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","created_at":true}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","created_at":"last tuesday"}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","created_at":{"iso":"2026-01-01"}}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","edited_response":5}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","teacher_model":4}', R.WRONG_TYPE),
            ok("Is a well-typed record between them fine?", "Yes, it is read."),
        ],
    )
    add_text(
        "expert/big_numbers.jsonl",
        "expert",
        "numbers JSON allows but float64 cannot hold: ids past 2**53 are not exact, 1e400 is infinity",
        [
            (b'{"prompt":"q","completion":"a","conversation_id":123456789012345678901234567890}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","conversation_id":9007199254740993.0}', R.WRONG_TYPE),
            (b'{"prompt":"q","completion":"a","created_at":1e400}', R.INVALID_JSON),
            (b'{"prompt":"q","completion":"a","created_at":NaN}', R.INVALID_JSON),
            (b'{"prompt":"q","completion":"a","created_at":1e300}', R.WRONG_TYPE),
            (b'{"prompt":"Big exact integer id?","completion":"Kept.","user_id":18446744073709551615}', None),
            (b'{"prompt":"Integral float id?","completion":"Kept.","conversation_id":42.0}', None),
        ],
    )
    add_text(
        "expert/not_objects.jsonl",
        "expert",
        "records that are a JSON string, number, boolean, null, array, or an array of records on one line",
        [
            (b'"just a string"', R.INVALID_JSON),
            (b"42", R.INVALID_JSON),
            (b"-1.5e3", R.INVALID_JSON),
            (b"true", R.INVALID_JSON),
            (b"null", R.INVALID_JSON),
            (b"[]", R.INVALID_JSON),
            (b"[1,2,3]", R.INVALID_JSON),
            (dumps([chat("q1", "a1"), chat("q2", "a2")]), R.INVALID_JSON),
            (b"{}", R.UNKNOWN_FORMAT),
            (b'{"text":"a pretraining document, not a conversation"}', R.UNKNOWN_FORMAT),
            (b'{"data":[{"prompt":"q","completion":"a"}]}', R.UNKNOWN_FORMAT),
        ],
    )
    add_text(
        "expert/roles.jsonl",
        "expert",
        "unknown, empty and oddly spelled roles",
        [
            (b'{"messages":[{"role":"narrator","content":"q"},{"role":"assistant","content":"a"}]}', R.BAD_ROLE),
            (b'{"messages":[{"role":"","content":"q"},{"role":"assistant","content":"a"}]}', R.BAD_ROLE),
            (b'{"messages":[{"role":"user","content":"q"},{"role":"bot","content":"a"}]}', R.BAD_ROLE),
            (b'{"messages":[{"role":"user","content":"q"},{"role":"AI","content":"a"}]}', R.BAD_ROLE),
            (b'{"conversations":[{"from":"customer","value":"q"},{"from":"gpt","value":"a"}]}', R.BAD_ROLE),
            (
                b'{"messages":[{"role":" USER ","content":"Spelled oddly?"},'
                b'{"role":"Assistant","content":"Still a known role."}]}',
                None,
            ),
            (
                b'{"messages":[{"role":"user","content":"Weather in Oslo?"},'
                b'{"role":"function","content":"{\\"temp\\": 3}"},'
                b'{"role":"assistant","content":"It is 3 degrees in Oslo."}]}',
                None,
            ),
        ],
    )
    add_text(
        "expert/turn_order.jsonl",
        "expert",
        "conversations that do not open with the system or user turn: leading assistant/tool turns are dropped "
        "(tagged), and what has no answer after its first user turn is still bad_turn_order",
        [
            (
                b'{"messages":[{"role":"assistant","content":"Hi! How can I help you today?"},'
                b'{"role":"user","content":"Where is my parcel?"},'
                b'{"role":"assistant","content":"It left the depot this morning."}]}',
                None,
            ),
            (
                b'{"messages":[{"role":"tool","content":"{}"},{"role":"user","content":"q"},'
                b'{"role":"assistant","content":"a"}]}',
                None,
            ),
            (
                b'{"messages":[{"role":"assistant","content":"Hi! How can I help you today?"},'
                b'{"role":"user","content":"Where is my parcel?"}]}',
                R.BAD_TURN_ORDER,
            ),
            (
                b'{"messages":[{"role":"user","content":"Two user turns?"},{"role":"user","content":"Yes, two."},'
                b'{"role":"assistant","content":"Both are kept."}]}',
                None,
            ),
            (
                b'{"system":"You are Lumora support.","messages":[{"role":"assistant","content":"Hello there!"},'
                b'{"role":"user","content":"Is a greeting after the system prompt fine?"},'
                b'{"role":"assistant","content":"Yes, the system turn opens it."}]}',
                None,
            ),
            (
                b'{"messages":[{"role":"user","content":"Can a conversation end on the user?"},'
                b'{"role":"assistant","content":"It can."},{"role":"user","content":"Thanks."}]}',
                None,
            ),
        ],
    )
    add_text(
        "expert/mixed_formats.jsonl",
        "expert",
        "every record shape in one file, plus shapes no reader knows",
        [
            ok("Which shape is this line?", "OpenAI chat."),
            (
                dumps(
                    {
                        "conversations": [
                            {"from": "human", "value": "And this one?"},
                            {"from": "gpt", "value": "ShareGPT."},
                        ]
                    }
                ),
                None,
            ),
            (dumps({"instruction": "Name this shape.", "input": "", "output": "Alpaca."}), None),
            (dumps({"prompt": "And the last classic shape?", "completion": "Prompt and completion."}), None),
            (
                dumps(
                    {
                        "prompt": [{"role": "user", "content": "A TRL conversational prompt?"}],
                        "completion": [{"role": "assistant", "content": "Lists of messages on both sides."}],
                    }
                ),
                None,
            ),
            (dumps({"prompt": "Edited on an expert record?", "completion": "old", "edited_response": "New."}), None),
            # KTO / TRL unpaired rows: a false label marks the answer undesirable in any shape; true is kept, and
            # a label that is not a boolean is not read
            (
                dumps({"prompt": "Is this answer any good?", "completion": "No idea.", "label": False}),
                R.UNDESIRABLE_LABEL,
            ),
            (dumps({**chat("Undesirable in chat too?", "Whatever."), "label": False}), R.UNDESIRABLE_LABEL),
            (dumps({"prompt": "A desirable answer?", "completion": "Kept as usual.", "label": True}), None),
            (dumps({"prompt": "A label that is not a boolean?", "completion": "Not read.", "label": "false"}), None),
            (dumps({"question": "MMLU-style?", "answer": "B"}), R.UNKNOWN_FORMAT),
            (dumps({"messages": None, "conversations": None}), R.UNKNOWN_FORMAT),
            (dumps({"input": "only an input", "output": "only an output"}), R.UNKNOWN_FORMAT),
        ],
    )
    add_text(
        "expert/deep_nesting.jsonl",
        "expert",
        "nesting at, just past and far past max_json_depth, unbalanced brackets, brackets inside strings",
        [
            (
                dumps(
                    {"prompt": "Exactly at the depth limit?", "completion": "Yes.", "meta": nested(MAX_JSON_DEPTH - 1)}
                ),
                None,
            ),
            (dumps({"prompt": "q", "completion": "a", "meta": nested(MAX_JSON_DEPTH)}), R.TOO_DEEP),
            (b'{"prompt":"q","completion":"a","meta":' + b"[" * 10_000 + b"]" * 10_000 + b"}", R.TOO_DEEP),
            (b"[" * 100_000, R.TOO_DEEP),
            (b"{" * 5, R.INVALID_JSON),
            (dumps({"messages": [{"role": "user", "content": nested(40)}]}), R.TOO_DEEP),
            (dumps({"prompt": "Brackets " + "[{" * 500 + " inside a string?", "completion": "Do not count."}), None),
        ],
    )
    add_text(
        "expert/duplicate_keys.jsonl",
        "expert",
        "duplicated keys: the last occurrence wins, as in Python's json and JavaScript",
        [
            (b'{"prompt":"first","prompt":"Which prompt wins?","completion":"The last one."}', None),
            (
                b'{"messages":[{"role":"user","content":"x"}],'
                b'"messages":[{"role":"user","content":"Duplicated messages?"},'
                b'{"role":"assistant","content":"Last wins."}]}',
                None,
            ),
            (b'{"prompt":"q","completion":"a","completion":null}', R.MISSING_FIELD),
        ],
    )
    add_text(
        "expert/control_chars.jsonl",
        "expert",
        "control characters: escaped ones parse (quality decides), raw ones inside strings are invalid JSON",
        [
            (
                dumps(
                    {"prompt": "Bell \u0007 and escape \u001b[31mred\u001b[0m?", "completion": "Escaped, so parsed."}
                ),
                None,
            ),
            (
                dumps({"prompt": "Delete \u007f, zero-width \u200b, bidi \u202e override?", "completion": "Parsed."}),
                None,
            ),
            (dumps({"prompt": "Line separator \u2028 and NEL \u0085 raw in UTF-8?", "completion": "Parsed."}), None),
            (b'{"prompt":"raw bell \x07 in a string","completion":"x"}', R.INVALID_JSON),
            (b'{"prompt":"raw tab \t in a string","completion":"x"}', R.INVALID_JSON),
            (b'{"prompt":"raw CR \r in a string","completion":"x"}', R.INVALID_JSON),
            (b'{"prompt":"q",\x0c"completion":"form feed between tokens"}', R.INVALID_JSON),
            (b'{"prompt":"q","completion":"a"}\x1a', R.INVALID_JSON),
            b"\x0b\x0c \t",
        ],
    )
    add_text(
        "expert/nul_bytes.jsonl",
        "expert",
        "NUL bytes: raw inside a line, a line of NULs, escaped \\u0000 in content, NUL padding after a record",
        [
            (b'{"prompt":"raw NUL \x00 inside","completion":"x"}', R.NUL_BYTE),
            (b"\x00" * 64, R.NUL_BYTE),
            (b'{"prompt":"escaped \\u0000 NUL","completion":"x"}', R.NUL_BYTE),
            (b'{"prompt":"q","completion":"a"}' + b"\x00" * 16, R.NUL_BYTE),
            (b'{"pro\\u0000mpt":"NUL in a key","completion":"x"}', R.UNKNOWN_FORMAT),
            ok("A clean line among them?", "Read."),
        ],
    )

    # -- empty files
    for name, data in [
        ("zero_bytes.jsonl", b""),
        ("zero_bytes.json", b""),
        ("zero_bytes.parquet", b""),
        ("zero_bytes.jsonl.gz", b""),
        ("whitespace_only.jsonl", b"  \n\t\n\r\n \r\n\n"),
        ("whitespace_only.json", b"\n   \n"),
        ("bom_only.jsonl", BOM + b"\n"),
        ("empty_gzip.jsonl.gz", gzip_bytes(b"")),
        ("empty_array.json", b"[]"),
    ]:
        add(f"expert/{name}", "expert", "an empty file: no rows, no error", data)
    schema = pa.schema([("prompt", pa.string()), ("completion", pa.string())])
    add(
        "expert/no_rows.parquet",
        "expert",
        "a Parquet file with columns but no rows",
        parquet_bytes(schema.empty_table()),
    )

    # -- JSON files (arrays and single objects)
    add(
        "expert/array_elements.json",
        "expert",
        "a JSON array whose elements are not all records",
        json.dumps(
            [chat("An object element?", "Read."), "a string", 3, None, True, [chat("q", "a")], {"text": "t"}], indent=1
        ).encode(),
        [(1, None), *((n, R.INVALID_JSON) for n in range(2, 7)), (7, R.UNKNOWN_FORMAT)],
    )
    add(
        "expert/single_object.json",
        "expert",
        "a .json file holding one pretty-printed record (not an array)",
        json.dumps(chat("One pretty-printed object in a file?", "It is one record."), indent=2).encode(),
        [(1, None)],
    )
    add_text(
        "expert/json_lines_in.json",
        "expert",
        "JSON lines in a .json file",
        [ok("JSON lines named .json?", "Read as lines."), (b"{oops", R.INVALID_JSON), ok("Third line?", "Read.")],
    )

    # -- names: the suffixes ingestion reads, in any case
    add_text(
        "expert/UPPER_CASE.JSONL",
        "expert",
        "an upper-case extension",
        [ok("Upper-case extension?", "Read like .jsonl.")],
    )
    data, rows = text_file([ok("An ndjson.gz file?", "Read."), (b"not json", R.INVALID_JSON)])
    add("expert/lines.ndjson.gz", "expert", "a gzipped .ndjson file", gzip_bytes(data), rows)
    add(
        "expert/array.json.gz",
        "expert",
        "a gzipped JSON array",
        gzip_bytes(dumps([chat("A gzipped array?", "Read."), 7])),
        [(1, None), (2, R.INVALID_JSON)],
    )
    data, rows = text_file([ok("First gzip member?", "Read."), ok("Second gzip member?", "Read too.")])
    first, second = data.split(b"\n", 1)
    add(
        "expert/multi_member.jsonl.gz",
        "expert",
        "a gzip of two concatenated members (as `cat a.gz b.gz` makes)",
        gzip_bytes(first + b"\n") + gzip_bytes(second),
        rows,
    )

    # -- Parquet
    message_int = pa.struct([("role", pa.string()), ("content", pa.int64())])
    wrong = pa.table(
        {
            "prompt": pa.array([1, None, None, None, None], pa.int64()),
            "completion": pa.array(["a", None, None, None, "x"], pa.string()),
            "messages": pa.array(
                [None, [{"role": "user", "content": 1}, {"role": "assistant", "content": 2}]] + [None] * 3,
                pa.list_(message_int),
            ),
            "instruction": pa.array([None, None, b"caf\xe9", None, None], pa.binary()),
            "conversations": pa.array([None, None, None, ["hi", "yo"], None], pa.list_(pa.string())),
            "teacher_model": pa.array([7] * 5, pa.int64()),
            "created_at": pa.array([None, None, None, None, 10**15], pa.timestamp("s")),
        }
    )
    add(
        "expert/wrong_types.parquet",
        "expert",
        "a Parquet batch with wrong column types (int prompt, int content, binary instruction, list of strings, "
        "a timestamp past year 9999)",
        parquet_bytes(wrong),
        [(n, R.WRONG_TYPE) for n in range(1, 6)],
    )
    pandas_style = pa.table(
        {
            "prompt": pa.array(
                ["What does pandas write for timestamps?", "And for missing integer ids?"], pa.large_string()
            ),
            "completion": pa.array(["Nanosecond timestamps.", "Doubles with NaN."], pa.large_string()),
            "created_at": pa.array([1_772_368_200_123_456_789, 1_772_368_200_000_000_000], pa.timestamp("ns")),
            "conversation_id": pa.array([7.0, None], pa.float64()),
        }
    )
    add(
        "expert/pandas_style.parquet",
        "expert",
        "Parquet as pandas writes it: nanosecond timestamps, large strings, float ids",
        parquet_bytes(pandas_style),
        [(1, None), (2, None)],
    )

    # -- logs (one file per day) and feedback
    add_text(
        "logs/2026-11-01.jsonl",
        "production_log",
        "a day of logs with a BOM, CRLF, ids of several types, bad lines, and a truncated last line",
        [
            (BOM + ok("Where is my order?", "It ships tomorrow.", conversation_id="c-1", user_id=17)[0], None),
            ok("Can I change the address?", "Yes, until it ships.", conversation_id=1001, created_at=1_772_368_200),
            b"",
            (b'{"messages":[{"role":"user","content":"caf\xe9?"},{"role":"assistant","content":"x"}]}', R.INVALID_UTF8),
            (b'{"messages":[{"role":"user","content":"q\x00"}]}', R.NUL_BYTE),
            (dumps(chat("q", "a", created_at="not a date")), R.WRONG_TYPE),
            ok("What are your opening hours?", "Nine to five, Monday to Friday.", created_at="2026-11-01T09:00:00Z"),
            (b'{"messages":[{"role":"user","content":"Is this cut', R.INVALID_JSON),
        ],
        eol=b"\r\n",
        last_eol=False,
    )
    data, rows = text_file(
        [
            ok("Do you ship to Canada?", "Yes, in five to seven days.", conversation_id="c-9"),
            (b'{"prompt":"Ol\xe1, tudo bem?","completion":"Latin-1 in a gzip."}', R.INVALID_UTF8),
            (b'{"prompt":"\xff\xfe\xfd","completion":"garbage bytes"}', R.INVALID_UTF8),
            ok("Is gift wrapping available?", "Yes, for two dollars."),
        ]
    )
    add(
        "expert/INVALID_UTF8.JSONL.GZ",
        "expert",
        "a gzip (upper-case name) containing invalid UTF-8",
        gzip_bytes(data),
        rows,
    )
    add_text(
        "feedback/edits.jsonl",
        "feedback",
        "feedback records with missing, wrong-typed and blank edits",
        [
            (dumps({"prompt": "Summarize my plan.", "completion": "Pro.", "edited_response": "You are on Pro."}), None),
            (dumps({"prompt": "q", "completion": "a", "original_response": "a"}), R.MISSING_FIELD),
            (dumps({"prompt": "q", "completion": "a", "edited_response": 5}), R.WRONG_TYPE),
            (dumps({"prompt": "q", "completion": "a", "edited_response": "  "}), R.EMPTY_CONTENT),
            (dumps({"messages": [{"role": "system", "content": "s"}], "edited_response": "e"}), R.MISSING_FIELD),
        ],
    )

    # -- not data, by design
    for path, data in [
        ("expert/README.md", b"# Expert sets\nWritten by the support team.\n"),
        ("expert/.DS_Store", b"\0\0\0\1Bud1"),
        ("expert/upload.jsonl.partial", b'{"prompt":"an upload still in progr'),
    ]:
        files.append(
            (CorpusFile(path, "expert", "not input: a README, a hidden file, a partial upload", ignored=True), data)
        )
    return files


@cache
def _unreadable() -> list[tuple[CorpusFile, bytes]]:
    good = dumps({"prompt": "q", "completion": "a"}) + b"\n"
    many = good * 500
    crc = bytearray(gzip_bytes(many))
    crc[-6] ^= 0xFF
    parquet = parquet_bytes(pa.table({"prompt": ["q"] * 50, "completion": ["a"] * 50}))
    cases = [
        ("logs/2026-11-05.jsonl.gz", b"\x1f\x8b\x08\x00 this is not gzip data at all", "corrupt gzip"),
        ("synthetic/batch-truncated.jsonl.gz", gzip_bytes(many)[:-40], "corrupt gzip"),
        ("expert/crc_error.jsonl.gz", bytes(crc), "corrupt gzip"),
        ("expert/trailing_garbage.jsonl.gz", gzip_bytes(good) + b"garbage", "corrupt gzip"),
        ("expert/not_gzip.jsonl.gz", good, "corrupt gzip"),
        ("expert/utf16_bom.jsonl", good.decode().encode("utf-16"), "UTF-16"),
        ("expert/utf16_no_bom.jsonl", good.decode().encode("utf-16-le"), "UTF-16"),
        ("expert/utf16_be_no_bom.json", good.decode().encode("utf-16-be"), "UTF-16"),
        ("expert/utf32_bom.json", good.decode().encode("utf-32"), "UTF-16/UTF-32"),
        ("expert/gzip_inside.jsonl", gzip_bytes(good), "gzip"),
        ("expert/parquet_inside.jsonl", parquet, "Parquet"),
        ("expert/truncated.parquet", parquet[:-20], "Parquet"),
        ("expert/lines.parquet", good, "Parquet"),
        ("expert/set.csv", b"prompt,completion\nq,a\n", "unsupported file type"),
        ("expert/notes.txt", good, "unsupported file type"),
        ("expert/archive.jsonl.bz2", b"BZh91AY&SY", "unsupported file type"),
        ("expert/batch.parquet.gz", gzip_bytes(parquet), "unsupported file type"),
        ("expert/no_extension", good, "unsupported file type"),
    ]
    return [(CorpusFile(path, _source(path), f"unreadable: {what}", error=what), data) for path, data, what in cases]


def _source(path: str) -> str:
    folder = path.split("/", 1)[0]
    return {"logs": "production_log", "expert": "expert", "synthetic": "synthetic", "feedback": "feedback"}[folder]


@cache
def _valid() -> list[tuple[CorpusFile, bytes]]:
    data, rows = text_file([ok(q, a) for q, a in VALID_QA])
    return [(CorpusFile("expert/valid.jsonl", "expert", "clean examples", rows), data)]


def _write(raw_dir: Path, files: list[tuple[CorpusFile, bytes]]) -> list[CorpusFile]:
    for spec, data in files:
        target = Path(raw_dir) / spec.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return [spec for spec, _ in files]


def readable_files() -> list[CorpusFile]:
    """The descriptions of `write_readable`'s files, without writing them (e.g. to parametrize tests)."""
    return [spec for spec, _ in _readable()]


def unreadable_files() -> list[CorpusFile]:
    return [spec for spec, _ in _unreadable()]


def write_readable(raw_dir: Path) -> list[CorpusFile]:
    """Files ingestion reads row by row (every row an example or a reject); no pipeline run stops on them."""
    return _write(raw_dir, _readable())


def write_unreadable(raw_dir: Path) -> list[CorpusFile]:
    """Files that cannot be read at all: each must raise IngestError naming it (and stop a pipeline run)."""
    return _write(raw_dir, _unreadable())


def write_valid(raw_dir: Path) -> list[CorpusFile]:
    """A small clean set to mix the corpus with."""
    return _write(raw_dir, _valid())


def write_corpus(raw_dir: Path) -> list[CorpusFile]:
    """The whole corpus under `raw_dir` (a data/raw-like folder with logs/, expert/, synthetic/, feedback/)."""
    return write_readable(raw_dir) + write_unreadable(raw_dir) + write_valid(raw_dir)
