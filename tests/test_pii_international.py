"""PHONE_NUMBER, CREDIT_CARD and IBAN_CODE on the formats of many countries, and the numbers that only look
like them (order numbers, ISBNs, dates, versions, prices, tracking ids, timestamps, amounts)."""

import functools

import polars as pl
import pytest
from stdnum import luhn

from ftdata_assets.transforms.pii import detect


def with_check_digit(partial: str) -> str:
    """A Luhn-valid number from its first digits (stdnum computes the check digit)."""
    digits = partial.replace(" ", "")
    return partial + luhn.calc_check_digit(digits)


# (country, sentence, the value that must be found exactly)
PHONES = [
    ("BE", "Bel me op 0490 75 40 81 na vijf uur.", "0490 75 40 81"),
    ("BE", "Standard: +32 2 555 12 34", "+32 2 555 12 34"),
    ("LT", "Tel. (37) 788-063, darbo dienomis", "(37) 788-063"),
    ("ES", "Mi móvil es 699 956 915, llámame.", "699 956 915"),
    ("ES", "número: 91 234 56 78", "91 234 56 78"),
    ("ES", "Oficina +34 912 345 678", "+34 912 345 678"),
    ("SE", "Ring +46 (0)8 928 123 45 om det brådskar", "+46 (0)8 928 123 45"),
    ("US", "Call 345-899-3560x4587 and ask for billing.", "345-899-3560x4587"),
    ("US", "Phone: 467 3395", "467 3395"),
    ("US", "call me back at 978-7088 please", "978-7088"),  # 978 is not always an ISBN
    ("US", "The refund policy changed. Phone: 984-5520", "984-5520"),  # the phone word is nearer than the label
    ("US", "my cell is (415) 555-2671", "(415) 555-2671"),
    ("US", "Reach the desk at +1-780-563-6083x7783.", "+1-780-563-6083x7783"),
    ("US", "From abroad dial 001-467-560-7156", "001-467-560-7156"),
    ("US", "fax 206.269.0743", "206.269.0743"),
    ("GB", "Our London office is on 020 7946 0958.", "020 7946 0958"),
    ("GB", "Text me on 07700 900123", "07700 900123"),
    ("GB", "Switchboard +44 (0)121 496 0000", "+44 (0)121 496 0000"),
    ("GB", "call +44115 496 0777 before noon", "+44115 496 0777"),
    ("DE", "Telefon: 030 1234567", "030 1234567"),
    ("DE", "Rufen Sie uns an: +49 (0) 9141 777631", "+49 (0) 9141 777631"),
    ("DE", "Mobil 0151 23456789, abends", "0151 23456789"),
    ("DE", "Zentrale 089/12345678", "089/12345678"),
    ("FR", "téléphone : 01 42 68 53 00", "01 42 68 53 00"),
    ("FR", "Appelez le +33 6 12 34 56 78 demain", "+33 6 12 34 56 78"),
    ("FR", "mon portable 07 88 35 33 74", "07 88 35 33 74"),
    ("IT", "telefono 333 1234567", "333 1234567"),
    ("IT", "Chiamami al +39 0925141776", "+39 0925141776"),
    ("IT", "ufficio di Roma: 06 6982 1234", "06 6982 1234"),
    ("BR", "Meu celular: (11) 91234-5678", "(11) 91234-5678"),
    ("BR", "ligue para +55 61 9141-7776", "+55 61 9141-7776"),
    ("NL", "Bel 06 12345678 voor een afspraak", "06 12345678"),
    ("NL", "kantoor +31 20 123 4567", "+31 20 123 4567"),
    ("NL", "telefoon 020-1234567", "020-1234567"),
    ("PL", "Mój numer to 512 345 678", "512 345 678"),
    ("PL", "Biuro: +48 22 123 45 67", "+48 22 123 45 67"),
    ("JP", "電話 090-1234-5678", "090-1234-5678"),
    ("JP", "本社 03-1234-5678 までご連絡ください", "03-1234-5678"),
    ("JP", "Tokyo office +81 3-1234-5678", "+81 3-1234-5678"),
    ("CN", "我的手机 +86 138 0013 8000", "+86 138 0013 8000"),
    ("IN", "India +91 98765 43210", "+91 98765 43210"),
    ("KR", "전화 010-1234-5678", "010-1234-5678"),
    ("AU", "mobile 0412 345 678", "0412 345 678"),
    ("CH", "Zürich: 044 668 18 00", "044 668 18 00"),
    ("FI", "puhelin 040 123 4567", "040 123 4567"),
    ("DK", "ring på +45 32 12 34 56", "+45 32 12 34 56"),
    # numbers as exports, forms and logs hold them: CSV fields, JSON values, key=value, glued labels
    ("DE", "id,name,phone\n17,Jana Novak,030 1234567\n", "030 1234567"),
    ("DE", "Jana Novak,0301234567,42,Berlin", "0301234567"),
    ("FR", '{"name": "Luc Martin", "phone": "06 12 34 56 78"}', "06 12 34 56 78"),
    ("DE", "2024-05-12 10:31:02 INFO sms delivered msisdn=4917612345678 id=42", "4917612345678"),
    ("DE", "Tel.030 1234567, Fax 030 1234568", "030 1234567"),
    ("US", "Phone #: (415) 555-2671", "(415) 555-2671"),
    ("US", "Jane Roe | 8016602260 | Denver", "8016602260"),
    ("US", "office (555)-234-5678", "(555)-234-5678"),
    ("GB", "Kind regards\nTom Hale\nT: 0161 496 0000\nM: 07700 900123", "07700 900123"),
    ("RO", "Numere de încercat:\n1. 0712 034 567\n2. 0722 123 456", "0712 034 567"),
    ("PT", "Contacto: (+351) 912 345 678", "(+351) 912 345 678"),
    ("FR", "Tél. 01\u00a042\u00a068\u00a053\u00a000", "01\u00a042\u00a068\u00a053\u00a000"),
    ("LT", "Tel. (0-312) 34567", "(0-312) 34567"),
    ("IN", "Ravi Kumar, 98765 43210", "98765 43210"),
    ("RU", "тел. 8 (912) 345-67-89", "8 (912) 345-67-89"),
    ("MX", "Cel: 55 1234 5678", "55 1234 5678"),
    ("GR", "☎ 210 1234567", "210 1234567"),
    ("SG", "Tel: 0065 6123 4567", "0065 6123 4567"),
    ("CN", "联系电话：138 0013 8000", "138 0013 8000"),
]

CARDS = [
    ("JCB 15", "Karte: 2131 6205 1017 490", "2131 6205 1017 490"),
    ("JCB 15", "card 180010988318185 on file", "180010988318185"),
    ("JCB 16", "paid with 3562 6998 7262 2173", "3562 6998 7262 2173"),
    ("Maestro 12", "tarjeta 060416073314", "060416073314"),
    ("Maestro 12", "Maestro 5643 3422 9049", "5643 3422 9049"),
    (
        "Maestro 19",
        "debit card " + with_check_digit("6759 6498 2643 8453 16"),
        with_check_digit("6759 6498 2643 8453 16"),
    ),
    ("Visa", "Visa 4111 1111 1111 1111 exp 12/27", "4111 1111 1111 1111"),
    ("Visa 19", "carte 4494205552667869816", "4494205552667869816"),
    ("Amex", "Amex 3782 822463 10005", "3782 822463 10005"),
    ("Mastercard", "charge 2223-0031-2200-3222 please", "2223-0031-2200-3222"),
    ("Discover", "Discover 6011 1111 1111 1117", "6011 1111 1111 1117"),
    ("UnionPay", "银行卡 6200000000000005", "6200000000000005"),
    ("Diners", "Diners 3056 930902 5904", "3056 930902 5904"),
    ("Mir", "карта " + with_check_digit("2200 1234 5678 901"), with_check_digit("2200 1234 5678 901")),
    ("other issuer", "Kreditkarte " + with_check_digit("7012 3456 7890 123"), with_check_digit("7012 3456 7890 123")),
    # the labels people put before them, and what follows them on the same line
    ("Visa", "CC# 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("Mastercard", "Card #5500 0000 0000 0004 on file", "5500 0000 0000 0004"),
    ("Visa", "4111111111111111 12/27 123", "4111111111111111"),
    ("Amex", '{"card": "3782 822463 10005", "exp": "04/27"}', "3782 822463 10005"),
    ("Mastercard", "Jane Roe,5555555555554444,04/27,123", "5555555555554444"),
    ("Visa", "charge failed card_number=4012888888881881 code=51", "4012888888881881"),
]

IBANS = [
    ("DE", "IBAN: de89 3704 0044 0532 0130 00", "de89 3704 0044 0532 0130 00"),
    ("DE", "Konto DE89370400440532013000.", "DE89370400440532013000"),
    ("GB", "send it to gb82 west 1234 5698 7654 32 please", "gb82 west 1234 5698 7654 32"),
    ("FR", "RIB FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606"),
    ("ES", "cuenta ES91 2100 0418 4502 0005 1332", "ES91 2100 0418 4502 0005 1332"),
    ("IT", "IBAN IT60 X054 2811 1010 0000 0123 456", "IT60 X054 2811 1010 0000 0123 456"),
    ("NL", "rekening nl91abna0417164300", "nl91abna0417164300"),
    ("PL", "konto PL61 1090 1014 0000 0712 1981 2874", "PL61 1090 1014 0000 0712 1981 2874"),
    ("BE", "BE68 5390 0754 7034 (KBC)", "BE68 5390 0754 7034"),
    ("CH", "ch93 0076 2011 6238 5295 7", "ch93 0076 2011 6238 5295 7"),
    ("BR", "BR15 0000 0000 0000 1093 2840 814P 2", "BR15 0000 0000 0000 1093 2840 814P 2"),
]

# sentences with none of the three types in them
NEGATIVES = [
    "Your order number is 0039962082807458, it ships tomorrow.",
    "Order #4155552671 was refunded.",
    "Tracking ID 9400111899223033005282, carrier USPS.",
    "Tracking number 1Z999AA10123456784",
    "The book's ISBN is 978-3-16-148410-0.",
    "ISBN 0-306-40615-2 is the first edition.",
    "Scan the barcode 9783161484100 at the till.",
    "The contract runs from 2024-05-12 to 2026-01-31.",
    "Termin am 12.05.2023 um 10:30 Uhr.",
    "Due 12/05/2025, paid 2025 05 12.",
    "Logged at 2024-05-12T10:30:45Z and 12:30:45.",
    "Unix time 1700000000, in ms 1700000000123.",
    "We pinned version 10.2.33.14 of the driver; SDK 3.12.1.",
    "It costs €1 250 000 or $1,234,567.89 in total.",
    "Prix : 1 299,00 € TTC",
    "Total: 12 345 678 EUR",
    "Revenue grew to 12 345 678 USD in Q3.",
    "Coordinates 40.7128, -74.0060 are in Manhattan.",
    "IMEI 490154203237518 is on the box.",
    "Reference 4111 1111 1111 1112 was rejected.",
    "Invoice 4929 1234 5678 9012 is overdue.",
    "Room 101 is on the 3rd floor, port 8080, timeout 30000.",
    "The population grew from 8 336 817 to 8 804 190.",
    "Serial 5012 3456 7890 is registered.",
    "SKU 123-456-7890 is out of stock.",
    "Section 4.2.1.3 describes the algorithm.",
    "Between 1999 and 2024 we shipped 250 000 units.",
    "PO 2024-001234 approved",
    "Customer id 88812345678 has two tickets.",
    "The UUID is 123e4567-e89b-12d3-a456-426614174000.",
    "Rua Augusta, 26, São Paulo, 16385-013 SP",
    "ZIP 21140-9538",
    "Population 74 208 591 in 2024",
    "The range 4071-7989 is reserved; lat 20.888739, lon 173.581617.",
    "Lotto: 32 65 85 29 42",
    "SIRET 301 517 698 40459",
    "Artikel 897 5932 531 ist ausverkauft",
    "Kundennummer 88812345, Rechnung Nr. 20240117",
    "The source does not say when the policy changed. Tracking 9400 1118 9922",
    "You may not use uids in the 60000-64999 range.",
    # network prefixes, counts with a year, keys that say what the value is, companies' registry numbers
    "route 10.20.30.0/24 via gw; allow 192.168.100.0/22",
    "$ gcloud compute start-iap-tunnel 10.1.2.3 3389 --region=us-central1",
    "Population: 30 895 460 (2018)",
    "uid=328088690,gid=3562",
    "order_id=3405498574 amount=366.299,96 status=shipped",
    '{"size": 391246467, "count": 12}',
    "REGON 612487215",
    "Amount: 1234567,89 EUR",
    "CEP 01310100, São Paulo",  # a Brazilian postcode, not a Turkish "cep" (mobile) number
    "The proof is on p. 1234567 of the scan.",
]


@functools.cache
def findings(kind: str) -> dict[int, list[tuple[str, str]]]:
    """One `detect` over all sentences of a list (as the pipeline calls it), by row."""
    rows = {"phones": PHONES, "cards": CARDS, "ibans": IBANS}.get(kind)
    texts = [t for _, t, _ in rows] if rows else NEGATIVES
    out: dict[int, list[tuple[str, str]]] = {i: [] for i in range(len(texts))}
    for row, entity_type, text in detect(pl.Series(texts)).select("row", "entity_type", "text").iter_rows():
        out[row].append((entity_type, text))
    return out


@pytest.mark.parametrize(("i", "case"), list(enumerate(PHONES)), ids=[f"{c}:{v}" for c, _, v in PHONES])
def test_phone_numbers_of_many_countries(i: int, case: tuple[str, str, str]) -> None:
    _, text, value = case
    assert ("PHONE_NUMBER", value) in findings("phones")[i], (text, findings("phones")[i])


@pytest.mark.parametrize(("i", "case"), list(enumerate(CARDS)), ids=[f"{c}:{v}" for c, _, v in CARDS])
def test_cards_of_every_issuer(i: int, case: tuple[str, str, str]) -> None:
    _, text, value = case
    assert ("CREDIT_CARD", value) in findings("cards")[i], (text, findings("cards")[i])


@pytest.mark.parametrize(("i", "case"), list(enumerate(IBANS)), ids=[f"{c}:{v}" for c, _, v in IBANS])
def test_ibans_in_any_case(i: int, case: tuple[str, str, str]) -> None:
    _, text, value = case
    assert ("IBAN_CODE", value) in findings("ibans")[i], (text, findings("ibans")[i])


@pytest.mark.parametrize(("i", "text"), list(enumerate(NEGATIVES)), ids=NEGATIVES)
def test_numbers_that_are_not_phones_cards_or_ibans(i: int, text: str) -> None:
    wrong = [f for f in findings("negatives")[i] if f[0] in ("PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE")]
    assert wrong == [], text


def test_a_valid_iban_with_a_wrong_check_digit_is_not_one() -> None:
    assert detect(pl.Series(["IBAN DE89 3704 0044 0532 0130 01"])).height == 0


def test_a_luhn_valid_number_of_an_unknown_issuer_needs_a_card_word() -> None:
    number = with_check_digit("7012 3456 7890 123")
    with_word = detect(pl.Series([f"Kreditkarte {number}", f"tarjeta: {number}", f"carte {number}"]))
    assert with_word.filter(pl.col("entity_type") == "CREDIT_CARD").height == 3
    assert (
        detect(pl.Series([f"Parcel {number} left the depot."])).filter(pl.col("entity_type") == "CREDIT_CARD").height
        == 0
    )


def test_a_short_local_number_needs_a_phone_word() -> None:
    found = detect(pl.Series(["Phone: 467 3395", "Telefon 467 3395", "We sold 467 3395 units."]))
    phones = found.filter(pl.col("entity_type") == "PHONE_NUMBER")
    assert phones["row"].to_list() == [0, 1]


def test_a_phone_number_followed_by_other_digits_keeps_its_own_span() -> None:
    text = "Tel. 020 7946 0958 2024 Q3"  # 15 digits in a row are no number anywhere; the first 11 are
    phones = detect(pl.Series([text])).filter(pl.col("entity_type") == "PHONE_NUMBER")
    assert phones["text"].to_list() == ["020 7946 0958"]


def test_offsets_stay_right_after_non_ascii_text() -> None:
    text = "電話番号は 090-1234-5678 です。Téléphone : 01 42 68 53 00"
    found = detect(pl.Series([text]))
    assert [text[s:e] for s, e in zip(found["start"], found["end"], strict=True)] == found["text"].to_list()
    assert found["text"].to_list() == ["090-1234-5678", "01 42 68 53 00"]
