"""Entities from Faker, one source per locale (the tuning part's generator; other locales are held out).

Faker falls back to en_US (or GB for IBANs) for providers a locale does not have (et_EE has no phone or
address provider of its own). `FakerSource.kinds` keeps only the entity kinds the locale really has, so a
held-out locale never smuggles in en_US data under another name.
"""

from __future__ import annotations

import random
import unicodedata

import phonenumbers
from faker import Faker
from stdnum import iban as stdnum_iban

from bench.pii_eval.core import group_card, iban_style

TUNING_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL", "pl_PL", "ja_JP"]
HELDOUT_LOCALES = ["fi_FI", "et_EE", "hu_HU", "sv_SE", "da_DK", "cs_CZ", "ro_RO", "en_AU", "en_IN", "es_MX",
                   "fr_CA", "de_AT", "de_CH", "sk_SK", "pt_PT", "en_NZ", "en_IE", "tr_TR", "hr_HR", "sl_SI",
                   "lt_LT", "lv_LV", "el_GR", "uk_UA", "no_NO", "en_CA", "th_TH", "he_IL"]  # fmt: skip
CARD_TYPES = ["amex", "diners", "discover", "jcb15", "jcb16", "maestro", "mastercard", "visa13", "visa16", "visa19"]
# provider module per entity kind; a kind is the locale's own when its provider's __lang__ is the locale
_PROVIDERS = {
    "name": "faker.providers.person",
    "phone": "faker.providers.phone_number",
    "address": "faker.providers.address",
    "iban": "faker.providers.bank",
    "ssn": "faker.providers.ssn",
}


def ascii_fold(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode() if c.isalnum())


class FakerSource:
    """One Faker locale. Methods return plain strings; the pool labels and formats them."""

    def __init__(self, locale: str, seed: int, rng: random.Random) -> None:
        self.locale = locale
        self.name = f"faker:{locale}"
        self.region = locale.split("_")[1]
        self.f = Faker(locale)
        self.f.seed_instance(seed)
        self.rng = rng
        own = {p.__provider__: getattr(p, "__lang__", "") for p in self.f.get_providers()}
        self.kinds = {"email", "ip", "card"}
        for kind, module in _PROVIDERS.items():
            if (own.get(module) or "").startswith(locale):
                self.kinds.add(kind)
        if "name" in self.kinds:
            self.kinds |= {"first", "last", "full"}
        if "address" in self.kinds:
            self.kinds |= {"street"}
        if locale != "en_US":
            self.kinds.discard("ssn")  # Faker's ssn() elsewhere is a national id, not a US SSN
        self.romanize = locale == "ja_JP"
        probe = {"name": "first_name", "phone": "phone_number", "address": "street_address", "iban": "iban"}
        for kind, method in probe.items():
            if kind in self.kinds and not callable(getattr(self.f, method, None)):
                self.kinds.discard(kind)
        if "iban" in self.kinds and not stdnum_iban.is_valid(Faker(locale).iban(), check_country=False):
            self.kinds.discard("iban")  # th_TH makes "TH.." IBANs: Thailand has none (not in the registry)

    def first(self, roman: bool | None = None) -> str:
        if self.romanize and (self.rng.random() < 0.6 if roman is None else roman):
            return self.f.first_romanized_name()
        return self.f.first_name()

    def last(self, roman: bool | None = None) -> str:
        if self.romanize and (self.rng.random() < 0.6 if roman is None else roman):
            return self.f.last_romanized_name()
        return self.f.last_name()

    def full(self) -> str:
        if self.rng.random() < 0.12 and not self.romanize:
            return self.f.name()  # with Faker's own prefixes/suffixes ("Dr.", "MBA.")
        roman = self.rng.random() < 0.6
        if self.romanize and not roman:
            return f"{self.last(False)} {self.first(False)}"  # Japanese order in kanji
        return f"{self.first(roman)} {self.last(roman)}"

    def email(self, first: str = "", last: str = "") -> str:
        if first and last and self.rng.random() < 0.6:
            f, la = ascii_fold(first).lower() or "x", ascii_fold(last).lower() or "y"
            local = self.rng.choice([f"{f}.{la}", f"{f}{la[:1]}", f"{f[:1]}{la}", f"{f}_{la}{self.rng.randint(1, 99)}"])
            return f"{local}@{self.f.free_email_domain()}"
        return self.rng.choice([self.f.email, self.f.free_email, self.f.company_email])()

    def phone(self) -> str:
        s = self.f.phone_number()
        if s.startswith("0") and not s.startswith("00") and self.rng.random() < 0.3:
            cc = phonenumbers.country_code_for_region(self.region)
            if cc:
                s = f"+{cc} " + s[1:].lstrip("(").replace(")", "", 1).lstrip()
        return s

    def card(self) -> str:
        return group_card(self.f.credit_card_number(self.rng.choice(CARD_TYPES)), self.rng)

    def iban(self) -> str:
        return iban_style(self.f.iban(), self.rng)

    def ssn(self) -> str:
        return self.f.ssn()

    def ip(self) -> str:
        x = self.rng.random()
        if x < 0.6:
            return self.f.ipv4_public()
        if x < 0.75:
            return self.f.ipv4_private()
        return self.f.ipv6()

    def street(self) -> str:
        return self.f.street_address().replace("\n", ", ")

    def address(self) -> str:
        """Full postal address, multi-line as Faker writes it."""
        return self.f.address()
