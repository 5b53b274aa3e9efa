"""What trainers get besides the Parquet splits: OpenAI chat JSONL and Alpaca JSON exports, the data card
(data/curated/README.md, a Hugging Face dataset card with plots) and the DVC metrics and plots of a version."""

import hashlib
import subprocess
from pathlib import Path

import dagster as dg
import polars as pl
import yaml

import ftdata_assets
from ftdata_assets.atomic_files import write_bytes_atomically
from ftdata_assets.defs.io import write_json_atomically
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.schema import SPLITS
from ftdata_assets.transforms.data_card import (
    plot_length_histograms,
    render_data_card,
    tag_counts,
    token_length_histogram,
    token_length_stats,
    with_token_counts,
)
from ftdata_assets.transforms.exports import write_alpaca_json, write_openai_jsonl
from ftdata_assets.transforms.pii_report import pii_totals
from ftdata_assets.transforms.quality import template_concentration

SPLIT_INS = {split: dg.AssetIn() for split in SPLITS}
PLOT_FILE = "plots/token_lengths.png"


@dg.asset(
    group_name="release",
    kinds={"json"},
    ins=SPLIT_INS,
    description=(
        "data/curated/openai/<split>.jsonl (OpenAI fine-tuning chat format, checked against its rules) and "
        "data/curated/alpaca/<split>.json (instruction-shaped rows: one user turn, one assistant turn)."
    ),
)
def dataset_exports(
    project: ProjectResource, train: pl.DataFrame, validation: pl.DataFrame, test: pl.DataFrame
) -> dg.MaterializeResult:
    curated = project.project.curated_dir
    report: dict[str, dict] = {}
    problems = []
    for split, frame in zip(SPLITS, (train, validation, test), strict=True):
        left_out = write_openai_jsonl(frame, curated / "openai" / f"{split}.jsonl")
        alpaca_rows = write_alpaca_json(frame, curated / "alpaca" / f"{split}.json")
        report[split] = {
            "rows": frame.height,
            "openai_rows": frame.height - left_out.get_column("example_id").n_unique(),
            "openai_left_out": left_out.get_column("example_id").n_unique(),
            "alpaca_rows": alpaca_rows,
        }
        problems.append(left_out.with_columns(split=pl.lit(split)))
    left_out_all = pl.concat(problems)
    by_problem = dict(left_out_all.group_by("problem").len().sort("problem").iter_rows())
    write_json_atomically(
        {"splits": report, "openai_problems": by_problem}, project.project.metrics_dir / "exports.json"
    )
    return dg.MaterializeResult(
        metadata={
            "exports": dg.MetadataValue.json(report),
            "openai_left_out_by_problem": dg.MetadataValue.json(by_problem),
            "left_out_examples": dg.MetadataValue.json(left_out_all.head(20).to_dicts()),
            "folder": dg.MetadataValue.path(str(curated)),
        }
    )


def file_digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def folder_digest(folder: Path, pattern: str = "*") -> str:
    """sha256 over (relative path, bytes) of every file: one stable fingerprint for a folder of inputs."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def input_hashes(project: ProjectResource) -> dict[str, str]:
    """The inputs a version is made of. data/raw is given by DVC's own md5 (data/raw.dvc), so the card can be
    matched to `dvc.lock`; the code by a fingerprint of the package source (the git revision lives in the
    release tag, since a file inside the dataset cannot name the commit that records it)."""
    root = project.project.root
    raw_dvc = root / "data" / "raw.dvc"
    hashes = {}
    if raw_dvc.exists():
        out = (yaml.safe_load(raw_dvc.read_text()) or {}).get("outs", [{}])[0]
        hashes["data/raw (dvc md5)"] = str(out.get("md5"))
    for name, folder, pattern in (
        ("code (ftdata_assets/*.py)", Path(ftdata_assets.__file__).parent, "*.py"),
        ("expectations", root / "expectations", "*.json"),
        ("data/benchmarks", project.project.benchmarks_dir, "*"),
        ("data/review/decisions", project.project.decisions_dir, "*"),
        ("data/review/audit_labels", project.project.audit_labels_dir, "*"),
    ):
        if folder.is_dir():
            hashes[name] = folder_digest(folder, pattern)
    hashes["params.yaml"] = file_digest(root / "params.yaml")
    return hashes


def git_revision(root: Path) -> str:
    """For the UI only (asset metadata): HEAD and whether the tree was dirty."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head.stdout.strip() + (" (uncommitted changes)" if dirty.stdout.strip() else "")


def released_rows(splits: dict[str, pl.DataFrame], reviewed_examples: pl.DataFrame) -> pl.DataFrame:
    """The curated rows with their split and the scoring columns (tags, language) of reviewed_examples."""
    combined = pl.concat([frame.with_columns(split=pl.lit(name)) for name, frame in splits.items()])
    scoring = reviewed_examples.filter(pl.col("duplicate_of").is_null()).select(
        "example_id", "source_file", "source_line", "tags", "language"
    )
    return combined.join(scoring, on=["example_id", "source_file", "source_line"], how="left", maintain_order="left")


def card_facts(
    project: ProjectResource,
    rows: pl.DataFrame,
    rejects: pl.DataFrame,
    scrubbed_examples: pl.DataFrame,
    reviewed_examples: pl.DataFrame,
    curated: Path,
) -> dict:
    counts: dict[str, dict[str, int]] = {}
    for source, split, n in rows.group_by("source", "split").len().sort("source", "split").iter_rows():
        counts.setdefault(source, {})[split] = n
    duplicates = reviewed_examples.filter(pl.col("duplicate_of").is_not_null())
    refusals = rows.filter(pl.col("tags").list.contains("refusal")).height
    return {
        "data_files": {split: f"{split}.parquet" for split in SPLITS},
        "counts": counts,
        "rejects": dict(rejects.group_by("reason").len().sort("reason").iter_rows()),
        "pii": pii_totals(scrubbed_examples)["by_type"],
        "duplicate_clusters": dict(
            duplicates.group_by("dedup_reason").agg(pl.col("duplicate_of").n_unique()).sort("dedup_reason").iter_rows()
        ),
        "refusal_share": refusals / max(rows.height, 1),
        "tags": tag_counts(rows),
        "template_concentration": template_concentration(rows, n_words=5, top=10).to_dicts(),
        "languages": dict(rows.group_by("language").len().sort("language", nulls_last=True).iter_rows()),
        "licenses": dict(rows.group_by("license").len().sort("license", nulls_last=True).iter_rows()),
        "token_lengths": token_length_stats(rows),
        "plots": {"Token length per example, by split": PLOT_FILE},
        "params": project.project.params,
        "input_hashes": input_hashes(project),
        "output_hashes": {
            path.relative_to(curated).as_posix(): file_digest(path)
            for path in sorted(curated.rglob("*"))
            if path.is_file() and path.suffix in {".parquet", ".jsonl", ".json"}
        },
    }


@dg.asset(
    group_name="release",
    kinds={"markdown"},
    ins={**SPLIT_INS, "rejects": dg.AssetIn(), "scrubbed_examples": dg.AssetIn(), "reviewed_examples": dg.AssetIn()},
    deps=["dataset_exports"],  # the card lists the hashes of the exports
    description=(
        "data/curated/README.md: the data card (a Hugging Face dataset card, so `load_dataset('data/curated')` "
        "finds the splits): counts per source, split and reject reason, PII, duplicates, refusal share, "
        "template concentration, languages, token-length plots, params and the hashes of inputs and outputs. "
        "Also writes the DVC metrics data/metrics/dataset.json and the plot data/metrics/token_lengths.csv."
    ),
)
def data_card(
    project: ProjectResource,
    train: pl.DataFrame,
    validation: pl.DataFrame,
    test: pl.DataFrame,
    rejects: pl.DataFrame,
    scrubbed_examples: pl.DataFrame,
    reviewed_examples: pl.DataFrame,
) -> dg.MaterializeResult:
    curated, metrics_dir = project.project.curated_dir, project.project.metrics_dir
    rows = with_token_counts(released_rows({"train": train, "validation": validation, "test": test}, reviewed_examples))
    histogram = token_length_histogram(rows, bins=20)
    plot_length_histograms(histogram, curated / PLOT_FILE)
    plot_table = histogram.pivot(on="split", index=["bin_start", "bin_end"], values="count").sort("bin_start")
    write_bytes_atomically(metrics_dir / "token_lengths.csv", plot_table.write_csv().encode())
    facts = card_facts(project, rows, rejects, scrubbed_examples, reviewed_examples, curated)
    card = render_data_card(facts)
    write_bytes_atomically(curated / "README.md", card.encode())
    summary = {
        "splits": {split: frame.height for split, frame in zip(SPLITS, (train, validation, test), strict=True)},
        "by_source": facts["counts"],
        "refusal_share": round(facts["refusal_share"], 4),
        "top_template_share": round(facts["template_concentration"][0]["share"], 4)
        if facts["template_concentration"]
        else 0.0,
        "languages": {str(k): v for k, v in facts["languages"].items()},
        "token_lengths": facts["token_lengths"],
        "benchmark_contamination": facts["rejects"].get("benchmark_contamination", 0),
    }
    write_json_atomically(summary, metrics_dir / "dataset.json")
    return dg.MaterializeResult(
        metadata={
            "card": dg.MetadataValue.md(card.split("\n---\n", 1)[-1]),
            "path": dg.MetadataValue.path(str(curated / "README.md")),
            "splits": dg.MetadataValue.json(summary["splits"]),
            "refusal_share": summary["refusal_share"],
            "git_revision": git_revision(project.project.root),
            "input_hashes": dg.MetadataValue.json(facts["input_hashes"]),
            "output_hashes": dg.MetadataValue.json(facts["output_hashes"]),
        }
    )
