"""US_SSN."""

from __future__ import annotations

import polars as pl

from ftdata_assets.transforms.pii.base import _NUMBER_VETO, _context, _filter, _matches, _rx, _typed

# --------------------------------------------------------------------------------------------------------
# US_SSN
# --------------------------------------------------------------------------------------------------------

_SSN = _rx(
    r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b|\b[0-9]{3} [0-9]{2} [0-9]{4}\b|\b[0-9]{3}\.[0-9]{2}\.[0-9]{4}\b|\b[0-9]{9}\b"
)
SSN_CONTEXT: tuple[str, ...] = ("ssn", "social security", "ss#", "ss no", "ssa", "tin", "taxpayer")
"""Words before nine bare digits that make them an SSN (the dashed layouts need none)."""
_SSN_CONTEXT = _rx(r"(?:\bssn|social security|\bss#|\bss no|\bssa\b|\btin\b|taxpayer)")
_SSN_INVALID = ["123456789", "078051120", "219099999", "111111111", "222222222", "333333333", "444444444",
                "555555555", "777777777", "888888888", "987654320", "987654321"]  # fmt: skip


def _ssns(base: pl.DataFrame) -> pl.DataFrame:
    c = _matches(base, _SSN)
    if c.height == 0:
        return _typed(c, "US_SSN")
    c = _context(c, base, 30, 2)
    # nine bare digits only with an SSN word before them
    c = _filter(c, pl.col("text").str.contains(r"[^0-9]") | pl.col("left_ctx").str.contains(_SSN_CONTEXT))
    d = pl.col("text").str.replace_all(r"[^0-9]", "")
    area = d.str.slice(0, 3)
    valid = (
        (area != "000")
        & (area != "666")
        & ~area.str.starts_with("9")
        & (d.str.slice(3, 2) != "00")
        & (d.str.slice(5, 4) != "0000")
        & ~d.is_in(_SSN_INVALID)
    )
    keep = (
        valid
        & ~pl.col("left_ctx").str.contains(r"[0-9][.\-]?$|[a-z]$")
        & ~pl.col("right_ctx").str.contains(r"^[.\-]?[0-9]")
        & ~(pl.col("left_ctx").str.contains(_NUMBER_VETO) & ~pl.col("left_ctx").str.contains(_SSN_CONTEXT))
    )
    return _typed(_filter(c, keep), "US_SSN")
