"""scrubbed_examples: every family's scrubbed partitions in one frame (rowlocal_assets.py scrubs them), with
a blocking check that the union holds no PII. The same step writes two files, each its own asset:
`pii_metrics` (data/metrics/pii.json, a DVC metric) and `pii_verified` (the keys of the texts the re-scans
found clean, which later layers' checks read)."""

import time
from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from ftdata_assets.defs.families import family_inputs, in_family_order
from ftdata_assets.defs.io import declared_files, write_json_atomically
from ftdata_assets.defs.pii_verified import VERIFIED_FILES, save_verified
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.transforms.pii import PiiSettings
from ftdata_assets.transforms.pii_crosscheck import crosscheck_findings, enabled_types, review_examples
from ftdata_assets.transforms.pii_report import VERIFIED_SCHEMA, leftover_findings, pii_totals

PII_METRICS_FILE = "data/metrics/pii.json"


def second_opinion(
    context: dg.AssetExecutionContext,
    scrubbed: pl.DataFrame,
    pii_params: Mapping[str, Any] | None,
    settings: PiiSettings,
    verified: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`pii_crosscheck` (phonenumbers, stdnum) over the scrubbed texts not in `verified`."""
    started = time.perf_counter()
    found = crosscheck_findings(
        scrubbed, list(settings.allow_list), enabled_types=enabled_types(pii_params), verified=verified
    )
    context.log.info(f"PII second opinion: {found.height} finding(s) in {time.perf_counter() - started:.1f}s")
    return found


def no_pii_left_check(
    asset: str,
    scrubbed: pl.DataFrame,
    left: pl.DataFrame,
    second: pl.DataFrame,
    pii_params: Mapping[str, Any] | None,
    verified_rows: int | None = None,
) -> dg.AssetCheckResult:
    """`no_pii_left`: the re-scan's findings (`left`) plus the independent second opinion's (`second`), so a
    format the scrub's detector does not know still blocks the release; examples shown, values masked."""
    both = pl.concat(
        [
            left.select("example_id", "field", "entity_type", detector=pl.lit("rescan:pii.detect")),
            second.select(
                "example_id", "field", "entity_type", detector=pl.lit("second_opinion:") + pl.col("detector")
            ),
        ]
    )
    examples = [
        *review_examples(scrubbed, left, detector="rescan:pii.detect", limit=10),
        *review_examples(
            scrubbed, second.with_columns(detector=pl.lit("second_opinion:") + pl.col("detector")), limit=10
        ),
    ]
    metadata: dict[str, Any] = {
        "findings": both.height,
        "rescan_findings": left.height,
        "second_opinion_findings": second.height,
        "second_opinion_types": dg.MetadataValue.json(sorted(enabled_types(pii_params))),
        "by_type": dg.MetadataValue.json(dict(both.group_by("entity_type").len().sort("entity_type").iter_rows())),
        "by_detector": dg.MetadataValue.json(dict(both.group_by("detector").len().sort("detector").iter_rows())),
        "examples": dg.MetadataValue.json(examples),
    }
    if verified_rows is not None:
        metadata["texts_verified_by_partitions"] = verified_rows
    return dg.AssetCheckResult(check_name="no_pii_left", asset_key=asset, passed=both.height == 0, metadata=metadata)


@dg.multi_asset(
    group_name="curate",
    ins=family_inputs("scrubbed") | family_inputs("verified"),
    outs={
        "scrubbed_examples": dg.AssetOut(
            kinds={"polars", "parquet"},
            description=(
                "Every family's scrubbed partitions (expert, feedback, log days, synthetic batches, in that "
                "order): PII in every message (and feedback's original response) replaced by typed placeholders "
                "numbered per conversation (<PERSON_1>, <EMAIL_ADDRESS_2>); `pii_counts` per row."
            ),
        ),
        "pii_metrics": dg.AssetOut(
            kinds={"json"},
            dagster_type=dg.Nothing,
            metadata=declared_files(PII_METRICS_FILE),
            description=f"{PII_METRICS_FILE} (DVC metric): placeholders inserted, rows with PII, counts per type.",
        ),
        "pii_verified": dg.AssetOut(
            kinds={"parquet"},
            dagster_type=dg.Nothing,
            metadata=declared_files(VERIFIED_FILES),
            description=(
                "The keys of the scrubbed texts that the partitions' re-scans and second opinions found clean, per "
                "detector fingerprint: the later layers' PII checks skip them (and re-scan everything else)."
            ),
        ),
    },
    check_specs=[
        dg.AssetCheckSpec(
            "no_pii_left",
            asset="scrubbed_examples",
            blocking=True,
            description=(
                "Every text is one a partition's re-scan and second opinion found clean, or a re-scan and an "
                "independent second opinion (phonenumbers, stdnum: phones, cards, IBANs, e-mails) of it find "
                "nothing (placeholders aside)."
            ),
        )
    ],
)
def scrubbed_examples(context: dg.AssetExecutionContext, project: ProjectResource, **families: Any):
    scrubbed = pl.concat(in_family_order(families, "scrubbed"), how="vertical")
    verified = (
        pl.concat(
            [frame.cast(VERIFIED_SCHEMA) for frame in in_family_order(families, "verified")],
            how="vertical",
        )
        .unique()
        .sort(["k0", "k1"])
    )
    totals = pii_totals(scrubbed)
    metrics_path = project.project.root / PII_METRICS_FILE
    write_json_atomically(totals, metrics_path)
    yield dg.Output(
        scrubbed,
        output_name="scrubbed_examples",
        metadata={
            "pii_replaced": totals["replaced"],
            "rows_with_pii": totals["rows_with_pii"],
            "pii_by_type": dg.MetadataValue.json(totals["by_type"]),
            **{f"pii/{entity}": count for entity, count in totals["by_type"].items()},
            "params_digest": project.params_digest,
        },
    )
    yield dg.Output(None, output_name="pii_metrics", metadata={"path": dg.MetadataValue.path(str(metrics_path))})
    pii_params = project.params("pii")
    settings = PiiSettings.from_params(pii_params)  # the partitions' settings: their code version includes it
    # only what no partition verified is scanned again: a partition's findings (the check fails again), or a
    # text of a partition scrubbed under other settings
    left = leftover_findings(scrubbed, settings, verified=verified)
    second = second_opinion(context, scrubbed, pii_params, settings, verified=verified)
    path = save_verified(project.project, settings, verified)
    yield dg.Output(
        None, output_name="pii_verified", metadata={"rows": verified.height, "path": dg.MetadataValue.path(str(path))}
    )
    yield no_pii_left_check("scrubbed_examples", scrubbed, left, second, pii_params, verified_rows=verified.height)
