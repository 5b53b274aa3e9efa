"""Guard for the dvc/antlr conflict: with antlr4 4.9 (pulled by omegaconf 2.3), Dagster cannot parse
any string asset selection (dagster issue 27487). This must keep working with DVC installed beside it."""

import importlib.metadata

import dagster as dg

from ftdata_assets.definitions import defs


def test_dvc_and_dagster_share_one_environment() -> None:
    assert importlib.metadata.version("dvc")
    assert importlib.metadata.version("antlr4-python3-runtime").startswith("4.13.")


def test_string_asset_selection_parses_and_resolves() -> None:
    selection = dg.AssetSelection.from_string('key:"normalized_examples"+ or group:"ingest"')
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in selection.resolve(graph)}
    assert {"normalized_examples", "train", "validation", "test", "raw_expert", "raw_production_logs"} <= keys
    assert "rejects" not in keys  # a sibling output of normalize, not downstream of normalized_examples
