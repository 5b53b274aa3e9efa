"""scrubbed_examples: PII replaced by typed, per-conversation placeholders, with a blocking re-scan and second
opinion. The same step writes two files, each its own asset: `pii_metrics` (data/metrics/pii.json, a DVC
metric) and `pii_verified` (the keys of the texts the re-scan found clean, which later layers' checks read)."""

import time
from collections.abc import Iterator

import dagster as dg
import polars as pl

from ftdata_assets.defs.io import declared_files, write_json_atomically
from ftdata_assets.defs.pii_verified import VERIFIED_FILES, save_verified
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.progress import progress_logger
from ftdata_assets.transforms.pii import PiiSettings, scrub
from ftdata_assets.transforms.pii_crosscheck import crosscheck_findings, enabled_types, review_examples
from ftdata_assets.transforms.pii_report import clean_keys, leftover_findings, pii_totals

PII_METRICS_FILE = "data/metrics/pii.json"


@dg.multi_asset(
    group_name="curate",
    outs={
        "scrubbed_examples": dg.AssetOut(
            kinds={"polars", "parquet"},
            description=(
                "normalized_examples with PII in every message (and feedback's original response) replaced by "
                "typed placeholders numbered per conversation (<PERSON_1>, <EMAIL_ADDRESS_2>); `pii_counts` per row."
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
                "The keys of the scrubbed texts that no_pii_left's re-scan and second opinion found clean, per "
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
                "Re-running the detector over every scrubbed text, and an independent second opinion "
                "(phonenumbers, stdnum: phones, cards, IBANs, e-mails), find nothing (placeholders aside)."
            ),
        )
    ],
)
def scrubbed_examples(context: dg.AssetExecutionContext, project: ProjectResource, normalized_examples: pl.DataFrame):
    keyed = normalized_examples.with_columns(
        __conversation=pl.coalesce("conversation_id", "example_id")
    )  # turns of one logged conversation share placeholder numbers
    settings = PiiSettings.from_params(project.params("pii"))  # allow-list + recognizer registry, validated
    scanning = progress_logger(context.log.info, f"PII scan of {keyed.height:,} examples")
    scrubbed = scrub(keyed, conversation_key="__conversation", settings=settings, progress=scanning).drop(
        "__conversation"
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
    rescanning = progress_logger(context.log.info, "PII re-scan of the scrubbed texts")
    left = leftover_findings(scrubbed, settings, progress=rescanning)  # the one full re-scan of the run
    yield from no_pii_left_result(context, project, scrubbed, left)


def no_pii_left_result(
    context: dg.AssetExecutionContext, project: ProjectResource, scrubbed: pl.DataFrame, left: pl.DataFrame
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """`no_pii_left`: the re-scan's findings (`left`) plus an independent second opinion (`pii_crosscheck`:
    phonenumbers, stdnum), so a format the scrub's detector does not know still blocks the release. Texts
    either detector flags are kept out of the verified-clean set the later checks rely on (`pii_verified`,
    yielded before the check result)."""
    pii_params = project.params("pii")
    settings = PiiSettings.from_params(pii_params)  # what the re-scan ran under: the verified set's key
    allow_list = list(settings.allow_list)
    types = enabled_types(pii_params)
    started = time.perf_counter()
    second = crosscheck_findings(scrubbed, allow_list, enabled_types=types)
    context.log.info(f"PII second opinion: {second.height} finding(s) in {time.perf_counter() - started:.1f}s")
    clean = clean_keys(scrubbed, pl.concat([left.select("row"), second.select("row")]))
    path = save_verified(project.project, settings, clean)
    yield dg.Output(
        None, output_name="pii_verified", metadata={"rows": clean.height, "path": dg.MetadataValue.path(str(path))}
    )
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
    yield dg.AssetCheckResult(
        check_name="no_pii_left",
        passed=both.height == 0,
        metadata={
            "findings": both.height,
            "rescan_findings": left.height,
            "second_opinion_findings": second.height,
            "second_opinion_types": dg.MetadataValue.json(sorted(types)),
            "by_type": dg.MetadataValue.json(dict(both.group_by("entity_type").len().sort("entity_type").iter_rows())),
            "by_detector": dg.MetadataValue.json(dict(both.group_by("detector").len().sort("detector").iter_rows())),
            "examples": dg.MetadataValue.json(examples),
        },
    )
