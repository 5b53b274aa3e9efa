"""Where a project's files live and what its `params.yaml` says; shared by the CLI and the Dagster wiring."""

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR_ENV = "FTDATA_PROJECT_DIR"
RAW_SOURCE_DIRS: dict[str, str] = {
    "production_log": "logs",
    "expert": "expert",
    "synthetic": "synthetic",
    "feedback": "feedback",
}
SUPPORTED_SUFFIXES: tuple[str, ...] = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json", ".json.gz", ".parquet")
"""What ingestion reads, matched case-insensitively (`DAY.JSONL` is a data file too)."""
NOT_DATA_SUFFIXES: tuple[str, ...] = (".md", ".partial", ".part", ".tmp", ".crdownload", "~")
"""Notes (a README) and files still being written (an upload in progress, an editor's backup): with hidden
files, the only entries of a source folder that are not input."""


def default_project_dir() -> Path:
    """`$FTDATA_PROJECT_DIR` if set, else the working directory (where `dagster dev` and `dvc` run)."""
    return Path(os.environ.get(PROJECT_DIR_ENV) or Path.cwd()).resolve()


def data_file_stem(path: Path) -> str:
    """`2026-11-07.jsonl.gz` -> `2026-11-07`: the partition key a raw file stands for."""
    name = path.name
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def is_data_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.name.lower().endswith(SUPPORTED_SUFFIXES)


def is_skipped(path: Path) -> bool:
    """Entries of a source folder that are not input: hidden files (.gitignore, .DS_Store), notes and partial files."""
    return path.name.startswith(".") or (path.is_file() and path.name.lower().endswith(NOT_DATA_SUFFIXES))


@dataclass(frozen=True)
class Project:
    root: Path

    @cached_property
    def params(self) -> dict[str, Any]:
        path = self.root / "params.yaml"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: every threshold and seed of a run lives there")
        return yaml.safe_load(path.read_text()) or {}

    @property
    def raw_dir(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def interim_dir(self) -> Path:
        return self.root / "data" / "interim"

    @property
    def curated_dir(self) -> Path:
        return self.root / "data" / "curated"

    @property
    def release_staging_dir(self) -> Path:
        """Where a release is written and checked before `curated_release` publishes it into curated_dir: a
        release whose blocking checks fail never reaches the files trainers pull."""
        return self.interim_dir / "release"

    @property
    def splits_dir(self) -> Path:
        """The split registry (example_id -> split of every version so far): what freezes the test set."""
        return self.root / "data" / "splits"

    @property
    def benchmarks_dir(self) -> Path:
        """User-supplied benchmark files the training split is decontaminated against."""
        return self.root / "data" / "benchmarks"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "data" / "rejects"

    @property
    def review_dir(self) -> Path:
        return self.root / "data" / "review"

    @property
    def review_export_dir(self) -> Path:
        """What the pipeline writes for people: the review queue and the audit sample (Parquet + CSV)."""
        return self.review_dir / "export"

    @property
    def decisions_dir(self) -> Path:
        """What people write: accept / reject / edit decisions on review-queue rows."""
        return self.review_dir / "decisions"

    @property
    def audit_labels_dir(self) -> Path:
        """What people write: ok / error labels on audit-sample rows."""
        return self.review_dir / "audit_labels"

    @property
    def metrics_dir(self) -> Path:
        return self.root / "data" / "metrics"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    def source_dir(self, source: str) -> Path:
        return self.raw_dir / RAW_SOURCE_DIRS[source]

    def unexpected_raw_entries(self) -> list[Path]:
        """Entries of data/raw that belong to no source (`experts/` for `expert/`, a file dropped at the top):
        their rows would never be read, so a run refuses to start instead of skipping them."""
        if not self.raw_dir.is_dir():
            return []
        known = set(RAW_SOURCE_DIRS.values())
        return sorted(p for p in self.raw_dir.iterdir() if not is_skipped(p) and not (p.is_dir() and p.name in known))

    def source_files(self, source: str) -> list[Path]:
        """The input files of one source, sorted by name so every run reads them in the same order.

        Every entry but hidden files and notes (`is_skipped`) is listed, also what ingestion cannot read (a
        .csv, a .txt, a sub-folder): reading it then fails the run with its name, where skipping it would
        silently drop rows the user meant to add.
        """
        folder = self.source_dir(source)
        return sorted(p for p in folder.iterdir() if not is_skipped(p)) if folder.is_dir() else []

    def partition_file(self, source: str, partition_key: str) -> Path:
        """The one file behind a partition; a clear error if there is none or more than one."""
        matches = [p for p in self.source_files(source) if data_file_stem(p) == partition_key]
        if not matches:
            raise FileNotFoundError(
                f"no {source} file for partition {partition_key!r} in {self.source_dir(source)} "
                f"(expected {partition_key}{{{','.join(SUPPORTED_SUFFIXES)}}})"
            )
        if len(matches) > 1:
            raise ValueError(f"partition {partition_key!r} of {source} has several files: {[p.name for p in matches]}")
        return matches[0]
