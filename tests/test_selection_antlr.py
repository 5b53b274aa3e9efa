"""Guard for the dvc/antlr conflict: with antlr4 4.9 (pulled by omegaconf 2.3), Dagster cannot parse
any string asset selection (dagster issue 27487). This must keep working with DVC installed beside it."""

import importlib.metadata

import dagster as dg

from ftdata_assets.definitions import defs


def test_dvc_and_dagster_share_one_environment() -> None:
    assert importlib.metadata.version("dvc")
    assert importlib.metadata.version("antlr4-python3-runtime").startswith("4.13.")


def test_string_asset_selection_parses_and_resolves() -> None:
    selection = dg.AssetSelection.from_string('key:"deduplicated_examples"+ or group:"ingest"')
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in selection.resolve(graph)}
    assert {"deduplicated_examples", "train", "validation", "test", "rejects", "raw_expert"} <= keys
    assert "raw_production_logs" in keys
    assert "scored_examples" not in keys  # upstream of deduplicated_examples, and not in the ingest group
