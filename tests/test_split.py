import polars as pl
import pytest

from ftdata_assets.transforms.split import assign_splits, group_bucket, split_groups, updated_registry

RATIOS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def frame(n: int, conversations: int | None = None, start: int = 0, sources: tuple[str, ...] = ("expert",)):
    ids = range(start, start + n)
    return pl.DataFrame(
        {
            "example_id": [f"{i:064x}" for i in ids],
            "source": [sources[i % len(sources)] for i in ids],
            "conversation_id": [f"conv-{i % conversations}" for i in ids] if conversations else [None] * n,
        },
        schema={"example_id": pl.String, "source": pl.String, "conversation_id": pl.String},
    )


def counts(assigned: pl.DataFrame) -> dict[tuple[str, str], int]:
    return {(s, split): n for s, split, n in assigned.group_by("source", "split").len().iter_rows()}


def test_every_source_is_split_at_the_ratios() -> None:
    rows = pl.concat([frame(2_000, sources=("production_log",)), frame(50, start=10_000), frame(300, start=20_000)])
    rows = rows.with_columns(
        source=pl.when(pl.int_range(pl.len()) >= 2_050).then(pl.lit("synthetic")).otherwise("source")
    )
    got = counts(assign_splits(rows, RATIOS, "s"))
    assert got[("production_log", "test")] == 200 and got[("production_log", "validation")] == 200
    assert got[("expert", "test")] == 5 and got[("expert", "validation")] == 5 and got[("expert", "train")] == 40
    assert got[("synthetic", "test")] == 30 and got[("synthetic", "train")] == 240


def test_assignment_is_deterministic_and_independent_of_row_order() -> None:
    rows = frame(5_000, sources=("expert", "synthetic"))
    first = assign_splits(rows, RATIOS, "s").sort("example_id")
    shuffled = assign_splits(rows.sample(fraction=1.0, shuffle=True, seed=3), RATIOS, "s").sort("example_id")
    assert first.equals(shuffled)
    other_seed = assign_splits(rows, RATIOS, "other").sort("example_id")
    assert (other_seed["split"] != first["split"]).sum() > 500


def test_conversations_never_straddle_splits() -> None:
    grouped = assign_splits(frame(3_000, conversations=300), RATIOS, "s")
    assert grouped.group_by("conversation_id").agg(pl.col("split").n_unique())["split"].max() == 1


def test_linked_rows_group_transitively() -> None:
    ids = pl.Series([f"{i:064x}" for i in range(6)])
    conversation = pl.Series(["c1", "c1", None, None, None, None])
    near_user_turns = pl.Series([None, "n1", "n1", None, "n2", "n2"])  # 0-1 by conversation, 1-2 by prompt
    groups = split_groups(ids, [conversation, near_user_turns]).to_list()
    assert groups[0] == groups[1] == groups[2] == ids[0]
    assert groups[3] == ids[3]
    assert groups[4] == groups[5] == ids[4]


def test_a_later_version_with_new_data_and_new_ratios_never_moves_test_to_train() -> None:
    v1 = assign_splits(frame(4_000, sources=("expert", "synthetic")), RATIOS, "s")
    registry = updated_registry(None, v1)
    grown = frame(6_000, sources=("expert", "synthetic"))  # 2,000 new rows
    for ratios in (
        RATIOS,
        {"train": 0.9, "validation": 0.05, "test": 0.05},
        {"train": 0.7, "validation": 0.1, "test": 0.2},
    ):
        v2 = assign_splits(grown, ratios, "s", registry=registry)
        old = v1.join(v2, on="example_id", suffix="_v2")
        assert old.filter(pl.col("split") != pl.col("split_v2")).height == 0, ratios
        assert set(v2.filter(pl.col("split_origin") == "new")["example_id"]) <= set(grown["example_id"][4_000:])
    more_test = assign_splits(grown, {"train": 0.7, "validation": 0.1, "test": 0.2}, "s", registry=registry)
    new_rows = more_test.filter(pl.col("split_origin") == "new")
    # new examples join test to reach 20% of each source: 1,200 in all, 400 of them were frozen there
    assert more_test.filter(pl.col("split") == "test").height == 1_200
    assert new_rows.filter(pl.col("split") == "test").height == 800


def test_a_new_row_tying_train_to_test_takes_both_to_test() -> None:
    rows = frame(200)
    v1 = assign_splits(rows, RATIOS, "s")
    registry = updated_registry(None, v1)
    train_id = v1.filter(pl.col("split") == "train")["example_id"][0]
    test_id = v1.filter(pl.col("split") == "test")["example_id"][0]
    bridge = frame(1, start=999)
    v2_rows = pl.concat([rows, bridge])
    link = pl.Series(
        ["x" if i in (train_id, test_id, bridge["example_id"][0]) else None for i in v2_rows["example_id"]]
    )
    v2 = assign_splits(v2_rows, RATIOS, "s", groups=split_groups(v2_rows["example_id"], [link]), registry=registry)
    splits = dict(v2.select("example_id", "split").iter_rows())
    assert splits[train_id] == splits[test_id] == splits[bridge["example_id"][0]] == "test"


def test_the_registry_keeps_examples_absent_from_a_version() -> None:
    v1 = assign_splits(frame(100), RATIOS, "s")
    registry = updated_registry(None, v1)
    v2 = assign_splits(frame(50), RATIOS, "s", registry=registry)
    again = updated_registry(registry, v2)
    assert again.equals(registry)
    assert again["example_id"].is_sorted()


def test_bad_ratios_are_refused() -> None:
    with pytest.raises(ValueError, match="summing to 1"):
        assign_splits(frame(10), {"train": 0.8, "validation": 0.1, "test": 0.2}, "s")


def test_bucket_is_stable_across_runs() -> None:
    # Pinned values: if these change, every new example would be ordered differently between versions.
    assert group_bucket(pl.Series(["a", "b", "a"]), "seed").to_list() == pytest.approx(
        [0.9937711399082639, 0.6507507133282919, 0.9937711399082639]
    )
