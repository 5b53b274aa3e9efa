"""Faults: a main job killed with SIGKILL at any point, a DVC remote that cannot be written, and determinism.

- SIGKILL: `ftdata materialize` (the DVC stage's command) is killed, process group and all, at several points of
  one project's life (after an ingest step, in the middle of `curate`, while the release is being staged in
  data/interim/release, while it is being published into data/curated, after a seeded random delay). After each
  kill every visible file under data/ is whole and readable, temp files are hidden, the next run removes the ones
  the killed run left, and the last run, left to finish, writes the same bytes as an uninterrupted run in another
  folder. The kills are chained (each run after a kill is the next one killed) to keep the file to a few minutes;
  the final complete run starts from what all of them left.
- Remotes: `ftdata run` with an unreachable (a path under a regular file) or read-only (a read-only bind mount in a
  private mount namespace) remote stops before running anything, names the remote and says what to do, and
  leaves dvc.lock and data/raw.dvc byte-identical; a push that fails after `dvc repro` puts them back.
- Determinism: two fresh project folders with the same inputs give byte-identical outputs.

The three long runs (the reference, the second fresh folder, the push-failure run) start in the background when
the module starts, next to the kill sequence.
"""

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from ftdata_assets.project import Project
from ftdata_assets.versioning import preflight_remotes
from tests.conftest import REPO_ROOT, make_project
from tests.test_dvc_roundtrip import BIN, clean_env, copy_working_tree, run, use_remotes

OUTPUT_DIRS = ("curated", "rejects", "metrics", "splits", "review/export", "interim")
"""What the pipeline writes under data/ (data/raw and data/benchmarks are inputs)."""
TEMP_FILE = re.compile(r"^\..+\.tmp$")
PNG_END = b"IEND\xaeB`\x82"
RUN_TIMEOUT_S = 600
NEW_EXPERT = {
    "messages": [
        {"role": "user", "content": "Does the Lumora Smart Plug keep its schedule when the Wi-Fi is down?"},
        {
            "role": "assistant",
            "content": "Yes. Schedules are stored on the plug itself, so they keep running without Wi-Fi; only "
            "remote control from the app needs a connection.",
        },
    ],
    "author": "t.expert",
    "reviewed": True,
    "license": "internal",
    "created_at": "2026-11-20T09:00:00Z",
}
needs_git_checkout = pytest.mark.skipif(not (REPO_ROOT / ".git").exists(), reason="needs the project's git checkout")


def dagster_home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    return path


def materialize_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "ftdata_assets.cli", "--project-dir", str(root), "materialize"]


def stage_env(home: Path) -> dict[str, str]:
    return clean_env() | {"DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"}


class Background:
    """A command in its own process group with its output in a log file: started now, waited for later."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait(self) -> tuple[int, str]:
        code = self.proc.wait(timeout=RUN_TIMEOUT_S)
        return code, self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Watched:
    """`ftdata materialize` in its own process group, its progress lines collected as they come."""

    def __init__(self, root: Path, home: Path, log: Path) -> None:
        self.root, self.lines, self.log = root, [], log
        self.proc = subprocess.Popen(
            materialize_command(root),
            env=stage_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        with self.log.open("a") as out:
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                out.write(line)
                out.flush()

    def wait_for(self, pattern: str, timeout: float = 300) -> bool:
        """Until a progress line matches; False if the run ended (or the time ran out) first."""
        regex, deadline = re.compile(pattern), time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(regex.search(line) for line in list(self.lines)):
                return True
            if self.proc.poll() is not None:
                self.reader.join(timeout=5)
                return any(regex.search(line) for line in self.lines)
            time.sleep(0.02)
        return False

    def poll_until(self, condition: Callable[[], bool], timeout: float, interval: float = 0.002) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if condition():
                return True
            time.sleep(interval)
        return False

    def kill(self) -> bool:
        """SIGKILL the whole process group; True if it was still running (so it was really interrupted)."""
        running = self.proc.poll() is None
        if running:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        self.reader.join(timeout=5)
        return running and self.proc.returncode == -signal.SIGKILL

    def finish(self) -> int:
        code = self.proc.wait(timeout=RUN_TIMEOUT_S)
        self.reader.join(timeout=5)
        return code


def entries(folder: Path) -> list[Path]:
    """Every file below folder, hidden ones too (os.scandir: cheap enough to poll every few milliseconds)."""
    found, stack = [], [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    else:
                        found.append(Path(entry.path))
        except FileNotFoundError:
            continue
    return found


def temp_files(root: Path, dirs: tuple[str, ...] = OUTPUT_DIRS) -> list[Path]:
    return [p for d in dirs for p in entries(root / "data" / d) if p.name.startswith(".")]


def assert_card_complete(text: str, path: Path) -> None:
    """A rendered data card: YAML front matter, and it ends with the output-hash table listing every split."""
    assert text.startswith("---\n") and "\n---\n" in text[4:], f"{path}: no front matter"
    assert text.endswith(" |\n"), f"{path} does not end as a rendered card does: {text[-200:]!r}"
    hashes = text.rsplit("## Output hashes", 1)
    assert len(hashes) == 2, f"{path} has no output-hash section"
    for split in ("train", "validation", "test"):
        assert f"| {split}.parquet | `sha256:" in hashes[1], f"{path}: output-hash table lacks {split}.parquet"


def assert_file_complete(path: Path) -> None:
    name = path.name.lower()
    if name.endswith(".parquet"):
        pl.read_parquet(path)
    elif name.endswith(".jsonl"):
        data = path.read_text(encoding="utf-8")
        assert data == "" or data.endswith("\n"), f"{path}: last line cut"
        for number, line in enumerate(data.splitlines(), start=1):
            try:
                json.loads(line)
            except json.JSONDecodeError as error:
                raise AssertionError(f"{path}:{number} is not JSON: {error}") from error
    elif name.endswith(".json"):
        json.loads(path.read_text(encoding="utf-8"))
    elif name.endswith(".csv"):
        pl.read_csv(path, infer_schema_length=0)
    elif name.endswith(".png"):
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(PNG_END), f"{path}: not a whole PNG"
    elif name.endswith(".md"):
        assert_card_complete(path.read_text(encoding="utf-8"), path)
    else:
        raise AssertionError(f"{path}: an output type this test does not know how to check; add a check")


def assert_outputs_whole(root: Path) -> list[Path]:
    """Every visible output file is whole and readable; the hidden ones are temp files. Returns those."""
    hidden = []
    for path in (p for d in OUTPUT_DIRS for p in entries(root / "data" / d)):
        if path.name.startswith("."):
            assert TEMP_FILE.match(path.name), f"{path}: a hidden file that is not a temp file"
            hidden.append(path)
            continue
        try:
            assert_file_complete(path)
        except AssertionError:
            raise
        except Exception as error:
            raise AssertionError(f"{path} is not whole after the kill: {type(error).__name__}: {error}") from error
    return hidden


def output_digests(root: Path, dirs: tuple[str, ...] = OUTPUT_DIRS) -> dict[str, str]:
    return {
        str(p.relative_to(root / "data")): hashlib.sha256(p.read_bytes()).hexdigest()
        for d in dirs
        for p in sorted(entries(root / "data" / d))
        if not p.name.startswith(".")
    }


def dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


# Background runs, started once for the module.


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def fresh_runs(base: Path):
    """Two uninterrupted runs in two fresh project folders, side by side; `reference` is the kill test's."""
    runs = {}
    for name in ("reference", "second"):
        root = make_project(base / name)
        home = dagster_home(base / f"{name}-dagster-home")
        runs[name] = (root, Background(materialize_command(root), root, stage_env(home), base / f"{name}.log"))
    yield runs
    for _, job in runs.values():
        job.stop()


def finished(runs: dict, name: str) -> Path:
    root, job = runs[name]
    code, log = job.wait()
    assert code == 0, f"the {name} run failed ({code}):\n{log[-4000:]}"
    return root


@pytest.fixture(scope="module")
def dvc_copy(base: Path) -> Path:
    """A copy of this repository (git + DVC, the committed dvc.lock and data/raw.dvc) with the sample data in
    data/raw and a new expert file, so a run would change both dvc.lock and data/raw.dvc."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("needs the project's git checkout")
    from ftdata_assets.sample_data import generate_sample

    repo = base / "repo"
    repo.mkdir()
    copy_working_tree(repo)
    run(["git", "init", "-q", "-b", "main"], repo)
    generate_sample(repo / "data" / "raw", seed=int(Project(repo).params["sample"]["seed"]))
    (repo / "data" / "raw" / "expert" / "new_example.jsonl").write_text(json.dumps(NEW_EXPERT) + "\n")
    return repo


@pytest.fixture(scope="module")
def push_fails_after_repro(base: Path, dvc_copy: Path):
    """`ftdata run` in a copy of dvc_copy whose `curated` remote passes the preflight (its folder is writable) but
    cannot take the push (`files/`, where DVC stores objects, is a regular file): started in the background."""
    repo = base / "repo-push-fails"
    shutil.copytree(dvc_copy, repo, symlinks=True)
    curated, raw = base / "remote-curated-broken", base / "remote-raw-ok"
    curated.mkdir()
    (curated / "files").write_text("a file where DVC wants its object folder\n")
    use_remotes(repo, curated, raw)
    before = {name: (repo / name).read_bytes() for name in ("dvc.lock", "data/raw.dvc")}
    env = clean_env() | {"PYTHONPATH": str(repo)}
    job = Background([str(BIN / "ftdata"), "run"], repo, env, base / "push-fails.log")
    yield {"repo": repo, "before": before, "job": job, "raw_remote": raw}
    job.stop()


def start_background_runs(request: pytest.FixtureRequest) -> None:
    """Start every long run at once, next to the kill sequence (two cores; the runs are mostly single-threaded)."""
    request.getfixturevalue("fresh_runs")
    if (REPO_ROOT / ".git").exists():
        request.getfixturevalue("push_fails_after_repro")


# (a) SIGKILL at any point.


def test_sigkill_at_any_point_leaves_whole_files_and_a_rerun_gives_the_same_bytes(
    base: Path, fresh_runs, request: pytest.FixtureRequest
) -> None:
    start_background_runs(request)
    root = make_project(base / "killed")
    home = dagster_home(base / "killed-dagster-home")
    log = base / "killed.log"
    rng = random.Random(20261101)
    left_behind: list[Path] = []  # temp files a kill left; the next run must remove them
    report = []

    def changed(folder: Path, before: dict[Path, float]) -> Callable[[], bool]:
        def check() -> bool:
            for path in entries(folder):
                try:
                    if before.get(path) != path.stat().st_mtime_ns:
                        return True
                except FileNotFoundError:
                    return True  # a temp file renamed away between listing and stat: a write in progress
            return False

        return check

    def start() -> Watched:
        watched = Watched(root, home, log)
        if left_behind:
            # The sweep runs before the first step; once that step has started, the stale temp files are gone.
            assert watched.wait_for(r"^inputs: "), f"the run after a kill did not start:\n{watched.lines}"
            still_there = [p for p in left_behind if p.exists()]
            assert not still_there, f"temp files a killed run left were not removed: {still_there}"
            left_behind.clear()
        return watched

    def killed(point: str, watched: Watched) -> None:
        was_running = watched.kill()
        hidden = assert_outputs_whole(root)
        left_behind.extend(hidden)
        visible = len(output_digests(root))
        report.append(
            f"{point}: {'killed' if was_running else 'had finished'}, {visible} visible files whole, "
            f"{len(hidden)} temp file(s) left"
        )
        assert was_running, f"{point}: the run ended before the kill (a finished run releases a version)"

    # 1. Right after an ingest step finished.
    watched = start()
    assert watched.wait_for(r"^\[3/\d+\] .* done in "), watched.lines
    killed("after [3/N] done", watched)

    # 2. In the middle of `curate`, preferably while an interim layer is being written.
    watched = start()
    assert watched.wait_for(r"^curate \(.*\.\.\.$"), watched.lines
    time.sleep(3)
    watched.poll_until(lambda: bool(temp_files(root, ("interim",))), timeout=15)
    killed("during curate", watched)

    # 3. While the curated splits, exports and data card are being written (staged): on the first change under
    # data/interim/release.
    staging = root / "data" / "interim" / "release"
    watched = start()
    assert watched.wait_for(r"^curate \(.*\.\.\.$"), watched.lines
    before = {p: p.stat().st_mtime_ns for p in entries(staging)}
    assert watched.poll_until(changed(staging, before), timeout=300), "no release file was staged"
    killed("staging the release", watched)

    # 3b. While the staged release is being published: on the first change under data/curated.
    watched = start()
    assert watched.wait_for(r"^curate \(.*\.\.\.$"), watched.lines
    before = {p: p.stat().st_mtime_ns for p in entries(root / "data" / "curated")}
    assert watched.poll_until(changed(root / "data" / "curated", before), timeout=300), "nothing was published"
    killed("publishing data/curated", watched)

    # 4. After a seeded random delay into `curate` (shorter than curate on the sample, ~8 s on two idle cores: a
    # run that finished would release a version, and the next run would then rightly read its split registry).
    delay = rng.uniform(0.5, 4.0)
    watched = start()
    assert watched.wait_for(r"^curate \(.*\.\.\.$"), watched.lines
    time.sleep(delay)
    killed(f"random ({delay:.1f}s into curate)", watched)

    # Stale temp files of writers that are gone are removed; one of a live writer (this process) is kept.
    planted_dead = [
        root / "data" / "curated" / f".train.parquet.{dead_pid()}.abcd1234.tmp",
        root / "data" / "metrics" / ".ledger.json.k3y_9zq0.tmp",  # the name format before the pid was in it
    ]
    live = root / "data" / "splits" / f".registry.parquet.{os.getpid()}.live0000.tmp"
    for path in [*planted_dead, live]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    left_behind.extend(planted_dead)

    watched = start()
    code = watched.finish()
    assert code == 0, f"the run after the kills failed ({code}):\n" + "\n".join(watched.lines[-40:])
    assert live.exists(), "a temp file whose writer is still running was removed"
    live.unlink()
    assert not temp_files(root), f"temp files left after a complete run: {temp_files(root)}"
    assert_outputs_whole(root)
    print("\n".join(report))

    reference = finished(fresh_runs, "reference")
    expected, got = output_digests(reference), output_digests(root)
    curated = {k for k in expected if k.startswith("curated/")}
    assert {"curated/train.parquet", "curated/validation.parquet", "curated/test.parquet"} <= curated
    differ = sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k))
    assert not differ, f"after the kills, the rerun's outputs differ from an uninterrupted run's: {differ}"


# (c) Two fresh folders, same inputs, same bytes.


def test_two_fresh_folders_give_byte_identical_outputs(fresh_runs) -> None:
    first, second = finished(fresh_runs, "reference"), finished(fresh_runs, "second")
    assert output_digests(first, ("raw",)) == output_digests(second, ("raw",))  # the same inputs
    a, b = output_digests(first), output_digests(second)
    assert {"rejects/rejects.parquet", "metrics/ledger.json", "curated/README.md"} <= set(a)
    differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    assert not differ, f"same inputs, different bytes in two folders: {differ}"
    # Nothing embeds where the project lives (a path would make the bytes depend on the folder).
    for folder in (first, second):
        needle = str(folder).encode()
        for path in (p for d in OUTPUT_DIRS for p in entries(folder / "data" / d)):
            assert needle not in path.read_bytes(), f"{path} embeds the project's path {folder}"


# (b) Remotes that cannot be written.


def ftdata_run(repo: Path, *wrapper: str) -> subprocess.CompletedProcess[str]:
    env = clean_env() | {"PYTHONPATH": str(repo)}
    command = [*wrapper, str(BIN / "ftdata"), "run"]
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=600)


def record(repo: Path) -> dict[str, bytes]:
    return {name: (repo / name).read_bytes() for name in ("dvc.lock", "data/raw.dvc")}


def assert_refused(done: subprocess.CompletedProcess[str], remote: str, why: str) -> None:
    assert done.returncode == 2, f"{done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert f"the DVC remote `{remote}`" in done.stderr and why in done.stderr, done.stderr
    assert f"dvc remote modify --local {remote} url" in done.stderr, done.stderr
    assert "Nothing was run: dvc.lock and data/raw.dvc are unchanged" in done.stderr, done.stderr
    assert "$ dvc" not in done.stdout, "refused after starting DVC"


@needs_git_checkout
def test_an_unreachable_curated_remote_stops_the_run_before_anything_changes(base: Path, dvc_copy: Path) -> None:
    (base / "afile").write_text("a regular file: nothing can be created under it, not even by root\n")
    unreachable = base / "afile" / "remote"
    use_remotes(dvc_copy, unreachable, base / "remote-raw-ok")
    before = record(dvc_copy)
    done = ftdata_run(dvc_copy)
    assert_refused(done, "curated", "Not a directory")
    assert str(unreachable) in done.stderr
    assert record(dvc_copy) == before


def read_only_bind_mount_works(folder: Path) -> bool:
    probe = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && ! touch "$1/probe" 2>/dev/null'
    if not shutil.which("unshare"):
        return False
    done = subprocess.run(["unshare", "-m", "sh", "-c", probe, "sh", str(folder)], capture_output=True, check=False)
    return done.returncode == 0 and not (folder / "probe").exists()


@needs_git_checkout
def test_a_read_only_raw_remote_stops_the_run_before_anything_changes(base: Path, dvc_copy: Path) -> None:
    read_only = base / "read-only-remote"
    read_only.mkdir()
    if not read_only_bind_mount_works(read_only):
        pytest.skip(
            "cannot make a read-only bind mount here (needs unshare and CAP_SYS_ADMIN); the unreachable "
            "remote test covers the same refusal"
        )
    use_remotes(dvc_copy, base / "remote-curated-ok", read_only)
    before = record(dvc_copy)
    # The mount exists only in the run's own mount namespace, and goes away with it.
    mount = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    done = ftdata_run(dvc_copy, "unshare", "-m", "sh", "-c", mount, "sh", str(read_only))
    assert_refused(done, "raw", "Read-only file system")
    assert record(dvc_copy) == before
    assert not list(read_only.iterdir())


@needs_git_checkout
def test_a_remote_that_cannot_be_checked_ahead_gets_a_note(base: Path, dvc_copy: Path) -> None:
    use_remotes(dvc_copy, base / "remote-curated-ok", base / "remote-raw-ok")
    run(
        [str(BIN / "dvc"), "remote", "modify", "--local", "curated", "url", "s3://ftdata-test-bucket/curated"], dvc_copy
    )
    try:
        notes, targets = preflight_remotes(Project(dvc_copy))
    finally:
        use_remotes(dvc_copy, base / "remote-curated-ok", base / "remote-raw-ok")
    assert len(notes) == 1 and "`curated` (s3://ftdata-test-bucket/curated) cannot be checked" in notes[0]
    assert sorted(targets) == ["curated", "raw"]
    assert {"data/curated", "data/review/export", "data/splits"} <= set(targets["curated"])
    assert {"data/raw", "data/rejects"} <= set(targets["raw"])


@needs_git_checkout
def test_a_push_that_fails_after_repro_puts_dvc_lock_and_raw_dvc_back(push_fails_after_repro: dict) -> None:
    repo, job = push_fails_after_repro["repo"], push_fails_after_repro["job"]
    code, log = job.wait()
    assert code == 1, f"{code}\n{log[-4000:]}"
    assert "$ dvc repro" in log, "the run should have passed the preflight and run the stage"
    assert "`dvc push` to the DVC remote `curated` failed" in log, log[-3000:]
    assert "this version was NOT recorded: dvc.lock and data/raw.dvc put back as they were" in log, log[-3000:]
    assert "run `ftdata run` again" in log
    assert record(repo) == push_fails_after_repro["before"]
    # The run itself completed: its outputs are in the workspace, so only the recording was undone.
    assert (repo / "data" / "curated" / "train.parquet").is_file()
