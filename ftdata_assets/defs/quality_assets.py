"""scored_examples (quality rules and tags) and deduplicated_examples (exact + near, source priority)."""

import dagster as dg
import polars as pl

from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.transforms.deduplicate import deduplicate
from ftdata_assets.transforms.quality import QualityConfig, assess, quality_summary, template_concentration


@dg.asset(
    group_name="curate",
    kinds={"polars", "parquet"},
    description=(
        "scrubbed_examples with `drop_reason` (low_quality:<rule>, null = keep), `tags` (refusal, edge_case, "
        "repaired_mojibake, ...), `quality_score`, `token_count` and `language`. Refusals are tagged and kept."
    ),
)
def scored_examples(
    context: dg.AssetExecutionContext, project: ProjectResource, scrubbed_examples: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    config = QualityConfig.from_params(project.params("quality"))
    scored = assess(scrubbed_examples, config)
    summary = quality_summary(scored)
    kept = scored.filter(pl.col("drop_reason").is_null())
    openings = template_concentration(kept, n_words=5, top=5)
    return dg.Output(
        scored,
        metadata={
            "kept": summary["kept"],
            "dropped": summary["dropped"],
            "dropped_by_reason": dg.MetadataValue.json(summary["by_reason"]),
            "tags": dg.MetadataValue.json(summary["by_tag"]),
            "refusal_share": round(summary["refusal_share"], 4),
            "harmful": summary["harmful"],
            "top_prompt_openings": dg.MetadataValue.json(openings.to_dicts()),
        },
    )


@dg.asset(
    group_name="curate",
    kinds={"polars", "parquet"},
    description=(
        "Kept scored rows with `cluster_id`, `duplicate_of` and `dedup_reason`: exact copies (after NFKC, case "
        "and whitespace normalization) and MinHash-LSH near-duplicates of whole conversations, across all "
        "sources; one row per cluster is kept, by source priority, then quality."
    ),
)
def deduplicated_examples(project: ProjectResource, scored_examples: pl.DataFrame) -> dg.Output[pl.DataFrame]:
    kept = scored_examples.filter(pl.col("drop_reason").is_null())
    deduped = deduplicate(kept, project.params("dedup"))
    by_reason = deduped.group_by("dedup_reason").len().filter(pl.col("dedup_reason").is_not_null())
    winners = deduped.filter(pl.col("duplicate_of").is_null())
    return dg.Output(
        deduped,
        metadata={
            "kept": winners.height,
            "duplicates": dg.MetadataValue.json(dict(by_reason.sort("dedup_reason").iter_rows())),
            "clusters_with_duplicates": deduped.filter(pl.col("duplicate_of").is_not_null())
            .get_column("cluster_id")
            .n_unique(),
            "kept_by_source": dg.MetadataValue.json(dict(winners.group_by("source").len().sort("source").iter_rows())),
        },
    )
