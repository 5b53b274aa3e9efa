"""Pair decisions kept between dedup runs: a run that reuses an earlier run's decisions gives the frame a run
without them gives (and reuses most of them), decisions of other settings or a damaged store are ignored, and
the deduplicated_examples asset keeps the store in data/interim and reports what it reused."""

import dataclasses
import io
import logging
import random
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from ftdata_assets.defs.dedup_pairs import FOLDER, load_pairs, pairs_path, save_pairs
from ftdata_assets.defs.quality_assets import deduplicated_examples
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.project import Project
from ftdata_assets.transforms import dedup
from ftdata_assets.transforms.dedup import PairDecisions, check_pair_decisions, exact_and_near_clusters_reusing
from ftdata_assets.transforms.deduplicate import conversation_pairs_key, deduplicate, deduplicate_reusing
from ftdata_assets.transforms.settings import DedupConfig
from tests.conftest import REPO_ROOT, make_project
from tests.test_validation_checks import example, frame

CONFIG = DedupConfig.from_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["dedup"])
WORDS = [f"word{i}" for i in range(40)]


def variants(families: int, per_family: int, seed: int = 3) -> list[str]:
    """Families of light edits of one random text: many pairs near the threshold (borderline estimates)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(families):
        base = [rng.choice(WORDS) for _ in range(30)]
        for _ in range(per_family):
            text = list(base)
            for _ in range(rng.randint(0, 6)):
                text[rng.randrange(len(text))] = rng.choice(WORDS)
            texts.append(" ".join(text))
    return texts


def scored_rows(texts: list[str], first: int = 0) -> pl.DataFrame:
    """Kept scored rows whose user turn is the text (answers equal: the prompt step sees them too)."""
    sources = ["expert", "production_log", "synthetic", "feedback"]
    rows = [example(first + i, text, "Restart it.", source=sources[i % 4]) for i, text in enumerate(texts)]
    return frame(rows).with_columns(
        drop_reason=pl.lit(None, pl.String), tags=pl.lit([], pl.List(pl.String)), quality_score=pl.lit(1.0)
    )


TEXTS = variants(60, 5)


# ------------------------------------------------------------------------------------------------ transforms


def test_a_run_reusing_the_decisions_of_a_run_on_fewer_rows_gives_the_same_frame() -> None:
    rows = scored_rows(TEXTS)
    old = rows.head(250)
    first = deduplicate_reusing(old, CONFIG)
    assert first.pairs_reused == 0 and first.pairs_verified == first.pairs.count > 20
    assert first.frame.equals(deduplicate(old, CONFIG))
    check_pair_decisions(first.pairs.pairs)

    second = deduplicate_reusing(rows, CONFIG, known=first.pairs)
    assert second.frame.equals(deduplicate(rows, CONFIG))
    assert second.frame.get_column("dedup_reason").drop_nulls().len() > 30  # the rows do collide
    assert second.pairs_reused > 0.5 * first.pairs.count and second.pairs_verified > 0
    # every pair of this run is stored, and only those: the same store as a run without decisions writes
    assert second.pairs.pairs.equals(deduplicate_reusing(rows, CONFIG).pairs.pairs)
    assert second.pairs.count == second.pairs_reused + second.pairs_verified


def test_pairs_of_texts_no_longer_in_the_input_are_dropped_from_the_store() -> None:
    texts = pl.Series(TEXTS)
    every = exact_and_near_clusters_reusing(texts, 0.6, known=None, shingle_size=3)
    fewer = exact_and_near_clusters_reusing(texts.tail(150), 0.6, known=every.pairs, shingle_size=3)
    assert fewer.verified == 0 and fewer.reused == fewer.pairs.count > 0  # nothing new to settle
    assert fewer.pairs.count < every.pairs.count
    present = {tuple(halves) for halves in dedup._id_halves(fewer.exact.unique().sort()).tolist()}
    assert set(fewer.pairs.pairs.select("id_0", "id_1").rows()) <= present
    again = exact_and_near_clusters_reusing(texts.tail(150), 0.6, known=None, shingle_size=3)
    assert fewer.pairs.pairs.equals(again.pairs.pairs) and fewer.near.equals(again.near)


def flipped(pairs: PairDecisions, key: str | None = None) -> PairDecisions:
    """Every stored decision inverted (under `key`, default the same)."""
    inverted = pairs.pairs.with_columns(pl.col("verified").list.eval(~pl.element()))
    return PairDecisions(pairs.key if key is None else key, inverted)


def test_stored_decisions_are_read_and_decisions_of_other_settings_are_not() -> None:
    texts = pl.Series(TEXTS)
    plain = exact_and_near_clusters_reusing(texts, 0.6, known=None, shingle_size=3)
    # proof that the stored decisions are used: inverted ones (same key) change the clusters
    poisoned = exact_and_near_clusters_reusing(texts, 0.6, known=flipped(plain.pairs), shingle_size=3)
    assert poisoned.reused == plain.pairs.count and not poisoned.near.equals(plain.near)
    # the same inverted decisions under the key of other settings are ignored
    other_key = dedup.pair_decisions_key(0.55, num_perm=128, shingle_size=3, seed="ftdata-dedup-v1")
    assert other_key != plain.pairs.key
    ignored = exact_and_near_clusters_reusing(texts, 0.6, known=flipped(plain.pairs, other_key), shingle_size=3)
    assert ignored.reused == 0 and ignored.near.equals(plain.near)
    assert ignored.pairs.pairs.equals(plain.pairs.pairs)


def test_the_key_covers_every_setting_a_decision_depends_on() -> None:
    base = {"num_perm": 128, "shingle_size": 3, "seed": "s", "max_bucket_pairs": 64}
    key = dedup.pair_decisions_key(0.6, **base)
    assert dedup.pair_decisions_key(0.6, **base) == key
    for change in ({"num_perm": 64}, {"shingle_size": 5}, {"seed": "t"}, {"max_bucket_pairs": 32}):
        assert dedup.pair_decisions_key(0.6, **{**base, **change}) != key, change
    assert dedup.pair_decisions_key(0.61, **base) != key
    assert conversation_pairs_key(CONFIG) != conversation_pairs_key(dataclasses.replace(CONFIG, seed="x"))


def test_malformed_decisions_are_refused_by_the_check() -> None:
    good = exact_and_near_clusters_reusing(pl.Series(TEXTS), 0.6, known=None, shingle_size=3).pairs.pairs
    check_pair_decisions(good)
    backwards = good.with_columns(pl.col("partners").list.eval(pl.element() * 0))
    shuffled = good.reverse()
    short = good.with_columns(pl.col("verified").list.slice(0, 0))
    for bad in (backwards, shuffled, short, good.drop("verified")):
        with pytest.raises(ValueError, match=r"malformed|columns"):
            check_pair_decisions(bad)


# ------------------------------------------------------------------------------------------------ the store


def test_a_damaged_or_foreign_store_file_is_ignored_with_a_warning(tmp_path: Path) -> None:
    project = Project(tmp_path)
    key = conversation_pairs_key(CONFIG)
    warnings: list[str] = []
    assert load_pairs(project, key, warnings.append) is None and warnings == []  # no store yet: silent
    stored = deduplicate_reusing(scored_rows(TEXTS), CONFIG).pairs
    path = save_pairs(project, stored)
    assert path == pairs_path(project, key) and path.parent == tmp_path / "data" / "interim" / FOLDER
    loaded = load_pairs(project, key, warnings.append)
    assert loaded is not None and loaded.pairs.equals(stored.pairs) and warnings == []
    for damage in (b"not parquet at all", path.read_bytes()[: path.stat().st_size // 2]):
        path.write_bytes(damage)
        assert load_pairs(project, key, warnings.append) is None
    pl.DataFrame({"a": [1]}).write_parquet(path)
    assert load_pairs(project, key, warnings.append) is None
    assert len(warnings) == 3 and all(str(path) in w for w in warnings)
    # a store of other settings lives in another file, and saving one removes the others
    other = PairDecisions(conversation_pairs_key(dataclasses.replace(CONFIG, near_threshold=0.7)), stored.pairs)
    other_path = save_pairs(project, other)
    assert other_path != path and not path.exists() and load_pairs(project, key, warnings.append) is None


# ------------------------------------------------------------------------------------------------ the asset


def run_asset(
    root: Path, instance: dg.DagsterInstance, rows: pl.DataFrame, near_threshold: float | None = None
) -> tuple[pl.DataFrame, dict, list[str]]:
    """One run of deduplicated_examples on `rows`: its output, its metadata and its warnings."""

    @dg.asset(name="scored_examples")
    def upstream() -> pl.DataFrame:
        return rows

    defs = dg.Definitions(
        assets=[upstream, deduplicated_examples],
        resources={"project": ProjectResource(root=str(root)), "io_manager": dg.InMemoryIOManager()},
    )
    config = {} if near_threshold is None else {"near_threshold": near_threshold}
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        run_config={"ops": {"deduplicated_examples": {"config": config}}}, instance=instance
    )
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("deduplicated_examples")
    ]
    warnings = [entry.user_message for entry in instance.all_logs(result.run_id) if entry.level == logging.WARNING]
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    return result.output_for_node("deduplicated_examples"), metadata, warnings


def stored_count(parquet: bytes) -> int:
    return PairDecisions("", pl.read_parquet(io.BytesIO(parquet))).count


def test_the_asset_keeps_the_store_and_reports_what_it_reused(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", with_sample=False)
    rows = scored_rows(TEXTS)
    store = root / "data" / "interim" / FOLDER
    with dg.instance_for_test() as instance:
        _, meta, warnings = run_asset(root, instance, rows.head(250))
        (path,) = store.glob("*.parquet")
        assert meta["pairs_reused"] == 0 and meta["pairs_verified"] > 20 and meta["pairs_file"] == str(path)
        assert warnings == []
        first = stored_count(path.read_bytes())

        out, meta, _ = run_asset(root, instance, rows)
        assert meta["pairs_reused"] > 0.5 * first and meta["pairs_verified"] > 0
        assert out.equals(deduplicate(rows, CONFIG))
        assert list(store.glob("*.parquet")) == [path]

        # a Launchpad threshold is other settings: nothing reused, its own file
        lowered, meta, _ = run_asset(root, instance, rows, near_threshold=0.5)
        assert meta["pairs_reused"] == 0 and meta["pairs_file"] != str(path)
        assert lowered.equals(deduplicate(rows, dataclasses.replace(CONFIG, near_threshold=0.5)))
        assert not lowered.equals(out)

        # a damaged store: the run succeeds, says so, and writes a good one
        (damaged,) = store.glob("*.parquet")
        damaged.write_bytes(b"garbage")
        again, meta, warnings = run_asset(root, instance, rows, near_threshold=0.5)
        assert meta["pairs_reused"] == 0 and again.equals(lowered)
        assert len(warnings) == 1 and "ignoring the stored dedup pair decisions" in warnings[0]
        check_pair_decisions(pl.read_parquet(damaged))
        _, meta, _ = run_asset(root, instance, rows, near_threshold=0.5)
        assert meta["pairs_verified"] == 0 and meta["pairs_reused"] > 0
