"""Atomic Parquet writes and the project's file lookup: no half-written file, clear errors."""

from pathlib import Path

import polars as pl
import pytest

from ftdata_assets.defs.io import write_parquet_atomically
from ftdata_assets.project import Project, data_file_stem


def test_atomic_write_replaces_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out" / "train.parquet"
    write_parquet_atomically(pl.DataFrame({"a": [1, 2]}), target)
    write_parquet_atomically(pl.DataFrame({"a": [3]}), target)
    assert pl.read_parquet(target)["a"].to_list() == [3]
    assert [p.name for p in target.parent.iterdir()] == ["train.parquet"]


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "train.parquet"
    write_parquet_atomically(pl.DataFrame({"a": [1, 2]}), target)

    def write_half_then_die(self: pl.DataFrame, handle, **_: object) -> None:
        handle.write(b"PAR1 half a file")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of a write

    monkeypatch.setattr(pl.DataFrame, "write_parquet", write_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        write_parquet_atomically(pl.DataFrame({"a": [9]}), target)
    monkeypatch.undo()
    assert pl.read_parquet(target)["a"].to_list() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["train.parquet"]


def test_partition_files_are_found_by_stem_with_clear_errors(tmp_path: Path) -> None:
    logs = tmp_path / "data" / "raw" / "logs"
    logs.mkdir(parents=True)
    (logs / "2026-11-01.jsonl.gz").write_bytes(b"")
    (logs / "2026-11-02.jsonl").write_text("")
    (logs / "2026-11-02.parquet").write_text("")
    (logs / ".2026-11-03.jsonl.swp").write_text("")
    project = Project(tmp_path)
    assert project.partition_file("production_log", "2026-11-01").name == "2026-11-01.jsonl.gz"
    with pytest.raises(ValueError, match="several files"):
        project.partition_file("production_log", "2026-11-02")
    with pytest.raises(FileNotFoundError, match="no production_log file for partition '2026-11-03'"):
        project.partition_file("production_log", "2026-11-03")
    assert data_file_stem(Path("batch-7.jsonl.gz")) == "batch-7"
