"""IP_ADDRESS."""

from __future__ import annotations

import ipaddress

import polars as pl

from ftdata_assets.transforms.pii.base import _COLS, _context, _filter, _matches, _rx, _typed

# --------------------------------------------------------------------------------------------------------
# IP_ADDRESS
# --------------------------------------------------------------------------------------------------------

_IPV4 = _rx(r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b")
_IPV6 = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?:\.[0-9]{1,3})?)?"
_VERSION_CONTEXT = _rx(
    r"(?:\bv|version|\bver\.?|release|build|firmware|\bfw|patch|\brev\.?|revision|update|upgrade|"
    r"upgraded|downgrade|sdk|driver|kernel|@|==|>=|<=|~=|\bsection|§|chapter|\bfig\.?|\btable)\s*:?\s*$"
)


def _ipv6_ok(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text.split("%")[0])
    except ValueError:
        return False
    return True


def _ips(base: pl.DataFrame) -> pl.DataFrame:
    v4 = _matches(base, _IPV4)
    if v4.height:
        octets = pl.col("text").str.split(".")
        v4 = _filter(
            v4,
            octets.list.eval(
                (pl.element().cast(pl.Int32) <= 255)
                & ((pl.element().str.len_chars() == 1) | ~pl.element().str.starts_with("0"))
            ).list.all(),
        )
        v4 = _context(v4, base, 20, 2)
        v4 = _filter(
            v4,
            ~pl.col("left_ctx").str.contains(r"[0-9]\.$|[.\-]$")  # inside a longer dotted number
            & ~pl.col("right_ctx").str.contains(r"^\.[0-9]|^-[0-9]")
            & ~pl.col("left_ctx").str.contains(_VERSION_CONTEXT),
        ).select(_COLS)
    v6 = _matches(
        _filter(
            base,
            pl.col("t").str.contains("::", literal=True)
            | pl.col("t").str.contains(r"[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:"),
        ),
        _IPV6,
    )
    if v6.height:
        v6 = _filter(
            v6,
            pl.col("text").str.contains(r"[0-9]")
            & (pl.col("text").str.count_matches(":") >= 2)
            & (pl.col("text").str.len_chars() >= 3),
        )
        v6 = _filter(
            _context(v6, base, 1, 1),
            ~pl.col("left_ctx").str.contains(r"[\w:.]$") & ~pl.col("right_ctx").str.contains(r"^[\w:]"),
        )
        v6 = v6.filter(pl.Series([_ipv6_ok(t) for t in v6["text"].to_list()], dtype=pl.Boolean))
        v6 = v6.select(_COLS)
    return _typed(pl.concat([v4, v6]), "IP_ADDRESS")
