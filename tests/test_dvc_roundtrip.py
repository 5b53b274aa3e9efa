"""The trainer's path with real git and DVC: run the main job in a copy of this repository, push to
local directory remotes, clone it afresh, `dvc pull`, and get the same bytes.

The copy holds the working tree's tracked and untracked (not ignored) files, so this also proves the
committed `dvc.lock` is reproduced exactly by the main job on the bundled sample."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DAGSTER_HOME", "FTDATA_PROJECT_DIR"}}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("GIT_AUTHOR_NAME", "ftdata-test")
    env.setdefault("GIT_AUTHOR_EMAIL", "test@example.invalid")
    env.setdefault("GIT_COMMITTER_NAME", "ftdata-test")
    env.setdefault("GIT_COMMITTER_EMAIL", "test@example.invalid")
    return env


def run(cmd: list[str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def copy_working_tree(destination: Path) -> None:
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], REPO_ROOT)
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def use_remotes(repo: Path, curated: Path, raw: Path) -> None:
    run([str(BIN / "dvc"), "remote", "modify", "--local", "curated", "url", str(curated)], repo)
    run([str(BIN / "dvc"), "remote", "modify", "--local", "raw", "url", str(raw)], repo)


def snapshot_repository(repo: Path, curated: Path, raw: Path) -> None:
    """A new git repository at `repo` holding the working tree in one commit ("snapshot"), its DVC remotes
    pointed at local folders."""
    repo.mkdir()
    copy_working_tree(repo)
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "snapshot"], repo)
    use_remotes(repo, curated, raw)


def tree_digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def remote_objects(remote: Path) -> set[str]:
    """DVC 3 stores objects as files/md5/ab/cdef...: the set of md5s a remote holds."""
    return {p.parent.name + p.name for p in (remote / "files" / "md5").rglob("*") if p.is_file()}


@pytest.mark.skipif(not (REPO_ROOT / ".git").exists(), reason="needs the project's git checkout")
def test_main_job_push_clone_pull_gives_identical_curated_files(tmp_path: Path) -> None:
    origin, curated_remote, raw_remote = (
        tmp_path / "origin",
        tmp_path / "remote-curated",
        tmp_path / "remote-raw",
    )
    snapshot_repository(origin, curated_remote, raw_remote)

    output = run([str(BIN / "ftdata"), "run", "--sample"], origin)
    assert "rows in:" in output
    status = run(["git", "status", "--porcelain"], origin)
    assert status == "", f"the main job changed tracked files (dvc.lock not reproduced?):\n{status}"
    curated = tree_digests(origin / "data" / "curated")
    assert {"train.parquet", "validation.parquet", "test.parquet"} <= set(curated)

    # Raw inputs (and rejects, which hold raw lines) never reach the trainers' remote.
    raw_md5s = {hashlib.md5(p.read_bytes()).hexdigest() for p in (origin / "data" / "raw").rglob("*") if p.is_file()}
    assert raw_md5s and not raw_md5s & remote_objects(curated_remote)
    assert raw_md5s <= remote_objects(raw_remote)

    trainer = tmp_path / "trainer"
    run(["git", "clone", "-q", str(origin), str(trainer)], tmp_path)
    use_remotes(trainer, curated_remote, tmp_path / "no-access-to-raw")
    run([str(BIN / "dvc"), "pull", "data/curated"], trainer)
    assert tree_digests(trainer / "data" / "curated") == curated
    assert not (trainer / "data" / "raw").exists()

    full = tmp_path / "full-clone"
    run(["git", "clone", "-q", str(origin), str(full)], tmp_path)
    use_remotes(full, curated_remote, raw_remote)
    run([str(BIN / "dvc"), "pull"], full)
    assert tree_digests(full / "data" / "curated") == curated
    assert tree_digests(full / "data" / "raw") == tree_digests(origin / "data" / "raw")

    # A broken promise fails the DVC stage and leaves dvc.lock (and the released splits) as they were: here a
    # tightened suite says the splits must hold at most 100 rows, which the sample's release breaks.
    lock_before = (origin / "dvc.lock").read_bytes()
    suite_path = origin / "expectations" / "split_summary.json"
    suite = json.loads(suite_path.read_text())
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "total_rows", "max_value": 100},
            "meta": {"severity": "error", "why": "test: a promise the release breaks"},
        }
    )
    suite_path.write_text(json.dumps(suite, indent=2, sort_keys=True) + "\n")
    failed = subprocess.run(
        [str(BIN / "dvc"), "repro"], cwd=origin, capture_output=True, text=True, check=False, env=clean_env()
    )
    assert failed.returncode != 0
    assert "splits_expectations" in failed.stdout + failed.stderr
    assert (origin / "dvc.lock").read_bytes() == lock_before
