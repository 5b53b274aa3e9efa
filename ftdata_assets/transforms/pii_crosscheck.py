"""A second opinion for the blocking PII check: an independent detector for what the scrub may have missed.

`no_pii_left` used to re-run the scrub's own detector over the scrubbed texts, so it could never find what
that detector does not know (national phone formats of other countries, 15-digit JCB and long Maestro
numbers, lower-case IBANs). This module is a different implementation on purpose: nothing is imported from
`transforms/pii/` (the placeholder shape and the type names are restated here), and every value it reports
is validated by a maintained library:

- PHONE_NUMBER: `phonenumbers.PhoneNumberMatcher` over each candidate. International numbers (`+`, `00`)
  must be valid (`Leniency.VALID`); national numbers must be written in a grouping the library itself
  formats them in for one of `regions` (`Leniency.EXACT_GROUPING`), or be a valid ungrouped number right
  after a phone word ("call", "tel", "mobile", ...).
- CREDIT_CARD: 12-19 digits, consistent separators, an issuer prefix and length (Visa, Mastercard, Amex,
  Discover, JCB including 15-digit, Diners, Maestro, UnionPay, Mir, RuPay, Troy) and `stdnum.luhn`.
- IBAN_CODE: `stdnum.iban` (country length, BBAN format, mod-97) on any case, grouped or not.
- EMAIL_ADDRESS: a local@domain.tld pattern with a letters-only TLD that is not a file extension.

Why it stays quiet on everything else (it blocks a release, so a false alarm stops a dataset): a vectorized
polars pass extracts the candidates and drops the look-alikes before any library runs (dates, times,
versions, IP addresses, prices, percentages, numbers glued to letters or code, numbers after an
order/invoice/ISBN/version label); placeholders never take part; allow-listed values are dropped. The
libraries run once per *distinct* candidate, so the cost grows with the candidates, not with the texts.
"""

import functools
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import phonenumbers
import polars as pl
from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import iban as stdnum_iban
from stdnum import luhn

from ftdata_assets.transforms.pii_report import scan_scrubbed_texts, scrubbed_texts

CROSSCHECK_TYPES: tuple[str, ...] = ("CREDIT_CARD", "IBAN_CODE", "EMAIL_ADDRESS", "PHONE_NUMBER")
"""Types the second opinion looks for (Presidio's names, as the scrub's), in overlap priority order."""

DETECTORS: dict[str, str] = {
    "CREDIT_CARD": "stdnum.luhn+iin",
    "IBAN_CODE": "stdnum.iban",
    "EMAIL_ADDRESS": "email_pattern",
    "PHONE_NUMBER": "phonenumbers",
}
"""Which library (or rule) vouches for a finding of each type: shown in the check's metadata."""

DEFAULT_REGIONS: tuple[str, ...] = (
    "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE",
    "GB", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "IT", "ES", "PT",
    "SE", "NO", "DK", "FI", "PL", "CZ", "SK", "HU", "RO", "BG", "GR", "HR", "SI", "RS", "UA", "RU", "TR",
    "IL", "AE", "SA", "EG", "NG", "KE", "ZA",
    "IN", "PK", "BD", "CN", "HK", "TW", "JP", "KR", "SG", "MY", "TH", "VN", "ID", "PH", "AU", "NZ",
)  # fmt: skip
"""Regions whose national formats are checked. Small open-numbering plans (LU, IS, ...) are left out: nearly
any grouped digits are valid there (`2026 11 01` is a Luxembourg number), which would only add false alarms."""

FINDINGS_SCHEMA = pl.Schema(
    {
        "row": pl.UInt32(),
        "entity_type": pl.String(),
        "detector": pl.String(),
        "start": pl.Int64(),
        "end": pl.Int64(),
        "text": pl.String(),
    }
)
"""One row per finding; `row` indexes the input texts, `start`/`end` are Python character offsets."""

PLACEHOLDER_PATTERN = r"<[A-Z][A-Z0-9_]{0,39}_\d+>"
"""What `scrub` writes (`pii.PLACEHOLDER_PATTERN`), for the built-in types and any user-defined one."""

BUILTIN_RECOGNIZER_TYPES: dict[str, str] = {
    "phone": "PHONE_NUMBER",
    "credit_card": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "email": "EMAIL_ADDRESS",
}
"""params.yaml `pii.disable` may name the scrub's recognizers instead of types: these are the ones that matter."""

_BLOCK = "\x1f"  # what a placeholder becomes before scanning: no candidate pattern crosses it


def enabled_types(pii_params: Mapping[str, Any] | None) -> frozenset[str]:
    """The types the second opinion should look for under params.yaml `pii:`: all of CROSSCHECK_TYPES but
    those `pii.disable` switches off (by type or by the scrub's recognizer name), so a type a user chose to
    keep is never a blocking finding. Unknown names are left for the scrub's own params check to report."""
    disabled = (pii_params or {}).get("disable") or []
    if isinstance(disabled, str) or not isinstance(disabled, Sequence):
        raise ValueError(f"pii.disable: expected a list of entity types or recognizer names, got {disabled!r}")
    off = {BUILTIN_RECOGNIZER_TYPES.get(str(name), str(name)) for name in disabled}
    return frozenset(t for t in CROSSCHECK_TYPES if t not in off)


# ------------------------------------------------------------------------------------------ candidates

_PHONE = (
    r"(?:\+|\b00|\(\+?)?(?:\(\d{1,4}\)[ .\-]?)?\d[\d \u00a0.\-/()]{4,24}\d"
    r"(?:[ ]?(?:x|ext\.?|extn\.?|extension)[ ]?\d{1,6})?"
)
_CARD = r"\b\d(?:[ \-]?\d){11,18}\b"
_IBAN = r"(?i)\b[a-z]{2}\d{2}(?:[ \-]?[a-z0-9]){10,32}\b"
_EMAIL = r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,24}\b"

_LABELS = (
    "order", "invoice", "tracking", "ticket", "ref", "reference", "case", "sku", "serial", "isbn", "issn",
    "doi", "confirmation", "transaction", "txn", "booking", "po", "pnr", "id", "imei", "part", "model",
    "batch", "lot", "receipt", "routing", "swift", "bic", "version", "build", "release", "firmware", "v",
    "account", "acct", "customer", "member", "policy", "claim", "zip", "postcode", "pin", "otp", "code",
    "port", "pid", "uid", "commit", "hash", "checksum", "size", "bytes", "page", "item", "product", "step",
    "ean", "upc", "gtin", "barcode", "asin", "qty", "ssn", "sin", "nin", "tax", "vat", "address", "postal", "plz",
    "cep", "〒",
)  # fmt: skip
_LABEL_BEFORE = (
    r"(?i)(?:^|\W)(?:" + "|".join(_LABELS) + r")s?\.?\W{0,3}(?:[_\-]?(?:id|no|nr|number|num)\.?|#)?"
    r"(?:\W{1,3}(?:is|was|are|were|reads))?\W{0,3}$"
)
"""An identifier's label right before a number: "order 512 345 678", "order_id=6205...", "Your order number
is 6565..."."""
_PHONE_WORD = (
    r"(?-i:\b[MTF]\s?:\s*$)|"  # signature lines: "M: 511 496 966"
    r"(?i)\b(?:phone|call|tel|telephone|mobile|cell|handy|whatsapp|signal|sms|text me|fax|dial|ring me|reach me|"
    r"my number|contact number|telefon|teléfono|téléphone|telefone|móvil|portable|celular)\b[^\d\n]{0,16}$"
)
"""A phone word shortly before: what lets an ungrouped or thousands-grouped national number count."""
_CARD_WORD = r"(?i)\b(?:card|visa|credit|debit|pan|cc)\b"
_DATE = r"^\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}$|^\d{1,2}[./\-]\d{4}$|^(?:19|20)\d{2}[ ./\-]\d{1,2}[ ./\-]\d{1,2}$"
_DOTTED = r"^\d{1,4}(?:\.\d{1,4}){2,}$|^\d{1,3}(?:\.\d{1,3}){3}/\d{1,3}$"  # versions, IPv4 (and CIDR)
_COMPACT_DATE = r"^\(?(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\)?$"  # 20110425
_POSTCODE = r"^\d{5}-\d{4,5}$|^\d{3}-\d{4}$"  # ZIP+4, Iranian, Japanese postcodes
_GROUPED_AMOUNT = r"^\d{1,3}(?:[,.]\d{3})+(?:[.,]\d{1,2})?$"
_SPACED_THOUSANDS = r"^\d{1,3}(?: \d{3})+$"  # "10 000 000" in most of Europe; also "699 956 915" in Spain
_QUANTITY_AFTER = (
    r"(?i)^\s?(?:[€$£¥₹%]|(?:euros?|dollars?|pounds?|eur|usd|gbp|yen|rupees?|kr|zł|people|persons|users|"
    r"visitors|bytes|[kmgt]i?b|km|kg|times|years|days|rows|records|units|items|tokens|words|views|downloads)\b)"
)
_CURRENCY = r"[$€£¥₹₩₽¢]\s?$|(?i)(?:usd|eur|gbp|chf|sek|nok|dkk|pln|rs\.?|inr)\s?$"
_FILE_EXTENSIONS = (
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "js", "mjs", "css", "ts", "json",
    "lock", "yaml", "yml", "txt", "html", "heic", "py", "md", "zip", "tar", "gz", "pdf", "csv", "xml", "git",
)  # fmt: skip


def _candidates(base: pl.DataFrame, pattern: str) -> pl.DataFrame:
    """Every match of `pattern` in `base["t"]` with its character offsets and 32/12 chars of context.

    Offsets: `str.split` by the same pattern gives the text between matches, so a match starts at the
    running sum of the character lengths of the pieces and matches before it (within its row).
    """
    hit = base.filter(pl.col("t").str.contains(pattern))
    empty = pl.DataFrame(
        schema={"row": pl.UInt32, "start": pl.Int64, "end": pl.Int64, "text": pl.String, "left": pl.String}
        | {"right": pl.String}
    )
    if hit.height == 0:
        return empty
    pieces = hit.select(
        "row",
        "t",
        text=pl.col("t").str.extract_all(pattern),
        gap=pl.col("t").str.split(pattern, literal=False),
    ).with_columns(pl.col("gap").list.head(pl.col("text").list.len()))
    exploded = pieces.explode(["text", "gap"]).filter(pl.col("text").is_not_null())
    if exploded.height == 0:
        return empty
    size = pl.col("text").str.len_chars().cast(pl.Int64)
    step = pl.col("gap").str.len_chars().cast(pl.Int64) + size
    located = exploded.with_columns(start=(step.cum_sum().over("row") - size))
    left = (pl.col("start") - 32).clip(lower_bound=0)
    return located.select(
        "row",
        "start",
        end=pl.col("start") + size,
        text="text",
        left=pl.col("t").str.slice(left, pl.col("start") - left),
        right=pl.col("t").str.slice(pl.col("start") + size, 12),
    )


# ------------------------------------------------------------------------------------------------ phones


class _Region(NamedTuple):
    code: str
    trunk: str
    lengths: frozenset[int]
    pattern: re.Pattern[str]


@functools.lru_cache(maxsize=8)
def _region_table(regions: tuple[str, ...]) -> tuple[_Region, ...]:
    """Per region: trunk prefix, possible national lengths and the general number pattern, so a candidate
    only meets the matcher in regions where its digits can be a number at all (the matcher is ~0.5 ms)."""
    table = []
    for code in regions:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(code.upper())
        if meta is None:
            raise ValueError(
                f"unknown phone region {code!r} (phonenumbers knows {len(phonenumbers.SUPPORTED_REGIONS)})"
            )
        desc = meta.general_desc
        table.append(
            _Region(
                code.upper(),
                meta.national_prefix or "",
                frozenset(desc.possible_length or ()),
                re.compile(desc.national_number_pattern or r"\d+"),
            )
        )
    return tuple(table)


def _covers(match: phonenumbers.PhoneNumberMatch, candidate: str) -> bool:
    """The match is the whole candidate (not a valid piece of a longer digit string)."""
    digits = re.sub(r"\D", "", candidate)
    return re.sub(r"\D", "", match.raw_string) == digits or (match.number.extension is not None and match.start == 0)


_EXTENSION = r"(?:x|ext\.?|extn\.?|extension)[ ]?\d{1,6}$"


@functools.lru_cache(maxsize=65536)
def _phone_span(candidate: str, after_phone_word: bool, regions: tuple[str, ...]) -> tuple[int, int] | None:
    """(offset, length) of the part of `candidate` the library vouches for as a phone number, or None."""
    text = candidate.replace("\u00a0", " ")
    if text.startswith(("+", "(+", "00")):
        probe = "+" + text[2:] if text.startswith("00") else text
        for match in PhoneNumberMatcher(probe, "US", leniency=Leniency.VALID):
            if _covers(match, probe):
                return (0, len(text)) if probe is not text else (match.start, match.end - match.start)
        return None
    core = re.sub(r"[ ]?" + _EXTENSION, "", text)
    digits = re.sub(r"\D", "", core)
    grouped = bool(re.search(r"\d[ .\-/()]+\d", core)) or core.startswith("(")
    if not grouped and not after_phone_word:
        return None
    groups = len(re.findall(r"\d+", core))
    if not after_phone_word and groups < 3 and len(digits) < 9:
        return None  # "01 300000" is a Vienna number, and a config value: short two-group numbers need a phone word
    leniency = Leniency.EXACT_GROUPING if grouped else Leniency.VALID
    for region in _region_table(regions):
        stripped = digits[len(region.trunk) :] if region.trunk and digits.startswith(region.trunk) else digits
        if not any(len(d) in region.lengths and region.pattern.fullmatch(d) for d in {digits, stripped}):
            continue
        for match in PhoneNumberMatcher(text, region.code, leniency=leniency):
            if _covers(match, text):
                return match.start, match.end - match.start
    return None


def _phones(base: pl.DataFrame, regions: tuple[str, ...]) -> pl.DataFrame:
    c = _candidates(base.filter(pl.col("t").str.contains(r"\d{2}")), _PHONE)
    if c.height == 0:
        return c
    core = pl.col("text").str.replace(r"[ ]?" + _EXTENSION, "")
    international = pl.col("text").str.contains(r"^(?:\+|\(\+|00)")
    c = c.filter(
        core.str.replace_all(r"\D", "").str.len_chars().is_between(7, 17)
        & ~core.str.contains(_DATE)
        & ~core.str.contains(_DOTTED)
        & ~core.str.contains(_COMPACT_DATE)
        & ~core.str.contains(_POSTCODE)
        & ~core.str.contains(_GROUPED_AMOUNT)
        & ~core.str.contains(r"[ .\-/]{2}|\d\.\d{1,2}$")  # "1 - 2", decimals
        & ~pl.col("left").str.contains(_CURRENCY)
        & ~pl.col("right").str.contains(_QUANTITY_AFTER)
        & ~pl.col("right").str.contains(r"^(?:[%‰°:]|[\p{L}\p{N}_@])")  # 12:30, 2000mAh
        # glued to a word or code (LM-4839201, id=..., /api/123..., 3,14159265); a CSV comma is fine;
        # "+" numbers only mind letters and digits
        & (
            (international & ~pl.col("left").str.contains(r"[\p{L}\p{N}_]$"))
            | (
                ~international
                & ~pl.col("left").str.contains(r"[\p{L}\p{N}_#/=\\.\-+]$|\d[,.:]$")
                & ~pl.col("right").str.contains(r"^[.,]\d")  # 12.5, 1,5
            )
        )
        & (international | ~pl.col("left").str.contains(_LABEL_BEFORE))
        & ~pl.col("left").str.contains(r"(?i)\b(?:isbn|issn|doi)\W")
    )
    if c.height == 0:
        return c
    c = c.with_columns(word=pl.col("left").str.contains(_PHONE_WORD)).filter(
        pl.col("word") | international | ~core.str.contains(_SPACED_THOUSANDS)
    )
    keys = c.select("text", "word")
    spans = {key: _phone_span(key[0], key[1], regions) for key in keys.unique().iter_rows()}
    found = [spans[key] for key in keys.iter_rows()]
    c = c.with_columns(
        offset=pl.Series([s[0] if s else None for s in found], dtype=pl.Int64),
        length=pl.Series([s[1] if s else None for s in found], dtype=pl.Int64),
    ).filter(pl.col("offset").is_not_null())
    return c.with_columns(
        start=pl.col("start") + pl.col("offset"),
        end=pl.col("start") + pl.col("offset") + pl.col("length"),
        text=pl.col("text").str.slice(pl.col("offset"), pl.col("length")),
    ).drop("offset", "length")


# ------------------------------------------------------------------------------------------------- cards


def _card_brand(d: pl.Expr) -> pl.Expr:
    """Issuer identification number and length of the card networks (ISO/IEC 7812 ranges as published)."""
    n = d.str.len_chars()
    p = {k: d.str.slice(0, k).cast(pl.Int32, strict=False) for k in (1, 2, 3, 4, 6)}
    return (
        ((p[1] == 4) & n.is_in([13, 16, 19]))  # Visa (13 digits only after a card word: EAN-13s start with 4)
        | ((p[2].is_between(51, 55) | p[4].is_between(2221, 2720)) & (n == 16))  # Mastercard
        | (p[2].is_in([34, 37]) & (n == 15))  # Amex
        | (((p[4] == 6011) | p[3].is_between(644, 649) | (p[2] == 65)) & n.is_between(16, 19))  # Discover
        | (p[4].is_between(3528, 3589) & n.is_between(16, 19))  # JCB
        | (p[4].is_in([1800, 2131]) & (n == 15))  # JCB, 15 digits
        | ((p[3].is_between(300, 305) | (p[3] == 309) | p[2].is_in([36, 38, 39])) & n.is_between(14, 19))  # Diners
        | ((p[2].is_in([50, 56, 57, 58]) | p[1].eq(6)) & n.is_between(12, 19))  # Maestro
        | ((p[2] == 62) & n.is_between(16, 19))  # UnionPay
        | (p[4].is_between(2200, 2204) & n.is_between(16, 19))  # Mir
        | ((p[2].is_in([81, 82]) | (p[3] == 508)) & (n == 16))  # RuPay
        | ((p[4] == 9792) & (n == 16))  # Troy
    )


def _cards(base: pl.DataFrame) -> pl.DataFrame:
    c = _candidates(base.filter(pl.col("t").str.contains(r"\d{4}")), _CARD)
    if c.height == 0:
        return c
    digits = pl.col("text").str.replace_all(r"\D", "")
    separators = pl.col("text").str.replace_all(r"\d", "")
    c = c.with_columns(digits=digits).filter(
        # one kind of separator, and groups of 3+ digits (4-4-4-4, 4-6-5, 4-4-4-4-3), or none at all
        ((separators == "") | (separators.str.replace_all(" ", "") == "") | (separators.str.replace_all("-", "") == ""))
        & ~pl.col("text").str.contains(r"(?:^|[ \-])\d{1,2}(?:[ \-]|$)")
        & _card_brand(pl.col("digits"))
        & ~pl.col("left").str.contains(_LABEL_BEFORE)
        # glued to a word or code ("=" and "#" are fine: pan=..., CC#...), or right after an IBAN's head
        & ~pl.col("left").str.contains(r"[\p{L}\p{N}_/\\.\-]$|(?i)\b(?:isbn|issn|doi)\W")
        # the tail of a longer code: right after a group holding a digit ("DO85 87QV 5458 ...", "IT73 Q674 ...")
        & ~pl.col("left").str.contains(
            r"\b[A-Za-z0-9]{0,3}\d[A-Za-z0-9]{0,3}[ \-]$|(?i)\b[a-z]{2}\d{2}(?: [a-z0-9]{4})* $"
        )
        & ((pl.col("digits").str.len_chars() != 13) | pl.col("left").str.contains(_CARD_WORD))
        & ~pl.col("right").str.contains(r"^(?:[.,]\d|[\p{L}_@%])")
    )
    if c.height == 0:
        return c
    valid = {d: luhn.is_valid(d) for d in c.get_column("digits").unique().to_list()}
    return c.filter(pl.col("digits").replace_strict(valid, return_dtype=pl.Boolean)).drop("digits")


# ------------------------------------------------------------------------------------------------- IBANs


@functools.lru_cache(maxsize=65536)
def _iban_value(candidate: str) -> str | None:
    """The longest start of `candidate` ending at a group boundary that `stdnum.iban` accepts, or None.

    A grouped IBAN's groups are 4 characters (the printed format) except the last; an unbroken one is the
    whole token. Lower case is accepted: people type it so.
    """
    groups = re.split(r"([ \-])", candidate)
    tokens = groups[::2]
    if len(tokens) > 1 and any(len(t) != 4 for t in tokens[:-1]):
        # only the printed 4-character grouping, except the last group; allow trailing words after it
        head = []
        for token in tokens:
            head.append(token)
            if len(token) != 4:
                break
        tokens = head
    for count in range(len(tokens), 0, -1):
        compact = "".join(tokens[:count]).upper()
        if 15 <= len(compact) <= 34 and stdnum_iban.is_valid(compact):
            return "".join(groups[: 2 * count - 1])
    return None


def _ibans(base: pl.DataFrame) -> pl.DataFrame:
    c = _candidates(base.filter(pl.col("t").str.contains(r"(?i)[a-z]{2}\d{2}")), _IBAN)
    if c.height == 0:
        return c
    c = c.filter(~pl.col("left").str.contains(r"[\p{L}\p{N}_/=\\.\-]$"))
    verdicts = {t: _iban_value(t) for t in c.get_column("text").unique().to_list()}
    c = c.with_columns(value=pl.col("text").replace_strict(verdicts, return_dtype=pl.String))
    c = c.filter(pl.col("value").is_not_null())
    return c.with_columns(end=pl.col("start") + pl.col("value").str.len_chars().cast(pl.Int64), text="value")


# ------------------------------------------------------------------------------------------------ e-mail


def _emails(base: pl.DataFrame) -> pl.DataFrame:
    c = _candidates(base.filter(pl.col("t").str.contains("@", literal=True)), _EMAIL)
    if c.height == 0:
        return c
    local = pl.col("text").str.extract(r"^([^@]+)@", 1)
    tld = pl.col("text").str.extract(r"\.([A-Za-z]+)$", 1).str.to_lowercase()
    return c.filter(
        ~tld.is_in(list(_FILE_EXTENSIONS))  # icon@2x.png
        & ~local.str.contains(r"^[.\-]|[.\-]$|\.\.")
        & ~pl.col("left").str.contains(r"://[^\s/@]*$|[:/]$")  # user:password@host of a URL
        & ~pl.col("right").str.contains(r"^(?:[\w\-]|:[\w/~])")  # git@github.com:org/repo
    )


# ---------------------------------------------------------------------------------------------- detect

_RECOGNIZERS = {"CREDIT_CARD": _cards, "IBAN_CODE": _ibans, "EMAIL_ADDRESS": _emails}


def _compact(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.lower())


def second_opinion(
    texts: pl.Series,
    *,
    allow_list: Sequence[str] = (),
    enabled_types: Collection[str] | None = None,
    regions: Sequence[str] = DEFAULT_REGIONS,
) -> pl.DataFrame:
    """Findings of the independent detector in every text; see FINDINGS_SCHEMA (sorted by row, start).

    `enabled_types`: the PII types the scrub is configured to remove (params.yaml); the others are not
    looked for, so a type a user switched off never blocks a release. None means all CROSSCHECK_TYPES.
    `allow_list`: values that are never PII here; a finding equal to a term (ignoring case, spaces and
    punctuation, so "+1 (800) 555-0100" matches "+18005550100") is dropped. Placeholders (`<PHONE_NUMBER_1>`)
    are never findings and no value is read across one. Each distinct text is scanned once.
    """
    wanted = [t for t in CROSSCHECK_TYPES if enabled_types is None or t in set(enabled_types)]
    region_key = tuple(r.upper() for r in regions)
    _region_table(region_key)  # an unknown region is a clear error before any scanning
    frame = pl.DataFrame({"t": texts.cast(pl.String)}).with_row_index("row")
    distinct = (
        frame.filter(pl.col("t").is_not_null() & (pl.col("t") != ""))
        .unique("t", keep="first", maintain_order=True)
        .with_columns(
            t=pl.when(pl.col("t").str.contains("<", literal=True))
            .then(pl.col("t").str.replace_all(PLACEHOLDER_PATTERN, _BLOCK))
            .otherwise(pl.col("t"))
        )
    )
    if not wanted or distinct.height == 0:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    parts = []
    for entity_type in wanted:
        found = _phones(distinct, region_key) if entity_type == "PHONE_NUMBER" else _RECOGNIZERS[entity_type](distinct)
        if found.height:
            parts.append(
                found.select(
                    "row",
                    entity_type=pl.lit(entity_type),
                    detector=pl.lit(DETECTORS[entity_type]),
                    start="start",
                    end="end",
                    text="text",
                ).cast(FINDINGS_SCHEMA)
            )
    if not parts:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    found = _without_overlaps(pl.concat(parts))
    terms = {_compact(t) for t in allow_list if t and _compact(t)}
    if terms:
        allowed = [_compact(value) in terms for value in found.get_column("text").to_list()]
        found = found.filter(~pl.Series(allowed, dtype=pl.Boolean))
    # placeholders were blocked out with one character each, so offsets are those of the blocked text:
    # map them back to the original text
    found = _original_offsets(found, frame, distinct)
    return _to_repeats(found, frame).sort(["row", "start"]).cast(FINDINGS_SCHEMA)


def _without_overlaps(found: pl.DataFrame) -> pl.DataFrame:
    """One finding per span: a card or IBAN beats a phone reading of the same digits (type order)."""
    priority = {t: i for i, t in enumerate(CROSSCHECK_TYPES)}
    ordered = found.with_columns(prio=pl.col("entity_type").replace_strict(priority, return_dtype=pl.Int32)).sort(
        ["row", "prio", "start"]
    )
    kept: list[dict] = []
    spans: dict[int, list[tuple[int, int]]] = {}
    for item in ordered.iter_rows(named=True):  # findings are few (each one fails the check)
        taken = spans.setdefault(item["row"], [])
        if any(item["start"] < e and s < item["end"] for s, e in taken):
            continue
        taken.append((item["start"], item["end"]))
        kept.append(item)
    return pl.DataFrame(kept, schema={**FINDINGS_SCHEMA, "prio": pl.Int32}).drop("prio")


def _original_offsets(found: pl.DataFrame, frame: pl.DataFrame, distinct: pl.DataFrame) -> pl.DataFrame:
    """Offsets in the text as given (before placeholders were blocked out); findings are few."""
    if found.height == 0:
        return found
    originals = dict(frame.filter(pl.col("row").is_in(found.get_column("row").unique().implode())).iter_rows())
    blocked = dict(distinct.filter(pl.col("row").is_in(found.get_column("row").unique().implode())).iter_rows())
    starts, ends = [], []
    for row, start, end in found.select("row", "start", "end").iter_rows():
        original, scanned = originals[row], blocked[row]
        if original == scanned:
            starts.append(start)
            ends.append(end)
            continue
        shift = 0
        for m in re.finditer(PLACEHOLDER_PATTERN, original):
            if m.start() - shift >= start:
                break
            shift += len(m.group()) - 1
        starts.append(start + shift)
        ends.append(end + shift)
    return found.with_columns(start=pl.Series(starts, dtype=pl.Int64), end=pl.Series(ends, dtype=pl.Int64))


def _to_repeats(found: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Copy the findings of each distinct text to every row holding the same text."""
    if found.height == 0:
        return found
    first = frame.filter(pl.col("t").is_not_null()).with_columns(
        first=pl.col("row").first().over("t")
    )  # the row each distinct text was scanned as
    return (
        found.rename({"row": "first"})
        .join(first.select("row", "first"), on="first", how="inner")
        .select(FINDINGS_SCHEMA.names())
    )


# --------------------------------------------------------------------------------- over a layer's frame


def crosscheck_findings(
    frame: pl.DataFrame,
    allow_list: Sequence[str] = (),
    *,
    enabled_types: Collection[str] | None = None,
    regions: Sequence[str] = DEFAULT_REGIONS,
    verified: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`second_opinion` over every text a trainer sees (`pii_report.scrubbed_texts`), with `example_id` and
    `field` of each finding; `row` indexes the texts in `scrubbed_texts` order, as `leftover_findings` does.

    `verified` (keys from `pii_report.clean_keys`): texts known clean by both detectors are skipped.
    """
    return scan_scrubbed_texts(
        frame,
        lambda texts: second_opinion(texts, allow_list=allow_list, enabled_types=enabled_types, regions=regions),
        verified,
    )


# ------------------------------------------------------------------------------- what a reviewer sees


def mask_value(value: str) -> str:
    """Enough of a value to find it again, not enough to use it: the first and last one or two letters or
    digits (two from 10 on; an e-mail keeps its local part's first character and its TLD), the rest `*`,
    separators kept."""
    if "@" in value:
        local, _, domain = value.partition("@")
        name, dot, tld = domain.rpartition(".")
        return f"{local[:1]}{'*' * max(len(local) - 1, 1)}@{'*' * len(name)}{dot}{tld}"
    alnum = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep = 2 if len(alnum) >= 10 else 1
    shown = set(alnum[:keep] + alnum[-keep:])
    return "".join(ch if (i in shown or not ch.isalnum()) else "*" for i, ch in enumerate(value))


def _hide_digits(part: str) -> str:
    """Digits as `#`, except the number of a placeholder cut by the window edge (`...NUMBER_1>`)."""
    return re.sub(r"[A-Z]_\d+>|\d", lambda m: m.group() if len(m.group()) > 1 else "#", part)


def context_snippet(text: str, start: int, end: int, width: int = 24) -> str:
    """The words around a finding, on one line: the finding masked, every other digit outside a placeholder
    shown as `#` and e-mail addresses as `<e-mail>` (a neighbour may be PII too)."""

    def hide(part: str) -> str:
        pieces = re.split(f"({PLACEHOLDER_PATTERN})", part)
        hidden = [
            p if i % 2 else re.sub(r"[\w.%+\-]+@[\w.\-]+", "<e-mail>", _hide_digits(p)) for i, p in enumerate(pieces)
        ]
        return "".join(hidden)

    left, right = hide(text[max(start - width, 0) : start]), hide(text[end : end + width])
    snippet = f"{'…' if start > width else ''}{left}[{mask_value(text[start:end])}]{right}"
    return re.sub(r"\s+", " ", snippet + ("…" if end + width < len(text) else ""))


def review_examples(
    frame: pl.DataFrame, findings: pl.DataFrame, detector: str | None = None, limit: int = 20
) -> list[dict[str, str]]:
    """Up to `limit` findings as a reviewer needs them in a check's metadata, without leaking the values:
    example_id, field, entity_type, detector, the value masked (`mask_value`) and its masked context.

    `findings`: rows of `leftover_findings` or `crosscheck_findings` over `frame` (`row` in
    `pii_report.scrubbed_texts` order; `start`, `end`, `entity_type`, `example_id`, `field`); `detector`
    names the detector when `findings` has no `detector` column.
    """
    if findings.height == 0:
        return []
    head = findings.head(limit)
    texts = scrubbed_texts(frame).get_column("text").gather(head.get_column("row"))
    detectors = head.get_column("detector").to_list() if "detector" in head.columns else [detector] * head.height
    examples = []
    for (example_id, field, entity_type, start, end), text, by in zip(
        head.select("example_id", "field", "entity_type", "start", "end").iter_rows(), texts, detectors, strict=True
    ):
        examples.append(
            {
                "example_id": example_id,
                "field": field,
                "entity_type": entity_type,
                "detector": by or "",
                "value": mask_value(text[start:end]),
                "context": context_snippet(text, start, end),
            }
        )
    return examples
