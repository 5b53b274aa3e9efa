"""CREDIT_CARD: 12-19 digits (one kind of separator, groups as issuers print them), Luhn, then an issuer's
prefix and length or a card word before it ("Karte", "CC#", "card_number="), and no identifier label
("order", "invoice", "#" alone). A candidate followed by other digits after a space ("4111... 12/27 123")
is also tried without its last one or two groups.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from stdnum import isbn

from ftdata_assets.transforms.pii.base import (
    _CARD_VETO,
    _NON_WORD,
    _TWO_WORDS,
    _context,
    _filter,
    _label_near,
    _matches,
    _rx,
    _typed,
)

# --------------------------------------------------------------------------------------------------------
# CREDIT_CARD
# --------------------------------------------------------------------------------------------------------

_CARD = _rx(r"\b[0-9](?:[ \-]?[0-9]){11,18}\b")


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


def _card_brand_ok(numbers: pl.Series) -> np.ndarray:
    """Issuer prefix (IIN) and length of the networks that issue cards to people (ISO/IEC 7812 ranges).

    numpy over the digit strings: as polars expressions these twenty comparisons cost ten times more."""
    n = numbers.str.len_bytes().to_numpy()
    p4 = numbers.str.slice(0, 4).cast(pl.Int32, strict=False).fill_null(0).to_numpy()
    p1, p2, p3 = p4 // 1000, p4 // 100, p4 // 10

    def between(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
        return (x >= lo) & (x <= hi)

    return (
        ((p1 == 4) & between(n, 13, 19))  # Visa (incl. Electron, 19-digit)
        | ((between(p2, 51, 55) | between(p4, 2221, 2720)) & (n == 16))  # Mastercard
        | (np.isin(p2, [34, 37]) & (n == 15))  # Amex
        | (((p4 == 6011) | between(p3, 644, 649) | (p2 == 65)) & between(n, 16, 19))  # Discover
        | (np.isin(p2, [62, 81]) & between(n, 16, 19))  # UnionPay
        | ((p2 == 35) & between(n, 16, 19))  # JCB (3528-3589 issued; Faker writes any 35xx)
        | (np.isin(p4, [2131, 1800]) & (n == 15))  # JCB 15-digit
        | ((between(p3, 300, 305) | (p4 == 3095) | np.isin(p2, [36, 38, 39])) & between(n, 14, 19))  # Diners
        | (between(p4, 2200, 2204) & between(n, 16, 19))  # Mir
        | ((np.isin(p2, [50, 56, 57, 58, 60, 63, 67]) | (p4 == 604)) & between(n, 12, 19))  # Maestro, RuPay
        | ((p4 == 9792) & (n == 16))  # Troy
        | ((p1 == 1) & (n == 15))  # UATP
    )


CARD_CONTEXT: tuple[str, ...] = (
    "card", "credit", "debit", "karte", "kreditkarte", "carte", "tarjeta", "cartão", "cartao", "carta",
    "kaart", "karta", "visa", "mastercard", "amex", "maestro", "jcb", "unionpay", "discover", "diners", "cc",
    "cvv", "pan", "カード", "信用卡", "银行卡", "카드",
)  # fmt: skip
"""Words before a number that make any Luhn-valid 12-19 digits a card, whatever its issuer prefix."""
_CARD_CONTEXT_RX = r"(?:^|[^\p{L}])(?:" + "|".join(CARD_CONTEXT) + r")(?:[^\p{L}]|$)"
_CARD_WORD_NEAR = r"(?:^|[^\p{L}])(?:" + "|".join(CARD_CONTEXT) + r")" + _TWO_WORDS
_CARD_LABEL = _label_near()


def _isbn13(numbers: list[str]) -> list[bool]:
    """A 13-digit 978/979 number that is a valid ISBN is a book, not a card (stdnum's checksum)."""
    return [len(x) == 13 and x.startswith(("978", "979")) and isbn.is_valid(x) for x in numbers]


_CARD_HASH = r"(?:^|[^\p{L}])(?:" + "|".join(CARD_CONTEXT) + r"|number|no|nr)\.?\s?#" + _NON_WORD + "{0,3}$"
"""A "#" right after a card word ("CC#", "Card #", "card no. #") labels the card, not an order number."""


def _valid(c: pl.DataFrame, base: pl.DataFrame) -> pl.DataFrame:
    """The candidates (row, start, end, text) that are card numbers: grouping, length, Luhn, issuer or a card
    word, no identifier label before them."""
    text = pl.col("text")
    c = c.with_columns(d=text.str.replace_all(r"[^0-9]", ""))
    # separators (the candidate pattern allows a space or a dash), if any, are all the same and leave no
    # group of 1-2 digits, except a short last one after groups of four ("4208 8605 7102 0", 13 digits)
    one_sep = ~(text.str.contains(" ", literal=True) & text.str.contains("-", literal=True))
    ok_groups = ~text.str.contains(r"(?:^|[ \-])[0-9]{1,2}(?:[ \-]|$)") | text.str.contains(
        r"^[0-9]{4}(?:[ \-][0-9]{4}){2,3}[ \-][0-9]{1,3}$"
    )
    c = _filter(c, one_sep & ok_groups & pl.col("d").str.len_chars().is_between(12, 19))
    c = c.filter(pl.Series(_luhn_ok(c["d"])))
    if c.height == 0:
        return c
    c = _context(c.with_columns(brand=pl.Series(_card_brand_ok(c["d"]))), base, 30, 2)
    left = pl.col("left_ctx")
    c = _filter(
        c,
        # a known issuer, or a card word before it ("Karte: 6123 ...")
        (pl.col("brand") | left.str.contains(_CARD_CONTEXT_RX))
        & (~left.str.contains(_CARD_VETO) | left.str.contains(_CARD_HASH))
        & ~pl.col("right_ctx").str.contains(r"^[\-.][0-9]")
        # "Your order number is ...": a label two words before, unless a card word is nearer ("order, card ...")
        & (~left.str.contains(_CARD_LABEL) | left.str.contains(_CARD_WORD_NEAR)),
    )
    return c.filter(~pl.Series(_isbn13(c["d"].to_list()), dtype=pl.Boolean))


_LAST_GROUP = r" [0-9]+$"


def _cards(base: pl.DataFrame) -> pl.DataFrame:
    c = _matches(base, _CARD)
    if c.height == 0:
        return _typed(c, "CREDIT_CARD")
    # each candidate, and the same without its last one or two groups after a space: the card number when
    # other digits follow it ("4029715249446081 12/27 123": an expiry month, a CVV, a quantity); the longest
    # valid one of a start wins
    text = pl.col("text")
    head1 = _filter(c, text.str.contains(_LAST_GROUP)).with_columns(text=text.str.replace(_LAST_GROUP, ""))
    head2 = _filter(head1, text.str.contains(_LAST_GROUP)).with_columns(text=text.str.replace(_LAST_GROUP, ""))
    heads = pl.concat([head1, head2]).with_columns(end=pl.col("start") + text.str.len_chars().cast(pl.Int64))
    # one chunk: polars runs an expression over a frame of several chunks in its pool (see `_filter`)
    found = _valid(pl.concat([c, heads], rechunk=True), base)
    found = found.sort(["row", "start", "end"], descending=[False, False, True]).unique(
        ["row", "start"], keep="first", maintain_order=True
    )
    return _typed(found, "CREDIT_CARD")
