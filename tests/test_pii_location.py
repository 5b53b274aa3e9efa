"""LOCATION (street addresses) in the shapes of many countries, and look-alikes that are no address.

The positives are written by hand after how addresses are written in each country (street word before or
after the name, house number before or after it, postcodes before or after the place, boxes, labelled
form fields, other scripts); none comes from the benchmark's generators.
"""

from __future__ import annotations

import polars as pl
import pytest

from ftdata_assets.transforms import pii
from ftdata_assets.transforms.pii.address import _find, _locations
from ftdata_assets.transforms.pii.base import _matches
from ftdata_assets.transforms.pii.registry import BUILTIN_RECOGNIZERS, PiiSettings, build_registry

LOCATION_ONLY = PiiSettings(
    registry=build_registry({"disable": [r.name for r in BUILTIN_RECOGNIZERS if r.name != "location"]})
)


def _found(text: str) -> list[str]:
    f = pii.detect(pl.Series([text]), settings=LOCATION_ONLY)
    return f.filter(pl.col("entity_type") == "LOCATION")["text"].to_list()


POSITIVES = [
    # (text, a part of the address that a finding must cover)
    ("Our office: Mannerheimintie 12 B 5, 00100 Helsinki", "Mannerheimintie 12"),
    ("Toimitusosoite: Hämeenkatu 7, 33100 Tampere", "Hämeenkatu 7"),
    ("Saatmise aadress: Pärnu mnt 12, 10148 Tallinn", "Pärnu mnt 12"),
    ("Kontor asub Tamme tn 5, Tartu", "Tamme tn 5"),
    ("Számlázási cím: 1061 Budapest, Andrássy út 12.", "Andrássy út 12"),
    ("Átvétel: Kossuth u. 5, Debrecen", "Kossuth u. 5"),
    ("Leveransadress: Storgatan 5, 111 22 Stockholm", "Storgatan 5"),
    ("Send it to Vesterbrogade 12, 1620 København V please", "Vesterbrogade 12"),
    ("Kontoret ligger i Karl Johans gate 5, 0154 Oslo", "Karl Johans gate 5"),
    ("Doručovací adresa: Nádražní 12/345, 110 00 Praha", "Nádražní 12/345"),
    ("Adresa: Hlavná 12, 811 01 Bratislava", "Hlavná 12"),
    ("Livrare la Str. Mihai Eminescu nr. 12, 010101 București", "Mihai Eminescu nr. 12"),
    ("Unit 5, 12 Smith Street, Surry Hills NSW 2010", "12 Smith Street"),
    ("Ship to 42, Nehru Marg, Jaipur 302001", "Nehru Marg"),
    ("Entregar en Av. Insurgentes Sur 1234, Col. Roma, 06700 Ciudad de México", "Insurgentes Sur 1234"),
    ("Livraison : 1234, rue Sainte-Catherine Ouest, Montréal (Québec) H3B 1A7", "rue Sainte-Catherine"),
    ("Lieferadresse: Mariahilfer Straße 12/3/4, 1060 Wien", "Mariahilfer Straße 12"),
    ("Bahnhofstrasse 12, 8001 Zürich", "Bahnhofstrasse 12"),
    ("Morada: Rua Augusta, 123, 1100-048 Lisboa", "Rua Augusta, 123"),
    ("We're at 12 Queen Street, Auckland 1010", "12 Queen Street"),
    ("Teslimat: Atatürk Cad. No:12 D:5, 34000 Beşiktaş", "Atatürk Cad. No:12"),
    ("Dostava: Ilica 12, 10000 Zagreb", "Ilica 12"),
    ("Naslov: Slovenska cesta 12, 1000 Ljubljana", "Slovenska cesta 12"),
    ("Pristatymo adresas: Vilniaus g. 12-5, LT-01103 Vilnius", "Vilniaus g. 12"),
    ("Piegāde: Brīvības iela 12-5, Rīga, LV-1010", "Brīvības iela 12"),
    ("Heimilisfang: Laugavegur 12, 101 Reykjavík", "Laugavegur 12"),
    ("PO Box 4521, Springfield, IL 62704", "PO Box 4521"),
    ("Postfach 10 02 03, 80331 München", "Postfach 10 02 03"),
    ("Apartado 45, 28080 Madrid", "Apartado 45"),
    ("Caixa Postal 12, 01000-000 São Paulo", "Caixa Postal 12"),
    ("PSC 1234, Box 5678, APO AE 09876", "PSC 1234"),
    ("Name: Jo Park\nAddress: Kirchplatz 3, 6020 Innsbruck\nPhone: 0512 123456", "Kirchplatz 3"),
    ('{"name": "A. Lee", "shipping_address": "Ilica 12, 10000 Zagreb"}', "Ilica 12"),
    ("ts=2026-03-01 user=41 addr=Calle Mayor 5, 28013 Madrid status=ok", "Calle Mayor 5"),
    ("The office is at rue Marques.", "rue Marques"),
    ("i live at boulevard suzanne roussel", "boulevard suzanne roussel"),
    ("We moved to Nádražní 12/345 last month.", "Nádražní 12/345"),
    ("i live at hlavná 12", "hlavná 12"),
    ("Can you deliver to 69 Wierzbowa instead?", "69 Wierzbowa"),
    ("Ich wohne in der Lindenstraße 4", "Lindenstraße 4"),
    ("Адрес: ул. Ленина, д. 5, кв. 12, Москва", "ул. Ленина, д. 5"),
    ("доставка: вул. Хрещатик, 22, Київ", "вул. Хрещатик, 22"),
    ("Женевска 171, 1000 Скопје", "Женевска 171"),
    ("Διεύθυνση: Ερμού 12, 105 63 Αθήνα", "Ερμού 12"),
    ("Στείλτε το δέμα στην Πανεπιστημίου 30", "Πανεπιστημίου 30"),
    ("Мекенжай: Абай даңғылы 10, Алматы", "Абай даңғылы 10"),
    ("آدرس: خیابان آزادی، پلاک ۱۲، تهران", "خیابان آزادی"),
    ("العنوان: ١٢ شارع التحرير، القاهرة", "شارع التحرير"),
    ("כתובת: הרצל 12, תל אביב", "הרצל 12"),
    ("주소: 서울 강남구 역삼동 123-45", "역삼동 123-45"),
    ("მისამართი: ჭავჭავაძის ქ. 12, თბილისი", "ჭავჭავაძის ქ. 12"),
    ("Հասցե: Աբովյան փ. 12, Երևան", "Աբովյան փ. 12"),
    ("Địa chỉ: 123 Đường Lê Lợi, Phường Bến Nghé, Quận 1", "123 Đường Lê Lợi"),
    ("Giao hàng tới số 45 phố Hàng Bông, Hà Nội", "phố Hàng Bông"),
    ("Dirección: Cra. 7 # 71-21, Bogotá", "Cra. 7 # 71-21"),
    ("Entrega en Cl. 8ª # 58-46 Sur, Medellín", "Cl. 8ª # 58-46"),
    ("House No. 12, Road No. 5, Dhanmondi, Dhaka 1205", "House No. 12"),
    ("Send to 51, Jalan Ampang, 50450 Kuala Lumpur", "51, Jalan Ampang"),
    ("Мы переехали: Славеј Планина 9а", "Славеј Планина 9а"),
    ("Ship to Solvænget 4, 2. th., please", "Solvænget 4"),
    ("العنوان: ١٢ حارة الروم، القاهرة", "حارة الروم"),
    ("آدرس: کوی نصر، پلاک ۵", "کوی نصر"),
    ("ที่อยู่: แขวงคลองเตย เขตคลองเตย กรุงเทพมหานคร 10110", "แขวงคลองเตย"),
    ("地址：上海市浦东新区世纪大道", "上海市浦东新区世纪大道"),
    ("住所：東京都港区六本木六丁目", "六本木六丁目"),
    ("大阪市北区梅田３−１−１にあります", "北区梅田３−１−１"),
    # signatures and multi-line blocks
    ("Jan Novák\nNa Příkopě 15\n110 00 Praha 1", "Na Příkopě 15"),
    ("Kind regards,\nAnna Nowak\nul. Długa 12/4\n00-950 Warszawa", "ul. Długa 12/4"),
    ("Mvh\nOla\nStorgata 12\n0155 Oslo", "Storgata 12"),
    ("Saludos,\nLuis\nAv. Corrientes 1234, C1043 CABA", "Av. Corrientes 1234"),
    ("Cordialement,\nMarie\n12 bis, avenue Foch\n75116 Paris", "avenue Foch"),
    ("Terveisin\nMatti\nAleksanterinkatu 15 A 3\n00100 Helsinki", "Aleksanterinkatu 15"),
    ("Üdv,\nPéter\nBudapest, Váci u. 12., 1052", "Váci u. 12"),
]


@pytest.mark.parametrize(("text", "part"), POSITIVES, ids=[p for _, p in POSITIVES])
def test_addresses_of_many_countries(text: str, part: str) -> None:
    found = _found(text)
    start = text.index(part)
    spans = [(text.index(f), text.index(f) + len(f)) for f in found]
    assert any(a < start + len(part) and start < b for a, b in spans), (text, found)


NEGATIVES = [
    "Email address: maria.lopez@example.org",
    "IP address: 192.168.10.4",
    "MAC address: 3c:22:fb:91:0e:7a",
    "The fault was at address: 0x7ffd5e8c",
    "bind address = 0.0.0.0:8080",
    "Address: see the invoice",
    "Upgrade to Windows 10, 2019 Edition first.",
    "Chapter 5, 1999 Edition, page 12.",
    "We shipped to 3 customers in 2 days.",
    "I moved to Berlin in 2019.",
    "Room 101 is on the 3rd floor.",
    "Send it to me by 5 pm.",
    "Meeting in Level 4, Building 2.",
    "Version 2.3, 2024 release notes",
    "Глава 5 описывает алгоритм.",
    "Το κεφάλαιο 3 εξηγεί τη μέθοδο.",
    "We pushed it via GitHub Actions in 3 minutes.",
    "The avenue For growth is clear.",
    "The meeting moved to June 12, sorry.",
    "We moved to Node 20 last month.",
    "Can you deliver to Team 7 instead?",
    "The standup moved to Monday 10 am.",
    "I moved to Berlin 3 years ago.",
    "Please send it to John 3 times a week.",
    "We moved to Q3 2025 for the launch.",
    "The file is located at Section 5 of the guide.",
    "Deliver to Customer 4411 by noon.",
    "deliver to desk 14 please",
    "Send it to HR 2 copies.",
    "Глава 5, Москва 2020.",
    "Κεφάλαιο 3, Αθήνα 2004.",
    "פרק 5, תל אביב",
    "Rocky 4, 1985 Edition",
    "Shipping address: same as billing",
    "server address: db.internal:5432",
    "Adresse: wird nachgereicht",
    "IP-Adresse: 10.0.0.1",
    "E-Mail-Adresse: anna@beispiel.de",
    "Webadresse: www.beispiel.de",
    "remote_addr=203.0.113.9",
    '"address": "10.0.0.12:8080"',
    "Adresse: siehe oben, Punkt 3",
    "Address: Level 3 of the parking lot",
    "Address: 3 items pending",
    "Adresa: neznámá, viz bod 2",
    "Ihre Adresse: bitte in Schritt 2 eintragen",
    "Building No. 2 is closed today.",
    "Ask for Flat No. 3 at the desk.",
    "Москва 2024",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_no_address(text: str) -> None:
    assert _found(text) == [], text


def test_offsets_are_python_characters_after_non_ascii_text() -> None:
    text = "Grüße aus Köln 😊 — Lieferadresse: Hauptstraße 5, 50667 Köln"
    f = pii.detect(pl.Series([text]), settings=LOCATION_ONLY)
    assert f.height >= 1
    for start, end, value in f.select("start", "end", "text").iter_rows():
        assert text[start:end] == value


def test_find_equals_two_pass_matches() -> None:
    """`_find` (one replace_all pass) gives the rows, offsets and texts of `base._matches`."""
    texts = [s for s, _ in POSITIVES] + NEGATIVES + ["", "Ilica 12 and Ilica 14, 10000 Zagreb — Ilica 16"]
    base = pl.DataFrame({"t": texts}).with_row_index("row")
    for pattern in [r"[0-9]{1,3}", r"\p{Lu}\p{L}+ [0-9]{1,4}", r"(?i:straße|gate|iela)"]:
        assert _find(base, pattern).equals(_matches(base, pattern).cast(_find(base, pattern).schema))


def test_marks_in_the_text_do_not_move_offsets() -> None:
    text = "id\x1erow\x1fShip to Hauptstraße 5, 10115 Berlin"
    f = _locations(pl.DataFrame({"t": [text]}).with_row_index("row"))
    assert f.height >= 1
    for start, end, value in f.select("start", "end", "text").iter_rows():
        assert text[start:end] == value


def test_texts_without_digits_are_read() -> None:
    """The recognizer sees every text (registry prefilter "all"): labelled or cued streets need no digit."""
    loc = next(r for r in BUILTIN_RECOGNIZERS if r.name == "location")
    assert loc.prefilter == "all"
    assert _found("Can you deliver to avenue Philippine Marty instead?")


def test_a_batch_of_many_texts_finds_what_single_texts_do() -> None:
    """3,000 mixed texts in one call (speed is bench/pii.py's job, not a test's)."""
    texts = pl.Series(([s for s, _ in POSITIVES] + NEGATIVES) * 50)
    found = pii.detect(texts, settings=LOCATION_ONLY)
    assert found["row"].n_unique() >= len(POSITIVES) * 50 * 0.9


def test_an_area_code_after_the_street_stays_with_the_phone() -> None:
    """A trunk-0 group with more digits after it is a phone's area code, not the street's postcode."""
    text = "Bohlanderallee 3, 05326 046660"
    found = pii.detect(pl.Series([text]))
    assert sorted(found.select("entity_type", "text").iter_rows()) == [
        ("LOCATION", "Bohlanderallee 3"),
        ("PHONE_NUMBER", "05326 046660"),
    ]
    assert _found("Karl-Marx-Allee 90, 01067 Dresden") == ["Karl-Marx-Allee 90, 01067 Dresden"]
    assert _found("Karl-Marx-Allee 90, 01067") == ["Karl-Marx-Allee 90, 01067"]
