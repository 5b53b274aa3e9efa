"""Lineage as it is: every file a run writes under data/ is an asset of the graph, and the files trainers pull
(data/curated) are published only after the blocking checks on the staged release passed.

Real runs of the whole graph on the sample data: one good release, then a release whose blocking splits check
fails (a stricter suite, on a version with new rows), then the good run that publishes it."""

import fnmatch
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ftdata_assets.defs.build import build_definitions
from ftdata_assets.defs.io import FILES_KEY, publish_files
from ftdata_assets.defs.release_assets import RELEASE_FILES
from ftdata_assets.defs.runner import PipelineError, materialize_all
from tests.conftest import make_project

INPUTS = ("data/raw/", "data/benchmarks/", "data/review/decisions/", "data/review/audit_labels/")
"""What people put under data/; everything else there is written by the pipeline."""
METRICS_FILES = {
    "data/metrics/pii.json": "pii_metrics",
    "data/metrics/ledger.json": "ledger",
    "data/metrics/exports.json": "exports_metrics",
    "data/metrics/dataset.json": "dataset_metrics",
    "data/metrics/token_lengths.csv": "token_lengths_plot",
}


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `folder` (hidden ones included)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def written_files(root: Path) -> list[str]:
    files = [p.relative_to(root).as_posix() for p in (root / "data").rglob("*") if p.is_file()]
    return sorted(f for f in files if not f.startswith(INPUTS))


def declared_patterns(defs: dg.Definitions, root: Path) -> dict[dg.AssetKey, list[str]]:
    """Per asset, the project-relative files the graph says it owns: its FILES_KEY metadata, or where its IO
    manager stores it (`<base_dir>/<key>.parquet`, partitions in `<base_dir>/<key>/`)."""
    graph = defs.resolve_asset_graph()
    io_dirs = {
        name: Path(resource.base_dir).relative_to(root).as_posix()
        for name, resource in (defs.resources or {}).items()
        if hasattr(resource, "base_dir")
    }
    patterns: dict[dg.AssetKey, list[str]] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        declared = node.metadata.get(FILES_KEY)
        found = list(declared.value) if declared is not None else []
        if node.is_materializable and node.io_manager_key in io_dirs:
            base = f"{io_dirs[node.io_manager_key]}/{key.to_user_string()}"
            found += [f"{base}.parquet", f"{base}/*.parquet"]
        patterns[key] = found
    return patterns


def recorded_paths(instance: dg.DagsterInstance, root: Path, keys: list[dg.AssetKey]) -> dict[dg.AssetKey, set[str]]:
    """Per asset, the files its last materialization named in its path metadata (review exports do so)."""
    paths: dict[dg.AssetKey, set[str]] = {}
    for key in keys:
        event = instance.get_latest_materialization_event(key)
        materialization = event.asset_materialization if event is not None else None
        for value in materialization.metadata.values() if materialization else []:
            if isinstance(value, dg.PathMetadataValue) and Path(value.path).is_file():
                paths.setdefault(key, set()).add(Path(value.path).resolve().relative_to(root.resolve()).as_posix())
    return paths


def run(root: Path, instance: dg.DagsterInstance) -> None:
    materialize_all(root, instance, progress=lambda _: None)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, set[str]]]]:
    """A project after one good release, and per written file the asset keys the graph and the run name."""
    root = make_project(tmp_path_factory.mktemp("lineage"))
    (root / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(root / "dagster_home")) as instance:
        run(root, instance)
        defs = build_definitions(root)
        patterns = declared_patterns(defs, root)
        recorded = recorded_paths(instance, root, list(patterns))
    owners: dict[str, set[str]] = {}
    for name in written_files(root):
        for key, globs in patterns.items():
            if any(fnmatch.fnmatchcase(name, glob) for glob in globs) or name in recorded.get(key, set()):
                owners.setdefault(name, set()).add(key.to_user_string())
    yield root, owners


def test_every_file_a_run_writes_under_data_is_an_asset(released: tuple[Path, dict[str, set[str]]]) -> None:
    root, owners = released
    files = written_files(root)
    assert len(files) > 40 and {"data/splits/registry.parquet", *METRICS_FILES} <= set(files)
    orphans = [name for name in files if name not in owners]
    assert not orphans, f"files no asset of the graph owns: {orphans}"
    for name, asset in METRICS_FILES.items():
        assert asset in owners[name], (name, owners[name])
    assert owners["data/splits/registry.parquet"] == {"released_split_registry", "split_registry"}
    (verified,) = [f for f in files if f.startswith("data/interim/pii_verified/")]
    assert owners[verified] == {"pii_verified"}
    curated = [f for f in files if f.startswith("data/curated/")]
    assert sorted(curated) == sorted(f"data/curated/{name}" for name in RELEASE_FILES)
    assert all(owners[f] == {"curated_release"} for f in curated), {f: owners[f] for f in curated}
    staged = [f for f in files if f.startswith("data/interim/release/")]
    assert {f.removeprefix("data/interim/release/") for f in staged} == set(RELEASE_FILES)
    assert owners["data/interim/release/train.parquet"] == {"train"}
    assert owners["data/interim/release/README.md"] == {"data_card"}
    assert owners["data/interim/release/openai/train.jsonl"] == {"dataset_exports"}
    # the published files are the staged ones, byte for byte
    assert tree(root / "data" / "curated") == tree(root / "data" / "interim" / "release")


def test_the_graph_holds_the_dependencies_of_those_files() -> None:
    defs = build_definitions(Path(__file__).resolve().parents[1])
    graph = defs.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {key.to_user_string() for key in graph.get(dg.AssetKey(name)).parent_keys}

    assert not graph.get(dg.AssetKey("released_split_registry")).is_materializable  # observed, never built
    assert "released_split_registry" in parents("split_assignments")
    # written last: a version that was not published freezes nothing
    assert {"released_split_registry", "split_assignments", "ledger", "curated_release"} <= parents("split_registry")
    assert {"train", "validation", "test", "dataset_exports", "data_card", "ledger"} <= parents("curated_release")
    # the union of every family's scrubbed and verified partitions (one step per partition scrubs them)
    families = {"expert", "feedback", "production_logs", "synthetic"}
    expected = {f"scrubbed_{f}" for f in families} | {f"pii_verified_{f}" for f in families}
    assert parents("pii_verified") == parents("scrubbed_examples") == expected
    for family in families:
        assert parents(f"scrubbed_{family}") == {f"raw_{family}"}
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    for name in (
        "scrubbed_examples_expectations",
        "scored_examples_expectations",
        "deduplicated_examples_expectations",
        "reviewed_examples_expectations",
        "splits_expectations",
    ):
        assert "pii_verified" in {dep.asset_key.to_user_string() for dep in checks[name].additional_deps}, name
    # the blocking checks on the staged release are on assets curated_release depends on
    for name in ("splits_disjoint", "splits_expectations", "ledger_balances"):
        spec = checks[name]
        assert spec.blocking and spec.asset_key.to_user_string() in parents("curated_release"), name
    curate = defs.resolve_job_def("curate").asset_layer.selected_asset_keys
    assert {dg.AssetKey(n) for n in ("curated_release", "pii_verified", *METRICS_FILES.values())} <= curate


def tighten_splits_suite(root: Path, max_chars: int) -> None:
    """A stricter error-level bound on the longest message of the splits: a suite change the release fails."""
    path = root / "expectations" / "splits.json"
    suite = json.loads(path.read_text())
    (bound,) = [
        e
        for e in suite["expectations"]
        if e["kwargs"].get("column") == "max_content_chars" and e.get("meta", {}).get("severity") == "error"
    ]
    bound["kwargs"]["max_value"] = max_chars
    path.write_text(json.dumps(suite, indent=2))


def add_expert_rows(root: Path) -> None:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"How should I label shipping box number {i} for a warehouse return?"},
                {"role": "assistant", "content": f"Write RMA-{1000 + i} on the box and attach the printed label."},
            ]
        }
        for i in range(120)
    ]
    (root / "data" / "raw" / "expert" / "returns_v2.jsonl").write_text("\n".join(json.dumps(r) for r in rows))


def test_a_failed_blocking_check_leaves_data_curated_as_it_was_and_the_next_good_run_publishes(
    released: tuple[Path, dict[str, set[str]]], tmp_path: Path
) -> None:
    v2 = tmp_path / "v2"
    shutil.copytree(released[0], v2, ignore=shutil.ignore_patterns("dagster_home"))
    curated = v2 / "data" / "curated"
    # a file an earlier release had and this one does not: kept by a failed release, removed by a published one
    (curated / "openai" / "holdout_2026.jsonl").write_text('{"messages": []}\n')
    before, registry = tree(curated), tree(v2 / "data" / "splits")
    add_expert_rows(v2)
    suite = (v2 / "expectations" / "splits.json").read_text()
    tighten_splits_suite(v2, max_chars=40)
    (v2 / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(v2 / "dagster_home")) as instance:
        with pytest.raises(PipelineError, match="splits_expectations"):
            run(v2, instance)
        staged = tree(v2 / "data" / "interim" / "release")
        assert staged["train.parquet"] != before["train.parquet"], "the failed release was not even staged"
        assert tree(curated) == before, "a release that failed its blocking check reached data/curated"
        assert tree(v2 / "data" / "splits") == registry  # nothing frozen either
        assert instance.get_latest_materialization_event(dg.AssetKey("curated_release")) is None
        # the run recorded which registry it assigned from: the data version of released_split_registry
        (read,) = instance.fetch_observations(dg.AssetKey("released_split_registry"), limit=1).records
        assert read.asset_observation is not None
        assert read.asset_observation.tags["dagster/data_version"] == registry["registry.parquet"]

        (v2 / "expectations" / "splits.json").write_text(suite)
        run(v2, instance)
        published = instance.get_latest_materialization_event(dg.AssetKey("curated_release"))
        assert published is not None and published.asset_materialization is not None
        removed = published.asset_materialization.metadata["removed"].value
    after = tree(curated)
    assert after == tree(v2 / "data" / "interim" / "release")
    assert sorted(after) == sorted(RELEASE_FILES) and removed == ["openai/holdout_2026.jsonl"]
    assert after["train.parquet"] != before["train.parquet"]  # the new rows are out
    assert tree(v2 / "data" / "splits") != registry


def test_a_publish_cut_short_leaves_whole_files_and_publishing_again_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging, target = tmp_path / "staging", tmp_path / "curated"
    names = ["train.parquet", "test.parquet", "openai/train.jsonl", "README.md"]
    for name in names:
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(f"new {name}\n".encode() * 5000)
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(f"old {name}\n".encode())
    (target / "alpaca").mkdir()
    (target / "alpaca" / "train.json").write_text("[]")  # of the old release only
    (target / "README.md").write_bytes((staging / "README.md").read_bytes())  # already the new bytes
    old, new = tree(target), tree(staging)

    copies = []
    real_copy = shutil.copyfileobj

    def copy_then_fail(source, destination, length=0):
        if len(copies) == 2:
            destination.write(source.read(100))  # half a file in the temp file, then the disk is full
            raise OSError(28, "No space left on device")
        copies.append(1)
        real_copy(source, destination, length)

    monkeypatch.setattr(shutil, "copyfileobj", copy_then_fail)
    with pytest.raises(OSError, match="No space left"):
        publish_files(staging, target, names)
    monkeypatch.undo()
    middle = tree(target)
    assert set(middle) == set(old) and not [p for p in target.rglob(".*.tmp")]
    assert all(middle[name] in {old[name], new.get(name)} for name in middle)  # whole files of either release
    assert sum(middle[name] == new[name] for name in names) == 3  # two copied, README.md already there

    done = publish_files(staging, target, names)
    assert tree(target) == new and not (target / "alpaca").exists()
    assert done.written == ["train.parquet"] and done.removed == ["alpaca/train.json"]
    assert done.unchanged == ["README.md", "openai/train.jsonl", "test.parquet"]

    (staging / "test.parquet").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks test\.parquet"):
        publish_files(staging, target, names)
    assert tree(target) == new  # an incomplete staged release publishes nothing
