"""Provenance policy: which teacher models and licenses a dataset may be trained on, and what counts as stale.

Pure module (no Dagster). `apply_policy(examples, policy)` takes the canonical examples frame (the
`schema.EXAMPLE_SCHEMA` columns; it may already carry `drop_reason` and `tags` from the quality step) and
returns it, same rows in the same order, with:

- `drop_reason` (String, null = keep): `disallowed_teacher_model` or `disallowed_license` where the row violates
  the policy. A policy violation takes precedence over an existing quality reason: a row we may not legally
  train on is counted under the policy reason (its `policy_detail` ends with "; also dropped as <that
  reason>"). A row violating both rules gets `disallowed_teacher_model` (the detail lists both).
- `policy_detail` (String): why, e.g. "teacher model 'foo-1' is not in policy.teacher_models"; null when the
  row does not violate the policy.
- `tags` (List(String), sorted, unique): `stale` added for rows created before `stale_before`. A null
  `created_at` is never stale; a row created exactly at `stale_before` is not stale. Stale rows are kept.

`drop_reason` / `tags` are created (null / empty lists) when absent. The policy is applied once, to the quality
step's output: a frame that already has `policy_detail` raises ValueError, because re-applying could not
restore a quality reason the first pass overrode (a relaxed policy would then wrongly keep the row).

The rules (params.yaml `policy:` section, read by `ProvenancePolicy.from_params`):
- `teacher_models`: allow-list for SYNTHETIC rows. A synthetic row whose `teacher_model` is missing (null or
  blank) or not listed is `disallowed_teacher_model`. Rows of other sources are not checked (a log row's
  model is the product's own model, not a teacher). Compared trimmed and case-insensitively.
- `licenses`: allow-list of SPDX ids for rows of ANY source. A row whose `license` is set and not listed is
  `disallowed_license`. Compared case-insensitively after trimming, with runs of spaces/underscores read
  as one hyphen, so "CC BY 4.0", "cc_by_4.0" and "CC-BY-4.0" are the same id. A null or blank license is
  allowed unless the row's source is in `require_license_for`.
- `require_license_for`: sources whose rows must carry a listed license (null license -> `disallowed_license`).
- `stale_before`: an ISO date or timestamp (naive = UTC; an unquoted YAML date works too); rows created
  before it are tagged `stale`. Staleness is a tag for the data card and for review, never a drop reason.

Null and empty, deliberately different: `null` DISABLES a check; `[]` allows NOTHING (every synthetic row, or
every row with a license, is rejected). `teacher_models` and `licenses` must be written explicitly (disabling a
check takes an explicit `null`); `require_license_for` (null or [] = none) and `stale_before` (null = no
stale tagging) may be omitted. Unknown keys and wrong types raise ValueError naming the key, so a typo can
never silently disable a policy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ftdata_assets.schema import SOURCES, ReasonCode

__all__ = [
    "POLICY_REASONS",
    "STALE_TAG",
    "ProvenancePolicy",
    "apply_policy",
    "normalize_license",
    "normalize_teacher_model",
    "policy_summary",
]

STALE_TAG = "stale"
POLICY_REASONS: tuple[str, ...] = (ReasonCode.DISALLOWED_TEACHER_MODEL, ReasonCode.DISALLOWED_LICENSE)
"""The drop reasons this module sets, in precedence order."""

REQUIRED_KEYS: tuple[str, ...] = ("teacher_models", "licenses")
OPTIONAL_KEYS: tuple[str, ...] = ("require_license_for", "stale_before")
REQUIRED_COLUMNS: tuple[str, ...] = ("source", "teacher_model", "license", "created_at")
MISSING_VALUE = "(missing)"
"""Key used by `policy_summary` for a violation whose teacher model / license is null."""

_TAGS = pl.List(pl.String)


# ------------------------------------------------------------------------------------------- normalization


def _teacher_key(expr: pl.Expr) -> pl.Expr:
    """Trimmed, lower-cased teacher model name; blank -> null."""
    key = expr.str.strip_chars().str.to_lowercase()
    return pl.when(key == "").then(None).otherwise(key)


def _license_key(expr: pl.Expr) -> pl.Expr:
    """SPDX-ish license key: trimmed, spaces/underscores -> one hyphen, lower-cased; blank -> null."""
    key = expr.str.strip_chars().str.replace_all(r"[\s_]+", "-").str.replace_all(r"-{2,}", "-").str.to_lowercase()
    return pl.when(key == "").then(None).otherwise(key)


def _keys(values: Sequence[str], key: Any) -> list[str | None]:
    # The allow-lists go through the very expression applied to the data, so both sides always agree.
    return (
        pl.DataFrame({"v": pl.Series(list(values), dtype=pl.String)}).select(key(pl.col("v")).alias("v"))["v"].to_list()
    )


def normalize_teacher_model(name: str) -> str | None:
    """How a teacher model name is compared: `normalize_teacher_model(" GPT-4o ") == "gpt-4o"`."""
    return _keys([name], _teacher_key)[0]


def normalize_license(name: str) -> str | None:
    """How a license is compared: `normalize_license("CC BY 4.0") == normalize_license("cc-by-4.0")`."""
    return _keys([name], _license_key)[0]


# ------------------------------------------------------------------------------------------------- policy


def _string_list(key: str, value: Any, *, nullable: bool) -> tuple[str, ...] | None:
    if value is None:
        if nullable:
            return None
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        what = "a list of strings or null" if nullable else "a list of strings"
        raise ValueError(f"policy.{key} must be {what}, not {type(value).__name__} {value!r}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(f"policy.{key}[{i}] must be a string, not {type(item).__name__} {item!r}")
        if not item.strip():
            raise ValueError(f"policy.{key}[{i}] is blank")
        out.append(item)
    return tuple(out)


def _timestamp(key: str, value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"policy.{key} must be an ISO date or timestamp, not {value!r}") from None
    elif isinstance(value, dt.datetime):
        pass
    elif isinstance(value, dt.date):  # an unquoted YAML date
        value = dt.datetime(value.year, value.month, value.day)
    else:
        raise ValueError(f"policy.{key} must be an ISO date or timestamp or null, not {type(value).__name__} {value!r}")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclass(frozen=True)
class ProvenancePolicy:
    """The `policy:` section of params.yaml (same names); see the module docstring for the rules.

    `teacher_models` / `licenses`: None disables the check, () allows nothing. Lists become tuples and
    `stale_before` becomes a UTC datetime on construction; invalid values raise ValueError.
    """

    teacher_models: tuple[str, ...] | None
    licenses: tuple[str, ...] | None
    require_license_for: tuple[str, ...] = ()
    stale_before: dt.datetime | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "teacher_models", _string_list("teacher_models", self.teacher_models, nullable=True))
        set_(self, "licenses", _string_list("licenses", self.licenses, nullable=True))
        require = _string_list("require_license_for", self.require_license_for, nullable=False) or ()
        unknown = sorted(set(require) - set(SOURCES))
        if unknown:
            raise ValueError(f"policy.require_license_for: unknown source(s) {unknown}; expected some of {SOURCES}")
        if require and self.licenses is None:
            raise ValueError(
                "policy.require_license_for needs policy.licenses: rows cannot carry a listed license when the "
                "license check is disabled (null)"
            )
        set_(self, "require_license_for", require)
        set_(self, "stale_before", _timestamp("stale_before", self.stale_before))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ProvenancePolicy:
        """From the `policy:` mapping of params.yaml (or the whole params, if it has a `policy` key)."""
        if isinstance(params, Mapping) and isinstance(params.get("policy"), Mapping):
            params = params["policy"]
        if not isinstance(params, Mapping):
            raise ValueError(f"policy must be a mapping, not {type(params).__name__} {params!r}")
        known = (*REQUIRED_KEYS, *OPTIONAL_KEYS)
        unknown = sorted(str(k) for k in params if k not in known)
        if unknown:
            raise ValueError(f"unknown policy parameter(s) {unknown}; expected some of {list(known)}")
        for key in REQUIRED_KEYS:
            if key not in params:
                raise ValueError(
                    f"policy.{key} is missing: list the allowed values, or write null to disable the check"
                )
        return cls(**params)

    @property
    def teacher_keys(self) -> list[str] | None:
        return None if self.teacher_models is None else _keys(self.teacher_models, _teacher_key)

    @property
    def license_keys(self) -> list[str] | None:
        return None if self.licenses is None else _keys(self.licenses, _license_key)


# ------------------------------------------------------------------------------------------------- apply


def _created_at_utc(frame: pl.DataFrame) -> pl.Expr:
    dtype = frame.schema["created_at"]
    col = pl.col("created_at")
    if isinstance(dtype, pl.Datetime):
        return col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col.dt.convert_time_zone("UTC")
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if dtype == pl.Null:
        return pl.lit(None, pl.Datetime("us", "UTC"))
    raise ValueError(f"created_at must be a Datetime or Date column, not {dtype}")


def _violations(policy: ProvenancePolicy) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """(reason, violates, detail) per enabled check, in precedence order."""
    out: list[tuple[str, pl.Expr, pl.Expr]] = []
    source = pl.col("source")
    if policy.teacher_models is not None:
        teacher = pl.col("teacher_model")
        key = _teacher_key(teacher)
        allowed = pl.Series(policy.teacher_keys, dtype=pl.String)
        violates = (source == "synthetic").fill_null(False) & (key.is_null() | ~key.is_in(allowed).fill_null(False))
        detail = (
            pl.when(key.is_null())
            .then(pl.lit("synthetic row has no teacher_model; policy.teacher_models requires a listed one"))
            .otherwise(pl.format("teacher model '{}' is not in policy.teacher_models", teacher))
        )
        out.append((ReasonCode.DISALLOWED_TEACHER_MODEL, violates, detail))
    if policy.licenses is not None:
        license_ = pl.col("license")
        key = _license_key(license_)
        allowed = pl.Series(policy.license_keys, dtype=pl.String)
        required = source.is_in(pl.Series(policy.require_license_for, dtype=pl.String)).fill_null(False)
        violates = pl.when(key.is_null()).then(required).otherwise(~key.is_in(allowed).fill_null(False))
        detail = (
            pl.when(key.is_null())
            .then(pl.format("{} rows must carry a license from policy.licenses (policy.require_license_for)", source))
            .otherwise(pl.format("license '{}' is not in policy.licenses", license_))
        )
        out.append((ReasonCode.DISALLOWED_LICENSE, violates, detail))
    return out


def apply_policy(examples: pl.DataFrame, policy: ProvenancePolicy) -> pl.DataFrame:
    """The examples, same rows and order, with `drop_reason`, `policy_detail` and `tags` (module docstring)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in examples.columns]
    if missing:
        raise ValueError(f"apply_policy needs the column(s) {missing}")
    if "policy_detail" in examples.columns:
        raise ValueError("the frame already has policy_detail: apply_policy runs once, on the quality step's output")
    frame = examples
    if "drop_reason" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("drop_reason"))
    if "tags" not in frame.columns:
        frame = frame.with_columns(pl.lit([], _TAGS).alias("tags"))

    base_reason = pl.col("drop_reason")
    checks = _violations(policy)
    reason: pl.Expr = pl.lit(None, pl.String)
    for code, violates, _ in reversed(checks):
        reason = pl.when(violates).then(pl.lit(code)).otherwise(reason)
    details = [pl.when(violates).then(detail).otherwise(None) for _, violates, detail in checks]
    detail: pl.Expr = pl.concat_str(details, separator="; ", ignore_nulls=True) if details else pl.lit(None, pl.String)
    detail = pl.when(reason.is_not_null()).then(detail).otherwise(None)
    overridden = pl.when(base_reason.is_not_null()).then(pl.format("; also dropped as {}", base_reason))
    detail = pl.concat_str([detail, overridden.otherwise(pl.lit(""))])

    if policy.stale_before is not None:
        stale = (_created_at_utc(frame) < pl.lit(policy.stale_before, pl.Datetime("us", "UTC"))).fill_null(False)
    else:
        stale = pl.lit(False)
    tags = (
        pl.concat_list(
            pl.col("tags").fill_null(pl.lit([], _TAGS)),
            pl.when(stale).then(pl.lit(STALE_TAG)).otherwise(pl.lit(None, pl.String)),
        )
        .list.drop_nulls()
        .list.unique()
        .list.sort()
        .cast(_TAGS)
    )
    return frame.with_columns(
        drop_reason=pl.coalesce(reason, base_reason).cast(pl.String),
        policy_detail=detail.cast(pl.String),
        tags=tags,
    )


def policy_summary(frame: pl.DataFrame) -> dict[str, Any]:
    """Counts for metadata and metrics: rows per policy reason, which values were rejected, stale rows."""
    out: dict[str, Any] = {}
    for code, column, plural in (
        (ReasonCode.DISALLOWED_TEACHER_MODEL, "teacher_model", "disallowed_teacher_models"),
        (ReasonCode.DISALLOWED_LICENSE, "license", "disallowed_licenses"),
    ):
        rows = frame.filter(pl.col("drop_reason") == code)
        out[code] = rows.height
        values = rows.group_by(pl.col(column).fill_null(MISSING_VALUE)).len().sort(column)
        out[plural] = dict(values.iter_rows())
    tags = frame.get_column("tags").fill_null(pl.lit([], _TAGS))
    stale = tags.list.contains(STALE_TAG)
    out[STALE_TAG] = int(stale.sum())
    out["stale_kept"] = int((stale & frame.get_column("drop_reason").is_null()).sum())
    return out
