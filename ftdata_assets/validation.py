"""Great Expectations suites (expectations/*.json) run on polars frames, reported as Dagster asset checks.

- `load_suite(name)` reads `expectations/<name>.json` into a `gx.ExpectationSuite` (nothing is added to a
  context, so no ids or files appear).
- `validate_frame(frame, suite_name)` validates a flat frame (a view from
  `transforms.validation_views.view`) through a pandas copy and returns a `ValidationOutcome`: what failed,
  with the observed value, the unexpected count and a few unexpected values, and each expectation's severity.
- `validate_layer(layer, frame, **context)` = the layer's view + its suite (`SUITE_FOR_LAYER`).
- `check_result(outcome)` turns an outcome into a `dg.AssetCheckResult`: it fails (severity ERROR, which
  blocks downstream assets of a blocking check) when an `error` expectation failed; `warn` failures (drift:
  source mix, ratios, length distribution) leave it passed with severity WARN, listed in the metadata.
- `profile_suite(layer, frame)` / `python -m ftdata_assets.validation profile <suite> <parquet...>`
  regenerates a suite from a profiled good version (see expectations/README.md).
- `profile_project(root, version=...)` (`ftdata profile`; the first `ftdata release` runs it when no suite has a
  user profile yet) re-observes only the warn-level drift bounds on the current version's layers and records in
  each suite's `meta.profile` the version and the sha256 of the data they came from; `check_result` reports it
  as `warn_bounds_from`.

Each expectation carries `meta: {"severity": "error" | "warn", "why": "..."}`. GX is imported lazily (it
takes seconds to import) and runs on one ephemeral context per process with progress bars off.
"""

import argparse
import functools
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from ftdata_assets.transforms.validation_views import COLUMN_DOCS, combine_splits, view

EXPECTATIONS_DIR = Path(__file__).resolve().parents[1] / "expectations"
SEVERITIES: tuple[str, ...] = ("error", "warn")
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 5}
MAX_TABLE_ROWS = 50

SUITE_FOR_LAYER: dict[str, str] = {
    "raw_production_logs": "raw",
    "raw_synthetic": "raw",
    "raw_expert": "raw",
    "raw_feedback": "raw",
    "raw": "raw",
    "normalized_examples": "normalized_examples",
    "rejects": "rejects",
    "scrubbed_examples": "scrubbed_examples",
    "scored_examples": "scored_examples",
    "deduplicated_examples": "deduplicated_examples",
    "reviewed_examples": "reviewed_examples",
    "splits": "splits",
    "split_summary": "split_summary",
}
"""Which suite validates which asset (every raw_* source shares `raw`; the splits are validated together)."""


# --------------------------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class FailedExpectation:
    expectation_type: str
    column: str | None
    kwargs: dict[str, Any]
    severity: str  # "error" | "warn"
    why: str
    observed: Any = None  # observed_value of aggregate expectations (mean, max, column set...)
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    unexpected_values: list[Any] = field(default_factory=list)
    exception: str | None = None

    def observed_text(self) -> str:
        """What was seen, in one line: the observed value, or 'n of m rows (p%), e.g. [...]', or the error."""
        if self.exception:
            return f"could not evaluate: {self.exception}"
        if self.unexpected_count is not None:
            pct = f" ({self.unexpected_percent:.2f}%)" if self.unexpected_percent is not None else ""
            of = f" of {self.element_count}" if self.element_count is not None else ""
            sample = f", e.g. {json.dumps(self.unexpected_values, default=str)}" if self.unexpected_values else ""
            return f"{self.unexpected_count}{of} rows unexpected{pct}{sample}"
        if self.observed is not None:
            return json.dumps(self.observed, default=str)
        return "failed (no observed value reported)"

    def expected_text(self) -> str:
        skip = {"column", "result_format", "catch_exceptions", "include_config"}
        return ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in sorted(self.kwargs.items()) if k not in skip)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectation_type": self.expectation_type,
            "column": self.column,
            "severity": self.severity,
            "expected": self.expected_text(),
            "observed": self.observed_text(),
            "why": self.why,
        }


@dataclass(frozen=True)
class ValidationOutcome:
    suite_name: str
    success: bool  # every expectation passed
    evaluated: int
    rows: int
    failures: tuple[FailedExpectation, ...]
    seconds: float
    bounds_from: str = ""  # which version the suite's warn bounds were profiled from (`bounds_provenance`)

    @property
    def errors(self) -> tuple[FailedExpectation, ...]:
        return tuple(f for f in self.failures if f.severity == "error")

    @property
    def warnings(self) -> tuple[FailedExpectation, ...]:
        return tuple(f for f in self.failures if f.severity == "warn")

    @property
    def blocking(self) -> bool:
        """An error-level expectation failed: the check fails with severity ERROR."""
        return bool(self.errors)


# ----------------------------------------------------------------------------------------------- suites


def suite_path(name: str, directory: Path | str | None = None) -> Path:
    return Path(directory or EXPECTATIONS_DIR) / f"{name}.json"


def read_suite_json(name: str, directory: Path | str | None = None) -> dict[str, Any]:
    """The suite's JSON, checked: a name, a list of expectations, each with a type and meta.severity/why."""
    path = suite_path(name, directory)
    if not path.exists():
        raise FileNotFoundError(f"no suite {name!r}: {path} does not exist")
    suite = json.loads(path.read_text())
    if suite.get("name") != name:
        raise ValueError(f"{path}: name is {suite.get('name')!r}, expected {name!r} (the file name)")
    for i, expectation in enumerate(suite.get("expectations", [])):
        meta = expectation.get("meta") or {}
        if meta.get("severity") not in SEVERITIES:
            raise ValueError(
                f"{path}: expectation {i} ({expectation.get('type')}) needs meta.severity in {SEVERITIES}, "
                f"got {meta.get('severity')!r}"
            )
        if not meta.get("why"):
            raise ValueError(f"{path}: expectation {i} ({expectation.get('type')}) needs meta.why")
    return suite


def dump_suite(suite: Mapping[str, Any]) -> str:
    """Deterministic JSON: sorted keys, 2-space indent, trailing newline; expectation order is kept."""
    return json.dumps(suite, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_suite(suite: Mapping[str, Any], directory: Path | str | None = None) -> Path:
    path = suite_path(suite["name"], directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(dump_suite(suite))
    tmp.replace(path)
    return path


def load_suite(name: str, directory: Path | str | None = None):
    """The suite `expectations/<name>.json` as a `gx.ExpectationSuite` (cached until the file changes)."""
    path = suite_path(name, directory)
    mtime = path.stat().st_mtime_ns if path.exists() else None
    return _load_suite_cached(str(path), name, str(directory) if directory else None, mtime)


@functools.lru_cache(maxsize=64)
def _load_suite_cached(path: str, name: str, directory: str | None, mtime: int | None):
    gx = _gx()
    data = read_suite_json(name, directory)
    expectations = []
    for position, expectation in enumerate(data["expectations"]):
        # the position lets results (which GX may reorder) be reported in suite order
        expectations.append({**expectation, "meta": {**expectation["meta"], "position": position}})
    return gx.ExpectationSuite(name=data["name"], expectations=expectations, meta=data.get("meta") or {})


# ------------------------------------------------------------------------------------------------ GX


def _gx():
    import great_expectations as gx  # lazy: importing GX takes seconds

    return gx


GX_FINGERPRINT_MAX_BYTES = 0
"""GX's pandas engine md5-hashes every frame under 1 GB (`HASH_THRESHOLD`) into a `pandas_data_fingerprint`
batch marker that nothing here reads: 3.9 s per batch for the 920k-row deduplicated view, two batches per
validation (measured), on the pipeline's critical path. GX 1.24 has no setting for it, so the threshold is
set to this value (0: never hash) when the batch definition is built."""


@functools.cache
def _batch_definition():
    """One ephemeral context per process, progress bars off, one pandas whole-dataframe batch definition."""
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = GX_FINGERPRINT_MAX_BYTES

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("ftdata")
    return source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole_frame")


def _plain(value: Any) -> Any:
    """JSON-friendly: numpy scalars to Python, NaN to None, containers recursively."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _failure(result: Any) -> FailedExpectation:
    config = result.expectation_config
    meta = dict(config.meta or {})
    kwargs = {k: _plain(v) for k, v in dict(config.kwargs).items() if k != "batch_id"}
    res = dict(result.result or {})
    info = result.exception_info or {}
    exception = None
    if info.get("raised_exception"):
        exception = info.get("exception_message")
    else:  # GX may report exceptions per metric
        for value in info.values() if isinstance(info, dict) else []:
            if isinstance(value, dict) and value.get("raised_exception"):
                exception = value.get("exception_message")
                break
    return FailedExpectation(
        expectation_type=config.type,
        column=kwargs.get("column"),
        kwargs=kwargs,
        severity=str(meta.get("severity", "error")),
        why=str(meta.get("why", "")),
        observed=_plain(res.get("observed_value")),
        element_count=res.get("element_count"),
        unexpected_count=res.get("unexpected_count"),
        unexpected_percent=_plain(res.get("unexpected_percent")),
        unexpected_values=_plain(res.get("partial_unexpected_list") or [])[:5],
        exception=exception,
    )


def to_pandas_view(frame: pl.DataFrame):
    """The pandas copy GX validates; nested columns (list/struct) are left out: views keep none."""
    flat = [name for name, dtype in frame.schema.items() if not dtype.is_nested()]
    return frame.select(flat).to_pandas()


def validate_frame(frame: pl.DataFrame, suite_name: str, *, directory: Path | str | None = None) -> ValidationOutcome:
    """Validate a flat polars frame against `expectations/<suite_name>.json`."""
    suite = load_suite(suite_name, directory)
    start = time.perf_counter()
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": to_pandas_view(frame)})
    result = batch.validate(suite, result_format=RESULT_FORMAT)
    failed = [r for r in result.results if not r.success]
    order = {"error": 0, "warn": 1}
    failed.sort(key=lambda r: (order.get(r.expectation_config.meta.get("severity"), 0), _position(r)))
    return ValidationOutcome(
        suite_name=suite_name,
        success=bool(result.success),
        evaluated=len(result.results),
        rows=frame.height,
        failures=tuple(_failure(r) for r in failed),
        seconds=time.perf_counter() - start,
        bounds_from=bounds_provenance(suite.meta),
    )


def _position(result: Any) -> int:
    return int((result.expectation_config.meta or {}).get("position", 0))


def validate_layer(
    layer: str, frame: pl.DataFrame, *, directory: Path | str | None = None, **context
) -> ValidationOutcome:
    """The view of `frame` for `layer`, validated against the layer's suite (SUITE_FOR_LAYER)."""
    suite_name = SUITE_FOR_LAYER.get(layer, layer)
    return validate_frame(view(suite_name, frame, **context), suite_name, directory=directory)


# ------------------------------------------------------------------------------------------- Dagster


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def failures_markdown(outcome: ValidationOutcome) -> str:
    if not outcome.failures:
        return f"All {outcome.evaluated} expectations of `{outcome.suite_name}` passed on {outcome.rows} rows."
    lines = [
        f"**{len(outcome.errors)} error(s), {len(outcome.warnings)} warning(s)** of {outcome.evaluated} "
        f"expectations in suite `{outcome.suite_name}` ({outcome.rows} rows)",
        "",
        "| severity | expectation | column | expected | observed | why |",
        "|---|---|---|---|---|---|",
    ]
    for f in outcome.failures[:MAX_TABLE_ROWS]:
        lines.append(
            f"| {f.severity.upper()} | {_cell(f.expectation_type)} | {_cell(f.column or '')} | "
            f"{_cell(f.expected_text())} | {_cell(f.observed_text())} | {_cell(f.why)} |"
        )
    if len(outcome.failures) > MAX_TABLE_ROWS:
        lines.append(f"\n… and {len(outcome.failures) - MAX_TABLE_ROWS} more (see `failed_expectations`).")
    return "\n".join(lines)


def check_result(
    outcome: ValidationOutcome,
    *,
    asset_key: dg.AssetKey | str | Sequence[str] | None = None,
    check_name: str | None = None,
    warn_fails: bool = False,
) -> dg.AssetCheckResult:
    """The outcome as an asset check result.

    Passed unless an `error` expectation failed; severity ERROR when one did (a blocking check then stops
    downstream assets), else WARN. With `warn_fails`, warn-only failures give passed=False with severity WARN
    (shown as a warning in the UI, never blocking in Dagster; note this project's runner fails on any failed
    check). Metadata: counts, a markdown table of every failure and the same as JSON.
    """
    passed = not outcome.errors and not (warn_fails and outcome.warnings)
    severity = dg.AssetCheckSeverity.ERROR if outcome.errors else dg.AssetCheckSeverity.WARN
    if outcome.errors:
        status = f"failed: {len(outcome.errors)} error(s), {len(outcome.warnings)} warning(s)"
    elif outcome.warnings:
        status = f"passed with {len(outcome.warnings)} warning(s)"
    else:
        status = "passed"
    metadata = {
        "suite": outcome.suite_name,
        "status": status,
        "rows": outcome.rows,
        "expectations_evaluated": outcome.evaluated,
        "failed_errors": len(outcome.errors),
        "failed_warnings": len(outcome.warnings),
        "failures": dg.MetadataValue.md(failures_markdown(outcome)),
        "failed_expectations": dg.MetadataValue.json([f.to_dict() for f in outcome.failures]),
        "validation_seconds": round(outcome.seconds, 3),
        "warn_bounds_from": outcome.bounds_from,
    }
    key = dg.AssetKey.from_coercible(asset_key) if asset_key is not None else None
    return dg.AssetCheckResult(
        passed=passed,
        severity=severity,
        asset_key=key,
        check_name=check_name,
        metadata=metadata,
        description=status,
    )


# ------------------------------------------------------------------------------------------ profiling

_ID_COLUMNS = {"example_id", "conversation_id", "user_id", "source_file", "kept_example_id", "cluster_id"}
_ID_COLUMNS |= {"duplicate_of", "prompt_cluster", "exact_cluster_id", "contract", "oasst_path"}


def _round_out(value: float, up: bool, integer: bool) -> float | int:
    if integer:
        return int(math.ceil(value) if up else math.floor(value))
    scale = 10**4
    return (math.ceil(value * scale) if up else math.floor(value * scale)) / scale


def profile_view(frame: pl.DataFrame, *, margin: float = 0.1, max_set: int = 20) -> list[dict[str, Any]]:
    """Expectations observed on a good view (see expectations/README.md for the rules and their limits)."""
    out: list[dict[str, Any]] = []

    def add(kind: str, column: str | None, severity: str, why: str, **kwargs: Any) -> None:
        kw = {"column": column, **kwargs} if column else kwargs
        out.append({"type": kind, "kwargs": kw, "meta": {"severity": severity, "why": f"profiled: {why}"}})

    add("expect_table_columns_to_match_set", None, "error", "the view's columns", column_set=sorted(frame.columns))
    if "contract" in frame.columns:
        add("expect_column_values_to_be_in_set", "contract", "error", "layer matches its contract", value_set=["ok"])
    for name, dtype in frame.schema.items():
        if name == "contract" or dtype.is_nested():
            continue
        s = frame.get_column(name)
        nulls = s.null_count()
        described = COLUMN_DOCS.get(name, name)
        if frame.height and nulls == 0 and name in {"example_id", "source", "source_file", "source_line", "split"}:
            add("expect_column_values_to_not_be_null", name, "error", f"{described} is always set")
        values = s.drop_nulls()
        if values.is_empty():
            continue
        if dtype == pl.Boolean:
            seen = sorted(set(values.to_list()))
            if len(seen) == 1:
                add(
                    "expect_column_values_to_be_in_set", name, "error", f"{described}: always {seen[0]}", value_set=seen
                )
            else:
                mean = float(values.cast(pl.Float64).mean())
                add(
                    "expect_column_mean_to_be_between",
                    name,
                    "warn",
                    f"share of {described} drifts",
                    min_value=max(0.0, _round_out(mean - margin, False, False)),
                    max_value=min(1.0, _round_out(mean + margin, True, False)),
                )
        elif dtype.is_numeric():
            lo, hi = float(values.min()), float(values.max())
            integer = dtype.is_integer()
            if lo == hi == 0:
                add(
                    "expect_column_values_to_be_between",
                    name,
                    "error",
                    f"{described}: always 0",
                    min_value=0,
                    max_value=0,
                )
                continue
            pad = margin * max(hi - lo, abs(hi), 1e-9)
            add(
                "expect_column_values_to_be_between",
                name,
                "warn",
                f"{described}: observed {lo:g}..{hi:g}, widened by {margin:.0%}",
                min_value=_round_out(max(lo - pad, 0.0) if lo >= 0 else lo - pad, False, integer),
                max_value=_round_out(hi + pad, True, integer),
            )
        elif dtype == pl.String and name not in _ID_COLUMNS:
            distinct = values.unique().sort()
            if distinct.len() <= max_set:
                add(
                    "expect_column_values_to_be_in_set",
                    name,
                    "warn",
                    f"{described}: the {distinct.len()} observed values",
                    value_set=distinct.to_list(),
                )
        if name == "example_id" and frame.height and values.n_unique() == frame.height:
            add("expect_column_values_to_be_unique", name, "error", "example ids are unique")
    return out


def _key(expectation: Mapping[str, Any]) -> tuple[str, str | None]:
    return expectation["type"], expectation.get("kwargs", {}).get("column")


def merge_profile(existing: Mapping[str, Any] | None, profiled: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Existing expectations keep their place, severity and why; a profiled one with the same (type, column)
    replaces only their kwargs; hand-written ones the profiler cannot produce are kept; new ones are appended."""
    by_key = {_key(e): e for e in profiled}
    merged: list[dict[str, Any]] = []
    seen: set[tuple[str, str | None]] = set()
    for old in (existing or {}).get("expectations", []):
        key = _key(old)
        new = by_key.get(key)
        merged.append({**old, "kwargs": new["kwargs"]} if new else old)
        seen.add(key)
    merged += [e for e in profiled if _key(e) not in seen]
    meta = dict((existing or {}).get("meta") or {})
    return {"name": name, "meta": meta, "expectations": merged}


def profile_suite(
    layer: str,
    frame: pl.DataFrame,
    *,
    existing: Mapping[str, Any] | None = None,
    margin: float = 0.1,
    **context,
) -> dict[str, Any]:
    """A suite for `layer` profiled from a good version of it (merged into `existing` when given)."""
    suite_name = SUITE_FOR_LAYER.get(layer, layer)
    profiled = profile_view(view(suite_name, frame, **context), margin=margin)
    return merge_profile(existing, profiled, suite_name)


# ----------------------------------------------------------------------------- warn bounds from the user's data

PROFILE_META_KEY = "profile"
"""The suite's `meta.profile`: where its warn-level bounds came from (`source`, `version`, `data_sha256`, `rows`,
`margin`, `spread`, `updated`). The bundled suites say `source: bundled sample`; `ftdata profile` writes the
user's own. The check's metadata repeats it (`warn_bounds_from`)."""
BUNDLED_SOURCE = "bundled sample"
PARAMS_RELATIVE_COLUMNS = frozenset(
    {"train_share_deviation", "validation_share_deviation", "test_share_deviation", "max_source_gap_train_test"}
)
"""Warn columns whose bounds are tolerances around params.yaml (split.ratios), not a property of the data: they
are never profiled."""

LAYER_FILES: dict[str, tuple[str, ...]] = {
    "raw": ("data/interim/raw_*.parquet", "data/interim/raw_*/*.parquet"),
    "normalized_examples": ("data/interim/normalized_examples.parquet",),
    "rejects": ("data/interim/rejects.parquet",),
    "scrubbed_examples": ("data/interim/scrubbed_examples.parquet",),
    "scored_examples": ("data/interim/scored_examples.parquet",),
    "deduplicated_examples": ("data/interim/deduplicated_examples.parquet",),
    "reviewed_examples": ("data/interim/reviewed_examples.parquet",),
    "split_assignments": ("data/interim/split_assignments.parquet",),
    "splits": ("data/curated/{split}.parquet",),
    "split_summary": ("data/curated/{split}.parquet",),
}
"""Where the current version's layers are, per suite, relative to the project root (data/interim holds the last
run's layers: the runner clears it before a rebuild; the splits are the published curated files)."""


@dataclass(frozen=True)
class ProfiledSuite:
    """One suite after profiling: the new JSON and which warn expectations got new bounds (old -> new)."""

    suite: dict[str, Any]
    changes: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...]
    skipped: tuple[str, ...]


def _label(expectation: Mapping[str, Any]) -> str:
    return f"{expectation['type']}({expectation.get('kwargs', {}).get('column')})"


def _number_bounds(kwargs: dict[str, Any], lo: float, hi: float, integer: bool) -> dict[str, Any]:
    """New kwargs with the bounds the existing expectation has (an upper-only bound stays upper-only)."""
    out = dict(kwargs)
    if "min_value" in kwargs:
        out["min_value"] = _round_out(lo, False, integer)
    if "max_value" in kwargs:
        out["max_value"] = _round_out(hi, True, integer)
    return out


def profiled_warn_kwargs(
    expectation: Mapping[str, Any], frame: pl.DataFrame, *, margin: float = 0.1, spread: float = 0.5
) -> dict[str, Any] | None:
    """New kwargs for one warn expectation observed on a good view, or None when it is not profiled.

    - shares (a boolean column's mean, a `share_*` column): the observed share +- `margin`, within [0, 1];
    - means of numbers: the observed mean / (1 + spread) .. * (1 + spread) (lengths drift by ratios);
    - per-row ranges of numbers (the longest turn, the most messages): the observed max * (1 + spread) and min /
      (1 + spread), never narrower than the existing bound (a domain limit the data can only widen);
    - value sets: the observed values (at most 20);
    - columns that are tolerances around params.yaml (PARAMS_RELATIVE_COLUMNS) and columns the view lacks: None.
    """
    kwargs = dict(expectation.get("kwargs") or {})
    column = kwargs.get("column")
    if column is None or column in PARAMS_RELATIVE_COLUMNS or column not in frame.columns:
        return None
    series = frame.get_column(column).drop_nulls()
    if series.is_empty():
        return None
    kind, dtype = expectation["type"], series.dtype
    is_share = dtype == pl.Boolean or column.startswith("share_")
    if kind in ("expect_column_mean_to_be_between", "expect_column_values_to_be_between") and is_share:
        if kind == "expect_column_values_to_be_between" and not column.startswith("share_"):
            return None  # a boolean's values: a set, not a range
        value = float(series.cast(pl.Float64).mean())
        out = dict(kwargs)
        if "min_value" in kwargs:
            out["min_value"] = max(0.0, _round_out(value - margin, False, False))
            floor = kwargs["min_value"]
            if isinstance(floor, int | float) and 0 < floor <= value:
                out["min_value"] = max(out["min_value"], floor)  # a domain floor the data meets (refusals exist)
        if "max_value" in kwargs:
            out["max_value"] = min(1.0, _round_out(value + margin, True, False))
        return out
    if kind == "expect_column_mean_to_be_between" and dtype.is_numeric():
        mean = float(series.mean())
        return _number_bounds(kwargs, mean / (1 + spread), mean * (1 + spread), False)
    if kind == "expect_column_values_to_be_between" and dtype.is_numeric():
        # a per-row limit (the longest turn, the most messages) is a domain limit the data can only widen:
        # one version's longest chat x 1.5 would make the next version's longer one a false alarm
        integer = dtype.is_integer()
        lo, hi = float(series.min()), float(series.max())
        lo, hi = (lo / (1 + spread) if lo >= 0 else lo * (1 + spread)), hi * (1 + spread)
        if isinstance(kwargs.get("min_value"), int | float):
            lo = min(lo, kwargs["min_value"])
        if isinstance(kwargs.get("max_value"), int | float):
            hi = max(hi, kwargs["max_value"])
        return _number_bounds(kwargs, lo, hi, integer)
    if kind == "expect_column_values_to_be_in_set":
        distinct = series.unique().sort()
        return {**kwargs, "value_set": distinct.to_list()} if distinct.len() <= 20 else None
    return None


def profile_warn_bounds(
    existing: Mapping[str, Any],
    frame: pl.DataFrame,
    provenance: Mapping[str, Any],
    *,
    margin: float = 0.1,
    spread: float = 0.5,
) -> ProfiledSuite:
    """The suite with every warn-level bound re-observed on `frame` (the suite's flat view of a good version);
    error expectations, their order, severity and why are untouched, nothing is added. `meta.profile` records
    `provenance` (source, version, data digest) with the margins and the updated expectations."""
    expectations, changes, skipped = [], [], []
    for expectation in existing.get("expectations", []):
        new = expectation
        if (expectation.get("meta") or {}).get("severity") == "warn":
            kwargs = profiled_warn_kwargs(expectation, frame, margin=margin, spread=spread)
            if kwargs is None:
                skipped.append(_label(expectation))
            elif kwargs != expectation.get("kwargs"):
                changes.append((_label(expectation), dict(expectation.get("kwargs") or {}), kwargs))
                new = {**expectation, "kwargs": kwargs}
        expectations.append(new)
    meta = dict(existing.get("meta") or {})
    meta[PROFILE_META_KEY] = {
        **provenance,
        "rows": frame.height,
        "margin": margin,
        "spread": spread,
        "not_profiled": sorted(skipped),
    }
    suite = {**existing, "meta": meta, "expectations": expectations}
    return ProfiledSuite(suite, tuple(changes), tuple(skipped))


def layer_paths(root: Path, suite_name: str) -> list[Path]:
    """The current version's Parquet files of a suite's layer (LAYER_FILES), sorted; [] when absent."""
    paths: list[Path] = []
    for pattern in LAYER_FILES.get(suite_name, ()):
        if "{split}" in pattern:
            found = [root / pattern.format(split=split) for split in ("train", "validation", "test")]
            paths += found if all(p.is_file() for p in found) else []
        else:
            paths += sorted(p for p in root.glob(pattern) if p.is_file())
    return paths


def data_digest(root: Path, paths: Sequence[Path]) -> str:
    """sha256 over (relative path, sha256 of the bytes) of each file: the same data, the same digest."""
    import hashlib

    outer = hashlib.sha256()
    for path in sorted(paths):
        inner = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(2**20), b""):
                inner.update(block)
        outer.update(f"{path.relative_to(root).as_posix()}\0{inner.hexdigest()}\n".encode())
    return outer.hexdigest()


def user_profile_exists(directory: Path | str | None = None) -> bool:
    """Whether any suite's warn bounds were already profiled from the user's data (not the bundled sample)."""
    for path in sorted(Path(directory or EXPECTATIONS_DIR).glob("*.json")):
        profile = (json.loads(path.read_text()).get("meta") or {}).get(PROFILE_META_KEY) or {}
        if profile and profile.get("source") != BUNDLED_SOURCE:
            return True
    return False


def profile_project(
    root: Path,
    *,
    version: str,
    context: Mapping[str, Any],
    directory: Path | str | None = None,
    margin: float = 0.1,
    spread: float = 0.5,
    write: bool = True,
) -> dict[str, ProfiledSuite]:
    """Every suite's warn bounds profiled from the project's current version (LAYER_FILES) and, with `write`,
    written back (stable JSON). Suites whose layer has no file are left as they are (not in the result)."""
    directory = Path(directory or root / "expectations")
    results: dict[str, ProfiledSuite] = {}
    for suite_name in sorted(LAYER_FILES):
        paths = layer_paths(root, suite_name)
        if not paths or not suite_path(suite_name, directory).exists():
            continue
        if suite_name in ("splits", "split_summary"):
            frame = _read_layer(suite_name, paths)
        else:  # partitions of one layer (raw_* days and batches) may differ in null-only columns
            frame = pl.concat([pl.read_parquet(p) for p in paths], how="diagonal_relaxed")
        provenance = {
            "source": "user data: " + ", ".join(sorted({p.parent.relative_to(root).as_posix() for p in paths})),
            "version": version,
            "data_sha256": data_digest(root, paths),
            "files": len(paths),
        }
        flat = view(suite_name, frame, **context)
        result = profile_warn_bounds(
            read_suite_json(suite_name, directory), flat, provenance, margin=margin, spread=spread
        )
        results[suite_name] = result
        if write:
            write_suite(result.suite, directory)
    return results


def bounds_provenance(meta: Mapping[str, Any] | None) -> str:
    """One line for the check's metadata: which version the warn bounds were profiled from."""
    profile = (meta or {}).get(PROFILE_META_KEY) or {}
    if not profile:
        return "not recorded (hand-written bounds)"
    digest = str(profile.get("data_sha256", ""))[:12]
    return f"{profile.get('source')}, version {profile.get('version')}" + (f", data sha256 {digest}" if digest else "")


# ------------------------------------------------------------------------------------------------- CLI


def _read_layer(suite_name: str, paths: Sequence[Path]) -> pl.DataFrame:
    if suite_name in ("splits", "split_summary"):
        by_stem = {p.name.split(".")[0]: pl.read_parquet(p) for p in paths}
        missing = {"train", "validation", "test"} - set(by_stem)
        if missing:
            raise SystemExit(f"{suite_name} needs train/validation/test Parquet files; missing {sorted(missing)}")
        return combine_splits(by_stem["train"], by_stem["validation"], by_stem["test"])
    return pl.concat([pl.read_parquet(p) for p in paths], how="vertical")


def _context(params_path: Path) -> dict[str, Any]:
    import yaml

    from ftdata_assets.transforms.pii import PiiSettings

    params = yaml.safe_load(params_path.read_text()) if params_path.exists() else {}
    settings = PiiSettings.from_params(params.get("pii"))  # a bad `pii:` section fails here, clearly
    return {
        "allow_list": list(settings.allow_list),
        "pii_settings": settings,
        "ratios": (params.get("split") or {}).get("ratios"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftdata_assets.validation", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("validate", "profile"):
        p = sub.add_parser(command)
        p.add_argument("suite", help="suite (or layer) name, e.g. scored_examples, raw, splits")
        p.add_argument("parquet", nargs="+", type=Path, help="the layer's Parquet file(s)")
        p.add_argument("--dir", type=Path, default=EXPECTATIONS_DIR, help="expectations directory")
        p.add_argument("--params", type=Path, default=Path("params.yaml"), help="for pii.allow_list, split.ratios")
    prof = sub.choices["profile"]
    prof.add_argument("--margin", type=float, default=0.1, help="widen observed numeric ranges by this share")
    prof.add_argument("--fresh", action="store_true", help="ignore the existing suite instead of merging")
    prof.add_argument("--out", type=Path, help="write to this directory instead of --dir")
    args = parser.parse_args(argv)
    suite_name = SUITE_FOR_LAYER.get(args.suite, args.suite)
    frame = _read_layer(suite_name, args.parquet)
    context = _context(args.params)
    if args.command == "validate":
        outcome = validate_layer(suite_name, frame, directory=args.dir, **context)
        print(failures_markdown(outcome))
        print(f"\n{outcome.evaluated} expectations, {outcome.rows} rows, {outcome.seconds:.2f} s")
        return 1 if outcome.blocking else 0
    existing = None
    if not args.fresh and suite_path(suite_name, args.dir).exists():
        existing = read_suite_json(suite_name, args.dir)
    suite = profile_suite(suite_name, frame, existing=existing, margin=args.margin, **context)
    path = write_suite(suite, args.out or args.dir)
    print(f"wrote {path} ({len(suite['expectations'])} expectations); review the diff before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
