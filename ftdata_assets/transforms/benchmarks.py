"""Read the user-supplied benchmark files (data/benchmarks/) into one frame of prompts to decontaminate against.

Any format ingestion reads (chat, ShareGPT, Alpaca, Dolly, prompt/completion, ... in .jsonl/.json/.parquet/...),
records of the usual benchmark shapes (`question`, `problem`, `prompt`, ... fields: MMLU, GSM8K, HumanEval, ARC,
AlpacaEval's `instruction`; MT-bench / Arena-Hard `turns`, a list of strings or of `{content}`), CSV files with a
header naming the prompt column (MMLU-style `question` + choice columns, TruthfulQA's `Question`; MMLU's own
headerless question,A,B,C,D,answer rows too), or plain text with one prompt per line (.txt). What cannot be read
is listed, never skipped silently.

For MMLU-style rows the prompt is the question alone, as for JSON records with `choices`: the choices are short
words that do not make a prompt leak, and appending them would turn a short question's whole-prompt match into
a longer text no training row repeats.
"""

from pathlib import Path

import orjson
import polars as pl

from ftdata_assets.project import SUPPORTED_SUFFIXES
from ftdata_assets.transforms.deduplicate import role_text
from ftdata_assets.transforms.ingest import read_examples

PROMPT_FIELDS: tuple[str, ...] = ("question", "problem", "prompt", "instruction", "input", "query", "text")
"""Fields of a benchmark record holding the prompt, joined in this order when several are present."""
TURNS_FIELD = "turns"
"""MT-bench / Arena-Hard: the user turns of a multi-turn question, strings or `{"content": ...}` objects."""
CSV_SUFFIX = ".csv"
BENCHMARK_SUFFIXES: tuple[str, ...] = (*SUPPORTED_SUFFIXES, ".txt", CSV_SUFFIX)
_MMLU_ANSWERS = frozenset("ABCD")

ITEM_SCHEMA = pl.Schema({"benchmark": pl.String, "item": pl.Int64, "text": pl.String})
PROBLEM_SCHEMA = pl.Schema({"benchmark": pl.String, "item": pl.Int64, "detail": pl.String})


def benchmark_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not p.name.startswith(".")
        and p.name.lower().endswith((*SUPPORTED_SUFFIXES, ".txt", CSV_SUFFIX))
    )


def _turn_texts(turns: object) -> list[str]:
    """The texts of MT-bench (`["...", "..."]`) or Arena-Hard (`[{"content": "..."}]`) turns."""
    if not isinstance(turns, list):
        return []
    texts = []
    for turn in turns:
        text = turn.get("content") if isinstance(turn, dict) else turn
        if isinstance(text, str) and text.strip():
            texts.append(text.strip())
    return texts


def prompt_from_record(line: str | None) -> str | None:
    """The prompt of a benchmark record in a shape ingestion does not know (e.g. MMLU's `question`)."""
    try:
        record = orjson.loads(line or "")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    parts = [record[f].strip() for f in PROMPT_FIELDS if isinstance(record.get(f), str) and record[f].strip()]
    parts += _turn_texts(record.get(TURNS_FIELD))
    return "\n".join(parts) or None


def _csv_prompts(path: Path, name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, problems) of a CSV benchmark: the prompt columns (matched case-insensitively, e.g. TruthfulQA's
    `Question`), or column 1 of MMLU's headerless question,A,B,C,D,answer rows; `item` is the data row number."""
    try:
        frame = pl.read_csv(path, infer_schema=False, has_header=True, truncate_ragged_lines=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as error:
        problem = pl.DataFrame({"benchmark": [name], "item": [0], "detail": [f"unreadable CSV: {error}"]})
        return pl.DataFrame(schema=ITEM_SCHEMA), problem.cast(dict(PROBLEM_SCHEMA))
    by_name = {column.strip().lower(): column for column in frame.columns}
    columns = [by_name[f] for f in PROMPT_FIELDS if f in by_name]
    if not columns and frame.width >= 6:  # MMLU's own files: no header, the answer letter last
        headerless = pl.read_csv(path, infer_schema=False, has_header=False)
        if headerless.get_column(headerless.columns[-1]).str.strip_chars().is_in(list(_MMLU_ANSWERS)).all():
            frame, columns = headerless, [headerless.columns[0]]
    if not columns:
        detail = f"no prompt column ({', '.join(PROMPT_FIELDS)}) in the header: {', '.join(frame.columns)[:300]}"
        problem = pl.DataFrame({"benchmark": [name], "item": [0], "detail": [detail]})
        return pl.DataFrame(schema=ITEM_SCHEMA), problem.cast(dict(PROBLEM_SCHEMA))
    text = pl.concat_str([pl.col(c).str.strip_chars() for c in columns], separator="\n", ignore_nulls=True)
    rows = frame.select(benchmark=pl.lit(name), item=pl.int_range(1, pl.len() + 1, dtype=pl.Int64), text=text)
    blank = pl.col("text").is_null() | (pl.col("text").str.strip_chars() == "")
    problems = rows.filter(blank).select("benchmark", "item", detail=pl.lit("no prompt in the row's prompt columns"))
    return rows.filter(~blank).cast(dict(ITEM_SCHEMA)), problems.cast(dict(PROBLEM_SCHEMA))


def read_benchmark_file(path: Path, name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, problems) of one file; `item` is the 1-based line/record number."""
    if path.suffix.lower() == ".txt":
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
        items = pl.DataFrame(
            {"benchmark": name, "item": range(1, len(lines) + 1), "text": [line.strip() for line in lines]},
            schema=ITEM_SCHEMA,
        ).filter(pl.col("text") != "")
        return items, pl.DataFrame(schema=PROBLEM_SCHEMA)
    if path.name.lower().endswith(CSV_SUFFIX):
        return _csv_prompts(path, name)
    # Benchmark shapes (MT-bench's `turns`) are no training format: unknown_format rows are read below.
    examples, rejects = read_examples(path, "expert", require_format=False)
    parsed = examples.select(
        benchmark=pl.lit(name), item=pl.col("source_line"), text=role_text(pl.col("messages"), "user")
    )
    fallback = rejects.select(
        benchmark=pl.lit(name),
        item=pl.col("source_line"),
        text=pl.col("original").map_elements(prompt_from_record, return_dtype=pl.String),
        detail=pl.format("{}: {}", "reason", "detail"),
    )
    items = pl.concat([parsed, fallback.filter(pl.col("text").is_not_null()).drop("detail")]).sort("item")
    problems = fallback.filter(pl.col("text").is_null()).select(list(PROBLEM_SCHEMA))
    return items.cast(dict(ITEM_SCHEMA)), problems.cast(dict(PROBLEM_SCHEMA))


def read_benchmarks(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items: benchmark, item, text) and (problems: benchmark, item, detail) over every file of the folder;
    a benchmark's name is its path relative to the folder."""
    items, problems = [pl.DataFrame(schema=ITEM_SCHEMA)], [pl.DataFrame(schema=PROBLEM_SCHEMA)]
    for path in benchmark_files(folder):
        found, bad = read_benchmark_file(path, path.relative_to(folder).as_posix())
        items.append(found)
        problems.append(bad)
    return pl.concat(items), pl.concat(problems)
