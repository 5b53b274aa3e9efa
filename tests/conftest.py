"""Shared fixtures: a temporary ftdata project holding the bundled sample data, materialized once."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("params.yaml", "dvc.yaml", "workspace.yaml", "pyproject.toml")


def make_project(root: Path, with_sample: bool = True) -> Path:
    """A project folder like the repository's, with the sample data generated into data/raw."""
    root.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(REPO_ROOT / name, root / name)
    shutil.copytree(REPO_ROOT / "expectations", root / "expectations", dirs_exist_ok=True)
    shutil.copytree(REPO_ROOT / "data" / "benchmarks", root / "data" / "benchmarks", dirs_exist_ok=True)
    if with_sample:
        from ftdata_assets.sample_data import generate_sample

        generate_sample(root / "data" / "raw", seed=20261101)
    return root


@pytest.fixture(scope="session")
def materialized_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole graph materialized in-process on a real (temporary) Dagster instance."""
    from ftdata_assets.defs.runner import materialize_all

    root = make_project(tmp_path_factory.mktemp("project"))
    (root / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(root / "dagster_home")) as instance:
        materialize_all(root, instance, progress=lambda _: None)
    return root
