"""Entities from mimesis (held-out only): a different generator with its own name, street and phone data.

mimesis's names are not Faker's, and the shipped PERSON lexicon was built from Faker's names of all its
locales, so these (and `independent.HAND_PICKED_*`) are the honest PERSON test. Non-Latin locales (ru, uk,
el, zh, ja, ko, fa, ar) are included on purpose: real logs have them; the source tag keeps them apart.
"""

from __future__ import annotations

import random

from mimesis import Address, CardType, Internet, Locale, Payment, Person

from bench.pii_eval.core import group_card

LOCALES = ["cs", "da", "de", "de-at", "de-ch", "el", "en", "en-au", "en-ca", "en-gb", "es", "es-mx", "et", "fa",
           "fi", "fr", "hu", "hr", "is", "it", "ja", "kk", "ko", "nl", "nl-be", "no", "pl", "pt", "pt-br", "ru",
           "sk", "sv", "tr", "uk", "zh", "ar-eg"]  # fmt: skip
NON_LATIN = {"el", "fa", "ja", "kk", "ko", "ru", "uk", "zh", "ar-eg"}


class MimesisSource:
    """One mimesis locale; kinds mirror `FakerSource` (no IBAN, no SSN: mimesis 22 has neither)."""

    def __init__(self, locale: str, seed: int, rng: random.Random) -> None:
        self.locale = locale
        self.name = f"mimesis:{locale}"
        self.rng = rng
        loc = Locale(locale)
        self.person = Person(loc, seed=seed)
        self.addr = Address(loc, seed=seed + 1)
        self.pay = Payment(seed=seed + 2)
        self.net = Internet(seed=seed + 3)
        self.kinds = {"first", "last", "full", "email", "phone", "street", "address", "card", "ip"}

    def first(self) -> str:
        return self.person.first_name()

    def last(self) -> str:
        return self.person.last_name()

    def full(self) -> str:
        return f"{self.first()} {self.last()}"

    def email(self, first: str = "", last: str = "") -> str:
        return self.person.email()

    def phone(self) -> str:
        return self.person.phone_number()

    def card(self) -> str:
        n = self.pay.credit_card_number(self.rng.choice(list(CardType))).replace(" ", "")
        return group_card(n, self.rng)

    def ip(self) -> str:
        x = self.rng.random()
        if x < 0.65:
            return self.net.ip_v4()
        if x < 0.8:
            return self.net.ip_v4_with_port()
        return self.net.ip_v6()

    def street(self) -> str:
        return self.addr.address()

    def address(self) -> str:
        sep = self.rng.choice(["\n", ", "])
        return f"{self.addr.address()}{sep}{self.addr.postal_code()} {self.addr.city()}"
