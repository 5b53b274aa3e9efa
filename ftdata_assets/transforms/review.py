"""The human review loop as pure polars: the queue people read, the decisions they write back, and the audit.

Rows that need a person (contradiction groups, samples of synthetic batches) become a `review_queue`, exported
as Parquet + CSV. Reviewers drop decision files (a filled-in copy of the CSV works as-is) into a folder; the next
run reads them with `read_decisions` and applies them with `apply_decisions`. Separately `sample_rows` draws a
stable audit sample of kept rows; `read_audit_labels` + `audit_metrics` turn reviewers' ok/error labels into an
error rate and Cohen's kappa.

Files written by people are messy, so the readers never raise on content: an unreadable file or a bad row is one
row of a `problems` frame (file, line, problem, detail), and everything else still applies. Reading the files
goes line by line in Python on purpose: they are as large as what people type (hundreds of rows), and per-line
parsing is what lets one bad line cost one line instead of the whole file. Everything downstream is vectorized.
"""

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from hashlib import blake2b
from pathlib import Path
from typing import Any

import polars as pl

from ftdata_assets.atomic_files import write_bytes_atomically
from ftdata_assets.transforms.dedup import DEFAULT_SOURCE_PRIORITY, source_rank
from ftdata_assets.transforms.deduplicate import role_text

DECISIONS: tuple[str, ...] = ("accept", "reject", "edit")
"""accept: train on the row as is; reject: it goes to rejects (rejected_in_review); edit: train on it with
`edited_answer` as its last assistant turn."""

AUDIT_LABELS: tuple[str, ...] = ("ok", "error")
"""An audited row is `ok`, or an `error`: it would teach the model something wrong."""

EDITED_TAG = "edited_in_review"

REVIEW_FILE_SUFFIXES: tuple[str, ...] = (".csv", ".jsonl", ".parquet")
SPREADSHEET_SUFFIXES: tuple[str, ...] = (".xlsx", ".xls", ".ods", ".numbers")
"""Not read, but reported: a reviewer who saved the queue from a spreadsheet in its native format meant it as
decisions, and silently ignoring it would lose their work."""

REVIEW_QUEUE_SCHEMA = pl.Schema(
    {
        "review_group": pl.String,  # members of one contradiction share it; a sample row is its own group
        "review_kind": pl.String,  # contradiction | synthetic_sample | audit ...
        "review_detail": pl.String,  # why the row is here
        "member": pl.Int64,  # 1-based position within the group
        "example_id": pl.String,
        "source": pl.String,
        "source_file": pl.String,
        "source_line": pl.Int64,
        "partition": pl.String,
        "prompt": pl.String,  # the user turns, joined by newlines
        "answer": pl.String,  # the assistant turns, joined by newlines
        "decision": pl.String,  # for the reviewer: accept | reject | edit
        "reviewer": pl.String,
        "edited_answer": pl.String,  # for decision == edit: replaces the last assistant turn
        "note": pl.String,
    }
)

DECISION_SCHEMA = pl.Schema(
    {
        "example_id": pl.String,
        "decision": pl.String,  # one of DECISIONS, trimmed and lower-cased
        "reviewer": pl.String,
        "edited_answer": pl.String,
        "note": pl.String,
        "decided_at": pl.Datetime("us", "UTC"),  # null when the file has none; naive times are taken as UTC
        "file": pl.String,  # the file's name inside the decisions folder
        "line": pl.Int64,  # CSV: spreadsheet row (header = 1); JSONL: line; Parquet: 1-based row
    }
)

AUDIT_LABEL_SCHEMA = pl.Schema(
    {
        "example_id": pl.String,
        "reviewer": pl.String,
        "label": pl.String,  # one of AUDIT_LABELS, trimmed and lower-cased
        "note": pl.String,
        "file": pl.String,
        "line": pl.Int64,
    }
)

PROBLEM_SCHEMA = pl.Schema(
    {
        "file": pl.String,
        "line": pl.Int64,  # null for a problem with the whole file
        "problem": pl.String,  # a short code: unreadable_file, missing_column, unknown_decision, ...
        "detail": pl.String,
    }
)

_TIMESTAMP_RAW = "__timestamp_raw"
_UTC = pl.Datetime("us", "UTC")
_HASH = "__review_hash"


# ------------------------------------------------------------------------------------------------------------
# the queue


def prompt_text(messages: pl.Expr) -> pl.Expr:
    """The user turns joined by newlines: what a reviewer compares across a contradiction group."""
    return role_text(messages, "user")


def answer_text(messages: pl.Expr) -> pl.Expr:
    """The assistant turns joined by newlines: what a reviewer judges."""
    return role_text(messages, "assistant")


def build_review_queue(members: pl.DataFrame, *, priority: Sequence[str] = DEFAULT_SOURCE_PRIORITY) -> pl.DataFrame:
    """One row per (review_kind, example_id) with the text a person needs and empty columns for their decision.

    `members` carries the example columns plus `review_kind`, `review_group` and `review_detail`. Rows are sorted
    by kind, group, source priority and example id, so a group's members sit side by side and the same input
    always gives the same file. An example listed twice under one kind keeps its highest-priority copy; a null
    `review_group` makes the row its own group.
    """
    missing = {"example_id", "messages", "review_kind"} - set(members.columns)
    if missing:
        raise ValueError(f"review members lack column(s): {', '.join(sorted(missing))}")
    if members.is_empty():
        return pl.DataFrame(schema=REVIEW_QUEUE_SCHEMA)
    optional = ("review_group", "review_detail", "source", "source_file", "source_line", "partition")
    frame = members.with_columns(
        pl.lit(None, REVIEW_QUEUE_SCHEMA[name]).alias(name) for name in optional if name not in members.columns
    )
    own_group = pl.col("review_kind").cast(pl.String) + pl.lit(":") + pl.col("example_id")
    frame = frame.select(
        pl.coalesce(pl.col("review_group").cast(pl.String), own_group).alias("review_group"),
        pl.col("review_group").alias("__group_order"),  # numeric cluster ids sort as numbers
        pl.col("review_kind").cast(pl.String),
        pl.col("review_detail").cast(pl.String),
        pl.col("example_id").cast(pl.String),
        pl.col("source").cast(pl.String),
        pl.col("source_file").cast(pl.String),
        pl.col("source_line").cast(pl.Int64),
        pl.col("partition").cast(pl.String),
        prompt_text(pl.col("messages")).alias("prompt"),
        answer_text(pl.col("messages")).alias("answer"),
        source_rank(priority).alias("__rank"),
    )
    frame = frame.sort(
        ["review_kind", "example_id", "__rank", "__group_order", "review_group", "source_file", "source_line"],
        nulls_last=True,
    ).unique(["review_kind", "example_id"], keep="first", maintain_order=True)
    frame = frame.sort(
        ["review_kind", "__group_order", "review_group", "__rank", "example_id", "source_file", "source_line"],
        nulls_last=True,
    ).with_columns(member=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("review_kind", "review_group"))
    return frame.select(
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in REVIEW_QUEUE_SCHEMA.items()
    )


# ------------------------------------------------------------------------------------------------------------
# export


def _csv_view(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no lists or structs: nested columns become JSON text a person can still read."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    return frame.with_columns(
        pl.Series(
            name,
            [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in frame[name].to_list()],
            dtype=pl.String,
        )
        for name in nested
    )


def write_review_export(frame: pl.DataFrame, directory: Path, stem: str) -> dict[str, Path]:
    """Write `<stem>.parquet` (for code) and `<stem>.csv` (for a spreadsheet: UTF-8, header, multi-line text
    quoted) atomically. The same frame always gives byte-identical files, so an unchanged queue is no diff."""
    directory.mkdir(parents=True, exist_ok=True)
    parquet = io.BytesIO()
    frame.write_parquet(parquet)
    paths = {"parquet": directory / f"{stem}.parquet", "csv": directory / f"{stem}.csv"}
    write_bytes_atomically(paths["parquet"], parquet.getvalue())
    write_bytes_atomically(paths["csv"], _csv_view(frame).write_csv().encode("utf-8"))
    return paths


# ------------------------------------------------------------------------------------------------------------
# reading files people wrote


def _problem(file: str, line: int | None, problem: str, detail: str) -> dict[str, Any]:
    return {"file": file, "line": line, "problem": problem, "detail": detail}


def _problems_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PROBLEM_SCHEMA, orient="row") if rows else pl.DataFrame(schema=PROBLEM_SCHEMA)


def _column_name(name: str) -> str:
    """`Example ID` / ` example-id ` -> `example_id`: spreadsheets and people rename headers."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _string_frame(columns: list[str], rows: list[list[str | None]], lines: list[int]) -> pl.DataFrame:
    data: dict[str, list[Any]] = {name: [row[i] for row in rows] for i, name in enumerate(columns)}
    schema = {name: pl.String for name in columns}
    return pl.DataFrame({**data, "line": lines}, schema={**schema, "line": pl.Int64})


def _read_csv(path: Path) -> tuple[pl.DataFrame | None, list[dict[str, Any]]]:
    name = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as error:
        detail = f"not UTF-8 (byte {error.start}); save it as 'CSV UTF-8'"
        return None, [_problem(name, None, "unreadable_file", detail)]
    if not text.strip():
        return None, [_problem(name, None, "empty_file", "the file has no header and no rows")]
    header_line = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", ";", "\t") if d in header_line), ",")  # European Excel writes ';'
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        records = list(reader)
    except csv.Error as error:
        detail = f"CSV error near text line {reader.line_num}: {error}"
        return None, [_problem(name, None, "unreadable_file", detail)]
    header = [_column_name(column) or f"__blank_{i}" for i, column in enumerate(records[0])]
    duplicated = sorted({column for column in header if header.count(column) > 1})
    if duplicated:
        return None, [_problem(name, 1, "duplicate_column", f"columns: {', '.join(duplicated)}")]
    problems, rows, lines = [], [], []
    for index, record in enumerate(records[1:], start=2):  # the spreadsheet row number: the header is row 1
        if not record:
            continue
        extra = record[len(header) :]
        if any(field.strip() for field in extra):
            detail = f"{len(record)} fields for {len(header)} columns"
            problems.append(_problem(name, index, "ragged_row", detail))
            continue
        rows.append([*record[: len(header)], *[None] * (len(header) - len(record))])
        lines.append(index)
    return _string_frame(header, rows, lines), problems


def _read_jsonl(path: Path) -> tuple[pl.DataFrame | None, list[dict[str, Any]]]:
    name = path.name
    problems: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    lines: list[int] = []
    for index, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8-sig" if index == 1 else "utf-8")
        except UnicodeDecodeError as error:
            problems.append(_problem(name, index, "invalid_utf8", f"not UTF-8 at byte {error.start}"))
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            problems.append(_problem(name, index, "invalid_json", error.msg))
            continue
        if not isinstance(value, dict):
            problems.append(_problem(name, index, "invalid_json", f"a JSON {type(value).__name__}, not an object"))
            continue
        objects.append({_column_name(str(key)): _as_text(item) for key, item in value.items()})
        lines.append(index)
    if not objects and not problems:
        return None, [_problem(name, None, "empty_file", "the file has no rows")]
    columns = list(dict.fromkeys(key for obj in objects for key in obj))
    return _string_frame(columns, [[obj.get(c) for c in columns] for obj in objects], lines), problems


def _read_parquet(path: Path) -> tuple[pl.DataFrame | None, list[dict[str, Any]]]:
    try:
        frame = pl.read_parquet(path)
    except Exception as error:  # any unreadable file is a problem row, never a failed run
        return None, [_problem(path.name, None, "unreadable_file", f"{type(error).__name__}: {error}"[:300])]
    renamed = [_column_name(column) for column in frame.columns]
    if len(set(renamed)) == len(renamed):
        frame = frame.rename(dict(zip(frame.columns, renamed, strict=True)))
    return frame.with_columns(line=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)), []


_READERS: dict[str, Callable[[Path], tuple[pl.DataFrame | None, list[dict[str, Any]]]]] = {
    ".csv": _read_csv,
    ".jsonl": _read_jsonl,
    ".parquet": _read_parquet,
}


def _review_files(directory: Path) -> list[Path]:
    """Decision/label files in name order; hidden files and editor lock files (`.~lock`, `~$`) are skipped."""
    if not directory.is_dir():
        return []
    suffixes = REVIEW_FILE_SUFFIXES + SPREADSHEET_SUFFIXES
    return sorted(
        (
            path
            for path in directory.iterdir()
            if path.is_file() and not path.name.startswith((".", "~")) and path.suffix.lower() in suffixes
        ),
        key=lambda path: path.name,
    )


def _parse_timestamps(raw: pl.Series) -> pl.Series:
    """ISO 8601 text -> UTC datetimes (naive = UTC); anything unparseable -> null. Runs once per distinct value."""
    mapping: dict[str, datetime] = {}
    for value in raw.drop_nulls().unique().to_list():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            continue
        mapping[value] = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return raw.replace_strict(mapping, default=None, return_dtype=_UTC)


def _timestamp_columns(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """`column` as a UTC datetime, plus the original text in _TIMESTAMP_RAW (to report what did not parse)."""
    if column not in frame.columns:
        return frame.with_columns(pl.lit(None, pl.String).alias(_TIMESTAMP_RAW), pl.lit(None, _UTC).alias(column))
    dtype = frame.schema[column]
    if isinstance(dtype, pl.Datetime):
        value = pl.col(column)
        value = value.dt.convert_time_zone("UTC") if dtype.time_zone else value.dt.replace_time_zone("UTC")
        return frame.with_columns(
            pl.col(column).cast(pl.String).alias(_TIMESTAMP_RAW), value.dt.cast_time_unit("us").alias(column)
        )
    if dtype == pl.Date:
        return frame.with_columns(
            pl.col(column).cast(pl.String).alias(_TIMESTAMP_RAW),
            pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(column),
        )
    raw = frame.get_column(column).cast(pl.String)
    cleaned = raw.str.strip_chars()
    cleaned = pl.select(pl.when(cleaned.str.len_chars() > 0).then(cleaned)).to_series()
    return frame.with_columns(cleaned.alias(_TIMESTAMP_RAW), _parse_timestamps(cleaned).alias(column))


def _collect(
    directory: Path, required: Sequence[str], optional: Sequence[str], timestamp: str | None = None
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Every review file of `directory` as one frame of the wanted columns (String; the timestamp as UTC
    datetime) plus file and line, and the problems of files that could not be used at all."""
    wanted = [*required, *optional]
    frames: list[pl.DataFrame] = []
    problems: list[dict[str, Any]] = []
    for path in _review_files(directory):
        suffix = path.suffix.lower()
        if suffix in SPREADSHEET_SUFFIXES:
            detail = f"{suffix} files are not read; save it as CSV UTF-8 (or JSONL / Parquet)"
            problems.append(_problem(path.name, None, "unsupported_file", detail))
            continue
        try:
            frame, file_problems = _READERS[suffix](path)
        except OSError as error:
            problems.append(_problem(path.name, None, "unreadable_file", f"{type(error).__name__}: {error}"))
            continue
        problems.extend(file_problems)
        if frame is None:
            continue
        columns = [column for column in frame.columns if column != "line" and not column.startswith("__")]
        absent = [column for column in required if column not in frame.columns]
        if absent:
            found = ", ".join(columns) or "none"
            detail = f"missing {', '.join(absent)} (found: {found})"[:300]
            problems.append(_problem(path.name, None, "missing_column", detail))
            continue
        frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in wanted if c not in frame.columns)
        if timestamp is not None:
            frame = _timestamp_columns(frame, timestamp)
        try:
            frame = frame.select(
                *(pl.col(c).cast(pl.String) for c in wanted if c != timestamp),
                *((pl.col(timestamp), pl.col(_TIMESTAMP_RAW)) if timestamp is not None else ()),
                pl.lit(path.name).alias("file"),
                pl.col("line").cast(pl.Int64),
            )
        except pl.exceptions.PolarsError as error:  # e.g. a nested Parquet column where text is expected
            problems.append(_problem(path.name, None, "wrong_type", f"{type(error).__name__}: {error}"[:300]))
            continue
        frames.append(frame)
    schema = {**{c: pl.String for c in wanted}, "file": pl.String, "line": pl.Int64}
    if timestamp is not None:
        schema |= {timestamp: _UTC, _TIMESTAMP_RAW: pl.String}
    if not frames:
        return pl.DataFrame(schema=schema), problems
    return pl.concat(frames, how="diagonal").select(pl.col(c).cast(t) for c, t in schema.items()), problems


def _text(column: str) -> pl.Expr:
    """Trimmed text; blank -> null (a spreadsheet cannot tell an empty cell from an empty string)."""
    value = pl.col(column).str.strip_chars()
    return pl.when(value.str.len_chars() > 0).then(value).alias(column)


def _quoted(column: str) -> pl.Expr:
    return pl.lit("'") + pl.col(column).fill_null("") + pl.lit("'")


def _split_problems(
    frame: pl.DataFrame, rules: list[tuple[str, pl.Expr, pl.Expr]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Tag each row with its first failing rule (name, condition, detail); return (good rows, problem rows)."""
    problem: Any = pl
    detail: Any = pl
    for name, condition, why in rules:
        problem = problem.when(condition).then(pl.lit(name))
        detail = detail.when(condition).then(why)
    tagged = frame.with_columns(problem.otherwise(None).alias("__problem"), detail.otherwise(None).alias("__detail"))
    bad = tagged.filter(pl.col("__problem").is_not_null()).select(
        "file", "line", pl.col("__problem").alias("problem"), pl.col("__detail").alias("detail")
    )
    return tagged.filter(pl.col("__problem").is_null()).drop("__problem", "__detail"), bad


def _finish_problems(file_problems: list[dict[str, Any]], *frames: pl.DataFrame) -> pl.DataFrame:
    """All problems in one frame, by file, line (file-level first) and code: stable for metadata and diffs."""
    return pl.concat([_problems_frame(file_problems), *(f.select(PROBLEM_SCHEMA.names()) for f in frames)]).sort(
        "file", "line", "problem", "detail", nulls_last=False
    )


# ------------------------------------------------------------------------------------------------------------
# decisions

_DECISION_ORDER = ("decided_at", "file", "line")
"""Later wins: a timestamped decision beats an undated one (nulls sort first), then later file name, later line."""


def read_decisions(directory: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every decision in the `*.csv`, `*.jsonl` and `*.parquet` files of `directory` (name order), and the
    problems found; never raises on what people wrote.

    Required columns: example_id, decision, reviewer; optional: edited_answer (non-blank when decision is
    `edit`), note, decided_at (ISO 8601; naive = UTC). Rows whose decision is blank are not decided yet and are
    skipped silently, unless they carry an edited_answer (`missing_decision`: the edit would be lost). So a
    filled-in copy of the exported queue CSV is a valid decisions file. Decisions come back in the order that
    decides who wins (decided_at with nulls first, file, line); `conflicting_decisions` problems are
    informational: reviewers' latest decisions on one example differ, and the latest one still applies. A missing
    folder means no decisions.
    """
    frame, file_problems = _collect(
        directory, ("example_id", "decision", "reviewer"), ("edited_answer", "note"), timestamp="decided_at"
    )
    frame = frame.with_columns(
        _text("example_id"),
        _text("decision").str.to_lowercase(),
        _text("reviewer"),
        _text("edited_answer"),
        _text("note"),
    ).filter(pl.col("decision").is_not_null() | pl.col("edited_answer").is_not_null())
    rules = [
        (
            "missing_decision",
            pl.col("decision").is_null(),
            pl.lit("edited_answer without a decision (write 'edit') for ") + _quoted("example_id"),
        ),
        ("missing_example_id", pl.col("example_id").is_null(), pl.lit("the row has a decision but no example_id")),
        (
            "unknown_decision",
            ~pl.col("decision").is_in(DECISIONS),
            pl.lit("decision ")
            + _quoted("decision")
            + pl.lit(f" is not one of {', '.join(DECISIONS)} (")
            + pl.col("example_id")
            + pl.lit(")"),
        ),
        ("missing_reviewer", pl.col("reviewer").is_null(), pl.lit("no reviewer for ") + _quoted("example_id")),
        (
            "empty_edit",
            (pl.col("decision") == "edit") & pl.col("edited_answer").is_null(),
            pl.lit("decision 'edit' with a blank edited_answer for ") + _quoted("example_id"),
        ),
        (
            "bad_timestamp",
            pl.col(_TIMESTAMP_RAW).is_not_null() & pl.col("decided_at").is_null(),
            pl.lit("decided_at ") + _quoted(_TIMESTAMP_RAW) + pl.lit(" is not an ISO 8601 timestamp"),
        ),
    ]
    decisions, bad = _split_problems(frame, rules)
    decisions = decisions.select(DECISION_SCHEMA.names()).sort(_DECISION_ORDER, nulls_last=False)
    ignored = decisions.filter(pl.col("edited_answer").is_not_null() & (pl.col("decision") != "edit")).select(
        "file",
        "line",
        problem=pl.lit("edited_answer_ignored"),
        detail=pl.lit("edited_answer is only used with decision 'edit'; applied as ")
        + _quoted("decision")
        + pl.lit(" for ")
        + _quoted("example_id"),
    )
    return decisions, _finish_problems(file_problems, bad, ignored, _conflicts(decisions))


def _conflicts(decisions: pl.DataFrame) -> pl.DataFrame:
    """One problem per example whose reviewers' latest decisions differ (a reviewer changing their own mind is
    not a conflict), located at the decision that wins."""
    outcome = pl.col("decision") + pl.when(pl.col("decision") == "edit").then(
        pl.lit(": ") + pl.col("edited_answer")
    ).otherwise(pl.lit(""))
    per_reviewer = decisions.unique(["example_id", "reviewer"], keep="last", maintain_order=True).with_columns(
        __outcome=outcome,
        __said=pl.col("reviewer")
        + pl.lit(": ")
        + pl.col("decision")
        + pl.lit(" (")
        + pl.col("file")
        + pl.lit(":")
        + pl.col("line").cast(pl.String)
        + pl.lit(")"),
    )
    disputed = (
        per_reviewer.group_by("example_id", maintain_order=True)
        .agg(pl.col("__outcome").n_unique().alias("__n"), pl.col("__said").str.join("; ").alias("__said"))
        .filter(pl.col("__n") > 1)
    )
    winners = latest_decisions(decisions).select("example_id", "file", "line", "decision", "reviewer")
    return disputed.join(winners, on="example_id", how="left").select(
        "file",
        "line",
        problem=pl.lit("conflicting_decisions"),
        detail=pl.lit("reviewers disagree on ")
        + _quoted("example_id")
        + pl.lit(": ")
        + pl.col("__said")
        + pl.lit("; the latest applies: ")
        + pl.col("decision")
        + pl.lit(" by ")
        + pl.col("reviewer"),
    )


def latest_decisions(decisions: pl.DataFrame) -> pl.DataFrame:
    """One decision per example_id (sorted by it): the latest by decided_at (undated first), file name, line."""
    frame = decisions.with_columns(
        pl.lit(None, dtype).alias(name) for name, dtype in DECISION_SCHEMA.items() if name not in decisions.columns
    )
    return (
        frame.sort(_DECISION_ORDER, nulls_last=False, maintain_order=True)
        .unique("example_id", keep="last", maintain_order=True)
        .sort("example_id")
        .select(DECISION_SCHEMA.names())
    )


def _replace_last_assistant(messages: pl.Expr, content: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """`messages` with the content of its last assistant turn replaced (its other fields kept); a conversation
    without an assistant turn gets one appended, so a reviewer's answer is never dropped."""
    turn = pl.element().struct
    last = messages.list.eval(pl.int_range(pl.len()).filter(turn.field("role") == "assistant").max()).list.first()
    whole = messages.fill_null(pl.lit([], dtype=dtype))
    at = last.fill_null(whole.list.len())
    replaced = whole.list.get(last, null_on_oob=True).struct.with_fields(content=content)
    appended = pl.struct(role=pl.lit("assistant"), content=content).cast(dtype.inner)  # type: ignore[attr-defined]
    new_turn = pl.when(last.is_not_null()).then(replaced).otherwise(appended)
    return pl.concat_list(whole.list.slice(0, at), pl.concat_list(new_turn), whole.list.slice(at + 1))


def apply_decisions(examples: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """`examples` (same rows, same order) with `review_decision` and `reviewed_by` from the latest decision per
    example_id (null when undecided). `edit` replaces the last assistant turn's content with the edited answer
    and adds the `edited_in_review` tag when there is a `tags` column. Rejects are only marked: the caller routes
    them to rejects, so no row disappears here."""
    latest = latest_decisions(decisions).select(
        "example_id",
        pl.col("decision").alias("__decision"),
        pl.col("reviewer").alias("__reviewer"),
        pl.col("edited_answer").alias("__edited"),
    )
    joined = examples.join(latest, on="example_id", how="left", maintain_order="left")
    edit = pl.col("__decision") == "edit"
    updates = [
        pl.when(edit)
        .then(_replace_last_assistant(pl.col("messages"), pl.col("__edited"), examples.schema["messages"]))
        .otherwise(pl.col("messages"))
        .alias("messages"),
        pl.col("__decision").alias("review_decision"),
        pl.col("__reviewer").alias("reviewed_by"),
    ]
    if "tags" in examples.columns:
        tagged = (
            (pl.col("tags").fill_null(pl.lit([], dtype=pl.List(pl.String))).list.concat(pl.lit([EDITED_TAG])))
            .list.unique()
            .list.sort()
        )  # tags are kept sorted and unique (see transforms.quality)
        updates.append(pl.when(edit).then(tagged).otherwise(pl.col("tags")).alias("tags"))
    return joined.with_columns(updates).drop("__decision", "__reviewer", "__edited")


def unknown_decisions(examples: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """Decision rows whose example_id is not in `examples` (a stale queue, a typo): reported, never applied."""
    return decisions.filter(~pl.col("example_id").is_in(examples.get_column("example_id").implode()))


# ------------------------------------------------------------------------------------------------------------
# sampling


def _stable_hash(values: pl.Series, seed: str) -> pl.Series:
    """64-bit blake2b of (seed, value): the same on every machine and polars version, unlike `Series.hash`."""
    prefix = f"{len(seed)}:{seed}:".encode()
    return pl.Series(
        [
            int.from_bytes(blake2b(prefix + ("" if v is None else v).encode(), digest_size=8).digest(), "big")
            for v in values.cast(pl.String).to_list()
        ],
        dtype=pl.UInt64,
    )


def sample_rows(frame: pl.DataFrame, size: int, seed: str, by: str | None = None) -> pl.DataFrame:
    """A deterministic pseudo-random sample: the `size` rows (per value of `by`, if given) whose
    hash(seed, example_id) is smallest.

    The same rows and seed give the same sample on any machine, whatever the input order. Hash ranking also makes
    the sample stable across versions: adding rows only swaps in the new rows that rank lower, everything else
    stays. Ties (one example_id twice) fall back to source_file/source_line. size <= 0 gives an empty frame.
    """
    if size <= 0 or frame.is_empty():
        return frame.clear()
    order = [_HASH, "example_id", *(c for c in ("source_file", "source_line") if c in frame.columns)]
    ranked = frame.with_columns(_stable_hash(frame.get_column("example_id"), seed).alias(_HASH)).sort(
        order, nulls_last=True, maintain_order=True
    )
    if by is None:
        return ranked.head(size).drop(_HASH)
    return (
        ranked.filter(pl.int_range(pl.len()).over(by) < size)
        .sort([by, *order], nulls_last=True, maintain_order=True)
        .drop(_HASH)
    )


# ------------------------------------------------------------------------------------------------------------
# audit


def read_audit_labels(directory: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every audit label in the review files of `directory` (name order), and the problems found.

    Required columns: example_id, reviewer, label (`ok` / `error`); optional note. Rows with a blank label are
    not labelled yet and are skipped, so a filled-in copy of the exported audit sample CSV works as-is. Labels
    come back in file, line order (a reviewer's later label on a row replaces their earlier one)."""
    frame, file_problems = _collect(directory, ("example_id", "reviewer", "label"), ("note",))
    frame = frame.with_columns(
        _text("example_id"), _text("reviewer"), _text("label").str.to_lowercase(), _text("note")
    ).filter(pl.col("label").is_not_null())
    rules = [
        ("missing_example_id", pl.col("example_id").is_null(), pl.lit("the row has a label but no example_id")),
        (
            "unknown_label",
            ~pl.col("label").is_in(AUDIT_LABELS),
            pl.lit("label ")
            + _quoted("label")
            + pl.lit(f" is not one of {', '.join(AUDIT_LABELS)} (")
            + pl.col("example_id")
            + pl.lit(")"),
        ),
        ("missing_reviewer", pl.col("reviewer").is_null(), pl.lit("no reviewer for ") + _quoted("example_id")),
    ]
    labels, bad = _split_problems(frame, rules)
    return labels.select(AUDIT_LABEL_SCHEMA.names()).sort("file", "line"), _finish_problems(file_problems, bad)


def cohen_kappa(rater_a: pl.Series, rater_b: pl.Series) -> float | None:
    """Cohen's kappa (p_o - p_e) / (1 - p_e) of two raters' labels on the same items (position i = item i).

    p_o is the share of items they agree on, p_e the agreement expected by chance from each rater's label
    frequencies. None when there are no items, or when p_e == 1 (both raters gave every item the same single
    label): agreement beyond chance is 0/0 there, and reporting 1.0 or 0.0 would both be made up.
    """
    if len(rater_a) != len(rater_b):
        raise ValueError("the two raters must label the same items")
    n = len(rater_a)
    if n == 0:
        return None
    p_o = float((rater_a == rater_b).sum()) / n
    share_a = rater_a.rename("label").value_counts(name="a").with_columns(pl.col("a") / n)
    share_b = rater_b.rename("label").value_counts(name="b").with_columns(pl.col("b") / n)
    chance = share_a.join(share_b, on="label", how="inner", nulls_equal=True)
    p_e = float(chance.select((pl.col("a") * pl.col("b")).sum()).item())
    if p_e >= 1.0 - 1e-12:
        return None
    return (p_o - p_e) / (1.0 - p_e)


def audit_metrics(sample: pl.DataFrame, labels: pl.DataFrame) -> dict[str, Any]:
    """The audit's numbers: how much is labelled, the error rate, and inter-rater agreement.

    - A reviewer's latest label (file, line order) on a row replaces their earlier ones.
    - A row's verdict is `error` when at least half of its reviewers say error: a tie counts as an error, because
      a row one careful reviewer flags should not be released on a coin flip.
    - error_rate = rows judged error / labelled rows (None until something is labelled); `complete` says whether
      every sampled row is labelled (True for an empty sample).
    - kappa: Cohen's kappa over rows labelled by two or more reviewers, taking the first two by reviewer name
      (rater A = alphabetically first). None with fewer than 2 such rows or when undefined (see `cohen_kappa`).
      `agreement` is the plain share of those rows where the two agree.
    - Labels on example ids outside the sample are ignored and counted in `labels_outside_sample`.
    """
    sampled_ids = sample.get_column("example_id").drop_nulls().unique()
    ordered = labels.sort("file", "line", maintain_order=True) if {"file", "line"} <= set(labels.columns) else labels
    inside = pl.col("example_id").is_in(sampled_ids.implode())
    outside = ordered.filter(~inside).height
    latest = ordered.filter(inside).unique(["example_id", "reviewer"], keep="last", maintain_order=True)
    rows = latest.group_by("example_id").agg(
        pl.len().alias("labels"), (pl.col("label") == "error").sum().alias("errors")
    )
    labelled = rows.height
    errors = rows.filter(pl.col("errors") * 2 >= pl.col("labels")).height
    pairs = (
        latest.sort("example_id", "reviewer")
        .group_by("example_id", maintain_order=True)
        .agg(
            pl.len().alias("n"), pl.col("label").first().alias("a"), pl.col("label").get(1, null_on_oob=True).alias("b")
        )
        .filter(pl.col("n") >= 2)
    )
    kappa = cohen_kappa(pairs.get_column("a"), pairs.get_column("b")) if pairs.height >= 2 else None
    return {
        "sampled": sampled_ids.len(),
        "labelled_rows": labelled,
        "labels": latest.height,
        "errors": errors,
        "error_rate": errors / labelled if labelled else None,
        "complete": labelled == sampled_ids.len(),
        "double_labelled_rows": pairs.height,
        "kappa": kappa,
        "agreement": float((pairs.get_column("a") == pairs.get_column("b")).mean()) if pairs.height else None,
        "labels_outside_sample": outside,
    }
