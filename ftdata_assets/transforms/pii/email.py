"""EMAIL_ADDRESS."""

from __future__ import annotations

import polars as pl

from ftdata_assets.transforms.pii.base import _context, _filter, _matches, _rx, _typed

# --------------------------------------------------------------------------------------------------------
# EMAIL_ADDRESS
# --------------------------------------------------------------------------------------------------------

_EMAIL = _rx(
    # local part: no length cap ({0,62} of a Unicode class is a 60-fold automaton, 5x slower on every text)
    r"[\p{L}\p{M}0-9_%+\-](?:[\p{L}\p{M}0-9._%+\-]*[\p{L}\p{M}0-9_%+\-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"
)
_FILE_EXTENSIONS = [
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "js", "css", "ts", "json",
    "lock", "yaml", "yml", "txt", "html", "heic",
]  # fmt: skip


def _emails(base: pl.DataFrame) -> pl.DataFrame:
    c = _matches(_filter(base, pl.col("t").str.contains("@", literal=True)), _EMAIL)
    tld = pl.col("text").str.extract(r"\.([A-Za-z]+)$", 1).str.to_lowercase()
    c = _filter(c, ~tld.is_in(_FILE_EXTENSIONS))  # "icon@2x.png"
    if c.height:
        # the "password@host" of scheme://user:password@host is a SECRET, not an email
        c = _filter(_context(c, base, 80), ~pl.col("left_ctx").str.contains(r"://[^\s/@]*:$"))
    return _typed(c, "EMAIL_ADDRESS")
