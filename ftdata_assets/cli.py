"""`ftdata`: generate the sample, materialize the graph, run the versioned pipeline through DVC."""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from ftdata_assets.project import PROJECT_DIR_ENV, Project, default_project_dir
from ftdata_assets.versioning import Refused, dvc, preflight_remotes, restore_record, snapshot_record


def use_project_dagster_home(project: Project) -> None:
    """Point Dagster at the project's own instance (SQLite, telemetry off) unless DAGSTER_HOME is set."""
    if not os.environ.get("DAGSTER_HOME"):
        project.dagster_home.mkdir(parents=True, exist_ok=True)
        config = project.dagster_home / "dagster.yaml"
        if not config.exists():
            config.write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
        os.environ["DAGSTER_HOME"] = str(project.dagster_home)


def cmd_sample(project: Project, args: argparse.Namespace) -> int:
    from ftdata_assets.atomic_files import remove_stale_temp_files
    from ftdata_assets.sample_data import generate_sample

    remove_stale_temp_files([project.raw_dir])  # what a killed `ftdata sample` left; `dvc add` would track it

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
    """With push on, a version is recorded (dvc.lock, data/raw.dvc) only if it reaches the remotes: every remote
    is checked before anything runs, and if the push still fails those two files are put back as they were."""
    started = time.perf_counter()
    targets: dict[str, list[str]] = {}
    if args.push:
        try:
            notes, targets = preflight_remotes(project)
        except Refused as refused:
            print(
                f"ftdata: {refused}.\nNothing was run: dvc.lock and data/raw.dvc are unchanged. (`ftdata run "
                "--no-push` builds and records a version locally without pushing it.)",
                file=sys.stderr,
            )
            return refused.code
        for note in notes:
            print(f"ftdata: note: {note}", file=sys.stderr)
    if args.sample:
        cmd_sample(project, argparse.Namespace(seed=None))
    if not any(project.raw_dir.rglob("*")):
        print(f"ftdata: no input data under {project.raw_dir}; add files or use --sample", file=sys.stderr)
        return 2
    record = snapshot_record(project)
    dvc(project, "add", "--quiet", "data/raw")
    pin_raw_remote(project)
    fetch_split_registry(project)
    dvc(project, "repro")
    if args.push:
        failed, restored = list(targets), []
        try:
            failed = [remote for remote, outs in targets.items() if dvc(project, "push", *outs, check=False) != 0]
        finally:  # also on Ctrl-C during the push
            if failed:
                restored = restore_record(project, record)
        if failed:
            names = ", ".join(f"`{name}`" for name in failed)
            put_back = " and ".join(restored) + " put back as they were" if restored else "dvc.lock as it was"
            print(
                f"ftdata: `dvc push` to the DVC remote {names} failed (DVC's message above says why), so this version "
                f"was NOT recorded: {put_back}. The new outputs stay in the workspace and the local DVC cache "
                f"(`dvc status` shows them as changed). Fix the remote (`dvc remote list`; `dvc remote modify --local "
                f"{failed[0]} url ...`), then run `ftdata run` again: it rebuilds the version and pushes it.",
                file=sys.stderr,
            )
            return 1
    print_summary(project)
    print(f"main job wall time: {time.perf_counter() - started:.1f}s")
    return 0


def fetch_split_registry(project: Project) -> None:
    """The split registry freezes the test set across versions; a fresh clone has it only on the remote.

    When dvc.lock records one but it is not here, pull it; if that fails, say what it means and go on (the
    splits are then recomputed from the data: identical for unchanged data and ratios, not guaranteed else)."""
    registry = project.splits_dir / "registry.parquet"
    lock = project.root / "dvc.lock"
    if registry.exists() or not lock.exists() or "path: data/splits" not in lock.read_text():
        return
    if dvc(project, "pull", "--quiet", "data/splits", check=False) != 0:
        print(
            f"ftdata: warning: {registry} is not here and could not be pulled from the `curated` remote; the "
            "splits are recomputed from the data, so examples of the previous version may change split. "
            "Pull it (`dvc pull data/splits`) before releasing a new version.",
            file=sys.stderr,
        )


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


def project_version(project: Project) -> str:
    """What `ftdata profile` records as the version its bounds came from: `git describe` of the project."""
    import subprocess

    done = subprocess.run(
        ["git", "describe", "--tags", "--always", "--dirty"],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unversioned"


def profile_warn_bounds(project: Project, *, version: str, margin: float, spread: float, write: bool) -> int:
    """Profile every suite's warn bounds from the current version's layers; print what changed."""
    from ftdata_assets.validation import _context, profile_project

    results = profile_project(
        project.root,
        version=version,
        context=_context(project.root / "params.yaml"),
        margin=margin,
        spread=spread,
        write=write,
    )
    if not results:
        print(
            f"ftdata profile: no layer of a version under {project.interim_dir} or {project.curated_dir}; "
            "run `ftdata run` first",
            file=sys.stderr,
        )
        return 2
    for name, result in results.items():
        profile = result.suite["meta"]["profile"]
        print(f"{name}: {len(result.changes)} warn bound(s) changed ({profile['rows']} rows, {profile['source']})")
        for label, old, new in result.changes:
            changed = {k: f"{old.get(k)!r} -> {v!r}" for k, v in new.items() if old.get(k) != v}
            print(f"  {label}: " + ", ".join(f"{k} {text}" for k, text in sorted(changed.items())))
    where = "written to expectations/ (review `git diff expectations/`)" if write else "not written (--dry-run)"
    print(f"bounds from version {version}: {where}")
    return 0


def cmd_profile(project: Project, args: argparse.Namespace) -> int:
    version = args.version or project_version(project)
    return profile_warn_bounds(project, version=version, margin=args.margin, spread=args.spread, write=not args.dry_run)


def first_release_profile(project: Project, name: str) -> int:
    """After the first release's run: when no suite has bounds profiled from the user's data yet, profile them
    from this version, so the next versions' drift warnings compare with the user's data, not the sample. The
    expectations folder is a dependency of the DVC stage; warn bounds never block and never change an output,
    so the stage is re-recorded (`dvc commit`) instead of rerun, and the release commit holds both."""
    from ftdata_assets.validation import user_profile_exists
    from ftdata_assets.versioning import dvc

    if user_profile_exists(project.root / "expectations"):
        return 0
    print(f"ftdata release: no warn bounds profiled from your data yet: profiling them from {name}")
    code = profile_warn_bounds(project, version=name, margin=0.1, spread=0.5, write=True)
    if code != 0:
        return code
    if dvc(project, "commit", "--force", "--quiet", "curate", check=False) != 0:
        print(
            "ftdata release: warning: `dvc commit curate` failed, so dvc.lock still records the bundled "
            "expectations (`dvc status` shows them changed); the data is unaffected. Run `dvc commit curate` and "
            "commit dvc.lock.",
            file=sys.stderr,
        )
    return 0


def cmd_release(project: Project, args: argparse.Namespace) -> int:
    from ftdata_assets.versioning import release

    def run_job() -> int:
        code = cmd_run(project, argparse.Namespace(sample=False, push=False))
        return first_release_profile(project, args.name) if code == 0 else code

    return release(project, args.name, run_job=run_job)


def cmd_diff(project: Project, args: argparse.Namespace) -> int:
    from ftdata_assets.versioning import diff

    return diff(project, args.a, args.b, show_ids=args.ids, output=args.output, ignore=tuple(args.ignore))


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
    release = sub.add_parser("release", help="run the main job on a clean tree, commit, tag NAME, `dvc push`")
    release.add_argument("name", help="the git tag of this dataset version, e.g. v3")
    profile = sub.add_parser(
        "profile", help="profile the warn-level drift bounds of expectations/ from the current version's layers"
    )
    profile.add_argument("--version", default=None, help="recorded as the bounds' version (default: git describe)")
    profile.add_argument("--margin", type=float, default=0.1, help="shares: observed +- this (absolute)")
    profile.add_argument("--spread", type=float, default=0.5, help="lengths/counts: observed max x (1 + this)")
    profile.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    diff = sub.add_parser("diff", help="examples added/removed/changed/moved per split between two revisions")
    diff.add_argument("a", help="old revision (a release tag, branch or commit)")
    diff.add_argument("b", help="new revision")
    diff.add_argument("--ids", action="store_true", help="list every differing example id")
    diff.add_argument("--output", type=Path, default=None, help="write the full diff to FILE.parquet or FILE.csv")
    diff.add_argument("--ignore", action="append", default=[], metavar="COLUMN", help="column not to compare")
    args = parser.parse_args(argv)
    project = Project((args.project_dir or default_project_dir()).resolve())
    handlers = {
        "sample": cmd_sample,
        "materialize": cmd_materialize,
        "run": cmd_run,
        "summary": cmd_summary,
        "release": cmd_release,
        "diff": cmd_diff,
        "profile": cmd_profile,
    }
    return handlers[args.command](project, args)


if __name__ == "__main__":
    raise SystemExit(main())
