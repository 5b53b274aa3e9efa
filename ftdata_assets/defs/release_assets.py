"""What trainers get besides the Parquet splits: OpenAI chat JSONL and Alpaca JSON exports, the data card
(README.md, a Hugging Face dataset card with plots) and the DVC metrics and plots of a version.

A release is staged, checked, then published: the splits, exports and card are written to
data/interim/release/, and `curated_release`, downstream of every blocking check on them, copies them into
data/curated/. A failed check skips it, so data/curated keeps the last release that passed."""

import hashlib
import subprocess
from pathlib import Path

import dagster as dg
import polars as pl
import yaml

import ftdata_assets
from ftdata_assets.atomic_files import write_bytes_atomically
from ftdata_assets.defs.io import declared_files, publish_files, write_json_atomically
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
CARD_FILE = "README.md"
EXPORT_FILES: tuple[str, ...] = (
    *(f"openai/{split}.jsonl" for split in SPLITS),
    *(f"alpaca/{split}.json" for split in SPLITS),
)
RELEASE_FILES: tuple[str, ...] = (*(f"{split}.parquet" for split in SPLITS), *EXPORT_FILES, PLOT_FILE, CARD_FILE)
"""Every file of a release, relative to the staging folder and to data/curated: what `curated_release`
publishes, and all that data/curated holds after it."""
STAGING = "data/interim/release"
METRICS = "data/metrics"


def staged(*names: str) -> dict[str, dg.MetadataValue]:
    return declared_files(*(f"{STAGING}/{name}" for name in names))


@dg.multi_asset(
    group_name="release",
    ins=SPLIT_INS,
    outs={
        "dataset_exports": dg.AssetOut(
            kinds={"json"},
            dagster_type=dg.Nothing,
            metadata=staged(*EXPORT_FILES),
            description=(
                "openai/<split>.jsonl (OpenAI fine-tuning chat format, checked against its rules) and "
                "alpaca/<split>.json (instruction-shaped rows: one user turn, one assistant turn), staged in "
                f"{STAGING}/ for curated_release."
            ),
        ),
        "exports_metrics": dg.AssetOut(
            kinds={"json"},
            dagster_type=dg.Nothing,
            metadata=declared_files(f"{METRICS}/exports.json"),
            description=f"{METRICS}/exports.json (DVC metric): rows per split and export, left-out rows by problem.",
        ),
    },
)
def dataset_exports(project: ProjectResource, train: pl.DataFrame, validation: pl.DataFrame, test: pl.DataFrame):
    staging = project.project.release_staging_dir
    report: dict[str, dict] = {}
    problems = []
    for split, frame in zip(SPLITS, (train, validation, test), strict=True):
        left_out = write_openai_jsonl(frame, staging / "openai" / f"{split}.jsonl")
        alpaca_rows = write_alpaca_json(frame, staging / "alpaca" / f"{split}.json")
        report[split] = {
            "rows": frame.height,
            "openai_rows": frame.height - left_out.get_column("example_id").n_unique(),
            "openai_left_out": left_out.get_column("example_id").n_unique(),
            "alpaca_rows": alpaca_rows,
        }
        problems.append(left_out.with_columns(split=pl.lit(split)))
    left_out_all = pl.concat(problems)
    by_problem = dict(left_out_all.group_by("problem").len().sort("problem").iter_rows())
    metrics_path = project.project.metrics_dir / "exports.json"
    write_json_atomically({"splits": report, "openai_problems": by_problem}, metrics_path)
    yield dg.Output(None, output_name="exports_metrics", metadata={"path": dg.MetadataValue.path(str(metrics_path))})
    yield dg.Output(
        None,
        output_name="dataset_exports",
        metadata={
            "exports": dg.MetadataValue.json(report),
            "openai_left_out_by_problem": dg.MetadataValue.json(by_problem),
            "left_out_examples": dg.MetadataValue.json(left_out_all.head(20).to_dicts()),
            "folder": dg.MetadataValue.path(str(staging)),
        },
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


@dg.multi_asset(
    group_name="release",
    ins={
        **SPLIT_INS,
        "rejects": dg.AssetIn(),
        "scrubbed_examples": dg.AssetIn(),
        "reviewed_examples": dg.AssetIn(),
        "input_formats": dg.AssetIn(),
    },
    deps=["dataset_exports"],  # the card lists the hashes of the exports
    outs={
        "data_card": dg.AssetOut(
            kinds={"markdown"},
            dagster_type=dg.Nothing,
            metadata=staged(CARD_FILE, PLOT_FILE),
            description=(
                "README.md: the data card (a Hugging Face dataset card, so `load_dataset('data/curated')` finds "
                "the splits): counts per source, split and reject reason, PII, duplicates, refusal share, template "
                "concentration, languages, token-length plots, params and the hashes of inputs and outputs. Staged "
                f"in {STAGING}/ with its plot {PLOT_FILE}, for curated_release."
            ),
        ),
        "dataset_metrics": dg.AssetOut(
            kinds={"json"},
            dagster_type=dg.Nothing,
            metadata=declared_files(f"{METRICS}/dataset.json"),
            description=f"{METRICS}/dataset.json (DVC metric): split sizes, source mix, refusal and template "
            "shares, languages, token lengths, benchmark contamination.",
        ),
        "token_lengths_plot": dg.AssetOut(
            kinds={"csv"},
            dagster_type=dg.Nothing,
            metadata=declared_files(f"{METRICS}/token_lengths.csv"),
            description=f"{METRICS}/token_lengths.csv (DVC plot): examples per token-length bin and split.",
        ),
    },
)
def data_card(
    project: ProjectResource,
    train: pl.DataFrame,
    validation: pl.DataFrame,
    test: pl.DataFrame,
    rejects: pl.DataFrame,
    scrubbed_examples: pl.DataFrame,
    reviewed_examples: pl.DataFrame,
    input_formats: pl.DataFrame,
):
    staging, metrics_dir = project.project.release_staging_dir, project.project.metrics_dir
    rows = with_token_counts(released_rows({"train": train, "validation": validation, "test": test}, reviewed_examples))
    histogram = token_length_histogram(rows, bins=20)
    plot_length_histograms(histogram, staging / PLOT_FILE)
    plot_table = histogram.pivot(on="split", index=["bin_start", "bin_end"], values="count").sort("bin_start")
    write_bytes_atomically(metrics_dir / "token_lengths.csv", plot_table.write_csv().encode())
    yield dg.Output(
        None,
        output_name="token_lengths_plot",
        metadata={"path": dg.MetadataValue.path(str(metrics_dir / "token_lengths.csv"))},
    )
    facts = card_facts(project, rows, rejects, scrubbed_examples, reviewed_examples, staging)
    facts["formats"] = {row.pop("format"): row for row in input_formats.to_dicts()}
    card = render_data_card(facts)
    write_bytes_atomically(staging / CARD_FILE, card.encode())
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
    yield dg.Output(
        None, output_name="dataset_metrics", metadata={"path": dg.MetadataValue.path(str(metrics_dir / "dataset.json"))}
    )
    yield dg.Output(
        None,
        output_name="data_card",
        metadata={
            "card": dg.MetadataValue.md(card.split("\n---\n", 1)[-1]),
            "path": dg.MetadataValue.path(str(staging / CARD_FILE)),
            "splits": dg.MetadataValue.json(summary["splits"]),
            "refusal_share": summary["refusal_share"],
            "git_revision": git_revision(project.project.root),
            "input_hashes": dg.MetadataValue.json(facts["input_hashes"]),
            "output_hashes": dg.MetadataValue.json(facts["output_hashes"]),
        },
    )


@dg.asset(
    group_name="release",
    kinds={"parquet", "json", "markdown"},
    # every staged file of the release and the ledger: a failed blocking check on them (splits_disjoint,
    # splits_expectations, ledger_balances, and every one upstream) skips this. split_registry comes after it,
    # so a version that was not published (a failed check, a crash) never freezes its test set.
    deps=[*SPLITS, "dataset_exports", "data_card", "ledger"],
    metadata=declared_files(*(f"data/curated/{name}" for name in RELEASE_FILES)),
    description=(
        f"data/curated/: the release trainers `dvc pull` ({', '.join(RELEASE_FILES)}), published from {STAGING}/ "
        "only after the blocking checks on the staged files passed. Each file is replaced atomically; files of "
        "the previous release that this one no longer has are removed; a failed check leaves the folder as it was."
    ),
)
def curated_release(project: ProjectResource) -> dg.MaterializeResult:
    target = project.project.curated_dir
    published = publish_files(project.project.release_staging_dir, target, RELEASE_FILES)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "files": len(RELEASE_FILES),
            "written": dg.MetadataValue.json(published.written),
            "unchanged": dg.MetadataValue.json(published.unchanged),
            "removed": dg.MetadataValue.json(published.removed),
        }
    )
