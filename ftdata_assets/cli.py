"""`ftdata`: generate the sample, materialize the graph, run the versioned pipeline through DVC."""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ftdata_assets.project import PROJECT_DIR_ENV, Project, default_project_dir


def use_project_dagster_home(project: Project) -> None:
    """Point Dagster at the project's own instance (SQLite, telemetry off) unless DAGSTER_HOME is set."""
    if not os.environ.get("DAGSTER_HOME"):
        project.dagster_home.mkdir(parents=True, exist_ok=True)
        config = project.dagster_home / "dagster.yaml"
        if not config.exists():
            config.write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
        os.environ["DAGSTER_HOME"] = str(project.dagster_home)


def cmd_sample(project: Project, args: argparse.Namespace) -> int:
    from ftdata_assets.sample_data import generate_sample

    seed = args.seed if args.seed is not None else int(project.params["sample"]["seed"])
    counts = generate_sample(project.raw_dir, seed=seed)
    print(f"sample data (seed {seed}): {sum(counts.values())} records in {len(counts)} files under {project.raw_dir}")
    return 0


def cmd_materialize(project: Project, args: argparse.Namespace) -> int:
    import dagster as dg

    from ftdata_assets.defs.runner import PipelineError, materialize_all

    use_project_dagster_home(project)
    os.environ[PROJECT_DIR_ENV] = str(project.root)
    try:
        with dg.DagsterInstance.get() as instance:
            report = materialize_all(project.root, instance)
    except PipelineError as error:
        print(f"ftdata: {error}", file=sys.stderr)
        return 1
    print(f"materialized every asset in {report.wall_s:.1f}s")
    return 0


def dvc(project: Project, *args: str) -> None:
    """Run DVC from this interpreter's environment, with its bin folder on PATH for the stage commands."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env[PROJECT_DIR_ENV] = str(project.root)
    command = [sys.executable, "-m", "dvc", *args]
    print(f"$ dvc {' '.join(args)}", flush=True)
    completed = subprocess.run(command, cwd=project.root, env=env, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"ftdata: `dvc {' '.join(args)}` failed with exit code {completed.returncode}")


def pin_raw_remote(project: Project) -> None:
    """Make sure data/raw.dvc sends the raw inputs to the `raw` remote, never to the trainers' one.

    There is deliberately no default remote either, so an output without a remote fails to push loudly."""
    import yaml

    dvc_file = project.root / "data" / "raw.dvc"
    spec = yaml.safe_load(dvc_file.read_text())
    outs = spec.get("outs", [])
    if all(out.get("remote") == "raw" for out in outs):
        return
    for out in outs:
        out["remote"] = "raw"
    dvc_file.write_text(yaml.safe_dump(spec, sort_keys=False))


def cmd_run(project: Project, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.sample:
        cmd_sample(project, argparse.Namespace(seed=None))
    if not any(project.raw_dir.rglob("*")):
        print(f"ftdata: no input data under {project.raw_dir}; add files or use --sample", file=sys.stderr)
        return 2
    dvc(project, "add", "--quiet", "data/raw")
    pin_raw_remote(project)
    dvc(project, "repro")
    if args.push:
        dvc(project, "push")
    print_summary(project)
    print(f"main job wall time: {time.perf_counter() - started:.1f}s")
    return 0


def print_summary(project: Project) -> None:
    ledger_path = project.metrics_dir / "ledger.json"
    ledger = json.loads(ledger_path.read_text())
    rejected = sum(ledger["rejected"].values())
    print(f"\nrows in: {ledger['rows_in']}")
    print("curated: " + ", ".join(f"{split} {n}" for split, n in ledger["curated"].items()))
    print(f"rejected: {rejected} (" + ", ".join(f"{r} {n}" for r, n in ledger["rejected"].items()) + ")")
    print(f"held for review: {ledger['held_for_review']}")
    print(f"curated files: {project.curated_dir}")
    queue = project.review_export_dir / "queue.csv"
    if queue.exists():
        print(f"review queue: {queue} (decide in {project.decisions_dir}/; audit sample: audit_sample.csv)")


def cmd_summary(project: Project, args: argparse.Namespace) -> int:
    print_summary(project)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ftdata", description=__doc__)
    parser.add_argument("--project-dir", type=Path, default=None, help="project folder (default: cwd)")
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="(re)generate the bundled sample data under data/raw")
    sample.add_argument("--seed", type=int, default=None, help="default: sample.seed in params.yaml")
    sub.add_parser("materialize", help="materialize every asset in-process (the DVC stage command)")
    run = sub.add_parser("run", help="the main job: track raw data, `dvc repro`, `dvc push`, summary")
    run.add_argument("--sample", action="store_true", help="generate the bundled sample data first")
    run.add_argument("--no-push", dest="push", action="store_false", help="do not push to the DVC remotes")
    sub.add_parser("summary", help="print the last run's row ledger")
    args = parser.parse_args(argv)
    project = Project((args.project_dir or default_project_dir()).resolve())
    handlers = {"sample": cmd_sample, "materialize": cmd_materialize, "run": cmd_run, "summary": cmd_summary}
    return handlers[args.command](project, args)


if __name__ == "__main__":
    raise SystemExit(main())
