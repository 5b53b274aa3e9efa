"""Read the user-supplied benchmark files (data/benchmarks/) into one frame of prompts to decontaminate against.

Any format ingestion reads (chat, ShareGPT, Alpaca, prompt/completion in .jsonl/.json/.parquet/...), records of
the usual benchmark shapes (`question`, `problem`, `prompt`, ... fields: MMLU, GSM8K, HumanEval, ARC), or plain
text with one prompt per line (.txt). What cannot be read is listed, never skipped silently.
"""

from pathlib import Path

import orjson
import polars as pl

from ftdata_assets.project import SUPPORTED_SUFFIXES
from ftdata_assets.transforms.deduplicate import role_text
from ftdata_assets.transforms.ingest import read_examples

PROMPT_FIELDS: tuple[str, ...] = ("question", "problem", "prompt", "instruction", "input", "query", "text")
"""Fields of a benchmark record holding the prompt, joined in this order when several are present."""

ITEM_SCHEMA = pl.Schema({"benchmark": pl.String, "item": pl.Int64, "text": pl.String})
PROBLEM_SCHEMA = pl.Schema({"benchmark": pl.String, "item": pl.Int64, "detail": pl.String})


def benchmark_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name.endswith((*SUPPORTED_SUFFIXES, ".txt"))
    )


def prompt_from_record(line: str | None) -> str | None:
    """The prompt of a benchmark record in a shape ingestion does not know (e.g. MMLU's `question`)."""
    try:
        record = orjson.loads(line or "")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    parts = [record[f].strip() for f in PROMPT_FIELDS if isinstance(record.get(f), str) and record[f].strip()]
    return "\n".join(parts) or None


def read_benchmark_file(path: Path, name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, problems) of one file; `item` is the 1-based line/record number."""
    if path.suffix == ".txt":
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
        items = pl.DataFrame(
            {"benchmark": name, "item": range(1, len(lines) + 1), "text": [line.strip() for line in lines]},
            schema=ITEM_SCHEMA,
        ).filter(pl.col("text") != "")
        return items, pl.DataFrame(schema=PROBLEM_SCHEMA)
    examples, rejects = read_examples(path, "expert")
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
