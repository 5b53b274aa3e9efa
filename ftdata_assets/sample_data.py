"""Deterministic generator of the bundled sample raw data, with the problems the pipeline exists to catch.

Why it exists: every rule in the design ("never silently skip a line", "validate cards with Luhn",
"find contradictions", "keep refusals, tag them") needs input that exercises it. This module writes a week
of production logs, expert sets, four synthetic batches and a month of user-feedback edits under
`raw_dir`, byte for byte identical for a given seed on any machine (pinned pyarrow/zlib), and plants each
problem at a realistic rate. Nothing here touches the network, the clock, `hash()` or set order: the only
randomness is `random.Random`, seeded from `seed` plus a fixed stream name per source.

Layout (relative to `raw_dir`; the pipeline reads exactly these names): see `OWNED_FILES`.

Planted problems, for tests to reference:
- `PLANTED_PROBLEMS`: every category (content, duplicate, contradiction, malformed line, file quirk) with
  what it looks like. `build_sample(seed).planted` counts how many of each were planted for that seed.
  Counts are plant operations: an exact duplicate of a row with PII doubles the PII on disk.
- `MALFORMED_LINES`: the exact malformed line kinds per file and the reason code the pipeline should give
  each (one line per entry; the position inside the file is random).
- `FILE_QUIRKS`: whole-file quirks the pipeline must read transparently (UTF-8 BOM, CRLF).
- `CONTRADICTIONS`: near-identical prompts with conflicting answers and the two files holding them.
- `CROSS_SOURCE_COPIES`: exact copies of one source's examples planted into another file.
- `POLICY_PLANTS`: one entry per row the provenance policy (params.yaml `policy:`) must catch: synthetic rows
  from a teacher model that is not on the allow-list (or has none), expert rows under a non-commercial license,
  and expert rows created before `POLICY_STALE_BEFORE` (tagged `stale`, kept). Each is otherwise a clean,
  valid row, and its planted value appears nowhere else in its file, so the rows are found by value.
Content plants (PII, placeholders, refusals, ...) are not rejects by ingest; the later layers flag them.
Generated conversations never collide on their own (`_Ctx.claim` regenerates a repeat), so every exact
duplicate on disk is a planted one and dedup metrics measure the plants, not template exhaustion.

Run `python -m ftdata_assets.sample_data OUTDIR [--seed N]` to (re)write the data.
"""

import argparse
import base64
import copy
import gzip
import io
import json
import random
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import phonenumbers
import pyarrow as pa
import pyarrow.parquet as pq

from ftdata_assets.atomic_files import write_bytes_atomically
from ftdata_assets.schema import ReasonCode

DEFAULT_SEED = 20261101
MAX_LINE_BYTES = 1_000_000
"""Mirrors params.yaml ingest.max_line_bytes; the planted too-long line is 1.5x this."""
MAX_JSON_DEPTH = 32
"""Mirrors params.yaml ingest.max_json_depth; the planted deep line nests 200 levels."""

LOG_DAYS: tuple[str, ...] = tuple(f"2026-11-{day:02d}" for day in range(1, 8))
LOG_FILES: tuple[str, ...] = (
    *(f"logs/{day}.jsonl" for day in LOG_DAYS[:-1]),
    f"logs/{LOG_DAYS[-1]}.jsonl.gz",
)
EXPERT_ALPACA = "expert/instructions_alpaca.json"
EXPERT_CHAT = "expert/chat_examples.jsonl"
SYN_GPT = "synthetic/batch-2026-11-02-gpt.jsonl"
SYN_LLAMA = "synthetic/batch-2026-11-04-llama.jsonl"
SYN_MIXTRAL = "synthetic/batch-2026-11-06-mixtral.parquet"
SYN_QWEN = "synthetic/batch-2026-11-07-qwen.jsonl.gz"
FEEDBACK = "feedback/edits-2026-11.jsonl"
OWNED_FILES: tuple[str, ...] = (
    *LOG_FILES,
    EXPERT_ALPACA,
    EXPERT_CHAT,
    SYN_GPT,
    SYN_LLAMA,
    SYN_MIXTRAL,
    SYN_QWEN,
    FEEDBACK,
)
"""Every file this module writes (and the only files it deletes before rewriting)."""

LOG_MODEL = "support-assistant-v3"
TEACHERS: dict[str, str] = {
    SYN_GPT: "gpt-4o-2024-08-06",
    SYN_LLAMA: "llama-3.1-70b-instruct",
    SYN_MIXTRAL: "mixtral-8x22b-instruct-v0.1",
    SYN_QWEN: "qwen2.5-72b-instruct",
}
LICENSE = "internal"

Message = dict[str, Any]
"""{"role": ..., "content": ...}; content is a str, or None for a planted JSON null."""
Line = dict[str, Any] | bytes
"""One jsonl line before encoding: a record to serialize, or exact bytes (malformed lines)."""
SynthChat = tuple[str, list[Message]]
"""(prompt_template, messages) of one synthetic row."""

# --------------------------------------------------------------------------------------------------
# The planted-problem catalogue
# --------------------------------------------------------------------------------------------------

PII_KINDS: tuple[str, ...] = (
    "person_name",
    "street_address",
    "email",
    "phone_international",
    "phone_national",
    "credit_card",
    "iban",
    "us_ssn",
    "ipv4",
    "ipv6",
    "aws_access_key",
    "github_token",
    "openai_key",
    "jwt",
    "password_assignment",
    "connection_string",
    "pem_private_key",
)
LOOKALIKE_KINDS: tuple[str, ...] = ("order_number_fails_luhn", "isbn", "date", "version_string", "price")
PLACEHOLDER_OUTPUTS: tuple[str | None, ...] = (
    "",
    "N/A",
    "n/a",
    "<noinput>",
    "<No Output>",
    "none",
    "None",
    "null",
    "NULL",
    "nil",
    None,
)
"""Placeholder answers; None is written as a JSON null (or a parquet null)."""
NON_ENGLISH_LANGS: tuple[str, ...] = ("de", "fr", "es", "ja")

PLANTED_PROBLEMS: dict[str, str] = {
    **{
        f"pii:{kind}": f"a {kind.replace('_', ' ')} inside a user turn (cards pass Luhn, IBANs mod-97)"
        for kind in PII_KINDS
    },
    **{f"lookalike:{kind}": f"a non-PII {kind.replace('_', ' ')} that resembles PII" for kind in LOOKALIKE_KINDS},
    "placeholder_output": "the answer is a placeholder: one of PLACEHOLDER_OUTPUTS (incl. JSON null)",
    "placeholder_input": 'an Alpaca input of "<noinput>" instead of ""',
    "boilerplate": '"As an AI language model, ..." style filler in the answer',
    "refusal": 'a refusal or "the source does not say" answer (an edge case to tag, not to drop); '
    "out-of-scope requests whose correct answer is a refusal also occur organically and are not counted",
    **{f"non_english:{lang}": f"a whole conversation in {lang}" for lang in NON_ENGLISH_LANGS},
    "merged_instruction": 'a second "### 18. Instruction:" block glued onto the answer',
    "mojibake": 'UTF-8 decoded as cp1252 ("cafÃ©", "donâ€™t")',
    "terminal_escape": 'pasted terminal output with ANSI escapes ("\\x1b[31m")',
    "exact_duplicate:within_file": "the same line written twice in one file (logger retry, teacher repeat)",
    "exact_duplicate:cross_source": "an example copied verbatim into another source (see CROSS_SOURCE_COPIES)",
    "near_duplicate": "a copy with casing, punctuation or one or two words changed",
    "contradiction": "one side of a CONTRADICTIONS pair (counted per side)",
    "malformed": "a malformed line (see MALFORMED_LINES), counted per line, also per kind below",
    "blank_line": "an empty or whitespace-only line (skipped by the pipeline, not counted as a record)",
    "file_quirk:utf8_bom": "the file starts with a UTF-8 BOM",
    "file_quirk:crlf": "the file uses CRLF line endings",
    "policy:disallowed_teacher_model": "a synthetic row whose teacher model is missing or not allowed (POLICY_PLANTS)",
    "policy:disallowed_license": "an expert row under a license that is not allowed (POLICY_PLANTS)",
    "policy:stale": "an expert row created before POLICY_STALE_BEFORE (POLICY_PLANTS)",
    "turn_repair:leading_assistant": "a ShareGPT chunk that opens with the tail of an answer (a gpt turn first)",
    "turn_repair:blank_turn": 'a blank gpt turn inside a ShareGPT chat ("" where an answer failed to render)',
    "turn_repair:trailing_user": "a ShareGPT chat that ends with an unanswered human turn",
}


@dataclass(frozen=True)
class Malformed:
    """A malformed line planted in `file`, and the reason code the ingest layer should reject it with."""

    file: str
    kind: str
    reason: str


MALFORMED_LINES: tuple[Malformed, ...] = (
    Malformed(LOG_FILES[0], "content_is_number", ReasonCode.WRONG_TYPE),
    Malformed(LOG_FILES[1], "truncated_json", ReasonCode.INVALID_JSON),
    Malformed(LOG_FILES[1], "unknown_role", ReasonCode.BAD_ROLE),
    Malformed(LOG_FILES[2], "invalid_utf8_latin1", ReasonCode.INVALID_UTF8),
    Malformed(LOG_FILES[2], "invalid_utf8_cp1252", ReasonCode.INVALID_UTF8),
    Malformed(LOG_FILES[3], "nul_byte_raw", ReasonCode.NUL_BYTE),
    Malformed(LOG_FILES[3], "empty_content", ReasonCode.EMPTY_CONTENT),
    # A log record without `messages` has no recognisable shape left, so ingest calls it unknown_format.
    Malformed(LOG_FILES[4], "missing_messages", ReasonCode.UNKNOWN_FORMAT),
    Malformed(LOG_FILES[5], "not_an_object_array", ReasonCode.INVALID_JSON),
    Malformed(LOG_FILES[6], "too_long", ReasonCode.TOO_LONG),
    Malformed(EXPERT_ALPACA, "alpaca_missing_output", ReasonCode.MISSING_FIELD),
    Malformed(EXPERT_ALPACA, "not_an_object_string", ReasonCode.INVALID_JSON),
    Malformed(SYN_GPT, "unknown_role", ReasonCode.BAD_ROLE),
    Malformed(SYN_GPT, "too_deep", ReasonCode.TOO_DEEP),
    Malformed(SYN_GPT, "nul_escaped", ReasonCode.NUL_BYTE),
    Malformed(SYN_LLAMA, "completion_missing", ReasonCode.MISSING_FIELD),
    Malformed(SYN_LLAMA, "not_an_object_string", ReasonCode.INVALID_JSON),
    Malformed(SYN_MIXTRAL, "unknown_role", ReasonCode.BAD_ROLE),
    Malformed(SYN_MIXTRAL, "null_content", ReasonCode.MISSING_FIELD),
    Malformed(SYN_MIXTRAL, "empty_messages", ReasonCode.EMPTY_CONTENT),
    Malformed(SYN_QWEN, "messages_is_string", ReasonCode.WRONG_TYPE),
    Malformed(SYN_QWEN, "unknown_format", ReasonCode.UNKNOWN_FORMAT),
    Malformed(SYN_QWEN, "truncated_json", ReasonCode.INVALID_JSON),
    Malformed(FEEDBACK, "unknown_format", ReasonCode.UNKNOWN_FORMAT),
    Malformed(FEEDBACK, "truncated_json", ReasonCode.INVALID_JSON),
)
"""Exactly one line per entry. The JSON array file can only hold valid JSON, so its entries are elements."""

FILE_QUIRKS: dict[str, str] = {SYN_LLAMA: "utf8_bom", LOG_FILES[4]: "crlf"}
BLANK_LINES: dict[str, int] = {LOG_FILES[0]: 2, LOG_FILES[5]: 1, SYN_GPT: 2, SYN_QWEN: 1, FEEDBACK: 1}
"""Blank lines per file (an empty line and whitespace-only lines); never counted as records."""


@dataclass(frozen=True)
class Contradiction:
    """Two near-identical prompts with conflicting answers; side A is the truth in this sample's world."""

    topic: str
    prompt_a: str
    answer_a: str
    file_a: str
    prompt_b: str
    answer_b: str
    file_b: str
    domain: str


CONTRADICTIONS: tuple[Contradiction, ...] = (
    Contradiction(
        "refund_window",
        "What is your refund window?",
        "You can return any Lumora product within 30 days of delivery for a full refund. Start the return "
        "in the app under Account > Orders.",
        EXPERT_CHAT,
        "What's your refund window?",
        "Returns are only accepted within 14 days of delivery; after that we can't offer a refund.",
        SYN_LLAMA,
        "support",
    ),
    Contradiction(
        "metformin_pregnancy",
        "Is metformin safe in pregnancy?",
        "Generally yes. Metformin is widely used for gestational diabetes and type 2 diabetes in pregnancy "
        "and is not linked to birth defects, but the choice of treatment should be made with your "
        "obstetrician, who may prefer insulin.",
        EXPERT_ALPACA,
        "Is metformin safe during pregnancy?",
        "No. Metformin must never be taken during pregnancy; stop it immediately if you become pregnant.",
        SYN_GPT,
        "knowledge",
    ),
    Contradiction(
        "cam_mini_outdoor",
        "Can I use the Lumora Cam Mini outdoors?",
        "No, the Cam Mini is an indoor camera: it has no weather sealing. For outside, use the Lumora Cam "
        "Outdoor, which is rated IP65.",
        LOG_FILES[2],
        "Can I use the Lumora Cam Mini outside?",
        "Yes, the Cam Mini is rated IP65, so rain and dust are no problem outdoors.",
        SYN_QWEN,
        "product",
    ),
    Contradiction(
        "python_list_sort",
        "Does list.sort() return the sorted list in Python?",
        "No. list.sort() sorts the list in place and returns None. Use sorted(my_list) if you need a new sorted list.",
        EXPERT_ALPACA,
        "Does list.sort() return the sorted list in python?",
        "Yes, list.sort() returns the sorted list, so you can write result = my_list.sort().",
        SYN_MIXTRAL,
        "coding",
    ),
    Contradiction(
        "water_boiling_fahrenheit",
        "At what temperature does water boil at sea level, in Fahrenheit?",
        "At sea level water boils at 212 °F (100 °C).",
        LOG_FILES[4],
        "At what temperature does water boil at sea level in Fahrenheit?",
        "Water boils at 100 °F at sea level.",
        SYN_LLAMA,
        "knowledge",
    ),
    Contradiction(
        "hub_zigbee",
        "Does the Lumora Hub 2 support Zigbee?",
        "Yes. The Hub 2 has a built-in Zigbee 3.0 radio as well as Thread and Matter support.",
        EXPERT_CHAT,
        "Does the Lumora Hub 2 support Zigbee devices?",
        "No, the Hub 2 only supports Wi-Fi devices; Zigbee sensors need a third-party bridge.",
        LOG_FILES[5],
        "product",
    ),
)

CROSS_SOURCE_COPIES: tuple[tuple[str, str, int], ...] = (
    (EXPERT_CHAT, SYN_QWEN, 6),
    (EXPERT_ALPACA, SYN_LLAMA, 6),
    (EXPERT_ALPACA, SYN_GPT, 4),
    (LOG_FILES[0], SYN_MIXTRAL, 6),
)
"""(from, into, how many): examples copied verbatim (same normalized messages) from one source to another."""

POLICY_STALE_BEFORE = "2026-01-01"
"""Mirrors params.yaml policy.stale_before: only the planted stale rows are created before it."""
UNVETTED_TEACHER = "unvetted-teacher-13b"
NON_COMMERCIAL_LICENSE = "CC-BY-NC-4.0"


@dataclass(frozen=True)
class PolicyPlant:
    """One planted row that the provenance policy must catch; otherwise a clean, valid row (no content plant).

    The record's `field` holds `value` (None: the field is null). Within `file` no other row has that value
    (every other row of the file carries TEACHERS[file], LICENSE, or no `created_at`), so the rows of one
    (file, field, value) on disk are exactly the entries with those three. `reason` is the drop reason the
    policy must give the row; None means it is kept and tagged `tag`.
    """

    kind: str
    file: str
    field: str
    value: str | None
    reason: str | None
    tag: str | None = None


POLICY_PLANTS: tuple[PolicyPlant, ...] = (
    # a batch that mixed in rows of a model nobody vetted, of a sibling model, and one that lost its teacher
    *(
        PolicyPlant(
            "policy:disallowed_teacher_model",
            SYN_MIXTRAL,
            "teacher_model",
            teacher,
            ReasonCode.DISALLOWED_TEACHER_MODEL,
        )
        for teacher in (UNVETTED_TEACHER, UNVETTED_TEACHER, UNVETTED_TEACHER, "mixtral-8x7b-instruct-v0.1", None)
    ),
    # items imported from a public instruction set published for non-commercial use only
    *(
        PolicyPlant("policy:disallowed_license", EXPERT_ALPACA, "license", license_, ReasonCode.DISALLOWED_LICENSE)
        for license_ in (NON_COMMERCIAL_LICENSE, NON_COMMERCIAL_LICENSE, NON_COMMERCIAL_LICENSE, "CC-BY-NC-SA-4.0")
    ),
    # expert conversations carried over from older sets; the last one a second before the cut-off
    *(
        PolicyPlant("policy:stale", EXPERT_CHAT, "created_at", created_at, None, "stale")
        for created_at in (
            "2024-09-17T10:02:11Z",
            "2025-02-03T14:45:00Z",
            "2025-05-21T08:30:27Z",
            "2025-08-12T16:05:40Z",
            "2025-11-28T11:11:11Z",
            "2025-12-31T23:59:59Z",
        )
    ),
)
"""Exactly one row per entry, inserted at a random position of `file` (after every other plant of the file)."""


@dataclass(frozen=True)
class Rates:
    """Per-record probabilities of each content plant for one source."""

    pii: float
    lookalike: float
    placeholder: float
    boilerplate: float
    refusal: float
    non_english: float
    merged_instruction: float
    mojibake: float
    terminal_escape: float


RATES: dict[str, Rates] = {
    "production_log": Rates(0.05, 0.03, 0.015, 0.015, 0.02, 0.03, 0.0, 0.01, 0.015),
    "expert": Rates(0.01, 0.02, 0.012, 0.0, 0.02, 0.01, 0.012, 0.01, 0.0),
    "synthetic": Rates(0.02, 0.02, 0.02, 0.04, 0.02, 0.015, 0.02, 0.01, 0.005),
    "feedback": Rates(0.05, 0.03, 0.02, 0.01, 0.015, 0.02, 0.0, 0.01, 0.01),
}
DUPLICATE_RATE = 0.015
NEAR_DUPLICATE_RATE = 0.015

# --------------------------------------------------------------------------------------------------
# Vocabularies: the world of the sample (a smart-home company, its products and its users)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    price: str
    pitch: str
    power: str
    integrations: tuple[str, ...]
    outdoor: bool
    battery: bool


PRODUCTS: dict[str, Product] = {
    "Lumora Hub 2": Product(
        "$129",
        "connects Zigbee, Thread and Matter devices and runs automations locally",
        "It is mains powered and keeps running automations offline for up to 4 hours on its backup battery.",
        ("Zigbee", "Thread", "Matter", "Google Home", "Amazon Alexa", "Apple Home", "IFTTT"),
        False,
        True,
    ),
    "Lumora Cam Mini": Product(
        "$59",
        "is a compact 2K indoor camera with two-way audio",
        "It is powered over USB-C and has no battery.",
        ("Google Home", "Amazon Alexa"),
        False,
        False,
    ),
    "Lumora Cam Outdoor": Product(
        "$149",
        "is an IP65 weatherproof 2K camera with a spotlight and colour night vision",
        "Its battery lasts up to 4 months per charge with default motion settings.",
        ("Google Home", "Amazon Alexa", "IFTTT"),
        True,
        True,
    ),
    "Lumora Thermostat S": Product(
        "$199",
        "learns your schedule and supports room sensors",
        "It needs a C-wire or the included power adapter kit.",
        ("Google Home", "Amazon Alexa", "Apple Home", "Matter"),
        False,
        False,
    ),
    "Lumora Doorbell Pro": Product(
        "$179",
        "records head-to-toe video and detects packages",
        "It runs on existing doorbell wiring or up to 6 months on its rechargeable battery.",
        ("Google Home", "Amazon Alexa", "IFTTT"),
        True,
        True,
    ),
    "Lumora Smart Plug": Product(
        "$24",
        "switches up to 15 A and measures energy use",
        "It draws under 0.5 W on standby.",
        ("Google Home", "Amazon Alexa", "Apple Home", "Matter", "SmartThings"),
        False,
        False,
    ),
    "Lumora Motion Sensor": Product(
        "$29",
        "detects motion up to 7 m away and reports temperature",
        "It runs about 2 years on one CR2477 coin cell.",
        ("Zigbee", "Matter"),
        False,
        True,
    ),
}
PRODUCT_NAMES: tuple[str, ...] = tuple(PRODUCTS)
INTEGRATIONS: tuple[str, ...] = (
    "Google Home",
    "Amazon Alexa",
    "Apple Home",
    "Matter",
    "Zigbee",
    "Thread",
    "IFTTT",
    "SmartThings",
)
CARRIERS: tuple[str, ...] = ("UPS", "DHL", "FedEx", "USPS", "DPD", "Royal Mail")
SHIPPING_STATUSES: tuple[tuple[str, str], ...] = (
    ("in transit at the regional sorting centre", "It should be delivered within 1–2 business days."),
    ("out for delivery today", "It should arrive before 8 pm."),
    (
        "held at the local depot because the address is incomplete",
        "Please confirm your apartment or unit number through the tracking link so they can release it.",
    ),
    ("delayed by the carrier because of severe weather", "The new estimate is 2–3 business days."),
)
RETURN_REASONS: tuple[str, ...] = (
    "it keeps dropping off the Wi-Fi",
    "it's not what I expected",
    "the mount arrived broken",
    "I ordered the wrong model",
)
DEVICE_ERRORS: tuple[tuple[str, str, str], ...] = (
    (
        "E-104",
        "Wi-Fi authentication failed",
        "1. Make sure the device is joining a 2.4 GHz network; it cannot see 5 GHz-only networks.\n"
        "2. Re-enter the Wi-Fi password in the app under Device > Settings > Network.\n"
        "3. If your router is in WPA3-only mode, switch it to WPA2/WPA3 mixed mode.",
    ),
    (
        "E-217",
        "Firmware update interrupted",
        "1. Unplug the device (or remove the battery) for 10 seconds.\n"
        "2. Power it back on and leave it for 15 minutes; it retries the update automatically.\n"
        "3. If the LED then blinks red, hold the reset button for 10 seconds and set it up again.",
    ),
    (
        "E-330",
        "Sensor calibration out of range",
        "1. Move the device away from heat sources such as radiators or direct sunlight.\n"
        "2. In the app, open Device > Settings > Calibrate and follow the prompts.\n"
        "3. If the reading is still off by more than 2 °C, contact us for a replacement.",
    ),
    (
        "E-402",
        "Cloud connection timed out",
        "1. Check the Lumora status page for an ongoing incident.\n"
        "2. Restart your router, then the device.\n"
        "3. If you use a firewall, allow outbound traffic on ports 443 and 8883.",
    ),
    (
        "E-518",
        "Battery too low, recording paused",
        "1. Charge the battery fully with the included cable (about 5 hours).\n"
        "2. Lower motion sensitivity or shorten clips to extend battery life.\n"
        "3. If it drains in under a week, the battery may be faulty and we will replace it.",
    ),
)
TRIED: tuple[str, ...] = (
    "I already restarted it twice.",
    "Turning it off and on again didn't help.",
    "Resetting the router changed nothing.",
    "",
)
SHIPPING: dict[str, str | None] = {
    "the United States": "3–5 business days",
    "Canada": "5–8 business days",
    "the United Kingdom": "4–6 business days",
    "Germany": "4–6 business days",
    "France": "4–6 business days",
    "the Netherlands": "4–6 business days",
    "Australia": "7–12 business days",
    "Japan": "6–10 business days",
    "Brazil": None,
    "India": None,
    "South Africa": None,
}
CAPITALS: dict[str, str] = {
    "Australia": "Canberra",
    "Canada": "Ottawa",
    "Brazil": "Brasília",
    "Turkey": "Ankara",
    "Nigeria": "Abuja",
    "New Zealand": "Wellington",
    "Switzerland": "Bern",
    "Morocco": "Rabat",
    "Vietnam": "Hanoi",
    "Kazakhstan": "Astana",
    "Peru": "Lima",
    "Norway": "Oslo",
    "Kenya": "Nairobi",
    "Pakistan": "Islamabad",
    "South Korea": "Seoul",
    "Argentina": "Buenos Aires",
    "Egypt": "Cairo",
    "Portugal": "Lisbon",
    "Indonesia": "Jakarta",
    "Chile": "Santiago",
}
CONCEPTS: dict[str, tuple[str, str]] = {
    "photosynthesis": (
        "Photosynthesis is how plants, algae and some bacteria turn light into chemical energy: they use "
        "sunlight to combine carbon dioxide and water into glucose, releasing oxygen as a by-product.",
        "Plants are like tiny kitchens: they use sunlight to turn air and water into sugar, and breathe out "
        "the oxygen we need.",
    ),
    "inflation": (
        "Inflation is the general rise in prices over time, which means each unit of money buys less. "
        "Central banks usually aim for about 2% a year and raise interest rates when it runs higher.",
        "If a chocolate bar costs $1 this year and $1.10 next year, that's inflation: your money buys a bit "
        "less than before.",
    ),
    "compound interest": (
        "Compound interest is interest earned on both the original amount and the interest already added. "
        "At 5% a year, $1,000 grows to $1,050 after one year and about $1,629 after ten.",
        "Your money earns a little extra, and then that extra earns extra too, like a snowball rolling downhill.",
    ),
    "the difference between TCP and UDP": (
        "TCP sets up a connection and guarantees ordered, complete delivery with retransmissions, at the "
        "cost of latency. UDP just sends datagrams with no delivery guarantee, which suits video calls and "
        "games where a late packet is useless anyway.",
        "TCP is like a phone call where you repeat anything the other person missed; UDP is like shouting "
        "across a playground and hoping they hear.",
    ),
    "the greenhouse effect": (
        "The greenhouse effect is the warming of Earth's surface because gases such as CO2 and methane "
        "absorb heat radiated by the ground and re-emit part of it downwards. More of these gases means "
        "more trapped heat.",
        "Some gases in the air act like a blanket around the Earth: they keep heat in, and the thicker the "
        "blanket, the warmer it gets.",
    ),
    "DNS": (
        "DNS (the Domain Name System) translates human-readable names like example.com into the numeric "
        "addresses computers use to reach each other. Resolvers cache answers for the time set in each "
        "record's TTL.",
        "DNS is the internet's phone book: you look up a name and it tells your computer which number to call.",
    ),
    "overfitting": (
        "Overfitting is when a model learns the noise and quirks of its training data instead of the "
        "general pattern, so it scores well on training data and poorly on new data. More data, "
        "regularization and early stopping help.",
        "It's like memorising the answers to last year's test instead of learning the subject: great on the "
        "old test, bad on the new one.",
    ),
    "supply and demand": (
        "Supply and demand describes how prices are set in a market: when demand for a good rises or supply "
        "falls, the price tends to go up, and the reverse pushes it down, until buyers and sellers balance.",
        "When lots of people want something and there isn't much of it, it gets expensive; when there's "
        "plenty and few want it, it gets cheap.",
    ),
    "vaccines": (
        "A vaccine trains the immune system by showing it a harmless piece or version of a germ, so that it "
        "recognises and fights the real germ quickly later, before it makes you seriously ill.",
        "A vaccine is a practice drill for your body's defenders, so they're ready when the real germ shows up.",
    ),
    "black holes": (
        "A black hole is a region where gravity is so strong that nothing, not even light, can escape once "
        "it crosses the event horizon. Most form when very massive stars collapse at the end of their "
        "lives.",
        "A black hole is a place in space that pulls so hard that even light can't get out once it falls in.",
    ),
}
CODE_TASKS: dict[str, dict[str, str]] = {
    "remove duplicates from a list while keeping the order": {
        "python": "def dedupe(items):\n    return list(dict.fromkeys(items))\n\n"
        "print(dedupe([3, 1, 3, 2, 1]))  # [3, 1, 2]",
        "javascript": "const dedupe = (items) => [...new Set(items)];\n\n"
        "console.log(dedupe([3, 1, 3, 2, 1])); // [3, 1, 2]",
        "note": "Both keep the first occurrence of each item; they need hashable (Python) or primitive (JS) values.",
    },
    "read a JSON file": {
        "python": 'import json\n\nwith open("config.json", encoding="utf-8") as f:\n    config = json.load(f)',
        "javascript": 'import { readFile } from "node:fs/promises";\n\n'
        'const config = JSON.parse(await readFile("config.json", "utf8"));',
        "note": "Always pass the encoding explicitly so the code behaves the same on every OS.",
    },
    "retry an HTTP request with exponential backoff": {
        "python": "import time\nimport requests\n\n\ndef get_with_retry(url, attempts=5):\n"
        "    for attempt in range(attempts):\n        try:\n"
        "            response = requests.get(url, timeout=10)\n            response.raise_for_status()\n"
        "            return response\n        except requests.RequestException:\n"
        "            if attempt == attempts - 1:\n                raise\n"
        "            time.sleep(2 ** attempt)",
        "javascript": "async function getWithRetry(url, attempts = 5) {\n"
        "  for (let attempt = 0; attempt < attempts; attempt++) {\n    try {\n"
        "      const res = await fetch(url);\n      if (res.ok) return res;\n"
        "      throw new Error(`HTTP ${res.status}`);\n    } catch (err) {\n"
        "      if (attempt === attempts - 1) throw err;\n"
        "      await new Promise((r) => setTimeout(r, 2 ** attempt * 1000));\n    }\n  }\n}",
        "note": "Only retry idempotent requests, and honour a Retry-After header if the server sends one.",
    },
    "parse an ISO 8601 date string": {
        "python": 'from datetime import datetime\n\nwhen = datetime.fromisoformat("2026-11-03T14:05:00+00:00")\n'
        "print(when.year, when.tzinfo)",
        "javascript": 'const when = new Date("2026-11-03T14:05:00Z");\nconsole.log(when.getUTCFullYear());',
        "note": "Keep timestamps in UTC internally and convert to local time only for display.",
    },
    "count word frequencies in a text": {
        "python": "import re\nfrom collections import Counter\n\n"
        'words = re.findall(r"\\w+", text.lower())\nprint(Counter(words).most_common(5))',
        "javascript": "const counts = {};\nfor (const w of text.toLowerCase().match(/\\w+/g) ?? []) {\n"
        "  counts[w] = (counts[w] ?? 0) + 1;\n}",
        "note": "Lower-casing first makes 'The' and 'the' count as the same word.",
    },
    "sort a list of dictionaries by a key": {
        "python": 'products = sorted(products, key=lambda p: p["price"])\n'
        '# descending: sorted(products, key=lambda p: p["price"], reverse=True)',
        "javascript": "products.sort((a, b) => a.price - b.price);",
        "note": "Python's sorted() returns a new list; JavaScript's sort() sorts the array in place.",
    },
    "merge two dictionaries": {
        "python": "merged = defaults | overrides  # Python 3.9+\n# older versions: {**defaults, **overrides}",
        "javascript": "const merged = { ...defaults, ...overrides };",
        "note": "Keys from the right-hand side win when both contain the same key.",
    },
    "get the current UTC time as an ISO string": {
        "python": "from datetime import datetime, timezone\n\nnow = datetime.now(timezone.utc).isoformat()",
        "javascript": "const now = new Date().toISOString();",
        "note": "Avoid datetime.utcnow(): it returns a naive datetime and is deprecated.",
    },
}
CODE_LANGS: dict[str, str] = {"python": "Python", "javascript": "JavaScript"}
CODE_ERRORS: tuple[tuple[str, str, str], ...] = (
    (
        "TypeError: 'NoneType' object is not subscriptable",
        "my Python script",
        "You are indexing something that is None, e.g. `result[0]` where `result` came from a function "
        "that returned nothing (list.sort() and dict.get() on a missing key are common culprits). Print the "
        "value before the failing line and make sure the function returns what you expect.",
    ),
    (
        "ModuleNotFoundError: No module named 'requests'",
        "python app.py",
        "The package isn't installed in the interpreter that runs your script. Activate your virtual "
        "environment and run `python -m pip install requests`; using `python -m pip` guarantees pip and "
        "python are the same installation.",
    ),
    (
        "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9 in position 12",
        "a script that reads a CSV export",
        "The file isn't UTF-8; 0xe9 is 'é' in Latin-1/cp1252. Open it with `encoding='cp1252'` (or ask for "
        "a UTF-8 export) instead of ignoring errors, which would silently drop characters.",
    ),
    (
        "RecursionError: maximum recursion depth exceeded",
        "my tree traversal",
        "Your recursive function never reaches its base case, or the input is deeper than Python's default "
        "limit of 1000 frames. Check the base case first; for genuinely deep data, rewrite the traversal "
        "with an explicit stack.",
    ),
    (
        "TypeError: Cannot read properties of undefined (reading 'map')",
        "my React component",
        "The array you call .map() on is undefined on the first render, usually because data is still "
        "loading. Initialise the state with an empty array (`useState([])`) or guard with `items?.map(...)`.",
    ),
    (
        'ERROR: duplicate key value violates unique constraint "users_email_key"',
        "our signup endpoint",
        "You are inserting a row whose email already exists and the column has a UNIQUE constraint. Check "
        "first, or use `INSERT ... ON CONFLICT (email) DO NOTHING` and report 'already registered' to the "
        "user.",
    ),
)
SQL_TASKS: tuple[tuple[str, str], ...] = (
    (
        "returns the 10 customers with the highest total order value",
        "SELECT c.id, c.country, SUM(o.total) AS total_spent\nFROM customers c\n"
        "JOIN orders o ON o.customer_id = c.id\nGROUP BY c.id, c.country\nORDER BY total_spent DESC\nLIMIT 10;",
    ),
    (
        "counts orders per month in 2026",
        "SELECT date_trunc('month', created_at) AS month, COUNT(*) AS orders\nFROM orders\n"
        "WHERE created_at >= '2026-01-01' AND created_at < '2027-01-01'\nGROUP BY month\nORDER BY month;",
    ),
    (
        "finds customers who have never placed an order",
        "SELECT c.id\nFROM customers c\nLEFT JOIN orders o ON o.customer_id = c.id\nWHERE o.id IS NULL;",
    ),
    (
        "returns the average order value per country",
        "SELECT c.country, ROUND(AVG(o.total), 2) AS avg_order\nFROM orders o\n"
        "JOIN customers c ON c.id = o.customer_id\nGROUP BY c.country\nORDER BY avg_order DESC;",
    ),
    (
        "deletes orders older than two years",
        "DELETE FROM orders\nWHERE created_at < now() - interval '2 years';",
    ),
)
FORMAL_REWRITES: tuple[tuple[str, str], ...] = (
    ("hey, the thing you sent doesn't work lol", "Hello, unfortunately the item you sent does not work."),
    ("can u check my order asap", "Could you please check the status of my order at your earliest convenience?"),
    ("your app is super slow today", "Your application appears to be responding slowly today."),
    ("gonna be late for the meeting, sorry", "I apologise, but I will be late for the meeting."),
    ("no idea why the camera keeps dying", "I am unsure why the camera repeatedly loses power."),
    ("thx for fixing it so fast!", "Thank you for resolving the issue so promptly."),
    ("we need the report by tmrw", "We require the report by tomorrow."),
    ("the price went up again??", "I notice that the price has increased again; could you explain why?"),
)
TIPS: dict[str, tuple[str, str, str]] = {
    "writing a clear bug report": (
        "State what you expected and what happened instead.",
        "List the exact steps to reproduce, starting from a fresh state.",
        "Include versions, logs and a screenshot, with secrets removed.",
    ),
    "keeping a smart home secure": (
        "Use a unique password and two-factor authentication for the app account.",
        "Keep device firmware updated; turn on automatic updates.",
        "Put smart devices on a separate guest or IoT Wi-Fi network.",
    ),
    "saving energy with a smart thermostat": (
        "Set back the temperature by 3–4 °C while you sleep or are away.",
        "Use geofencing so heating starts only when someone is heading home.",
        "Check the monthly energy report and adjust the schedule to real routines.",
    ),
    "writing readable Python": (
        "Give functions and variables names that say what they hold, not how.",
        "Keep functions short and make each one do one thing.",
        "Let a formatter such as ruff or black handle layout so reviews focus on logic.",
    ),
    "preparing for a job interview": (
        "Research the company's products and recent news.",
        "Prepare two or three concrete stories that show your impact.",
        "Write down questions you want to ask the interviewer.",
    ),
}
SYSTEM_PROMPTS: dict[str, tuple[str, ...]] = {
    "support": (
        "You are Lumora's customer support assistant. Be concise, friendly and accurate. If you are unsure, "
        "say so and offer to connect the customer with a human agent. Never ask for full card numbers or "
        "passwords.",
        "You are Lumora's order and billing assistant. You explain orders, shipping, refunds and invoices. "
        "Refunds are accepted within 30 days of delivery.",
    ),
    "product": (
        "You are Lumora's customer support assistant. Be concise, friendly and accurate. If you are unsure, "
        "say so and offer to connect the customer with a human agent. Never ask for full card numbers or "
        "passwords.",
    ),
    "coding": (
        "You are a helpful assistant for developers. Answer programming questions with short, working code "
        "examples and explain the key line.",
    ),
    "knowledge": ("You are a helpful, honest assistant. Answer clearly and briefly.",),
}
PROMPT_TEMPLATES: dict[str, str] = {
    "support": "support-qa-v2",
    "product": "product-faq-v1",
    "coding": "code-help-v3",
    "knowledge": "general-qa-v1",
}
GREETINGS: tuple[str, ...] = (
    *("",) * 5,
    "Hi! ",
    "Hi, ",
    "Hello. ",
    "Hey there! ",
    "Good morning. ",
    "Good evening! ",
    "Quick question. ",
    "Hi again. ",
    "Sorry to bother you. ",
)
SIGN_OFFS: tuple[str, ...] = (
    *("",) * 5,
    " Thanks!",
    " Thanks in advance.",
    " Cheers",
    " Thank you!",
    " Any help appreciated.",
    " Thx",
    " Much appreciated.",
)
MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July", "August", "September")
ROOMS: tuple[str, ...] = ("living room", "hallway", "kitchen", "bedroom", "garage", "nursery", "home office")
PLATFORMS: tuple[str, ...] = ("an iPhone", "Android", "an iPad", "a Pixel 8", "a Samsung tablet", "the web app")
PROJECTS: tuple[str, ...] = (
    "small CLI tool",
    "Flask app",
    "data pipeline",
    "Discord bot",
    "school project",
    "internal dashboard",
    "web scraper",
    "Django side project",
)
PURPOSES: tuple[str, ...] = (
    "a school assignment",
    "a pub quiz",
    "my kid's homework",
    "a presentation at work",
    "a blog post",
    "settling an argument",
)
CLOSINGS: tuple[tuple[str, str], ...] = (
    ("Thanks, that helps!", "You're welcome! Let me know if there's anything else I can do."),
    ("Perfect, that's all I needed.", "Glad I could help. Have a great day!"),
    ("ok thanks", "Happy to help!"),
)
NON_ENGLISH: dict[str, tuple[tuple[str, str], ...]] = {
    "de": (
        (
            "Meine Bestellung {order} ist immer noch nicht angekommen. Können Sie bitte nachsehen?",
            "Das tut mir leid! Die Bestellung {order} ist beim Versanddienstleister im Verteilzentrum und "
            "sollte in 1–2 Werktagen bei Ihnen sein.",
        ),
        (
            "Wie setze ich meinen {product} auf die Werkseinstellungen zurück? Er ist seit {days} Tagen offline.",
            "Halten Sie die Reset-Taste 10 Sekunden lang gedrückt, bis die LED gelb blinkt. Danach können Sie "
            "das Gerät in der Lumora-App neu einrichten.",
        ),
        (
            "Kann ich den {product} zurückgeben? Ich habe ihn vor {days} Tagen gekauft.",
            "Ja, innerhalb von 30 Tagen nach Lieferung können Sie jedes Lumora-Produkt zurückgeben. Starten "
            "Sie die Rücksendung in der App unter Konto > Bestellungen.",
        ),
    ),
    "fr": (
        (
            "Ma commande {order} n'est toujours pas arrivée. Pouvez-vous vérifier ?",
            "Je suis désolé pour ce retard ! La commande {order} est en cours de livraison et devrait arriver "
            "sous 1 à 2 jours ouvrés.",
        ),
        (
            "Comment réinitialiser mon {product} ? Il est hors ligne depuis {days} jours.",
            "Maintenez le bouton de réinitialisation enfoncé pendant 10 secondes jusqu'à ce que la LED "
            "clignote en jaune, puis reconfigurez l'appareil dans l'application Lumora.",
        ),
        (
            "Puis-je retourner mon {product} ? Je l'ai acheté il y a {days} jours.",
            "Oui, vous pouvez retourner tout produit Lumora dans les 30 jours suivant la livraison. Lancez le "
            "retour dans l'application, rubrique Compte > Commandes.",
        ),
    ),
    "es": (
        (
            "Mi pedido {order} todavía no ha llegado. ¿Pueden revisarlo?",
            "¡Lamento la espera! El pedido {order} está en tránsito y debería llegar en 1 o 2 días hábiles.",
        ),
        (
            "¿Cómo restablezco mi {product} a los valores de fábrica? Lleva {days} días sin conexión.",
            "Mantén pulsado el botón de reinicio durante 10 segundos hasta que el LED parpadee en amarillo y "
            "vuelve a configurarlo en la app de Lumora.",
        ),
        (
            "¿Puedo devolver el {product}? Lo compré hace {days} días.",
            "Sí, aceptamos devoluciones de cualquier producto Lumora dentro de los 30 días posteriores a la "
            "entrega. Inicia la devolución en la app, en Cuenta > Pedidos.",
        ),
    ),
    "ja": (
        (
            "注文番号 {order} の商品がまだ届いていません。確認してもらえますか？",
            "お待たせして申し訳ありません。ご注文 {order} は現在配送中で、1〜2営業日以内にお届けの予定です。",
        ),
        (
            "{product} を工場出荷時の状態にリセットする方法を教えてください。{days}日前からオフラインです。",
            "リセットボタンをLEDが黄色に点滅するまで10秒間長押ししてください。その後、Lumoraアプリで再設定できます。",
        ),
        (
            "{product} は返品できますか？{days}日前に購入しました。",
            "はい、お届けから30日以内であれば返品を承ります。アプリの「アカウント > 注文履歴」から手続きしてください。",
        ),
    ),
}
BOILERPLATE_PREFIXES: tuple[str, ...] = (
    "As an AI language model, I don't have access to your account, but ",
    "As an AI language model, I cannot browse the internet. However, ",
    "I'm just an AI, so I can't be completely sure, but ",
    "As a large language model, I don't have personal experiences, but ",
)
BOILERPLATE_SUFFIX = (
    "\n\nPlease note that as an AI language model, I cannot guarantee the accuracy of this information."
)
REFUSALS: tuple[str, ...] = (
    "I'm sorry, but I can't help with that.",
    "I can't help with that request.",
    "I'm not able to look up account details, so I can't check that for you. A human agent can help "
    "through the Help Center.",
    "The source does not say.",
    "The provided document doesn't mention this, so I can't answer it from the source.",
)
MOJIBAKE_PHRASES: tuple[str, ...] = (
    "The café's Wi-Fi isn't the problem, it's the hub.",
    "I'm in Zürich and the invoice shows €49.99 — is that right?",
    "I don’t understand why the naïve reset didn’t work.",
    "My résumé says I'm good with tech, but this app beats me.",
)
ANSI_PASTES: tuple[str, ...] = (
    "\x1b[31mERROR\x1b[0m cloud handshake failed (E-402)\n\x1b[33mWARN\x1b[0m retrying in 30s",
    "\x1b[1;31mFAILED\x1b[0m tests/test_api.py::test_login - AssertionError\n\x1b[32m12 passed\x1b[0m, "
    "\x1b[31m1 failed\x1b[0m in 3.21s",
    "\x1b[2K\x1b[1G\x1b[36m⠋\x1b[0m Installing dependencies...\n\x1b[31mnpm ERR!\x1b[0m code ERESOLVE",
)
NAMES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("Emily", "James", "Olivia", "Michael"), ("Carter", "Thompson", "Walsh", "Bennett")),
    (("Hiroshi", "Yuki", "Aiko", "Kenji"), ("Tanaka", "Suzuki", "Watanabe", "Kobayashi")),
    (("María", "José", "Lucía", "Carlos"), ("García", "Fernández", "Ruiz", "Mendoza")),
    (("Olumide", "Ngozi", "Chinedu", "Aisha"), ("Adeyemi", "Okonkwo", "Bello", "Eze")),
    (("Priya", "Arjun", "Ananya", "Rahul"), ("Raghunathan", "Sharma", "Iyer", "Patel")),
    (("Sven", "Ingrid", "Björn", "Astrid"), ("Lindqvist", "Eriksson", "Johansson", "Nilsson")),
    (("Wei", "Li", "Xiaoming", "Mei"), ("Zhang", "Wang", "Chen", "Liu")),
    (("Fatima", "Omar", "Layla", "Youssef"), ("Al-Sayed", "Haddad", "Mansour", "Khalil")),
    (("Siobhán", "Declan", "Aoife", "Cian"), ("O'Connor", "Murphy", "Byrne", "Kelly")),
    (("Katarzyna", "Piotr", "Agnieszka", "Tomasz"), ("Nowak", "Kowalski", "Wiśniewska", "Zieliński")),
)
FIXED_ADDRESSES: tuple[str, ...] = (
    "221B Baker Street, London NW1 6XE",
    "1600 Amphitheatre Pkwy, Mountain View, CA 94043",
)
US_STREETS: tuple[tuple[str, str, str, str], ...] = (
    ("Maple Ave", "Springfield", "IL", "627"),
    ("Oak Street", "Portland", "OR", "972"),
    ("Mission St", "San Francisco", "CA", "941"),
    ("Elm Drive", "Austin", "TX", "787"),
)
UK_STREETS: tuple[tuple[str, str, str], ...] = (
    ("Victoria Road", "Manchester", "M14"),
    ("High Street", "Oxford", "OX1"),
    ("Church Lane", "Leeds", "LS6"),
)
DE_STREETS: tuple[tuple[str, str, str], ...] = (
    ("Hauptstraße", "Berlin", "10"),
    ("Lindenallee", "Köln", "50"),
    ("Schillerstraße", "München", "80"),
)
INTL_ADDRESSES: tuple[str, ...] = (
    # street and number first, then postcode and city, as written in Finland, Estonia, Italy, Spain, the
    # Netherlands, Brazil, Sweden and Poland; {n} {u} {pc} are filled per row
    "Puruntie {n} Apt. {u}, {pc} LAPPEENRANTA",
    "Allika {n} Suite {u} Riisa Estonia {pc}",
    "Via Garibaldi {n}, {pc} Torino",
    "Calle Mayor {n}, {pc} Madrid",
    "Keizersgracht {n}, 1015 CJ Amsterdam",
    "Rua do Arenque {n}, Goiânia",
    "Storgatan {n}, {pc} Uppsala",
    "ul. Długa {n}, {pc} Gdańsk",
)
EXPERT_AUTHORS: tuple[str, ...] = ("a.okafor", "m.lindqvist", "s.tanaka", "r.alvarez", "j.chen", "p.iyer")

# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def _stream(seed: int, name: str) -> random.Random:
    """An independent random stream per source, so changing one source never shifts another's bytes.

    `random.Random(str)` seeds from sha512 of the string: stable on every machine and Python version.
    """
    return random.Random(f"{seed}:{name}")


class _Deck:
    """Draws items in shuffled rounds, so every item appears once per round (guarantees coverage)."""

    def __init__(self, rng: random.Random, items: Sequence[Any]) -> None:
        self._rng, self._items = rng, list(items)
        self._pile: list[Any] = []

    def draw(self) -> Any:
        if not self._pile:
            self._pile = list(self._items)
            self._rng.shuffle(self._pile)
        return self._pile.pop()


@dataclass
class _Ctx:
    """Everything shared while building one sample: the seed, plant counts and coverage decks."""

    seed: int
    planted: Counter[str] = field(default_factory=Counter)
    decks: dict[str, _Deck] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def rng(self, name: str) -> random.Random:
        return _stream(self.seed, name)

    def draw(self, deck: str, items: Sequence[Any]) -> Any:
        if deck not in self.decks:
            self.decks[deck] = _Deck(self.rng(f"deck:{deck}"), items)
        return self.decks[deck].draw()

    def plant(self, category: str, n: int = 1) -> None:
        self.planted[category] += n

    def claim(self, messages: list[Message]) -> bool:
        """True (and remembered) if no conversation with these non-system turns was generated before.

        This keeps organic template collisions out, so the only exact duplicates on disk are the planted
        ones. `seen` is only ever tested for membership, never iterated, so it cannot break determinism.
        """
        key = json.dumps([(m["role"], m["content"]) for m in messages if m["role"] != "system"])
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def fresh(self, make: Callable[[], list[Message]], tries: int = 50) -> list[Message]:
        """The first conversation from `make` that `claim` accepts."""
        for _ in range(tries):
            messages = make()
            if self.claim(messages):
                return messages
        raise RuntimeError("template space exhausted; add slot values")


def _dumps(record: Any) -> bytes:
    """The one JSON encoding used everywhere: UTF-8, non-ASCII kept, key order as built."""
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _timestamp(rng: random.Random, day: str) -> str:
    return f"{day}T{rng.randint(6, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def _order_id(rng: random.Random) -> str:
    return f"LM-{rng.randint(1_000_000, 9_999_999)}"


def _context(rng: random.Random, domain: str) -> str:
    """An optional bit of personal context, the way people pad real prompts (and most of their variety)."""
    if rng.random() < 0.45:
        return ""
    if domain in ("support", "product"):
        return rng.choice(
            (
                f" I've had it since {rng.choice(MONTHS)}.",
                f" It's the one in the {rng.choice(ROOMS)}.",
                f" I'm using the app on {rng.choice(PLATFORMS)}.",
                f" We have {rng.randint(2, 14)} Lumora devices at home.",
                f" This is for my {rng.choice(('parents', 'holiday flat', 'small office', 'shop', 'garage'))}.",
            )
        )
    if domain == "coding":
        return rng.choice(
            (
                f" This is for a {rng.choice(PROJECTS)}.",
                f" I've been stuck on this for {rng.randint(2, 9)} hours.",
                " Sorry if this is a basic question.",
                f" It's due {rng.choice(('tomorrow', 'on Friday', 'next week', 'tonight'))}.",
            )
        )
    return rng.choice(
        (
            f" It's for {rng.choice(PURPOSES)}.",
            " Keep it short please.",
            f" My {rng.choice(('daughter', 'son', 'colleague', 'friend', 'partner'))} asked and I wasn't sure.",
        )
    )


def _decorate(rng: random.Random, text: str, domain: str) -> str:
    """Add an optional greeting, personal context and sign-off, the way people actually type."""
    return f"{rng.choice(GREETINGS)}{text}{_context(rng, domain)}{rng.choice(SIGN_OFFS)}"


def _first_sentence(text: str) -> str:
    head = text.split("\n")[0]
    cut = head.find(". ")
    return head if cut < 0 else head[: cut + 1]


def _msg(role: str, content: str | None) -> Message:
    return {"role": role, "content": content}


# --------------------------------------------------------------------------------------------------
# Validated identifiers: Luhn, mod-97, ISBN (so the pipeline's validators have real positives)
# --------------------------------------------------------------------------------------------------


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload + digit` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # rightmost payload digit is doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    digits = "".join(ch for ch in number if ch.isdigit())
    return len(digits) >= 2 and luhn_check_digit(digits[:-1]) == digits[-1]


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check (spaces allowed)."""
    compact = iban.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _iban_with_check(country: str, bban: str) -> str:
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def _card_number(rng: random.Random) -> str:
    issuers = (("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("37", 15))
    if rng.random() < 0.4:  # JCB (15 and 16 digits), Maestro (12-19), UnionPay
        issuers = (("2131", 15), ("1800", 15), ("3528", 16), ("6759", 12), ("5018", 19), ("6304", 13), ("62", 16))
    prefix, length = rng.choice(issuers)
    payload = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    number = payload + luhn_check_digit(payload)
    if length == 15 and prefix == "37":
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    if length != 16:
        return number if rng.random() < 0.5 else " ".join(number[i : i + 4] for i in range(0, length, 4))
    sep = rng.choice((" ", "-", ""))
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def _order_number_failing_luhn(rng: random.Random) -> str:
    payload = "".join(str(rng.randint(0, 9)) for _ in range(15))
    wrong = str((int(luhn_check_digit(payload)) + rng.randint(1, 9)) % 10)
    number = payload + wrong
    return " ".join(number[i : i + 4] for i in range(0, 16, 4)) if rng.random() < 0.5 else number


def _iban(rng: random.Random) -> str:
    country = rng.choice(("DE", "GB", "FR", "IT", "NL", "FI", "PL", "SE"))
    digits = lambda n: "".join(str(rng.randint(0, 9)) for _ in range(n))  # noqa: E731
    letters = lambda n: "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))  # noqa: E731
    bban = {"IT": lambda: letters(1) + digits(22), "NL": lambda: letters(4) + digits(10), "FI": lambda: digits(14)}
    bban |= {"PL": lambda: digits(24), "SE": lambda: digits(20)}
    if country in bban:
        iban = _iban_with_check(country, bban[country]())
    elif country == "DE":
        iban = _iban_with_check("DE", f"{rng.randint(1, 8)}{digits(7)}{digits(10)}")
    elif country == "GB":
        bank = rng.choice(("NWBK", "BARC", "LOYD", "HBUK", "MIDL"))
        iban = _iban_with_check("GB", f"{bank}{digits(6)}{digits(8)}")
    else:
        bank, branch, account = digits(5), digits(5), digits(11)
        rib_key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
        iban = _iban_with_check("FR", f"{bank}{branch}{account}{rib_key:02d}")
    if rng.random() < 0.2:  # typed in lower case
        iban = iban.lower()
    if rng.random() < 0.5:
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


def _isbn13(rng: random.Random) -> str:
    body = "978" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return f"{body[:3]}-{body[3]}-{body[4:7]}-{body[7:12]}-{check}"


def _ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


# --------------------------------------------------------------------------------------------------
# PII and look-alike sentences
# --------------------------------------------------------------------------------------------------


def _person_name(rng: random.Random) -> str:
    firsts, lasts = rng.choice(NAMES)
    return f"{rng.choice(firsts)} {rng.choice(lasts)}"


def _address(rng: random.Random) -> str:
    style = rng.randint(0, 3)
    if style == 0:
        return rng.choice(FIXED_ADDRESSES)
    if style == 1:
        street, city, state, zip3 = rng.choice(US_STREETS)
        return f"{rng.randint(10, 9999)} {street}, {city}, {state} {zip3}{rng.randint(0, 99):02d}"
    if style == 2:
        street, city, area = rng.choice(UK_STREETS)
        return (
            f"{rng.randint(1, 240)} {street}, {city} {area} {rng.randint(1, 9)}{_chars(rng, 'ABDEFGHJLNPQRSTUWXYZ', 2)}"
        )
    if rng.random() < 0.5:
        street, city, plz2 = rng.choice(DE_STREETS)
        return f"{street} {rng.randint(1, 120)}, {plz2}{rng.randint(100, 999)} {city}"
    template = rng.choice(INTL_ADDRESSES)
    return template.format(n=rng.randint(1, 240), u=rng.randint(1, 600), pc=rng.randint(10000, 99999))


def _email(rng: random.Random) -> str:
    ascii_name = unicodedata.normalize("NFKD", _person_name(rng)).encode("ascii", "ignore").decode()
    first, last = (part.replace("'", "").replace("-", "").lower() for part in ascii_name.split(" ", 1))
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(1, 99)}"))
    return f"{local}@{rng.choice(('example.com', 'mail.example.org', 'example.net', 'inbox.example.co.uk'))}"


def _phone_international(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(
            (
                f"+44 20 7946 0{rng.randint(0, 999):03d}",
                f"+44 7700 900{rng.randint(0, 999):03d}",
                f"+49 30 {rng.randint(100000, 999999)}",
                f"+33 1 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
                f"+1 415 555 01{rng.randint(0, 99):02d}",
            )
        )
    return _valid_phone(rng, _INTL_PHONES)


def _phone_national(rng: random.Random) -> str:
    if rng.random() < 0.5:
        area = rng.choice(("415", "212", "312", "206", "617"))
        return rng.choice((f"({area}) 555-01{rng.randint(0, 99):02d}", f"{area}-555-01{rng.randint(0, 99):02d}"))
    return _valid_phone(rng, _NATIONAL_PHONES)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


# (region the number is dialled from, format): numbers of many countries as people write them
_INTL_PHONES: tuple[tuple[str | None, Callable[[random.Random], str]], ...] = (
    (None, lambda r: f"+46 (0)8 {r.randint(200, 899)} {_digits(r, 2)} {_digits(r, 2)}"),
    (None, lambda r: f"+358 40 {_digits(r, 3)} {_digits(r, 4)}"),
    (None, lambda r: f"+81 3-{_digits(r, 4)}-{_digits(r, 4)}"),
    (None, lambda r: f"+48 512 {_digits(r, 3)} {_digits(r, 3)}"),
    (None, lambda r: f"+34 6{_digits(r, 2)} {_digits(r, 3)} {_digits(r, 3)}"),
)
_NATIONAL_PHONES: tuple[tuple[str | None, Callable[[random.Random], str]], ...] = (
    ("ES", lambda r: f"6{_digits(r, 2)} {_digits(r, 3)} {_digits(r, 3)}"),
    ("FR", lambda r: f"0{r.randint(1, 5)} {_digits(r, 2)} {_digits(r, 2)} {_digits(r, 2)} {_digits(r, 2)}"),
    ("NL", lambda r: f"06 {r.randint(1, 5)}{_digits(r, 7)}"),
    ("DE", lambda r: f"030 {r.randint(2, 9)}{_digits(r, 6)}"),
    ("BE", lambda r: f"0490 {_digits(r, 2)} {_digits(r, 2)} {_digits(r, 2)}"),
    ("GB", lambda r: f"07911 {_digits(r, 6)}"),
)


def _valid_phone(rng: random.Random, formats: Sequence[tuple[str | None, Callable[[random.Random], str]]]) -> str:
    """A number in one of `formats` that phonenumbers' metadata calls valid (redrawn until it is: a
    planted phone number must be a real-format number, or the scrub's recall on the sample means nothing)."""
    region, make = rng.choice(formats)
    while True:
        number = make(rng)
        if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
            return number


def _ipv4(rng: random.Random) -> str:
    return rng.choice(
        (
            f"203.0.113.{rng.randint(1, 254)}",
            f"198.51.100.{rng.randint(1, 254)}",
            f"192.168.{rng.randint(0, 10)}.{rng.randint(2, 254)}",
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}",
            f"{rng.randint(80, 95)}.{rng.randint(1, 255)}.{rng.randint(1, 255)}.{rng.randint(1, 254)}",
        )
    )


def _ipv6(rng: random.Random) -> str:
    groups = [f"{rng.getrandbits(16):x}" for _ in range(6)]
    if rng.random() < 0.5:
        return f"2001:db8:{groups[0]}:{groups[1]}::{groups[2]}"
    return "2001:0db8:" + ":".join(f"{int(g, 16):04x}" for g in groups)


def _jwt(rng: random.Random) -> str:
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")  # noqa: E731
    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    payload = b64(_dumps({"sub": f"u-{_hex(rng, 8)}", "iat": 1793000000 + rng.randint(0, 9_999_999)}))
    return f"{header}.{payload}.{_chars(rng, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 43)}"


def _pem(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    lines = ["MIIEpAIBAAKCAQEA" + _chars(rng, alphabet, 48)]
    lines += [_chars(rng, alphabet, 64) for _ in range(rng.randint(4, 7))]
    lines.append(_chars(rng, alphabet, 20) + "==")
    return "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _pii_sentence(rng: random.Random, kind: str) -> tuple[str, str | None]:
    """A natural user sentence carrying one PII value, and an optional assistant echo of it (coreference)."""
    if kind == "person_name":
        name = _person_name(rng)
        return rng.choice(
            (
                (f"My name is {name}, in case you need it for the ticket.", f"Thanks, {name}."),
                (f"The order is under my partner's name, {name}.", None),
                (f"Please address the replacement to {name}.", f"Noted: the replacement will go to {name}."),
                (f"The booking is under my last name, {name.split(' ', 1)[1]}.", None),
                (f"Guests: {name}, {_person_name(rng)} and {_person_name(rng)}.", None),
            )
        )
    if kind == "street_address":
        address = _address(rng)
        return rng.choice(
            (
                (f"Please ship it to {address} instead.", f"I've noted the new address: {address}."),
                (f"I live at {address}, if that matters for delivery.", None),
            )
        )
    if kind == "email":
        email = _email(rng)
        return rng.choice(
            (
                (f"You can reach me at {email}.", f"I'll send the confirmation to {email}."),
                (f"My account email is {email}.", None),
            )
        )
    if kind == "phone_international":
        return f"Call me back on {_phone_international(rng)}, I'm usually free after 5.", None
    if kind == "phone_national":
        return f"My number is {_phone_national(rng)} if it's easier to call.", None
    if kind == "credit_card":
        return f"I paid with card {_card_number(rng)}, exp {rng.randint(1, 12):02d}/{rng.randint(27, 31)}.", None
    if kind == "iban":
        return f"Please refund it to my IBAN {_iban(rng)}.", None
    if kind == "us_ssn":
        return f"The tax form asks for my SSN, it's {_ssn(rng)}.", None
    if kind == "ipv4":
        return f"Our server at {_ipv4(rng)} keeps timing out when the hub connects.", None
    if kind == "ipv6":
        return f"The device shows the address {_ipv6(rng)} in its network settings.", None
    if kind == "aws_access_key":
        key = "AKIA" + _chars(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
        secret = _chars(rng, _ALNUM + "+/", 40)
        return (
            "Here's my config, why does upload fail?\n```python\nimport boto3\n"
            f's3 = boto3.client("s3", aws_access_key_id="{key}", aws_secret_access_key="{secret}")\n```',
            None,
        )
    if kind == "github_token":
        return f"I clone with `git clone https://ghp_{_chars(rng, _ALNUM, 36)}@github.com/acme/app.git`.", None
    if kind == "openai_key":
        key = rng.choice(("sk-", "sk-proj-")) + _chars(rng, _ALNUM, 48)
        return f"My .env has OPENAI_API_KEY={key} and the client still says unauthorized.", None
    if kind == "jwt":
        return f"The API answers 401 to `Authorization: Bearer {_jwt(rng)}`.", None
    if kind == "password_assignment":
        password = rng.choice(("Hunter2!", "Summer2026!", "lumora123", "Pa55w0rd#")) + str(rng.randint(0, 99))
        return f"My config file has password={password} and login still fails.", None
    if kind == "connection_string":
        user, host = rng.choice(("admin", "app", "orders_rw")), rng.choice(("db.internal", "10.0.4.12"))
        password = _chars(rng, _ALNUM, 12)
        return f"We connect with postgres://{user}:{password}@{host}:5432/orders and it hangs.", None
    if kind == "pem_private_key":
        return f"The deploy fails with 'invalid format' when it loads this key:\n```\n{_pem(rng)}\n```", None
    raise ValueError(kind)


def _lookalike_sentence(rng: random.Random, kind: str) -> str:
    """A sentence with something PII-shaped that is not PII (the scrubber must leave it alone)."""
    if kind == "order_number_fails_luhn":
        return f"The order number on my receipt is {_order_number_failing_luhn(rng)}."
    if kind == "isbn":
        return f"Is the setup guide (ISBN {_isbn13(rng)}) still current?"
    if kind == "date":
        return rng.choice(
            (f"It started on 2026-10-{rng.randint(10, 31)}.", f"It started on {rng.randint(1, 28):02d}/10/2026.")
        )
    if kind == "version_string":
        version = ".".join(str(rng.randint(lo, hi)) for lo, hi in ((1, 9), (0, 20), (0, 9), (1, 99)))
        return f"This began after the update to firmware {version}."
    if kind == "price":
        return rng.choice(
            (
                f"I was charged ${rng.randint(1, 2)},{rng.randint(100, 999)}.00, which seems wrong.",
                f"The plan is €{rng.randint(3, 99)}.99 a month, right?",
                f"It was £{rng.randint(10, 250)}.50 in the shop.",
            )
        )
    raise ValueError(kind)


# --------------------------------------------------------------------------------------------------
# Conversation topics (templates + slot vocabularies)
# --------------------------------------------------------------------------------------------------

Turn = tuple[str, str]


@dataclass
class Topic:
    """A first exchange plus follow-ups that make sense after it, in conversational order."""

    domain: str
    first: Turn
    follow_ups: list[Turn] = field(default_factory=list)


def _order_status(rng: random.Random) -> Topic:
    order, product, days = _order_id(rng), rng.choice(PRODUCT_NAMES), rng.randint(4, 15)
    carrier = rng.choice(CARRIERS)
    status, eta = rng.choice(SHIPPING_STATUSES)
    user = rng.choice(
        (
            f"My order {order} hasn't arrived yet and it's been {days} days. Can you check what's going on?",
            f"Where is my {product}? Order {order}, placed {days} days ago.",
            f"I ordered a {product} {days} days ago (order {order}) and the tracking hasn't moved.",
            f"Can you give me an update on order {order}?",
        )
    )
    return Topic(
        "support",
        (user, f"Sorry for the wait! Order {order} shipped with {carrier} and is {status}. {eta}"),
        [
            (
                "Can I still change the delivery address?",
                "Only until the parcel is out for delivery. Open Account > Orders, select the order and "
                f"choose Change address; after that you can still redirect it from the {carrier} tracking page.",
            ),
            (
                "What happens if it gets lost?",
                "If the tracking shows no movement for 5 business days, we treat the parcel as lost and send a "
                "free replacement or a full refund, whichever you prefer.",
            ),
        ],
    )


def _return_refund(rng: random.Random) -> Topic:
    product, days, reason = rng.choice(PRODUCT_NAMES), rng.randint(3, 60), rng.choice(RETURN_REASONS)
    user = rng.choice(
        (
            f"Can I return my {product}? I bought it {days} days ago and {reason}.",
            f"I'd like a refund for the {product}, {reason}. It was delivered {days} days ago.",
        )
    )
    if days <= 30:
        answer = (
            "Yes, you're within our 30-day return window. Start the return in the app under Account > Orders; "
            "we'll email a prepaid label, and the refund reaches your original payment method within 5–7 "
            "business days after the item arrives."
        )
    else:
        answer = (
            f"Our return window is 30 days from delivery, so after {days} days a standard return isn't possible. "
            "If the device is faulty, though, it's covered by the 2-year limited warranty: open a warranty "
            "claim in the app and we'll replace it free of charge."
        )
    return Topic(
        "support",
        (user, answer),
        [
            (
                "Do I need the original box?",
                "No, any sturdy box works. Please include all accessories, like the mount and cable.",
            ),
            (
                "How long until I see the money?",
                "Usually 5–7 business days after the return arrives at our warehouse; you'll get an email "
                "when the refund is issued.",
            ),
        ],
    )


def _device_error(rng: random.Random) -> Topic:
    product, (code, message, fix) = rng.choice(PRODUCT_NAMES), rng.choice(DEVICE_ERRORS)
    user = rng.choice(
        (
            f"My {product} keeps showing '{message}' ({code}). {rng.choice(TRIED)}",
            f"Getting error {code} on the {product} since this morning. {rng.choice(TRIED)}",
            f"What does {code} mean on a {product}?",
        )
    )
    return Topic(
        "support",
        (user.strip(), f'{code} means "{message}". Here\'s how to fix it:\n{fix}'),
        [
            (
                "That didn't work, what else can I try?",
                "Let's do a factory reset: hold the reset button for 10 seconds until the LED blinks yellow, "
                "then set the device up again in the app. Your automations are kept in your account.",
            ),
            (
                "Still the same error after the reset.",
                "Then the device is most likely faulty. I've flagged it for a warranty replacement; you'll "
                "receive an email with a prepaid return label within one business day.",
            ),
        ],
    )


def _account_access(rng: random.Random) -> Topic:
    user = rng.choice(
        (
            "I can't log in, the password reset email never arrives.",
            "The verification code for two-factor login never shows up. What can I do?",
            "I'm locked out of the Lumora app after too many attempts.",
        )
    )
    answer = (
        "Sorry about that! Please check your spam folder first, and wait about 10 minutes, as some providers "
        "delay our emails. Reset links and codes stay valid for one hour. If nothing arrives, tap 'Try another "
        "way' on the login screen to get the code by SMS instead."
    )
    return Topic(
        "support",
        (user, answer),
        [
            (
                "Got it, it was in spam. Can I stop that happening?",
                "Yes: mark the message as 'Not spam' and add our sender address to your contacts.",
            )
        ],
    )


def _billing(rng: random.Random) -> Topic:
    price = rng.choice(("$4.99", "$49.00"))
    user = rng.choice(
        (
            f"I was charged twice for Lumora Plus this month ({price} two times).",
            "How do I cancel my Lumora Plus subscription?",
            "Can I get an invoice with my company's VAT number?",
        )
    )
    if user.startswith("I was charged"):
        answer = (
            "I'm sorry for the confusion. Often one of the two is a pending authorization that drops off "
            "within 3–5 business days. If both charges have posted, reply here and we'll refund the duplicate."
        )
    elif user.startswith("How do I cancel"):
        answer = (
            "Go to Account > Subscription > Cancel Lumora Plus in the app. You keep the Plus features until "
            "the end of the current billing period, and you won't be charged again."
        )
    else:
        answer = (
            "Yes. Add the VAT number under Account > Billing > Company details; every invoice issued after "
            "that includes it, and you can regenerate past invoices from the same page."
        )
    return Topic("support", (user, answer))


def _shipping_country(rng: random.Random) -> Topic:
    country = rng.choice(tuple(SHIPPING))
    eta = SHIPPING[country]
    answer = (
        f"Yes, we ship to {country}. Delivery usually takes {eta}, and duties are included in the price."
        if eta
        else f"Sorry, we don't ship to {country} yet. Some of our products are sold there through local "
        "retailers; check the 'Where to buy' page."
    )
    return Topic("support", (f"Do you ship to {country}?", answer))


def _out_of_scope(rng: random.Random) -> Topic:
    """Requests where refusing is the right answer: the edge case a model must learn, counted as refusal."""
    user, answer = rng.choice(
        (
            (
                "Can you tell me the home address of the technician who installed my doorbell?",
                "I can't share personal information about our staff. If something went wrong with the "
                "installation, I can open a complaint and a supervisor will contact you.",
            ),
            (
                "Can you turn off my neighbour's camera? It points at my garden.",
                "I can't access or change devices that belong to someone else. You could ask your neighbour to "
                "set a privacy zone, which masks part of the image.",
            ),
        )
    )
    return Topic("support", (user, answer))


def _compatibility(rng: random.Random) -> Topic:
    product, integration = rng.choice(PRODUCT_NAMES), rng.choice(INTEGRATIONS)
    supported = PRODUCTS[product].integrations
    user = f"Does the {product} work with {integration}?"
    if integration not in supported:
        listed = f"{', '.join(supported[:-1])} and {supported[-1]}" if len(supported) > 1 else supported[0]
        answer = f"Not at the moment: the {product} doesn't support {integration}. It works with {listed}."
        return Topic("product", (user, answer))
    answer = f"Yes, the {product} works with {integration}. Link it in the app under Settings > Integrations."
    free = ("Is that a free feature?", "Yes, integrations are free and don't need a Lumora Plus subscription.")
    return Topic("product", (user, answer), [free])


def _comparison(rng: random.Random) -> Topic:
    a, b = rng.sample(PRODUCT_NAMES, 2)
    pa_, pb = PRODUCTS[a], PRODUCTS[b]
    outdoor = {
        (True, True): "Both are",
        (True, False): f"Only the {a} is",
        (False, True): f"Only the {b} is",
        (False, False): "Neither is",
    }[(pa_.outdoor, pb.outdoor)]
    answer = (
        f"The {a} ({pa_.price}) {pa_.pitch}, while the {b} ({pb.price}) {pb.pitch}. {outdoor} suitable for outdoor use."
    )
    user = rng.choice((f"What's the difference between the {a} and the {b}?", f"{a} or {b}, which should I get?"))
    return Topic("product", (user, answer))


def _power(rng: random.Random) -> Topic:
    product = rng.choice(PRODUCT_NAMES)
    if not PRODUCTS[product].battery:
        user = rng.choice((f"How is the {product} powered?", f"Does the {product} need batteries?"))
        return Topic("product", (user, PRODUCTS[product].power))
    user = rng.choice((f"How long does the battery last on the {product}?", f"How is the {product} powered?"))
    cold = (
        "Does cold weather affect the battery?",
        "Yes, below 0 °C lithium batteries deliver less energy, so expect roughly 20–30% shorter battery life "
        "in winter.",
    )
    return Topic("product", (user, PRODUCTS[product].power), [cold])


def _code_howto(rng: random.Random) -> Topic:
    task = rng.choice(tuple(CODE_TASKS))
    lang, other = rng.sample(tuple(CODE_LANGS), 2)
    snippet = CODE_TASKS[task]
    user = rng.choice(
        (
            f"How do I {task} in {CODE_LANGS[lang]}?",
            f"What's the cleanest way to {task} in {CODE_LANGS[lang]}?",
            f"{CODE_LANGS[lang]}: how can I {task}?",
        )
    )
    answer = f"Here's a straightforward way:\n\n```{lang}\n{snippet[lang]}\n```\n\n{snippet['note']}"
    return Topic(
        "coding",
        (user, answer),
        [
            (
                f"Can you show the same in {CODE_LANGS[other]}?",
                f"Sure:\n\n```{other}\n{snippet[other]}\n```",
            ),
            ("Thanks! Is this efficient for big inputs?", "Yes, it runs in linear time over the input."),
        ],
    )


def _code_error(rng: random.Random) -> Topic:
    error, context, explanation = rng.choice(CODE_ERRORS)
    user = rng.choice(
        (
            f"I'm getting `{error}` when I run {context}. What does it mean?",
            f"{error}\n\nThis happens in {context}, any idea?",
        )
    )
    return Topic(
        "coding",
        (user, explanation),
        [("How do I stop this from happening again?", "Add a test that reproduces the failure, then fix it.")],
    )


API_EVENTS: dict[str, str] = {
    "motion is detected": "motion.detected",
    "someone rings the doorbell": "doorbell.pressed",
    "a device goes offline": "device.offline",
    "a battery gets low": "battery.low",
}
API_CLIENTS: dict[str, str] = {
    "curl": 'curl -H "Authorization: Bearer $LUMORA_TOKEN" https://api.lumora.example.com/v1/devices',
    "Python": 'import os\nimport requests\n\nresponse = requests.get(\n    "https://api.lumora.example.com/v1/devices",\n'
    '    headers={"Authorization": f"Bearer {os.environ[\'LUMORA_TOKEN\']}"},\n    timeout=10,\n)',
    "Node.js": 'const res = await fetch("https://api.lumora.example.com/v1/devices", {\n'
    "  headers: { Authorization: `Bearer ${process.env.LUMORA_TOKEN}` },\n});",
}


def _api_question(rng: random.Random) -> Topic:
    """Developer questions about the (fictional) Lumora REST API, with slots so no two are alike."""
    kind = rng.randint(0, 3)
    if kind == 0:
        client = rng.choice(tuple(API_CLIENTS))
        user = f"How do I authenticate against the Lumora API from {client}?"
        answer = (
            "Create a personal access token under Settings > Developer and send it as a Bearer token:\n\n"
            f"```\n{API_CLIENTS[client]}\n```\n\nKeep the token in an environment variable, never in source code."
        )
    elif kind == 1:
        calls = rng.randint(550, 900)
        user = f"I get 429 Too Many Requests after about {calls} calls. What's the rate limit of the Lumora API?"
        answer = (
            "600 requests per minute per token. Above that you get HTTP 429 with a Retry-After header telling you "
            "how many seconds to wait; batch reads with /v1/devices?ids=... to stay under the limit."
        )
    elif kind == 2:
        home = f"home_{_hex(rng, 6)}"
        user = f"How do I list all devices in {home} through the API?"
        answer = (
            f"Call `GET /v1/homes/{home}/devices`. Results are paginated (100 per page); follow the `next` "
            "cursor in the response until it is null."
        )
    else:
        event = rng.choice(tuple(API_EVENTS))
        host = f"{rng.choice(('hooks', 'api', 'automation'))}.{rng.choice(('acme', 'myhome', 'lab'))}.example.net"
        url = f"https://{host}/lumora/{_hex(rng, 4)}"
        user = f"Can the API call my webhook at {url} when {event}?"
        answer = (
            f'Yes. `POST /v1/webhooks` with `{{"url": "{url}", "events": ["{API_EVENTS[event]}"]}}`. '
            "We sign each delivery with an X-Lumora-Signature header; verify it with your webhook secret."
        )
    return Topic("coding", (user, answer))


def _capital(rng: random.Random) -> Topic:
    country = rng.choice(tuple(CAPITALS))
    user = rng.choice(
        (f"What's the capital of {country}?", f"capital of {country}?", f"Which city is the capital of {country}?")
    )
    return Topic("knowledge", (user, f"The capital of {country} is {CAPITALS[country]}."))


def _concept(rng: random.Random) -> Topic:
    concept = rng.choice(tuple(CONCEPTS))
    full, simple = CONCEPTS[concept]
    user = rng.choice((f"Can you explain {concept} in simple terms?", f"What is {concept}?", f"ELI5: {concept}"))
    answer = simple if user.startswith("ELI5") else full
    return Topic("knowledge", (user, answer), [("Can you make that shorter?", _first_sentence(full))])


def _conversion(rng: random.Random) -> Topic:
    n: float = rng.randint(2, 400) if rng.random() < 0.7 else rng.randint(20, 999) / 10
    kind = rng.randint(0, 3)
    if kind == 0:
        return Topic("knowledge", (f"How many miles is {n} km?", f"{n} km is about {n * 0.621371:.1f} miles."))
    if kind == 1:
        return Topic("knowledge", (f"Convert {n} kg to pounds.", f"{n} kg is about {n * 2.20462:.1f} lb."))
    if kind == 2:
        return Topic("knowledge", (f"What is {n} °C in Fahrenheit?", f"{n} °C is {n * 9 / 5 + 32:.1f} °F."))
    return Topic(
        "knowledge", (f"How many US gallons are {n} litres?", f"{n} litres is about {n / 3.78541:.2f} US gallons.")
    )


def _percent(rng: random.Random) -> Topic:
    price, pct = rng.choice((24, 29, 59, 129, 149, 179, 199)), rng.choice((5, 10, 12, 15, 20, 25, 30, 35, 40))
    product = next((name for name, p in PRODUCTS.items() if p.price == f"${price}"), "gadget")
    sale = price * (100 - pct) / 100
    return Topic(
        "knowledge",
        (
            f"If a {product} costs ${price} and it's {pct}% off, what do I pay?",
            f"{pct}% of ${price} is ${price * pct / 100:.2f}, so you pay ${sale:.2f}.",
        ),
    )


def _email_draft(rng: random.Random) -> Topic:
    issue, detail = rng.choice(
        (
            ("a leaking kitchen tap", "It has been dripping constantly since last week."),
            ("the broken heating", "The radiators in the bedroom stay cold even on the highest setting."),
            ("renewing the lease", "I'd like to stay for another year and wanted to discuss the next steps."),
        )
    )
    answer = (
        f"Subject: {issue[0].upper()}{issue[1:]}\n\nHi,\n\nI hope you're well. I'm writing about {issue}. "
        f"{detail} Could you let me know when would suit you to discuss or arrange a visit?\n\n"
        "Thank you in advance,\n[Your name]"
    )
    return Topic("knowledge", (f"Write a short, polite email to my landlord about {issue}.", answer))


TOPICS: dict[str, tuple[tuple[Callable[[random.Random], Topic], int], ...]] = {
    "support": (
        (_order_status, 5),
        (_return_refund, 4),
        (_device_error, 5),
        (_account_access, 2),
        (_billing, 3),
        (_shipping_country, 2),
        (_out_of_scope, 1),
    ),
    "product": ((_compatibility, 3), (_comparison, 2), (_power, 2)),
    "coding": ((_code_howto, 4), (_code_error, 3), (_api_question, 1)),
    "knowledge": ((_capital, 2), (_concept, 3), (_conversion, 2), (_percent, 1), (_email_draft, 1)),
}
DOMAIN_WEIGHTS: dict[str, int] = {"support": 45, "product": 20, "coding": 20, "knowledge": 15}


def _pick_domain(rng: random.Random) -> str:
    return rng.choices(tuple(DOMAIN_WEIGHTS), weights=tuple(DOMAIN_WEIGHTS.values()))[0]


def _topic(rng: random.Random, domain: str | None = None) -> Topic:
    domain = domain or _pick_domain(rng)
    makers, weights = zip(*TOPICS[domain], strict=True)
    return rng.choices(makers, weights=weights)[0](rng)


def _turns(rng: random.Random, topic: Topic, max_exchanges: int) -> list[Turn]:
    """1..max_exchanges exchanges: the first, ordered follow-ups, and maybe a closing thank-you."""
    n = rng.choices(range(1, 5), weights=(45, 30, 15, 10))[0]
    n = min(n, max_exchanges)
    k = min(n - 1, len(topic.follow_ups))
    picked = sorted(rng.sample(range(len(topic.follow_ups)), k))
    turns = [topic.first, *(topic.follow_ups[i] for i in picked)]
    if len(turns) < n:
        turns.append(rng.choice(CLOSINGS))
    return turns


def _chat(rng: random.Random, *, system: float, max_exchanges: int = 4, domain: str | None = None) -> list[Message]:
    """A chat conversation; `system` is the probability of a system prompt."""
    topic = _topic(rng, domain)
    messages = [_msg("system", rng.choice(SYSTEM_PROMPTS[topic.domain]))] if rng.random() < system else []
    for i, (user, assistant) in enumerate(_turns(rng, topic, max_exchanges)):
        messages += [_msg("user", _decorate(rng, user, topic.domain) if i == 0 else user), _msg("assistant", assistant)]
    return messages


def _domain_of(messages: list[Message]) -> str:
    """The domain a copied conversation's system prompt belongs to; "knowledge" (the generic one) without."""
    if messages and messages[0]["role"] == "system":
        for domain, prompts in SYSTEM_PROMPTS.items():
            if messages[0]["content"] in prompts:
                return domain
    return "knowledge"


# --------------------------------------------------------------------------------------------------
# Content plants (PII, placeholders, refusals, ...): applied to a message list before formatting
# --------------------------------------------------------------------------------------------------


def _mojibake(text: str) -> str:
    """UTF-8 bytes wrongly decoded as cp1252, the classic 'cafÃ©'."""
    return text.encode("utf-8").decode("cp1252", errors="replace")


def _non_english(ctx: _Ctx, rng: random.Random) -> tuple[str, str]:
    lang = ctx.draw("non_english", NON_ENGLISH_LANGS)
    ctx.plant(f"non_english:{lang}")
    for _ in range(50):
        user, answer = rng.choice(NON_ENGLISH[lang])
        slots = {"order": _order_id(rng), "product": rng.choice(PRODUCT_NAMES), "days": rng.randint(3, 25)}
        user, answer = user.format(**slots), answer.format(**slots)
        if ctx.claim([_msg("user", user), _msg("assistant", answer)]):
            return user, answer
    raise RuntimeError("non-English template space exhausted")


def _plant_answer(ctx: _Ctx, rng: random.Random, rates: Rates, answer: str) -> str | None:
    """At most one answer-side problem: placeholder, boilerplate, refusal or merged instruction."""
    roll = rng.random()
    for category, rate in (
        ("placeholder_output", rates.placeholder),
        ("boilerplate", rates.boilerplate),
        ("refusal", rates.refusal),
        ("merged_instruction", rates.merged_instruction),
    ):
        if roll < rate:
            ctx.plant(category)
            return _ANSWER_PLANTS[category](ctx, rng, answer)
        roll -= rate
    return answer


def _placeholder(ctx: _Ctx, rng: random.Random, answer: str) -> str | None:
    return ctx.draw("placeholder", PLACEHOLDER_OUTPUTS)


def _boilerplate(ctx: _Ctx, rng: random.Random, answer: str) -> str:
    if rng.random() < 0.3:
        return answer + BOILERPLATE_SUFFIX
    return rng.choice(BOILERPLATE_PREFIXES) + answer[0].lower() + answer[1:]


def _refusal(ctx: _Ctx, rng: random.Random, answer: str) -> str:
    return rng.choice(REFUSALS)


def _merged_instruction(ctx: _Ctx, rng: random.Random, answer: str) -> str:
    """Teacher output that ran on into the next numbered task of its prompt."""
    other = _topic(rng, "knowledge").first
    n = rng.randint(2, 40)
    return f"{answer}\n\n### {n}. Instruction:\n{other[0]}\n\n### {n}. Response:\n{other[1]}"


_ANSWER_PLANTS: dict[str, Callable[[_Ctx, random.Random, str], str | None]] = {
    "placeholder_output": _placeholder,
    "boilerplate": _boilerplate,
    "refusal": _refusal,
    "merged_instruction": _merged_instruction,
}


def _join(text: str, sentence: str, rng: random.Random) -> str:
    sep = "\n\n" if "\n" in sentence else " "
    return f"{sentence}{sep}{text}" if rng.random() < 0.3 else f"{text}{sep}{sentence}"


def _plant_content(ctx: _Ctx, rng: random.Random, rates: Rates, messages: list[Message]) -> list[Message]:
    """Plant content problems into a copy of `messages` (user turns get PII, the last answer gets the rest)."""
    messages = [dict(m) for m in messages]  # messages are flat dicts: a shallow copy each is enough
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    answers = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    if not users:
        return messages
    if rng.random() < rates.non_english:
        user, answer = _non_english(ctx, rng)
        system = [m for m in messages if m["role"] == "system"]
        return [*system, _msg("user", user), *([_msg("assistant", answer)] if answers else [])]
    if rng.random() < rates.pii:
        kind = ctx.draw("pii", PII_KINDS)
        ctx.plant(f"pii:{kind}")
        i = users[0] if rng.random() < 0.7 else rng.choice(users)  # people mostly overshare up front
        sentence, echo = _pii_sentence(rng, kind)
        messages[i]["content"] = _join(messages[i]["content"], sentence, rng)
        later = [j for j in answers if j > i]
        if echo and later:
            messages[later[0]]["content"] = f"{echo} {messages[later[0]]['content']}"
    if rng.random() < rates.lookalike:
        kind = ctx.draw("lookalike", LOOKALIKE_KINDS)
        ctx.plant(f"lookalike:{kind}")
        i = rng.choice(users)
        messages[i]["content"] = _join(messages[i]["content"], _lookalike_sentence(rng, kind), rng)
    if rng.random() < rates.terminal_escape:
        ctx.plant("terminal_escape")
        i = rng.choice(users)
        messages[i]["content"] += "\n\nHere's the output:\n" + rng.choice(ANSI_PASTES)
    if rng.random() < rates.mojibake:
        ctx.plant("mojibake")
        i = rng.choice(users + answers)
        messages[i]["content"] = _mojibake(_join(messages[i]["content"], rng.choice(MOJIBAKE_PHRASES), rng))
    if answers:
        last = answers[-1]
        messages[last]["content"] = _plant_answer(ctx, rng, rates, messages[last]["content"])
    return messages


# --------------------------------------------------------------------------------------------------
# Near duplicates
# --------------------------------------------------------------------------------------------------

_SYNONYMS: tuple[tuple[str, str], ...] = (
    ("hasn't", "has not"),
    ("can't", "cannot"),
    ("Can you", "Could you"),
    ("How do I", "How can I"),
    ("What's", "What is"),
    ("order", "purchase"),
    ("keeps", "continues"),
    ("Thanks", "Thank you"),
    ("bought", "purchased"),
    ("explain", "describe"),
)


def _near_duplicate_text(rng: random.Random, text: str) -> str:
    """Change casing, punctuation, spacing or one or two words, never the meaning."""

    def casing(t: str) -> str:
        return t.lower() if rng.random() < 0.5 else t[:1].swapcase() + t[1:]

    def punctuation(t: str) -> str:
        if t.endswith(("?", ".", "!")):
            return t[:-1] if rng.random() < 0.5 else t + t[-1]
        return t + "?"

    def synonym(t: str) -> str:
        options = [(a, b) for a, b in _SYNONYMS if a in t]
        if not options:
            return t + " please"
        a, b = rng.choice(options)
        return t.replace(a, b, 1)

    def spacing(t: str) -> str:
        spaces = [i for i, ch in enumerate(t) if ch == " "]
        i = rng.choice(spaces) if spaces else len(t)
        return t[:i] + " " + t[i:]

    changed = text
    for op in rng.sample((casing, punctuation, synonym, spacing), rng.randint(1, 2)):
        changed = op(changed)
    return changed if changed != text else text + "!"


def _near_duplicate_messages(rng: random.Random, messages: list[Message]) -> list[Message]:
    out = [dict(m) for m in messages]
    first_user = next(i for i, m in enumerate(out) if m["role"] == "user")
    out[first_user]["content"] = _near_duplicate_text(rng, out[first_user]["content"])
    return out


# --------------------------------------------------------------------------------------------------
# Malformed lines (exact bytes)
# --------------------------------------------------------------------------------------------------


def _truncated(rng: random.Random, record: dict[str, Any]) -> bytes:
    text = json.dumps(record, ensure_ascii=False)
    return text[: int(len(text) * rng.uniform(0.3, 0.8))].encode("utf-8")


def _with_raw_bytes(record: dict[str, Any], raw: bytes) -> bytes:
    """Serialize `record` whose text contains the marker, then swap the marker for raw (non-JSON) bytes."""
    return _dumps(record).replace(b"@@RAW@@", raw)


def _first_text_slot(record: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The dict and key holding the first user text of any supported format (to inject bad bytes)."""
    if "messages" in record:
        return next(m for m in record["messages"] if m["role"] == "user"), "content"
    if "conversations" in record:
        return next(m for m in record["conversations"] if m["from"] not in ("system",)), "value"
    if "prompt" in record:
        return record, "prompt"
    return record, "instruction"


def _malformed_line(rng: random.Random, kind: str, record: dict[str, Any]) -> bytes:
    """Bytes of one malformed line of `kind`, built from a valid `record` of the file's format."""
    record = copy.deepcopy(record)
    slot, key = _first_text_slot(record)
    if kind == "truncated_json":
        return _truncated(rng, record)
    if kind == "invalid_utf8_latin1":
        slot[key] = "The @@RAW@@ is closed, can I still pick up my order?"
        return _with_raw_bytes(record, "café".encode("latin-1"))
    if kind == "invalid_utf8_cp1252":
        slot[key] = "The app says @@RAW@@ and nothing else."
        return _with_raw_bytes(record, "“device offline”".encode("cp1252"))
    if kind == "nul_byte_raw":
        slot[key] = "My serial number is LM@@RAW@@-88213, is it under warranty?"
        return _with_raw_bytes(record, b"\x00")
    if kind == "nul_escaped":
        slot[key] = slot[key] + "\x00"
        return _dumps(record)
    if kind == "content_is_number":
        slot[key] = rng.randint(10_000, 99_999)  # a client serialized a bare order number as a number
        return _dumps(record)
    if kind == "messages_is_string":
        record["messages"] = "\n".join(f"{m['role']}: {m['content']}" for m in record["messages"])
        return _dumps(record)
    if kind == "unknown_role":
        if "conversations" in record:
            record["conversations"].insert(1, {"from": "narrator", "value": "The customer sighs."})
        else:
            record["messages"].append(_msg("narrator", "The customer has left the chat."))
        return _dumps(record)
    if kind == "empty_content":
        record["messages"] = [m for m in record["messages"] if m["role"] == "system"]
        record["messages"] += [_msg("user", "   "), _msg("assistant", "")]
        return _dumps(record)
    if kind == "missing_messages":
        del record["messages"]
        return _dumps(record)
    if kind == "completion_missing":
        del record["completion"]
        return _dumps(record)
    if kind == "not_an_object_array":
        return b"[1, 2]"
    if kind == "not_an_object_string":
        return b'"text"'
    if kind == "unknown_format":
        return rng.choice((b'{"foo": 1}', b'{"text": "Great app, five stars!", "rating": 5}'))
    if kind == "too_deep":
        slot[key] = "@@RAW@@"
        return _dumps(record).replace(b'"@@RAW@@"', b"[" * 200 + b'"deep"' + b"]" * 200)
    if kind == "too_long":
        slot[key] = _huge_log_paste(rng)
        return _dumps(record)
    raise ValueError(kind)


def _huge_log_paste(rng: random.Random) -> str:
    """~1.5 MB of hub debug log a user pasted into the chat (the line is rejected as too_long)."""
    lines = ["Here is the full debug log from my hub, it keeps disconnecting:"]
    levels = ("DEBUG",) * 6 + ("INFO",) * 3 + ("WARN",)
    size, t = 0, 0

    def pick(n: int) -> int:  # ~20k lines x 5 draws: rng.random() is 10x cheaper than randint
        return int(rng.random() * n)

    while size < MAX_LINE_BYTES * 3 // 2:
        t += 1 + pick(900)
        line = (
            f"2026-11-07T{t // 3_600_000 % 24:02d}:{t // 60_000 % 60:02d}:{t // 1000 % 60:02d}.{t % 1000:03d}Z "
            f"{levels[pick(10)]} [hub-{1 + pick(4)}] zigbee rssi=-{40 + pick(56)}dBm lqi={pick(256)} "
            f"queue={pick(65)}"
        )
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def _insert_malformed(ctx: _Ctx, rng: random.Random, file: str, lines: list[Line], record: dict[str, Any]) -> None:
    for item in MALFORMED_LINES:
        if item.file == file:
            lines.insert(rng.randint(0, len(lines)), _malformed_line(rng, item.kind, record))
            ctx.plant("malformed")
            ctx.plant(f"malformed:{item.kind}")


def _insert_blank_lines(ctx: _Ctx, rng: random.Random, file: str, lines: list[Line]) -> None:
    for i in range(BLANK_LINES.get(file, 0)):
        lines.insert(rng.randint(1, len(lines)), (b"", b"   ", b"\t")[i % 3])
        ctx.plant("blank_line")


def _insert_policy_plants(
    ctx: _Ctx, file: str, items: list[Any], make: Callable[[random.Random, PolicyPlant], dict[str, Any]]
) -> None:
    """Insert the POLICY_PLANTS rows of `file`, built by `make` from fresh, unplanted conversations.

    They come last and from their own stream, so no other plant copies them and the file's other rows keep
    their bytes and relative order.
    """
    rng = ctx.rng(f"policy:{file}")
    for plant in POLICY_PLANTS:
        if plant.file == file:
            items.insert(rng.randint(0, len(items)), make(rng, plant))
            ctx.plant(plant.kind)


# --------------------------------------------------------------------------------------------------
# Record formats
# --------------------------------------------------------------------------------------------------


def _single_turn(messages: list[Message]) -> tuple[str, str | None]:
    """(prompt, answer) of a conversation cut to its first exchange, for single-turn formats."""
    user = next(m["content"] for m in messages if m["role"] == "user")
    answer = next((m["content"] for m in messages if m["role"] == "assistant"), None)
    return user, answer


def _log_record(rng: random.Random, messages: list[Message], created_at: str, user_id: str) -> dict[str, Any]:
    return {
        "conversation_id": f"conv-{_hex(rng, 12)}",
        "user_id": user_id,
        "created_at": created_at,
        "model": LOG_MODEL,
        "messages": messages,
    }


def _alpaca_record(rng: random.Random, instruction: str, input_: str, output: str | None) -> dict[str, Any]:
    return {
        "instruction": instruction,
        "input": input_,
        "output": output,
        "author": rng.choice(EXPERT_AUTHORS),
        "reviewed": rng.random() < 0.85,
        "license": LICENSE,
    }


def _expert_chat_record(rng: random.Random, messages: list[Message]) -> dict[str, Any]:
    return {
        "messages": messages,
        "author": rng.choice(EXPERT_AUTHORS),
        "reviewed": rng.random() < 0.85,
        "license": LICENSE,
    }


def _sharegpt_record(rng: random.Random, chat: SynthChat, created_at: str) -> dict[str, Any]:
    """ShareGPT with the role spellings seen in the wild, varying per row."""
    names = {
        "system": "system",
        "user": rng.choice(("human", "human", "human", "user")),
        "assistant": rng.choice(("gpt", "gpt", "gpt", "gpt", "chatgpt", "assistant", "bing", "bard")),
    }
    template, messages = chat
    return {
        "conversations": [{"from": names[m["role"]], "value": m["content"]} for m in messages],
        "teacher_model": TEACHERS[SYN_GPT],
        "prompt_template": template,
        "created_at": created_at,
    }


def _completion_record(chat: SynthChat) -> dict[str, Any]:
    template, messages = chat
    prompt, completion = _single_turn(messages)
    return {
        "prompt": prompt,
        "completion": completion,
        "teacher_model": TEACHERS[SYN_LLAMA],
        "prompt_template": template,
    }


def _chat_batch_record(file: str, chat: SynthChat) -> dict[str, Any]:
    template, messages = chat
    return {
        "messages": messages,
        "teacher_model": TEACHERS[file],
        "prompt_template": template,
    }


def _contradiction_messages(ctx: _Ctx, file: str) -> list[tuple[str, list[Message]]]:
    """The contradiction sides that belong in `file`, as (domain, single-exchange conversation)."""
    out = []
    for c in CONTRADICTIONS:
        for side_file, prompt, answer in ((c.file_a, c.prompt_a, c.answer_a), (c.file_b, c.prompt_b, c.answer_b)):
            if side_file == file:
                ctx.plant("contradiction")
                out.append((c.domain, [_msg("user", prompt), _msg("assistant", answer)]))
    return out


# --------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------


@dataclass
class _Pools:
    """Examples one source hands to another (cross-source exact duplicates)."""

    expert_chats: list[list[Message]] = field(default_factory=list)
    expert_alpaca: list[list[Message]] = field(default_factory=list)
    log_chats: list[list[Message]] = field(default_factory=list)

    def take(self, ctx: _Ctx, rng: random.Random, into: str) -> list[list[Message]]:
        sources = {EXPERT_CHAT: self.expert_chats, EXPERT_ALPACA: self.expert_alpaca, LOG_FILES[0]: self.log_chats}
        out = []
        for src, dst, n in CROSS_SOURCE_COPIES:
            if dst == into:
                out += copy.deepcopy(rng.sample(sources[src], n))
                ctx.plant("exact_duplicate:cross_source", n)
        return out


def _add_duplicates(
    ctx: _Ctx, rng: random.Random, records: list[dict[str, Any]], near: Callable[[], dict[str, Any]]
) -> None:
    """Exact repeats (same object, same bytes) and near duplicates (`near` builds one from a perturbed copy)."""
    n = len(records)
    for _ in range(max(1, round(n * DUPLICATE_RATE))):
        i = rng.randrange(n)
        records.insert(min(len(records), i + rng.randint(1, 5)), records[i])
        ctx.plant("exact_duplicate:within_file")
    for _ in range(max(1, round(n * NEAR_DUPLICATE_RATE))):
        records.insert(rng.randint(0, len(records)), near())
        ctx.plant("near_duplicate")


def _build_logs(ctx: _Ctx, pools: _Pools) -> dict[str, list[Line]]:
    """A week of production logs: one file per day, sorted by time, with retries and pasted junk."""
    rng = ctx.rng("logs")
    users = [f"u-{_hex(rng, 8)}" for _ in range(900)]
    files: dict[str, list[Line]] = {}
    for day, file in zip(LOG_DAYS, LOG_FILES, strict=True):
        chats = [
            _plant_content(ctx, rng, RATES["production_log"], ctx.fresh(lambda: _chat(rng, system=1.0)))
            for _ in range(rng.randint(290, 420))
        ]
        for domain, msgs in _contradiction_messages(ctx, file):
            chats.insert(rng.randint(0, len(chats)), [_msg("system", SYSTEM_PROMPTS[domain][0]), *msgs])
        if file == LOG_FILES[0]:
            pools.log_chats = [c for c in chats if c[-1]["role"] == "assistant" and c[-1]["content"]]
        times = sorted(_timestamp(rng, day) for _ in chats)
        records = [_log_record(rng, c, t, rng.choice(users)) for c, t in zip(chats, times, strict=True)]

        def near(day: str = day, chats: list[list[Message]] = chats) -> dict[str, Any]:
            messages = _near_duplicate_messages(rng, rng.choice(chats))
            return _log_record(rng, messages, _timestamp(rng, day), rng.choice(users))

        _add_duplicates(ctx, rng, records, near)
        lines: list[Line] = list(records)
        _insert_malformed(ctx, rng, file, lines, records[0])
        _insert_blank_lines(ctx, rng, file, lines)
        files[file] = lines
    return files


def _alpaca_item(rng: random.Random) -> tuple[str, str, str]:
    """One expert instruction-tuning item: (instruction, input, output)."""
    kind = rng.choices(range(11), weights=(2, 3, 2, 2, 3, 2, 1, 1, 2, 3, 1))[0]
    if kind == 0:
        informal, formal = rng.choice(FORMAL_REWRITES)
        return "Rewrite the following sentence in a more formal tone.", informal, formal
    if kind == 1:
        product = rng.choice(PRODUCT_NAMES)
        label, review, why = rng.choice(
            (
                (
                    "Positive",
                    f"Set up the {product} in five minutes and it just works. Love it.",
                    "quick setup and reliability",
                ),
                (
                    "Negative",
                    f"The {product} disconnects every night and support took {rng.randint(3, 9)} days to reply.",
                    "unreliable connection and slow support",
                ),
                (
                    "Neutral",
                    f"The {product} does what it says. Nothing special, nothing wrong.",
                    "no strong praise or complaint",
                ),
            )
        )
        return (
            "Classify the sentiment of this customer review as Positive, Negative or Neutral, and say why.",
            review,
            f"{label}: the review mentions {why}.",
        )
    if kind == 2:
        product, (code, _, _), order = rng.choice(PRODUCT_NAMES), rng.choice(DEVICE_ERRORS), _order_id(rng)
        ticket = f"Hi, my {product} shows error {code} since Monday. Order {order}. Please help!"
        return (
            "Extract the product name, the error code and the order number from this support ticket.",
            ticket,
            f"Product: {product}\nError code: {code}\nOrder number: {order}",
        )
    if kind == 3:
        user, answer = _conversion(rng).first
        return user, "", answer
    if kind == 4:
        task = rng.choice(tuple(CODE_TASKS))
        return (
            f"Write Python code to {task}.",
            "",
            f"```python\n{CODE_TASKS[task]['python']}\n```\n\n{CODE_TASKS[task]['note']}",
        )
    if kind == 5:
        concept = rng.choice(tuple(CONCEPTS))
        return f"Explain {concept} to a 10-year-old.", "", CONCEPTS[concept][1]
    if kind == 6:
        country = rng.choice(tuple(CAPITALS))
        return f"What is the capital of {country}?", "", f"The capital of {country} is {CAPITALS[country]}."
    if kind == 7:
        user, answer = _percent(rng).first
        return user, "", answer
    if kind == 8:
        task, query = rng.choice(SQL_TASKS)
        schema = "Tables: customers(id, country, created_at), orders(id, customer_id, total, created_at)"
        return f"Write a SQL query that {task}.", schema, f"```sql\n{query}\n```"
    if kind == 9:
        topic = _topic(rng, rng.choice(("support", "product")))
        customer = _decorate(rng, topic.first[0], topic.domain)
        return "Write a helpful reply to this customer message.", customer, topic.first[1]
    topic = rng.choice(tuple(TIPS))
    tips = TIPS[topic]
    return f"Give three tips for {topic}.", "", "\n".join(f"{i}. {t}" for i, t in enumerate(tips, 1))


def _unique_alpaca_item(ctx: _Ctx, rng: random.Random) -> tuple[str, str, str]:
    for _ in range(50):
        instruction, input_, output = _alpaca_item(rng)
        user = f"{instruction}\n\n{input_}" if input_ else instruction
        if ctx.claim([_msg("user", user), _msg("assistant", output)]):
            return instruction, input_, output
    raise RuntimeError("Alpaca template space exhausted; add slot values")


def _build_expert_alpaca(ctx: _Ctx, pools: _Pools) -> list[Any]:
    """~250 reviewed instruction items (a JSON array): high quality, few plants, Alpaca conventions."""
    rng = ctx.rng("expert_alpaca")
    rates = replace(RATES["expert"], non_english=0.0)
    items: list[Any] = []
    for _ in range(rng.randint(235, 255)):
        instruction, input_, output = _unique_alpaca_item(ctx, rng)
        if rng.random() < RATES["expert"].non_english:
            instruction, output = _non_english(ctx, rng)
            input_ = ""
        messages = _plant_content(ctx, rng, rates, [_msg("user", input_ or instruction), _msg("assistant", output)])
        if input_:
            input_ = messages[0]["content"]
        else:
            instruction = messages[0]["content"]
            if rng.random() < 0.02:
                input_ = "<noinput>"
                ctx.plant("placeholder_input")
        items.append(_alpaca_record(rng, instruction, input_, messages[1]["content"]))
    pools.expert_alpaca = [
        [_msg("user", it["instruction"]), _msg("assistant", it["output"])]
        for it in items
        if it["input"] == "" and isinstance(it["output"], str) and it["output"]
    ]
    for _, msgs in _contradiction_messages(ctx, EXPERT_ALPACA):
        items.insert(rng.randint(0, len(items)), _alpaca_record(rng, msgs[0]["content"], "", msgs[1]["content"]))

    def near() -> dict[str, Any]:
        user, answer = _near_duplicate_messages(rng, rng.choice(pools.expert_alpaca))
        return _alpaca_record(rng, user["content"], "", answer["content"])

    _add_duplicates(ctx, rng, items, near)
    for item in MALFORMED_LINES:
        if item.file == EXPERT_ALPACA:
            ctx.plant("malformed")
            ctx.plant(f"malformed:{item.kind}")
            if item.kind == "alpaca_missing_output":
                broken = _alpaca_record(rng, "Summarize the warranty terms in one sentence.", "", None)
                del broken["output"]
                items.insert(rng.randint(0, len(items)), broken)
            elif item.kind == "not_an_object_string":
                items.insert(rng.randint(0, len(items)), "text")
            else:
                raise ValueError(item.kind)

    def licensed(rng: random.Random, plant: PolicyPlant) -> dict[str, Any]:
        instruction, input_, output = _unique_alpaca_item(ctx, rng)
        record = _alpaca_record(rng, instruction, input_, output)
        return {**record, "reviewed": True, plant.field: plant.value}

    _insert_policy_plants(ctx, EXPERT_ALPACA, items, licensed)
    return items


def _build_expert_chat(ctx: _Ctx, pools: _Pools) -> list[Line]:
    rng = ctx.rng("expert_chat")
    chats = [
        _plant_content(ctx, rng, RATES["expert"], ctx.fresh(lambda: _chat(rng, system=0.7, max_exchanges=3)))
        for _ in range(rng.randint(190, 210))
    ]
    for domain, msgs in _contradiction_messages(ctx, EXPERT_CHAT):
        chats.insert(rng.randint(0, len(chats)), [_msg("system", SYSTEM_PROMPTS[domain][-1]), *msgs])
    pools.expert_chats = [c for c in chats if c[-1]["role"] == "assistant" and c[-1]["content"]]
    records = [_expert_chat_record(rng, c) for c in chats]
    _add_duplicates(
        ctx, rng, records, lambda: _expert_chat_record(rng, _near_duplicate_messages(rng, rng.choice(chats)))
    )
    lines: list[Line] = list(records)
    _insert_malformed(ctx, rng, EXPERT_CHAT, lines, records[0])

    def dated(rng: random.Random, plant: PolicyPlant) -> dict[str, Any]:
        record = _expert_chat_record(rng, ctx.fresh(lambda: _chat(rng, system=0.7, max_exchanges=3)))
        return {**record, "reviewed": True, plant.field: plant.value}

    _insert_policy_plants(ctx, EXPERT_CHAT, lines, dated)
    return lines


def _synthetic_chats(ctx: _Ctx, rng: random.Random, file: str, pools: _Pools, *, single_turn: bool) -> list[SynthChat]:
    """Teacher outputs: a little more eager in tone, more boilerplate, plus copies and contradictions."""
    chats: list[SynthChat] = []
    for _ in range(rng.randint(240, 370)):
        domain = _pick_domain(rng)
        msgs = ctx.fresh(
            lambda domain=domain: _chat(
                rng, system=0.0 if single_turn else 0.5, max_exchanges=1 if single_turn else 3, domain=domain
            )
        )
        if rng.random() < 0.25:
            msgs[-1]["content"] = rng.choice(("Certainly! ", "Sure! ", "Great question! ")) + msgs[-1]["content"]
        chats.append((PROMPT_TEMPLATES[domain], _plant_content(ctx, rng, RATES["synthetic"], msgs)))
    extra = [
        *_contradiction_messages(ctx, file),
        *((_domain_of(msgs), msgs) for msgs in pools.take(ctx, rng, file)),
    ]
    for domain, msgs in extra:
        chats.insert(rng.randint(0, len(chats)), (PROMPT_TEMPLATES[domain], msgs))
    return chats


def _add_synthetic_duplicates(
    ctx: _Ctx,
    rng: random.Random,
    records: list[dict[str, Any]],
    make: Callable[[SynthChat], dict[str, Any]],
    chats: list[SynthChat],
) -> None:
    def near() -> dict[str, Any]:
        template, msgs = rng.choice(chats)
        return make((template, _near_duplicate_messages(rng, msgs)))

    _add_duplicates(ctx, rng, records, near)


CHUNK_TAILS: tuple[str, ...] = (
    "...and that is the last step. After the restart the status light should turn solid green.",
    "3. Save the file and run it again.\n\nLet me know if the error is still there.",
    "So in short: yes, it works, but only on the 2.4 GHz band.",
    "...which is why the second approach is usually faster for large inputs.",
)
"""Tails of an answer that opened a ShareGPT chunk (FastChat's split_long_conversation cuts mid-chat)."""
FOLLOW_UPS: tuple[str, ...] = (
    "Thanks! And what about the second one?",
    "ok, one more question",
    "Can you make it shorter?",
    "Hello? Are you still there?",
)
"""Unanswered last user turns (a chat shared, or cut, before the answer came)."""
TURN_REPAIRS_PER_KIND = 5
"""ShareGPT rows of the GPT batch that get each turn-repair plant (chosen from its own random stream)."""


def _plant_turn_repairs(ctx: _Ctx, records: list[dict[str, Any]]) -> None:
    """Chunk artifacts of real ShareGPT dumps, only ever ADDED (a turn is never removed, so content plants stay):
    a leading gpt turn, a blank gpt turn (before the answer, or before the user re-asking), a trailing human turn.

    Candidates are multi-exchange chats without a system turn and not the first record (the malformed lines'
    template), so contradiction sides and cross-source copies (single exchanges) are left untouched.
    """
    rng = ctx.rng("turn_repairs")
    candidates = [
        i
        for i, record in enumerate(records)
        if i > 0
        and record["conversations"][0]["from"] != "system"
        and sum(m["from"] in ("human", "user") for m in record["conversations"]) >= 2
    ]
    for kind in ("leading_assistant", "blank_turn", "trailing_user"):
        for i in sorted(rng.sample(candidates, TURN_REPAIRS_PER_KIND)):
            turns = records[i]["conversations"]
            user = next(m["from"] for m in turns if m["from"] in ("human", "user"))
            assistant = next(m["from"] for m in turns if m["from"] not in ("human", "user", "system"))
            if kind == "leading_assistant":
                turns.insert(0, {"from": assistant, "value": rng.choice(CHUNK_TAILS)})
            elif kind == "trailing_user":
                turns.append({"from": user, "value": rng.choice(FOLLOW_UPS)})
            else:
                first_user = next(j for j, m in enumerate(turns) if m["from"] == user)
                blank = {"from": assistant, "value": rng.choice(("", " ", "\n"))}
                if rng.random() < 0.5:  # an empty first attempt, then the answer
                    turns.insert(first_user + 1, blank)
                else:  # the answer failed to render and the user asked again
                    turns[first_user + 1 : first_user + 1] = [blank, {"from": user, "value": FOLLOW_UPS[3]}]
            ctx.plant(f"turn_repair:{kind}")


def _build_synthetic_gpt(ctx: _Ctx, pools: _Pools) -> list[Line]:
    rng = ctx.rng("synthetic_gpt")
    chats = _synthetic_chats(ctx, rng, SYN_GPT, pools, single_turn=False)
    make = lambda c: _sharegpt_record(rng, c, _timestamp(rng, "2026-11-02"))  # noqa: E731
    records = [make(c) for c in chats]
    _plant_turn_repairs(ctx, records)
    _add_synthetic_duplicates(ctx, rng, records, make, chats)
    lines: list[Line] = list(records)
    _insert_malformed(ctx, rng, SYN_GPT, lines, records[0])
    _insert_blank_lines(ctx, rng, SYN_GPT, lines)
    return lines


def _build_synthetic_llama(ctx: _Ctx, pools: _Pools) -> list[Line]:
    rng = ctx.rng("synthetic_llama")
    chats = _synthetic_chats(ctx, rng, SYN_LLAMA, pools, single_turn=True)
    records = [_completion_record(c) for c in chats]
    _add_synthetic_duplicates(ctx, rng, records, _completion_record, chats)
    lines: list[Line] = list(records)
    _insert_malformed(ctx, rng, SYN_LLAMA, lines, records[0])
    return lines


def _build_synthetic_mixtral(ctx: _Ctx, pools: _Pools) -> list[dict[str, Any]]:
    """Parquet rows; malformed rows are the ones a typed column can still hold."""
    rng = ctx.rng("synthetic_mixtral")
    chats = _synthetic_chats(ctx, rng, SYN_MIXTRAL, pools, single_turn=False)
    rows = [_chat_batch_record(SYN_MIXTRAL, c) for c in chats]
    _add_synthetic_duplicates(ctx, rng, rows, lambda c: _chat_batch_record(SYN_MIXTRAL, c), chats)
    for item in MALFORMED_LINES:
        if item.file != SYN_MIXTRAL:
            continue
        ctx.plant("malformed")
        ctx.plant(f"malformed:{item.kind}")
        row = copy.deepcopy(rows[rng.randrange(len(rows))])
        if item.kind == "unknown_role":
            row["messages"].append(_msg("narrator", "The user closes the laptop."))
        elif item.kind == "null_content":
            for m in row["messages"]:
                if m["role"] == "assistant":
                    m["content"] = None
        elif item.kind == "empty_messages":
            row["messages"] = []
        else:
            raise ValueError(item.kind)
        rows.insert(rng.randint(0, len(rows)), row)

    def taught(rng: random.Random, plant: PolicyPlant) -> dict[str, Any]:
        domain = _pick_domain(rng)
        msgs = ctx.fresh(lambda: _chat(rng, system=0.5, max_exchanges=3, domain=domain))
        return {**_chat_batch_record(SYN_MIXTRAL, (PROMPT_TEMPLATES[domain], msgs)), plant.field: plant.value}

    _insert_policy_plants(ctx, SYN_MIXTRAL, rows, taught)
    return rows


def _build_synthetic_qwen(ctx: _Ctx, pools: _Pools) -> list[Line]:
    rng = ctx.rng("synthetic_qwen")
    chats = _synthetic_chats(ctx, rng, SYN_QWEN, pools, single_turn=False)
    records = [_chat_batch_record(SYN_QWEN, c) for c in chats]
    _add_synthetic_duplicates(ctx, rng, records, lambda c: _chat_batch_record(SYN_QWEN, c), chats)
    lines: list[Line] = list(records)
    _insert_malformed(ctx, rng, SYN_QWEN, lines, records[0])
    _insert_blank_lines(ctx, rng, SYN_QWEN, lines)
    return lines


def _degrade(rng: random.Random, answer: str) -> str:
    """The assistant's original answer that a user then corrected: verbose, cut off, vague or hedged."""
    kind = rng.randint(0, 4)
    if kind == 0:
        return f"Great question! {answer} I hope this helps! If you have any other questions, feel free to ask."
    if kind == 1:
        words = answer.split(" ")
        return " ".join(words[: max(3, len(words) * rng.randint(35, 65) // 100)])
    if kind == 2:
        return "You can find this information in our Help Center."
    if kind == 3 and "30 days" in answer:
        return answer.replace("30 days", "14 days")
    return "I'm not completely sure, but " + answer[0].lower() + answer[1:]


def _build_feedback(ctx: _Ctx, pools: _Pools) -> list[Line]:
    """User edits of assistant answers: messages end with the user turn; the edit is the ideal output."""
    rng = ctx.rng("feedback")
    users = [f"u-{_hex(rng, 8)}" for _ in range(250)]
    records: list[dict[str, Any]] = []
    chats: list[list[Message]] = []
    for _ in range(rng.randint(285, 315)):
        full = _plant_content(ctx, rng, RATES["feedback"], ctx.fresh(lambda: _chat(rng, system=0.6)))
        chats.append(full)
        records.append(_feedback_record(rng, full, users))
    _add_duplicates(
        ctx, rng, records, lambda: _feedback_record(rng, _near_duplicate_messages(rng, rng.choice(chats)), users)
    )
    lines: list[Line] = list(records)
    _insert_malformed(ctx, rng, FEEDBACK, lines, records[0])
    _insert_blank_lines(ctx, rng, FEEDBACK, lines)
    return lines


def _feedback_record(rng: random.Random, full: list[Message], users: list[str]) -> dict[str, Any]:
    *context, last = full
    edited = last["content"] if last["role"] == "assistant" else None
    original = _degrade(rng, edited) if edited else "I'm not sure."
    return {
        "messages": context if last["role"] == "assistant" else full,
        "original_response": original,
        "edited_response": edited,
        "user_id": rng.choice(users),
        "created_at": _timestamp(rng, f"2026-11-{rng.randint(1, 30):02d}"),
    }


# --------------------------------------------------------------------------------------------------
# Encoding and writing
# --------------------------------------------------------------------------------------------------


def _encode_jsonl(lines: list[Line], *, crlf: bool = False, bom: bool = False) -> bytes:
    end = b"\r\n" if crlf else b"\n"
    body = end.join(line if isinstance(line, bytes) else _dumps(line) for line in lines) + end
    return (b"\xef\xbb\xbf" if bom else b"") + body


def _gzip(data: bytes) -> bytes:
    """gzip with no name and mtime 0, so the header carries nothing machine- or time-dependent."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    schema = pa.schema(
        [("messages", pa.list_(message)), ("teacher_model", pa.string()), ("prompt_template", pa.string())]
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def count_records(relpath: str, data: bytes) -> int:
    """Non-blank lines (jsonl, jsonl.gz), array elements (json) or rows (parquet), as the pipeline counts."""
    if relpath.endswith(".parquet"):
        return pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
    if relpath.endswith(".json"):
        return len(json.loads(data))
    if relpath.endswith(".gz"):
        data = gzip.decompress(data)
    return sum(1 for line in data.split(b"\n") if line.strip())


@dataclass(frozen=True)
class SampleData:
    """The whole sample in memory: file bytes, record counts and planted-problem counts."""

    files: dict[str, bytes]
    counts: dict[str, int]
    planted: dict[str, int]


def build_sample(seed: int = DEFAULT_SEED) -> SampleData:
    """Build every file's bytes in memory (no I/O), deterministically from `seed`."""
    ctx, pools = _Ctx(seed), _Pools()
    expert_alpaca = _build_expert_alpaca(ctx, pools)
    expert_chat = _build_expert_chat(ctx, pools)
    logs = _build_logs(ctx, pools)
    files: dict[str, bytes] = {}
    for file, lines in logs.items():
        data = _encode_jsonl(lines, crlf=FILE_QUIRKS.get(file) == "crlf")
        files[file] = _gzip(data) if file.endswith(".gz") else data
    files[EXPERT_ALPACA] = json.dumps(expert_alpaca, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    files[EXPERT_CHAT] = _encode_jsonl(expert_chat)
    files[SYN_GPT] = _encode_jsonl(_build_synthetic_gpt(ctx, pools))
    files[SYN_LLAMA] = _encode_jsonl(_build_synthetic_llama(ctx, pools), bom=FILE_QUIRKS.get(SYN_LLAMA) == "utf8_bom")
    files[SYN_MIXTRAL] = _parquet(_build_synthetic_mixtral(ctx, pools))
    files[SYN_QWEN] = _gzip(_encode_jsonl(_build_synthetic_qwen(ctx, pools)))
    files[FEEDBACK] = _encode_jsonl(_build_feedback(ctx, pools))
    for quirk in FILE_QUIRKS.values():
        ctx.plant(f"file_quirk:{quirk}")
    files = {name: files[name] for name in OWNED_FILES}
    counts = {name: count_records(name, data) for name, data in files.items()}
    return SampleData(files, counts, dict(sorted(ctx.planted.items())))


def generate_sample(raw_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """(Re)write the sample raw data under `raw_dir`; return {relative path: records}.

    Everything is built in memory first, then only the files in OWNED_FILES are deleted and rewritten,
    so a rerun is idempotent and other files under `raw_dir` are left alone.
    """
    sample = build_sample(seed)
    raw_dir = Path(raw_dir)
    for name in OWNED_FILES:
        (raw_dir / name).unlink(missing_ok=True)
    for name, data in sample.files.items():
        write_bytes_atomically(raw_dir / name, data)
    return dict(sample.counts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the deterministic sample raw data.")
    parser.add_argument("outdir", type=Path, help="raw data directory, e.g. data/raw")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    counts = generate_sample(args.outdir, args.seed)
    for name, n in counts.items():
        print(f"{n:6d}  {name}")
    print(f"{sum(counts.values()):6d}  total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
