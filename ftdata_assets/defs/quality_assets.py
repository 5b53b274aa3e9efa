"""scored_examples (every family's scored partitions; `score` is the row-local step) and deduplicated_examples
(exact + near, source priority)."""

import dagster as dg
import polars as pl
from pydantic import Field

from ftdata_assets.defs.dedup_pairs import PAIR_FILES, load_pairs, save_pairs
from ftdata_assets.defs.families import family_inputs, in_family_order
from ftdata_assets.defs.io import declared_files
from ftdata_assets.defs.resources import ProjectResource, params_failure, with_run_config
from ftdata_assets.transforms.deduplicate import conversation_pairs_key, deduplicate_reusing
from ftdata_assets.transforms.pii import PiiSettings
from ftdata_assets.transforms.pii_report import rescrub_changed
from ftdata_assets.transforms.provenance import ProvenancePolicy, apply_policy, policy_summary
from ftdata_assets.transforms.quality import QualityConfig, assess, quality_summary, template_concentration
from ftdata_assets.transforms.settings import DedupConfig


class DedupRunConfig(dg.Config):
    """Launchpad settings of one run of deduplicated_examples; unset = params.yaml's `dedup` value."""

    near_threshold: float | None = Field(
        default=None,
        description="Jaccard of word-shingle sets from which two conversations are near-duplicates, for this run "
        "only (unset: params.yaml dedup.near_threshold).",
    )


def score(
    context: dg.AssetExecutionContext, project: ProjectResource, scrubbed: pl.DataFrame
) -> tuple[pl.DataFrame, int]:
    """The quality rules and the provenance policy on scrubbed rows, and the placeholders a repair added."""
    try:
        config = QualityConfig.from_params(project.params("quality"))
        policy = ProvenancePolicy.from_params(project.params("policy"))
    except ValueError as error:  # the message names the section and the key
        raise params_failure(error) from error
    scored = apply_policy(assess(scrubbed, config), policy)
    # the repairs (mojibake, control characters) can reveal PII the scrub could not read: scrub those again
    scored, rescrubbed = rescrub_changed(scrubbed, scored, PiiSettings.from_params(project.params("pii")))
    if rescrubbed:
        context.log.info(f"{rescrubbed} placeholder(s) added where a repair revealed PII")
    return scored, rescrubbed


@dg.asset(
    group_name="curate",
    kinds={"polars", "parquet"},
    ins=family_inputs("scored"),
    description=(
        "Every family's scored partitions in one frame: scrubbed_examples with `drop_reason` (low_quality:<rule>, "
        "or a provenance-policy violation: disallowed_teacher_model / disallowed_license; null = keep), `tags` "
        "(refusal, edge_case, stale, mojibake_repaired, ...), `quality_score`, `token_count` and `language`. "
        "Refusals are tagged and kept."
    ),
)
def scored_examples(project: ProjectResource, **families: pl.DataFrame) -> dg.Output[pl.DataFrame]:
    scored = pl.concat(in_family_order(families, "scored"), how="vertical")
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
            "policy": dg.MetadataValue.json(policy_summary(scored)),
            "params_digest": project.params_digest,
        },
    )


def read_previous_version(project: ProjectResource, folder: str | None) -> pl.DataFrame | None:
    """The previous release's rows (every Parquet file of the folder), or None when not configured."""
    if not folder:
        return None
    path = project.project.root / folder
    files = sorted(path.glob("*.parquet")) if path.is_dir() else []
    if not files:
        raise FileNotFoundError(
            f"dedup.previous_version is {folder!r} but {path} holds no Parquet split: fetch the release first, "
            f"e.g. `dvc get . data/curated --rev <tag> -o {folder}`, or set it to null"
        )
    return pl.concat([pl.read_parquet(f, columns=["example_id", "source", "messages"]) for f in files])


@dg.asset(
    group_name="curate",
    kinds={"polars", "parquet"},
    metadata=declared_files(PAIR_FILES),
    description=(
        "Kept scored rows with `cluster_id`, `duplicate_of` and `dedup_reason`: exact copies (after NFKC, case "
        "and whitespace normalization) and MinHash-LSH near-duplicates of whole conversations, then rows asking "
        "the same question (user turns) with an agreeing answer, across all sources; one row per cluster is "
        "kept, by source priority, then quality. Same-question clusters whose answers disagree get "
        "`contradiction` and go to review_queue. With dedup.previous_version, rows of that release always win. "
        f"The verdict of every borderline pair of conversations (settled by exact Jaccard) is kept in {PAIR_FILES} "
        "(one file per dedup settings and code), so the next run settles only the pairs it has not seen: same "
        "output, less work."
    ),
)
def deduplicated_examples(
    context: dg.AssetExecutionContext, config: DedupRunConfig, project: ProjectResource, scored_examples: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    settings, overrides = with_run_config(
        project.settings(DedupConfig), "deduplicated_examples", near_threshold=config.near_threshold
    )
    kept = scored_examples.filter(pl.col("drop_reason").is_null())
    previous = read_previous_version(project, settings.previous_version)
    key = conversation_pairs_key(settings)  # the run config's threshold included
    known = load_pairs(project.project, key, context.log.warning)
    result = deduplicate_reusing(kept, settings, previous=previous, known=known)
    # the decisions are a cache of a pure function of the texts and settings: written before the output is
    # stored, they are right even if that write fails
    pairs_file = save_pairs(project.project, result.pairs)
    deduped = result.frame
    by_reason = deduped.group_by("dedup_reason").len().filter(pl.col("dedup_reason").is_not_null())
    winners = deduped.filter(pl.col("duplicate_of").is_null())
    contradictions = winners.filter(pl.col("contradiction").is_not_null())
    return dg.Output(
        deduped,
        metadata={
            "kept": winners.height,
            "duplicates": dg.MetadataValue.json(dict(by_reason.sort("dedup_reason").iter_rows())),
            "clusters_with_duplicates": deduped.filter(pl.col("duplicate_of").is_not_null())
            .get_column("cluster_id")
            .n_unique(),
            "kept_by_source": dg.MetadataValue.json(dict(winners.group_by("source").len().sort("source").iter_rows())),
            "contradiction_rows": contradictions.height,
            "contradiction_groups": contradictions.get_column("prompt_cluster").n_unique(),
            "contradictions_by_kind": dg.MetadataValue.json(
                dict(
                    contradictions.group_by("contradiction")
                    .agg(pl.col("prompt_cluster").n_unique())
                    .sort("contradiction")
                    .iter_rows()
                )
            ),
            "previous_version_rows": previous.height if previous is not None else 0,
            "pairs_reused": result.pairs_reused,
            "pairs_verified": result.pairs_verified,
            "pairs_file": dg.MetadataValue.path(str(pairs_file)),
            **overrides,
            "params_digest": project.params_digest,
        },
    )
