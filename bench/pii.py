"""Benchmark `ftdata_assets.transforms.pii.detect` against Presidio's pattern recognizers.

Run: `.venv/bin/python bench/pii.py [--texts 6000] [--seed 20261101]`

Builds a deterministic labelled set of chat-log-like texts (fixed seed): planted entities of every type in
realistic sentences, PII-free filler, and tricky negatives (Luhn failures, ISBNs, dates, versions, prices,
phone-like order ids, names that are common words, places). Then, in the same run and on the same texts:
- throughput (texts/second) of `detect` (whole Series at once) and of Presidio's `AnalyzerEngine` with a
  `NoOpNlpEngine` (pattern recognizers only, restricted to the six types it shares with us), and the ratio;
- recall and precision per type for both. A gold span is recalled when a predicted span of the same type
  overlaps it; a predicted span is correct when it overlaps a gold span of its type.
Presidio's pattern recognizers have no PERSON, LOCATION or SECRET recognizer (PERSON needs a spaCy/NER
model, which cannot be downloaded here), so those rows show ours only.

Bench-only dependencies: presidio-analyzer (pulls phonenumbers, used here to keep only valid planted phone
numbers) and faker (names and street names for the planted entities).
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ftdata_assets.transforms import pii

PRESIDIO_TYPES = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS"]
STRUCTURED = [*PRESIDIO_TYPES, "SECRET"]


# --------------------------------------------------------------------------------------------------------
# entity generators
# --------------------------------------------------------------------------------------------------------

FAKER_LOCALES = ["en_US", "en_GB", "en_IN", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL", "pl_PL"]
# real names that Faker's lists (and so the shipped lexicon) do not have: they measure what the context
# rules find without the gazetteer. Any that turn out to be in the lexicon are dropped at run time.
OOV_FIRST = [
    "Oluwaseun",
    "Chiamaka",
    "Thandiwe",
    "Nnamdi",
    "Kaveh",
    "Siavash",
    "Tahmina",
    "Olamide",
    "Chukwuemeka",
    "Yetunde",
    "Bongani",
    "Nomvula",
    "Sipho",
    "Temitope",
    "Adaeze",
    "Obinna",
    "Kwabena",
    "Akosua",
    "Yaw",
    "Efua",
    "Ngozi",
    "Ikenna",
    "Zanele",
    "Lerato",
    "Mpho",
    "Tshepo",
    "Anesu",
    "Tendai",
    "Rutendo",
    "Farai",
    "Chidi",
    "Emeka",
    "Ifeoma",
    "Ebere",
    "Uchenna",
    "Amaka",
    "Babajide",
    "Folake",
    "Kayode",
    "Bukola",
    "Seun",
    "Dumisani",
    "Themba",
    "Lindiwe",
    "Nandi",
    "Ayodele",
    "Oyelaran",
    "Kofi",
    "Abena",
    "Kwame",
    "Esi",
    "Nii",
    "Ama",
    "Kojo",
    "Afia",
    "Ekow",
    "Araba",
    "Parisa",
    "Shirin",
    "Behnam",
    "Farshid",
    "Golnaz",
    "Roya",
    "Dariush",
    "Mehrdad",
    "Soraya",
    "Nasrin",
    "Arash",
    "Babak",
    "Shahram",
    "Ladan",
    "Tuan",
    "Nguyet",
    "Thuy",
    "Khanh",
    "Phuong",
    "Huong",
    "Duc",
    "Quynh",
    "Trang",
    "Hieu",
    "Vy",
    "Bao",
    "Anh",
    "Linh",
]
OOV_LAST = [
    "Adebayo",
    "Okonkwo",
    "Nwosu",
    "Eze",
    "Obi",
    "Chukwu",
    "Okafor",
    "Balogun",
    "Adeyemi",
    "Olawale",
    "Mensah",
    "Boateng",
    "Asante",
    "Owusu",
    "Appiah",
    "Darko",
    "Agyeman",
    "Osei",
    "Ndlovu",
    "Dlamini",
    "Khumalo",
    "Mkhize",
    "Zulu",
    "Nkosi",
    "Sithole",
    "Mahlangu",
    "Moyo",
    "Ncube",
    "Chikwanha",
    "Mutasa",
    "Rostami",
    "Tehrani",
    "Farahani",
    "Ghorbani",
    "Mirzaei",
    "Karimi",
    "Hosseini",
    "Jafari",
    "Sadeghi",
    "Moradi",
    "Rezaei",
    "Bagheri",
    "Kazemi",
    "Abbasi",
    "Nikpour",
    "Vahidi",
    "Tabrizi",
    "Esfahani",
    "Shirazi",
    "Daneshvar",
    "Yazdani",
    "Ansari",
    "Ebrahimi",
    "Soltani",
    "Nazari",
    "Akinola",
    "Ogunleye",
    "Oyelowo",
    "Olaniyan",
    "Fashola",
    "Adewale",
    "Ajayi",
    "Babatunde",
    "Ogunbiyi",
    "Onyekachi",
    "Nwachukwu",
    "Ezeani",
    "Uzor",
    "Anyanwu",
    "Okorie",
    "Iwu",
    "Agu",
    "Nwankwo",
    "Okeke",
    "Chinwe",
]

COMMON_US_AREA = [201, 202, 206, 212, 213, 214, 215, 216, 305, 310, 312, 313, 314, 404, 408, 412, 415, 503,
                  512, 602, 615, 617, 619, 646, 702, 713, 718, 720, 773, 786, 805, 818, 858, 917, 949, 971]  # fmt: skip
STREET_NAMES = ["Main", "Oak", "Maple", "Park", "Washington", "Lake", "Hill", "Elm", "Pine", "Cedar",
                "Sunset", "Lincoln", "Jackson", "Church", "Highland", "Madison", "Spring", "River", "Market",
                "Mill", "Walnut", "Chestnut", "Willow", "Franklin", "Jefferson", "Center", "Ridge", "Union",
                "Broad", "High", "Station", "Victoria", "Kings", "Queens", "Baker", "Green", "Mountain View",
                "Martin Luther King Jr", "1st", "2nd", "3rd", "5th", "42nd", "125th", "Old Mill",
                "Fox Run"]  # fmt: skip
SUFFIXES = ["Street"] * 6 + ["St"] * 5 + ["Avenue"] * 4 + ["Ave"] * 4 + ["Road"] * 3 + ["Rd"] * 2 + \
    ["Drive", "Dr", "Lane", "Ln", "Boulevard", "Blvd", "Court", "Ct", "Way", "Place", "Terrace", "Circle",
     "Parkway", "Pkwy", "Highway", "Close", "Crescent", "Grove", "Square"]  # fmt: skip
US_CITIES = [("Springfield", "IL"), ("Austin", "TX"), ("Portland", "OR"), ("Denver", "CO"),
             ("San Jose", "CA"), ("Columbus", "OH"), ("Raleigh", "NC"), ("Tampa", "FL"), ("Boise", "ID"),
             ("Madison", "WI"), ("Richmond", "VA"), ("Salt Lake City", "UT"), ("New York", "NY")]  # fmt: skip
UK_CITIES = [("London", "SW1A 1AA"), ("Manchester", "M1 2AB"), ("Leeds", "LS1 4DT"),
             ("Bristol", "BS1 5TR"), ("Glasgow", "G2 3AX"), ("Edinburgh", "EH1 1YZ")]  # fmt: skip
DE_STREETS = ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße", "Lindenallee", "Marktplatz",
              "Goethestraße", "Kirchgasse", "Am Ringdamm"]  # fmt: skip
DE_CITIES = [("10115", "Berlin"), ("80331", "München"), ("50667", "Köln"), ("20095", "Hamburg")]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk", "acme-corp.com", "example.org",
                 "mail.company.io", "uni-heidelberg.de", "protonmail.ch", "fastmail.fm", "icloud.com"]  # fmt: skip
IBAN_SPECS = {"DE": "8n10n", "GB": "4a6n8n", "FR": "5n5n11c2n", "NL": "4a10n", "ES": "4n4n1n1n10n",
              "IT": "1a5n5n12c", "CH": "5n12c", "BE": "3n7n2n", "AT": "5n11n", "PL": "8n16n"}  # fmt: skip


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        if luhn_ok(body + check):
            return body + check
    raise AssertionError


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban(country: str, rng: random.Random) -> str:
    bban = ""
    spec = IBAN_SPECS[country]
    num = ""
    for ch in spec:
        if ch.isdigit():
            num += ch
            continue
        pool = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}
        bban += "".join(rng.choice(pool[ch]) for _ in range(int(num)))
        num = ""
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    return f"{country}{check:02d}{bban}"


@dataclass
class Gen:
    rng: random.Random
    fakers: list = field(default_factory=list)
    oov_first: list[str] = field(default_factory=list)
    oov_last: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from faker import Faker

        for i, loc in enumerate(FAKER_LOCALES):
            f = Faker(loc)
            f.seed_instance(self.rng.randrange(1 << 30) + i)
            self.fakers.append(f)
        known = set(pii.lexicon()["low"].to_list())
        self.oov_first = [n for n in OOV_FIRST if n.lower() not in known]
        self.oov_last = [n for n in OOV_LAST if n.lower() not in known]

    # names -------------------------------------------------------------------------------------------
    def first(self, oov: bool = False) -> str:
        if oov:
            return self.rng.choice(self.oov_first)
        return self.rng.choice(self.fakers).first_name()

    def last(self, oov: bool = False) -> str:
        if oov:
            return self.rng.choice(self.oov_last)
        return self.rng.choice(self.fakers).last_name()

    # structured ----------------------------------------------------------------------------------------
    def email(self, first: str | None = None, last: str | None = None) -> str:
        import unicodedata

        def ascii_(s: str) -> str:
            s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
            return "".join(c for c in s if c.isalnum()).lower() or "user"

        f = ascii_(first or self.first())
        la = ascii_(last or self.last())
        local = self.rng.choice([f"{f}.{la}", f"{f}{la[:1]}", f"{f[:1]}{la}", f"{f}_{la}{self.rng.randint(1, 99)}",
                                 f"{f}", f"{la}.{f}+news"])  # fmt: skip
        return f"{local}@{self.rng.choice(EMAIL_DOMAINS)}"

    def phone(self) -> str:
        import phonenumbers

        while True:
            kind = self.rng.random()
            a = self.rng.choice(COMMON_US_AREA)
            ex = self.rng.randint(200, 999)
            ln = self.rng.randint(0, 9999)
            if kind < 0.45:
                fmt = self.rng.choice(["({a}) {e}-{l:04d}", "{a}-{e}-{l:04d}", "{a}.{e}.{l:04d}",
                                       "+1 {a} {e} {l:04d}", "+1-{a}-{e}-{l:04d}", "1-{a}-{e}-{l:04d}",
                                       "+1 ({a}) {e}-{l:04d}"])  # fmt: skip
                s, region = fmt.format(a=a, e=ex, l=ln), "US"
            elif kind < 0.65:
                mob = f"7{self.rng.randint(400, 999)} {self.rng.randint(100000, 999999)}"
                land = f"20 {self.rng.randint(7000, 8999)} {self.rng.randint(1000, 9999)}"
                s = self.rng.choice([f"+44 {mob}", f"0{mob}", f"+44 {land}", f"0{land}", f"+44 (0){land}"])
                region = "GB"
            elif kind < 0.78:
                s = self.rng.choice(
                    [
                        f"+49 30 {self.rng.randint(1000000, 99999999)}",
                        f"+49 151 {self.rng.randint(1000000, 99999999)}",
                        f"030 {self.rng.randint(1000000, 99999999)}",
                        f"+49 (0)89 {self.rng.randint(100000, 9999999)}",
                    ]
                )
                region = "DE"
            elif kind < 0.88:
                pairs = " ".join(f"{self.rng.randint(0, 99):02d}" for _ in range(4))
                s = self.rng.choice([f"+33 {self.rng.choice('1234567')} {pairs}", f"0{self.rng.choice('167')} {pairs}"])
                region = "FR"
            elif kind < 0.94:
                s = f"+91 {self.rng.randint(70000, 99999)} {self.rng.randint(10000, 99999)}"
                region = "IN"
            else:
                s = f"+61 {self.rng.choice('2378')} {self.rng.randint(1000, 9999)} {self.rng.randint(1000, 9999)}"
                region = "AU"
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(s, region)):
                    return s
            except phonenumbers.NumberParseException:
                pass

    def card(self) -> str:
        brand = self.rng.random()
        if brand < 0.4:
            n = luhn_complete("4", 16, self.rng)
        elif brand < 0.7:
            n = luhn_complete(str(self.rng.randint(51, 55)), 16, self.rng)
        elif brand < 0.85:
            n = luhn_complete(self.rng.choice(["34", "37"]), 15, self.rng)
            sep = self.rng.choice([" ", "-", ""])
            return sep.join([n[:4], n[4:10], n[10:]])
        else:
            n = luhn_complete(self.rng.choice(["6011", "65"]), 16, self.rng)
        sep = self.rng.choice([" ", " ", "-", ""])
        return sep.join(n[i : i + 4] for i in range(0, 16, 4))

    def iban(self) -> str:
        code = iban(self.rng.choice(list(IBAN_SPECS)), self.rng)
        if self.rng.random() < 0.6:
            return " ".join(code[i : i + 4] for i in range(0, len(code), 4))
        return code

    def ssn(self) -> str:
        while True:
            area = self.rng.randint(1, 899)
            if area != 666:
                break
        g, s = self.rng.randint(1, 99), self.rng.randint(1, 9999)
        sep = self.rng.choice(["-", "-", "-", " "])
        return f"{area:03d}{sep}{g:02d}{sep}{s:04d}"

    def ip(self) -> str:
        if self.rng.random() < 0.75:
            first = self.rng.choice([8, 23, 34, 45, 52, 66, 81, 93, 104, 142, 151, 172, 185, 192, 203, 212, 10])
            return ".".join(str(x) for x in [first, *(self.rng.randint(0, 255) for _ in range(3))])
        groups = [f"{self.rng.randint(0, 0xFFFF):x}" for _ in range(8)]
        groups[0] = self.rng.choice(["2001", "2a02", "2600", "fe80", "2607"])
        if self.rng.random() < 0.6:
            return ":".join(groups[:3]) + "::" + ":".join(groups[6:])
        return ":".join(groups)

    def secret(self) -> tuple[str, str, str]:
        """(prefix, secret, suffix): only the middle is the labelled span."""
        r = self.rng
        alnum = string.ascii_letters + string.digits

        def rand(n: int, pool: str = alnum) -> str:
            return "".join(r.choice(pool) for _ in range(n))

        kind = r.randrange(12)
        if kind == 0:
            return "", "AKIA" + rand(16, string.ascii_uppercase + string.digits), ""
        if kind == 1:
            return "", "ghp_" + rand(36), ""
        if kind == 2:
            return "", "xoxb-" + rand(11, string.digits) + "-" + rand(12, string.digits) + "-" + rand(24), ""
        if kind == 3:
            return "", "sk_live_" + rand(24), ""
        if kind == 4:
            return "", "sk-proj-" + rand(40) + rand(4, string.digits), ""
        if kind == 5:
            return "", "sk-ant-api03-" + rand(60) + "9", ""
        if kind == 6:
            body = "\n".join(rand(64, alnum + "+/") for _ in range(4))
            key = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
            return "", key, ""
        if kind == 7:
            return "", "eyJhbGciOiJIUzI1NiJ9.eyJ" + rand(40, alnum + "_-") + "." + rand(43, alnum + "_-"), ""
        if kind == 8:
            pw = rand(r.randint(8, 14), alnum + "!#%^&*")
            key = r.choice(["password", "DB_PASSWORD", "passwd", "PGPASSWORD"])
            return f"{key}=", pw, ""
        if kind == 9:
            pw = rand(r.randint(8, 16))
            user = r.choice(["admin", "app", "postgres", "root", "svc_etl"])
            host = r.choice(["db.internal", "10.0.3.7", "prod-db.acme.io"])
            scheme = r.choice(["postgres", "mysql", "mongodb+srv", "redis", "amqp"])
            return f"{scheme}://{user}:", pw, f"@{host}:5432/app"
        if kind == 10:
            return "", "AIza" + rand(35, alnum + "_-"), ""
        return '"api_key": "', rand(32, string.hexdigits.lower()), '"'

    def address(self) -> str:
        r = self.rng
        kind = r.random()
        if kind < 0.65:
            street = f"{r.randint(1, 9999)} {r.choice(STREET_NAMES)} {r.choice(SUFFIXES)}"
            if r.random() < 0.25:
                street += r.choice([f", Apt {r.randint(1, 40)}{r.choice('ABCD')}", f" Suite {r.randint(100, 900)}",
                                    f", Unit {r.randint(1, 99)}", f" #{r.randint(1, 99)}"])  # fmt: skip
            if r.random() < 0.55:
                city, st = r.choice(US_CITIES)
                street += f", {city}, {st} {r.randint(10000, 99999)}"
            return street
        if kind < 0.85:
            city, pc = r.choice(UK_CITIES)
            kind_ = r.choice(["Street", "Road", "Lane", "Close", "Avenue", "Crescent", "Gardens"])
            base = f"{r.randint(1, 250)}{r.choice(['', '', 'B'])} {r.choice(STREET_NAMES)} {kind_}"
            if r.random() < 0.3:
                base = f"Flat {r.randint(1, 30)}, {base}"
            return base + (f", {city} {pc}" if r.random() < 0.7 else "")
        if kind < 0.95:
            pc, city = r.choice(DE_CITIES)
            s = f"{r.choice([x for x in DE_STREETS if ' ' not in x])} {r.randint(1, 120)}"
            return s + (f", {pc} {city}" if r.random() < 0.7 else "")
        return f"P.O. Box {r.randint(10, 99999)}"


# --------------------------------------------------------------------------------------------------------
# the labelled set
# --------------------------------------------------------------------------------------------------------

FILLER = [
    "Sure, here is a summary of the meeting notes you asked for.",
    "Can you help me rewrite this paragraph so it sounds more professional?",
    "The deployment failed again last night, the logs show a timeout in the worker.",
    "I don't have access to that document, could you paste the relevant part?",
    "Thanks for the quick reply!",
    "The source does not say when the policy changed.",
    "Here's a Python function that parses the CSV and returns a list of dicts.",
    "Please keep the answer under 200 words.",
    "What is the difference between a list and a tuple?",
    "I'm sorry, but I can't help with that request.",
    "Let me know if you need anything else.",
    "The quarterly report is due on Friday.",
    "Our team uses Slack for most internal communication.",
    "Could you translate this into French?",
    "The API returns a 429 when we exceed the rate limit.",
    "Great, that worked. One more question about the config file.",
    "It depends on the size of the dataset and the available memory.",
    "Here are three options, ranked by cost.",
    "I upgraded to Python 3.12 and now the tests pass.",
    "Please summarize the attached article in three bullet points.",
    "We moved the standup to Tuesday mornings.",
    "New York and San Francisco offices will close early on Friday.",
    "The Amazon order arrived, but the box was damaged.",
    "My manager approved the budget for the new laptops.",
]
NEGATIVES = [
    ("order", "Your order number is {ordernum}, it ships tomorrow."),
    ("order", "Order #{bare10} was refunded."),
    ("order", "Tracking ID {bare10}, carrier UPS."),
    ("isbn", "The book's ISBN is {isbn13}."),
    ("isbn", "ISBN {isbn10} is the first edition."),
    ("date", "The contract runs from {date1} to {date2}."),
    ("date", "Meeting at 12:30:45 on {date1}."),
    ("version", "We pinned version {version4} of the driver."),
    ("version", "Upgrade to v{version4} before Friday."),
    ("version", "Firmware {version4} fixes the bug; the SDK is at {semver}."),
    ("price", "It costs ${price} or €{price} per month."),
    ("price", "Revenue grew to $1,234,567.89 in Q3."),
    ("luhn", "Reference {luhnfail} was rejected by the system."),
    ("luhn", "Invoice {luhnfail16} is overdue."),
    ("commonword", "Will you mark this ticket as done?"),
    ("commonword", "Grant read access to the bucket and bill the client later."),
    ("commonword", "I hope the summer sale starts in June."),
    ("commonword", "Mark the rows that have a null value."),
    ("commonword", "Rose and Ivy are the two color themes in the app."),
    ("commonword", "Bill me at the end of the month."),
    ("commonword", "The Amber alert was issued downtown."),
    ("commonword", "Faith in the process is important, said the article."),
    ("place", "I flew to Paris and then to Florence last spring."),
    ("place", "We have offices in Austin, Charlotte and London."),
    ("place", "She grew up in Victoria, near Sydney."),
    ("misc", "The UUID is 123e4567-e89b-12d3-a456-426614174000."),
    ("misc", "Commit a3f5c2d1e9 fixed the regression."),
    ("misc", "The MAC address 00:1A:2B:3C:4D:5E is blocked."),
    ("misc", "Set the color to #ff8800 and the ratio to 3.14159."),
    ("misc", "Call the function with timeout=30 and retries=5."),
    ("misc", "Password must be at least 12 characters long."),
    ("misc", "Set password: str in the schema and token_count: 4096."),
    ("misc", "Use os.environ['DB_PASSWORD'] instead of hard-coding it."),
    ("misc", "Top 10 Tips for Better Sleep"),
    ("misc", "The Visual Studio Code extension needs Node 20."),
    ("misc", "He scored 3 goals in the 2nd half."),
    ("misc", "Room 101 is on the 3rd floor."),
    ("misc", "Section 4.2.1.3 describes the algorithm."),
    ("misc", "Coordinates 40.7128, -74.0060 are in Manhattan."),
    ("org", "Is Morgan Stanley a good place to work?"),
    ("org", "The Johnson & Johnson vaccine was approved."),
    ("org", "We use Jenkins and Travis for CI."),
    ("org", "My Ford Mustang needs new tires."),
    ("org", "The Wall Street Journal covered the merger."),
    ("org", "Download the model from Hugging Face."),
    ("org", "Lincoln Park is lovely in spring."),
    ("org", "Happy New Year and Merry Christmas!"),
    ("org", "Post it on Stack Overflow."),
    ("commonword", "Hope this helps!"),
    ("commonword", "Sue the contractor if they don't pay."),
    ("commonword", "Chase Bank froze my account."),
    ("commonword", "Pat the dough dry and bake it."),
]


@dataclass
class Sample:
    text: str
    spans: list[tuple[str, int, int]]


class Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[tuple[str, int, int]] = []
        self.pos = 0

    def add(self, s: str, label: str | None = None) -> Builder:
        if label:
            self.spans.append((label, self.pos, self.pos + len(s)))
        self.parts.append(s)
        self.pos += len(s)
        return self

    def done(self) -> Sample:
        return Sample("".join(self.parts), self.spans)


def negative_fill(kind: str, tmpl: str, g: Gen) -> str:
    r = g.rng
    while True:
        luhnfail16 = "".join(r.choice(string.digits) for _ in range(16))
        if not luhn_ok(luhnfail16):
            break
    vals = {
        "ordernum": "".join(r.choice(string.digits) for _ in range(16)),
        "bare10": str(r.randint(2_000_000_000, 9_999_999_999)),
        "isbn13": f"978-{r.randint(0, 1)}-{r.randint(100, 999)}-{r.randint(10000, 99999)}-{r.randint(0, 9)}",
        "isbn10": f"0-{r.randint(100, 999)}-{r.randint(10000, 99999)}-{r.randint(0, 9)}",
        "date1": r.choice(
            [
                f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/2025",
                f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.2023",
            ]
        ),
        "date2": f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
        "version4": f"{r.randint(1, 12)}.{r.randint(0, 20)}.{r.randint(0, 99)}.{r.randint(0, 255)}",
        "semver": f"{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 30)}",
        "price": f"{r.randint(1, 9)},{r.randint(100, 999)}.{r.randint(10, 99)}",
        "luhnfail": " ".join(luhnfail16[i : i + 4] for i in range(0, 16, 4)),
        "luhnfail16": luhnfail16,
    }
    return tmpl.format(**vals)


def make_sample(g: Gen) -> Sample:
    r = g.rng
    b = Builder()
    if r.random() < 0.5:
        b.add(r.choice(FILLER) + " ")
    choice = r.random()
    oov = r.random() < 0.25
    if choice < 0.28:  # names
        first, last = g.first(oov), g.last(oov and r.random() < 0.7)
        full = f"{first} {last}"
        t = r.randrange(24)
        if t == 0:
            b.add("Hi, my name is ").add(full, "PERSON").add(" and I need help with my account.")
        elif t == 1:
            b.add("Dear ").add(first, "PERSON").add(",\nthank you for your email.")
        elif t == 2:
            b.add("Please forward this to ").add(full, "PERSON").add(" before noon.")
        elif t == 3:
            b.add("Thanks for your help!\nBest regards,\n").add(full, "PERSON")
        elif t == 4:
            b.add(r.choice(["Mr. ", "Ms. ", "Dr. ", "Mrs. "])).add(last, "PERSON").add(" will join the call.")
        elif t == 5:
            b.add(full, "PERSON").add(" said the invoice was already paid.")
        elif t == 6:
            b.add("I spoke with ").add(first, "PERSON").add(" yesterday about the refund.")
        elif t == 7:
            b.add("Name: ").add(full, "PERSON").add("\nAccount type: premium")
        elif t == 8:
            b.add("Can you write a birthday message for my sister ").add(first, "PERSON").add("?")
        elif t == 9:
            b.add("Hello ").add(first, "PERSON").add("! Your ticket has been updated.")
        elif t == 10:
            b.add("My manager ").add(full, "PERSON").add(" wants the slides by Monday.")
        elif t == 11:
            b.add("I'm ").add(full, "PERSON").add(", the new project lead.")
        elif t == 12:
            b.add("Ask ").add(first, "PERSON").add(" about the migration plan.")
        elif t == 13:
            b.add("Cheers,\n").add(first, "PERSON")
        elif t == 14:
            b.add("Meeting notes: ").add(full, "PERSON").add(" and ").add(
                f"{g.first(oov)} {g.last(oov)}", "PERSON"
            ).add(" agreed on the timeline.")
        elif t == 15:
            b.add("The letter was signed by ").add(full, "PERSON").add(".")
        elif t == 16:
            b.add(first, "PERSON").add("'s laptop is broken again, can you reset it?")
        elif t == 17:
            b.add("According to ").add(full, "PERSON").add(", the deadline moved to next week.")
        elif t == 18:
            b.add(first, "PERSON").add(" and ").add(g.first(oov), "PERSON").add(" will present the results tomorrow.")
        elif t == 19:
            b.add("We hired ").add(full, "PERSON").add(" as a data engineer.")
        elif t == 20:
            b.add("Send it to ").add(full, "PERSON").add(" <").add(g.email(first, last), "EMAIL_ADDRESS").add(">")
        elif t == 21:
            b.add("See you tomorrow!\n- ").add(first, "PERSON")
        elif t == 22:
            b.add("Thx ").add(first, "PERSON").add("!")
        else:
            b.add("Can you draft a reply to ").add(full, "PERSON").add(" about the delay?")
    elif choice < 0.40:  # addresses
        t = r.randrange(5)
        addr = g.address()
        pre = ["Ship it to ", "My address is ", "We moved to ", "The office is at ", "Send the invoice to "][t]
        b.add(pre).add(addr, "LOCATION").add(r.choice([".", ", thanks.", " please.", ""]))
    elif choice < 0.47:
        first, last = g.first(), g.last()
        b.add(r.choice(["You can reach me at ", "My email is ", "Contact: ", "cc "])).add(
            g.email(first, last), "EMAIL_ADDRESS"
        )
        b.add(r.choice([".", " if you have questions.", "", " or by phone."]))
    elif choice < 0.55:
        b.add(r.choice(["Call me at ", "My number is ", "Phone: ", "Text me on ", "Mobile "])).add(
            g.phone(), "PHONE_NUMBER"
        )
        b.add(r.choice([".", " after 5pm.", "", ", thanks."]))
    elif choice < 0.61:
        b.add(r.choice(["My card number is ", "Card: ", "I paid with ", "charge "])).add(g.card(), "CREDIT_CARD")
        b.add(r.choice([" exp 04/27.", ", CVV 123.", ".", ""]))
    elif choice < 0.66:
        b.add(r.choice(["Please wire it to IBAN ", "IBAN: ", "My bank account is ", "Transfer to "])).add(
            g.iban(), "IBAN_CODE"
        )
        b.add(r.choice([".", " (EUR).", "", " thanks"]))
    elif choice < 0.71:
        b.add(r.choice(["My SSN is ", "SSN: ", "social security number ", "For the form: "])).add(g.ssn(), "US_SSN")
        b.add(r.choice([".", "", " - is that safe to share?"]))
    elif choice < 0.77:
        ip = g.ip()
        port = r.random() < 0.25
        pre = r.choice(["The server at ", "Connection refused from ", "Whitelist ", "ping "])
        b.add(pre + ("[" if port and ":" in ip else "")).add(ip, "IP_ADDRESS")
        # an IPv6 address with a port is written in brackets: [2001:db8::1]:8080
        b.add(
            ("]" if port and ":" in ip else "")
            + (":8080 is down." if port else r.choice([" keeps timing out.", " please.", ""]))
        )
    elif choice < 0.84:
        pre, sec, post = g.secret()
        b.add(r.choice(["Here is my config: ", "I accidentally pasted ", "export ", "The key is ", "use "]))
        b.add(pre).add(sec, "SECRET").add(post).add(r.choice(["", " - is that the problem?", "\nWhy does it fail?"]))
    elif choice < 0.95:
        kind, tmpl = r.choice(NEGATIVES)
        b.add(negative_fill(kind, tmpl, g))
    else:
        b.add(r.choice(FILLER))
    if r.random() < 0.15:  # some non-ASCII around the entities
        b.add(r.choice([" Merci beaucoup 😊", " 谢谢！", " Grüße aus Köln.", " ¿Todo bien?"]))
    return b.done()


def labelled_set(n: int, seed: int) -> list[Sample]:
    g = Gen(random.Random(seed))
    return [make_sample(g) for _ in range(n)]


# --------------------------------------------------------------------------------------------------------
# scoring and timing
# --------------------------------------------------------------------------------------------------------


def score(samples: list[Sample], preds: list[list[tuple[str, int, int]]], types: list[str]) -> dict:
    out = {}
    for t in types:
        gold_n = pred_n = hit_gold = hit_pred = 0
        for s, p in zip(samples, preds, strict=True):
            g = [(a, b) for (ty, a, b) in s.spans if ty == t]
            q = [(a, b) for (ty, a, b) in p if ty == t]
            gold_n += len(g)
            pred_n += len(q)
            hit_gold += sum(any(a < d and c < b for (c, d) in q) for (a, b) in g)
            hit_pred += sum(any(a < d and c < b for (c, d) in g) for (a, b) in q)
        out[t] = (
            hit_gold / gold_n if gold_n else float("nan"),
            hit_pred / pred_n if pred_n else float("nan"),
            gold_n,
            pred_n,
        )
    return out


def presidio_engine():
    import presidio_analyzer.predefined_recognizers.generic.email_recognizer as email_rec
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    # no network here: use tldextract's bundled public-suffix snapshot instead of fetching it
    email_rec.tldextract = type("_T", (), {"extract": staticmethod(tldextract.TLDExtract(suffix_list_urls=()))})
    return AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=20261101)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--show-errors", type=str, default="", help="print misses/false positives of a type")
    args = ap.parse_args()

    samples = labelled_set(args.texts, args.seed)
    texts = pl.Series("text", [s.text for s in samples])
    n_chars = int(texts.str.len_chars().sum())
    print(f"labelled set: {len(samples)} texts, {n_chars} chars, seed {args.seed}")
    counts = {}
    for s in samples:
        for t, _, _ in s.spans:
            counts[t] = counts.get(t, 0) + 1
    print("planted entities:", dict(sorted(counts.items())))

    pii.detect(texts[:50])  # load the lexicon outside the timing
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        found = pii.detect(texts)
        times.append(time.perf_counter() - t0)
    ours_s = statistics.median(times)

    engine = presidio_engine()
    engine.analyze(texts[0], language="en", entities=PRESIDIO_TYPES)
    t0 = time.perf_counter()
    presidio_results = [engine.analyze(t, language="en", entities=PRESIDIO_TYPES) for t in texts.to_list()]
    presidio_s = time.perf_counter() - t0

    ours_tps = len(samples) / ours_s
    pres_tps = len(samples) / presidio_s
    print()
    print(f"ftdata detect : {ours_tps:12,.0f} texts/s  (median of {args.repeats}: {ours_s * 1000:.1f} ms)")
    print(f"presidio      : {pres_tps:12,.0f} texts/s  ({presidio_s * 1000:.1f} ms, pattern recognizers, "
          f"NoOpNlpEngine, entities={len(PRESIDIO_TYPES)})")  # fmt: skip
    print(f"speed-up      : {ours_tps / pres_tps:12.1f}x")
    # detect has a fixed cost per call (~200 polars operations, a few dozen ms), so its rate grows with
    # the batch; Presidio's is per text. Show the ratio on smaller batches of the same texts too.
    for n in (1000, 3000):
        if n < len(samples):
            t0 = time.perf_counter()
            pii.detect(texts[:n])
            tps = n / (time.perf_counter() - t0)
            print(f"  batch of {n:>5}: ftdata {tps:10,.0f} texts/s = {tps / pres_tps:5.1f}x presidio")

    ours_preds: list[list[tuple[str, int, int]]] = [[] for _ in samples]
    for row, ty, a, b in found.select("row", "entity_type", "start", "end").iter_rows():
        ours_preds[row].append((ty, a, b))
    pres_preds = [[(r.entity_type, r.start, r.end) for r in res] for res in presidio_results]
    types = [*STRUCTURED, "PERSON", "LOCATION"]
    ours = score(samples, ours_preds, types)
    theirs = score(samples, pres_preds, PRESIDIO_TYPES)
    print()
    print(f"{'type':<14} {'gold':>5} | {'ours recall':>11} {'precision':>9} {'preds':>5} | "
          f"{'presidio recall':>15} {'precision':>9} {'preds':>5}")  # fmt: skip
    for t in types:
        r, p, gn, pn = ours[t]
        line = f"{t:<14} {gn:>5} | {r:>11.3f} {p:>9.3f} {pn:>5} | "
        if t in theirs:
            r2, p2, _, pn2 = theirs[t]
            line += f"{r2:>15.3f} {p2:>9.3f} {pn2:>5}"
        else:
            line += f"{'n/a (no recognizer)':>31}"
        print(line)
    # names split by whether the lexicon knows them (OOV names test the context rules alone)
    known = set(pii.lexicon()["low"].to_list())
    buckets: dict[str, list[int]] = {"in lexicon": [0, 0], "out of lexicon": [0, 0]}
    for s, p in zip(samples, ours_preds, strict=True):
        for ty, a, b in s.spans:
            if ty != "PERSON":
                continue
            words = s.text[a:b].lower().split()
            key = "in lexicon" if all(w in known for w in words) else "out of lexicon"
            buckets[key][0] += 1
            buckets[key][1] += any(t2 == "PERSON" and a < d and c < b for (t2, c, d) in p)
    print()
    for key, (n, hit) in buckets.items():
        print(f"PERSON recall, names {key:<15}: {hit / max(n, 1):.3f} ({hit}/{n})")

    targets_ok = ours_tps >= 20 * pres_tps
    for t in STRUCTURED:
        r, p, _, _ = ours[t]
        ok = r >= 0.95 and p >= 0.9 and (t not in theirs or r >= theirs[t][0])
        targets_ok &= ok
    print()
    print("targets (>=20x, recall >= presidio and >= 0.95, precision >= 0.9 on every structured type):",
          "MET" if targets_ok else "NOT MET")  # fmt: skip

    if args.show_errors:
        t = args.show_errors
        print(f"\n--- errors for {t} ---")
        for s, p in zip(samples, ours_preds, strict=True):
            g = [(a, b) for (ty, a, b) in s.spans if ty == t]
            q = [(a, b) for (ty, a, b) in p if ty == t]
            for a, b in g:
                if not any(a < d and c < b for (c, d) in q):
                    print("MISS", repr(s.text[a:b]), "in", repr(s.text))
            for c, d in q:
                if not any(a < d and c < b for (a, b) in g):
                    print("FP  ", repr(s.text[c:d]), "in", repr(s.text))


if __name__ == "__main__":
    main()
