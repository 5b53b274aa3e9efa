"""PHONE_NUMBER: one vectorized candidate pass, then `phonenumbers`' per-region metadata per candidate.

Candidates are digit groups joined by the separators people use (space, no-break space, dot, dash, slash,
parentheses, a "(0)" trunk, a "(+351)" country code, an "x4587"/"ext. 12" extension). Shape rules drop
dates, times, prices, IPv4 addresses and CIDRs, SSN layouts and grouped card-like numbers in polars; each
remaining candidate is checked in Python (cached per candidate):
- "+CC ..." / "00CC ...": the country code's regions' metadata, valid (possible with a phone word);
- North American 3-3-4 layouts: the NANP rules (area and exchange codes), as Faker and real users write them,
  and ten digits in a row with an area code in service;
- national numbers: valid for one of REGIONS by that region's own metadata (trunk prefix stripped, number
  lengths, the fixed-line/mobile/... patterns), or only possible there when a phone word ("tel", "Telefon",
  "電話", "T:" ...) is before it or the number is grouped after a trunk 0 or an "(area)". A number that fails
  whole is retried without its trailing digit groups ("0490 75 40 81 2 times").
Where numbers sit in exports and logs: a CSV field after a comma, a JSON value or key=value pair (the key
decides: "phone_number=", "to=" are phones, "uid=", "size" are not), a label glued to the number
("Tel.0301234567", "Phone #:"). Labels such as "order", "ISBN", "tracking", national ids ("NIP", "CPF"),
or a currency sign next to it veto national numbers.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata

from ftdata_assets.transforms.pii.base import (
    _NON_WORD,
    _NUMBER_VETO,
    _TWO_WORDS,
    _context,
    _filter,
    _label_near,
    _matches,
    _rx,
    _typed,
)

PHONE_CONTEXT: tuple[str, ...] = (
    "phone", "call", "tel", "tél", "telephone", "téléphone", "telefon", "telefono", "teléfono", "telefone",
    "telefoon", "mobile", "mobil", "móvil", "movil", "cellulare", "celular", "cell", "handy", "portable",
    "gsm", "puhelin", "puh", "numer", "número", "numero", "nummer", "rufnummer", "text", "txt", "whatsapp",
    "fax", "reach", "contact", "number", "ring", "dial", "sms", "ph", "mob", "tlf", "電話", "携帯", "手机",
    "电话", "전화", "โทร",
    # labels of forms, signatures and exports: "Cel:", "Hotline", "msisdn=", "caller_id", "Tfn", "Tel.-Nr."
    "phones", "telephones", "cel", "cellphone", "mobiel", "telemóvel", "tlm", "telefonnummer", "telefonnr",
    "handynummer", "mobilnummer", "festnetz", "durchwahl", "telefonszám", "mobilszám", "puhelinnumero",
    "matkapuhelin", "tfn", "mobiltelefon", "tālr", "tālrunis", "telefonas", "komórka", "kom", "τηλ",
    "τηλέφωνο", "κιν", "κινητό", "тел", "телефон", "моб", "мобильный", "сотовый", "טלפון", "נייד",
    "هاتف", "جوال", "موبايل", "تلفن", "موبایل", "landline", "hotline", "helpline", "switchboard", "office",
    "direct", "msisdn", "caller", "callback", "voip", "☎", "📞", "📱", "휴대폰", "핸드폰", "연락처",
)  # fmt: skip
"""Words that make a digit group a phone number (they lower the bar from valid to possible)."""

REGIONS: tuple[str, ...] = (
    "US", "GB", "DE", "FR", "ES", "IT", "BR", "NL", "PL", "JP", "BE", "CH", "AT", "PT", "IE", "LU", "SE",
    "NO", "DK", "FI", "CZ", "SK", "HU", "RO", "GR", "HR", "LT", "LV", "EE", "UA", "TR", "IN", "CN", "KR",
    "AU", "MX", "AR", "CA", "NZ", "SI", "RS", "BG", "IS", "RU", "BY", "KZ", "IL", "EG", "IR", "TH", "SG", "HK",
    "TW", "ZA", "CL", "CO", "PE",
)  # fmt: skip
"""Regions a national (no "+") number is tried in, most likely first: the countries our users write from."""

_TYPES = (
    "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip", "pager",
    "uan", "voicemail",
)  # fmt: skip

_SEP = r"(?: ?[\-/] ?|\.| {1,2}|[\u00a0\u202f])?"
_PAREN = r"\([0-9]{1,5}(?:[ \-][0-9]{1,4})?\)"
"""An area code or trunk in parentheses, "(030)", "(0)", also split as "(0-312)" (Lithuania), "(0 30)"."""
_GROUP = rf"(?:{_PAREN}{_SEP}[0-9]+|[0-9]+)"
"""A digit group, or an area code / trunk in parentheses followed by one ("(0)121", "(0 30) 1234"): a
parenthesized group never ends a number ("30 895 460 (2018)" is a count and its year)."""
_EXT = r"(?: ?(?:x|ext\.?|extension|#) ?[0-9]{1,6}\b)?"
_PHONE_CANDIDATE = _rx(rf"(?:\(\+ ?[0-9]{{1,3}}\)|\+ ?[0-9]+|{_PAREN}|\b[0-9]+)(?:{_SEP}{_GROUP})*{_EXT}")
"""A country code, also in parentheses ("(+351) 912 345 678"), an area code in parentheses, or digits; then
groups joined by the usual separators (a no-break space too, as French text has), then an extension."""
_EXT_SPLIT = re.compile(r"^(.*?[0-9)])\s?(?:x|ext\.?|extension|#)\s?([0-9]{1,6})$")
_NANP = re.compile(
    r"^(?:(?:\+?1|001)[ .\-]?)?(?:\([2-9][0-9]{2}\)[ \-]?|[2-9][0-9]{2}[ .\-])[2-9][0-9]{2}[ .\-][0-9]{4}$"
)
_NOT_PHONE_SHAPE = _rx(
    r"^[0-9]{1,4}[./\-][0-9]{1,2}[./\-][0-9]{1,4}$"  # dates
    r"|^[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:[ /].*)?$"  # IPv4 (a CIDR, a port after it too), versions
    r"|^[0-9]+\.[0-9]{1,2}$"  # amounts
    r"|^(?:0[1-9]|[1-9][0-9])[0-9]{2}(?:[ \-][0-9]{4}){2,3}(?:[ \-][0-9]{1,4})?$"  # card-like 4-4-4(-4) groups
    r"|^(?:19|20)[0-9]{2} [01][0-9] [0-3][0-9]$"  # 2025 05 12
    r"|^[0-9]{5}-[0-9]{3}$|^[0-9]{5}-[0-9]{5}$"  # Brazilian postcodes (CEP), ranges "60000-64999"
    r"|^[0-9]{3}[\- ][0-9]{2}[\- ][0-9]{4}$"  # SSN layout
    r"|^[0-9]-[0-9]{3}-[0-9]{5}-[0-9]$|^97[89]-[0-9]+-[0-9]+-[0-9]+-[0-9]$"  # ISBN-10/13
)
_LABEL_NEAR = _label_near(["account", "acct", "iban", "cnpj", "regon", "ico"])
"""Identifier labels (and companies' registry numbers). A person's own id after "SSN", "CPF", "PESEL",
"NIE"... is not vetoed: with no recognizer of its own here, scrubbed as a phone number beats kept."""
_CURRENCY_LEFT = _rx(
    r"(?:[$€£¥₹]|\b(?:usd|eur|gbp|chf|jpy|pln|brl|price|amount|total|cost|sum|balance|revenue))[^a-z0-9_]{0,2}$"
)
_CURRENCY_RIGHT = r"^\s?(?:[$€£¥₹%]|(?:usd|eur|gbp|chf|jpy|pln|brl|zł|kr|km|kg|mb|gb|ms)\b)"


@functools.cache
def _region_rules(region: str) -> tuple[str, tuple[int, ...], re.Pattern[str]]:
    """(national prefix, possible national lengths, any-number-type pattern) from phonenumbers' metadata."""
    md = PhoneMetadata.metadata_for_region(region)
    patterns = [
        desc.national_number_pattern
        for desc in (getattr(md, t) for t in _TYPES)
        if desc is not None and desc.national_number_pattern
    ]
    lengths = tuple(md.general_desc.possible_length or ())
    return md.national_prefix or "", lengths, re.compile("(?:" + "|".join(patterns) + ")")


@functools.cache
def _trunk_rules() -> tuple[tuple[str, dict[int, re.Pattern[str]], frozenset[int]], ...]:
    """REGIONS grouped by trunk prefix ("" for none): per national-number length, one pattern of all their
    number types, and the lengths possible in any of them. A number is then checked once per trunk (a
    handful), not once per region (sixty)."""
    groups: dict[str, dict[int, list[str]]] = {}
    for region in REGIONS:
        trunk, lengths, pattern = _region_rules(region)
        for n in lengths:
            groups.setdefault(trunk, {}).setdefault(n, []).append(pattern.pattern)
    return tuple(
        (trunk, {n: re.compile("|".join(f"(?:{p})" for p in ps)) for n, ps in by_len.items()}, frozenset(by_len))
        for trunk, by_len in groups.items()
    )


def _national_ok(digits: str, lenient: bool, with_trunk: bool = False) -> bool:
    """Valid (or, `lenient`, possible by length) as a national number of one of REGIONS.

    `with_trunk`: in a region with a trunk prefix the number must start with it (an unformatted run of digits
    is a phone number as people write it at home, "01701234567", not "1701234567", a timestamp).
    """
    rules = _trunk_rules()
    for trunk, patterns, _ in rules:
        if with_trunk and trunk and not digits.startswith(trunk):
            continue
        nsn = digits[len(trunk) :] if trunk and digits.startswith(trunk) else digits
        pattern = patterns.get(len(nsn))
        if pattern is not None and pattern.fullmatch(nsn):
            return True
    if lenient:
        for trunk, _, lengths in rules:
            nsn = digits[len(trunk) :] if trunk and digits.startswith(trunk) else digits
            if len(nsn) in lengths:
                return True
    return False


def _international_ok(digits: str, lenient: bool) -> bool:
    """`digits` after the "+": the country code (E.164 codes are prefix-free), then a national number valid
    (or, `lenient`, of a possible length) in one of that code's regions. The same metadata as
    `phonenumbers.is_valid_number(parse("+" + digits))`, without the parser's cost (0.06 ms a call)."""
    for k in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:k]))
        if regions:
            break
    else:
        return False
    nsn = digits[k:]
    rules = [_region_rules(r) for r in regions if r != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY]
    for trunk, lengths, pattern in rules:
        # "+44 020 ..." (a trunk 0 written after the country code) is common and dialable from most phones
        for candidate in (nsn, nsn[len(trunk) :] if trunk and nsn.startswith(trunk) else None):
            if candidate and len(candidate) in lengths and pattern.fullmatch(candidate):
                return True
    return lenient and any(len(nsn) in lengths for _, lengths, _ in rules)


@functools.lru_cache(maxsize=65536)
def _number_ok(text: str, has_context: bool) -> bool:
    """One candidate (no extension), as written (no-break spaces read as spaces)."""
    if text.startswith("(+"):  # "(+34) 912 345 678"
        text = "+" + text[2:].replace(")", "", 1)
    if _NANP.match(text):  # before "+": Faker's and many users' +1 numbers have unassigned area codes
        digits = re.sub(r"[^0-9]", "", text)
        return not digits[-10:-7].endswith("11")  # N11 codes (211, 911 ...) are never area codes
    if text.startswith(("+", "00")):
        digits = re.sub(r"[^0-9]", "", text.replace("(0)", "", 1))
        digits = digits[2:] if text.startswith("00") else digits
        if not 7 <= len(digits) <= 15:
            return False
        # "+CC" is explicit enough for a number of a possible length; "00CC" needs a phone word too
        if _international_ok(digits, lenient=text.startswith("+") or has_context):
            return True
        # "00..." after a phone word may be a national number with a long trunk or area code ("0055 862679")
        return not text.startswith("+") and has_context and _national_ok(re.sub(r"[^0-9]", "", text), True)
    digits = re.sub(r"[^0-9]", "", text)
    separated = len(digits) < len(text)
    if has_context:
        if not separated and 11 <= len(digits) <= 15 and _international_ok(digits, False):
            return True  # "msisdn=4917612345678": E.164 without its "+", as gateways log it
        return 7 <= len(digits) <= 13 and _national_ok(digits, lenient=True)
    if not (8 if separated else 9) <= len(digits) <= 13:
        return False
    # Without a phone word, shapes that are amounts ("81 694 167", "836 999 496"), ranges ("2936-9873"),
    # ZIP+4 codes, decimals or lottery pairs more often than phone numbers must be a mobile number of a
    # country that writes them without a trunk 0 ("699 956 915", "333 1234567"); a leading trunk 0 or
    # "(area)" makes any shape a national number ("0490 75 40 81", "(11) 91234-5678").
    trunk_or_area = text.startswith("0") or (text.startswith("(") and not text.startswith("(0)"))
    if not trunk_or_area and _NEVER_WITHOUT_TRUNK.match(text):
        return False
    if not trunk_or_area and _INDIAN_MOBILE.match(text):  # "98765 43210": no amount or range is written so
        return bool(_mobile_pattern("IN").fullmatch(digits))
    if not trunk_or_area and _AMBIGUOUS_SHAPE.match(text):
        return len(digits) >= 9 and (_mobile_ok(digits) or (not separated and _nanp_run_ok(digits)))
    if separated and trunk_or_area and 9 <= len(digits) <= 12 and not text.startswith("00"):
        # grouped after a trunk 0 or an area code in parentheses, as only phone numbers are written: possible
        # somewhere is enough (many numbers people write are unassigned by their country's metadata)
        return _national_ok(digits, lenient=True)
    return _national_ok(digits, False, with_trunk=not separated)


def _nanp_run_ok(digits: str) -> bool:
    """Ten digits in a row as North Americans type them into forms ("8016602260"): an area code in service
    (by the US/CA metadata, not N11) and an exchange code 2-9, so epoch seconds (1...) and most ids fail."""
    if len(digits) != 10 or digits[3] in "01" or digits[1:3] == "11":
        return False
    return any(_region_rules(r)[2].fullmatch(digits) for r in ("US", "CA"))


_NEVER_WITHOUT_TRUNK = re.compile(
    r"^[0-9]+\.[0-9]+$"  # a decimal
    r"|^[0-9]{1,2}(?:[ .][0-9]{3})+$"  # thousands after a 1-2 digit group
    r"|^[0-9]{2}(?: [0-9]{2}){3,}$"  # pairs: the countries that write them all have a trunk 0
)
_INDIAN_MOBILE = re.compile(r"^[6-9][0-9]{4} [0-9]{5}$")
_AMBIGUOUS_SHAPE = re.compile(
    r"^[0-9]+[ \-/][0-9]+$"  # two groups
    r"|^[0-9]{3}(?:[ .][0-9]{3})+$"  # thousands separators
    r"|^[0-9]+$"  # one bare run
)


MOBILE_REGIONS: tuple[str, ...] = ("IT", "ES", "PL", "PT", "CZ", "CN")
"""Countries whose mobile numbers (9-11 digits, distinctive prefixes) are written without a leading 0: such a
number needs no phone word even in a shape that amounts also have."""


def _mobile_ok(digits: str) -> bool:
    return any(_mobile_pattern(region).fullmatch(digits) for region in MOBILE_REGIONS)


@functools.cache
def _mobile_pattern(region: str) -> re.Pattern[str]:
    desc = PhoneMetadata.metadata_for_region(region).mobile
    return re.compile(desc.national_number_pattern if desc is not None and desc.national_number_pattern else "(?!)")


@functools.lru_cache(maxsize=65536)
def _phone_span(text: str, has_context: bool) -> int | None:
    """Length of the phone number at the start of the candidate `text`, or None."""
    m = _EXT_SPLIT.match(text)
    main = m.group(1) if m else text
    if _number_ok(main, has_context):
        return len(text)
    if not has_context:
        return None  # "SIRET 699 517 698 40459": a longer number's head is no phone number of its own
    # after a phone word, a longer run can be a phone number followed by other digits: retry without them
    ends = [g.end() for g in re.finditer(r"[0-9)]+", main)][:-1]
    for end in reversed(ends):
        head = main[:end]
        if len(re.sub(r"[^0-9]", "", head)) < 7:
            break
        if _number_ok(head, has_context):
            return end
    return None


_CASELESS = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
"""Thai, kana, CJK, Hangul: scripts without spaces between words, so their phone words need no boundary."""
_NUMBER_WORDS = {"number", "numer", "número", "numero", "nummer", "contact", "reach", "office", "direct"}


def _alternation(words: list[str], caseless: bool) -> str:
    return "|".join(re.escape(w) for w in words if bool(_CASELESS.search(w)) == caseless)


def _words_rx(words: list[str], after: str | None = None) -> str:
    """Phone words as a regex: whole words (then `after`), but words of caseless scripts anywhere ("联系电话")."""
    spaced, bare = _alternation(words, False), _alternation(words, True)
    end = r"(?:[^\p{L}]|$)" if after is None else after
    return rf"(?:(?:^|[^\p{{L}}])(?:{spaced}){end}|(?:{bare}){after or ''})"


_SHORT_LABEL = r"(?:^|[^\p{L}0-9])(?:[tmf] ?[.:]|[ph] ?:) ?$"
"""A one-letter label of signatures and letterheads right before the number ("T: ...", "M. ...", "P: ...";
not "p. 1234567", a page)."""
_PHONE_WORD = _words_rx(list(PHONE_CONTEXT)) + "|" + _SHORT_LABEL
_STRONG = [w for w in PHONE_CONTEXT if w not in _NUMBER_WORDS]
_WORD_NEAR = rf"(?:(?:^|[^\p{{L}}])(?:{_alternation(_STRONG, False)})|(?:{_alternation(_STRONG, True)})){_TWO_WORDS}"
_WORD_NEAR += "|" + _SHORT_LABEL
"""A phone word (not a generic "number") at most two words before the number: it outweighs a label before
it ("policy changed. Phone: ..."), where "order number is" stays an order number."""
_WORD_GLUED = _words_rx(_STRONG, r"\.$")
"""A phone word and a dot right before the number: "Tel.0301234567" is glued to its label, not to a word."""
_WORD_HASH = _words_rx(_STRONG, rf"{_NON_WORD}{{0,3}}(?:no\.?|nr\.?|number)?{_NON_WORD}{{0,3}}#{_NON_WORD}{{0,3}}$")
"""A "#" right after a phone word ("Phone #: ...", "Tel. No. #") labels the phone number, not an order."""
_GLUED_LEFT = r"[0-9][.,\-/]?$|[\p{L}_]$|[.\-/]$"
"""Glued to a word, or the tail of a longer dotted/dashed number; a comma after a word is a CSV field."""
_TRUNK_OR_PLUS = r"^(?:\+|0|\()"
_PHONE_STEMS = (
    "phone", "tel", "mob", "cell", "fax", "msisdn", "sms", "whatsapp", "contact", "caller", "callback", "dial",
    "handy", "gsm", "puh", "tlf", "tfn", "fono", "fone", "ring", "cel", "número", "numero", "nummer",
    # the parties of a call or message in gateway logs ("to=0171...", "src=...")
    "to", "from", "recipient", "sender", "dest", "dst", "src", "origin", "callee",
)  # fmt: skip
_KEY = r"(?:[a-z][a-z0-9_.\-]*\s?=|\"[a-z][a-z0-9_.\- ]*\"\s?:|[a-z0-9]+_[a-z0-9_]+\s?:)\s?[\"']?$"
"""The number is a value of a key=value pair, a JSON field or a snake_case field ("uid=...", "\"qty\": ...")."""
_PHONE_KEY = r"(?:^|[^a-z])(?:" + "|".join(_PHONE_STEMS) + r")[a-z0-9_.\- ]*(?:=|\"\s?:|:)\s?[\"']?$"
"""...whose key names a phone or a party ("phone_number=", "\"mobileNo\":", "to="); other keys are not."""

_SEVEN_DIGITS = _rx(r"[0-9](?:[ .\-/()+\u00a0\u202f]{0,3}[0-9]){6}")
"""Cheap row prefilter: seven digits with at most a few separators between them (no number is shorter)."""


def _phones(base: pl.DataFrame) -> pl.DataFrame:
    rows = _filter(base, pl.col("t").str.contains(_SEVEN_DIGITS))
    c = _matches(rows, _PHONE_CANDIDATE)
    text = pl.col("text")
    c = _filter(c, text.str.len_bytes() >= 7)  # most candidates are short numbers: drop them before counting
    # no-break spaces as spaces (the same length in characters, so spans stay right)
    c = c.with_columns(orig=text).with_columns(text=text.str.replace_all("[\u00a0\u202f]", " "))
    nd = text.str.replace_all(r"[^0-9]", "").str.len_bytes()
    c = _filter(c, nd.is_between(7, 21) & ~text.str.contains(_NOT_PHONE_SHAPE))
    if c.height == 0:
        return _typed(c, "PHONE_NUMBER")
    c = _context(c, rows, 30, 5)
    intl = text.str.contains(r"^\(?\+")
    left, right = pl.col("left_ctx"), pl.col("right_ctx")
    # what vetoes a number whatever else is around it
    c = _filter(
        c,
        ~right.str.contains(_CURRENCY_RIGHT)
        & ~right.str.contains(r"^[.\-/]?[0-9]|^[\p{L}_]|^[.:][0-9a-z]")
        # a national number right after another digit group is the tail of a longer number (an IBAN's)
        & (intl | ~left.str.contains(r"[0-9] $"))
        & (intl | ~left.str.contains(_CURRENCY_LEFT)),
    )
    # what vetoes it unless a phone word explains it: the exceptions are read on the flagged rows only
    flags = {
        # "+" numbers are explicit; national ones yield to an order/ticket/ISBN label ...
        "label": ~intl & left.str.contains(_LABEL_NEAR),
        "veto": ~intl & left.str.contains(_NUMBER_VETO),
        # ... glued to a word ("Tel.0301234567" is glued to its label), or the tail of a longer dotted number
        "glued": left.str.contains(_GLUED_LEFT),
        # "uid=328088690", "\"size\": 391246467": the key says what the value is
        "key": ~intl & left.str.contains(_KEY),
        # "1234567,89" is an amount; "0301234567,42" the next field of a CSV line
        "comma": right.str.starts_with(",") & right.str.contains(r"^,[0-9]") & ~text.str.contains(_TRUNK_OR_PLUS),
    }
    for name, flag in flags.items():  # one expression per call: evaluated in this thread (see `_filter`)
        c = c.with_columns(flag.alias(name))
    flagged = pl.any_horizontal(list(flags))
    explained = _filter(
        c.filter(flagged),
        (~pl.col("label") | left.str.contains(_WORD_NEAR))
        & (~pl.col("veto") | left.str.contains(_WORD_HASH))
        & (~pl.col("glued") | left.str.contains(_WORD_GLUED))
        & (~pl.col("key") | left.str.contains(_PHONE_KEY))
        & (~pl.col("comma") | left.str.contains(_PHONE_WORD)),
    )
    c = pl.concat([c.filter(~flagged), explained], rechunk=True)  # one chunk: see `_filter`
    c = c.with_columns(ctx=left.str.contains(_PHONE_WORD)).select("row", "start", "text", "orig", "ctx")
    if c.height == 0:
        return _typed(c.with_columns(end=pl.col("start")), "PHONE_NUMBER")
    spans = [_phone_span(t, ctx) for t, ctx in zip(c["text"].to_list(), c["ctx"].to_list(), strict=True)]
    c = c.with_columns(n=pl.Series(spans, dtype=pl.Int64)).filter(pl.col("n").is_not_null())
    c = c.with_columns(end=pl.col("start") + pl.col("n"), text=pl.col("orig").str.slice(0, pl.col("n")))
    return _typed(c, "PHONE_NUMBER")
