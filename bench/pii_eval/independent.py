"""Held-out entities that come from neither Faker nor mimesis: hand-picked real names, every card issuer's
number ranges, the IBAN registry's country formats (python-stdnum's `iban.dat`), the SSA's SSN rules.

The hand-picked names are real given names and surnames (Māori, Hawaiian, Amharic, Somali, Tamil, Telugu,
Bengali, Punjabi, Malay, Indonesian, Mongolian, Georgian, Armenian, Basque, Welsh, Irish, Icelandic, Igbo,
Yoruba, Akan, Zulu, Quechua...). Any that Faker has in any locale are dropped at build time
(`faker_names()`), so what is left is outside the data the shipped lexicon was built from.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import random
import re
import string
from pathlib import Path

from bench.pii_eval.core import group_card, iban_style, iban_with_checksum, luhn_complete

HAND_PICKED_FIRST = """
Aroha Wiremu Tāne Manaia Hemi Rangi Ngaio Kahurangi Mere Tamati Keanu Leilani Kalani Makoa Noelani Kealoha
Abebe Tesfaye Meseret Almaz Haile Tigist Yohannes Selamawit Dawit Birtukan Abdirahman Hodan Faadumo Cabdi
Ayaan Sagal Warsame Muthoni Wanjiru Njeri Otieno Achieng Baraka Zawadi Kioko Murugan Senthil Kaveri
Thirumalai Anbarasan Venkatesh Srinivasulu Lakshmana Bhargavi Sravani Tanvir Shirin Rabindra Sumaiya
Mahfuz Gurpreet Harjit Jaswinder Manpreet Kuldeep Navjot Siti Nurul Hafiz Wan Azlan Zulkifli Wayan Ketut
Putu Dewi Bagus Sukarno Batbayar Enkhtuya Oyuntsetseg Ganbold Tserendorj Nino Levan Tamar Giorgi Eka
Zurab Lasha Anahit Tigran Armen Gohar Hovhannes Ainhoa Iker Itziar Gorka Nerea Eneko Aitor Maialen
Cerys Gwenllian Iolo Rhodri Dafydd Siôn Aoife Caoimhe Niamh Oisín Tadhg Saoirse Siobhán Guðrún Sigurður
Þórunn Ragnheiður Chukwuemeka Obiageli Nkechi Chidubem Adaobi Olumide Yetunde Oluwatobi Titilayo Kwaku
Yaa Adwoa Kofi Sibusiso Nomvula Mandla Bongani Thulani Nokuthula Inti Killa Sumaq Amaru Yupanqui
""".split()  # noqa: SIM905 (a word list reads better as text)
HAND_PICKED_LAST = """
Te Whata Tawhiri Ngata Parata Tuhiwai Kamakau Kahananui Kealamakia Nakoa Gebremedhin Woldemariam Tadesse
Bekele Alemayehu Desta Gebreyes Warsame Farah Abdullahi Ducaale Omondi Kamau Wambui Mutua Kiprotich
Chepkoech Subramaniam Ramasamy Palaniappan Venkataraman Annamalai Gopalakrishnan Bhattacharjee
Chowdhury Mukherjee Banerjee Sandhu Dhillon Grewal Sidhu Brar Gill Abdullah Ismail Hamzah Rahmat
Sasmita Wijaya Suharto Purnomo Hadiwijaya Batbold Gantulga Tsogtbaatar Jargalsaikhan Beridze
Kapanadze Tsiklauri Jghenti Abashidze Hovsepyan Grigoryan Sargsyan Mkrtchyan Khachatryan Etxeberria
Goikoetxea Agirre Urrutia Zubizarreta Arrieta Llewellyn Pritchard Vaughan Bowen Cadwaladr Ó Súilleabháin
Mac Giolla Ní Bhriain Ó Laoghaire Sigurðardóttir Guðmundsson Magnússon Ólafsdóttir Nwachukwu Okwuosa
Obiora Adeyemi Ogunbanjo Akinwande Oyelaran Asamoah Ofori Bonsu Frimpong Mthembu Zungu Ngcobo Shabalala
Mamani Quispe Huanca Condori Choque Huaman
""".split()  # noqa: SIM905
# multi-word surnames above were split by `.split()`; these are the ones to keep whole
_WHOLE = ["Te Whata", "Ó Súilleabháin", "Mac Giolla", "Ní Bhriain", "Ó Laoghaire"]


@functools.cache
def faker_names(prefixes: tuple[str, ...] = ("first_name", "last_name")) -> frozenset[str]:
    """Lower-cased name parts of every Faker person locale (what the shipped lexicon was built from)."""
    import faker.providers.person as person

    names: set[str] = set()
    for module in sorted(m.name for m in pkgutil.iter_modules(person.__path__)):
        provider = importlib.import_module(f"faker.providers.person.{module}").Provider
        for attr in dir(provider):
            if not attr.startswith(prefixes):
                continue
            value = getattr(provider, attr)
            items = value.keys() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
            for item in items:
                names.update(part.lower() for part in str(item).split())
    return frozenset(names)


def _not_in_faker(names: list[str]) -> list[str]:
    known = faker_names()
    return [n for n in names if not any(p.lower() in known for p in n.split())]


def hand_picked() -> tuple[list[str], list[str]]:
    lasts = [n for n in HAND_PICKED_LAST if not any(n in w.split() for w in _WHOLE)] + _WHOLE
    return sorted(set(_not_in_faker(HAND_PICKED_FIRST))), sorted(set(_not_in_faker(lasts)))


# issuer: (prefixes, lengths); from the issuers' published IIN ranges
ISSUERS: dict[str, tuple[list[str], list[int]]] = {
    "visa": (["4"], [13, 16, 19]),
    "mastercard": (["51", "52", "53", "54", "55", "2221", "2300", "2500", "2720"], [16]),
    "amex": (["34", "37"], [15]),
    "discover": (["6011", "644", "649", "65"], [16, 19]),
    "jcb": (["3528", "3550", "3589"], [16, 17, 18, 19]),
    "jcb15": (["2131", "1800"], [15]),
    "diners": (["300", "305", "36", "38"], [14]),
    "maestro": (["50", "56", "58", "6304", "6759", "676770"], [12, 13, 14, 15, 16, 17, 18, 19]),
    "unionpay": (["62"], [16, 17, 18, 19]),
    "mir": (["2200", "2204"], [16]),
    "rupay": (["60", "652", "81", "82"], [16]),
    "elo": (["636368", "504175", "509000"], [16]),
    "troy": (["9792"], [16]),
}


def _iban_registry() -> dict[str, list[tuple[int, str]]]:
    import stdnum

    path = Path(stdnum.__file__).parent / "iban.dat"
    out: dict[str, list[tuple[int, str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r'^([A-Z]{2}) .*bban="([^"]+)"', line)
        if m:
            out[m.group(1)] = [(int(n), k) for n, k in re.findall(r"(\d+)!([nac])", m.group(2))]
    return out


class IndependentSource:
    """Hand-written generators from public specifications; no third-party fake-data library."""

    name = "independent"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.firsts, self.lasts = hand_picked()
        self.registry = _iban_registry()
        self.kinds = {"first", "last", "full", "card", "iban", "ssn", "ip"}

    def first(self) -> str:
        return self.rng.choice(self.firsts)

    def last(self) -> str:
        return self.rng.choice(self.lasts)

    def full(self) -> str:
        """Full names as people sign: mostly "First Last", some "K. Last" and "First K. Last"."""
        x = self.rng.random()
        if x < 0.15:
            return f"{self.first()[0]}. {self.last()}"
        if x < 0.25:
            return f"{self.first()} {self.first()[0]}. {self.last()}"
        return f"{self.first()} {self.last()}"

    def card(self) -> str:
        issuer = self.rng.choice(list(ISSUERS))
        prefixes, lengths = ISSUERS[issuer]
        return group_card(luhn_complete(self.rng.choice(prefixes), self.rng.choice(lengths), self.rng), self.rng)

    def iban(self) -> str:
        country = self.rng.choice(sorted(self.registry))
        pool = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}
        bban = "".join(self.rng.choice(pool[k]) for n, k in self.registry[country] for _ in range(n))
        return iban_style(iban_with_checksum(country, bban), self.rng)

    def ssn(self) -> str:
        """SSA rules: area 001-899 except 666, group 01-99, serial 0001-9999; written three ways."""
        r = self.rng
        area = r.randint(1, 898)
        area += area >= 666
        g, s = r.randint(1, 99), r.randint(1, 9999)
        sep = r.choice(["-", "-", "-", " ", ""])
        return f"{area:03d}{sep}{g:02d}{sep}{s:04d}"

    def ip(self) -> str:
        r = self.rng
        x = r.random()
        v4 = f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        if x < 0.4:
            return v4
        if x < 0.6:  # compressed IPv6 as people paste it
            head = ":".join(f"{r.randint(0, 0xFFFF):x}" for _ in range(r.randint(2, 4)))
            return f"{r.choice(['2001', '2a01', '2600', '2804'])}:{head}::{r.randint(1, 0xFFFF):x}"
        if x < 0.8:
            return f"{v4}/{r.choice([24, 32, 16])}"  # CIDR notation in firewall rules
        return f"::ffff:{v4}"  # IPv4-mapped IPv6


def local_phone(rng: random.Random) -> str:
    """A seven-digit local number without area code, as in `Phone: 467 3395`."""
    return f"{rng.randint(200, 999)}{rng.choice([' ', '-', '-', ''])}{rng.randint(0, 9999):04d}"


def extension(rng: random.Random) -> str:
    """An extension as written after a number: " ext. 204", " x31", " (ext. 12)", " poste 4410"."""
    pre, post = rng.choice([(" ext. ", ""), (" ext ", ""), (" x", ""), (", ext. ", ""), (" (ext. ", ")"),
                            (" Durchwahl -", ""), (" poste ", "")])  # fmt: skip
    return f"{pre}{rng.randint(1, 9999)}{post}"
