"""PERSON and LOCATION (street address) detection on names and addresses of many countries, each inside a
chat sentence as users write them; and the look-alikes that must stay untouched (brands, places, common
words that are names, code identifiers, version numbers, quantities)."""

import polars as pl
import pytest

from ftdata_assets.transforms.pii import detect


def spans(text: str, entity_type: str) -> list[str]:
    f = detect(pl.Series([text])).filter(pl.col("entity_type") == entity_type)
    return f["text"].to_list()


# ------------------------------------------------------------------------------------------------------
# PERSON
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # lowercase, typed as people type in chat
        ("my name is anna kowalski and i can't log in", "anna kowalski"),
        ("hi im kevin, my package never arrived", "kevin"),
        ("hello, i'm małgorzata, the order is wrong", "małgorzata"),
        ("my name is oluwaseun adeyemi, please reset my password", "oluwaseun adeyemi"),  # in no list
        # a surname alone, after the question or a label
        ("What's your last name? Magnusson", "Magnusson"),
        ("Surname: Wiśniewska\nDate of birth: 1990-04-02", "Wiśniewska"),
        # names listed with commas and "and", one of them in no list
        ("Please add Anna, Piotr and Kenji to the project channel.", "Kenji"),
        ("Please add Anna, Piotr and Kenji to the project channel.", "Piotr"),
        ("Our team: Chidinma, Bartosz, Aino and Jüri.", "Chidinma"),
        # names of many countries in ordinary sentences
        ("Can you draft an email to Zsófia Kovács about the overdue invoice?", "Zsófia Kovács"),  # Hungarian
        ("I spoke with Eino Virtanen yesterday about the refund.", "Eino Virtanen"),  # Finnish
        ("The account is registered to Kaja Tamm.", "Kaja Tamm"),  # Estonian
        ("Our new hire Shota Ishikawa starts on Monday.", "Shota Ishikawa"),  # Japanese, romanized
        ("Send the contract to Chukwuemeka Okonkwo before Friday.", "Chukwuemeka Okonkwo"),  # Nigerian
        ("Meeting notes: Priya Raghunathan agreed to review the design.", "Priya Raghunathan"),  # Indian
        ("Book a table for Youssef El-Amrani at 7pm please.", "Youssef El-Amrani"),  # Arabic
        ("Write a recommendation letter for my student Ngozi Eze.", "Ngozi Eze"),
        ("The patient, Jan Kowalczyk, reports mild headaches.", "Jan Kowalczyk"),  # Polish
        ("Das Paket ist für Jürgen Weißmüller, bitte klingeln.", "Jürgen Weißmüller"),  # German
        ("Merci de transmettre à Élodie Lefèvre-Dubois.", "Élodie Lefèvre-Dubois"),  # French
        ("Hola, soy María José Fernández y tengo una pregunta.", "María José Fernández"),  # Spanish
        ("Il pacco è per Giuseppe Esposito.", "Giuseppe Esposito"),  # Italian
        ("Can João Pedro Albuquerque pick up the keys?", "João Pedro Albuquerque"),  # Portuguese, sentence start
        ("Send the invoice to Lotte van der Berg instead.", "Lotte van der Berg"),  # Dutch particles
        # two capitalized tokens that are in no list, mid-sentence
        ("The form was signed by Tavita Leota on behalf of the company.", "Tavita Leota"),
        ("Summarize the feedback from Kwabena Mensah and Sarah Jones.", "Kwabena Mensah"),
        # the tuning languages' own greetings, introductions and sign-offs
        ("Hola Lucía, ¿cómo estás?", "Lucía"),
        ("me llamo juan pérez y necesito ayuda", "juan pérez"),
        ("Je m'appelle Amélie Poulain.", "Amélie Poulain"),
        ("Mein Name ist Jürgen Klopp", "Jürgen Klopp"),
        ("Nazywam się Agnieszka Nowak", "Agnieszka Nowak"),
        ("Dziękuję za pomoc!\nPozdrawiam,\nKasia", "Kasia"),
        ("Cześć Ola, co słychać?", "Ola"),
        ("Anna met us at the gate.", "Anna"),
        ("Thank you Harm for the quick reply!", "Harm"),
        # Han and Hangul names have no capitals: shape, introduction, honorific, or the lexicon
        ("Can you draft an email to 井上 直樹 about the invoice?", "井上 直樹"),
        ("Please invite 山口, Sebastian and Lorena.", "山口"),
        ("私の名前は山田太郎です", "山田太郎"),
        ("田中さんに連絡してください", "田中"),
        ("我叫王伟，很高兴认识你", "王伟"),
        ("제 이름은 김민수입니다", "김민수"),
        # scripts without capitals, and Cyrillic, by the lexicon (Faker's names of those locales)
        ("Send it to राहुल शर्मा today", "राहुल शर्मा"),
        ("Please email آرش احمدی about the invoice", "آرش احمدی"),
        ("Встреча с Андрей Смирнов в 10", "Андрей Смирнов"),
    ],
)
def test_person_positive(text, name):
    assert name in spans(text, "PERSON"), f"{name!r} not found in {text!r}: {detect(pl.Series([text])).rows()}"


@pytest.mark.parametrize(
    "text",
    [
        "Will you check the logs tomorrow?",
        "Grant Park is closed on May 5.",
        "Bill the client at the end of the month.",
        "Carol singing starts at the Town Hall.",
        "Frank feedback is welcome.",
        "Apollo 11 landed in 1969.",
        "The Mercedes Benz Stadium hosts the final.",
        "Does Victoria's Secret ship to Poland?",
        "Via Appia is the oldest Roman road.",
        "Call getUserName() from UserService before saving.",
        "We use Django, Celery and Redis in production.",
        "Visit Florence, Kraków and Lisbon in spring.",
        "i'm fine, this is great, thanks",
        "my name is not important here",
        "Please Review The Attached Document Before Friday.",
        "Install numpy and pandas with pip.",
        "name: foo_bar\nversion: 2",
        "I visited Machu Picchu and Lake Titicaca.",
        "The Jordan River flows south.",
        "Leveres til Karl Johans gate 12, 0154 Oslo",
        "I love 寿司 and the food in 東京",
        "皆さん、こんにちは",
        "The word शांति means peace",
        "مرحبا، كيف حالك اليوم؟",
    ],
)
def test_person_negative(text):
    assert spans(text, "PERSON") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # person fields of forms, tickets, JSON, key=value logs, XML: any case, any script
        ('{"customer": {"full_name": "Sebastián Olmedo", "tier": "gold"}}', "Sebastián Olmedo"),
        ("name: hanna lindqvist\nrole: admin", "hanna lindqvist"),
        ("ticket=48213 requester=Ingrid Solberg status=open", "Ingrid Solberg"),
        ("<contact_name>Radka Dvořáková</contact_name>", "Radka Dvořáková"),
        ("ФИО: Иванов Пётр Сергеевич\nТелефон: не указан", "Иванов Пётр Сергеевич"),
        ("姓名：张伟\n电话：请补充", "张伟"),
        ("الاسم: كريم منصور", "كريم منصور"),
        # the name agrees with the e-mail address next to it (CSV rows, footers), whatever the lexicon says
        ("name,email\nTamatea Ngata,tamatea.ngata@example.org", "Tamatea Ngata"),
        # a line of its own in a signature, two words in no list
        ("Thanks for the update.\n--\nKeoni Kahananui\nField Operations", "Keoni Kahananui"),
        # typed in lowercase anywhere in chat, known first name and surname
        ("talked to zofia wójcik yesterday, she agreed", "zofia wójcik"),
        ("lunch with aiko tomorrow?", "aiko"),
        ("thx mahina!!", "mahina"),
        # all capitals on a badge or a form
        ("Badge holder: NOWAK Agnieszka", "NOWAK Agnieszka"),
        ("Passenger: KOWALCZYK, MAREK", "KOWALCZYK"),
        # names in other scripts set in an English message
        ("Please ask Олена Коваленко to sign the form.", "Олена Коваленко"),
        ("Cheers,\nحسین", "حسین"),
        ("안녕하세요 박서연님, 회의는 3시입니다", "박서연"),
        ("Please ask 최지훈 to review the contract.", "최지훈"),  # a known surname, a given name in no list
        ("Please send it to محمد کاظمی before noon.", "محمد کاظمی"),
        ("Здравствуйте, Тимофей! Ваш заказ готов.", "Тимофей"),
        # a list of names, two of them known, the others in no list
        ("Winners this month are Priya, Tavake, Kaimana and Ewa.", "Kaimana"),
    ],
)
def test_person_positive_forms_chat_and_scripts(text, name):
    assert name in spans(text, "PERSON"), f"{name!r} not found in {text!r}: {detect(pl.Series([text])).rows()}"


@pytest.mark.parametrize(
    "text",
    [
        # field values that are no names
        "Name: required\nType: string",
        '{"name": "default", "email": null}',
        "Owner: root\nGroup: wheel",
        "Assignee: Unassigned",
        "姓名：必填",
        "联系人：销售部",
        # lowercase prose and paths, options, file names with a first name in them
        "The build moved to polly and travis last year.",
        "see /usr/share/doc/anna/README for details",
        "run it with --maria=1 and check anna.conf",
        # greetings and imperatives of other languages are no names
        "Здравствуйте, как дела?",
        "Tell me more about the migration plan.",
        "Good morning, the build is green now.",
        # acronyms and command-line flags that are names somewhere
        "Is DE89 3704 0044 0532 0130 00 a valid IBAN?",
        "Build with -Wuninitialized to see the warning.",
        # a street in another script after a house number
        "Deliver to 852 کمالی جنب, please.",
        "Ship it to ถนนสุขุมวิท 21, Bangkok.",
        # a list of capitalized words in no list is no list of people
        "We tested Xorg, Sway, Mutter and Kwin.",
    ],
)
def test_person_negative_forms_chat_and_scripts(text):
    assert spans(text, "PERSON") == []


def test_a_street_named_after_a_person_is_an_address_not_a_person():
    text = "Please ship it to Rua João Lucas Vieira, 45, 56515-947 Macedo."
    assert spans(text, "PERSON") == []
    assert any("Rua João Lucas Vieira, 45" in s for s in spans(text, "LOCATION"))


# ------------------------------------------------------------------------------------------------------
# LOCATION
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("Send the replacement to Puruntie 82 Apt. 595, 28245 LAPPEENRANTA, thanks!", "Puruntie 82 Apt. 595"),
        ("My address is Rua do Arenque 1634, Goiânia", "Rua do Arenque 1634"),
        ("Ship to Allika 46 Suite 501 Riisa Estonia 62488 please", "Allika 46 Suite 501"),
        ("It goes to PSC 0413, Box 8144 APO AA 42323.", "PSC 0413, Box 8144 APO AA 42323"),
        ("USNS Miller\nFPO AE 09876", "USNS Miller\nFPO AE 09876"),
        ("the office is at Via Goffredo Mameli, 19 Appartamento 4, 13031 Arborio (VC)", "Via Goffredo Mameli, 19"),
        ("Dirección: Calle de Alcalá 48, 28014 Madrid", "Calle de Alcalá 48"),
        ("Pasaje Juan Pablo Granados 115 Apt. 08\nJaén, 45989", "Pasaje Juan Pablo Granados 115"),
        ("Mijn adres is Kerkstraat 12, 1017 GB Amsterdam", "Kerkstraat 12"),
        ("Gerritsingel 7\n1317 YB\n's-Heer Hendrikskinderen", "Gerritsingel 7"),
        ("proszę wysłać na ul. Paderewskiego 77, 61-668 Kołobrzeg", "ul. Paderewskiego 77"),
        ("aleja Sikorskiego 58/68\n86-195 Biała Podlaska", "aleja Sikorskiego 58/68"),
        ("Skicka till Storgatan 5, 111 51 Stockholm", "Storgatan 5"),
        ("Adressen är Kungsvägen 14B, Uppsala", "Kungsvägen 14B"),
        ("Osoite: Aleksanterinkatu 15 B 22, 00100 Helsinki", "Aleksanterinkatu 15"),
        ("Meine Adresse: Murat-Heinrich-Allee 7740, 24158 Ochsenfurt", "Murat-Heinrich-Allee 7740"),
        ("Drubinstraße 47-26\n06690 Groß-Gerau", "Drubinstraße 47-26"),
        ("Livrer au 87, rue de Barre, 29793 Samson", "87, rue de Barre"),
        ("avenue Julie Ledoux\n97310 Da Costa-sur-Mer", "avenue Julie Ledoux\n97310 Da Costa-sur-Mer"),
        ("Praça João Lucas Vieira, 45 Santa Branca 56515-947 Macedo / RO", "Praça João Lucas Vieira, 45"),
        ("Deliver to 609 Stacey Roads, New Brendaton, IN 06606.", "609 Stacey Roads, New Brendaton, IN 06606"),
        ("Flat 58, Bond Cliffs, West Norman, M5 4BS", "Flat 58, Bond Cliffs"),
        ("Studio 57\nSlater Rest\nSouth Sallyberg\nL6A 5YX", "Studio 57\nSlater Rest"),
        ("住所は香川県横浜市港北区東三島17丁目4番16号です", "東三島17丁目4番16号"),
        ("Stuur het naar Johannastraat 96 1283XM Wesepe", "Johannastraat 96"),
        ("Budapest, Andrássy út 12, 1061", "Andrássy út 12"),
        ("envíelo a Calle 45 # 12-34, Bogotá", "Calle 45 # 12-34"),
        ("Adresim: Bağdat Caddesi No:45 Kadıköy", "Caddesi No:45"),
        ("Leveres til Karl Johans gate 12, 0154 Oslo", "gate 12"),
        ("Doručte na Nádražní 123/4, 110 00 Praha 1", "Nádražní 123/4"),
        ("Strada Mihai Eminescu nr. 12, București", "Strada Mihai Eminescu nr. 12"),
        ("Kirim ke Jl. Sudirman No. 12, Jakarta", "Jl. Sudirman No. 12"),
        ("Доставка: Москва, ул. Тверская, д. 7, кв. 5", "ул. Тверская, д. 7"),
        ("地址：北京市朝阳区建国路88号", "建国路88号"),
        ("주소는 서울특별시 강남구 테헤란로 123 입니다", "테헤란로 123"),
        ("Rua Augusta, 123, 1100-048 Lisboa", "Rua Augusta, 123"),
        ("Η διεύθυνση: Οδός Ερμού 12, Αθήνα", "Οδός Ερμού 12"),
        ("العنوان: شارع الملك فهد 12، الرياض", "شارع الملك فهد 12"),
        ("הכתובת רחוב הרצל 12 תל אביב", "רחוב הרצל 12"),
        ("ที่อยู่ ถนนสุขุมวิท 21 กรุงเทพ", "ถนนสุขุมวิท 21"),
        ("Москва, Ленинский проспект, д. 5", "Ленинский проспект, д. 5"),
        # typed in lowercase after an address cue
        ("i live at 2726 bush mission suite 659", "2726 bush mission suite 659"),
        ("i live at florianweg 148", "florianweg 148"),
        ("Please keep it short. i live at ul. rolnicza 36. Thanks", "ul. rolnicza 36"),
        ("i live at 296 岡田 street", "296 岡田 street"),
    ],
)
def test_location_positive(text, street):
    found = spans(text, "LOCATION")
    assert any(street in s for s in found), f"{street!r} not in any LOCATION of {text!r}: {found}"


@pytest.mark.parametrize(
    "text",
    [
        "Version 2.3 Build 45 fixes the crash.",
        "Chapter 12 Section 3 covers recursion.",
        "Windows 11 Pro costs 199 euros.",
        "Terminal 2, Gate 14 at 10:45.",
        "Level 4, Unit 7 of the course",
        "During 2020 we hired 40 people.",
        "The Committee 2 report is attached.",
        "Spring 2024 release notes",
        "I waited 30 days for Calle 13 tickets.",
        "Send it via DHL 2 days before the event.",
        "We shipped 12 Boxes 3 times this week.",
        "Apollo 11, 20 July 1969",
        "String 5 in the list is empty.",
        "Python 3 Suite 2 results are in.",
        "Order 5 Main courses for the table",
        "The terminal gate 12 is closed.",
        "Step 3, Phase 2 of the plan",
        "We met at Gate 7 near the park 2 hours ago.",
        "ship it to my office, room 5 please",
        "send it to 5 people tomorrow",
        "I moved to Berlin 2 years ago.",
    ],
)
def test_location_negative(text):
    assert spans(text, "LOCATION") == []


def test_an_order_number_before_a_street_shape_is_no_address():
    assert spans("Your order 4521 Kings Road Deluxe has shipped.", "LOCATION") == []
