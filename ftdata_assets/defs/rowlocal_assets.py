"""The row-local layers, two steps per input family, partitioned like the family's raw asset.

`prepare_<family>`: the partition's raw rows split into `normalized_<family>` (examples), `ingest_rejects_<family>`
and `input_formats_<family>` (rows per format); the examples with PII replaced (`scrubbed_<family>`), re-scanned
and second-opinioned by the blocking `no_pii_left` check, and the keys of the texts found clean
(`pii_verified_<family>`). `scored_<family>`: the quality rules and the provenance policy on them. Both are
pure functions of their own partition, so a new log day or batch is processed alone; their code versions
(code_versions.py) hash the code and params sections they read, so a changed rule recomputes exactly the
partitions of the layers that use it (`AutomationCondition.code_version_changed`).
"""

import dagster as dg
import polars as pl

from ftdata_assets.defs.code_versions import ingest_code_version, score_code_version, scrub_code_version
from ftdata_assets.defs.families import FAMILIES, Family
from ftdata_assets.defs.pii_assets import no_pii_left_check, second_opinion
from ftdata_assets.defs.quality_assets import score
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.progress import progress_logger
from ftdata_assets.transforms.ingest import format_counts, split_raw
from ftdata_assets.transforms.normalize import combine_raw
from ftdata_assets.transforms.pii import PiiSettings, scrub
from ftdata_assets.transforms.pii_report import clean_keys, leftover_findings, pii_totals
from ftdata_assets.transforms.quality import quality_summary

ROW_LOCAL_GROUP = "prepare"
INPUT_FORMATS_SCHEMA = {"format": pl.String, "rows": pl.Int64, "examples": pl.Int64, "rejected": pl.Int64}
ROW_LOCAL_KINDS = {"polars", "parquet"}


def scrub_examples(context: dg.AssetExecutionContext, settings: PiiSettings, examples: pl.DataFrame) -> pl.DataFrame:
    """The examples with PII replaced; turns of one logged conversation share placeholder numbers."""
    keyed = examples.with_columns(__conversation=pl.coalesce("conversation_id", "example_id"))
    scanning = progress_logger(context.log.info, f"PII scan of {keyed.height:,} examples")
    return scrub(keyed, conversation_key="__conversation", settings=settings, progress=scanning).drop("__conversation")


def formats_frame(raw: pl.DataFrame) -> pl.DataFrame:
    """Rows, examples and rejects per input format of one partition (the union sums them)."""
    return pl.DataFrame(
        [{"format": name, **counts} for name, counts in format_counts(raw).items()], schema=INPUT_FORMATS_SCHEMA
    )


def prepared_family(family: Family, raw_version: str, scrub_version: str) -> dg.AssetsDefinition:
    """One step per partition: the raw rows split into examples and ingest rejects, then the examples scrubbed
    and checked. One step, because each output is a cheap function of what the step already holds."""

    @dg.multi_asset(
        name=f"prepare_{family.name}",
        group_name=ROW_LOCAL_GROUP,
        partitions_def=family.partitions_def,
        ins={"raw": dg.AssetIn(family.raw)},
        outs={
            family.normalized: dg.AssetOut(
                kinds=ROW_LOCAL_KINDS,
                code_version=raw_version,
                description=f"The rows of {family.raw} (one partition) that parsed, in the canonical example schema.",
            ),
            family.ingest_rejects: dg.AssetOut(
                kinds=ROW_LOCAL_KINDS,
                code_version=raw_version,
                description=f"The lines of {family.raw} (one partition) that could not become an example.",
            ),
            family.input_formats: dg.AssetOut(
                kinds=ROW_LOCAL_KINDS,
                code_version=raw_version,
                description=f"Rows, examples and rejects per input format of {family.raw} (one partition).",
            ),
            family.scrubbed: dg.AssetOut(
                kinds=ROW_LOCAL_KINDS,
                code_version=scrub_version,
                description=(
                    f"{family.normalized} with PII replaced by typed placeholders numbered per conversation; "
                    "`pii_counts` per row."
                ),
            ),
            family.verified: dg.AssetOut(
                kinds=ROW_LOCAL_KINDS,
                code_version=scrub_version,
                description=(
                    f"Keys of the texts of {family.scrubbed} that the re-scan and the second opinion found clean "
                    "(the union's checks skip them)."
                ),
            ),
        },
        check_specs=[
            dg.AssetCheckSpec(
                "no_pii_left",
                asset=family.scrubbed,
                blocking=True,
                description="The re-scan and an independent second opinion find nothing in this partition.",
            )
        ],
    )
    def _asset(context: dg.AssetExecutionContext, project: ProjectResource, raw: pl.DataFrame):
        raw = combine_raw([raw])  # a partition stored by an older ingest gets the columns it lacks
        examples, rejects = split_raw(raw)
        yield dg.Output(examples, output_name=family.normalized, metadata={"rows": examples.height})
        yield dg.Output(rejects, output_name=family.ingest_rejects, metadata={"rows": rejects.height})
        yield dg.Output(formats_frame(raw), output_name=family.input_formats)
        pii_params = project.params("pii")
        settings = PiiSettings.from_params(pii_params)
        scrubbed = scrub_examples(context, settings, examples)
        totals = pii_totals(scrubbed)
        yield dg.Output(
            scrubbed,
            output_name=family.scrubbed,
            metadata={
                "rows": scrubbed.height,
                "pii_replaced": totals["replaced"],
                "rows_with_pii": totals["rows_with_pii"],
                "pii_by_type": dg.MetadataValue.json(totals["by_type"]),
                "params_digest": project.params_digest,
            },
        )
        rescanning = progress_logger(context.log.info, "PII re-scan of the scrubbed texts")
        left = leftover_findings(scrubbed, settings, progress=rescanning)
        second = second_opinion(context, scrubbed, pii_params, settings)
        clean = clean_keys(scrubbed, pl.concat([left.select("row"), second.select("row")]))
        yield dg.Output(clean, output_name=family.verified, metadata={"rows": clean.height})
        yield no_pii_left_check(family.scrubbed, scrubbed, left, second, pii_params)

    return _asset


def scored_family(family: Family, code_version: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=family.scored,
        group_name=ROW_LOCAL_GROUP,
        partitions_def=family.partitions_def,
        kinds=ROW_LOCAL_KINDS,
        code_version=code_version,
        ins={"scrubbed": dg.AssetIn(family.scrubbed)},
        description=(
            f"{family.scrubbed} (one partition) with `drop_reason`, `tags`, `quality_score`, `token_count` and "
            "`language` from the quality rules and the provenance policy."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, project: ProjectResource, scrubbed: pl.DataFrame):
        scored, rescrubbed = score(context, project, scrubbed)
        summary = quality_summary(scored)
        return dg.Output(
            scored,
            metadata={
                "kept": summary["kept"],
                "dropped": summary["dropped"],
                "dropped_by_reason": dg.MetadataValue.json(summary["by_reason"]),
                "pii_replaced_after_repair": rescrubbed,
                "params_digest": project.params_digest,
            },
        )

    return _asset


def row_local_assets(params: dict | None, pii_fingerprint: str) -> list[dg.AssetsDefinition]:
    """Both steps of every family, with the code versions of the current code and params."""
    raw_version = ingest_code_version(params)
    scrub_version = scrub_code_version(params, pii_fingerprint)
    score_version = score_code_version(params, pii_fingerprint)
    return [
        asset
        for family in FAMILIES
        for asset in (prepared_family(family, raw_version, scrub_version), scored_family(family, score_version))
    ]
