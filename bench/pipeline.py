"""End-to-end benchmark: generate N raw examples, run the whole Dagster pipeline, compare with the I/O floor.

Run: `.venv/bin/python bench/pipeline.py --examples 100000 [--days 14] [--batches 8] [--seed 20261101]
[--workdir DIR [--reuse-raw]] [--keep] [--instance sqlite|ephemeral]`

1. Builds a temporary project folder the way `tests/conftest.py` `make_project(root, with_sample=False)` does
   (params.yaml, dvc.yaml, workspace.yaml, pyproject.toml, expectations/, data/benchmarks/) and writes N
   records under data/raw with `bench/scaled_sample.py` (the sample generator's topics, plants and formats,
   scaled: daily log files, two expert files, one file per synthetic batch, a feedback file; duplicates, PII,
   refusals, non-English and malformed lines at realistic rates; deterministic for the seed).
   `--reuse-raw` with `--workdir` keeps raw files made by an earlier run with the same arguments and generator
   (bench_raw.json records both) and clears everything else.
2. The I/O floor, in the same run, on the same files: read every raw file with polars (jsonl/json as lines
   through the CSV reader, gzip included; Parquet with `read_parquet`) and write it as Parquet (zstd). No JSON
   parsing: a line-level floor, what any pipeline must at least pay to move the bytes.
3. Runs `ftdata_assets.defs.runner.materialize_all` (every log day, every synthetic batch, then `curate`) on
   a fresh Dagster instance (`dg.instance_for_test`, SQLite under the work dir; `--instance ephemeral` for the
   in-memory one) in a child process, so its peak RSS is the pipeline's alone (not the generator's): the
   larger of ru_maxrss inside that process and the RSS of its whole process tree, summed and sampled every
   second (on large inputs `curate` runs one process per step; shared pages count in each, so this errs high).
   Per-stage seconds come from the instance's event log: STEP_START -> STEP_SUCCESS/STEP_FAILURE timestamps
   per step key, summed over runs (a partitioned asset's stage is the sum over its partitions).
   Progress: one line per generated file, per run, and per step with the steps' own progress lines when the
   steps run in this process (step processes log to the instance, which the UI shows).

The LAST line printed is one JSON object: examples, wall_s (materialize_all), floor_s, ratio (wall/floor),
peak_rss_mb, stages {step: seconds}, plus cpu_s of the pipeline process (user+sys: less sensitive to other
load on a shared machine than wall time; it leaves out step processes, which the forkserver reaps), gen_s,
runs (seconds per job, summed over partitions), raw_mb, ledger (rows_in, curated, rejected, held_for_review)
and error (null unless a run failed).
"""

import argparse
import contextlib
import json
import logging
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PROJECT_FILES = ("params.yaml", "dvc.yaml", "workspace.yaml", "pyproject.toml")


def make_project(root: Path) -> Path:
    """Same as tests/conftest.py make_project(root, with_sample=False)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(REPO_ROOT / name, root / name)
    shutil.copytree(REPO_ROOT / "expectations", root / "expectations", dirs_exist_ok=True)
    shutil.copytree(REPO_ROOT / "data" / "benchmarks", root / "data" / "benchmarks", dirs_exist_ok=True)
    return root


def say(message: str) -> None:
    print(message, flush=True)


def peak_rss_mb() -> tuple[float, float]:
    """(self, largest waited-for child) peak RSS in MB; Linux reports ru_maxrss in KiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


# ------------------------------------------------------------------------------------------------------
# I/O floor
# ------------------------------------------------------------------------------------------------------


def io_floor(raw_dir: Path, out_dir: Path) -> float:
    """Seconds to read every raw file with polars and write it as Parquet."""
    import polars as pl

    out_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in raw_dir.rglob("*") if p.is_file())
    started = time.perf_counter()
    for i, path in enumerate(files):
        if path.name.endswith(".parquet"):
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(
                path,
                has_header=False,
                separator="\x1f",
                quote_char=None,
                new_columns=["line"],
                schema={"line": pl.String},
                encoding="utf8-lossy",
                truncate_ragged_lines=True,
            )
        frame.write_parquet(out_dir / f"{i:04d}.parquet", compression="zstd")
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------------------
# The pipeline, in a child process
# ------------------------------------------------------------------------------------------------------


def stage_seconds(instance: Any) -> tuple[dict[str, float], dict[str, int]]:
    """{step key: seconds} and {step key: runs} (steps run more than once), from the event log of every run."""
    import dagster as dg

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    for run in instance.get_runs():
        starts: dict[str, float] = {}
        for entry in instance.all_logs(run.run_id, of_type=kinds):
            if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                starts[entry.step_key] = entry.timestamp
            elif entry.step_key in starts:
                seconds[entry.step_key] = seconds.get(entry.step_key, 0.0) + entry.timestamp - starts[entry.step_key]
                counts[entry.step_key] = counts.get(entry.step_key, 0) + 1
    order = sorted(seconds, key=seconds.get, reverse=True)
    return {k: round(seconds[k], 2) for k in order}, {k: counts[k] for k in order if counts[k] > 1}


def run_seconds(instance: Any) -> dict[str, float]:
    """{job: seconds}, summed over its runs (one run per partition), from the run records."""
    runs: dict[str, float] = {}
    for run in instance.get_runs():
        stats = instance.get_run_stats(run.run_id)
        if stats.start_time and stats.end_time:
            runs[run.job_name] = round(runs.get(run.job_name, 0.0) + stats.end_time - stats.start_time, 2)
    return runs


def failed_checks(instance: Any) -> list[dict[str, Any]]:
    """Every failed asset check of every run, with its metadata as JSON (what a failed blocking check saw)."""
    import dagster as dg

    out = []
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = entry.dagster_event.event_specific_data
            if not evaluation.passed:
                metadata = {key: getattr(value, "value", value) for key, value in evaluation.metadata.items()}
                metadata = json.dumps(metadata, default=str)[:3000]
                out.append(
                    {
                        "check": f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
                        "severity": str(evaluation.severity.value) if evaluation.severity else None,
                        "metadata": metadata,
                    }
                )
    return out


def watch_steps(instance: Any) -> None:
    """Print a line when a step starts or ends, and the steps' own log lines (progress on long steps)."""
    import dagster as dg

    handle = instance.handle_new_event
    started: dict[str, float] = {}

    def hook(event: Any, **kwargs: Any) -> None:
        handle(event, **kwargs)
        if not event.is_dagster_event and event.level >= logging.INFO:  # the steps' own progress lines
            say(f"      {event.step_key or ''}: {event.user_message}")
            return
        kind = event.dagster_event.event_type if event.is_dagster_event else None
        if kind == dg.DagsterEventType.STEP_START:
            started[event.step_key] = time.perf_counter()
            say(f"    step {event.step_key} ...")
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            seconds = time.perf_counter() - started.get(event.step_key, time.perf_counter())
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            outcome = "done" if kind == dg.DagsterEventType.STEP_SUCCESS else "FAILED"
            say(f"    step {event.step_key} {outcome} in {seconds:.1f}s (peak RSS so far {rss:,.0f} MB)")

    instance.handle_new_event = hook


def run_pipeline(root: str, instance_kind: str, conn: Any) -> None:
    """Child process: materialize everything, send back timings, stages and peak RSS."""
    result: dict[str, Any] = {"error": None}
    t0 = time.perf_counter()
    import dagster as dg

    from ftdata_assets.defs.runner import PipelineError, materialize_all

    result["import_s"] = round(time.perf_counter() - t0, 2)
    home = Path(root) / "dagster_home"
    home.mkdir(exist_ok=True)
    cpu0 = cpu_seconds()
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if instance_kind == "sqlite":
            instance = stack.enter_context(dg.instance_for_test(temp_dir=str(home)))
        else:
            instance = dg.DagsterInstance.ephemeral()
        watch_steps(instance)
        try:
            materialize_all(Path(root), instance, progress=say)
        except PipelineError as error:
            result["error"] = str(error)
        except Exception as error:  # a benchmark reports a failure, it does not hide it
            result["error"] = f"{type(error).__name__}: {error}"
        result["wall_s"] = round(time.perf_counter() - started, 2)
        result["cpu_s"] = round(cpu_seconds() - cpu0, 1)
        result["stages"], result["stage_runs"] = stage_seconds(instance)
        result["runs"] = run_seconds(instance)
        result["failed_checks"] = failed_checks(instance)
    own, children = peak_rss_mb()
    result["peak_rss_mb"] = round(max(own, children), 1)
    result["peak_rss_self_mb"], result["peak_rss_children_mb"] = round(own, 1), round(children, 1)
    conn.send(result)
    conn.close()


def process_tree_rss_mb(pid: int) -> float:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total / 2**20


def supervise(child: Any, receive: Any, max_rss_mb: float, max_s: float) -> dict[str, Any]:
    """Wait for the pipeline process's result; stop it (SIGTERM, then SIGKILL) over the RSS or time limit."""
    started = time.perf_counter()
    sampled_peak = 0.0
    stopped = None
    while True:
        if receive.poll(1):
            try:
                result = receive.recv()
            except EOFError:
                result = {"error": "pipeline process died without a result (killed? out of memory?)"}
            break
        elapsed = time.perf_counter() - started
        rss = process_tree_rss_mb(child.pid)
        sampled_peak = max(sampled_peak, rss)
        if rss > max_rss_mb:
            stopped = f"stopped: pipeline RSS {rss:,.0f} MB over the {max_rss_mb:,.0f} MB limit after {elapsed:.0f}s"
        elif elapsed > max_s:
            stopped = f"stopped: pipeline still running after {elapsed / 60:.1f} min (limit {max_s / 60:g} min)"
        if stopped:
            say(stopped)
            stopped_at = time.time()
            child.terminate()
            child.join(20)
            if child.is_alive():
                child.kill()
            result = {"error": stopped, "stopped": True, "stopped_at": stopped_at, "wall_s": round(elapsed, 2)}
            break
    child.join()
    if child.exitcode and not result.get("error"):
        result["error"] = f"pipeline process exit code {child.exitcode}"
    # with one process per step the pipeline is a tree: its peak is the sampled sum (shared pages counted in
    # every process, so this over- rather than under-states it)
    result["peak_rss_tree_mb"] = round(sampled_peak, 1)
    if "peak_rss_mb" in result:
        result["peak_rss_mb"] = round(max(result["peak_rss_mb"], sampled_peak), 1)
    if result.get("stopped") or "peak_rss_mb" not in result:
        # the child never reported: its reaped peak is in our RUSAGE_CHILDREN (we have no other children)
        reaped = peak_rss_mb()[1]
        result["peak_rss_mb"] = round(max(reaped, sampled_peak), 1)
        result["peak_rss_children_mb"] = round(reaped, 1)
    return result


def partial_result(root: Path, stopped_at: float) -> dict[str, Any]:
    """Stages, runs and the step that was running, read back from the stopped run's SQLite instance."""
    import dagster as dg

    with dg.instance_for_test(temp_dir=str(root / "dagster_home")) as instance:
        stages, stage_runs = stage_seconds(instance)
        out: dict[str, Any] = {"stages": stages, "stage_runs": stage_runs, "runs": run_seconds(instance)}
        kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
        for run in instance.get_runs(limit=1):
            started: dict[str, float] = {}
            unfinished: dict[str, float] = {}  # interrupted by the stop (STEP_FAILURE) or never ended
            for entry in instance.all_logs(run.run_id, of_type=kinds):
                kind = entry.dagster_event.event_type
                if kind == dg.DagsterEventType.STEP_START:
                    started[entry.step_key] = entry.timestamp
                elif kind == dg.DagsterEventType.STEP_FAILURE and entry.step_key in started:
                    unfinished[entry.step_key] = round(entry.timestamp - started.pop(entry.step_key), 1)
                else:
                    started.pop(entry.step_key, None)
            unfinished.update({key: round(stopped_at - ts, 1) for key, ts in started.items()})
            out["running_step"] = unfinished
    return out


def ledger_summary(root: Path) -> dict[str, Any] | None:
    path = root / "data" / "metrics" / "ledger.json"
    if not path.exists():
        return None
    ledger = json.loads(path.read_text())
    rejected = ledger.get("rejected", {})
    return {
        "rows_in": ledger.get("rows_in"),
        "curated": ledger.get("curated"),
        "rejected": sum(rejected.values()),
        "rejected_top": dict(sorted(rejected.items(), key=lambda kv: -kv[1])[:6]),
        "held_for_review": ledger.get("held_for_review"),
    }


STAMP_FILE = "bench_raw.json"


def raw_stamp(args: argparse.Namespace) -> dict[str, Any]:
    """What the raw files depend on: the generator's arguments and the bytes of the generator itself."""
    import hashlib

    generators = (Path(__file__).with_name("scaled_sample.py"), REPO_ROOT / "ftdata_assets" / "sample_data.py")
    code = b"".join(path.read_bytes() for path in generators)
    return {
        "examples": args.examples,
        "days": args.days,
        "batches": args.batches,
        "seed": args.seed,
        "generator": hashlib.sha256(code).hexdigest(),
    }


def reusable_raw(root: Path, stamp: dict[str, Any]) -> bool:
    try:
        saved = json.loads((root / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return False
    return saved.get("stamp") == stamp and (root / "data" / "raw").is_dir()


def save_stamp(root: Path, stamp: dict[str, Any], stats: Any) -> None:
    kept = ("files", "organic_repeats", "bytes_written", "seconds")  # `planted` has tuple keys: not JSON
    payload = {"stamp": stamp, "stats": {name: getattr(stats, name) for name in kept}}
    (root / STAMP_FILE).write_text(json.dumps(payload, indent=2) + "\n")


def clear_all_but_raw(root: Path) -> None:
    """A rerun on kept raw files starts from nothing else: no interim, outputs or Dagster instance."""
    for entry in root.iterdir():
        if entry.name == STAMP_FILE:
            continue
        if entry.name == "data" and entry.is_dir():
            for sub in entry.iterdir():
                if sub.name != "raw":
                    shutil.rmtree(sub) if sub.is_dir() else sub.unlink()
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


# ------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, required=True, help="raw records to generate (all sources)")
    parser.add_argument("--days", type=int, default=14, help="daily log files (partitions)")
    parser.add_argument("--batches", type=int, default=8, help="synthetic batch files (partitions)")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--workdir", type=Path, help="project folder to use (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the project folder afterwards")
    parser.add_argument(
        "--reuse-raw",
        action="store_true",
        help="with --workdir: keep its data/raw if it was generated with the same arguments and generator",
    )
    parser.add_argument("--instance", choices=("sqlite", "ephemeral"), default="sqlite")
    parser.add_argument("--max-rss-gb", type=float, default=16.0, help="stop the pipeline above this RSS")
    parser.add_argument("--max-minutes", type=float, default=40.0, help="stop the pipeline after this long")
    args = parser.parse_args(argv)

    from scaled_sample import GenerationStats, generate

    root = args.workdir or Path(tempfile.mkdtemp(prefix="ftdata-bench-"))
    stamp = raw_stamp(args)
    reused = args.reuse_raw and args.workdir is not None and reusable_raw(root, stamp)
    if reused:
        clear_all_but_raw(root)
    elif args.workdir and root.exists():
        shutil.rmtree(root)
    make_project(root)
    say(f"project folder: {root}")
    out: dict[str, Any] = {"examples": args.examples}
    try:
        if reused:
            stats = GenerationStats(**json.loads((root / STAMP_FILE).read_text())["stats"])
            say(f"reusing the {sum(stats.files.values()):,} records generated earlier in {root / 'data' / 'raw'}")
        else:
            stats = generate(root / "data" / "raw", args.examples, days=args.days, batches=args.batches, seed=args.seed)
            save_stamp(root, stamp, stats)
            say(f"generated {sum(stats.files.values()):,} records in {stats.seconds:.1f}s")
        gen_rss = peak_rss_mb()[0]

        say("I/O floor: read every raw file with polars, write Parquet ...")
        floor_s = io_floor(root / "data" / "raw", root / "floor")
        shutil.rmtree(root / "floor")
        say(f"I/O floor: {floor_s:.2f}s")

        say(f"pipeline: materialize_all on a {args.instance} Dagster instance (child process) ...")
        ctx = mp.get_context("spawn")
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=run_pipeline, args=(str(root), args.instance, send))
        child.start()
        send.close()
        result = supervise(child, receive, args.max_rss_gb * 1024, args.max_minutes * 60)
        if result.get("stopped") and args.instance == "sqlite":
            result.update(partial_result(root, result["stopped_at"]))
        wall_s = result.get("wall_s")
        out.update(
            {
                "wall_s": wall_s,
                "floor_s": round(floor_s, 2),
                "ratio": round(wall_s / floor_s, 1) if wall_s and floor_s else None,
                "peak_rss_mb": result.get("peak_rss_mb"),
                "peak_rss_self_mb": result.get("peak_rss_self_mb"),
                "peak_rss_children_mb": result.get("peak_rss_children_mb"),
                "peak_rss_tree_mb": result.get("peak_rss_tree_mb"),
                "stages": result.get("stages"),
                "cpu_s": result.get("cpu_s"),
                "gen_s": round(stats.seconds, 1),
                "gen_peak_rss_mb": round(gen_rss, 1),
                "import_s": result.get("import_s"),
                "runs": result.get("runs"),
                "stage_runs": result.get("stage_runs"),
                "raw_mb": round(stats.bytes_written / 1e6, 1),
                "files": len(stats.files),
                "days": args.days,
                "batches": args.batches,
                "seed": args.seed,
                "organic_repeats": stats.organic_repeats,
                "ledger": ledger_summary(root),
                "error": result.get("error"),
                "running_step": result.get("running_step"),
            }
        )
        for check in result.get("failed_checks") or []:
            say(f"failed check {check['check']} ({check['severity']}): {check['metadata']}")
        out["failed_checks"] = [c["check"] for c in result.get("failed_checks") or []]
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out), flush=True)
    return 0 if out.get("error") is None else 1


if __name__ == "__main__":
    sys.exit(main())
