"""IBAN_CODE."""

from __future__ import annotations

import functools
import re

import polars as pl
from stdnum import numdb

from ftdata_assets.transforms.pii.base import _matches, _rx, _typed

# --------------------------------------------------------------------------------------------------------
# IBAN_CODE
# --------------------------------------------------------------------------------------------------------

_IBAN = _rx(r"\b[A-Za-z]{2}[0-9]{2}(?:[ \-]?[A-Za-z0-9]){10,32}\b")


def _iban_span(text: str) -> int | None:
    """Length (chars of `text`) of the longest valid IBAN at its start, or None.

    `stdnum.iban` knows each country's length and BBAN format and checks mod-97 (not the national check digits
    inside some BBANs: a mistyped branch code is still somebody's account); an IBAN ends at the end of
    a group (trailing groups of other digits are dropped), and lower case is accepted (people type it so).

    A country's IBANs have one length, so at most one end fits: it is found by counting characters, and only
    that prefix is checked (mod-97 first: plain int arithmetic, then the country's BBAN format).
    """
    country = text[:2].upper()
    size = _iban_length(country)
    if size is None:
        return None
    # the candidates are ASCII letters and digits with spaces or dashes between groups (`_IBAN`)
    m = _nth_alnum(size).match(text)
    if m is None:
        return None
    end = m.end()
    # inside a group no IBAN ends, unless there are no separators at all (any length then)
    if end < len(text) and text[end].isalnum() and not text.isalnum():
        return None
    compact = _SEPARATORS.sub("", text[:end]).upper()
    if _mod97(compact) == 1 and _bban_format(country).fullmatch(compact[4:]):
        return end
    return None


_SEPARATORS = re.compile(r"[^A-Za-z0-9]")


@functools.cache
def _nth_alnum(n: int) -> re.Pattern[str]:
    """Matches a text up to and including its `n`-th ASCII letter or digit."""
    return re.compile(rf"(?:[^A-Za-z0-9]*[A-Za-z0-9]){{{n}}}")


@functools.cache
def _iban_length(country: str) -> int | None:
    """Characters of the country's IBANs (the BBAN format has a fixed length), or None: no IBANs there."""
    groups = _bban_groups(country)
    size = 4 + sum(n for n, _ in groups)
    return size if groups and 15 <= size <= 34 else None


@functools.cache
def _bban_groups(country: str) -> tuple[tuple[int, str], ...]:
    """The country's BBAN structure from stdnum's IBAN registry (`8!n10!n` -> (8, "n"), (10, "n")); empty for
    a country without IBANs."""
    info = _IBAN_DB.info(country + "00")
    structure = info[0][1].get("bban", "") if len(info) > 1 else ""
    return tuple((int(n), k) for n, k in re.findall(r"([0-9]+)!?([nac])", structure))


@functools.cache
def _bban_format(country: str) -> re.Pattern[str]:
    """The country's BBAN format (`8!n10!n` -> 18 digits); never matches for a country without IBANs. Same check
    as `stdnum.iban.validate(check_country=False)`, compiled once per country instead of once per call (that
    call is 0.1 ms)."""
    groups = _bban_groups(country)
    if not groups:
        return re.compile(r"(?!)")
    kinds = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}
    return re.compile("".join(f"{kinds[k]}{{{n}}}" for n, k in groups))


_IBAN_DB = numdb.get("iban")


_BASE36 = str.maketrans({ch: str(int(ch, 36)) for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})


def _mod97(compact: str) -> int:
    """ISO 7064 mod-97 of an upper-case IBAN (letters as 10-35, the first four characters moved to the end)."""
    return int((compact[4:] + compact[:4]).translate(_BASE36)) % 97


def _ibans(base: pl.DataFrame) -> pl.DataFrame:
    c = _matches(base, _IBAN)
    if c.height == 0:
        return _typed(c, "IBAN_CODE")
    # per candidate (few): stdnum decides where the IBAN ends
    spans = pl.Series([_iban_span(t) for t in c["text"].to_list()], dtype=pl.Int64)
    c = c.with_columns(n=spans).filter(pl.col("n").is_not_null())
    c = c.with_columns(end=pl.col("start") + pl.col("n"), text=pl.col("text").str.slice(0, pl.col("n")))
    return _typed(c, "IBAN_CODE")
