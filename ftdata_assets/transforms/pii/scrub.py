"""scrub: typed, numbered placeholders."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ftdata_assets.progress import ProgressFn
from ftdata_assets.transforms.pii.detector import detect, resolve_settings
from ftdata_assets.transforms.pii.registry import PiiSettings, Registry

# --------------------------------------------------------------------------------------------------------
# scrub
# --------------------------------------------------------------------------------------------------------

_DIGIT_TYPES = ["PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN"]


def _normalized_value() -> pl.Expr:
    text = pl.col("text").str.to_lowercase()
    return (
        pl.when(pl.col("entity_type").is_in(_DIGIT_TYPES))
        .then(text.str.replace_all(r"\(0\)|[^0-9a-z]", ""))
        .otherwise(text.str.replace_all(r"\s+", " ").str.strip_chars())
    )


def _replace(long: pl.DataFrame, findings: pl.DataFrame) -> pl.DataFrame:
    """Splice placeholders into `long["text"]` at the findings (columns i, start, end, placeholder)."""
    f = findings.sort(["i", "start"]).join(long.select("i", "content"), on="i", how="left")
    f = f.with_columns(prev_end=pl.col("end").shift(1).over("i").fill_null(0))
    pieces = f.with_columns(
        piece=pl.col("content").str.slice(pl.col("prev_end"), pl.col("start") - pl.col("prev_end"))
        + pl.col("placeholder")
    )
    new = pieces.group_by("i").agg(
        body=pl.col("piece").str.join(""),
        tail=pl.col("content").last().str.slice(pl.col("end").last()),
    )
    new = new.select("i", new_content=pl.col("body") + pl.col("tail"))
    return (
        long.join(new, on="i", how="left")
        .with_columns(content=pl.coalesce("new_content", "content"))
        .drop("new_content")
    )


def scrub(
    frame: pl.DataFrame,
    *,
    conversation_key: str = "example_id",
    text_columns: Sequence[str] = ("original_response",),
    max_passes: int = 3,
    allow_list: Sequence[str] = (),
    settings: PiiSettings | None = None,
    progress: ProgressFn | None = None,
    continue_numbering: bool = False,
) -> pl.DataFrame:
    """Replace PII in every message's content by `<TYPE_N>` placeholders and count it per row.

    Numbering is per value of `conversation_key` (a row whose key is null is its own conversation): the
    first distinct value of a type seen (rows in frame order, then messages in order, then position) is
    `_1`, and the same value (case-insensitive; digits only for phone/card/IBAN/SSN) gets the same
    placeholder in every message of that conversation. String columns named in `text_columns` that the
    frame has (default: feedback's `original_response`) are scrubbed too, after the messages.

    Detection is re-run on what changed (up to `max_passes`) so that the result re-detects clean.
    `allow_list` or `settings` (PiiSettings: allow-list + recognizer registry) go to `detect`, and `progress`
    to its first pass (the one over every text). A user recognizer's type gets placeholders like any other
    (`<EMPLOYEE_ID_1>`).
    `continue_numbering`: the texts were scrubbed before; new values of a type are numbered after the
    highest placeholder of that type the conversation already has (`<PERSON_2>` after `<PERSON_1>`).
    Adds `pii_counts`: a struct with one Int64 field per entity type, the number of findings replaced in the
    row (occurrences, not distinct values): the built-in types (PII_COUNTS, always, even if disabled), then
    one field per user type of the registry (`Registry.counts_dtype`), so no count is lost.
    """
    settings = resolve_settings(allow_list, settings)
    if "messages" not in frame.columns:
        raise ValueError("scrub needs a `messages` column of list<struct<role, content>>")
    ridx = "__pii_row"
    keyed = frame.with_row_index(ridx).with_columns(
        __pii_key=pl.coalesce(
            pl.col(conversation_key).cast(pl.String),
            pl.lit("\x00row:") + pl.col(ridx).cast(pl.String),
        )
        if conversation_key in frame.columns
        else pl.lit("\x00row:") + pl.col(ridx).cast(pl.String)
    )
    # contents only: exploding the message structs would copy every role too
    msgs = (
        keyed.select(ridx, "__pii_key", "messages")
        .filter(pl.col("messages").list.len() > 0)
        .select(
            ridx,
            "__pii_key",
            part=pl.int_ranges(pl.col("messages").list.len()),
            content=pl.col("messages").list.eval(pl.element().struct.field("content")),
        )
        .explode(["part", "content"])
    )
    extra_cols = [c for c in text_columns if c in frame.columns and frame.schema[c] == pl.String]
    extras = [
        keyed.select(ridx, "__pii_key", part=pl.lit(1_000_000 + j, pl.Int64), content=pl.col(c))
        for j, c in enumerate(extra_cols)
    ]
    long = pl.concat([msgs.with_columns(pl.col("part").cast(pl.Int64)), *extras]).with_row_index("i")
    mapping = pl.DataFrame(schema={"__pii_key": pl.String, "entity_type": pl.String, "norm": pl.String, "n": pl.Int64})
    if continue_numbering:
        mapping = pl.concat([mapping, _existing_placeholders(long, settings.registry)])
    all_findings: list[pl.DataFrame] = []
    touched: list[pl.Series] = []
    todo = long
    for pass_no in range(max_passes):
        if todo.height == 0:
            break
        f = detect(todo["content"], settings=settings, progress=progress if pass_no == 0 else None)
        if f.height == 0:
            break
        f = f.with_columns(i=todo["i"].gather(f["row"]))
        f = f.join(long.select("i", ridx, "__pii_key", "part"), on="i").with_columns(norm=_normalized_value())
        f = f.sort([ridx, "part", "start"]).with_row_index("ord")
        f = f.join(mapping, on=["__pii_key", "entity_type", "norm"], how="left")
        new_values = (
            f.filter(pl.col("n").is_null())
            .group_by(["__pii_key", "entity_type", "norm"])
            .agg(first=pl.col("ord").min())
        )
        base_n = mapping.group_by(["__pii_key", "entity_type"]).agg(base=pl.col("n").max())
        new_values = (
            new_values.join(base_n, on=["__pii_key", "entity_type"], how="left")
            .with_columns(
                n=pl.col("base").fill_null(0)
                + pl.col("first").rank("ordinal").over(["__pii_key", "entity_type"]).cast(pl.Int64)
            )
            .select(mapping.columns)
        )
        mapping = pl.concat([mapping, new_values])
        f = f.drop("n").join(mapping, on=["__pii_key", "entity_type", "norm"], how="left")
        f = f.with_columns(placeholder=pl.format("<{}_{}>", "entity_type", "n"))
        all_findings.append(f.select(ridx, "entity_type"))
        touched.append(f["i"].unique())
        long = _replace(long, f.select("i", "start", "end", "placeholder"))
        todo = long.filter(pl.col("i").is_in(f["i"].unique().implode()))

    # rebuild the messages of the rows that changed
    out = keyed
    changed = long.filter(pl.col("part") < 1_000_000)
    changed_rows = changed.filter(pl.col("i").is_in(pl.concat(touched).implode()) if touched else pl.lit(False))
    if changed_rows.height:
        rows = changed_rows[ridx].unique().implode()
        # each message once (joining the whole list onto every message would copy it once per message)
        rebuilt = (
            keyed.filter(pl.col(ridx).is_in(rows))
            .select(ridx, "messages", part=pl.int_ranges(pl.col("messages").list.len()))
            .explode(["messages", "part"])
            .join(changed.select(ridx, "part", "content"), on=[ridx, "part"], how="left")
            .with_columns(pl.col("messages").struct.with_fields(content=pl.col("content")))
            .sort([ridx, "part"])
            .group_by(ridx, maintain_order=True)
            .agg(__pii_messages=pl.col("messages"))
        )
        out = out.join(rebuilt, on=ridx, how="left", maintain_order="left").with_columns(
            messages=pl.coalesce("__pii_messages", "messages").cast(frame.schema["messages"])
        )
    for j, c in enumerate(extra_cols):
        col = long.filter(pl.col("part") == 1_000_000 + j).select(ridx, __pii_x=pl.col("content"))
        out = (
            out.join(col, on=ridx, how="left", maintain_order="left")
            .with_columns(pl.col("__pii_x").alias(c))
            .drop("__pii_x")
        )
    counts = pl.concat(all_findings).group_by(ridx).agg(pl.col("entity_type").value_counts()) if all_findings else None
    out = out.with_columns(pii_counts=_counts_struct(out, counts, ridx, settings.registry))
    return out.select([*frame.columns, "pii_counts"])


def _existing_placeholders(long: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """The highest placeholder number per (conversation, type) already in the texts, as `scrub`'s mapping
    rows under a value no finding can have, so that new values are numbered after it."""
    pattern = r"<(" + "|".join(sorted(registry.entity_types, key=len, reverse=True)) + r")_(\d+)>"
    return (
        long.select("__pii_key", found=pl.col("content").str.extract_all(pattern))
        .explode("found")
        .drop_nulls("found")
        .select(
            "__pii_key",
            entity_type=pl.col("found").str.extract(pattern, 1),
            n=pl.col("found").str.extract(pattern, 2).cast(pl.Int64),
        )
        .group_by("__pii_key", "entity_type")
        .agg(pl.col("n").max())
        .select("__pii_key", "entity_type", norm=pl.lit("\x00placeholder"), n="n")
        .sort("__pii_key", "entity_type")
    )


def _counts_struct(out: pl.DataFrame, counts: pl.DataFrame | None, ridx: str, registry: Registry) -> pl.Series:
    types = registry.entity_types
    zero = pl.DataFrame({ridx: out[ridx]})
    if counts is None:
        wide = zero.with_columns(pl.lit(0, pl.Int64).alias(t) for t in types)
    else:
        long = counts.explode("entity_type").unnest("entity_type")
        wide = long.pivot(on="entity_type", index=ridx, values="count", aggregate_function="sum")
        wide = zero.join(wide, on=ridx, how="left", maintain_order="left")
        wide = wide.with_columns(
            (pl.col(t).fill_null(0).cast(pl.Int64) if t in wide.columns else pl.lit(0, pl.Int64)).alias(t)
            for t in types
        )
    return wide.select(pl.struct(types).alias("pii_counts"))["pii_counts"].cast(registry.counts_dtype)
