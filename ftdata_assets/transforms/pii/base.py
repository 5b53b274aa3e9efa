"""Shared pieces of the recognizers: types, schemas, regex helpers that keep character offsets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

ENTITY_TYPES: tuple[str, ...] = (
    "SECRET",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "EMAIL_ADDRESS",
    "IP_ADDRESS",
    "PHONE_NUMBER",
    "LOCATION",
    "PERSON",
)
"""Every type `detect` reports, in overlap priority order (the first wins a tie)."""

_PRIORITY = {t: i for i, t in enumerate(ENTITY_TYPES)}

PLACEHOLDER_PATTERN = r"<(?:" + "|".join(ENTITY_TYPES) + r")_\d+>"
"""What `scrub` writes; `detect` never reports anything that overlaps one."""

FINDINGS_SCHEMA = pl.Schema(
    {"row": pl.UInt32, "entity_type": pl.String, "start": pl.Int64, "end": pl.Int64, "text": pl.String}
)

PII_COUNTS = pl.Struct({t: pl.Int64 for t in ENTITY_TYPES})
"""`scrub`'s `pii_counts` column: findings replaced in the row (occurrences, not distinct values)."""

LEXICON_PATH = Path(__file__).resolve().parents[1] / "pii_lexicon.tsv"

_CAND = pl.Schema({"row": pl.UInt32, "start": pl.Int64, "end": pl.Int64, "text": pl.String})
_COLS = list(_CAND.names())


def _rx(pattern: str) -> str:
    r"""ASCII word boundaries: a Unicode `\b` makes the regex engine leave its fast DFA on any non-ASCII
    text (3-4x slower). Only for patterns whose boundaries sit next to ASCII characters."""
    return pattern.replace(r"\b", r"(?-u:\b)")


# --------------------------------------------------------------------------------------------------------
# candidate extraction with character offsets
# --------------------------------------------------------------------------------------------------------


def _with_row_starts(df: pl.DataFrame, name: str, step: pl.Expr, own: pl.Expr) -> pl.DataFrame:
    """Add `name`, a per-row running offset: cumsum of `step` within each `row` (rows contiguous), minus `own`.

    Same as `(step.cum_sum() - own).over("row")` without the window (a global cumsum, reset per row). The
    step and its cumsum are columns first: as one expression they were computed three times over.
    """
    df = df.with_columns(_step=step, _own=own).with_columns(_cs=pl.col("_step").cum_sum())
    first = pl.col("row") != pl.col("row").shift(1).fill_null(-1)
    row_base = pl.when(first).then(pl.col("_cs") - pl.col("_step")).forward_fill()
    return df.with_columns((pl.col("_cs") - row_base - pl.col("_own")).alias(name)).drop("_step", "_own", "_cs")


def _matches(base: pl.DataFrame, pattern: str, group: int | None = None, *, here: bool = False) -> pl.DataFrame:
    """All non-overlapping matches of `pattern` in `base["t"]` as (row, start, end, text), char offsets.

    With `group`, the pattern is `(prefix)(value)...` (or an alternation of such, groups 2k+1 and 2k+2)
    and only the value is reported. With `here`, both regex scans run in the calling thread (Series calls; in
    a select with other columns polars runs them in its shared pool): for a recognizer whose patterns fit in
    that thread's cache of 32 compiled regexes (`detector` runs each recognizer in a thread of its own), they
    then stay compiled from one batch to the next, where the pool compiles them again among every other
    recognizer's patterns.
    """
    # one scan finds the matches of every row (a `contains` pass first would scan each matching row twice);
    # only the rows with a match are split for the offsets
    if here:
        found = base.get_column("t").str.extract_all(pattern)
        cand = base.select("row", "t").with_columns(m=found).filter(pl.col("m").list.len() > 0)
    else:
        cand = base.select("row", "t", m=pl.col("t").str.extract_all(pattern)).filter(pl.col("m").list.len() > 0)
    if cand.height == 0:
        return pl.DataFrame(schema=_CAND if group is None else {**_CAND, "alt": pl.Int32})
    if here:
        m = cand.select("row", "m").with_columns(seg=cand.get_column("t").str.split(pattern, literal=False))
    else:
        m = cand.select("row", "m", seg=pl.col("t").str.split(pattern, literal=False))
    m = m.with_columns(pl.col("seg").list.head(pl.col("m").list.len())).explode(["m", "seg"])
    m = m.filter(pl.col("m").is_not_null())
    ml = pl.col("m").str.len_chars().cast(pl.Int64)
    sl = pl.col("seg").str.len_chars().cast(pl.Int64)
    m = _with_row_starts(m, "start", sl + ml, ml)
    if group is None:
        return m.select("row", "start", end=pl.col("start") + ml, text="m")
    groups = m.select(pl.col("m").str.extract_groups(pattern)).unnest("m")
    names = groups.columns
    pre = pl.coalesce([pl.col(names[i]) for i in range(0, len(names), 2)]).fill_null("")
    val = pl.coalesce([pl.col(names[i]) for i in range(1, len(names), 2)])
    which = pl.concat_list([pl.col(names[i]).is_not_null() for i in range(1, len(names), 2)]).list.arg_max()
    m = pl.concat([m.select("row", "start"), groups], how="horizontal")
    m = m.select("row", "start", pre=pre, text=val, alt=which.cast(pl.Int32))
    m = m.filter(pl.col("text").is_not_null() & (pl.col("text") != ""))
    start = pl.col("start") + pl.col("pre").str.len_chars().cast(pl.Int64)
    return m.select(
        "row", start=start, end=start + pl.col("text").str.len_chars().cast(pl.Int64), text="text", alt="alt"
    )


def _context(cand: pl.DataFrame, base: pl.DataFrame, left: int, right: int = 0) -> pl.DataFrame:
    """Add lowercase `left_ctx` (up to `left` chars before) and `right_ctx` (up to `right` after)."""
    j = cand.join(base, on="row", how="left")
    off = (pl.col("start") - left).clip(lower_bound=0)
    return j.with_columns(
        left_ctx=pl.col("t").str.slice(off, pl.col("start") - off).str.to_lowercase(),
        right_ctx=pl.col("t").str.slice(pl.col("end"), right).str.to_lowercase(),
    ).drop("t")


def _typed(cand: pl.DataFrame, entity_type: str) -> pl.DataFrame:
    return cand.select("row", pl.lit(entity_type).alias("entity_type"), "start", "end", "text")


_VETO_WORDS = [
    "order", "invoice", "tracking", "ticket", "ref", "reference", "case", "sku", "serial", "isbn", "issn",
    "doi", "confirmation", "transaction", "txn", "booking", "po", "pnr", "id", "imei", "part", "model",
    "batch", "lot", "receipt", "routing", "swift", "version", "build", "#",
]  # fmt: skip


_NON_WORD = "[^a-z0-9_]"
"""`\\W` for lowercase context: the Unicode class makes an end-anchored regex ten times slower (a DFA state per
class member), and what sits between a label and its number is ASCII punctuation or space."""


def _veto(extra: Sequence[str] = ()) -> str:
    """Left-context regex (lowercase text): the number right after one of these labels is an identifier."""
    words = "|".join(w if w == "#" else rf"\b{w}" for w in [*_VETO_WORDS, *extra])
    return _rx(rf"(?:{words}){_NON_WORD}{{0,3}}(?:no\.?|number|num|nr)?{_NON_WORD}{{0,3}}$")


_NUMBER_VETO = _veto(["account", "acct", "card", "iban"])
_CARD_VETO = _veto()


_LABELS = [
    "order", "invoice", "tracking", "ticket", "ref", "reference", "case", "sku", "serial", "isbn", "issn",
    "doi", "confirmation", "transaction", "txn", "booking", "pnr", "imei", "receipt", "routing", "swift",
    "version", "build", "id",
    # the same labels in the tuning languages, and registry numbers that look like phones or cards
    "bestellung", "bestellnummer", "rechnung", "rechnungsnummer", "kundennummer", "auftrag", "artikel",
    "artikelnummer", "sendungsnummer", "commande", "facture", "article", "pedido", "factura", "albarán",
    "ordine", "fattura", "articolo", "encomenda", "fatura", "bestelling", "factuur", "zamówienie",
    "faktura", "siret", "siren", "nif", "cif", "vat", "ust", "tva", "iva", "ean", "gtin", "upc", "asin",
    "isin", "zip", "postcode", "postal", "plz", "cep",
]  # fmt: skip


def _label_near(extra: Sequence[str] = ()) -> str:
    r"""Left-context regex (lowercase text): one of these labels at most two words before the number ("order
    number is ..."). Words are ASCII runs here: Unicode `\w` makes this regex ten times slower."""
    return _rx(r"\b(?:" + "|".join([*_LABELS, *extra]) + r")\b" + _TWO_WORDS)


_TWO_WORDS = r"(?:[^a-z0-9]+[a-z0-9]+){0,2}[^a-z0-9]*$"
