"""Shared pieces of the recognizers: types, schemas, regex helpers that keep character offsets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
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


def _list_sizes(lists: pl.Series) -> np.ndarray:
    """Elements per list (0 for a null), off the Arrow offsets: a polars `list.len` (and its `fill_null` and
    cast) is an expression call each, ~50 us of fixed cost, and `_matches` runs a dozen times a batch."""
    arr = lists.rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    sizes = np.diff(arr.offsets.to_numpy(zero_copy_only=False)).astype(np.int64)
    if arr.null_count:
        sizes[arr.is_null().to_numpy(zero_copy_only=False)] = 0
    return sizes


def _char_lengths(texts: pl.Series) -> np.ndarray:
    """`str.len_chars` as int64 numpy (one expression call)."""
    return texts.str.len_chars().to_numpy().astype(np.int64)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class _LiteralGroups:
    """Which groups of literals each text holds, one Aho-Corasick pass for all groups (`bits`)."""

    def __init__(self, groups: Sequence[tuple[Sequence[str], bool]]) -> None:
        """`groups[i]` = (literals, any ASCII case?): bit i of `bits` is what `contains_any(literals,
        ascii_case_insensitive=...)` says for that group."""
        self.exact: dict[str, int] = {}
        self.folded: dict[str, int] = {}
        for i, (words, any_case) in enumerate(groups):
            table = self.folded if any_case else self.exact
            for w in words:
                key = w.translate(_ASCII_LOWER) if any_case else w
                table[key] = table.get(key, 0) | 1 << i
        # the pass is in any ASCII case: one literal per case-folded form of a case-insensitive group
        self.literals = sorted({*self.exact, *self.folded})

    def bits(self, texts: pl.Series) -> np.ndarray:
        """Per text, a bit per group it holds a literal of. Every occurrence of every literal is found
        (overlapping, any ASCII case), and counts for a case-sensitive group when it equals one of the group's
        literals, for the others when it does in ASCII lower case; a text's occurrences are OR-ed in numpy
        (they come in text order)."""
        hits = texts.str.extract_many(self.literals, ascii_case_insensitive=True, overlapping=True)
        n = _list_sizes(hits)
        out = np.zeros(len(n), dtype=np.int64)
        if not n.any():
            return out
        flat = hits.explode(empty_as_null=False, keep_nulls=False)
        seen = flat.unique()
        exact, folded = self.exact, self.folded
        bits = [exact.get(x, 0) | folded.get(x.translate(_ASCII_LOWER), 0) for x in seen.to_list()]
        flat_bits = flat.replace_strict(seen, pl.Series(bits, dtype=pl.Int64), return_dtype=pl.Int64).to_numpy()
        counts = n[n > 0]
        out[n > 0] = np.bitwise_or.reduceat(flat_bits, np.cumsum(counts) - counts)
        return out


def _matches(base: pl.DataFrame, pattern: str, group: int | None = None, *, here: bool = True) -> pl.DataFrame:
    """All non-overlapping matches of `pattern` in `base["t"]` as (row, start, end, text), char offsets.

    With `group`, the pattern is `(prefix)(value)...` (or an alternation of such, groups 2k+1 and 2k+2)
    and only the value is reported. Both regex scans (`extract_all`, then `split` of the rows with a match) are
    Series calls, so they run in the calling thread: `detector` runs each recognizer in a thread of its own,
    whose cache of 32 compiled regexes then keeps its patterns from one batch to the next (`here` is kept for
    callers that passed it). The offsets are running sums of the pieces' character lengths, in numpy (the
    polars window steps cost more than the scans on a batch's few thousand matches).
    """
    del here
    if base.height == 0:
        return pl.DataFrame(schema=_CAND if group is None else {**_CAND, "alt": pl.Int32})
    t = base.get_column("t")
    found = t.str.extract_all(pattern)
    counts = _list_sizes(found)
    hit = counts > 0
    if not hit.any():
        return pl.DataFrame(schema=_CAND if group is None else {**_CAND, "alt": pl.Int32})
    n = counts[hit]
    m = found.explode(empty_as_null=False, keep_nulls=False)
    seg = t.filter(pl.Series(hit)).str.split(pattern, literal=False)
    # a row's pieces: the text before each match (split gives one more piece, the rest after the last match)
    pieces = _list_sizes(seg)
    first_piece = np.cumsum(pieces) - pieces
    keep = np.ones(int(pieces.sum()), dtype=bool)
    keep[first_piece + pieces - 1] = False
    sl = _char_lengths(seg.explode(empty_as_null=False, keep_nulls=False))[keep]
    ml = _char_lengths(m)
    step = sl + ml
    before = np.cumsum(step) - step  # exclusive running sum over all matches
    row_of = np.repeat(np.arange(len(n)), n)
    first = np.cumsum(n) - n
    start = before - before[first][row_of] + sl
    rows = base.get_column("row").to_numpy()[np.flatnonzero(hit)[row_of]]
    out = pl.DataFrame({"row": pl.Series(rows, dtype=pl.UInt32), "start": start, "m": m})
    if group is None:
        return pl.DataFrame({"row": out.get_column("row"), "start": start, "end": start + ml, "text": m})
    groups = out.select(pl.col("m").str.extract_groups(pattern)).unnest("m")
    names = groups.columns
    pre = pl.coalesce([pl.col(names[i]) for i in range(0, len(names), 2)]).fill_null("")
    val = pl.coalesce([pl.col(names[i]) for i in range(1, len(names), 2)])
    which = pl.concat_list([pl.col(names[i]).is_not_null() for i in range(1, len(names), 2)]).list.arg_max()
    g = pl.concat([out.select("row", "start"), groups], how="horizontal")
    g = g.select("row", "start", pre=pre, text=val, alt=which.cast(pl.Int32))
    g = g.filter(pl.col("text").is_not_null() & (pl.col("text") != ""))
    gstart = pl.col("start") + pl.col("pre").str.len_chars().cast(pl.Int64)
    return g.select(
        "row", start=gstart, end=gstart + pl.col("text").str.len_chars().cast(pl.Int64), text="text", alt="alt"
    )


def _filter(df: pl.DataFrame, predicate: pl.Expr) -> pl.DataFrame:
    """`df.filter(predicate)` with the predicate evaluated in the calling thread: a select of one expression runs
    there, a filter in polars' shared pool, whose threads' caches of 32 compiled regexes every recognizer's
    patterns pass through (each batch then compiled them again). `detector` runs each recognizer in a thread of
    its own, so there its patterns stay compiled. A frame of several chunks (a concat) is rechunked first: polars
    evaluates an expression over each chunk in the pool."""
    if df.height == 0:
        return df  # what a filter of no rows gives, without evaluating the predicate (its regexes cost the same)
    if max(df.n_chunks("all"), default=1) > 1:
        df = df.rechunk()
    return df.filter(df.select(predicate).to_series())


def _context(cand: pl.DataFrame, base: pl.DataFrame, left: int, right: int = 0) -> pl.DataFrame:
    """Add lowercase `left_ctx` (up to `left` chars before) and `right_ctx` (up to `right` after).

    `base`'s rows are ascending (a filtered `with_row_index`), so each candidate's text is a gather at the
    searchsorted position of its row (a join cost more); any other `base` is joined."""
    j = None
    if base.columns == ["row", "t"] and "t" not in cand.columns and cand.height and base.height:
        rows, want = base.get_column("row").to_numpy(), cand.get_column("row").to_numpy()
        pos = np.searchsorted(rows, want)
        if (pos < len(rows)).all() and (rows[pos] == want).all():
            # hstack, not with_columns: a column appended without an expression call (~50 us of fixed cost)
            j = cand.hstack([base.get_column("t").gather(pl.Series(pos, dtype=pl.UInt32)).alias("t")])
    if j is None:
        j = cand.join(base, on="row", how="left")
    off = (pl.col("start") - left).clip(lower_bound=0)
    # one select (the context columns after the candidate's own) instead of with_columns and a drop
    return j.select(
        pl.exclude("t"),
        left_ctx=pl.col("t").str.slice(off, pl.col("start") - off).str.to_lowercase(),
        right_ctx=pl.col("t").str.slice(pl.col("end"), right).str.to_lowercase(),
    )


def _conform(df: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """`df.select(schema.names()).cast(schema)`, skipped when `df` has that schema already: each is a call of
    fixed cost (~50 us), and the recognizers' parts mostly have it."""
    if df.schema == schema:
        return df
    return df.select(schema.names()).cast(schema)


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
