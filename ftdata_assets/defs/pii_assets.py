"""scrubbed_examples: PII replaced by typed, per-conversation placeholders, with a blocking re-scan."""

import dagster as dg
import polars as pl

from ftdata_assets.defs.io import write_json_atomically
from ftdata_assets.defs.pii_verified import save_verified
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.progress import progress_logger
from ftdata_assets.transforms.pii import scrub
from ftdata_assets.transforms.pii_report import clean_keys, leftover_findings, pii_totals


@dg.asset(
    group_name="curate",
    kinds={"polars", "parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            "no_pii_left",
            asset="scrubbed_examples",
            blocking=True,
            description="Re-running the detector over every scrubbed text finds nothing (placeholders aside).",
        )
    ],
    description=(
        "normalized_examples with PII in every message (and feedback's original response) replaced by typed "
        "placeholders numbered per conversation (<PERSON_1>, <EMAIL_ADDRESS_2>); `pii_counts` per row."
    ),
)
def scrubbed_examples(context: dg.AssetExecutionContext, project: ProjectResource, normalized_examples: pl.DataFrame):
    keyed = normalized_examples.with_columns(
        __conversation=pl.coalesce("conversation_id", "example_id")
    )  # turns of one logged conversation share placeholder numbers
    allow_list = list(project.params("pii").get("allow_list") or [])
    scanning = progress_logger(context.log.info, f"PII scan of {keyed.height:,} examples")
    scrubbed = scrub(keyed, conversation_key="__conversation", allow_list=allow_list, progress=scanning).drop(
        "__conversation"
    )
    totals = pii_totals(scrubbed)
    write_json_atomically(totals, project.project.metrics_dir / "pii.json")
    yield dg.Output(
        scrubbed,
        metadata={
            "pii_replaced": totals["replaced"],
            "rows_with_pii": totals["rows_with_pii"],
            "pii_by_type": dg.MetadataValue.json(totals["by_type"]),
            **{f"pii/{entity}": count for entity, count in totals["by_type"].items()},
        },
    )
    rescanning = progress_logger(context.log.info, "PII re-scan of the scrubbed texts")
    left = leftover_findings(scrubbed, allow_list, progress=rescanning)  # the one full re-scan of the run
    save_verified(project.project, allow_list, clean_keys(scrubbed, left))
    by_type = left.group_by("entity_type").len().sort("entity_type")
    yield dg.AssetCheckResult(
        check_name="no_pii_left",
        passed=left.height == 0,
        metadata={
            "findings": left.height,
            "by_type": dg.MetadataValue.json(dict(by_type.iter_rows())),
            "examples": dg.MetadataValue.json(left.select("example_id", "field", "entity_type").head(20).to_dicts()),
        },
    )
