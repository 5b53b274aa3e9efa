"""Fills template slots from a weighted set of entity sources (one sample = one primary source/locale).

Entity slots (labelled): FULL, FIRST, LAST (PERSON), NAMES (2-4 PERSON spans joined by commas and "and"),
EMAIL, PHONE, PHONE_EXT (number plus extension, one span), PHONE_LOCAL (`467 3395`), CARD, IBAN, SSN, IP,
STREET (one line), ADDRESS (street, postcode and city as the generator writes them, may be multi-line),
ADDRESS_LINE (the same on one line). Negative slots (unlabelled near-misses): see `NEGATIVE_SLOTS`.
"""

from __future__ import annotations

import random
import string
import uuid

import phonenumbers
from stdnum import ean as stdnum_ean

from bench.pii_eval.core import Piece, luhn_complete, luhn_fail
from bench.pii_eval.independent import extension, local_phone

ENTITY_SLOTS = {"FULL", "FIRST", "LAST", "NAMES", "EMAIL", "PHONE", "PHONE_EXT", "PHONE_LOCAL", "CARD", "IBAN",
                "SSN", "IP", "STREET", "ADDRESS", "ADDRESS_LINE"}  # fmt: skip
_KIND = {"FULL": "full", "FIRST": "first", "LAST": "last", "EMAIL": "email", "PHONE": "phone", "PHONE_EXT": "phone",
         "CARD": "card", "IBAN": "iban", "SSN": "ssn", "IP": "ip", "STREET": "street", "ADDRESS": "address",
         "ADDRESS_LINE": "address"}  # fmt: skip
_TYPE = {"full": "PERSON", "first": "PERSON", "last": "PERSON", "email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER",
         "card": "CREDIT_CARD", "iban": "IBAN_CODE", "ssn": "US_SSN", "ip": "IP_ADDRESS", "street": "LOCATION",
         "address": "LOCATION"}  # fmt: skip
_MIMESIS_REGION = {"en": "US", "en-gb": "GB", "en-au": "AU", "en-ca": "CA", "de-at": "AT", "de-ch": "CH",
                   "es-mx": "MX", "pt-br": "BR", "nl-be": "BE", "ar-eg": "EG", "cs": "CZ", "da": "DK", "el": "GR",
                   "et": "EE", "fa": "IR", "ja": "JP", "kk": "KZ", "ko": "KR", "sv": "SE", "uk": "UA",
                   "zh": "CN"}  # fmt: skip


def region_of(source_name: str) -> str:
    gen, _, loc = source_name.partition(":")
    if gen == "faker":
        return loc.split("_")[1]
    return _MIMESIS_REGION.get(loc, loc.upper()[:2])


def phone_validity(number: str, region: str) -> str:
    """libphonenumber's verdict, only to split recall (a number it rejects is still written as a phone)."""
    try:
        ok = phonenumbers.is_valid_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        ok = False
    return "lpn-valid" if ok else "lpn-invalid"


class Pool:
    def __init__(self, sources: list[tuple[float, object]], rng: random.Random) -> None:
        self.sources = [s for _, s in sources]
        self.weights = [w for w, _ in sources]
        self.rng = rng
        self.primary = self.secondary = self.sources[0]
        self.person: tuple[str, str] | None = None

    def start(self) -> None:
        """A new sample: one primary source (locale), so a sample's name, phone and street agree, and one
        secondary with phones and streets for what the primary lacks (hand-picked names have neither)."""
        self.primary = self.rng.choices(self.sources, self.weights)[0]
        full = [(w, s) for w, s in zip(self.weights, self.sources, strict=True) if {"phone", "street"} <= s.kinds]
        self.secondary = self.rng.choices([s for _, s in full], [w for w, _ in full])[0] if full else self.primary
        self.person = None

    def _source(self, kind: str):
        if kind in self.primary.kinds:
            return self.primary
        if kind in self.secondary.kinds:
            return self.secondary
        ok = [(w, s) for w, s in zip(self.weights, self.sources, strict=True) if kind in s.kinds]
        return self.rng.choices([s for _, s in ok], [w for w, _ in ok])[0]

    def _entity(self, kind: str) -> Piece:
        src = self._source(kind)
        if kind == "email":
            first, last = self.person or ("", "")
            text = src.email(first, last)
        else:
            text = getattr(src, kind)()
        text = text.strip()  # Faker's es_ES streets end in a space; a gold span never does
        if kind in ("full", "first", "last") and self.person is None:
            parts = text.split()
            self.person = (parts[0], parts[-1]) if kind == "full" else (text, text)
        tag = src.name
        if kind == "phone":
            tag += "|" + phone_validity(text, region_of(src.name))
        return Piece(text, _TYPE[kind], tag)

    def slot(self, name: str) -> list[Piece]:
        r = self.rng
        if name in NEGATIVE_SLOTS:
            return [Piece(NEGATIVE_SLOTS[name](r))]
        if name == "NAMES":
            k = r.choice([2, 2, 3, 3, 4])
            kind = r.choice(["full", "first", "first", "last"])
            names = [self._entity(kind) for _ in range(k)]
            out: list[Piece] = []
            for i, p in enumerate(names):
                if i:
                    out.append(Piece(" and " if i == k - 1 else ", "))
                out.append(p)
            return out
        if name == "PHONE_LOCAL":
            return [Piece(local_phone(r), "PHONE_NUMBER", "local7")]
        p = self._entity(_KIND[name])
        if name == "PHONE_EXT":
            p = Piece(p.text + extension(r), p.label, p.source + "|ext")
        elif name == "ADDRESS_LINE":
            p = Piece(p.text.replace("\n", ", "), p.label, p.source)
        return [p]


# ---------------------------------------------------------------------------------------------------------
# negatives: numbers and strings that look like PII and are not
# ---------------------------------------------------------------------------------------------------------


def _digits(r: random.Random, n: int) -> str:
    return "".join(r.choice(string.digits) for _ in range(n))


def _isbn13(r: random.Random) -> str:
    body = f"978{r.randint(0, 1)}{_digits(r, 8)}"
    n = body + stdnum_ean.calc_check_digit(body)
    return r.choice([f"{n[:3]}-{n[3]}-{n[4:7]}-{n[7:12]}-{n[12]}", n])


def _isbn10(r: random.Random) -> str:
    body = f"{r.randint(0, 1)}{_digits(r, 8)}"
    check = (11 - sum((10 - i) * int(d) for i, d in enumerate(body)) % 11) % 11
    n = body + ("X" if check == 10 else str(check))
    return r.choice([f"{n[0]}-{n[1:4]}-{n[4:9]}-{n[9]}", n])


def _imei(r: random.Random) -> str:
    """15 digits that pass Luhn (IMEIs do) but are no card: a detector must not take them for one."""
    n = luhn_complete(r.choice(["35", "86", "01", "99"]), 15, r)
    return r.choice([n, f"{n[:2]}-{n[2:8]}-{n[8:14]}-{n[14]}"])


def _date(r: random.Random) -> str:
    y, m, d = r.randint(1990, 2030), r.randint(1, 12), r.randint(1, 28)
    return r.choice([f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}", f"{d:02d}.{m:02d}.{y}", f"{y}{m:02d}{d:02d}",
                     f"{d} {['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun'][m % 6]} {y}"])  # fmt: skip


NEGATIVE_SLOTS = {
    "ORDER16": lambda r: _digits(r, 16),
    "ORDER10": lambda r: str(r.randint(2_000_000_000, 9_999_999_999)),
    "EPOCH": lambda r: str(r.randint(1_500_000_000, 1_800_000_000)),  # unix seconds, 2017-2027
    "ORDER_ID": lambda r: r.choice(["ORD-", "INV-", "#", "PO ", "A"]) + _digits(r, r.randint(6, 12)),
    "LUHNFAIL": lambda r: " ".join(luhn_fail(16, r, r.choice(["4", "5", ""]))[i : i + 4] for i in range(0, 16, 4)),
    "LUHNFAIL16": lambda r: luhn_fail(16, r, r.choice(["4", "5", "3", ""])),
    "ISBN13": _isbn13,
    "ISBN10": _isbn10,
    "IMEI": _imei,
    "EAN13": lambda r: (body := "40" + _digits(r, 10)) + stdnum_ean.calc_check_digit(body),
    "DATE": _date,
    "TIME": lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
    "VERSION4": lambda r: f"{r.randint(1, 12)}.{r.randint(0, 20)}.{r.randint(0, 99)}.{r.randint(0, 255)}",
    "SEMVER": lambda r: f"{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 30)}",
    "PRICE": lambda r: r.choice(
        [
            f"${r.randint(1, 9)},{r.randint(100, 999)}.{r.randint(10, 99)}",
            f"{r.randint(1, 999)},{r.randint(10, 99)} €",
            f"£{r.randint(1, 99999)}.{r.randint(10, 99)}",
            f"USD {r.randint(1000, 999999):,}",
        ]
    ),
    "UUID": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "HEX": lambda r: "".join(r.choice("0123456789abcdef") for _ in range(r.choice([7, 12, 40]))),
    "MAC": lambda r: ":".join(f"{r.randint(0, 255):02X}" for _ in range(6)),
    "COORD": lambda r: f"{r.uniform(-80, 80):.4f}, {r.uniform(-170, 170):.4f}",
    "TRACKING": lambda r: "1Z" + "".join(r.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
    "BIGNUM": lambda r: f"{r.randint(1_000_000, 999_999_999):,}",
    "PHONELIKE": lambda r: f"{r.randint(100, 999)}-{r.randint(100, 999)}-{r.randint(1000, 9999)}-{r.randint(10, 99)}",
    # the SSA never issues area 000/666, group 00 or serial 0000
    "SSNLIKE": lambda r: r.choice(
        [
            f"{r.choice(['000', '666'])}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}",
            f"{r.randint(1, 665):03d}-00-{r.randint(1, 9999):04d}",
            f"{r.randint(1, 665):03d}-{r.randint(1, 99):02d}-0000",
        ]
    ),
    "IPLIKE": lambda r: f"{r.randint(256, 999)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(0, 255)}",
}
