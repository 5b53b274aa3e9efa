"""Flat views of each layer for Great Expectations: pure polars, no GX, no Dagster.

GX validates a pandas frame column by column and cannot look inside `messages` (a list of structs) or
`pii_counts` (a struct). So each layer is validated through a *view*: its own scalar columns plus derived
flat columns, one row per layer row (one row in all for `split_summary`). The suites in `expectations/`
name these columns; a view column's meaning is fixed here and documented in `COLUMN_DOCS`.

`view(layer, frame, **context)` is the one entry point. Layers: `raw` (any raw_* frame), `normalized_examples`,
`rejects`, `scrubbed_examples`, `scored_examples`, `deduplicated_examples`, `reviewed_examples`, `splits` and
`split_summary` (both over `combine_splits(train, validation, test)`). Context:
- `allow_list`: PII allow-list (params.yaml `pii.allow_list`) for the `pii_findings` re-scan, layers from
  scrubbed_examples on; without it the product's own name may count as a PERSON finding.
- `verified`: texts a full PII re-scan already found clean (`pii_report.clean_keys`); `pii_findings`
  re-scans only the others.
- `pii_settings`: the whole PII settings (`pii.PiiSettings`: allow-list + recognizer registry); when given, the
  `pii_findings` re-scan runs under it instead of the bare allow-list, and the second opinion looks only for
  the types its registry scrubs.
- `enabled_types`: the PII types to look for in the second opinion, if not those of `pii_settings`; with
  neither, every type it knows.
- `ratios`: the configured split ratios (params.yaml `split.ratios`), for `split_summary`.

Everything is vectorized: message columns are list expressions, PII is one `detect` batch over all texts.
"""

from collections.abc import Collection, Mapping, Sequence

import polars as pl

from ftdata_assets.schema import (
    EXAMPLE_SCHEMA,
    INGEST_TAGS,
    RAW_SCHEMA,
    REJECT_SCHEMA,
    ROLES,
    SOURCES,
    SPLITS,
    is_valid_reason,
)
from ftdata_assets.transforms.pii import PII_COUNTS, PiiSettings
from ftdata_assets.transforms.pii_crosscheck import crosscheck_findings
from ftdata_assets.transforms.pii_report import leftover_findings
from ftdata_assets.transforms.provenance import STALE_TAG
from ftdata_assets.transforms.quality import OUTPUT_COLUMNS as QUALITY_COLUMNS
from ftdata_assets.transforms.quality import TAGS as QUALITY_TAGS

KNOWN_TAGS: tuple[str, ...] = (*INGEST_TAGS, *QUALITY_TAGS, STALE_TAG, "edited_in_review")
"""Tags any layer may carry: quality's, provenance's `stale`, review's `edited_in_review`."""

SCRUBBED_SCHEMA = pl.Schema({**EXAMPLE_SCHEMA, "pii_counts": PII_COUNTS})
SCORED_SCHEMA = pl.Schema({**SCRUBBED_SCHEMA, **QUALITY_COLUMNS, "policy_detail": pl.String()})
DEDUPLICATED_SCHEMA = pl.Schema(
    {
        **SCORED_SCHEMA,
        "exact_cluster_id": pl.String(),
        "cluster_id": pl.String(),
        "duplicate_of": pl.String(),
        "dedup_reason": pl.String(),
        "prompt_cluster": pl.String(),
        "contradiction": pl.String(),
    }
)
REVIEWED_SCHEMA = pl.Schema(
    {
        **DEDUPLICATED_SCHEMA,
        "review_decision": pl.String(),
        "reviewed_by": pl.String(),
        "review_status": pl.String(),
    }
)

LAYER_SCHEMAS: dict[str, pl.Schema] = {
    "raw": RAW_SCHEMA,
    "normalized_examples": EXAMPLE_SCHEMA,
    "rejects": REJECT_SCHEMA,
    "scrubbed_examples": SCRUBBED_SCHEMA,
    "scored_examples": SCORED_SCHEMA,
    "deduplicated_examples": DEDUPLICATED_SCHEMA,
    "reviewed_examples": REVIEWED_SCHEMA,
    "splits": pl.Schema({**EXAMPLE_SCHEMA, "split": pl.String()}),
    "split_assignments": pl.Schema(
        {
            **EXAMPLE_SCHEMA,
            "split": pl.String(),
            "split_group": pl.String(),
            "split_origin": pl.String(),
            "contaminated_by": pl.String(),
            "contamination_detail": pl.String(),
        }
    ),
}
"""The columns (and dtypes) each layer promises; a view's `contract` column reports any difference."""

LAYERS: tuple[str, ...] = (*LAYER_SCHEMAS, "split_summary")

COLUMN_DOCS: dict[str, str] = {
    "contract": "'ok', or which contract columns are missing or have another dtype (same value on every row)",
    "n_messages": "number of messages",
    "roles_valid": f"every role is one of {', '.join(ROLES)}",
    "first_role": "role of the first message",
    "last_role": "role of the last message",
    "has_user": "at least one user turn",
    "has_assistant": "at least one assistant turn",
    "blank_turns": "messages whose content is null, empty or whitespace",
    "min_content_chars": "shortest message content, in characters",
    "max_content_chars": "longest message content, in characters",
    "total_chars": "characters over all message contents",
    "pii_findings": "findings left in the contents (and feedback's original_response): `pii.detect`, plus the "
    "second opinion's (`pii_crosscheck`) that the first does not overlap",
    "pii_replaced": "placeholders `scrub` wrote into the row (sum of pii_counts)",
    "reason_valid": "the reason (raw/rejects `reason`, scored `drop_reason`) is a valid code; null when no reason",
    "kind_consistent": "raw: an example row has id + messages and no original; a reject row has reason + original",
    "oasst_path": "raw: an OASST example row's path through its tree (example_id and extras' message_ids), null for "
    "every other row: one tree line gives one row per path, so (source_file, source_line, oasst_path) is unique",
    "id_consistent": "rejects: example_id is set for every layer after ingest",
    "reason_matches_layer": "rejects: the reason belongs to the layer that let the row go",
    "tags_known": "every tag is a known tag",
    "n_tags": "number of tags",
    "is_refusal": "tagged refusal",
    "is_dropped": "drop_reason is set",
    "is_duplicate": "duplicate_of is set",
    "kept_example_id": "example_id of kept rows (duplicate_of null), null for duplicates",
    "dedup_consistent": "duplicate_of and dedup_reason are both set or both null",
    "duplicate_of_kept": "duplicate_of names a kept row of the frame (null for kept rows)",
    "status_consistent": "review_status is rejected exactly when the decision is reject (kept rows)",
    "conversation_splits": "number of splits the row's conversation appears in (null without conversation_id)",
    "group_splits": "split_assignments: number of splits the row's split group appears in",
    "contamination_on_train": "split_assignments: contaminated_by is null, or the row is in train",
    "contamination_explained": "split_assignments: contaminated_by and contamination_detail are both set or both null",
}

REASONS_BY_LAYER: dict[str, tuple[str, ...]] = {
    "ingest": (
        "invalid_json",
        "invalid_utf8",
        "nul_byte",
        "unknown_format",
        "missing_field",
        "wrong_type",
        "bad_role",
        "bad_turn_order",
        "empty_content",
        "too_long",
        "too_deep",
        "undesirable_label",
    ),
    "policy": ("disallowed_teacher_model", "disallowed_license"),
    "dedup": ("exact_duplicate", "near_duplicate", "duplicate_prompt"),
    "decontaminate": ("benchmark_contamination",),
    "review": ("rejected_in_review",),
}
"""Which reasons each rejects `layer` gives; `quality` gives `low_quality:<rule>`."""


# ----------------------------------------------------------------------------------------------- helpers


def contract_column(frame: pl.DataFrame, schema: pl.Schema) -> pl.Expr:
    """'ok', or e.g. 'missing: tags; created_at: String != Datetime(...)' for every row of the view."""
    problems = [
        f"missing: {name}" if name not in frame.schema else f"{name}: {frame.schema[name]} != {dtype}"
        for name, dtype in schema.items()
        if name not in frame.schema or frame.schema[name] != dtype
    ]
    return pl.lit("; ".join(problems) if problems else "ok", pl.String).alias("contract")


def message_columns(frame: pl.DataFrame) -> list[pl.Expr]:
    """Flat columns derived from `messages` (null when the row has no messages, e.g. a raw reject)."""
    if "messages" not in frame.columns:
        return []
    messages = pl.col("messages")
    roles = messages.list.eval(pl.element().struct.field("role"))
    lengths = messages.list.eval(pl.element().struct.field("content").str.len_chars())
    blank = messages.list.eval(
        pl.element().struct.field("content").is_null() | (pl.element().struct.field("content").str.strip_chars() == "")
    )
    return [
        messages.list.len().cast(pl.Int64).alias("n_messages"),
        roles.list.eval(pl.element().is_in(ROLES).fill_null(False)).list.all().alias("roles_valid"),
        messages.list.first().struct.field("role").alias("first_role"),
        messages.list.last().struct.field("role").alias("last_role"),
        roles.list.contains("user").alias("has_user"),
        roles.list.contains("assistant").alias("has_assistant"),
        blank.list.sum().cast(pl.Int64).alias("blank_turns"),
        lengths.list.min().cast(pl.Int64).alias("min_content_chars"),
        lengths.list.max().cast(pl.Int64).alias("max_content_chars"),
        lengths.list.sum().cast(pl.Int64).alias("total_chars"),
    ]


def reason_valid(column: str) -> pl.Expr:
    """`schema.is_valid_reason` of a reason column (null stays null), called once per distinct value."""
    return (
        pl.col(column)
        .map_batches(
            lambda s: s.replace_strict(
                (u := s.drop_nulls().unique()).to_list(),
                [is_valid_reason(r) for r in u.to_list()],
                default=None,
                return_dtype=pl.Boolean,
            ),
            return_dtype=pl.Boolean,
        )
        .alias("reason_valid")
    )


def pii_findings(
    frame: pl.DataFrame,
    allow_list: PiiSettings | Sequence[str] = (),
    verified: pl.DataFrame | None = None,
    enabled_types: Collection[str] | None = None,
) -> pl.Series:
    """Findings per row over every text a trainer sees (texts in `verified` are known clean): `pii.detect`'s,
    plus those of the independent second opinion (`pii_crosscheck`, limited to `enabled_types`) that overlap
    none of them. Cheap at the release gate: only texts changed since `no_pii_left` (repairs, review edits)
    are not verified, and both detectors skip the verified ones.

    `allow_list` may be the whole PiiSettings; then `enabled_types` defaults to the types its registry scrubs.
    Reuses `pii_report.leftover_findings`, keyed by row number instead of example_id (ids repeat before dedup).
    """
    terms: Sequence[str] = allow_list.allow_list if isinstance(allow_list, PiiSettings) else allow_list
    if enabled_types is None and isinstance(allow_list, PiiSettings):
        enabled_types = {r.entity_type for r in allow_list.registry.recognizers}
    keyed = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).cast(pl.String).alias("example_id"),
        "messages",
        *(["original_response"] if "original_response" in frame.columns else []),
    )
    found = leftover_findings(keyed, allow_list, verified=verified)
    second = crosscheck_findings(keyed, terms, enabled_types=enabled_types, verified=verified)
    if second.height and found.height:
        seen = second.join(found.select("row", s0="start", e0="end"), on="row").filter(
            (pl.col("start") < pl.col("e0")) & (pl.col("s0") < pl.col("end"))
        )
        second = second.join(seen.select("row", "start").unique(), on=["row", "start"], how="anti")
    both = pl.concat([found.select("example_id"), second.select("example_id")])
    counts = both.group_by("example_id").len().select(pl.col("example_id").cast(pl.Int64).alias("row"), "len")
    per_row = (
        pl.DataFrame({"row": pl.int_range(frame.height, dtype=pl.Int64, eager=True)})
        .join(counts, on="row", how="left", maintain_order="left")
        .get_column("len")
    )
    return per_row.fill_null(0).cast(pl.Int64).alias("pii_findings")


def _present(frame: pl.DataFrame, names: Sequence[str]) -> list[str]:
    return [n for n in names if n in frame.columns]


def _kept_ids(frame: pl.DataFrame) -> pl.Series:
    return frame.filter(pl.col("duplicate_of").is_null()).get_column("example_id").unique()


# ------------------------------------------------------------------------------------------------ layers

_PROVENANCE = (
    "example_id",
    "source",
    "source_file",
    "source_line",
    "partition",
    "conversation_id",
    "user_id",
    "teacher_model",
    "prompt_template",
    "author",
    "reviewed",
    "license",
)


def _example_view(
    layer: str,
    frame: pl.DataFrame,
    allow_list: PiiSettings | Sequence[str],
    pii: bool,
    verified: pl.DataFrame | None = None,
    enabled_types: Collection[str] | None = None,
) -> pl.DataFrame:
    schema = LAYER_SCHEMAS[layer]
    if "pii_counts" in schema and isinstance(allow_list, PiiSettings):
        # users' own recognizers add their types' counts after the built-in fields
        schema = pl.Schema({**schema, "pii_counts": allow_list.registry.counts_dtype})
    base = frame.select(
        contract_column(frame, schema),
        *_present(frame, _PROVENANCE),
        *message_columns(frame),
    )
    if pii and "messages" in frame.columns:
        base = base.with_columns(pii_findings(frame, allow_list, verified, enabled_types))
    if "pii_counts" in frame.columns:
        base = base.with_columns(
            frame.select(pl.sum_horizontal(pl.col("pii_counts").struct.unnest()).alias("pii_replaced")).to_series()
        )
    return base


def _scored_columns(frame: pl.DataFrame) -> list[pl.Expr]:
    out: list[pl.Expr] = []
    if "drop_reason" in frame.columns:
        out += [
            pl.col("drop_reason"),
            reason_valid("drop_reason"),
            pl.col("drop_reason").is_not_null().alias("is_dropped"),
        ]
    if "tags" in frame.columns:
        tags = pl.col("tags")
        out += [
            tags.list.len().cast(pl.Int64).alias("n_tags"),
            tags.list.eval(pl.element().is_in(KNOWN_TAGS)).list.all().alias("tags_known"),
            tags.list.contains("refusal").alias("is_refusal"),
        ]
    out += [pl.col(c) for c in _present(frame, ("quality_score", "token_count", "language"))]
    return out


def _dedup_columns(frame: pl.DataFrame) -> list[pl.Expr]:
    if "duplicate_of" not in frame.columns:
        return []
    kept = pl.col("duplicate_of").is_null()
    return [
        *(pl.col(c) for c in _present(frame, ("cluster_id", "duplicate_of", "dedup_reason", "contradiction"))),
        kept.not_().alias("is_duplicate"),
        pl.when(kept).then(pl.col("example_id")).alias("kept_example_id"),
        (kept == pl.col("dedup_reason").is_null()).alias("dedup_consistent")
        if "dedup_reason" in frame.columns
        else pl.lit(None, pl.Boolean).alias("dedup_consistent"),
        pl.when(~kept).then(pl.col("duplicate_of").is_in(_kept_ids(frame).implode())).alias("duplicate_of_kept"),
    ]


def _review_columns(frame: pl.DataFrame) -> list[pl.Expr]:
    if "review_status" not in frame.columns:
        return []
    kept = pl.col("duplicate_of").is_null() if "duplicate_of" in frame.columns else pl.lit(True)
    return [
        pl.col("review_status"),
        *(pl.col(c) for c in _present(frame, ("review_decision",))),
        pl.when(kept)
        .then(
            (pl.col("review_status") == "rejected").fill_null(False)
            == (pl.col("review_decision") == "reject").fill_null(False)
        )
        .alias("status_consistent"),
    ]


def raw_view(frame: pl.DataFrame) -> pl.DataFrame:
    is_reject = pl.col("reason").is_not_null()
    example_ok = pl.col("example_id").is_not_null() & pl.col("messages").is_not_null() & pl.col("original").is_null()
    reject_ok = pl.col("detail").is_not_null() & pl.col("original").is_not_null()
    return frame.select(
        contract_column(frame, RAW_SCHEMA),
        *_present(frame, ("example_id", "source", "source_file", "source_line", "partition", "reason")),
        is_reject.alias("is_reject"),
        reason_valid("reason"),
        pl.when(is_reject).then(reject_ok).otherwise(example_ok).alias("kind_consistent"),
        _oasst_path(frame),
        *message_columns(frame),
    )


def _oasst_path(frame: pl.DataFrame) -> pl.Expr:
    """What tells apart the rows of one OASST tree (one per root-to-leaf path, all on the tree's line): two
    paths can hold the same texts, hence the same example_id, but not the same message ids. Null on every other
    row, so that any other line giving two rows (a line read twice, an example and a reject) still repeats."""
    if "extras" not in frame.columns or "format" not in frame.columns:
        return pl.lit(None, pl.String).alias("oasst_path")
    ids = pl.col("extras").str.json_path_match("$.message_ids").fill_null("[]")
    oasst_example = (pl.col("format") == "oasst") & pl.col("reason").is_null()
    return pl.when(oasst_example).then(pl.concat_str(pl.col("example_id"), ids, separator=" ")).alias("oasst_path")


def rejects_view(frame: pl.DataFrame) -> pl.DataFrame:
    layer = pl.col("layer")
    matches = pl.when(layer == "quality").then(pl.col("reason").str.starts_with("low_quality:"))
    for name, reasons in REASONS_BY_LAYER.items():
        matches = matches.when(layer == name).then(pl.col("reason").is_in(reasons))
    return frame.select(
        contract_column(frame, REJECT_SCHEMA),
        "layer",
        "reason",
        reason_valid("reason"),
        matches.otherwise(False).alias("reason_matches_layer"),
        ((layer == "ingest") | pl.col("example_id").is_not_null()).alias("id_consistent"),
        pl.col("detail").is_not_null().alias("has_detail"),
        pl.col("original").is_not_null().alias("has_original"),
        *_present(frame, ("source", "source_file", "source_line", "partition", "example_id")),
    )


def combine_splits(train: pl.DataFrame, validation: pl.DataFrame, test: pl.DataFrame) -> pl.DataFrame:
    """The three split frames as one, with a `split` column (the input of the `splits` and summary views)."""
    parts = {"train": train, "validation": validation, "test": test}
    return pl.concat([frame.with_columns(split=pl.lit(name, pl.String)) for name, frame in parts.items()])


def splits_view(
    frame: pl.DataFrame,
    allow_list: PiiSettings | Sequence[str],
    verified: pl.DataFrame | None = None,
    enabled_types: Collection[str] | None = None,
) -> pl.DataFrame:
    base = _example_view("splits", frame, allow_list, pii=True, verified=verified, enabled_types=enabled_types)
    conversations = pl.col("split").n_unique().over("conversation_id").cast(pl.Int64)
    return base.with_columns(
        frame.select(
            "split",
            pl.when(pl.col("conversation_id").is_not_null()).then(conversations).alias("conversation_splits"),
        )
    )


def split_assignments_view(frame: pl.DataFrame) -> pl.DataFrame:
    """The example columns plus the promises of the assignment: groups in one split, decontamination only
    removes train rows and always says why."""
    base = _example_view("split_assignments", frame, (), pii=False)
    contaminated = pl.col("contaminated_by").is_not_null()
    return base.with_columns(
        frame.select(
            "split",
            "split_origin",
            "split_group",
            pl.col("split").n_unique().over("split_group").cast(pl.Int64).alias("group_splits"),
            (~contaminated | (pl.col("split") == "train")).alias("contamination_on_train"),
            (contaminated == pl.col("contamination_detail").is_not_null()).alias("contamination_explained"),
        )
    )


def split_summary_view(frame: pl.DataFrame, ratios: Mapping[str, float] | None) -> pl.DataFrame:
    """One row: rows per split, each split's share and its distance to the configured ratio, the source mix
    of the whole release (`share_<source>`), and the largest gap of a source's share between train and test."""
    total = frame.height
    counts = dict(frame.group_by("split").len().iter_rows())
    row: dict[str, float | int | None] = {"total_rows": total}
    for split in SPLITS:
        n = int(counts.get(split, 0))
        share = n / total if total else None
        row[f"{split}_rows"] = n
        row[f"{split}_share"] = share
        ratio = None if ratios is None else ratios.get(split)
        row[f"{split}_share_deviation"] = None if share is None or ratio is None else abs(share - float(ratio))
    by_source = dict(frame.group_by("source").len().iter_rows())
    for source in SOURCES:
        row[f"share_{source}"] = by_source.get(source, 0) / total if total else None
    row["unknown_sources"] = sum(n for s, n in by_source.items() if s not in SOURCES)

    def mix(split: str) -> dict[str, float]:
        part = frame.filter(pl.col("split") == split)
        return {s: n / part.height for s, n in part.group_by("source").len().iter_rows()} if part.height else {}

    train, test = mix("train"), mix("test")
    row["max_source_gap_train_test"] = (
        max(abs(train.get(s, 0.0) - test.get(s, 0.0)) for s in SOURCES) if train and test else None
    )
    schema = {k: pl.Int64 if k.endswith("_rows") or k == "unknown_sources" else pl.Float64 for k in row}
    return pl.DataFrame([row], schema=schema)


def view(layer: str, frame: pl.DataFrame, **context) -> pl.DataFrame:
    """The flat view of `frame` for the suite of `layer` (see the module docstring for layers and context)."""
    settings: PiiSettings | None = context.get("pii_settings")
    allow_list: PiiSettings | Sequence[str] = settings or tuple(context.get("allow_list") or ())
    verified: pl.DataFrame | None = context.get("verified")
    types: Collection[str] | None = context.get("enabled_types")
    if layer == "raw" or layer.startswith("raw_"):
        return raw_view(frame)
    if layer == "rejects":
        return rejects_view(frame)
    if layer == "splits":
        return splits_view(frame, allow_list, verified, types)
    if layer == "split_summary":
        return split_summary_view(frame, context.get("ratios"))
    if layer == "split_assignments":
        return split_assignments_view(frame)
    if layer not in LAYER_SCHEMAS:
        raise ValueError(f"no view for layer {layer!r}; known: {', '.join(LAYERS)} (and raw_*)")
    base = _example_view(
        layer, frame, allow_list, pii=layer != "normalized_examples", verified=verified, enabled_types=types
    )
    extra = [*_scored_columns(frame), *_dedup_columns(frame), *_review_columns(frame)]
    return base.with_columns(frame.select(extra)) if extra else base
