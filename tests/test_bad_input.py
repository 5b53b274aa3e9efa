"""Bad input, nothing lost: the malformed-file corpus (tests/bad_input_corpus.py) through ingestion and the pipeline.

Row counts are recomputed here from the bytes on disk (not taken from the corpus's own description), so a
reader that skipped or merged lines would disagree with both.
"""

import gzip
import json
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
import pytest

from ftdata_assets.defs.runner import PipelineError, materialize_all
from ftdata_assets.project import Project, data_file_stem, is_data_file
from ftdata_assets.schema import RAW_SCHEMA, REASON_CODES, SPLITS, ReasonCode
from ftdata_assets.transforms.ingest import ORIGINAL_KEEP_CHARS, TRUNCATION_MARKER, IngestError, read_raw
from ftdata_assets.transforms.validation_views import REASONS_BY_LAYER
from tests.bad_input_corpus import (
    BOM,
    MAX_LINE_BYTES,
    CorpusFile,
    readable_files,
    unreadable_files,
    write_readable,
    write_unreadable,
    write_valid,
)
from tests.conftest import make_project

READABLE = [spec for spec in readable_files() if not spec.ignored]
IGNORED = [spec for spec in readable_files() if spec.ignored]
UNREADABLE = unreadable_files()


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data/raw of a project folder holding the whole corpus, and a sub-folder in expert/."""
    raw = tmp_path_factory.mktemp("corpus") / "data" / "raw"
    write_readable(raw)
    write_unreadable(raw)
    (raw / "expert" / "older_sets").mkdir()
    (raw / "expert" / "older_sets" / "a.jsonl").write_bytes(b'{"prompt": "q", "completion": "a"}\n')
    return raw


# ------------------------------------------------------------------------------ independent reading of the bytes


def file_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.lower().endswith(".gz") and data else data


def text_lines(data: bytes) -> list[bytes]:
    """Physical lines without terminators: LF (or CRLF) ends a line; a file without any LF uses CR."""
    if b"\n" not in data:
        return data.split(b"\r")
    return [line.removesuffix(b"\r") for line in data.split(b"\n")]


def is_blank(line: bytes) -> bool:
    return not line.strip().removeprefix(BOM).strip()


def json_document(data: bytes) -> object | None:
    """The whole file as one JSON document (a .json array or record), or None if it is not one."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None


def count_records(path: Path) -> int:
    """Records in a file by the README's rules: Parquet rows, JSON array elements, else non-blank lines."""
    if path.name.lower().endswith(".parquet"):
        return pq.read_metadata(path).num_rows if path.stat().st_size else 0
    data = file_bytes(path)
    if path.name.lower().removesuffix(".gz").endswith(".json"):
        document = json_document(data)
        if isinstance(document, list):
            return len(document)
        if isinstance(document, dict):
            return 1
    return sum(1 for line in text_lines(data) if not is_blank(line))


def expected_original(spec: CorpusFile, path: Path, line_no: int, reason: str) -> str | None:
    """The `original` a reject must keep: the line as read (text files), or None where it is re-serialized."""
    data = file_bytes(path)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet") or (name.endswith(".json") and isinstance(json_document(data), list | dict)):
        return None  # a record re-serialized as compact JSON: checked by parsing it
    text = text_lines(data)[line_no - 1].decode("utf-8", "backslashreplace")
    if reason == ReasonCode.TOO_LONG and len(text) > ORIGINAL_KEEP_CHARS:
        return text[:ORIGINAL_KEEP_CHARS] + TRUNCATION_MARKER
    return text


# ---------------------------------------------------------------------------------------------- read_raw


def test_the_corpus_covers_every_ingest_reason_and_is_written_deterministically(tmp_path: Path) -> None:
    reasons = {reason for spec in READABLE for _, reason in spec.rejects}
    assert reasons == set(REASONS_BY_LAYER["ingest"])
    write_readable(tmp_path / "a")
    write_readable(tmp_path / "b")
    for spec in readable_files():
        assert (tmp_path / "a" / spec.path).read_bytes() == (tmp_path / "b" / spec.path).read_bytes(), spec.path


@pytest.mark.parametrize("spec", READABLE, ids=lambda spec: spec.path)
def test_every_record_of_a_readable_file_is_one_row(corpus_dir: Path, spec: CorpusFile) -> None:
    path = corpus_dir / spec.path
    raw = read_raw(path, spec.source, root=corpus_dir)
    assert raw.schema == RAW_SCHEMA
    assert raw.height == count_records(path) == len(spec.rows), spec.case
    assert raw.select("source_line", "reason").rows() == list(spec.rows)
    assert raw["source_file"].unique().to_list() in ([spec.path], [])

    examples = raw.filter(pl.col("reason").is_null())
    assert examples["original"].null_count() == examples.height
    assert examples["example_id"].str.len_chars().eq(64).all()
    assert examples["messages"].list.len().ge(2).all()

    rejects = raw.filter(pl.col("reason").is_not_null())
    for row in rejects.iter_rows(named=True):
        assert row["reason"] in REASON_CODES
        assert row["detail"] and row["original"], row
        assert row["example_id"] is None and row["messages"] is None
        original = expected_original(spec, path, row["source_line"], row["reason"])
        if original is not None:
            assert row["original"] == original, (row["source_line"], row["reason"])
        elif row["reason"] != ReasonCode.TOO_LONG:
            json.loads(row["original"])  # the record, re-serialized


@pytest.mark.parametrize("spec", UNREADABLE, ids=lambda spec: spec.path)
def test_an_unreadable_file_raises_ingest_error_naming_it(corpus_dir: Path, spec: CorpusFile) -> None:
    path = corpus_dir / spec.path
    with pytest.raises(IngestError) as raised:
        read_raw(path, spec.source, root=corpus_dir)
    message = str(raised.value)
    assert str(path) in message and spec.error in message, message
    assert "\n" not in message  # the pipeline's error summary shows the last line only


def test_decisions_on_odd_but_valid_records(corpus_dir: Path) -> None:
    def rows(name: str) -> pl.DataFrame:
        return read_raw(corpus_dir / "expert" / name, "expert", root=corpus_dir)

    def contents(frame: pl.DataFrame, row: int) -> list[str]:
        return [m["content"] for m in frame["messages"][row]]

    duplicates = rows("duplicate_keys.jsonl")
    assert contents(duplicates, 0) == ["Which prompt wins?", "The last one."]  # last key wins
    assert contents(duplicates, 1)[0] == "Duplicated messages?"
    # the 999-turn one ends on a user turn, which ingest trims (tag trimmed_trailing_user)
    assert rows("long_conversation.jsonl")["messages"].list.len().to_list() == [1_000, 998]
    long = rows("long_content.jsonl")
    assert [len(contents(long, i)[1]) for i in range(3)] == [900_000, 400_000, 200_000]
    boundary = rows("line_limit_boundary.jsonl")
    assert len(contents(boundary, 0)[1]) > MAX_LINE_BYTES - 100
    assert "1,000,001 bytes" in boundary["detail"][1]
    huge = rows("twenty_mb_line.jsonl")
    assert "20,000,039 bytes" in huge["detail"][1]
    assert contents(rows("surrogates.jsonl"), 5)[0] == "a valid pair 😀 here"
    pandas_style = rows("pandas_style.parquet")
    assert pandas_style["created_at"][0].isoformat() == "2026-03-01T12:30:00.123456+00:00"
    assert pandas_style["conversation_id"][0] is not None and pandas_style["conversation_id"][1] is None
    big = rows("big_numbers.jsonl")
    assert "too large to be an exact id" in big["detail"][0] and big["user_id"][5] is not None
    wrong = rows("wrong_types.parquet")
    assert "created_at cannot be read" in wrong["detail"][4] and "OverflowError" in wrong["detail"][4]
    truncated = rows("truncated_array_pretty.json")
    assert truncated["detail"].str.contains("the file is not valid JSON").all()
    turn_order = rows("turn_order.jsonl")
    # a leading greeting or tool result is dropped and tagged; with nothing answered after the user turn, rejected
    assert [[m["role"] for m in turn_order["messages"][i]] for i in (0, 1)] == [["user", "assistant"]] * 2
    assert turn_order["tags"][0].to_list() == turn_order["tags"][1].to_list() == ["dropped_leading_turns"]
    assert turn_order["reason"][2] == "bad_turn_order"
    assert turn_order["detail"][2].startswith("no assistant turn answers a user turn once repaired")
    assert [m["role"] for m in turn_order["messages"][4]][:2] == ["system", "assistant"]


def test_which_files_of_a_source_folder_are_read(corpus_dir: Path) -> None:
    """Every visible file is input, so a file ingestion cannot read fails the run instead of being skipped."""
    project = Project(corpus_dir.parent.parent)
    assert project.raw_dir == corpus_dir
    listed = {p.name for p in project.source_files("expert")}
    assert {"UPPER_CASE.JSONL", "lines.ndjson.gz", "array.json.gz", "INVALID_UTF8.JSONL.GZ"} <= listed
    assert {"set.csv", "notes.txt", "archive.jsonl.bz2", "no_extension", "older_sets"} <= listed
    assert not {"README.md", ".DS_Store", "upload.jsonl.partial"} & listed
    assert is_data_file(corpus_dir / "expert" / "UPPER_CASE.JSONL")
    assert not is_data_file(corpus_dir / "expert" / "set.csv")
    assert data_file_stem(Path("2026-11-01.JSONL.GZ")) == "2026-11-01"
    with pytest.raises(IngestError, match=r"older_sets: it is a folder"):
        read_raw(corpus_dir / "expert" / "older_sets", "expert")


# ------------------------------------------------------------------------------------------ whole pipeline


@pytest.fixture(scope="module")
def corpus_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[CorpusFile]]:
    """A project whose data/raw holds the readable corpus and a small clean set, materialized once."""
    root = make_project(tmp_path_factory.mktemp("bad-input") / "project", with_sample=False)
    files = write_readable(root / "data" / "raw") + write_valid(root / "data" / "raw")
    with dg.instance_for_test(temp_dir=str(tmp_path_factory.mktemp("dagster-home"))) as instance:
        materialize_all(root, instance, progress=lambda _: None)
    return root, [spec for spec in files if not spec.ignored]


def test_the_ledger_balances_and_counts_every_corpus_line(corpus_project: tuple[Path, list[CorpusFile]]) -> None:
    root, files = corpus_project
    ledger = json.loads((root / "data" / "metrics" / "ledger.json").read_text())
    lines = sum(count_records(root / "data" / "raw" / spec.path) for spec in files)
    assert ledger["rows_in"] == lines == sum(len(spec.rows) for spec in files)
    accounted = sum(ledger["curated"].values()) + sum(ledger["rejected"].values()) + ledger["held_for_review"]
    assert accounted == ledger["rows_in"]
    rejects = pl.read_parquet(root / "data" / "rejects" / "rejects.parquet")
    assert rejects.height == sum(ledger["rejected"].values())
    assert sum(ledger["curated"].values()) > 0


def test_every_planted_bad_line_is_rejected_at_ingest_with_its_reason(
    corpus_project: tuple[Path, list[CorpusFile]],
) -> None:
    root, files = corpus_project
    rejects = pl.read_parquet(root / "data" / "rejects" / "rejects.parquet")
    ingest = rejects.filter(pl.col("layer") == "ingest")
    planted = sorted((spec.path, line, reason) for spec in files for line, reason in spec.rejects)
    assert sorted(ingest.select("source_file", "source_line", "reason").rows()) == planted
    assert ingest.filter(pl.col("original").is_null() | pl.col("detail").is_null()).is_empty()


def test_every_planted_example_ends_up_in_exactly_one_place(corpus_project: tuple[Path, list[CorpusFile]]) -> None:
    """Each line that parsed is curated, rejected by a later layer, or held for review: once, never lost."""
    root, files = corpus_project
    data = root / "data"
    places = [
        *(pl.read_parquet(data / "curated" / f"{split}.parquet").with_columns(place=pl.lit(split)) for split in SPLITS),
        pl.read_parquet(data / "rejects" / "rejects.parquet")
        .filter(pl.col("layer") != "ingest")
        .with_columns(place=pl.col("layer")),
        pl.read_parquet(data / "interim" / "reviewed_examples.parquet")
        .filter(pl.col("review_status") == "held")
        .with_columns(place=pl.lit("held")),
    ]
    found = pl.concat([frame.select("source_file", "source_line", "place") for frame in places])
    planted = sorted((spec.path, line) for spec in files for line, reason in spec.rows if reason is None)
    assert sorted(found.select("source_file", "source_line").rows()) == planted
    never_read = {spec.path for spec in IGNORED}
    assert not never_read & set(found["source_file"])


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("logs/2026-11-05.jsonl.gz", "corrupt gzip"),  # a log day: fails its partition's ingestion run
        ("synthetic/batch-truncated.jsonl.gz", "corrupt gzip"),  # a synthetic batch: its partition's run
        ("expert/set.csv", "unsupported file type"),  # a folder source: fails the curate run
    ],
)
def test_an_unreadable_file_fails_the_run_naming_the_file(tmp_path: Path, path: str, why: str) -> None:
    root = make_project(tmp_path / "p", with_sample=False)
    write_valid(root / "data" / "raw")
    write_unreadable(tmp_path / "unreadable")
    (root / "data" / "raw" / path).parent.mkdir(parents=True, exist_ok=True)
    (root / "data" / "raw" / path).write_bytes((tmp_path / "unreadable" / path).read_bytes())
    with dg.instance_for_test() as instance, pytest.raises(PipelineError) as raised:
        materialize_all(root, instance, progress=lambda _: None)
    assert f"IngestError: cannot read {root / 'data' / 'raw' / path}: {why}" in str(raised.value)
