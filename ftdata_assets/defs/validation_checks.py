"""Blocking Great Expectations checks on every layer, built from the suites in `expectations/`.

One check per layer asset (`<asset>_expectations`): error-level expectations block the downstream assets,
warn-level ones (drift) show as a failed WARN check and never block. The raw assets validate inside their own
materialization (they are partitioned); the splits are validated together, with the `splits` and
`split_summary` suites, on the `test` asset.
"""

import inspect

import dagster as dg
import polars as pl

from ftdata_assets.defs.pii_verified import load_verified
from ftdata_assets.defs.resources import ProjectResource
from ftdata_assets.transforms.pii import PiiSettings
from ftdata_assets.transforms.settings import SplitConfig
from ftdata_assets.transforms.validation_views import combine_splits, view
from ftdata_assets.validation import ValidationOutcome, check_result, validate_frame, validate_layer

VALIDATED_LAYERS: tuple[str, ...] = (  # the partitioned raw assets validate inside their materialization
    "normalized_examples",
    "ingest_rejects",
    "scrubbed_examples",
    "scored_examples",
    "deduplicated_examples",
    "reviewed_examples",
    "split_assignments",
    "rejects",
    "raw_expert",
    "raw_feedback",
)
READS_PII_VERIFIED: frozenset[str] = frozenset(
    {"scrubbed_examples", "scored_examples", "deduplicated_examples", "reviewed_examples"}
)
"""Layers whose views re-scan the texts for PII, skipping those in the `pii_verified` file: their checks depend
on that asset (the layers upstream of scrubbing must not: it is downstream of them)."""
PII_VERIFIED = "pii_verified"
SUITE_OF_ASSET = {
    "ingest_rejects": "rejects",
    "raw_expert": "raw",
    "raw_feedback": "raw",
    "raw_production_logs": "raw",
    "raw_synthetic": "raw",
}


def layer_context(project: ProjectResource, *, with_verified: bool = True) -> dict:
    """What the views need: the PII allow-list from params.yaml (so brand names are not leftover people), the
    whole PII settings (allow-list + recognizer registry, `pii_settings`), and, `with_verified`, the texts
    `no_pii_left` already found clean under those settings (so only new or edited texts are re-scanned)."""
    settings = PiiSettings.from_params(project.params("pii"))
    return {
        "allow_list": list(settings.allow_list),
        "pii_settings": settings,
        "verified": load_verified(project.project, settings) if with_verified else None,
    }


def validate_asset(project: ProjectResource, asset: str, frame: pl.DataFrame) -> dg.AssetCheckResult:
    suite = SUITE_OF_ASSET.get(asset, asset)
    context = layer_context(project, with_verified=asset in READS_PII_VERIFIED)
    outcome = validate_layer(suite, frame, directory=project.project.root / "expectations", **context)
    return check_result(outcome, asset_key=asset, check_name=f"{asset}_expectations", warn_fails=True)


def expectations_check(asset: str) -> dg.AssetChecksDefinition:
    """`<asset>_expectations`: the asset's value validated against its suite. The function's parameter is
    named after the asset (that is how Dagster loads a checked asset), hence the explicit signature."""

    def _check(project: ProjectResource, **inputs: pl.DataFrame) -> dg.AssetCheckResult:
        return validate_asset(project, asset, inputs[asset])

    _check.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("project", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=ProjectResource),
            inspect.Parameter(asset, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=pl.DataFrame),
        ]
    )
    _check.__name__ = f"{asset}_expectations"
    return dg.asset_check(
        asset=asset,
        name=f"{asset}_expectations",
        blocking=True,
        additional_deps=[PII_VERIFIED] if asset in READS_PII_VERIFIED else None,
        description=f"expectations/{SUITE_OF_ASSET.get(asset, asset)}.json on a flat view of {asset}; "
        "error-level failures block downstream assets, warn-level ones (drift) only warn.",
    )(_check)


layer_checks = [expectations_check(asset) for asset in VALIDATED_LAYERS]


@dg.asset_check(
    asset="test",
    name="splits_expectations",
    blocking=True,
    additional_ins={"train": dg.AssetIn(), "validation": dg.AssetIn()},
    additional_deps=[PII_VERIFIED],  # the no-PII expectation skips the texts no_pii_left verified
    description=(
        "expectations/splits.json on the three splits together (contract, ids unique across splits, one "
        "conversation per split, no PII) and expectations/split_summary.json (ratios within tolerance of "
        "split.ratios, source mix within bounds: warn-level)."
    ),
)
def splits_expectations(
    project: ProjectResource, train: pl.DataFrame, validation: pl.DataFrame, test: pl.DataFrame
) -> dg.AssetCheckResult:
    directory = project.project.root / "expectations"
    combined = combine_splits(train, validation, test)
    context = {**layer_context(project), "ratios": project.settings(SplitConfig).ratio_dict()}
    splits = validate_frame(view("splits", combined, **context), "splits", directory=directory)
    summary = validate_frame(view("split_summary", combined, **context), "split_summary", directory=directory)
    return merged_result([splits, summary], "test", "splits_expectations")


def merged_result(outcomes: list[ValidationOutcome], asset: str, check_name: str) -> dg.AssetCheckResult:
    """One check result from several suites: the worst status wins, every suite's metadata is kept."""
    results = [check_result(o, asset_key=asset, check_name=check_name, warn_fails=True) for o in outcomes]
    failed_errors = [r for r in results if not r.passed and r.severity == dg.AssetCheckSeverity.ERROR]
    worst = failed_errors[0] if failed_errors else next((r for r in results if not r.passed), results[0])
    metadata = {}
    for outcome, result in zip(outcomes, results, strict=True):
        metadata.update({f"{outcome.suite_name}/{key}": value for key, value in (result.metadata or {}).items()})
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=check_name,
        passed=all(r.passed for r in results),
        severity=worst.severity,
        metadata=metadata,
    )


def raw_check_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        f"{asset}_expectations",
        asset=asset,
        blocking=True,
        description="expectations/raw.json on this partition's rows (contract, reason codes, roles, line ids).",
    )
