"""IBAN_CODE."""

from __future__ import annotations

import polars as pl

from ftdata_assets.transforms.pii.base import _matches, _rx, _typed

# --------------------------------------------------------------------------------------------------------
# IBAN_CODE
# --------------------------------------------------------------------------------------------------------

_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
_IBAN = _rx(r"\b[A-Z]{2}[0-9]{2}(?:[ \-]?[A-Z0-9]){10,32}\b")


def _iban_span(text: str) -> int | None:
    """Length (chars of `text`) of the valid IBAN at its start, or None. Trailing groups are dropped."""
    want = _IBAN_LENGTHS.get(text[:2])
    if want is None:
        return None
    n = 0
    for i, ch in enumerate(text):
        if ch.isalnum():
            n += 1
            if n == want:
                if i + 1 < len(text) and text[i + 1].isalnum():
                    return None  # the IBAN would end inside a group
                compact = "".join(c for c in text[: i + 1] if c.isalnum())
                moved = compact[4:] + compact[:4]
                number = "".join(str(int(c, 36)) for c in moved)
                return i + 1 if int(number) % 97 == 1 else None
    return None


def _ibans(base: pl.DataFrame) -> pl.DataFrame:
    c = _matches(base, _IBAN)
    if c.height == 0:
        return _typed(c, "IBAN_CODE")
    # per candidate (few): the country's length decides where the IBAN ends, then mod-97
    spans = pl.Series([_iban_span(t) for t in c["text"].to_list()], dtype=pl.Int64)
    c = c.with_columns(n=spans).filter(pl.col("n").is_not_null())
    c = c.with_columns(end=pl.col("start") + pl.col("n"), text=pl.col("text").str.slice(0, pl.col("n")))
    return _typed(c, "IBAN_CODE")
