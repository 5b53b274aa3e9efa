"""CREDIT_CARD."""

from __future__ import annotations

import numpy as np
import polars as pl

from ftdata_assets.transforms.pii.base import _CARD_VETO, _context, _matches, _rx, _typed

# --------------------------------------------------------------------------------------------------------
# CREDIT_CARD
# --------------------------------------------------------------------------------------------------------

_CARD = _rx(r"\b[0-9](?:[ \-]?[0-9]){12,18}\b")


def _luhn_ok(numbers: pl.Series) -> np.ndarray:
    """Luhn check of digit strings (length <= 19), vectorized over an (n, 19) digit matrix."""
    if numbers.len() == 0:
        return np.zeros(0, dtype=bool)
    padded = numbers.str.pad_start(19, "0")
    arr = np.frombuffer("".join(padded.to_list()).encode("ascii"), dtype=np.uint8).reshape(-1, 19)
    arr = arr.astype(np.int16) - 48
    doubled = np.zeros(19, dtype=bool)
    doubled[-2::-2] = True  # every second digit from the right
    d = np.where(doubled, arr * 2, arr)
    d = np.where(d > 9, d - 9, d)
    return (d.sum(axis=1) % 10) == 0


def _card_brand_ok(d: pl.Expr) -> pl.Expr:
    """Issuer prefix (IIN) and length of the major networks."""
    n = d.str.len_chars()
    p2 = d.str.slice(0, 2).cast(pl.Int32, strict=False)
    p3 = d.str.slice(0, 3).cast(pl.Int32, strict=False)
    p4 = d.str.slice(0, 4).cast(pl.Int32, strict=False)
    return (
        (d.str.starts_with("4") & n.is_in([13, 16, 19]))  # Visa
        | ((p2.is_between(51, 55) | p4.is_between(2221, 2720)) & (n == 16))  # Mastercard
        | (p2.is_in([34, 37]) & (n == 15))  # Amex
        | (((p4 == 6011) | p3.is_between(644, 649) | (p2 == 65) | (p2 == 62)) & n.is_between(16, 19))
        | (p4.is_between(3528, 3589) & n.is_between(16, 19))  # JCB
        | ((p3.is_between(300, 305) | (p2 == 36) | p2.is_in([38, 39])) & n.is_between(14, 19))  # Diners
        | ((p2.is_in([50, 56, 57, 58]) | d.str.starts_with("6")) & n.is_between(12, 19))  # Maestro
    )


def _cards(base: pl.DataFrame) -> pl.DataFrame:
    c = _matches(base, _CARD)
    if c.height == 0:
        return _typed(c, "CREDIT_CARD")
    c = c.with_columns(d=pl.col("text").str.replace_all(r"[^0-9]", ""))
    # separators, if any, are all the same and leave no group of 1-2 digits
    seps = pl.col("text").str.replace_all(r"[0-9]", "")
    one_sep = (seps == "") | (seps.str.replace_all(" ", "") == "") | (seps.str.replace_all("-", "") == "")
    ok_groups = (seps == "") | ~pl.col("text").str.contains(r"(?:^|[ \-])[0-9]{1,2}(?:[ \-]|$)")
    c = c.filter(one_sep & ok_groups & _card_brand_ok(pl.col("d")))
    c = c.filter(pl.Series(_luhn_ok(c["d"])))
    c = _context(c, base, 30, 2)
    c = c.filter(~pl.col("left_ctx").str.contains(_CARD_VETO) & ~pl.col("right_ctx").str.contains(r"^[\-.][0-9]"))
    return _typed(c, "CREDIT_CARD")
