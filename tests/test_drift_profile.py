"""Warn-level drift bounds profiled from the user's own version: a version unlike the bundled sample warns
under the bundled bounds and passes under its own, error expectations never move, the provenance is recorded
in the suite and in the check's metadata, and `ftdata profile` / the first release write stable JSON."""

import json
from pathlib import Path

import polars as pl
import pytest

from ftdata_assets import cli
from ftdata_assets.project import Project
from ftdata_assets.transforms.validation_views import combine_splits, view
from ftdata_assets.validation import (
    BUNDLED_SOURCE,
    EXPECTATIONS_DIR,
    PROFILE_META_KEY,
    check_result,
    data_digest,
    dump_suite,
    profile_warn_bounds,
    read_suite_json,
    user_profile_exists,
    validate_frame,
)
from tests.conftest import make_project
from tests.test_validation import CONTEXT, layers  # noqa: F401  (the sample's layers, built once per module)

SUITES = sorted(path.stem for path in EXPECTATIONS_DIR.glob("*.json"))


CODE_LISTING = (
    "```python\n"
    + "\n".join(
        f"def stage_{i}(rows):\n    return [row for row in rows if row.ready and not row.failed]" for i in range(60)
    )
    + "\n```"
)
"""A long code block (~4,900 characters, nothing a PII detector finds), like the pasted code of real chats."""


def longer_chats(frame: pl.DataFrame) -> pl.DataFrame:
    """The same conversations with a long code listing in every assistant turn: the length distribution of a
    user whose chats are long (ShareGPT-style code and documents) instead of the sample's short support chats."""
    turn = pl.element().struct
    content = turn.field("content")
    return frame.with_columns(
        messages=pl.col("messages").list.eval(
            pl.struct(
                turn.field("role"),
                content=pl.when(turn.field("role") == "assistant")
                .then(pl.concat_str([content, pl.lit(CODE_LISTING)], separator="\n\n"))
                .otherwise(content),
            )
        )
    )


def user_splits(layers: dict[str, pl.DataFrame]) -> pl.DataFrame:  # noqa: F811
    """The sample's splits as a user with production logs only and long chats would have them."""
    splits = longer_chats(layers["splits"]).filter(pl.col("source") == "production_log")
    return combine_splits(*(splits.filter(pl.col("split") == s).drop("split") for s in ("train", "validation", "test")))


def warned(outcome) -> set[tuple[str, str | None]]:
    return {(f.expectation_type, f.column) for f in outcome.warnings}


def test_every_bundled_suite_says_its_bounds_come_from_the_sample() -> None:
    for name in SUITES:
        profile = read_suite_json(name)["meta"][PROFILE_META_KEY]
        assert profile["source"] == BUNDLED_SOURCE and "seed" in profile["version"]
    assert not user_profile_exists()


def test_a_user_version_warns_under_the_sample_bounds_and_passes_under_its_own(
    layers: dict[str, pl.DataFrame],  # noqa: F811
    tmp_path: Path,
) -> None:
    combined = user_splits(layers)
    for name in ("splits", "split_summary"):
        flat = view(name, combined, **CONTEXT)
        before = validate_frame(flat, name)
        assert not before.errors  # long chats from one source break no promise
        assert before.warnings, f"{name}: the sample's bounds should not fit this version"
        provenance = {"source": "user data: data/curated", "version": "v1", "data_sha256": "ab" * 32}
        profiled = profile_warn_bounds(read_suite_json(name), flat, provenance)
        assert profiled.changes
        original = read_suite_json(name)["expectations"]
        # error expectations untouched, warn ones keep type, column, severity and why; nothing added or removed
        assert len(profiled.suite["expectations"]) == len(original)
        for old, new in zip(original, profiled.suite["expectations"], strict=True):
            assert (old["type"], old["meta"]) == (new["type"], new["meta"])
            if old["meta"]["severity"] == "error":
                assert old["kwargs"] == new["kwargs"]
        directory = tmp_path / name
        directory.mkdir()
        (directory / f"{name}.json").write_text(dump_suite(profiled.suite))
        after = validate_frame(flat, name, directory=directory)
        # what is left is a tolerance around params.yaml (split ratios), which profiling never touches
        assert all(f"{kind}({column})" in profiled.skipped for kind, column in warned(after)), after.warnings
        assert not after.errors
        result = check_result(after)
        assert result.metadata["warn_bounds_from"].value.startswith("user data: data/curated, version v1")
        assert "data sha256 abababababab" in result.metadata["warn_bounds_from"].value
    flat = view("splits", combined, **CONTEXT)
    suite = profile_warn_bounds(read_suite_json("splits"), flat, {"source": "user", "version": "v1"}).suite
    bounds = {e["kwargs"].get("column"): e["kwargs"] for e in suite["expectations"]}
    # the profiled max covers the longest turn seen, the mean bracket the observed mean
    assert bounds["max_content_chars"]["max_value"] >= flat.get_column("max_content_chars").max()
    assert bounds["n_messages"] == {"column": "n_messages", "max_value": 64}  # a row limit: only ever widened
    mean = flat.get_column("total_chars").mean()
    assert bounds["total_chars"]["min_value"] < mean < bounds["total_chars"]["max_value"]
    summary = profile_warn_bounds(
        read_suite_json("split_summary"), view("split_summary", combined, **CONTEXT), {"source": "user"}
    ).suite
    shares = {e["kwargs"].get("column"): e["kwargs"] for e in summary["expectations"]}
    assert shares["share_production_log"] == {"column": "share_production_log", "min_value": 0.9, "max_value": 1.0}
    assert shares["train_share_deviation"]["max_value"] == 0.04  # a params tolerance: kept


def test_the_bundled_sample_profiled_against_itself_still_passes_every_suite(
    layers: dict[str, pl.DataFrame],  # noqa: F811
    tmp_path: Path,
) -> None:
    """Profiling the sample's own layers never makes the sample fail: the bounds contain what they were
    observed on (so a newcomer's first version passes its own drift checks)."""
    for name in SUITES:
        flat = view(name, layers[name], **CONTEXT)
        suite = profile_warn_bounds(read_suite_json(name), flat, {"source": "user", "version": "v0"}).suite
        (tmp_path / f"{name}.json").write_text(dump_suite(suite))
        outcome = validate_frame(flat, name, directory=tmp_path)
        assert not outcome.errors, (name, outcome.errors)
        assert {c for _, c in warned(outcome)} <= {"train_share_deviation", "validation_share_deviation"}, name


def write_version(root: Path, layers: dict[str, pl.DataFrame]) -> None:  # noqa: F811
    """A user's version as a run leaves it: layers under data/interim, the splits under data/curated."""
    interim = root / "data" / "interim"
    interim.mkdir(parents=True, exist_ok=True)
    longer_chats(layers["normalized_examples"]).write_parquet(interim / "normalized_examples.parquet")
    layers["rejects"].write_parquet(interim / "rejects.parquet")
    # the raw layer as the partitioned assets leave it: one file per log day (here: per source file)
    raw = layers["raw"].filter(pl.col("source") == "production_log")
    (interim / "raw_production_logs").mkdir()
    for i, (_, part) in enumerate(raw.group_by("source_file", maintain_order=True)):
        part.write_parquet(interim / "raw_production_logs" / f"day-{i}.parquet")
    layers["raw"].filter(pl.col("source") == "expert").write_parquet(interim / "raw_expert.parquet")
    curated = root / "data" / "curated"
    curated.mkdir(parents=True, exist_ok=True)
    combined = user_splits(layers)
    for split in ("train", "validation", "test"):
        combined.filter(pl.col("split") == split).drop("split").write_parquet(curated / f"{split}.parquet")


def test_ftdata_profile_writes_stable_json_with_the_version_and_data_digest(
    layers: dict[str, pl.DataFrame],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_project(tmp_path / "project", with_sample=False)
    write_version(root, layers)
    untouched = (root / "expectations" / "scored_examples.json").read_bytes()
    dry = cli.main(["--project-dir", str(root), "profile", "--version", "v1", "--dry-run"])
    assert dry == 0 and "not written (--dry-run)" in capsys.readouterr().out
    assert not user_profile_exists(root / "expectations")

    assert cli.main(["--project-dir", str(root), "profile", "--version", "v1"]) == 0
    out = capsys.readouterr().out
    assert "normalized_examples:" in out and "split_summary:" in out and "share_production_log" in out
    written = {name: (root / "expectations" / f"{name}.json").read_bytes() for name in SUITES}
    for name in ("raw", "normalized_examples", "rejects", "splits", "split_summary"):
        suite = json.loads(written[name])
        assert written[name].decode() == dump_suite(suite)  # canonical, reviewable in git
        profile = suite["meta"][PROFILE_META_KEY]
        assert profile["version"] == "v1"
        assert profile["source"].startswith("user data: data/")
    curated = [root / "data" / "curated" / f"{s}.parquet" for s in ("train", "validation", "test")]
    assert json.loads(written["splits"])["meta"][PROFILE_META_KEY]["data_sha256"] == data_digest(root, curated)
    raw_files = len(list((root / "data" / "interim").glob("raw_*/*.parquet"))) + 1
    assert json.loads(written["raw"])["meta"][PROFILE_META_KEY]["files"] == raw_files > 2
    assert written["scored_examples"] == untouched  # no file of that layer: left as it was
    assert user_profile_exists(root / "expectations")
    # same data, same bytes
    assert cli.main(["--project-dir", str(root), "profile", "--version", "v1"]) == 0
    assert {name: (root / "expectations" / f"{name}.json").read_bytes() for name in SUITES} == written


def test_ftdata_profile_without_a_version_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "empty", with_sample=False)
    assert cli.main(["--project-dir", str(root), "profile", "--version", "v1"]) == 2
    assert "run `ftdata run` first" in capsys.readouterr().err


def test_the_first_release_profiles_once_and_re_records_the_stage(
    layers: dict[str, pl.DataFrame],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = make_project(tmp_path / "project", with_sample=False)
    write_version(root, layers)
    calls: list[tuple[str, ...]] = []

    def fake_dvc(project: Project, *args: str, check: bool = True) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr("ftdata_assets.versioning.dvc", fake_dvc)
    project = Project(root)
    assert cli.first_release_profile(project, "v1") == 0
    assert calls == [("commit", "--force", "--quiet", "curate")]
    assert read_suite_json("splits", root / "expectations")["meta"][PROFILE_META_KEY]["version"] == "v1"
    # the second release keeps the user's bounds (re-profiling is `ftdata profile`, a reviewed decision)
    assert cli.first_release_profile(project, "v2") == 0
    assert len(calls) == 1
    assert read_suite_json("splits", root / "expectations")["meta"][PROFILE_META_KEY]["version"] == "v1"


def test_a_failed_dvc_commit_warns_and_keeps_the_release(
    layers: dict[str, pl.DataFrame],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_project(tmp_path / "project", with_sample=False)
    write_version(root, layers)
    monkeypatch.setattr("ftdata_assets.versioning.dvc", lambda project, *args, check=True: 1)
    assert cli.first_release_profile(Project(root), "v1") == 0
    assert "`dvc commit curate` failed" in capsys.readouterr().err
    assert user_profile_exists(root / "expectations")
    assert read_suite_json("splits", root / "expectations")["meta"][PROFILE_META_KEY]["version"] == "v1"
