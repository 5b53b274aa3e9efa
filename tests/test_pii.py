"""PII detection and scrubbing: real-looking positives and tricky negatives for every type."""

import polars as pl
import pytest

from ftdata_assets.schema import MESSAGES
from ftdata_assets.transforms.pii import (
    ENTITY_TYPES,
    FINDINGS_SCHEMA,
    PII_COUNTS,
    detect,
    lexicon,
    scrub,
)


def found(text: str) -> list[tuple[str, str]]:
    """(entity_type, matched text) of every finding in one text."""
    f = detect(pl.Series([text]))
    return list(zip(f["entity_type"].to_list(), f["text"].to_list(), strict=True))


def found_of(text: str, entity_type: str) -> list[str]:
    return [t for ty, t in found(text) if ty == entity_type]


def assert_finds(entity_type: str, text: str, expected: str) -> None:
    hits = found_of(text, entity_type)
    assert expected in hits, f"{entity_type} {expected!r} not found in {text!r}; got {found(text)}"


def assert_none(entity_type: str, text: str) -> None:
    hits = found_of(text, entity_type)
    assert hits == [], f"unexpected {entity_type} {hits} in {text!r}"


# ------------------------------------------------------------------------------------------------------
# structure
# ------------------------------------------------------------------------------------------------------


def test_schema_sorting_and_offsets_are_python_char_offsets():
    texts = pl.Series(
        [
            "Café ☕ 日本語 😀😀 write to jürgen.müller@example.de or call +49 30 901820",
            None,
            "",
            "nothing to see here",
            "ÀÉÎ 🎉 Card 4111 1111 1111 1111, SSN 536-22-1234, IP 8.8.4.4",
        ]
    )
    f = detect(texts)
    assert f.schema == FINDINGS_SCHEMA
    assert f.sort(["row", "start"]).equals(f)
    assert set(f["row"].to_list()) == {0, 4}
    for row, start, end, text in f.select("row", "start", "end", "text").iter_rows():
        assert texts[row][start:end] == text
    row0 = f.filter(pl.col("row") == 0)
    email = row0.filter(pl.col("entity_type") == "EMAIL_ADDRESS").row(0, named=True)
    assert email["start"] == texts[0].index("jürgen")
    assert email["text"] == "jürgen.müller@example.de"
    row4 = f.filter(pl.col("row") == 4)
    assert row4["entity_type"].to_list() == ["CREDIT_CARD", "US_SSN", "IP_ADDRESS"]
    assert row4["start"].to_list()[0] == texts[4].index("4111")


def test_email_offset_after_emoji_and_cjk():
    text = "日本 😀 é mail: bob.smith@example.com!"
    f = detect(pl.Series([text]))
    row = f.filter(pl.col("entity_type") == "EMAIL_ADDRESS").row(0, named=True)
    assert (row["start"], row["end"]) == (text.index("bob"), text.index("!"))


def test_empty_and_null_inputs():
    assert detect(pl.Series([], dtype=pl.String)).schema == FINDINGS_SCHEMA
    assert detect(pl.Series([None, None], dtype=pl.String)).height == 0


def test_findings_never_overlap():
    texts = pl.Series(
        [
            "John.Smith@example.com, Dr. John Smith, 123 Main Street, Springfield, IL 62704",
            "postgres://admin:s3cr3tPass@db.example.com:5432/app",
        ]
    )
    f = detect(texts).sort(["row", "start"])
    prev = f.with_columns(prev_end=pl.col("end").shift(1).over("row"))
    assert prev.filter(pl.col("start") < pl.col("prev_end")).height == 0


def test_placeholders_are_not_findings():
    text = (
        "Dear <PERSON_1>, mail <EMAIL_ADDRESS_2> or call <PHONE_NUMBER_1>. password=<SECRET_1> "
        "postgres://app:<SECRET_2>@<IP_ADDRESS_1>:5432 lives at <LOCATION_1>. Thanks, <PERSON_2>"
    )
    assert found(text) == []


def test_lexicon_ships_with_the_package():
    lex = lexicon()
    assert lex.height > 50_000
    flags = {r["low"]: r for r in lex.filter(pl.col("low").is_in(["sarah", "will", "eric"])).iter_rows(named=True)}
    assert flags["sarah"]["F"] and not flags["sarah"]["C"]
    assert flags["will"]["F"] and flags["will"]["C"]  # a name that is a common word
    assert flags["eric"]["F"] and not flags["eric"]["C"]


# ------------------------------------------------------------------------------------------------------
# EMAIL_ADDRESS
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("reach me at john.smith@example.com thanks", "john.smith@example.com"),
        ("cc: a.b+newsletter@mail.sub.example.co.uk", "a.b+newsletter@mail.sub.example.co.uk"),
        ("Mail: SARAH_O@Company.IO.", "SARAH_O@Company.IO"),
    ],
)
def test_email_positive(text, email):
    assert_finds("EMAIL_ADDRESS", text, email)


@pytest.mark.parametrize(
    "text",
    [
        "use the icon@2x.png asset",
        "ping @channel and @here",
        "ssh user@localhost",
        "pip install pkg@1.2.3",
        "decorate with @property",
    ],
)
def test_email_negative(text):
    assert_none("EMAIL_ADDRESS", text)


# ------------------------------------------------------------------------------------------------------
# PHONE_NUMBER
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Call me at (415) 555-2671.", "(415) 555-2671"),
        ("my cell is 415-867-5309", "415-867-5309"),
        ("office 212.555.0199 ext 4", "212.555.0199 ext 4"),  # the extension is part of the number
        ("US: +1 646 555 3890", "+1 646 555 3890"),
        ("UK mobile +44 7700 900123 or landline 020 7946 0958", "+44 7700 900123"),
        ("UK mobile +44 7700 900123 or landline 020 7946 0958", "020 7946 0958"),
        ("Berlin office: +49 (0)30 12345678", "+49 (0)30 12345678"),
        ("Paris: 01 42 68 53 00", "01 42 68 53 00"),
        ("India +91 98765 43210", "+91 98765 43210"),
        ("text me on 4155552671 after 5", "4155552671"),
    ],
)
def test_phone_positive(text, phone):
    assert_finds("PHONE_NUMBER", text, phone)


@pytest.mark.parametrize(
    "text",
    [
        "The contract runs from 2024-01-15 to 2026-03-31.",
        "Due 01/02/2024 or 15.03.2023.",
        "ISBN 0-306-40615-2 is the first edition.",
        "ISBN 978-3-16-148410-0",
        "Order #4155552671 was refunded.",
        "Tracking ID 4155552671, carrier UPS.",
        "It costs $1,234.56 per month.",
        "We pinned version 1.2.3.4 of the driver.",
        "Reference 4575 0707 6362 3608 was rejected.",
        "Meeting at 12:30:45.",
        "Revenue grew to $1,234,567.89 in Q3.",
    ],
)
def test_phone_negative(text):
    assert_none("PHONE_NUMBER", text)


# ------------------------------------------------------------------------------------------------------
# CREDIT_CARD
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "card"),
    [
        ("Card: 4111 1111 1111 1111 exp 04/27", "4111 1111 1111 1111"),
        ("mastercard 5500-0000-0000-0004", "5500-0000-0000-0004"),
        ("amex 3782 822463 10005", "3782 822463 10005"),
        ("discover 6011000990139424.", "6011000990139424"),
        ("pay with 4012888888881881 please", "4012888888881881"),
    ],
)
def test_card_positive(text, card):
    assert_finds("CREDIT_CARD", text, card)


@pytest.mark.parametrize(
    "text",
    [
        "Invoice 4111 1111 1111 1112 is overdue.",  # Luhn failure
        "order number 1234567812345678",  # 16-digit order number, fails Luhn
        "Your order number is 5500000000000005.",  # Luhn failure
        "ISBN 978-0-306-40615-7",
        "timestamp 1700000000000 ms",
        "tracking 1234 5678 9012 3452",  # passes Luhn, but no card issuer starts with 1
        "IMEI 356938035643809",  # Luhn-valid 15 digits, not a card length for its prefix
    ],
)
def test_card_negative(text):
    assert_none("CREDIT_CARD", text)


# ------------------------------------------------------------------------------------------------------
# IBAN_CODE
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iban"),
    [
        ("IBAN DE89 3704 0044 0532 0130 00 (EUR)", "DE89 3704 0044 0532 0130 00"),
        ("wire to DE89370400440532013000.", "DE89370400440532013000"),
        ("GB29 NWBK 6016 1331 9268 19 EUR please", "GB29 NWBK 6016 1331 9268 19"),
        ("FR1420041010050500013M02606", "FR1420041010050500013M02606"),
    ],
)
def test_iban_positive(text, iban):
    assert_finds("IBAN_CODE", text, iban)


@pytest.mark.parametrize(
    "text",
    [
        "IBAN DE88 3704 0044 0532 0130 00",  # mod-97 failure
        "DE89 3704 0044 0532 0130",  # too short for DE
        "ZZ12 3456 7890 1234 5678",  # no such country
    ],
)
def test_iban_negative(text):
    assert_none("IBAN_CODE", text)


# ------------------------------------------------------------------------------------------------------
# US_SSN
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ssn"),
    [
        ("My SSN is 536-22-1234.", "536-22-1234"),
        ("ssn 536 22 1234", "536 22 1234"),
        ("social security number: 536221234", "536221234"),
    ],
)
def test_ssn_positive(text, ssn):
    assert_finds("US_SSN", text, ssn)


@pytest.mark.parametrize(
    "text",
    [
        "SSN 000-12-3456",  # area 000
        "SSN 666-12-3456",  # area 666
        "SSN 912-12-3456",  # area 9xx
        "SSN 536-00-1234",  # group 00
        "SSN 536-22-0000",  # serial 0000
        "SSN 123-45-6789",  # the well-known example number
        "part 536221234 is in stock",  # nine digits without an SSN word
        "call 415-555-2671",
        "serial 1-536-22-1234-7",
    ],
)
def test_ssn_negative(text):
    assert_none("US_SSN", text)


# ------------------------------------------------------------------------------------------------------
# IP_ADDRESS
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ip"),
    [
        ("server at 8.8.4.4 is down", "8.8.4.4"),
        ("open http://192.168.1.10:8080/admin", "192.168.1.10"),
        ("whitelist 2001:db8:85a3::8a2e:370:7334 please", "2001:db8:85a3::8a2e:370:7334"),
        ("connect to [2001:db8::1]:8080", "2001:db8::1"),
        ("loopback ::1 only", "::1"),
        ("fe80:0:0:0:202:b3ff:fe1e:8329 is link-local", "fe80:0:0:0:202:b3ff:fe1e:8329"),
    ],
)
def test_ip_positive(text, ip):
    assert_finds("IP_ADDRESS", text, ip)


@pytest.mark.parametrize(
    "text",
    [
        "We pinned version 1.2.3.4 of the driver.",
        "Upgrade to v10.0.0.1 before Friday.",
        "Firmware 2.1.0.255 fixes it.",
        "OID 1.3.6.1.4.1 is private.",
        "256.1.1.1 is not an address",
        "01.02.03.04 has leading zeros",
        "Meeting at 12:30:45.",
        "MAC 00:1A:2B:3C:4D:5E is blocked",
        "use std::vector and a::b",
        "Section 4.2.1.3 describes it.",
    ],
)
def test_ip_negative(text):
    assert_none("IP_ADDRESS", text)


# ------------------------------------------------------------------------------------------------------
# SECRET
# ------------------------------------------------------------------------------------------------------

PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4UbaDzY5xjW8hL3T5hQ\nb1k6Ez0Lw3kq9aH7cXr2\n"
    "-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("token ghp_1234567890abcdefghijABCDEFGHIJ123456 leaked", "ghp_1234567890abcdefghijABCDEFGHIJ123456"),
        (
            "slack xoxb-12345678901-123456789012-AbCdEfGhIjKlMnOpQrStUvWx",
            "xoxb-12345678901-123456789012-AbCdEfGhIjKlMnOpQrStUvWx",
        ),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
        ("OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"),
        ("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"),
        ("google AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
        (f"my key:\n{PRIVATE_KEY}\nwhy?", PRIVATE_KEY),
        ("password=hunter22 in the config", "hunter22"),
        ("PGPASSWORD=3#EFe7eVaiZCr psql", "3#EFe7eVaiZCr"),
        ('{"api_key": "9f8e7d6c5b4a39281706f5e4d3c2b1a0"}', "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
        ("DB_URL=postgres://admin:S3cr3tPass@db.internal:5432/app", "S3cr3tPass"),
        ("mongodb+srv://svc:pa55w0rd@cluster0.example.net", "pa55w0rd"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz0123456789"),
        ("my password is Tr0ub4dor&3!", "Tr0ub4dor&3"),
        ("mysql --password=s3cr3t -u root", "s3cr3t"),
    ],
)
def test_secret_positive(text, secret):
    assert_finds("SECRET", text, secret)


@pytest.mark.parametrize(
    "text",
    [
        "Set password: str in the schema.",
        "max_tokens=4096 and token_count: 512",
        "password=${DB_PASSWORD}",
        "Use os.environ['DB_PASSWORD'] instead.",
        "password = getpass()",
        "Password must be at least 12 characters long.",
        "my password is too long",
        "bypass=1",
        "Basic authentication is disabled.",
        "pip install scikit-learn; sk-learn is a typo",
        "api_key: <your key here>",
        "password: ********",
    ],
)
def test_secret_negative(text):
    assert_none("SECRET", text)


# ------------------------------------------------------------------------------------------------------
# PERSON
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi, my name is Sarah Johnson and I need help.", "Sarah Johnson"),
        ("Dear Priya,\nthanks for the update.", "Priya"),
        ("Please forward this to Tomasz Kowalczyk before noon.", "Tomasz Kowalczyk"),
        ("Thanks for your help!\nBest regards,\nMaría García", "María García"),
        ("Mr. Okafor will join the call.", "Okafor"),
        ("Ask Oluwaseun about the migration plan.", "Oluwaseun"),  # not in the lexicon
        ("I'm Kaveh Rostami, the new project lead.", "Kaveh Rostami"),  # neither name in the lexicon
        ("Will Smith said the invoice was paid.", "Will Smith"),  # a first name that is a common word
        ("Name: Levi Schmidt\nAccount type: premium", "Levi Schmidt"),
        ("Maria de la Cruz signed the lease.", "Maria de la Cruz"),
        ("John F. Kennedy gave the speech.", "John F. Kennedy"),
        ("Jack's laptop is broken again.", "Jack"),
        ("See you tomorrow!\n- Tahmina", "Tahmina"),
        ("I spoke with Norman yesterday about the refund.", "Norman"),
        ("Meeting notes: Anna Kowalski and Ben Carter agreed.", "Ben Carter"),
    ],
)
def test_person_positive(text, name):
    assert_finds("PERSON", text, name)


@pytest.mark.parametrize(
    "text",
    [
        "Will you mark this ticket as done?",
        "Grant read access to the bucket and bill the client later.",
        "I hope the summer sale starts in June.",
        "Mark the rows that have a null value.",
        "Bill me at the end of the month.",
        "Hope this helps!",
        "Dear Customer, thank you for your order.",
        "Hi Team, the build is green.",
        "I flew to Paris and then to Florence last spring.",
        "We have offices in Austin, Charlotte and London.",
        "New York and San Francisco offices will close early on Friday.",
        "I upgraded to Python 3.12 and moved the repo to GitHub.",
        "The Johnson & Johnson vaccine was approved.",
        "Is Morgan Stanley a good place to work?",
        "The quarterly report is due on Friday.",
        "Top 10 Tips for Better Sleep",
        "API keys and PERSON placeholders are not names.",
    ],
)
def test_person_negative(text):
    assert_none("PERSON", text)


# ------------------------------------------------------------------------------------------------------
# LOCATION
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "Ship it to 1600 Pennsylvania Avenue NW, Washington, DC 20500.",
            "1600 Pennsylvania Avenue NW, Washington, DC 20500",
        ),
        ("I live at 123 Main Street, Apt 4B, Springfield, IL 62704", "123 Main Street, Apt 4B, Springfield, IL 62704"),
        ("office: 350 5th Ave, New York, NY 10118", "350 5th Ave, New York, NY 10118"),
        ("221B Baker Street, London NW1 6XE", "221B Baker Street, London NW1 6XE"),
        ("We moved to Flat 3, 14 Kings Road, Manchester M1 2AB", "Flat 3, 14 Kings Road, Manchester M1 2AB"),
        ("Send it to 42 Elm St. please", "42 Elm St."),
        ("Meine Adresse: Hauptstraße 5, 10115 Berlin", "Hauptstraße 5, 10115 Berlin"),
        ("Mail to P.O. Box 1234, Austin, TX 78701", "P.O. Box 1234, Austin, TX 78701"),
        ("12 rue de la Paix, 75002 Paris", "12 rue de la Paix, 75002 Paris"),
    ],
)
def test_location_positive(text, address):
    assert_finds("LOCATION", text, address)


@pytest.mark.parametrize(
    "text",
    [
        "Top 10 Tips for Better Sleep",
        "Room 101 is on the 3rd floor.",
        "He scored 3 goals in the 2nd half.",
        "I upgraded to Python 3.12 yesterday.",
        "Order 5 Main courses for the table",
        "Spring 2024 release notes",
    ],
)
def test_location_negative(text):
    assert_none("LOCATION", text)


# ------------------------------------------------------------------------------------------------------
# scrub
# ------------------------------------------------------------------------------------------------------


def conversations(rows: list[tuple[str, list[tuple[str, str]]]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "example_id": [r[0] for r in rows],
            "messages": [[{"role": role, "content": content} for role, content in r[1]] for r in rows],
        },
        schema={"example_id": pl.String, "messages": MESSAGES},
    )


def contents(frame: pl.DataFrame, i: int) -> list[str]:
    return [m["content"] for m in frame["messages"][i]]


def test_scrub_same_value_same_placeholder_and_numbering_per_conversation():
    frame = conversations(
        [
            (
                "a",
                [
                    ("user", "Hi, I'm Sarah Johnson, mail me at sarah@example.com or bob@example.org."),
                    ("assistant", "Sure Sarah Johnson, I will write to SARAH@example.com."),
                ],
            ),
            ("b", [("user", "My email is bob@example.org, call +1 415 555 2671")]),
        ]
    )
    out = scrub(frame)
    a = contents(out, 0)
    assert a[0] == "Hi, I'm <PERSON_1>, mail me at <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>."
    assert a[1] == "Sure <PERSON_1>, I will write to <EMAIL_ADDRESS_1>."  # same value, case-insensitive
    b = contents(out, 1)
    assert b[0] == "My email is <EMAIL_ADDRESS_1>, call <PHONE_NUMBER_1>"  # numbering restarts
    assert out.schema["pii_counts"] == PII_COUNTS
    counts = out["pii_counts"].to_list()
    assert counts[0]["EMAIL_ADDRESS"] == 3 and counts[0]["PERSON"] == 2
    assert counts[1] == {t: int(t in ("EMAIL_ADDRESS", "PHONE_NUMBER")) for t in ENTITY_TYPES}
    assert out.columns == [*frame.columns, "pii_counts"]
    assert [m["role"] for m in out["messages"][0]] == ["user", "assistant"]


def test_scrub_rows_sharing_a_conversation_key_share_numbering():
    frame = conversations(
        [
            ("c1", [("user", "Email ann@example.com")]),
            ("c1", [("user", "And joe@example.com, and again ann@example.com")]),
        ]
    )
    out = scrub(frame)
    assert contents(out, 0) == ["Email <EMAIL_ADDRESS_1>"]
    assert contents(out, 1) == ["And <EMAIL_ADDRESS_2>, and again <EMAIL_ADDRESS_1>"]


def test_scrub_leaves_clean_rows_and_handles_empty_and_null():
    frame = conversations(
        [
            ("x", [("user", "What is a tuple?"), ("assistant", "An immutable sequence.")]),
            ("y", []),
            (None, [("user", "ip 8.8.8.8")]),
        ]
    )
    out = scrub(frame)
    assert out["messages"][0].to_list() == frame["messages"][0].to_list()
    assert out["messages"][1].to_list() == []
    assert contents(out, 2) == ["ip <IP_ADDRESS_1>"]
    assert out["pii_counts"][0] == dict.fromkeys(ENTITY_TYPES, 0)


def test_scrub_also_scrubs_original_response():
    frame = conversations([("f", [("user", "Reply to Sarah Johnson"), ("assistant", "Done")])]).with_columns(
        original_response=pl.lit("I emailed Sarah Johnson at sarah@example.com")
    )
    out = scrub(frame)
    assert out["original_response"][0] == "I emailed <PERSON_1> at <EMAIL_ADDRESS_1>"
    assert contents(out, 0)[0] == "Reply to <PERSON_1>"


SCRUB_CORPUS = [
    "Hi, my name is Sarah Johnson. Call me at (415) 555-2671 or +44 20 7946 0958.",
    "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, SSN 536-22-1234.",
    "Servers 10.0.0.1 and 2001:db8::1; key AKIAIOSFODNN7EXAMPLE; password=hunter22",
    "postgres://admin:S3cr3tPass@db.internal:5432/app and Bearer abcdefghijklmnopqrstuvwxyz0123",
    "Ship to 123 Main Street, Apt 4B, Springfield, IL 62704 for Dr. Okafor.",
    f"{PRIVATE_KEY}\nThanks,\nPriya",
    "Dear Tomasz Kowalczyk, Maria de la Cruz and Mr. O'Brien asked Kaveh about 221B Baker Street, London NW1 6XE",
    "日本 😀 write jürgen.müller@example.de — Grüße, Jürgen Müller",
]


def test_detect_finds_nothing_in_scrubbed_output():
    frame = conversations([(str(i), [("user", t), ("assistant", t.upper())]) for i, t in enumerate(SCRUB_CORPUS)])
    out = scrub(frame)
    texts = out.select(pl.col("messages").list.eval(pl.element().struct.field("content"))).explode("messages")
    leftover = detect(texts["messages"])
    assert leftover.height == 0, leftover
    assert out["pii_counts"].struct.unnest().sum_horizontal().min() > 0


def test_allow_list_keeps_brand_names_that_read_like_people() -> None:
    texts = pl.Series(["You are Lumora's support assistant. Ask Priya Raman about the Lumora Cam Mini."])
    plain = detect(texts)
    assert "Lumora" in plain["text"].to_list()
    allowed = detect(texts, allow_list=["lumora"])
    assert allowed.filter(pl.col("text").str.contains("Lumora")).height == 0
    assert "Priya Raman" in allowed["text"].to_list()
    frame = pl.DataFrame(
        {"example_id": ["e"], "messages": [[{"role": "user", "content": texts[0]}]]},
    )
    content = scrub(frame, allow_list=["Lumora"])["messages"][0][0]["content"]
    assert content.startswith("You are Lumora's support assistant. Ask <PERSON_1>")


def _varied_texts(n: int) -> list[str | None]:
    """Texts of every entity type, lengths and scripts, with nulls and empties, in a fixed order."""
    pieces = [
        "- Sarah Connor said the build is done",
        "Dear Mr. John Smith, your card 4111 1111 1111 1111 was charged.",
        "mail jürgen.müller@example.de or call +49 30 901820 😀",
        "SSN 536-22-1234, IP 8.8.4.4, IBAN GB82 WEST 1234 5698 7654 32",
        "ship to 123 Main Street, Springfield, IL 62704 please",
        "password=hunter2xyz and token ghp_" + "a" * 36,
        "Ludwig van Beethoven met J. R. Tolkien in Paris",
        "nothing to see here",
        "Café ☕ 日本語 Thanks, Maria de la Cruz",
        "order 4111111111111111 shipped",
    ]
    out: list[str | None] = []
    for i in range(n):
        if i % 37 == 5:
            out.append(None)
        elif i % 41 == 7:
            out.append("")
        else:
            out.append(" ".join(pieces[(i + j) % len(pieces)] for j in range(1 + i % 3)))
    return out


@pytest.mark.parametrize("batch_chars", [1, 700, 4096])
def test_batching_gives_the_same_findings(batch_chars):
    texts = pl.Series(_varied_texts(200))
    whole = detect(texts, batch_chars=10**12)
    assert whole["row"].n_unique() > 150 and whole["entity_type"].n_unique() == len(ENTITY_TYPES)
    assert detect(texts, batch_chars=batch_chars).equals(whole)


def test_batching_keeps_row_offsets_at_batch_starts():
    # texts opening later batches keep their own rows; a dash opening a text is a signature wherever the
    # text sits in the input (it used to count only for the input's very first text)
    texts = pl.Series(["Hello there", "- Oluwaseun", "call +1 415-555-2671", "- Oluwaseun", "x - Oluwaseun"])
    whole = detect(texts, batch_chars=10**12)
    assert whole.select("row", "entity_type").rows() == [(1, "PERSON"), (2, "PHONE_NUMBER"), (3, "PERSON")]
    assert detect(texts, batch_chars=11).equals(whole)
    assert detect(texts[1:], batch_chars=11)["row"].to_list() == [0, 1, 2]
    for text in texts.to_list():  # a text's findings do not depend on the texts around it
        alone = detect(pl.Series([text])).drop("row")
        assert alone.equals(whole.filter(pl.col("text").is_in(alone["text"].implode())).head(alone.height).drop("row"))


def test_scrub_does_not_depend_on_the_batch_size(monkeypatch):
    from ftdata_assets.transforms.pii import detector as pii_detector

    texts = [t or "hi" for t in _varied_texts(120)]
    frame = pl.DataFrame(
        {
            "example_id": [f"e{i // 2}" for i in range(len(texts))],
            "messages": [[{"role": "user", "content": t}, {"role": "assistant", "content": t[::-1]}] for t in texts],
        },
        schema_overrides={"messages": MESSAGES},
    )
    whole = scrub(frame)
    monkeypatch.setattr(pii_detector, "BATCH_CHARS", 300)
    assert scrub(frame).equals(whole)


def test_detect_reports_progress_once_per_batch():
    calls = []
    texts = pl.Series(_varied_texts(60))
    found = detect(texts, batch_chars=500, progress=lambda done, total: calls.append((done, total)))
    total = calls[-1][1]
    assert total > 3 and calls == [(i, total) for i in range(1, total + 1)]
    assert found.equals(detect(texts))


def test_repeated_texts_are_scanned_once_and_every_repeat_gets_the_findings():
    varied = _varied_texts(40)
    texts = pl.Series([varied[i % 13] for i in range(120)] + [None, ""] + varied)
    found = detect(texts, batch_chars=600)
    one_by_one = pl.concat(
        [detect(pl.Series([t], dtype=pl.String)).with_columns(row=pl.lit(i, pl.UInt32)) for i, t in enumerate(texts)]
    )
    assert found.height > 100 and found.equals(one_by_one.sort(["row", "start"]))


def _conversation_frame(turns: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "example_id": [f"e{i}" for i in range(len(turns))],
            "conversation_id": ["c0"] * len(turns),
            "messages": [
                [{"role": r, "content": c} for r, c in zip(["user", "assistant"], t, strict=False)] for t in turns
            ],
            "original_response": [None] * len(turns),
        },
        schema_overrides={"messages": MESSAGES, "original_response": pl.String},
    )


def test_continued_numbering_starts_after_the_placeholders_a_conversation_has():
    frame = _conversation_frame([["I am <PERSON_1>, mail <EMAIL_ADDRESS_3>", "Hi"], ["Ask Maria Garcia", "Sure"]])
    out = scrub(frame, conversation_key="conversation_id", continue_numbering=True)
    assert out["messages"][1][0]["content"] == "Ask <PERSON_2>"
    assert scrub(frame, conversation_key="conversation_id")["messages"][1][0]["content"] == "Ask <PERSON_1>"


def test_a_repair_that_reveals_pii_is_scrubbed_again_and_counted():
    from ftdata_assets.transforms.pii_report import leftover_findings, rescrub_changed

    before = scrub(
        _conversation_frame(
            [
                ["Ship to Jane Miller please", "Noted, the order goes to LucÃ\xada Mendoza."],
                ["Thanks", "You're welcome!"],
            ]
        ),
        conversation_key="conversation_id",
    )
    assert before["messages"][0][0]["content"] == "Ship to <PERSON_1> please"
    assert leftover_findings(before).height == 0  # the mis-decoded name is not readable as a name
    repaired = before.with_columns(
        messages=pl.when(pl.col("example_id") == "e0")
        .then(
            pl.col("messages").list.eval(
                pl.element().struct.with_fields(
                    content=pl.element().struct.field("content").str.replace("LucÃ\xada", "Lucía", literal=True)
                )
            )
        )
        .otherwise(pl.col("messages"))
    )
    assert leftover_findings(repaired).height == 1
    out, added = rescrub_changed(before, repaired)
    assert added == 1 and leftover_findings(out).height == 0
    assert out["messages"][0][1]["content"] == "Noted, the order goes to <PERSON_2>."
    assert out["pii_counts"][0]["PERSON"] == 2 and out.row(1) == repaired.row(1)
    assert rescrub_changed(before, before) == (before, 0)
    with pytest.raises(ValueError, match="same rows"):
        rescrub_changed(before, repaired.reverse())
