"""Which training rows must go because their prompt overlaps a held-out split or a benchmark.

Only train rows are removed: a benchmark item that also sits in the test split does no harm to training,
while the same item in train would inflate every score measured on it.
"""

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ftdata_assets.transforms.decontaminate import Overlaps, find_overlaps_detailed
from ftdata_assets.transforms.settings import DecontaminationConfig

CONTAMINATION_SCHEMA = pl.Schema({"row": pl.Int64, "contaminated_by": pl.String, "contamination_detail": pl.String})
_DEFAULTS = DecontaminationConfig()
MAX_TEMPLATES_REPORTED = 10


def _snippet(expr: pl.Expr, width: int = 80) -> pl.Expr:
    return pl.when(expr.str.len_chars() > width).then(expr.str.slice(0, width) + pl.lit("...")).otherwise(expr)


@dataclass(frozen=True)
class Decontamination:
    """The contaminated train rows (`hits`, CONTAMINATION_SCHEMA) and how many rows each rule removed or
    spared (`counts`, JSON-ready, for the asset's metadata)."""

    hits: pl.DataFrame
    counts: dict[str, Any] = field(default_factory=dict)


def contaminated_train_rows(
    assigned: pl.DataFrame,
    benchmarks: pl.DataFrame,
    *,
    ngram: int = _DEFAULTS.ngram,
    min_words: int = _DEFAULTS.min_words,
    max_ngram_docs: int = _DEFAULTS.max_ngram_docs,
    max_ngram_doc_share: float = _DEFAULTS.max_ngram_doc_share,
    min_coverage: float = _DEFAULTS.min_coverage,
) -> pl.DataFrame:
    """One row per contaminated train row: `row` (index into `assigned`), `contaminated_by` (the benchmark file,
    or `held-out:<split>`) and `contamination_detail` (the matched item and the shared words). See
    `decontaminate`, which also says what each rule removed."""
    return decontaminate(
        assigned,
        benchmarks,
        DecontaminationConfig(
            ngram=ngram,
            min_words=min_words,
            max_ngram_docs=max_ngram_docs,
            max_ngram_doc_share=max_ngram_doc_share,
            min_coverage=min_coverage,
        ),
    ).hits


def decontaminate(
    assigned: pl.DataFrame, benchmarks: pl.DataFrame, settings: DecontaminationConfig = _DEFAULTS
) -> Decontamination:
    """The contaminated train rows and the per-rule counts.

    `assigned` has `split`, `example_id` and `messages`; `benchmarks` has `benchmark`, `item`, `text`. Each user
    turn is compared on its own, so a word run spanning two turns (a stock follow-up after a different
    question) is no overlap. Benchmarks are matched first, so a row that matches both a benchmark and a
    held-out row is reported under the benchmark (the more specific finding); within one kind, under the
    reference it shares the most word sequences with.

    The benchmark check is strict: any shared `ngram`-word run, or a short item contained whole. Against the
    held-out rows, a run held by more than `settings.max_documents(rows)` rows (train + held-out, counted as
    examples) is a template (LeetCode's class stub, a stock instruction) and is ignored, and the shared runs
    must cover `min_coverage` of the held-out prompt. `counts`: `benchmark` and `held_out` rows removed,
    `held_out_spared_by_doc_frequency` / `held_out_spared_by_coverage` rows that the strict rule would have
    removed, the bound used, and the most common ignored runs."""
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
        "row",
        source=pl.lit("held-out:") + pl.col("split"),
        item=pl.lit("example ") + pl.col("example_id"),
        text="prompt",
    )
    references = benchmarks.select(
        source="benchmark", item=pl.lit("item ") + pl.col("item").cast(pl.String), text="text"
    )
    # short benchmark questions are compared whole (min_words); against our own held-out rows only real
    # `ngram`-word runs count, or stock follow-ups ("That didn't work, what else can I try?") would match
    bench_hits, _ = _hits(train, references, settings.ngram, settings.min_words)
    bench_hits = bench_hits.unique("row", keep="first", maintain_order=True)
    train = train.join(bench_hits, on="row", how="anti")
    documents = rows.get_column("row").n_unique()
    max_documents = settings.max_documents(documents)
    held_hits, overlaps = _hits(
        train,
        held_out,
        settings.ngram,
        settings.ngram,
        max_documents=max_documents,
        min_coverage=settings.min_coverage,
    )
    held_hits = held_hits.unique("row", keep="first", maintain_order=True)
    counts: dict[str, Any] = {
        "benchmark": bench_hits.height,
        "held_out": held_hits.height,
        "held_out_spared_by_doc_frequency": 0,
        "held_out_spared_by_coverage": 0,
        "max_ngram_docs_used": max_documents,
        "documents": documents,
        "templates_ignored": 0,
        "top_templates": [],
    }
    if overlaps is not None:
        train_rows = train.get_column("row")

        def examples(turns: pl.Series) -> int:
            return train_rows.gather(turns.cast(pl.Int64)).n_unique()

        strict, after = examples(overlaps.strict_rows), examples(overlaps.after_documents_rows)
        counts["held_out_spared_by_doc_frequency"] = strict - after
        counts["held_out_spared_by_coverage"] = after - held_hits.height
        counts["templates_ignored"] = overlaps.templates.height
        counts["top_templates"] = overlaps.templates.head(MAX_TEMPLATES_REPORTED).to_dicts()
    return Decontamination(pl.concat([bench_hits, held_hits]).sort("row"), counts)


def _hits(
    train: pl.DataFrame,
    reference: pl.DataFrame,
    ngram: int,
    min_words: int,
    *,
    max_documents: int | None = None,
    min_coverage: float = 0.0,
) -> tuple[pl.DataFrame, Overlaps | None]:
    if train.is_empty() or reference.is_empty():
        return pl.DataFrame(schema=CONTAMINATION_SCHEMA), None
    overlaps = find_overlaps_detailed(
        train.get_column("prompt"),
        reference.get_column("text"),
        n=ngram,
        min_words=min_words,
        max_documents=max_documents,
        min_coverage=min_coverage,
        text_documents=train.get_column("row"),
        reference_documents=reference.get_column("row") if "row" in reference.columns else None,
    )
    hits = overlaps.hits
    train_rows = train.get_column("row")
    found = (
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
    return found, overlaps
