"""LOCATION (street addresses)."""

from __future__ import annotations

import polars as pl

from ftdata_assets.transforms.pii.base import _COLS, _NUMBER_VETO, _context, _matches, _rx, _typed

# --------------------------------------------------------------------------------------------------------
# LOCATION (street addresses)
# --------------------------------------------------------------------------------------------------------

_SUFFIXES = [
    "Street", "St", "Avenue", "Ave", "Av", "Road", "Rd", "Boulevard", "Blvd", "Drive", "Dr", "Lane", "Ln",
    "Court", "Ct", "Place", "Pl", "Terrace", "Ter", "Way", "Parkway", "Pkwy", "Highway", "Hwy", "Circle",
    "Cir", "Square", "Sq", "Trail", "Trl", "Crescent", "Cres", "Close", "Grove", "Gardens", "Gdns", "Row",
    "Mews", "Walk", "Alley", "Aly", "Plaza", "Plz", "Loop", "Pike", "Path", "Expressway", "Expy",
    "Freeway", "Fwy", "Turnpike", "Tpke", "Park", "Hill", "Heights", "Hts", "Ridge", "Run", "Crossing",
    "Xing", "Point", "Pt", "Green", "Rise", "Vale", "View", "Wharf", "Quay", "Embankment", "Broadway",
]  # fmt: skip
_L = r"A-Za-zÀ-ÖØ-öø-ÿ"  # Latin letters (a small class keeps the automaton small and fast)
_DIR = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West|Northeast|Northwest|Southeast|Southwest)"
_NAME_TOK = rf"(?:[A-Z][{_L}'’\-]*\.?|[0-9]{{1,3}}(?:st|nd|rd|th))"
_UNIT = (
    r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Rm|Room|Bldg|Building|Flat)\.?\s*#?\s*[A-Za-z0-9\-]{1,6}\b"
    r"|,?\s*#\s*[A-Za-z0-9\-]{1,6}\b)?"
)
_POSTAL = (
    r"(?:[A-Z]{2}\s+[0-9]{5}(?:-[0-9]{4})?|[0-9]{5}(?:-[0-9]{4})?|"
    r"(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)\s?[0-9][A-Z]{2}|[A-Z][0-9][A-Z]\s?[0-9][A-Z][0-9])\b"
)
_CITY = rf"(?:,\s*[A-Z][{_L}'’\-.]*(?:\s+[A-Z][{_L}'’\-.]*){{0,3}})?,?\s+" + _POSTAL
_ADDRESS = _rx(
    r"(?:\b(?:Flat|Apt|Apartment|Unit|Suite)\s*[0-9]{1,4}[A-Za-z]?,?\s+)?"
    r"\b[0-9]{1,6}[A-Za-z]?(?:[\-/][0-9]{1,4}[A-Za-z]?)?,?\s+(?:" + _DIR + r"\.?\s+)?"
    r"(?:"
    + _NAME_TOK
    + r"\s+){1,4}(?:"
    + "|".join(_SUFFIXES)
    + r")\b\.?(?:\s+"
    + _DIR
    + r"\b\.?)?"
    + _UNIT
    + r"(?:"
    + _CITY
    + r")?"
)
_ADDRESS_LITERALS = [f" {s}" for s in _SUFFIXES]
_PO_BOX = _rx(r"\bP\.?\s?O\.?\s*Box\s+[0-9]{1,6}\b(?:" + _CITY + r")?")
_DE_STREET = ["straße", "strasse", "str.", "weg", "gasse", "platz", "allee", "damm", "ufer", "chaussee"]
_DE_ADDRESS = (
    r"\b[A-ZÄÖÜ][a-zäöüß\-]*(?:" + "|".join(s.replace(".", r"\.") for s in _DE_STREET) + r")"
    r"\s+[0-9]{1,4}[a-z]?\b(?:,\s*[0-9]{5}\s+[A-ZÄÖÜ][" + _L + r"\-]+)?"
)
_FR_STREET = ["rue", "avenue", "boulevard", "bd", "place", "quai", "allée", "impasse", "chemin", "route"]
_FR_ADDRESS = (
    r"\b[0-9]{1,4}(?:\s?(?:bis|ter))?,?\s+(?:" + "|".join(_FR_STREET) + r")"
    r"\s+(?:(?:de|du|des|la|le|les)\s+|l'|d')*[A-ZÉÈ][" + _L + r"'’\-]+(?:\s+[A-ZÉÈ][" + _L + r"'’\-]+){0,3}"
    r"(?:,\s*[0-9]{5}\s+[A-Z][" + _L + r"\-]+)?"
)


def _locations(num: pl.DataFrame) -> pl.DataFrame:
    t = pl.col("t")
    parts = [
        _matches(num.filter(t.str.contains_any(_ADDRESS_LITERALS)), _ADDRESS),
        _matches(num.filter(t.str.contains_any(["Box", "BOX"])), _PO_BOX),
        _matches(num.filter(t.str.contains_any(_DE_STREET)), _DE_ADDRESS),
        _matches(num.filter(t.str.contains_any(_FR_STREET, ascii_case_insensitive=True)), _FR_ADDRESS),
    ]
    c = pl.concat(parts)
    if c.height:
        c = _context(c, num, 12).filter(~pl.col("left_ctx").str.contains(_NUMBER_VETO)).select(_COLS)
    return _typed(c, "LOCATION")
