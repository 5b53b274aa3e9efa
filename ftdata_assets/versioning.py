"""Dataset versions as git tags: `ftdata release NAME` and `ftdata diff A B`.

A release is a commit holding `dvc.lock` (and `data/raw.dvc`, the metrics) plus an annotated tag; the data itself
goes to the DVC remotes with `dvc push`. A diff reads the three curated split files of two revisions through DVC
(local cache first, then the `curated` remote) and compares them example by example.
"""

import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import yaml

from ftdata_assets.project import PROJECT_DIR_ENV, Project

if TYPE_CHECKING:
    import polars as pl

CURATED_DIR = "data/curated"
SPLIT_FILES: dict[str, str] = {split: f"{split}.parquet" for split in ("train", "validation", "test")}


class Refused(Exception):
    """A command that cannot start (or go on) for a reason the user must fix; `code` is the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def dvc(project: Project, *args: str, check: bool = True) -> int:
    """Run DVC from this interpreter's environment, with its bin folder on PATH for the stage commands."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env[PROJECT_DIR_ENV] = str(project.root)
    command = [sys.executable, "-m", "dvc", *args]
    print(f"$ dvc {' '.join(args)}", flush=True)
    completed = subprocess.run(command, cwd=project.root, env=env, check=False)
    if check and completed.returncode != 0:
        raise SystemExit(f"ftdata: `dvc {' '.join(args)}` failed with exit code {completed.returncode}")
    return completed.returncode


RAW_REMOTE = "raw"
"""The remote `ftdata run` pins data/raw (and so data/raw.dvc) to; see `cli.pin_raw_remote`."""
RECORD_FILES = ("dvc.lock", "data/raw.dvc")
"""What records a dataset version (with the metrics): a run that cannot push must leave these as they were."""


def remotes_of_outputs(project: Project) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """(configured remotes, remote name -> the DVC outputs that push to it). Every cached output of dvc.yaml and
    of the `.dvc` files counts, plus data/raw, which `ftdata run` tracks with the `raw` remote even before
    data/raw.dvc exists. An output without a remote and no default remote is listed under the name ''."""
    from dvc.repo import Repo

    try:
        with Repo(str(project.root)) as repo:
            remotes = {name: dict(conf) for name, conf in repo.config.get("remote", {}).items()}
            default = repo.config.get("core", {}).get("remote") or ""
            wanted: dict[str, list[str]] = {}
            for out in repo.index.outs:
                if out.use_cache:
                    path = Path(os.path.relpath(out.fs_path, repo.root_dir)).as_posix()
                    wanted.setdefault(out.remote or default, []).append(path)
    except Exception as error:  # a broken dvc.yaml or config: DVC's own message says where
        raise Refused(f"cannot read the DVC project in {project.root}: {type(error).__name__}: {error}") from error
    raw = wanted.setdefault(RAW_REMOTE, [])
    if "data/raw" not in raw:
        raw.append("data/raw")
    return remotes, wanted


def local_remote_path(url: str) -> Path | None:
    """The folder of a local-directory remote (a plain path or file://), None for any other scheme."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(parsed.path).expanduser()
    if not parsed.scheme or len(parsed.scheme) == 1:  # a path (or a Windows drive letter)
        return Path(url).expanduser()
    return None


def probe_writable(folder: Path) -> str | None:
    """Create `folder` if needed and write, fsync and remove a small file in it; why not, or None if it works."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ftdata-preflight.", suffix=".tmp")
        try:
            os.write(fd, b"ftdata: can this remote be written?\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(tmp)
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror or error}{where}"
    return None


def preflight_remotes(project: Project) -> tuple[list[str], dict[str, list[str]]]:
    """Before anything runs, make sure every remote the outputs push to can take the push.

    A local-directory remote must be creatable and writable (a temp file is written and removed). Other schemes
    (s3://, ssh://, ...) cannot be checked ahead without their credentials and network: they get a note, and the
    caller's fallback (put dvc.lock and data/raw.dvc back when the push fails) covers them. Raises `Refused`
    naming the remote and what to do; returns the notes and, per remote, the outputs that push to it."""
    remotes, wanted = remotes_of_outputs(project)
    notes = []
    for name, outs in sorted(wanted.items()):
        listed = ", ".join(outs)
        if not name:
            raise Refused(
                f"{listed} name(s) no DVC remote and there is no default remote, so `dvc push` cannot send them "
                "anywhere: give each output a `remote:` in dvc.yaml (`curated` for what trainers pull, `raw` for "
                "raw lines)"
            )
        if name not in remotes or not remotes[name].get("url"):
            raise Refused(
                f"{listed} push(es) to the DVC remote `{name}`, which is not configured (`dvc remote list`); add it "
                f"with `dvc remote add {name} <url>` (or `dvc remote modify --local {name} url <url>`)"
            )
        url = str(remotes[name]["url"])
        folder = local_remote_path(url)
        if folder is None:
            notes.append(
                f"the DVC remote `{name}` ({url}) cannot be checked before the run (only local-directory remotes "
                "are); if the push fails, dvc.lock and data/raw.dvc are put back as they were"
            )
            continue
        problem = probe_writable(folder)
        if problem:
            raise Refused(
                f"the DVC remote `{name}` ({url}, which receives {listed}) cannot be written: {problem}. Point it "
                f"at a folder you can write, e.g. `dvc remote modify --local {name} url /path/to/{name}` (`dvc "
                "remote list` shows the remotes), or fix the folder (a read-only mount, a missing parent, a file "
                "in the way), then run the command again"
            )
    return notes, wanted


def snapshot_record(project: Project) -> dict[str, bytes | None]:
    """The bytes of dvc.lock and data/raw.dvc (None: absent), to put back if a version cannot be pushed."""
    return {
        name: (project.root / name).read_bytes() if (project.root / name).is_file() else None for name in RECORD_FILES
    }


def restore_record(project: Project, snapshot: dict[str, bytes | None]) -> list[str]:
    """Put dvc.lock and data/raw.dvc back as `snapshot_record` saw them; return the names that had changed."""
    from ftdata_assets.atomic_files import write_bytes_atomically

    changed = []
    for name, data in snapshot.items():
        path = project.root / name
        now = path.read_bytes() if path.is_file() else None
        if now == data:
            continue
        changed.append(name)
        if data is None:
            path.unlink(missing_ok=True)
        else:
            write_bytes_atomically(path, data)
    return changed


def git(cwd: Path, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise Refused(f"`git {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()}", code=1)
    return done


def git_toplevel(project: Project) -> Path:
    done = git(project.root, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0:
        raise Refused(f"{project.root} is not inside a git repository: {done.stderr.strip()}")
    return Path(done.stdout.strip())


def working_tree_changes(top: Path) -> list[tuple[str, str]]:
    """(status, path) for every change git sees, untracked files included; paths relative to the repository."""
    fields = git(top, "status", "--porcelain", "-z", "--untracked-files=all").stdout.split("\0")
    changes, i = [], 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if not entry:
            continue
        status, path = entry[:2], entry[3:]
        changes.append((status, path))
        if status[0] in "RC":  # a rename or copy is followed by its original path
            changes.append((status, fields[i]))
            i += 1
    return changes


def check_releasable(project: Project, name: str) -> Path:
    """Refuse an invalid or existing tag name, a repository without commits, or a tree with any change."""
    top = git_toplevel(project)
    if name.startswith("-") or git(top, "check-ref-format", f"refs/tags/{name}", check=False).returncode != 0:
        raise Refused(f"{name!r} is not a valid git tag name (see `git check-ref-format --help`)")
    if git(top, "rev-parse", "--quiet", "--verify", f"refs/tags/{name}", check=False).returncode == 0:
        raise Refused(f"tag {name!r} already exists; pick another name (`git tag --list` shows the versions)")
    if git(top, "rev-parse", "--quiet", "--verify", "HEAD", check=False).returncode != 0:
        raise Refused("the repository has no commit yet; commit the project first")
    changes = working_tree_changes(top)
    if changes:
        listed = "\n".join(f"  {status} {path}" for status, path in changes[:20])
        more = f"\n  ... and {len(changes) - 20} more" if len(changes) > 20 else ""
        raise Refused(
            "the git working tree is not clean; a release must be reproducible from its commit, so commit or "
            f"stash these first (untracked files count too):\n{listed}{more}"
        )
    return top


def ledger_lines(project: Project) -> list[str]:
    path = project.metrics_dir / "ledger.json"
    if not path.exists():
        return [f"(no {path.relative_to(project.root)})"]
    lines = []
    for key, value in json.loads(path.read_text()).items():
        if isinstance(value, dict) and all(isinstance(v, int | float) for v in value.values()):
            parts = ", ".join(f"{k} {v}" for k, v in value.items())
            lines.append(f"{key}: {sum(value.values())} ({parts})")
        else:
            lines.append(f"{key}: {json.dumps(value) if isinstance(value, dict | list) else value}")
    return lines


def _out_line(out: dict[str, Any]) -> str:
    digest = next((f"{k} {out[k]}" for k in ("md5", "etag", "checksum") if k in out), "no hash")
    extra = f"  {out['nfiles']} files" if "nfiles" in out else ""
    size = f"  {out['size']} bytes" if "size" in out else ""
    return f"  {out.get('path', '?')}  {digest}{extra}{size}"


def output_hash_lines(project: Project) -> list[str]:
    """The DVC hashes a release pins: every stage output in dvc.lock and the raw inputs in data/raw.dvc."""
    lines = []
    lock = project.root / "dvc.lock"
    if lock.exists():
        lines.append("DVC outputs (dvc.lock):")
        for stage, spec in (yaml.safe_load(lock.read_text()) or {}).get("stages", {}).items():
            lines += [f"{_out_line(out)}  (stage {stage})" for out in spec.get("outs", [])]
    for dvc_file in sorted((project.root / "data").glob("*.dvc")):
        lines.append(f"raw inputs ({dvc_file.relative_to(project.root)}):")
        lines += [_out_line(out) for out in (yaml.safe_load(dvc_file.read_text()) or {}).get("outs", [])]
    return lines


def release(project: Project, name: str, run_job: Callable[[], int]) -> int:
    """Run the main job, commit what it changed, tag it NAME (annotated: ledger and DVC hashes), `dvc push`."""
    try:
        top = check_releasable(project, name)
    except Refused as refused:
        print(f"ftdata release: {refused}", file=sys.stderr)
        return refused.code
    aborted = f"ftdata release: {name} aborted, nothing committed or tagged"
    try:
        for note in preflight_remotes(project)[0]:
            print(f"ftdata release: note: {note}", file=sys.stderr)
    except Refused as refused:
        print(f"ftdata release: {refused}\n{aborted} (refused before running anything)", file=sys.stderr)
        return refused.code
    try:
        code = run_job()
    except SystemExit as failed:  # dvc() raises it with a message on a failed `dvc add` / `dvc repro`
        print(f"{failed}\n{aborted} (the run may have left changes: `git status`)", file=sys.stderr)
        return 1
    if code != 0:
        print(f"{aborted} (the main job exited with {code})", file=sys.stderr)
        return code
    try:
        changed = sorted({path for _, path in working_tree_changes(top)})
        if changed:
            git(top, "add", "-A", "--", *changed)
            print("staged: " + ", ".join(changed))
        if git(top, "diff", "--cached", "--quiet", check=False).returncode != 0:
            git(top, "commit", "-q", "-m", f"Dataset version {name}")
        else:
            print("the run changed no tracked file; tagging the current commit")
        message = "\n".join([f"Dataset version {name}", "", *ledger_lines(project), "", *output_hash_lines(project)])
        git(top, "tag", "-a", "-F", "-", name, stdin=message + "\n")
    except Refused as failed:
        print(f"{aborted}: {failed}", file=sys.stderr)
        return failed.code
    commit = git(top, "rev-parse", "--short", "HEAD").stdout.strip()
    print(f"\nrelease {name}: commit {commit}, annotated tag {name}")
    if dvc(project, "push", check=False) != 0:
        print(
            f"ftdata release: `dvc push` failed, so the data of {name} is NOT on the DVC remotes. The tag {name} "
            f"(commit {commit}) exists locally only. Fix the remote (`dvc remote list`; `dvc remote modify --local "
            "<remote> url ...`), then retry with `dvc push`; push the tag with git only after that succeeds.",
            file=sys.stderr,
        )
        return 1
    branch = git(top, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.strip()
    remote = (git(top, "remote").stdout.split() or ["<remote>"])[0]
    refs = " ".join(filter(None, [branch, name]))
    print(f"data pushed to the DVC remotes. Nothing was pushed to git; to publish: git push {remote} {refs}")
    return 0


def read_splits(project: Project, top: Path, rev: str) -> dict[str, "pl.DataFrame"]:
    """The curated split frames at a git revision, through DVC (local cache first, then the remotes)."""
    import polars as pl
    from dvc.api import DVCFileSystem

    if git(top, "rev-parse", "--quiet", "--verify", f"{rev}^{{commit}}", check=False).returncode != 0:
        raise Refused(f"revision {rev!r} does not exist (`git tag --list` shows the released versions)")
    try:
        fs = DVCFileSystem(str(top), rev=rev)
    except Exception as error:
        raise Refused(f"revision {rev!r} is not a DVC project, so it has no curated data ({error})") from error
    prefix = project.root.resolve().relative_to(top.resolve()).as_posix()
    folder = CURATED_DIR if prefix == "." else f"{prefix}/{CURATED_DIR}"
    tracked, digest = False, None
    try:
        tracked = fs.exists(folder)
        digest = fs.info(folder).get("md5") if tracked else None
        names = {name.rsplit("/", 1)[-1] for name in fs.ls(folder, detail=False)} if tracked else set()
    except Exception as error:
        raise Refused(
            f"{folder} at {rev} (md5 {digest}) cannot be listed: its DVC directory manifest is neither in the local "
            f"cache nor on the `curated` remote ({type(error).__name__}: {error}); check `dvc remote list` and that "
            f"{rev} was pushed (`dvc push` after `ftdata release`)",
            code=1,
        ) from error
    if not tracked:
        raise Refused(f"revision {rev!r} has no curated data: {folder} is not tracked by DVC there")
    missing = [split for split, file in SPLIT_FILES.items() if file not in names]
    if missing:
        raise Refused(f"revision {rev!r} has incomplete curated data: no {', '.join(missing)} split in {folder}")
    frames = {}
    for split, file in SPLIT_FILES.items():
        path = f"{folder}/{file}"
        try:
            with fs.open(path, mode="rb") as handle:
                frames[split] = pl.read_parquet(io.BytesIO(handle.read()))
        except Exception as error:
            raise Refused(
                f"cannot read {path} at {rev} from the local DVC cache or the `curated` remote "
                f"({type(error).__name__}: {error}); check `dvc remote list` and your access to it",
                code=1,
            ) from error
    return frames


def _table(rows: list[dict[str, Any]]) -> str:
    """Left-aligned first column, right-aligned numbers."""
    headers = list(rows[0])
    widths = {h: max(len(h), *(len(str(r[h])) for r in rows)) for h in headers}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(widths[h]) if i == 0 else c.rjust(widths[h])
            for i, (h, c) in enumerate(zip(headers, cells, strict=True))
        )

    return "\n".join([line(headers), *(line([str(r[h]) for h in headers]) for r in rows)])


def diff(
    project: Project,
    rev_a: str,
    rev_b: str,
    show_ids: bool = False,
    output: Path | None = None,
    ignore: tuple[str, ...] = (),
) -> int:
    """Print per split what changed from revision A to B; optionally every id, or the full diff to a file."""
    import polars as pl

    from ftdata_assets.transforms.version_diff import compared_columns, diff_counts, diff_versions, leaks

    if output is not None and output.suffix.lower() not in {".parquet", ".csv"}:
        print(f"ftdata diff: --output must end in .parquet or .csv, got {output}", file=sys.stderr)
        return 2
    try:
        top = git_toplevel(project)
        old, new = read_splits(project, top, rev_a), read_splits(project, top, rev_b)
    except Refused as refused:
        print(f"ftdata diff: {refused}", file=sys.stderr)
        return refused.code
    result = diff_versions(old, new, ignore)
    counts = diff_counts(result, old, new)
    totals = {"split": "total", **{c: counts.get_column(c).sum() for c in counts.columns if c != "split"}}
    print(f"\n{rev_a} -> {rev_b}")
    print(_table([*counts.to_dicts(), totals]))
    changed_columns = result.get_column("changed_columns").explode().drop_nulls().value_counts(sort=True)
    if changed_columns.height:
        print("changed columns: " + ", ".join(f"{name} {n}" for name, n in changed_columns.iter_rows()))
    _, skipped = compared_columns(old, new, ignore)
    if skipped:
        print("not compared: " + ", ".join(f"{name} ({why})" for name, why in skipped.items()))
    leaked = leaks(result)
    if leaked.height:
        print(
            f"\nWARNING: {leaked.height} example(s) moved from validation/test into train: a model trained on "
            f"{rev_b} has seen examples that {rev_a} evaluates on"
        )
    if show_ids:
        print()
        for row in result.iter_rows(named=True):
            note = f"  from {row['from_split']}" if row["from_split"] else ""
            columns = f"  ({', '.join(row['changed_columns'])})" if row["changed_columns"] else ""
            print(f"{row['change']:<8} {row['split']:<11} {row['example_id']}{note}{columns}")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        if output.suffix.lower() == ".csv":
            result.with_columns(pl.col("changed_columns").list.join(";")).write_csv(output)
        else:
            result.write_parquet(output)
        print(f"diff written to {output} ({result.height} rows)")
    return 0
