"""The review loop: review_queue (contradictions + synthetic samples, exported for people), reviewed_examples
(decisions applied, hold policy) and audit_sample (a random sample of kept rows, with a blocking error-rate
check once labelled)."""

from collections.abc import Sequence

import dagster as dg
import polars as pl

from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.transforms.pii import PiiSettings, scrub, settings_of
from ftdata_assets.transforms.review import (
    apply_decisions,
    audit_metrics,
    build_review_queue,
    latest_decisions,
    read_audit_labels,
    read_decisions,
    sample_rows,
    unknown_decisions,
    write_review_export,
)
from ftdata_assets.transforms.settings import DedupConfig, ReviewConfig


def review_members(deduplicated: pl.DataFrame, review: ReviewConfig) -> pl.DataFrame:
    """Rows that need a person: every member of a contradiction, and a sample of each synthetic batch."""
    kept = deduplicated.filter(pl.col("duplicate_of").is_null())
    contradictions = kept.filter(pl.col("contradiction").is_not_null()).with_columns(
        review_kind=pl.lit("contradiction"),
        review_group=pl.col("prompt_cluster"),
        review_detail=pl.lit("same question, answers disagree: ") + pl.col("contradiction"),
    )
    synthetic = sample_rows(
        kept.filter((pl.col("source") == "synthetic") & pl.col("contradiction").is_null()),
        review.synthetic_sample_size,
        review.seed,
        by="partition",
    ).with_columns(
        review_kind=pl.lit("synthetic_sample"),
        review_group=pl.lit("synthetic:") + pl.col("example_id"),
        review_detail=pl.lit("review sample of synthetic batch ") + pl.col("partition").fill_null("?"),
    )
    return pl.concat([contradictions, synthetic], how="diagonal_relaxed")


@dg.asset(
    group_name="review",
    kinds={"polars", "parquet", "csv"},
    description=(
        "Rows that need a person, side by side: every member of a same-question cluster whose answers disagree "
        "(polarity, numbers, refusal) and a random sample of each synthetic batch. Exported to "
        "data/review/export/queue.{parquet,csv}; decisions go to data/review/decisions/."
    ),
)
def review_queue(project: ProjectResource, deduplicated_examples: pl.DataFrame) -> dg.Output[pl.DataFrame]:
    queue = build_review_queue(
        review_members(deduplicated_examples, project.settings(ReviewConfig)),
        priority=project.settings(DedupConfig).source_priority,  # side by side in the order dedup picks winners
    )
    paths = write_review_export(queue, project.project.review_export_dir, "queue")
    decisions, _ = read_decisions(project.project.decisions_dir)
    decided = queue.join(latest_decisions(decisions).select("example_id"), on="example_id", how="semi")
    return dg.Output(
        queue,
        metadata={
            "rows": queue.height,
            "groups": queue.get_column("review_group").n_unique(),
            "rows_by_kind": dg.MetadataValue.json(
                dict(queue.group_by("review_kind").len().sort("review_kind").iter_rows())
            ),
            "decided": decided.height,
            "pending": queue.height - decided.height,
            "csv": dg.MetadataValue.path(str(paths["csv"])),
            "parquet": dg.MetadataValue.path(str(paths["parquet"])),
            "params_digest": project.params_digest,
        },
    )


def rescrub_edited(frame: pl.DataFrame, settings: PiiSettings | Sequence[str]) -> pl.DataFrame:
    """Reviewer-written answers pass through the same PII scrub as every input."""
    edited = pl.col("review_decision") == "edit"
    if frame.filter(edited).is_empty():
        return frame
    rows = frame.with_row_index("__row")
    scrubbed = scrub(
        rows.filter(edited).select(
            "__row", "messages", __conversation=pl.coalesce("conversation_id", "example_id")
        ),  # only the messages: the rest was scrubbed upstream
        conversation_key="__conversation",
        settings=settings_of(settings),
    ).select("__row", "messages")
    return (
        rows.join(scrubbed, on="__row", how="left", suffix="__scrubbed", maintain_order="left")
        .with_columns(messages=pl.coalesce("messages__scrubbed", "messages"))
        .drop("__row", "messages__scrubbed")
    )


@dg.asset(
    group_name="review",
    kinds={"polars", "parquet"},
    description=(
        "deduplicated_examples with review decisions applied (`review_decision`, `reviewed_by`, edited answers "
        "re-scrubbed) and `review_status`: rejected (-> rejects as rejected_in_review), held (in review_queue, "
        "undecided, and the review policy holds its kind), or null. Only rows with neither go to the splits."
    ),
)
def reviewed_examples(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    deduplicated_examples: pl.DataFrame,
    review_queue: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    hold_kinds = list(project.settings(ReviewConfig).held_kinds)
    decisions, problems = read_decisions(project.project.decisions_dir)
    kept = deduplicated_examples.filter(pl.col("duplicate_of").is_null())
    unknown = unknown_decisions(kept, decisions)
    applied = rescrub_edited(
        apply_decisions(deduplicated_examples, decisions), PiiSettings.from_params(project.params("pii"))
    )
    held_ids = review_queue.filter(pl.col("review_kind").is_in(hold_kinds)).get_column("example_id").implode()
    reviewed = applied.with_columns(
        review_status=pl.when(pl.col("duplicate_of").is_not_null())
        .then(None)
        .when(pl.col("review_decision") == "reject")
        .then(pl.lit("rejected"))
        .when(pl.col("review_decision").is_null() & pl.col("example_id").is_in(held_ids))
        .then(pl.lit("held"))
    )
    if problems.height or unknown.height:
        context.log.warning(
            f"{problems.height} unusable decision row(s) and {unknown.height} decision(s) on unknown example ids "
            f"in {project.project.decisions_dir}; see the asset metadata"
        )
    status = reviewed.filter(pl.col("duplicate_of").is_null())
    return dg.Output(
        reviewed,
        metadata={
            "decisions_applied": dg.MetadataValue.json(
                dict(status.group_by("review_decision").len().drop_nulls().sort("review_decision").iter_rows())
            ),
            "held_for_review": status.filter(pl.col("review_status") == "held").height,
            "rejected_in_review": status.filter(pl.col("review_status") == "rejected").height,
            "decision_problems": problems.height,
            "problems": dg.MetadataValue.json(problems.head(20).to_dicts()),
            "unknown_decisions": unknown.height,
            "hold_policy": dg.MetadataValue.json({"holds": hold_kinds}),
            "params_digest": project.params_digest,
        },
    )


@dg.asset(
    group_name="review",
    kinds={"polars", "parquet", "csv"},
    check_specs=[
        dg.AssetCheckSpec(
            "audit_error_rate",
            asset="audit_sample",
            blocking=True,
            description=(
                "Once the audit sample is labelled (data/review/audit_labels/), its error rate is at most "
                "review.max_audit_error_rate; Cohen's kappa is reported where rows were labelled twice."
            ),
        )
    ],
    description=(
        "A random sample (review.audit_sample_size) of the rows released in the splits, drawn per version and "
        "exported to data/review/export/audit_sample.{parquet,csv} for labelling (ok / error)."
    ),
)
def audit_sample(project: ProjectResource, split_assignments: pl.DataFrame):
    review = project.settings(ReviewConfig)
    releasable = split_assignments.filter(pl.col("contaminated_by").is_null()).drop(
        "split", "split_group", "split_origin", "contaminated_by", "contamination_detail"
    )  # the rows the splits will hold: the audit judges what is released
    sample = build_review_queue(
        sample_rows(releasable, review.audit_sample_size, review.seed).with_columns(
            review_kind=pl.lit("audit"),
            review_group=pl.lit("audit:") + pl.col("example_id"),
            review_detail=pl.lit("random audit sample"),
        ),
        priority=project.settings(DedupConfig).source_priority,
    ).select(
        pl.exclude("decision", "reviewer", "edited_answer", "note"),
        reviewer=pl.lit(None, pl.String),
        label=pl.lit(None, pl.String),  # ok | error
        note=pl.lit(None, pl.String),
    )
    paths = write_review_export(sample, project.project.review_export_dir, "audit_sample")
    labels, problems = read_audit_labels(project.project.audit_labels_dir)
    metrics = audit_metrics(sample, labels)
    yield dg.MaterializeResult(
        metadata={
            "sampled": sample.height,
            "labelled_rows": metrics["labelled_rows"],
            "csv": dg.MetadataValue.path(str(paths["csv"])),
            "label_problems": problems.height,
            "params_digest": project.params_digest,
        }
    )
    limit = review.max_audit_error_rate
    error_rate = metrics["error_rate"]
    yield dg.AssetCheckResult(
        check_name="audit_error_rate",
        passed=error_rate is None or error_rate <= limit,
        metadata={
            **{key: value for key, value in metrics.items() if value is not None and not isinstance(value, dict)},
            "status": "awaiting labels" if error_rate is None else ("complete" if metrics["complete"] else "partial"),
            "max_error_rate": limit,
        },
    )
