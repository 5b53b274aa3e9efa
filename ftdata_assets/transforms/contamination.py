"""Which training rows must go because their prompt overlaps a held-out split or a benchmark.

Only train rows are removed: a benchmark item that also sits in the test split does no harm to training,
while the same item in train would inflate every score measured on it.
"""

import polars as pl

from ftdata_assets.transforms.decontaminate import find_overlaps

CONTAMINATION_SCHEMA = pl.Schema({"row": pl.Int64, "contaminated_by": pl.String, "contamination_detail": pl.String})


def _snippet(expr: pl.Expr, width: int = 80) -> pl.Expr:
    return pl.when(expr.str.len_chars() > width).then(expr.str.slice(0, width) + pl.lit("...")).otherwise(expr)


def contaminated_train_rows(
    assigned: pl.DataFrame,
    benchmarks: pl.DataFrame,
    *,
    ngram: int = 13,
    min_words: int = 8,
) -> pl.DataFrame:
    """One row per contaminated train row: `row` (index into `assigned`), `contaminated_by` (the benchmark file,
    or `held-out:<split>`) and `contamination_detail` (the matched item and the shared words).

    `assigned` has `split`, `example_id` and `messages`; `benchmarks` has `benchmark`, `item`, `text`. Each user
    turn is compared on its own, so a word run spanning two turns (a stock follow-up after a different
    question) is no overlap. Benchmarks are matched first, so a row that matches both a benchmark and a
    held-out row is reported under the benchmark (the more specific finding); within one kind, under the
    reference it shares the most word sequences with."""
    turn = pl.element().struct
    rows = (
        assigned.select(
            "split",
            "example_id",
            prompt=pl.col("messages").list.eval(pl.when(turn.field("role") == "user").then(turn.field("content"))),
        )
        .with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int64))
        .explode("prompt")
        .filter(pl.col("prompt").is_not_null())
    )
    train = rows.filter(pl.col("split") == "train")
    held_out = rows.filter(pl.col("split") != "train").select(
        source=pl.lit("held-out:") + pl.col("split"), item=pl.lit("example ") + pl.col("example_id"), text="prompt"
    )
    references = benchmarks.select(
        source="benchmark", item=pl.lit("item ") + pl.col("item").cast(pl.String), text="text"
    )
    found = []
    # short benchmark questions are compared whole (min_words); against our own held-out rows only real
    # `ngram`-word runs count, or stock follow-ups ("That didn't work, what else can I try?") would match
    for reference, shortest in ((references, min_words), (held_out, ngram)):
        hits = _hits(train, reference, ngram, shortest).unique("row", keep="first", maintain_order=True)
        found.append(hits)
        train = train.join(hits, on="row", how="anti")
    return pl.concat(found).sort("row")


def _hits(train: pl.DataFrame, reference: pl.DataFrame, ngram: int, min_words: int) -> pl.DataFrame:
    if train.is_empty() or reference.is_empty():
        return pl.DataFrame(schema=CONTAMINATION_SCHEMA)
    hits = find_overlaps(train.get_column("prompt"), reference.get_column("text"), n=ngram, min_words=min_words)
    train_rows = train.get_column("row")
    return (
        hits.with_columns(
            row=train_rows.gather(hits.get_column("row").cast(pl.Int64)),
            source=reference.get_column("source").gather(hits.get_column("reference_row").cast(pl.Int64)),
            item=reference.get_column("item").gather(hits.get_column("reference_row").cast(pl.Int64)),
        )
        .select(
            "row",
            contaminated_by="source",
            contamination_detail=pl.format(
                '{} {}: {} shared run(s) of {}+ words, e.g. "{}"',
                "source",
                "item",
                "shared_ngrams",
                pl.lit(ngram),
                _snippet(pl.col("matched_ngram")),
            ),
        )
        .cast(dict(CONTAMINATION_SCHEMA))
    )
