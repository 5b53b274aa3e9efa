"""Ingest real public data files and report what ingestion and decontamination do with them.

Run: `.venv/bin/python bench/real_files.py FOLDER [--decontaminate] [--pipeline]`

FOLDER holds data files fetched from public repositories (bench/real_files.md lists them and how to fetch them;
they are not in git), laid out like a project's inputs: the files directly in FOLDER are training files, read as
the `expert` source with `transforms.ingest.read_raw` and the `ingest` section of params.yaml; the files in
FOLDER/benchmarks/ are benchmarks, read with `transforms.benchmarks.read_benchmark_file` as data/benchmarks/ is.

Per training file it prints the detected formats, records (input records: an OASST tree is one record and
may give several rows), rows, kept examples, rejects by reason (with the first reject's detail) and the repair
tags; a file ingest refuses whole (`IngestError`) is printed with the error. Per benchmark file: items and
problems.

`--decontaminate`: the kept examples of all training files, exact duplicates (same `example_id`) removed,
are put in splits the way `split_assignments` does (groups from conversation id and near-duplicate user turns
at `split.leak_threshold`; no dedup clusters, no review holds) and `contamination.decontaminate` runs twice:
with the template rule off (`max_ngram_docs: 0`, `min_coverage: 0`) and with params.yaml's values; the train
rows removed for a held-out overlap and for a benchmark are printed for each.

`--plant`: with `--decontaminate`, also a copy of every held-out row is added to train, its user turns pasted
after a line of framing (`PLANT_PREFIX`), and both settings run again: a planted copy not removed is a leak the
rule lets through (the held-out prompts of these files are mostly tool templates, the case the rule ignores).

`--pipeline`: the same files in a scratch project (the repository's params.yaml, dvc.yaml, expectations;
training files in data/raw/expert/, benchmark files alone in data/benchmarks/), materialized in-process on an
ephemeral Dagster instance twice (params.yaml's decontamination, then the rule off); prints split_assignments'
`decontamination` metadata and the rows per split of each run. Slower (the whole graph runs twice).

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ftdata_assets.transforms.benchmarks import ITEM_SCHEMA, read_benchmark_file
from ftdata_assets.transforms.contamination import decontaminate
from ftdata_assets.transforms.dedup import minhashes, near_duplicate_components_of
from ftdata_assets.transforms.deduplicate import role_text
from ftdata_assets.transforms.ingest import IngestError, format_counts, read_raw, repair_counts, split_raw
from ftdata_assets.transforms.settings import DecontaminationConfig, DedupConfig, IngestConfig, SplitConfig
from ftdata_assets.transforms.split import assign_splits, split_groups

REPO = Path(__file__).resolve().parents[1]
BENCHMARK_DIR = "benchmarks"
RULE_OFF = {"max_ngram_docs": 0, "min_coverage": 0.0}
"""The decontamination template rule switched off: every shared run with a held-out row counts."""
SOURCE = "expert"
PLANT_PREFIX = "A colleague sent me this, can you help?\n\n"
"""Framing put before each user turn of a planted copy (a pasted prompt, not a byte-identical row)."""


def load_params(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def data_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def ingest_report(path: Path, root: Path, ingest: IngestConfig) -> tuple[dict[str, Any], pl.DataFrame]:
    """One training file's figures and its kept examples (empty when ingest refused the file)."""
    try:
        raw = read_raw(
            path,
            SOURCE,
            root=root,
            max_line_bytes=ingest.max_line_bytes,
            max_json_depth=ingest.max_json_depth,
            id_salt=ingest.id_salt,
            leading_assistant=ingest.leading_assistant,
        )
    except IngestError as error:
        return {"file": path.name, "error": str(error)[:400]}, pl.DataFrame()
    examples, rejects = split_raw(raw)
    reasons = (
        rejects.group_by("reason")
        .agg(rows=pl.len(), first_detail=pl.col("detail").first(), first_line=pl.col("source_line").first())
        .sort("rows", "reason", descending=[True, False])
    )
    repairs = {tag: n for tag, n in repair_counts(examples).items() if n}
    report = {
        "file": path.name,
        "formats": format_counts(raw),
        "records": raw.get_column("source_line").n_unique(),
        "rows": raw.height,
        "kept": examples.height,
        "rejected": rejects.height,
        "rejected_by_reason": {r["reason"]: r["rows"] for r in reasons.iter_rows(named=True)},
        "reject_examples": {
            r["reason"]: f"line {r['first_line']}: {(r['first_detail'] or '')[:200]}"
            for r in reasons.iter_rows(named=True)
        },
        "repairs": repairs,
    }
    return report, examples


def benchmark_report(path: Path) -> tuple[dict[str, Any], pl.DataFrame]:
    items, problems = read_benchmark_file(path, path.name)
    report = {
        "file": path.name,
        "items": items.height,
        "problems": problems.height,
        "problem_examples": problems.head(3).get_column("detail").to_list(),
    }
    return report, items


def assigned_splits(examples: pl.DataFrame, params: dict[str, Any]) -> pl.DataFrame:
    """`examples` with `split`, grouped as split_assignments groups them (conversation id and near-duplicate
    user turns at `split.leak_threshold`, transitively); no dedup clusters or review holds here."""
    dedup = DedupConfig.from_params(params.get("dedup"))
    split = SplitConfig.from_params(params.get("split"))
    prompts = examples.select(role_text(pl.col("messages"), "user")).to_series()
    hashes = minhashes(prompts, num_perm=dedup.num_perm, shingle_size=dedup.shingle_size, seed=dedup.seed)
    links = [examples.get_column("conversation_id"), near_duplicate_components_of(hashes, split.leak_threshold)]
    groups = split_groups(examples.get_column("example_id"), links)
    return assign_splits(examples, split.ratio_dict(), split.seed, groups=groups, priority=dedup.source_priority)


def planted_copies(assigned: pl.DataFrame) -> pl.DataFrame:
    """A train copy of every held-out row of `assigned`, its user turns pasted after PLANT_PREFIX."""
    turn = pl.element().struct
    pasted = pl.col("messages").list.eval(
        pl.struct(
            role=turn.field("role"),
            content=pl.when(turn.field("role") == "user")
            .then(pl.lit(PLANT_PREFIX) + turn.field("content"))
            .otherwise(turn.field("content")),
        )
    )
    return assigned.filter(pl.col("split") != "train").with_columns(
        messages=pasted, example_id=pl.lit("planted:") + pl.col("example_id"), split=pl.lit("train")
    )


def planted_caught(assigned: pl.DataFrame, benchmarks: pl.DataFrame, settings: DecontaminationConfig) -> dict:
    """How many planted copies of held-out rows decontamination removes, and the original train rows it removes
    in the same run."""
    planted = planted_copies(assigned)
    found = decontaminate(pl.concat([assigned, planted.cast(assigned.schema)]), benchmarks, settings)
    rows = found.hits.get_column("row")
    return {
        "planted": planted.height,
        "planted_removed": int((rows >= assigned.height).sum()),
        "original_train_removed": int((rows < assigned.height).sum()),
        "bound": found.counts["max_ngram_docs_used"],
    }


def decontamination_counts(assigned: pl.DataFrame, benchmarks: pl.DataFrame, settings: DecontaminationConfig) -> dict:
    found = decontaminate(assigned, benchmarks, settings)
    by_source = (
        dict(found.hits.group_by("contaminated_by").len().sort("contaminated_by").iter_rows())
        if found.hits.height
        else {}
    )
    counts = dict(found.counts)
    counts["removed_by"] = by_source
    counts["examples"] = [
        f"{row['contaminated_by']}: {row['contamination_detail'][:160]}"
        for row in found.hits.unique("contamination_detail", keep="first", maintain_order=True)
        .head(5)
        .iter_rows(named=True)
    ]
    return counts


def pipeline_run(training: list[Path], benchmarks: list[Path], decon: dict[str, Any] | None) -> dict[str, Any]:
    """Materialize a scratch project holding these files; `decon` overrides params.yaml's decontamination."""
    import dagster as dg

    from ftdata_assets.defs.runner import materialize_all

    with tempfile.TemporaryDirectory(prefix="ftdata-real-") as tmp:
        root = Path(tmp)
        for name in ("params.yaml", "dvc.yaml", "workspace.yaml", "pyproject.toml"):
            shutil.copy2(REPO / name, root / name)
        shutil.copytree(REPO / "expectations", root / "expectations")
        (root / "data" / "raw" / "expert").mkdir(parents=True)
        (root / "data" / "benchmarks").mkdir(parents=True)
        for path in training:
            shutil.copy2(path, root / "data" / "raw" / "expert" / path.name)
        for path in benchmarks:
            shutil.copy2(path, root / "data" / "benchmarks" / path.name)
        if decon:
            params = load_params(root / "params.yaml")
            params["decontamination"].update(decon)
            (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
        (root / "dagster_home").mkdir()
        started = time.process_time()
        with dg.instance_for_test(temp_dir=str(root / "dagster_home")) as instance:
            error = None
            try:
                materialize_all(root, instance, progress=lambda _: None)
            except Exception as failure:  # a failed check or step: report it, it is a finding
                error = f"{type(failure).__name__}: {str(failure)[:300]}"
            event = instance.get_latest_materialization_event(dg.AssetKey("split_assignments"))
            metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
        result: dict[str, Any] = {"cpu_s": round(time.process_time() - started, 1), "error": error}
        for key in ("rows", "contaminated", "decontamination", "contaminated_by", "benchmark_items"):
            if key in metadata:
                result[key] = metadata[key].value
        ledger = root / "data" / "metrics" / "ledger.json"
        if ledger.exists():
            result["ledger"] = json.loads(ledger.read_text(encoding="utf-8"))
        curated = root / "data" / "curated"
        splits = [
            pl.read_parquet(curated / f"{split}.parquet").select("source_file", split=pl.lit(split))
            for split in ("train", "validation", "test")
            if (curated / f"{split}.parquet").exists()
        ]
        kept = pl.concat(splits) if splits else pl.DataFrame(schema={"source_file": pl.String, "split": pl.String})
        result["splits"] = dict(kept.group_by("split").len().sort("split").iter_rows())
        rejects_path = root / "data" / "rejects" / "rejects.parquet"
        rejects = pl.read_parquet(rejects_path) if rejects_path.exists() else pl.DataFrame()
        result["per_file"] = {}
        for path in training:
            mine_expr = pl.col("source_file").str.ends_with(f"/{path.name}") | (pl.col("source_file") == path.name)
            mine = rejects.filter(mine_expr) if rejects.height else rejects
            result["per_file"][path.name] = {
                "curated": dict(kept.filter(mine_expr).group_by("split").len().sort("split").iter_rows()),
                "rejected": dict(mine.group_by("reason").len().sort("reason").iter_rows()) if mine.height else {},
            }
    return result


def print_file(report: dict[str, Any]) -> None:
    if "error" in report:
        print(f"{report['file']}: IngestError: {report['error']}")
        return
    if "items" in report:
        print(f"{report['file']} (benchmark): {report['items']} items, {report['problems']} problems")
        for detail in report["problem_examples"]:
            print(f"    problem: {detail}")
        return
    formats = ", ".join(f"{fmt} {c['rows']}" for fmt, c in report["formats"].items())
    print(
        f"{report['file']}: formats [{formats}] records {report['records']} rows {report['rows']} "
        f"kept {report['kept']} rejected {report['rejected']} {report['rejected_by_reason'] or ''} "
        f"repairs {report['repairs'] or '{}'}"
    )
    for reason, example in report["reject_examples"].items():
        print(f"    {reason}: {example}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    parser.add_argument("--decontaminate", action="store_true")
    parser.add_argument("--plant", action="store_true", help="with --decontaminate: planted copies of held-out rows")
    parser.add_argument("--pipeline", action="store_true")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    ingest = IngestConfig.from_params(params.get("ingest"))
    training = data_files(args.folder)
    bench_files = data_files(args.folder / BENCHMARK_DIR)
    summary: dict[str, Any] = {"files": []}
    kept, items = [], [pl.DataFrame(schema=ITEM_SCHEMA)]
    for path in training:
        report, examples = ingest_report(path, args.folder, ingest)
        summary["files"].append(report)
        print_file(report)
        if examples.height:
            kept.append(examples)
    for path in bench_files:
        report, found = benchmark_report(path)
        summary["files"].append(report)
        print_file(report)
        items.append(found)
    if args.decontaminate and kept:
        examples = pl.concat(kept).unique("example_id", keep="first", maintain_order=True)
        benchmarks = pl.concat(items)
        assigned = assigned_splits(examples, params)
        defaults = DecontaminationConfig.from_params(params.get("decontamination"))
        off = DecontaminationConfig.from_params({**params.get("decontamination", {}), **RULE_OFF})
        splits = dict(assigned.group_by("split").len().sort("split").iter_rows())
        decon = {
            "rows": assigned.height,
            "duplicates_dropped": sum(frame.height for frame in kept) - assigned.height,
            "splits": splits,
            "benchmark_items": benchmarks.height,
            "rule_off": decontamination_counts(assigned, benchmarks, off),
            "defaults": decontamination_counts(assigned, benchmarks, defaults),
        }
        summary["decontamination"] = decon
        print(
            f"\ndecontamination on {assigned.height} distinct kept rows {splits}, {benchmarks.height} benchmark items"
        )
        for name in ("rule_off", "defaults"):
            counts = decon[name]
            print(
                f"  {name}: held-out overlap removed {counts['held_out']}, benchmark removed {counts['benchmark']}, "
                f"spared by doc frequency {counts['held_out_spared_by_doc_frequency']}, by coverage "
                f"{counts['held_out_spared_by_coverage']}, bound {counts['max_ngram_docs_used']} of "
                f"{counts['documents']} documents, templates ignored {counts['templates_ignored']}"
            )
            for example in counts["examples"]:
                print(f"    {example}")
        if args.plant:
            decon["planted"] = {
                name: planted_caught(assigned, benchmarks, settings)
                for name, settings in (("rule_off", off), ("defaults", defaults))
            }
            for name, caught in decon["planted"].items():
                print(
                    f"  planted ({name}): {caught['planted_removed']} of {caught['planted']} planted copies removed, "
                    f"{caught['original_train_removed']} original train rows removed, bound {caught['bound']}"
                )
    if args.pipeline:
        summary["pipeline"] = {}
        for name, override in (("defaults", None), ("rule_off", RULE_OFF)):
            result = pipeline_run(training, bench_files, override)
            summary["pipeline"][name] = result
            print(f"\npipeline ({name}): {json.dumps(result, default=str)}")
            for file, outcome in result.get("per_file", {}).items():
                print(f"    {file}: curated {outcome['curated']} rejected {outcome['rejected']}")
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
