"""Incremental benchmark: what a new day of logs costs after a full build, and whether it gives the same bytes.

Run: `.venv/bin/python bench/incremental.py --examples 1000000 --new-fraction 0.01 [--days 14] [--batches 8]
[--seed 20261101] [--workdir DIR] [--keep]`

1. Generates N raw records with `bench/scaled_sample.py` in project A (as `bench/pipeline.py` does) and runs
   the full build (`materialize_all` on a SQLite Dagster instance kept under A/dagster_home) in a child
   process: `full_s`.
2. Writes a new day of production logs, the day after the last one, holding F x N records (the same
   generator with another seed, so the day is new content with the sample's rates of duplicates, PII,
   malformed lines...), and runs the daily path on A with the same instance: `increment_s`, with the
   per-stage seconds of that run from the instance's event log (steps that did not run are not listed).
3. Copies A's raw files (all of them, new day included) and the split registry A had before the increment
   (earlier versions' assignments, which DVC carries from version to version) to project B and builds B from
   scratch on a fresh instance; `identical` is true when every file the pipeline writes for trainers and for DVC
   (data/curated, data/rejects, data/splits, data/review/export, data/metrics) is byte-identical in A and B.
   The differing files are printed.

The daily path is the one entry point the pipeline has for a day: `ftdata run` (materialize_all), which
ingests the new file alone, computes the row-local layers of its partition alone (the other partitions' code
versions and inputs are unchanged) and then runs the global layers over every partition once.

The LAST line printed is one JSON object: examples, new_examples, full_s, increment_s, ratio
(increment_s / full_s), identical, differing (up to 20 paths), peak_rss_mb (the larger of the two runs on A),
stages_increment {step: seconds}, scratch_s (the from-scratch build of B) and error.
"""

import argparse
import filecmp
import json
import multiprocessing as mp
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import make_project, run_pipeline, say, supervise

COMPARED_DIRS = ("curated", "rejects", "splits", "review/export", "metrics")
"""data/ folders the pipeline writes for trainers and DVC (data/interim is derived and not compared)."""
REGISTRY = Path("data/splits/registry.parquet")
"""The example_id -> split registry of earlier versions (read by split_assignments, persisted by DVC)."""
NEW_DAY_SEED_OFFSET = 7_919
"""Seed offset of the new day's generator: new content, not a copy of an existing day."""


def run_in_child(root: Path, max_rss_mb: float, max_s: float) -> dict[str, Any]:
    """`materialize_all` on root's SQLite instance (kept across calls) in a fresh process; its timings."""
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=run_pipeline, args=(str(root), "sqlite", send))
    child.start()
    send.close()
    return supervise(child, receive, max_rss_mb, max_s)


def write_new_day(raw_dir: Path, records: int, seed: int) -> Path:
    """A log file for the day after the last one in raw_dir/logs, holding `records` records."""
    from scaled_sample import SHARES, generate

    days = sorted(date.fromisoformat(p.name.split(".")[0]) for p in (raw_dir / "logs").iterdir())
    new_day = days[-1] + timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="ftdata-new-day-") as scratch:
        # one log day needs records / share_of_logs records in all: only the log file is kept
        total = max(int(records / SHARES["production_log"]) + 1, 20)
        generate(Path(scratch), total, days=1, batches=1, seed=seed, progress=lambda _: None)
        (log,) = (Path(scratch) / "logs").iterdir()
        lines = log.read_bytes().splitlines(keepends=True)[:records]
        target = raw_dir / "logs" / f"{new_day.isoformat()}.jsonl"
        target.write_bytes(b"".join(lines))
    return target


def differing_files(a: Path, b: Path) -> list[str]:
    """Relative paths under data/COMPARED_DIRS that are missing on one side or differ in bytes."""
    out: list[str] = []
    for folder in COMPARED_DIRS:
        left, right = a / "data" / folder, b / "data" / folder
        names = {p.relative_to(left) for p in left.rglob("*") if p.is_file()} if left.is_dir() else set()
        names |= {p.relative_to(right) for p in right.rglob("*") if p.is_file()} if right.is_dir() else set()
        for name in sorted(names):
            x, y = left / name, right / name
            if not (x.is_file() and y.is_file() and filecmp.cmp(x, y, shallow=False)):
                out.append(f"data/{folder}/{name}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, required=True, help="raw records of the full build")
    parser.add_argument("--new-fraction", type=float, required=True, help="the new day holds this x examples")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--workdir", type=Path, help="folder for the two projects (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the projects afterwards")
    parser.add_argument("--max-rss-gb", type=float, default=16.0)
    parser.add_argument("--max-minutes", type=float, default=60.0, help="per pipeline run")
    args = parser.parse_args(argv)
    if not 0 < args.new_fraction <= 1:
        parser.error("--new-fraction must be in (0, 1]")

    from scaled_sample import generate

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ftdata-incremental-"))
    if work.exists() and args.workdir:
        shutil.rmtree(work)
    a, b = make_project(work / "incremental"), make_project(work / "scratch")
    limits = (args.max_rss_gb * 1024, args.max_minutes * 60)
    new_examples = max(int(args.examples * args.new_fraction), 1)
    out: dict[str, Any] = {"examples": args.examples, "new_examples": new_examples, "error": None}
    try:
        say(f"generate {args.examples:,} records in {a} ...")
        generate(a / "data" / "raw", args.examples, days=args.days, batches=args.batches, seed=args.seed)
        say("full build ...")
        full = run_in_child(a, *limits)
        if full.get("error"):
            raise RuntimeError(f"full build: {full['error']}")
        # the split registry is carried from version to version (it keeps the test set frozen): the
        # from-scratch build starts from the registry the increment started from, like a fresh clone would
        registry = work / "registry-before-increment.parquet"
        shutil.copy2(a / REGISTRY, registry)
        new_file = write_new_day(a / "data" / "raw", new_examples, args.seed + NEW_DAY_SEED_OFFSET)
        say(f"new day {new_file.name}: {new_examples:,} records; daily path ...")
        increment = run_in_child(a, *limits)
        if increment.get("error"):
            raise RuntimeError(f"daily path: {increment['error']}")
        shutil.copytree(a / "data" / "raw", b / "data" / "raw")
        (b / REGISTRY).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(registry, b / REGISTRY)
        say("from-scratch build of all the inputs ...")
        scratch = run_in_child(b, *limits)
        if scratch.get("error"):
            raise RuntimeError(f"from-scratch build: {scratch['error']}")
        differing = differing_files(a, b)
        for path in differing[:20]:
            say(f"differs: {path}")
        # the instance's event log holds both runs on A: the increment's stages are the difference
        stages = {
            step: round(seconds - full["stages"].get(step, 0.0), 2)
            for step, seconds in increment["stages"].items()
            if seconds - full["stages"].get(step, 0.0) > 0.005
        }
        out.update(
            {
                "full_s": full["wall_s"],
                "increment_s": increment["wall_s"],
                "ratio": round(increment["wall_s"] / full["wall_s"], 3),
                "identical": not differing,
                "differing": differing[:20],
                "peak_rss_mb": max(full["peak_rss_mb"], increment["peak_rss_mb"]),
                "scratch_s": scratch["wall_s"],
                "cpu_s": {"full": full.get("cpu_s"), "increment": increment.get("cpu_s")},
                "stages_increment": dict(sorted(stages.items(), key=lambda kv: -kv[1])),
            }
        )
    except RuntimeError as error:
        out["error"] = str(error)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out), flush=True)
    return 0 if out["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
