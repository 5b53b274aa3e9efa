"""What changed between two dataset versions, per split: added, removed, changed and moved examples.

`example_id` is a content hash of the conversation, so an id present in both versions is the same example. It is
`changed` when another column differs (provenance, source, ...) and `moved` when it sits in another split: a
test or validation example that moved into train is an evaluation leak for anyone comparing the two versions.
"""

from collections.abc import Iterable

import polars as pl

CHANGES: tuple[str, ...] = ("added", "removed", "changed", "moved")
SPLIT_ORDER: tuple[str, ...] = ("train", "validation", "test")
DIFF_SCHEMA: dict[str, pl.DataType] = {
    "example_id": pl.String(),
    "change": pl.Enum(CHANGES),
    "split": pl.String(),
    "from_split": pl.String(),
    "changed_columns": pl.List(pl.String()),
}


def ordered_splits(*versions: dict[str, pl.DataFrame]) -> list[str]:
    """train, validation, test first, then any other split names in the order they appear."""
    names = [name for version in versions for name in version]
    return [s for s in SPLIT_ORDER if s in names] + list(dict.fromkeys(n for n in names if n not in SPLIT_ORDER))


def _stacked(version: dict[str, pl.DataFrame]) -> pl.DataFrame:
    frames = []
    for split, frame in version.items():
        if "example_id" not in frame.columns:
            raise ValueError(f"split {split!r} has no example_id column (columns: {frame.columns})")
        frames.append(frame.with_columns(pl.lit(split, dtype=pl.String).alias("__split")))
    if not frames:
        return pl.DataFrame(schema={"example_id": pl.String, "__split": pl.String})
    return pl.concat(frames, how="diagonal_relaxed").with_columns(pl.col("example_id").cast(pl.String))


def compared_columns(
    old: dict[str, pl.DataFrame], new: dict[str, pl.DataFrame], ignore: Iterable[str] = ()
) -> tuple[list[str], dict[str, str]]:
    """The columns a `changed` is judged on (in both versions with one dtype), and why the others are not."""
    old_schema, new_schema = _stacked(old).schema, _stacked(new).schema
    compared, skipped, ignored = [], {}, set(ignore)
    for name in dict.fromkeys([*old_schema, *new_schema]):
        if name in {"example_id", "__split"}:
            continue
        if name in ignored:
            skipped[name] = "ignored"
        elif name not in new_schema:
            skipped[name] = "only in the old version"
        elif name not in old_schema:
            skipped[name] = "only in the new version"
        elif old_schema[name] != new_schema[name]:
            skipped[name] = f"type {old_schema[name]} -> {new_schema[name]}"
        else:
            compared.append(name)
    return compared, skipped


def _per_example(stacked: pl.DataFrame, columns: list[str], suffix: str) -> pl.DataFrame:
    """One row per example_id: its splits, and each compared column as the list of its copies' values.

    Copies (one example in several conversations) are put in a canonical order first, by a hash of all compared
    columns, so equal multisets give equal lists; the comparison itself is exact."""
    order = [pl.col("example_id"), pl.col("__split")]
    if columns:
        order.append(pl.struct(columns).hash(seed=0))
    return (
        stacked.sort(order)
        .group_by("example_id", maintain_order=True)
        .agg(pl.col("__split").unique().sort().alias("splits"), *[pl.col(c) for c in columns])
        .rename({"splits": f"splits{suffix}", **{c: f"{c}{suffix}" for c in columns}})
    )


def diff_versions(
    old: dict[str, pl.DataFrame], new: dict[str, pl.DataFrame], ignore: Iterable[str] = ()
) -> pl.DataFrame:
    """Per example, how `new` differs from `old`; both map split name -> frame with an `example_id` column.

    Output (DIFF_SCHEMA), one row per example and split, unchanged examples left out:
    - `added`: the id is only in `new`; `split` is where it is now.
    - `removed`: the id is only in `old`; `split` is where it was.
    - `changed`: same id and split, other values differ; `changed_columns` names them (the columns compared are
      those in both versions with the same dtype and not in `ignore`, see `compared_columns`).
    - `moved`: same id, other split: `from_split` -> `split` (comma-joined if an id sits in several splits);
      `changed_columns` lists any value that changed as well.
    Sorted by split (train, validation, test, others), change, example_id.
    """
    columns, _ = compared_columns(old, new, ignore)
    before = _per_example(_stacked(old), columns, "_old")
    after = _per_example(_stacked(new), columns, "_new")
    joined = before.join(after, on="example_id", how="full", coalesce=True)
    differing = [
        pl.when(pl.col(f"{c}_old").ne_missing(pl.col(f"{c}_new"))).then(pl.lit(c)).otherwise(pl.lit(None))
        for c in columns
    ]
    changed_columns = pl.concat_list(differing).list.drop_nulls() if differing else pl.lit([], dtype=pl.List(pl.String))
    classified = joined.with_columns(
        pl.when(pl.col("splits_old").is_null())
        .then(pl.lit("added"))
        .when(pl.col("splits_new").is_null())
        .then(pl.lit("removed"))
        .when(pl.col("splits_old") != pl.col("splits_new"))
        .then(pl.lit("moved"))
        .when(changed_columns.list.len() > 0)
        .then(pl.lit("changed"))
        .otherwise(pl.lit(None))
        .alias("change"),
        pl.when(pl.col("splits_old").is_not_null() & pl.col("splits_new").is_not_null())
        .then(changed_columns)
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        .alias("changed_columns"),
    ).filter(pl.col("change").is_not_null())

    moved = classified.filter(pl.col("change") == "moved").select(
        "example_id",
        "change",
        pl.col("splits_new").list.join(",").alias("split"),
        pl.col("splits_old").list.join(",").alias("from_split"),
        "changed_columns",
    )
    others = (
        classified.filter(pl.col("change") != "moved")
        .select(
            "example_id",
            "change",
            pl.when(pl.col("change") == "removed")
            .then(pl.col("splits_old"))
            .otherwise(pl.col("splits_new"))
            .alias("split"),
            pl.lit(None, dtype=pl.String).alias("from_split"),
            "changed_columns",
        )
        .explode("split")
    )
    split_rank = {name: rank for rank, name in enumerate(ordered_splits(old, new))}
    return (
        pl.concat([others, moved])
        .cast(DIFF_SCHEMA)
        .sort(
            pl.col("split").replace_strict(split_rank, default=len(split_rank), return_dtype=pl.Int64),
            "split",
            "change",
            "example_id",
        )
    )


def diff_counts(diff: pl.DataFrame, old: dict[str, pl.DataFrame], new: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per split: rows before and after, and how many examples were added, removed, changed, moved in and out."""
    rows = []
    for split in ordered_splits(old, new):
        here = diff.filter(pl.col("split") == split)
        rows.append(
            {
                "split": split,
                "rows_old": old[split].height if split in old else 0,
                "rows_new": new[split].height if split in new else 0,
                **{change: here.filter(pl.col("change") == change).height for change in CHANGES[:3]},
                "moved_in": here.filter(pl.col("change") == "moved").height,
                "moved_out": diff.filter(
                    (pl.col("change") == "moved") & pl.col("from_split").str.split(",").list.contains(split)
                ).height,
            }
        )
    schema = {"split": pl.String, "rows_old": pl.Int64, "rows_new": pl.Int64}
    schema |= {name: pl.Int64 for name in (*CHANGES[:3], "moved_in", "moved_out")}
    return pl.DataFrame(rows, schema=schema)


def leaks(diff: pl.DataFrame) -> pl.DataFrame:
    """Moves into train from an evaluation split (validation, test): a model trained on the new train set has
    seen examples the old version evaluated on."""
    return diff.filter(
        (pl.col("change") == "moved")
        & pl.col("split").str.split(",").list.contains("train")
        & (
            pl.col("from_split").str.split(",").list.contains("test")
            | pl.col("from_split").str.split(",").list.contains("validation")
        )
    )
