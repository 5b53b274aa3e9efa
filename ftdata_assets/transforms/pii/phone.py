"""PHONE_NUMBER."""

from __future__ import annotations

import polars as pl

from ftdata_assets.transforms.pii.base import _NUMBER_VETO, _context, _matches, _rx, _typed

# --------------------------------------------------------------------------------------------------------
# PHONE_NUMBER
# --------------------------------------------------------------------------------------------------------

# one pass for every format; the format of each candidate is told apart afterwards
_PHONE_FORMATS = {
    # international: +CC then groups (a "(0)" trunk allowed), 8-15 digits
    "intl": r"\+[1-9][0-9]{0,2}(?:[ .\-]?\(0\))?(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,5})){1,6}\b",
    # North American: (415) 555-2671, 415-555-2671, 1-415-555-2671
    "nanp": r"(?:\b1[ .\-]?)?(?:\([0-9]{3}\)[ .\-]?|\b[0-9]{3}[ .\-])[0-9]{3}[ .\-][0-9]{4}\b",
    # national with a trunk 0 (UK, DE, ...): 020 7946 0958, 07700 900123, (030) 1234567
    "trunk": r"(?:\b0[0-9]{2,4}|\(0[0-9]{2,4}\))[ \-/]?[0-9]{3,4}[ \-]?[0-9]{3,4}\b",
    # French pairs: 01 42 68 53 00
    "pairs": r"\b0[1-9](?:[ .][0-9]{2}){4}\b",
    # bare digits, only with a phone word before them
    "bare": r"\b[0-9]{10,11}\b",
}
_PHONE_ANY = _rx("|".join(f"(?:{p})" for p in _PHONE_FORMATS.values()))
_PHONE_KIND = {k: _rx(f"^(?:{p})$") for k, p in _PHONE_FORMATS.items()}
_PHONE_CONTEXT = r"(?:phone|call|tel|mobile|cell|text me|txt|whatsapp|fax|reach|contact|number|ring me|dial|sms|ph)"
_DATE_LIKE = r"^[0-9]{1,4}[./\-][0-9]{1,2}[./\-][0-9]{1,4}$"


def _phones(base: pl.DataFrame) -> pl.DataFrame:
    c = _matches(base, _PHONE_ANY)
    if c.height == 0:
        return _typed(c, "PHONE_NUMBER")
    text = pl.col("text")
    digits = text.str.replace_all(r"\(0\)|[^0-9]", "")
    nd = digits.str.len_chars()
    local = digits.str.slice(-10)
    nanp_ok = (
        local.str.contains(r"^[2-9][0-9]{2}[2-9][0-9]{6}$")
        & ~local.str.contains(r"^[0-9]11")
        & ((nd == 10) | digits.str.starts_with("1"))
    )
    c = _context(c, base, 30, 2)
    ok = (
        (text.str.contains(_PHONE_KIND["intl"]) & nd.is_between(8, 15))
        | (text.str.contains(_PHONE_KIND["nanp"]) & nanp_ok)
        | (text.str.contains(_PHONE_KIND["trunk"]) & nd.is_between(9, 12) & ~text.str.contains(_DATE_LIKE))
        | text.str.contains(_PHONE_KIND["pairs"])
        | (text.str.contains(_PHONE_KIND["bare"]) & pl.col("left_ctx").str.contains(_PHONE_CONTEXT))
    )
    keep = (
        ok
        # "+" numbers are explicit; national formats yield to an order/ticket/ISBN label before them
        & (text.str.starts_with("+") | ~pl.col("left_ctx").str.contains(_NUMBER_VETO))
        & ~pl.col("left_ctx").str.contains(r"[0-9][.\-/]?$|[a-z]$")
        & ~pl.col("right_ctx").str.contains(r"^[.\-/]?[0-9]|^[a-z]")
        # a national number right after another digit group is the tail of a longer number
        & (text.str.starts_with("+") | ~pl.col("left_ctx").str.contains(r"[0-9] $"))
    )
    return _typed(c.filter(keep), "PHONE_NUMBER")
