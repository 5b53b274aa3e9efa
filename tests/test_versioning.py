"""Dataset versions: the pure split diff, and `ftdata release` / `ftdata diff` on a copy of this repository with
real git and DVC and local directory remotes (two releases, v1 and v2 with a few new expert examples)."""

import json
import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from ftdata_assets.transforms.version_diff import DIFF_SCHEMA, compared_columns, diff_counts, diff_versions, leaks
from tests.conftest import REPO_ROOT
from tests.test_dvc_roundtrip import BIN, clean_env, remote_objects, run, snapshot_repository, use_remotes


def frame(ids: list[str], source: str = "expert", **columns: list) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "example_id": ids,
            "source": [source] * len(ids),
            "messages": [
                [{"role": "user", "content": f"q {i}"}, {"role": "assistant", "content": f"a {i}"}] for i in ids
            ],
            **columns,
        }
    )


def rows(diff: pl.DataFrame) -> set[tuple]:
    return {(r["example_id"], r["change"], r["split"], r["from_split"]) for r in diff.iter_rows(named=True)}


def test_diff_added_removed_changed_moved() -> None:
    old = {"train": frame(["a", "b", "c"]), "validation": frame(["v"]), "test": frame(["t", "u"])}
    new = {
        "train": pl.concat([frame(["a", "n"]), frame(["b"], source="feedback")]),
        "validation": frame(["v", "u"]),
        "test": frame(["t"]),
    }
    diff = diff_versions(old, new)
    assert diff.schema == pl.Schema(DIFF_SCHEMA)
    assert rows(diff) == {
        ("n", "added", "train", None),
        ("c", "removed", "train", None),
        ("b", "changed", "train", None),
        ("u", "moved", "validation", "test"),
    }
    assert diff.filter(pl.col("example_id") == "b").get_column("changed_columns").to_list() == [["source"]]
    counts = {r["split"]: r for r in diff_counts(diff, old, new).iter_rows(named=True)}
    assert list(counts) == ["train", "validation", "test"]
    assert (counts["train"]["added"], counts["train"]["removed"], counts["train"]["changed"]) == (1, 1, 1)
    assert (counts["validation"]["moved_in"], counts["test"]["moved_out"]) == (1, 1)
    assert (counts["test"]["rows_old"], counts["test"]["rows_new"]) == (2, 1)
    assert leaks(diff).height == 0  # test -> validation stays held out
    assert diff_versions(old, old).height == 0


def test_a_test_example_moved_to_train_is_a_leak_even_if_it_also_changed() -> None:
    old = {"train": frame(["a"]), "validation": frame(["v"]), "test": frame(["t"], license=["MIT"])}
    new = {"train": frame(["a", "t"], license=[None, "CC0-1.0"]), "validation": frame([]), "test": frame([])}
    old["train"] = old["train"].with_columns(license=pl.lit(None, dtype=pl.String))
    old["validation"] = old["validation"].with_columns(license=pl.lit(None, dtype=pl.String))
    diff = diff_versions(old, new)
    assert rows(diff) == {("t", "moved", "train", "test"), ("v", "removed", "validation", None)}
    moved = diff.filter(pl.col("change") == "moved").row(0, named=True)
    assert moved["changed_columns"] == ["license"]
    assert leaks(diff).get_column("example_id").to_list() == ["t"]
    # Train -> test is no leak into train (the frozen-test rule allows it), but it is reported as moved.
    back = diff_versions(new, old)
    assert ("t", "moved", "test", "train") in rows(back) and leaks(back).height == 0


def test_copies_of_one_example_compare_as_a_multiset() -> None:
    """Exact copies in different conversations share an example_id: order does not matter, a new copy does."""
    old = {"train": frame(["a", "a"], conversation_id=["c1", "c2"])}
    assert diff_versions(old, {"train": frame(["a", "a"], conversation_id=["c2", "c1"])}).height == 0
    grown = diff_versions(old, {"train": frame(["a", "a", "a"], conversation_id=["c1", "c2", "c3"])})
    assert rows(grown) == {("a", "changed", "train", None)}
    assert "conversation_id" in grown.row(0, named=True)["changed_columns"]


def test_columns_only_in_one_version_or_ignored_are_not_compared() -> None:
    old = {"train": frame(["a"], split_group=["a"])}
    new = {"train": frame(["a"], split_group=["0"], data_card_note=["x"])}
    assert rows(diff_versions(old, new)) == {("a", "changed", "train", None)}
    assert diff_versions(old, new, ignore=["split_group"]).height == 0
    compared, skipped = compared_columns(old, new, ignore=["split_group"])
    assert compared == ["source", "messages"]
    assert skipped == {"split_group": "ignored", "data_card_note": "only in the new version"}
    assert diff_versions({}, {"train": frame(["a"])}).get_column("change").to_list() == ["added"]
    with pytest.raises(ValueError, match="example_id"):
        diff_versions({"train": pl.DataFrame({"id": ["a"]})}, {})


# End to end: real git, DVC and the pipeline, in a copy of the working tree.

NEW_EXPERT_EXAMPLES = [
    (
        "Can the Lumora Thermostat Mini schedule different temperatures for weekdays and weekends?",
        "Yes. In the app, open the thermostat, tap Schedule and create two programs: one for Monday to Friday and "
        "one for Saturday and Sunday. Each program can hold up to six temperature changes per day.",
    ),
    (
        "Which wall plates fit the Lumora Smart Switch when I replace an old rocker switch?",
        "The switch fits any standard Decora-style wall plate. If your old plate has a round or toggle opening, "
        "swap it for a Decora plate; one is included in the box for single-gang boxes.",
    ),
    (
        "My Lumora Air Sensor shows a humidity reading that looks too high after I moved it near the bathroom. Why?",
        "Steam from showers raises the local humidity for up to an hour, and the sensor reports the air right "
        "around it. Place it at least two metres from the bathroom door and away from kettles or humidifiers.",
    ),
    (
        "How do I export a month of energy usage from the Lumora Energy Monitor to a spreadsheet?",
        "Open the Energy tab, choose the month, tap the share icon and pick CSV. The file lists one row per hour "
        "with kilowatt-hours and cost, and opens directly in Excel, Numbers or Google Sheets.",
    ),
]
NEW_FILE = "expert/new_examples_v2.jsonl"


def ftdata(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ftdata ARGS` in the copy, running the copy's own code (what its dvc.lock hashes as a dependency), so
    edits made to the checkout while the test runs do not leak in."""
    env = clean_env() | {"PYTHONPATH": str(repo)}
    return subprocess.run([str(BIN / "ftdata"), *args], cwd=repo, env=env, capture_output=True, text=True, check=False)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (
        f"{done.args} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


def commit_if_changed(repo: Path, message: str) -> None:
    if run(["git", "status", "--porcelain"], repo):
        run(["git", "add", "-A"], repo)
        run(["git", "commit", "-q", "-m", message], repo)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A copy of the project with two releases: v1 (the sample) and v2 (the sample + four expert examples)."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("needs the project's git checkout")
    base = tmp_path_factory.mktemp("versions")
    repo, curated, raw = base / "origin", base / "remote-curated", base / "remote-raw"
    snapshot_repository(repo, curated, raw)

    ok(ftdata(repo, "sample"))
    commit_if_changed(repo, "sample data")
    ok(ftdata(repo, "release", "v1"))

    with (repo / "data" / "raw" / NEW_FILE).open("w") as out:
        for user, assistant in NEW_EXPERT_EXAMPLES:
            messages = [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
            record = {"messages": messages, "author": "t.expert", "reviewed": True, "license": "internal"}
            out.write(json.dumps(record | {"created_at": "2026-11-20T09:00:00Z"}) + "\n")
    commit_if_changed(repo, "four new expert examples")  # data/raw is DVC's: usually nothing for git here
    ok(ftdata(repo, "release", "v2"))
    return {"repo": repo, "curated": curated, "raw": raw, "base": base}


def locked_outs(repo: Path, rev: str) -> dict[str, str]:
    import yaml

    lock = yaml.safe_load(run(["git", "show", f"{rev}:dvc.lock"], repo))
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage["outs"]}


def test_release_commits_dvc_lock_tags_and_pushes(released: dict[str, Path]) -> None:
    repo = released["repo"]
    assert run(["git", "tag", "--list"], repo).split() == ["v1", "v2"]
    assert run(["git", "status", "--porcelain"], repo) == ""
    # v1 runs on the snapshot, whose committed dvc.lock the run reproduces exactly: nothing to commit, so the
    # tag points at the snapshot commit; v2 has new data, so it is a commit of its own
    assert run(["git", "log", "-1", "--format=%s", "v1"], repo).strip() in {"snapshot", "Dataset version v1"}
    assert run(["git", "log", "-1", "--format=%s", "v2"], repo).strip() == "Dataset version v2"
    for tag in ("v1", "v2"):
        assert run(["git", "cat-file", "-t", tag], repo).strip() == "tag"  # annotated
        message = run(["git", "tag", "--list", "--format=%(contents)", tag], repo)
        assert message.startswith(f"Dataset version {tag}\n") and "rows_in: " in message
        assert locked_outs(repo, tag)["data/curated"] in message
    v1, v2 = locked_outs(repo, "v1"), locked_outs(repo, "v2")
    assert v1["data/curated"] != v2["data/curated"]
    assert "data/raw.dvc" in run(["git", "show", "--name-only", "--format=", "v2"], repo).split()
    ledger = json.loads(run(["git", "show", "v2:data/metrics/ledger.json"], repo))
    assert ledger["rows_in"] == json.loads(run(["git", "show", "v1:data/metrics/ledger.json"], repo))["rows_in"] + 4
    # Both versions' curated files are on the curated remote, the raw inputs on the raw one.
    pushed = remote_objects(released["curated"])
    assert {v1["data/curated"].removesuffix(".dir"), v2["data/curated"].removesuffix(".dir")} <= {
        md5.removesuffix(".dir") for md5 in pushed
    }
    assert remote_objects(released["raw"])


def table(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("split "))
    end = next(i for i, line in enumerate(lines) if line.startswith("total "))
    return lines[start : end + 1]


def test_diff_reports_the_new_examples_as_added(released: dict[str, Path]) -> None:
    repo, out = released["repo"], released["base"] / "diff.parquet"
    stdout = ok(ftdata(repo, "diff", "v1", "v2", "--ids", "--output", str(out)))
    assert "v1 -> v2" in stdout and "added" in stdout
    diff = pl.read_parquet(out)
    curated = pl.concat(
        [pl.read_parquet(repo / "data" / "curated" / f"{s}.parquet") for s in ("train", "validation", "test")],
        how="diagonal_relaxed",
    )
    new_ids = set(curated.filter(pl.col("source_file").str.ends_with(NEW_FILE)).get_column("example_id"))
    assert len(new_ids) == len(NEW_EXPERT_EXAMPLES)
    assert set(diff.filter(pl.col("change") == "added").get_column("example_id")) == new_ids
    assert diff.filter(pl.col("change") == "removed").height == 0
    assert leaks(diff).height == 0, f"held-out examples moved into train:\n{leaks(diff)}"
    for example_id in new_ids:
        assert example_id in stdout
    csv = released["base"] / "diff.csv"
    ok(ftdata(repo, "diff", "v1", "v2", "--output", str(csv)))
    assert pl.read_csv(csv).height == diff.height

    # A trainer's fresh clone with only the curated remote fetches both versions from it.
    trainer = released["base"] / "trainer"
    run(["git", "clone", "-q", str(repo), str(trainer)], released["base"])
    use_remotes(trainer, released["curated"], released["base"] / "no-access-to-raw")
    assert table(ok(ftdata(trainer, "diff", "v1", "v2"))) == table(stdout)


def test_diff_errors(released: dict[str, Path]) -> None:
    repo = released["repo"]
    missing = ftdata(repo, "diff", "v1", "no-such-tag")
    assert missing.returncode == 2 and "revision 'no-such-tag' does not exist" in missing.stderr
    empty_tree = run(["git", "hash-object", "-t", "tree", os.devnull], repo).strip()
    bare = run(["git", "commit-tree", empty_tree, "-m", "nothing"], repo).strip()
    nothing = ftdata(repo, "diff", bare, "v2")
    assert nothing.returncode == 2 and "has no curated data" in nothing.stderr
    suffix = ftdata(repo, "diff", "v1", "v2", "--output", "diff.xlsx")
    assert suffix.returncode == 2 and ".parquet or .csv" in suffix.stderr


def test_release_refuses_a_dirty_tree_an_existing_tag_and_a_bad_name(released: dict[str, Path]) -> None:
    repo = released["repo"]
    params = repo / "params.yaml"
    original = params.read_text()
    params.write_text(original + "# an uncommitted edit\n")
    try:
        dirty = ftdata(repo, "release", "v3")
    finally:
        params.write_text(original)
    assert dirty.returncode == 2
    assert "working tree is not clean" in dirty.stderr and "params.yaml" in dirty.stderr
    (repo / "notes.txt").write_text("untracked files count too\n")
    try:
        untracked = ftdata(repo, "release", "v3")
    finally:
        (repo / "notes.txt").unlink()
    assert untracked.returncode == 2 and "notes.txt" in untracked.stderr
    assert "$ dvc" not in dirty.stdout + untracked.stdout  # refused before running anything
    existing = ftdata(repo, "release", "v1")
    assert existing.returncode == 2 and "already exists" in existing.stderr
    for bad in ("bad..name", "v3.lock", "-x", "with space"):
        invalid = ftdata(repo, "release", "--", bad) if bad.startswith("-") else ftdata(repo, "release", bad)
        assert invalid.returncode == 2 and "not a valid git tag name" in invalid.stderr, bad
    assert run(["git", "tag", "--list"], repo).split() == ["v1", "v2"]
    assert run(["git", "status", "--porcelain"], repo) == ""


def test_release_refuses_an_unwritable_remote_before_running(released: dict[str, Path]) -> None:
    repo, base = released["repo"], released["base"]
    (base / "a-file").write_text("not a directory\n")
    unreachable = base / "a-file" / "remote"  # fails for root too, unlike a read-only folder
    use_remotes(repo, unreachable, released["raw"])
    try:
        done = ftdata(repo, "release", "v4")
    finally:
        use_remotes(repo, released["curated"], released["raw"])
    assert done.returncode == 2
    assert "the DVC remote `curated`" in done.stderr and "cannot be written" in done.stderr
    assert "v4 aborted, nothing committed or tagged" in done.stderr
    assert "$ dvc" not in done.stdout  # refused before running anything
    assert "v4" not in run(["git", "tag", "--list"], repo).split()
    assert run(["git", "status", "--porcelain"], repo) == ""


def test_release_with_an_unreachable_remote_says_the_tag_is_local(released: dict[str, Path]) -> None:
    repo, base = released["repo"], released["base"]
    # The remote's folder is writable, so the preflight passes, but DVC cannot create its object folder in it:
    # the push fails only after the commit and the tag.
    unreachable = base / "remote-without-room"
    unreachable.mkdir(exist_ok=True)
    (unreachable / "files").write_text("a file where DVC wants its object folder\n")
    use_remotes(repo, unreachable, released["raw"])
    try:
        done = ftdata(repo, "release", "v3")
    finally:
        use_remotes(repo, released["curated"], released["raw"])
    assert done.returncode != 0
    assert (
        "`dvc push` failed" in done.stderr
        and "exists locally" in done.stderr
        and "retry with `dvc push`" in done.stderr
    )
    assert "v3" in run(["git", "tag", "--list"], repo).split()
    ok(subprocess.run([str(BIN / "dvc"), "push"], cwd=repo, env=clean_env(), capture_output=True, text=True))
