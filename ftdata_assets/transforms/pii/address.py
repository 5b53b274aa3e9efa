"""LOCATION (street addresses) in the shapes of many countries.

The recognizer sees every text (registry prefilter "all"): most shapes need a digit and only scan texts
with one, the label and cue readers and the number-less street forms scan every text, the shapes of other
scripts only texts with a non-ASCII character. Each shape is one regex over the rows that hold its cheap
literal (a street word, a unit word, a postal code: Aho-Corasick `contains_any`), so most texts are never
scanned by most patterns:

- number first, English street word last: "1777 Kramer Court", "Flat 37, Bennett Mall", "42, Nehru Marg";
- street type first, number after: "Via Elisa, 991", "Calle Mayor 5", "Av. Insurgentes Sur 1234", "ul.
  Krasickiego 12", "avenue Julie Ledoux, 97310 ..." (Romance languages, Polish, Romanian...);
- street word glued to the name, number after: "Drubinstraße 47", "Kyanoweg 74", "Storgatan 5";
- street word after the name as a word of its own: "Vilniaus g. 12", "Pärnu mnt 5", "Kossuth u. 5";
- any capitalized street name with a number, when a flat/suite unit follows ("Allika 46 Suite 501") or a
  postcode and place, in either order ("Ilica 12, 10000 Zagreb", "Brīvības 12-5, Rīga, LV-1010");
- a lower-case street type before a capitalized name, no number needed: "rue Gabriel Poirier";
- number, comma, French street type: "87, rue de Barre"; P.O. boxes of many countries (PO Box, Postfach,
  Apartado, Caixa Postal, BP...); US military (PSC/Unit ... APO/FPO/DPO);
- other scripts: Japanese 丁目/番/号, Chinese 路/街 + 号, Korean 로/길/동, Cyrillic (type first, or a name,
  a number and a place), Greek, Kazakh, Persian and Arabic (Eastern digits too), Hebrew, Georgian, Armenian,
  Thai, Vietnamese;
- a labelled field ("Address:", "Adresse :", "Dirección:", JSON/CSV/key=value keys such as
  "shipping_address") and the text after an address cue ("I live at", "deliver to", "moved to", "wohne
  in"), read per match in Python: a street word and a number, a postcode, or a name next to a house number.

A candidate right after an identifier label ("order 12 ...") or followed by a quantity word ("... 5 days") is
dropped; so is a glued or generic street name that is an ordinary word ("During 2020", "Committee 2").
All patterns' matches come from one `replace_all` pass each, cut at the marks together (`_find_all`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

from ftdata_assets.transforms.pii.base import (
    _CAND,
    _COLS,
    _NUMBER_VETO,
    _conform,
    _context,
    _filter,
    _LiteralGroups,
    _rx,
    _typed,
)

# --------------------------------------------------------------------------------------------------------
# pieces
# --------------------------------------------------------------------------------------------------------

_L = r"A-Za-zÀ-ɏ"
"""Latin letters: one contiguous range (U+00C0-U+024F) per byte length keeps the automata small, twice as
fast as the exact letter ranges on the long patterns."""
_UP = r"A-ZÀ-ÞĀ-ɏ"
"""A capital: ASCII, Latin-1, and all of Latin Extended-A/B (their lower-case letters too: a list of the
capitals alone made every pattern twice as slow)."""
_NUM = r"[0-9]{1,5}[A-Za-z]?(?:\s?[\-/]\s?[0-9]{1,4}[A-Za-z]?)?"
"""A house number: "12", "12a", "47-26", "08/37"."""
_CAPWORD = rf"[{_UP}][{_L}'’\-.]*"
_NO = r"(?:(?:[Nn][ºo°]|No|nr|Nr|NR|n\.|#)\.?\s*:?\s*)?"
"""A house-number label: "nº 12", "No: 12" (Turkish), "nr. 12" (Romanian, Polish), "# 123" (Mexico)."""

# USPS Publication 28 street suffixes (long forms and the usual abbreviations) plus British ones
_SUFFIXES = [
    "Alley", "Aly", "Annex", "Arcade", "Avenue", "Ave", "Av", "Bayou", "Beach", "Bend", "Bluff", "Bluffs",
    "Bottom", "Boulevard", "Blvd", "Branch", "Bridge", "Brook", "Brooks", "Burg", "Burgs", "Bypass", "Camp",
    "Canyon", "Cape", "Causeway", "Center", "Centers", "Centre", "Circle", "Cir", "Circles", "Cliff", "Cliffs",
    "Club", "Common", "Commons", "Corner", "Corners", "Course", "Court", "Ct", "Courts", "Cove", "Coves",
    "Creek", "Crescent", "Cres", "Crest", "Crossing", "Xing", "Crossroad", "Curve", "Dale", "Dam", "Divide",
    "Drive", "Dr", "Drives", "Estate", "Estates", "Expressway", "Expy", "Extension", "Extensions", "Fall",
    "Falls", "Ferry", "Field", "Fields", "Flat", "Flats", "Ford", "Fords", "Forest", "Forge", "Forges", "Fork",
    "Forks", "Fort", "Freeway", "Fwy", "Garden", "Gardens", "Gdns", "Gateway", "Glen", "Glens", "Green",
    "Greens", "Grove", "Groves", "Harbor", "Harbour", "Harbors", "Haven", "Heights", "Hts", "Highway", "Hwy",
    "Hill", "Hills", "Hollow", "Inlet", "Island", "Islands", "Isle", "Junction", "Junctions", "Key", "Keys",
    "Knoll", "Knolls", "Lake", "Lakes", "Land", "Landing", "Lane", "Ln", "Light", "Lights", "Loaf", "Lock",
    "Locks", "Lodge", "Loop", "Mall", "Manor", "Manors", "Meadow", "Meadows", "Mews", "Mill", "Mills",
    "Mission", "Motorway", "Mount", "Mountain", "Mountains", "Neck", "Orchard", "Oval", "Overpass", "Park",
    "Parks", "Parkway", "Pkwy", "Parkways", "Pass", "Passage", "Path", "Pike", "Pine", "Pines", "Place", "Pl",
    "Plain", "Plains", "Plaza", "Plz", "Point", "Pt", "Points", "Port", "Ports", "Prairie", "Radial", "Ramp",
    "Ranch", "Rapid", "Rapids", "Rest", "Ridge", "Ridges", "River", "Road", "Rd", "Roads", "Route", "Row",
    "Rue", "Run", "Shoal", "Shoals", "Shore", "Shores", "Skyway", "Spring", "Springs", "Spur", "Spurs",
    "Square", "Sq", "Squares", "Station", "Stravenue", "Stream", "Street", "St", "Streets", "Summit",
    "Terrace", "Ter", "Throughway", "Trace", "Track", "Trafficway", "Trail", "Trl", "Tunnel", "Turnpike",
    "Tpke", "Underpass", "Union", "Unions", "Valley", "Valleys", "Via", "Viaduct", "View", "Views", "Village",
    "Villages", "Ville", "Vista", "Walk", "Walks", "Wall", "Way", "Ways", "Well", "Wells", "Close", "Rise",
    "Vale", "Wharf", "Quay", "Embankment", "Broadway", "Parade", "Approach", "Chase", "Croft", "Drove",
    "Gate", "Yard", "Wynd", "Hwy", "Pde", "Esplanade", "Promenade", "Grv",
    # Indian and South Asian English
    "Marg", "Nagar", "Colony", "Chowk", "Vihar", "Enclave", "Salai", "Gali", "Bagh", "Ganj", "Puram", "Peth",
]  # fmt: skip
_DIR = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West|Northeast|Northwest|Southeast|Southwest)"
_NAME_TOK = rf"(?:[{_UP}][{_L}'’\-]*\.?|[0-9]{{1,3}}(?:st|nd|rd|th))"
_UNIT_WORDS = [
    "Apt", "Apartment", "Suite", "Ste", "Unit", "Fl", "Floor", "Rm", "Room", "Bldg", "Building", "Flat",
    "Studio", "Piso", "Puerta", "Planta", "Dpto", "Depto", "Appartamento", "Piano", "Interno", "Int", "Scala",
    "Apto", "Casa", "Bloco", "Sala", "Andar", "Wohnung", "Whg", "Etage", "Stiege", "Top", "Tür", "lok", "m",
    "mieszk", "lgh", "as", "asunto", "leil", "bus", "Bus", "hab", "esc", "Esc", "Escalera", "porta", "Porta",
]  # fmt: skip
_UNIT = (
    r"(?:,?\s*(?:" + "|".join(_UNIT_WORDS) + r")\.?\s*(?:#|[Nn][ºo°]\.?)?\s*[A-Za-z0-9\-]{1,6}\b"
    r"|,?\s*#\s*[A-Za-z0-9\-]{1,6}\b)?"
)
_UK_POSTAL = r"(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)\s?[0-9][A-Z]{2}"
_POSTAL = (
    r"(?:[A-Z]{2}\s+[0-9]{5}(?:-[0-9]{4})?|[0-9]{5}(?:-[0-9]{3,4})?|"
    + _UK_POSTAL
    + r"|[A-Z][0-9][A-Z]\s?[0-9][A-Z][0-9])\b"
)
_CITY = rf"(?:,?\s+{_CAPWORD}(?:\s+{_CAPWORD}){{0,3}})?,?\s+" + _POSTAL
"""US/UK/CA tail: ", Springfield, IL 62704", " London NW1 6XE"."""
_EU_POSTAL = (
    r"(?:[0-9]{5}(?:-[0-9]{3})?|[0-9]{4}-[0-9]{3}|[0-9]{2}-[0-9]{3}|[0-9]{4} ?[A-Z]{2}|[0-9]{3} [0-9]{2}|[0-9]{8}"
    r"|[A-Z]{1,2}-?[0-9]{4,5}|" + _UK_POSTAL + r")\b"
)
_PARTICLES_IN_PLACE = r"(?:ob|der|de|del|la|sur|am|an|im|di|do|da|dos|das|[0-9]{1,2}[ªº°])"
_PLACE = rf"(?:(?:da|do|de|das|dos)\s+)?{_CAPWORD}(?:\s+(?:{_CAPWORD}|{_PARTICLES_IN_PLACE}))*"
"""A place after a postal code: "Berlin", "da Cruz das Pedras", "São Jorge 1ª Seção"."""
_EU_TAIL = rf"(?:,?\s+{_EU_POSTAL}(?:,?\s+{_PLACE})?|,?\s+{_PLACE},?\s+{_EU_POSTAL}(?:,?\s+{_PLACE})?)?"
"""European tail: ", 10115 Berlin", "\n1317 YB", ", Madrid, 02857" (the postal code is required)."""

# --------------------------------------------------------------------------------------------------------
# number first, English street word last
# --------------------------------------------------------------------------------------------------------

_ADDRESS = _rx(
    r"(?:\b(?:Flat|Apt|Apartment|Unit|Suite|Studio)\.?\s*[0-9]{1,4}[A-Za-z]?,?\s+(?:[0-9]{1,6}[A-Za-z]?,?\s+)?"
    r"|\b[0-9]{1,6}[A-Za-z]?(?:[\-/][0-9]{1,4}[A-Za-z]?)?,?\s+)(?:" + _DIR + r"\.?\s+)?"
    r"(?:"
    + _NAME_TOK
    + r"\s+){1,4}(?:"
    + "|".join(_SUFFIXES)
    + r")\b\.?(?:\s+"
    + _DIR
    + r"\b\.?)?"
    + _UNIT
    + r"(?:"
    + _CITY
    + r")?"
)
_ADDRESS_LITERALS = [f" {s}" for s in _SUFFIXES]
_NUMBER_BEFORE_NAME = _rx(r"\b[0-9]{1,6}[A-Za-z]?,?\s+[A-Z0-9]")
"""Second-stage prefilter of `_ADDRESS`: a number right before a capitalized word ("12 Main", "Flat 3, 14 K")."""
_JA_STREET = _rx(r"\b[0-9]{1,5}\s+\p{Han}{1,4}\s+Street\b")
"""Faker ja_JP's street_address ("178 後藤 Street")."""

# --------------------------------------------------------------------------------------------------------
# street type first
# --------------------------------------------------------------------------------------------------------

_TYPES_CAP = [
    # Spanish / Catalan
    "Calle", "C/", "Avenida", "Avda", "Av", "Paseo", "Plaza", "Pasaje", "Camino", "Carretera", "Ronda",
    "Rambla", "Glorieta", "Travesía", "Callejón", "Cuesta", "Cañada", "Acceso", "Alameda", "Urbanización",
    "Vial", "Vía", "Pasadizo", "Bajada", "Subida", "Carrer", "Passeig", "Plaça", "Avinguda", "Carrera",
    "Diagonal", "Transversal", "Calzada", "Prolongación", "Privada", "Cerrada", "Andador", "Circuito",
    # Portuguese
    "C.", "Rua", "R.", "Travessa", "Praça", "Largo", "Estrada", "Rodovia", "Viela", "Lagoa", "Jardim", "Loteamento",
    "Estação", "Esplanada", "Favela", "Morro", "Distrito", "Recanto", "Setor", "Quadra", "Vila", "Parque",
    "Conjunto", "Chácara", "Condomínio", "Ladeira", "Passarela", "Residencial", "Sítio", "Trecho", "Vereda",
    "Pátio", "Praia", "Núcleo", "Fazenda", "Colônia", "Aeroporto", "Área", "Trevo", "Viaduto", "Beco", "Feira",
    "Vale", "Lago", "Campo",
    # Italian
    "Via", "Viale", "Piazza", "Piazzale", "Corso", "Vicolo", "Strada", "Contrada", "Borgo", "Incrocio",
    "Rotonda", "Stretto", "Canale", "Lungomare", "Lungotevere", "Località", "Frazione", "Salita", "Vico",
    "Galleria", "Traversa",
    # French (capitalized at a line start)
    "Rue", "Avenue", "Boulevard", "Bd", "Place", "Quai", "Allée", "Impasse", "Chemin", "Route", "Cours",
    "Passage", "Voie", "Sentier", "Faubourg", "Promenade", "Rond-point", "Square",
    # Polish, Romanian, Czech, Slovak, Croatian, Turkish, Greek (romanized)
    "Ul.", "Ulica", "Al.", "Aleja", "Pl.", "Plac", "Os.", "Osiedle", "Str.", "Bulevardul", "Bd.", "Calea",
    "Aleea", "Șoseaua", "Soseaua", "Splaiul", "Piața", "Intrarea", "Ulice", "Náměstí", "Trg", "Odos",
    "Leoforos", "Jl.", "Jalan", "Gg.", "Gang", "Jln.", "Soi", "Thanon",
]  # fmt: skip
_TYPES_LOWER = [
    "rue", "avenue", "boulevard", "bd", "place", "quai", "allée", "impasse", "chemin", "cours", "passage",
    "voie", "sentier", "faubourg", "ul.", "ulica", "al.", "aleja", "pl.", "plac", "os.", "osiedle", "str.",
    "calle", "avenida", "avda.", "rua", "travessa", "praça", "viale", "piazza", "corso", "vicolo", "strada",
    "carrer", "calea", "strada", "trg", "náměstí",
]  # fmt: skip
_PARTICLE = (
    r"(?:de|del|de la|de las|de los|do|da|dos|das|di|della|dello|delle|dei|degli|dal|e|y|i|im|am|der|den|van|"
    r"la|las|los|le|les|l'|d'|l’|d’|al|el|św\.|gen\.|ks\.|im\.)"
)


def _alt(words: list[str]) -> str:
    return "|".join(w.replace(".", r"\.").replace("/", r"/") for w in sorted(set(words), key=len, reverse=True))


_TYPE_FIRST = _rx(
    r"(?:^|[^" + _L + r"])(?:(?:" + _alt(_TYPES_CAP + _TYPES_LOWER) + r")\.?\s*"
    r"(?:(?:" + _PARTICLE + r")\s*)*" + _CAPWORD + r"(?:\s+(?:(?:" + _PARTICLE + r")\s+)*" + _CAPWORD + r")*"
    # no house number: a postal code and the place after it are needed ("avenue Julie Ledoux, 97310 Da Costa")
    r"(?:(?:,?\s+"
    + _PLACE
    + r"){0,2},?\s+"
    + _EU_POSTAL
    + r",?\s+"
    + _PLACE
    + r"|,?\s+"
    + _NO
    + _NUM
    + r"\b"
    + _UNIT
    + _EU_TAIL
    + ")"
    + ")"
)
"""A street type, its name, then a house number (and maybe a postal code and place), or no number but a
postal code ("avenue Julie Ledoux, 97310 ...", "Travessa Garcia, Piraja, 56104-231 Almeida")."""
_TYPE_NUMBERED = _rx(
    r"\b(?i:Calle|Carrera|Cra\.?|Cr\.?|Cl\.?|Avenida|Av\.?|Ak\.?|Ac\.?|Diagonal|Dg\.?|Transversal|Tv\.?|Tr\.?|Kr\.?)"
    r"\s+[0-9]{1,3}[A-Za-zª]{0,3}(?:\s+(?i:bis|sur|este|norte|oeste))*\s*(?:#|No\.?|N[º°o])\s*"
    r"[0-9]{1,3}[A-Za-z]?\s*-\s*[0-9]{1,3}\b(?:\s+(?i:sur|este|norte|oeste)\b)?"
)
"""Colombian style, the street is a number: "Calle 45 # 12-34", "Carrera 7 No. 71-21"."""
_TYPE_LITERALS = sorted(
    {w if w.endswith((".", "/")) else w + " " for w in _TYPES_CAP + _TYPES_LOWER}
    | {w + "." for w in _TYPES_CAP + _TYPES_LOWER if not w.endswith((".", "/")) and len(w) <= 5}
)
"""Prefilter: the type word and a space ("Via "), or an abbreviation with its dot ("ul.", "C.")."""

# --------------------------------------------------------------------------------------------------------
# street word glued to the name (and the same word standing alone after a name)
# --------------------------------------------------------------------------------------------------------

_GLUED_LONG = [
    # German, Austrian, Swiss
    "straße", "strasse", "str.", "gasse", "platz", "allee", "damm", "ufer", "chaussee", "steig", "stieg",
    "pfad", "zeile", "graben", "markt", "berg",
    # Dutch, Flemish
    "straat", "laan", "gracht", "plein", "kade", "singel", "dijk", "steeg", "dreef", "plantsoen", "boulevard",
    "baan", "kant", "hof",
    # Swedish, Danish, Norwegian
    "gatan", "gata", "vägen", "gränd", "torget", "stigen", "backen", "leden", "gade", "veien", "gaten",
    "vegen", "stræde", "allé", "torv", "plass",
    # Finnish, Estonian, Hungarian, others
    "katu", "kuja", "polku", "tori", "kaari", "raitti", "rinne", "väylä", "aukio", "tänav", "puiestee",
    "maantee", "utca", "körút", "sétány", "ulica", "iela", "gatvė", "prospekt", "cesta", "ulice", "třída",
    "náměstí", "nábřeží", "caddesi", "sokak", "sokağı", "bulvarı", "mahallesi", "veien", "gata", "plass",
]  # fmt: skip
_GLUED_SHORT = ["weg", "ring", "pad", "tie", "tee", "vej", "vei", "väg", "tér", "út", "park", "wal", "dam", "gate",
                "veg", "mnt", "cad.", "cd.", "sk.", "trg", "pr."]  # fmt: skip
"""Short endings that also end ordinary words ("During", "Committee"): the name must be no word."""
_GLUED_WORDS = _GLUED_LONG + _GLUED_SHORT


def _ci(word: str) -> str:
    """Case-insensitive first letter: "straße" -> "straße|Straße" (a glued or a separate "Straße"). As two
    literals, not a class and the rest: an alternation of plain literals compiles to a trie, whose automaton
    the regex engine builds three times faster (it builds it anew on every call)."""
    rest = word[1:].replace(".", r"\.")
    return "|".join(dict.fromkeys(first + rest for first in word[0] + word[0].upper()))


_GLUED_BEFORE_NUMBER = r"(?:" + "|".join(_ci(w) for w in _GLUED_WORDS) + r")\s*,?\s+" + _NO + "[0-9]"
"""Second-stage row filter of `_GLUED`: its street word (first letter in either case, as there) and the
spaces before the house number. Every text `_GLUED` matches holds this, so the job finds the same (as one
case-insensitive regex it also held other case forms, and cost three times more)."""


_GLUED = _rx(
    r"(?:^|[^"
    + _L
    + r"\-])(?:(?:"
    + _CAPWORD
    + r"[\s\-])?(?:["
    + _UP
    + r"]["
    + _L
    + r"\-]*?)?(?:"
    + "|".join(_ci(w) for w in sorted(_GLUED_WORDS, key=len, reverse=True))
    + r")\s*,?\s+"
    + _NO
    + _NUM
    + r"\b"
    + _UNIT
    + _EU_TAIL
    + ")"
)

# --------------------------------------------------------------------------------------------------------
# any capitalized name with a number, when a unit or a postal code + place follows
# --------------------------------------------------------------------------------------------------------

_GENERIC_UNIT_WORDS = ["Apt", "Apartment", "Suite", "Ste", "Unit", "Flat", "Piso", "Puerta", "Appartamento",
                       "Apto", "Wohnung", "lgh", "asunto", "as.", "m.", "lok."]  # fmt: skip
_GENERIC = _rx(
    r"(?:^|[^" + _L + r"0-9\-])(?:" + _CAPWORD + r"(?:\s+" + _CAPWORD + r"){0,2},?\s+" + _NUM + r"(?:"
    r",?\s*(?:"
    + _alt(_GENERIC_UNIT_WORDS)
    + r")\.?\s*#?\s*[0-9]{1,5}[A-Za-z]?\b(?:,?\s+"
    + _EU_POSTAL
    + r"(?:,?\s+"
    + _PLACE
    + r")?|,?\s+"
    + _PLACE
    + r"(?:,?\s+"
    + _EU_POSTAL
    + r")?)?"
    r"))"
)
"""Any capitalized name and number with a flat/suite unit after it ("Allika 46 Suite 501"); with a postcode
and place after it instead, `_NAME_NUMBER_POSTAL`."""
_NOT_STREETS = [
    "level", "room", "floor", "chapter", "section", "page", "table", "step", "part", "phase", "stage",
    "version", "model", "unit", "building", "block", "gate", "terminal", "platform", "line", "item", "week",
    "day", "grade", "class", "year", "season", "episode", "volume", "vol", "act", "scene", "round", "game",
    "match", "lot", "box", "order", "invoice", "ticket", "case", "flight", "train", "bus", "route", "row",
    "seat", "suite", "apt", "apartment", "flat", "studio", "piso", "puerta", "no", "nr", "number", "total",
    "windows", "python", "iphone", "ios", "android", "office", "ubuntu", "fifa", "version", "v", "vs", "q",
]  # fmt: skip

# --------------------------------------------------------------------------------------------------------
# other fixed shapes
# --------------------------------------------------------------------------------------------------------

_PO_BOX = _rx(r"\bP\.?\s?O\.?\s*Box\s+[0-9]{1,6}\b(?:" + _CITY + r")?")
_MILITARY = _rx(
    r"\b(?:(?:PSC|CMR|Unit)\s+[0-9]{1,5},?\s+Box\s+[0-9]{1,5}|(?:USNS|USNV|USS|USCGC)\s+[A-Z][A-Za-z]+)"
    r"(?:,?\s+(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+[0-9]{5}\b)?"
    r"|\b(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+[0-9]{5}\b"
)
_FR_STREET = ["rue", "avenue", "boulevard", "bd", "place", "quai", "allée", "impasse", "chemin", "route"]
_FR_ADDRESS = _rx(
    r"\b[0-9]{1,4}(?:\s?(?:bis|ter))?,?\s+(?:" + "|".join(_FR_STREET) + r")"
    r"\s+(?:(?:de|du|des|la|le|les)\s+|l'|d')*[A-ZÉÈ][" + _L + r"'’\-]+(?:\s+[A-ZÉÈ][" + _L + r"'’\-]+){0,3}"
    r"(?:,?\s+[0-9]{5}\s+" + _PLACE + r")?"
)
_JA_ADDRESS = (
    r"[\p{Han}\p{Katakana}ー][\p{Han}\p{Katakana}\p{Hiragana}ー]+[0-9０-９]{1,4}丁目(?:[0-9０-９]{1,4}番(?:地)?(?:[0-9０-９]{1,4}号?)?)?"
    r"(?:\s*[\p{Han}\p{Katakana}ー]+[0-9０-９]{1,5})?"
    r"|〒\s?[0-9]{3}-[0-9]{4}"
)
_CJK_ADDRESS = (
    r"\p{Han}{1,6}(?:省|市|区|區|県|都|道|府|郡|町|村|县|鎮|镇)[\p{Han}\p{Katakana}\p{Hiragana}ー]{0,20}?"
    r"[0-9０-９]{1,5}(?:[-－ー‐][0-9０-９]{1,4}){1,2}"
    r"|[\p{Han}]{2,12}(?:路|街|道|巷|胡同|大道|里|弄)[0-9０-９]{1,5}(?:号|號|弄)"
    r"|[\p{Hangul}]{1,10}(?:로|길|대로)\s?[0-9]{1,4}(?:-[0-9]{1,4})?(?:번길\s?[0-9]{1,4})?"
)
"""Japanese "渋谷区神南1-2-3", Chinese "建国路88号", Korean "테헤란로 123"."""
_CYR_ADDRESS = (
    r"(?:ул\.|улица|пр\.|просп\.|проспект|пер\.|переулок|ш\.|шоссе|бул\.|бульвар|пл\.|площадь|наб\.|вул\.|вулиця)"
    r"\s*\p{Lu}[\p{Cyrillic}\-]*(?:\s+\p{Lu}?[\p{Cyrillic}\-]+){0,3},?\s*(?:д\.|дом|буд\.)?\s*[0-9]{1,4}"
    r"(?:\s*[а-яА-Я]\b)?(?:,?\s*(?:кв\.|квартира|корп\.|стр\.)\s*[0-9]{1,4})*"
)
_OTHER_ADDRESS = (
    # Greek "Οδός Ερμού 12", "Λεωφόρος Κηφισίας 100"
    r"(?:Οδός|Οδ\.|Λεωφόρος|Λεωφ\.|Πλατεία|Πλ\.)\s*\p{Greek}[\p{Greek}\-]*(?:\s+\p{Greek}[\p{Greek}\-]*){0,3},?\s*[0-9]{1,4}"
    # Arabic "شارع الملك فهد 12", "12 شارع التحرير"
    r"|(?:شارع|طريق|ميدان|جادة)\s+\p{Arabic}+(?:\s+\p{Arabic}+){0,3},?\s*[0-9٠-٩]{1,5}"
    r"|[0-9٠-٩]{1,5},?\s*(?:شارع|طريق|ميدان|جادة)\s+\p{Arabic}+(?:\s+\p{Arabic}+){0,3}"
    # Hebrew "רחוב הרצל 12", "רח' הרצל 12"
    r"|(?:רחוב|רח['׳]|שדרות|שד['׳])\s*\p{Hebrew}+(?:\s+\p{Hebrew}+){0,3},?\s+[0-9]{1,4}"
    # Thai "ถนนสุขุมวิท 21", "123/4 ซอยสุขุมวิท"
    r"|(?:ถนน|ซอย|ถ\.|ซ\.)\s*[\p{Thai}]+\s*[0-9]{1,4}|[0-9]{1,4}(?:/[0-9]{1,3})?\s*(?:ถนน|ซอย|หมู่)\s*[\p{Thai}]+"
    # Cyrillic with the street word after the name: "Ленинский проспект, д. 5"
    r"|\p{Lu}[\p{Cyrillic}\-]+\s+(?:проспект|улица|переулок|шоссе|бульвар|площадь|набережная|проезд|вулиця|провулок)"
    r",?\s*(?:д\.|дом|буд\.)?\s*[0-9]{1,4}"
)
_QUANTITY_AFTER = _rx(
    r"^\s*(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|seconds?|secs?|times?|items?|pieces?|pcs"
    r"|units?|people|persons|kg|g|km|mi|m|cm|mm|ml|l|mb|gb|tb|kb|%|x|percent|euros?|dollars?|usd|eur|gbp"
    r"|pounds?|points?|pts|goals?|games?|votes?|users?|rows?|lines?|pages?|stars?|am|pm|copies|copy|packages?"
    r"|boxes|orders?|files?|e-?mails?|messages?|tickets?|customers?|seasons?|episodes?)\b"
)


def _lettered(cand: pl.DataFrame) -> pl.DataFrame:
    """Drop the one non-letter character a pattern matched before its value (`(?:^|[^letters])`: the regex
    has no look-behind, and a capture group would need the slower capturing engine on every match)."""
    lead = ~cand["text"].str.contains(r"^\p{L}")
    return cand.with_columns(
        start=pl.col("start") + lead.cast(pl.Int64),
        text=pl.when(lead).then(pl.col("text").str.slice(1)).otherwise(pl.col("text")),
    )


def _words(tokens: pl.Series) -> pl.DataFrame:
    """`first` (distinct lowercase tokens) and `w`: an ordinary word of the shipped lexicon (W)."""
    from ftdata_assets.transforms.pii.person import _lexicon_codes

    codes = _lexicon_codes()
    vocab = tokens.unique().drop_nulls()
    w = [(codes.get(x, 0) & 0b01000) > 0 for x in vocab.to_list()]
    return pl.DataFrame({"first": vocab, "w": pl.Series(w, dtype=pl.Boolean)})


# --------------------------------------------------------------------------------------------------------
# after an address cue, in any case: "i live at bostraat 653", "deliver to avenue Philippine Marty instead"
# --------------------------------------------------------------------------------------------------------

_CUE = _rx(
    r"(?i:\b(?:i\s+live\s+(?:at|on|in)|i\s*['’]?m\s+at|live[sd]?\s+at|living\s+at|(?:my\s+|new\s+|home\s+|billing\s+|"
    r"shipping\s+|delivery\s+)?address\s*(?:is|:|-)|deliver(?:ed|y)?\s+(?:it\s+|them\s+)?to|ship(?:ped|ping)?\s+"
    r"(?:it\s+|them\s+)?to|send\s+(?:(?:it|them|the|this|my|your|our|a)\s+)?(?:[a-z]+\s+)?to|moved\s+to|"
    r"office\s+is\s+at|located\s+at|resides?\s+at|mail\s+(?:it\s+)?to|visit\s+us\s+at|find\s+us\s+at|"
    r"wohne\s+(?:in\s+der|in|am|an\s+der)|j['’]habite\s+(?:au|à)|vivo\s+en|abito\s+in|moro\s+na|"
    r"mieszkam\s+(?:na|przy)|bor\s+på)\s*:?\s+)"
)
"""An address cue; the address is read from the text after it (`_cue_span`), in any letter case."""
_CUE_LITERALS = ["live", "address", "deliver", "ship", "send", "moved", "office", "located", "reside", "mail", "visit",
                 "find us", "i'm at", "im at", "wohne", "habite", "vivo en", "abito", "moro na", "mieszkam",
                 "bor på"]  # fmt: skip
_CUE_STOP = {
    "instead", "if", "last", "since", "and", "but", "please", "thanks", "thank", "for", "when", "because", "so",
    "tomorrow", "today", "yesterday", "next", "this", "now", "asap", "until", "before", "after", "by", "or",
    "grüße", "merci", "gracias", "grazie", "danke", "obrigado", "dziękuję", "cheers", "regards", "thx", "ty",
    "with", "from", "is", "was", "are", "the", "my", "your", "our",
}  # fmt: skip
"""Where a cue's address ends: the first of these after it ("... avenue Hubert instead?")."""


def _street_vocab() -> frozenset[str]:
    """Lowercase street words of every shape: suffixes and types (not the ambiguous two-letter ones; no unit
    words: "room 5" is no street)."""
    words = {w.lower().rstrip(".") for w in [*_SUFFIXES, *_TYPES_CAP, *_TYPES_LOWER]}
    return frozenset(w for w in words if len(w) > 2 or w in {"ul", "al", "st", "pl"}) - {"top", "casa", "bus"}


_STREET_VOCAB = _street_vocab()
_STREET_TYPES_LOW = frozenset(w.lower().rstrip(".") for w in [*_TYPES_CAP, *_TYPES_LOWER] if len(w.rstrip(".")) > 1)


_TOKEN = re.compile(r"\S+")


def _cue_span(value: str) -> int:
    """Characters of `value` (the text after an address cue) that are the address, 0 if it is none.

    An address here has a street word (a suffix, a type, a glued ending or a unit) and a number, or starts
    with a street type ("avenue Philippine Marty"). It ends before the first stop word or sentence end."""
    kept: list[re.Match[str]] = []
    lows: list[str] = []
    for tok in _TOKEN.finditer(value):
        word = tok.group()
        low = word.lower().rstrip(",.")
        if low in _CUE_STOP and kept:
            break
        kept.append(tok)
        lows.append(low)
        if word.endswith(".") and low not in _STREET_VOCAB and len(kept) > 1:
            break  # a sentence ends here ("... 36. Thanks")
    if not kept or kept[0].group().lower() in _CUE_STOP:
        return 0
    street = not _STREET_VOCAB.isdisjoint(lows) or _GLUED_END.search(" ".join(lows)) is not None
    # a digit in the kept words (the characters between them are spaces, never digits)
    digit = street and any(map(str.isdigit, value[: kept[-1].end()]))
    typed_first = lows[0] in _STREET_TYPES_LOW and len(kept) >= 2
    if not (digit or typed_first):
        n = _name_number(kept, value)
        return len(value[: kept[n - 1].end()].rstrip(",.")) if n else 0
    return len(value[: kept[-1].end()].rstrip(",."))


_HOUSE_NUMBER = re.compile(r"[0-9]{1,5}[A-Za-z]?(?:[/\-][0-9]{1,4}[A-Za-z]?)*[,.]?")
_NAME_WORD = re.compile(r"[^\W\d_][\w'’\-.]*,?")
_NOT_NAMES = frozenset(_NOT_STREETS) | {
    "home", "work", "offset", "position", "index", "address", "port", "column", "byte", "pin", "line", "least",
    "most", "about", "around", "in", "on", "at", "near", "ago", "according", "of", "to", "a", "an", "it", "them",
    "me", "us", "you", "him", "her", "once", "twice", "number", "noon", "midnight", "customers", "people",
}  # fmt: skip
_QUANTITY_WORD = re.compile(_QUANTITY_AFTER.replace("(?-u:\\b)", r"\b"))
"""`_QUANTITY_AFTER` for Python's `re` (a quantity word right after a number: "3 days")."""
_NOT_NAMES |= {
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue", "wed", "thu", "fri", "sat",
    "sun", "januar", "februar", "märz", "mai", "juni", "juli", "oktober", "dezember", "janvier", "février", "mars",
    "avril", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre", "enero", "febrero",
    "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    "team", "group", "tier", "node", "java", "react", "angular", "vue", "django", "rails", "postgres", "mysql",
    "kubernetes", "ruby", "php", "go", "rust", "gcc", "clang", "llvm", "debian", "fedora", "centos", "rhel",
    "macos", "win", "excel", "season", "series", "episode", "channel", "slack", "teams", "zoom", "sprint", "q1",
    "q2", "q3", "q4", "h1", "h2", "plan", "option", "slot", "desk", "window", "counter", "bay", "dock", "pier",
    "hall", "aisle", "zone", "area", "sector", "ward", "bed", "cabin", "deck", "car", "coach", "wagon", "bus",
}  # fmt: skip
_CUE_END = frozenset({"in", "on", "near", "around", "ago", "according", "at"})


def _name_number(kept: list[re.Match[str]], value: str) -> int:
    """How many of the words after a cue are a street without a street word: a name then a house number
    ("Ilica 12", "Nádražní 12/345") or a number then a name ("12 Ilica", "69 वर्मा"); 0 if they are not.
    In mixed-case text the name is capitalized (or in a script without case); a quantity after the number
    ("3 days") or a non-street noun ("room 5", "page 12") is none."""
    words = [k.group() for k in kept]
    for i, w in enumerate(words):
        if w.lower() in _CUE_END:
            words = words[:i]
            break
    words = words[:8]
    if len(words) < 2:
        return 0
    cased = any(c.isupper() for c in value)

    def name_ok(w: str) -> bool:
        low = w.lower().rstrip(",.")
        if not _NAME_WORD.fullmatch(w) or low in _NOT_NAMES or low in _CUE_STOP or len(low) < 2:
            return False
        return not cased or not w[0].islower()

    if _HOUSE_NUMBER.fullmatch(words[0]):  # number first
        if re.fullmatch(r"(?:19|20)[0-9]{2}", words[0].rstrip(",.")) or not name_ok(words[1]):
            return 0
        if _QUANTITY_WORD.match(" " + words[1].lower()):
            return 0
        n = 2
        while n < len(words) and name_ok(words[n]) and not words[n - 1].endswith((",", ".")):
            n += 1
        return n if _not_all_words(words[1:n]) else 0
    n = 0
    while n < min(len(words), 4) and name_ok(words[n]) and not words[n].endswith((",", ".")):
        n += 1
    if n == 0 or n >= len(words) or not _HOUSE_NUMBER.fullmatch(words[n]):
        return 0
    if re.fullmatch(r"(?:19|20)[0-9]{2}", words[n].rstrip(",.")):
        return 0
    if n + 1 < len(words) and _QUANTITY_WORD.match(" " + words[n + 1].lower()):
        return 0
    return n + 1 if _not_all_words(words[:n]) else 0


def _not_all_words(names: list[str]) -> bool:
    """Some name is no ordinary English word ("Ilica", "Nádražní"; not "Customer", "Desk", "Maple"): a street
    named by English words alone has a street word ("Maple Street"), read by the other shapes."""
    from ftdata_assets.transforms.pii.person import _lexicon_codes

    codes = _lexicon_codes()
    return any((codes.get(w.lower().rstrip(",."), 0) & 0b01000) == 0 for w in names)


_CUE_TYPES = sorted(_STREET_TYPES_LOW)
_GLUED_ENDINGS = tuple(w.rstrip(".") for w in _GLUED_WORDS)
_GLUED_END = re.compile(
    "(?:" + "|".join(re.escape(w) for w in sorted(_GLUED_ENDINGS, key=len, reverse=True) if len(w) > 2) + r")(?: |$)"
)
"""A word that ends with a glued street ending of three letters or more ("desk" ends in no "sk." street; one
regex over the joined words, not one `endswith` each)."""


_CUE_WORDS = sorted({*_STREET_VOCAB, *_GLUED_ENDINGS, *_CUE_TYPES})
"""Every address `_cue_span` accepts holds one of these (a vectorized screen before the per-cue read)."""


_CUE_NAME_NUMBER = (
    r"^\s*(?:[0-9]{1,5}[A-Za-z]?(?:[/\-][0-9]{1,4})*,?\s+\p{L}"
    r"|\p{L}[\p{L}'’\-.]*(?:\s+\p{L}[\p{L}'’\-.]*){0,3}\s+[0-9])"
)
"""The text after a cue starts with a number then a word, or up to four words then a number."""


def _cue_rows(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.filter(pl.col("t").str.contains_any(_CUE_LITERALS, ascii_case_insensitive=True))


def _after_cues(rows: pl.DataFrame, cues: pl.DataFrame | None = None) -> pl.DataFrame:
    """Addresses right after a cue. The cue is one cheap regex (`cues`: its matches, given with `rows` that
    are `_cue_rows` already); the 120 characters after each cue are read in Python (a call per cue, not per
    text), which decides where, and whether, an address is there."""
    if cues is None:
        rows = _cue_rows(rows)
        cues = _find(rows, _CUE)
    if cues.height == 0:
        return pl.DataFrame(schema=_CAND)
    after = cues.join(rows, on="row", how="left").select(
        "row", start=pl.col("end"), value=pl.col("t").str.slice(pl.col("end"), 120)
    )
    # only a text after a cue that holds a street word or a name next to a number can hold an address
    after = after.filter(
        pl.col("value").str.contains_any(_CUE_WORDS, ascii_case_insensitive=True)
        | pl.col("value").str.contains(_CUE_NAME_NUMBER)
    )
    spans = pl.Series([_cue_span(v) for v in after["value"].to_list()], dtype=pl.Int64)
    after = after.with_columns(n=spans).filter(pl.col("n") > 0)
    return after.select(
        "row", "start", end=pl.col("start") + pl.col("n"), text=pl.col("value").str.slice(0, pl.col("n"))
    ).cast(_CAND)


# --------------------------------------------------------------------------------------------------------
# matches with one regex pass
# --------------------------------------------------------------------------------------------------------

_OPEN, _CLOSE = "\x1e", "\x1f"
"""Marks `_find` writes around each match (the record/unit separators; texts are searched with them replaced)."""


@functools.cache
def _own_thread(name: str) -> ThreadPoolExecutor:
    """A long-lived thread for one part of this recognizer (see `_find_all`: its regex cache is its own)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ftdata-pii-{name}")


def _find_all(jobs: list[tuple[pl.DataFrame, str]]) -> list[pl.DataFrame]:
    """`base._matches(rows, pattern)` of every (rows, pattern) job, with one regex pass per job instead of two
    (`extract_all` and `split` each build the big patterns' automata anew): the matches are marked in place
    (`replace_all`), and the marked texts of all jobs are cut at the marks together with literal splits (the
    fixed cost of those steps is paid once, not per pattern). Same offsets (characters); the texts must hold
    no mark (`_unmarked`).

    The jobs run in a thread of their own, each `replace_all` as the only expression of its call (polars
    evaluates that in the calling thread, several expressions in its pool): polars keeps compiled patterns in
    a cache of 32 per thread, so in the pool or in a thread that also runs the other recognizers, every batch
    compiled these patterns again (about 15 ms on 6,000 texts); in this thread they stay compiled (keep them
    under 32)."""
    return _own_thread("location-jobs").submit(_find_all_here, jobs).result()


def _find_all_here(jobs: list[tuple[pl.DataFrame, str]]) -> list[pl.DataFrame]:
    """`_find_all` in the calling thread."""
    live = [(i, rows, pattern) for i, (rows, pattern) in enumerate(jobs) if rows.height]
    if not live:
        return [pl.DataFrame(schema=_CAND) for _ in jobs]
    # the columns of all jobs built at once, not a frame per job
    marked = pl.concat(
        [rows.get_column("t").str.replace_all(pattern, _OPEN + "${0}" + _CLOSE) for _, rows, pattern in live]
    )
    hit = marked.str.contains(_OPEN, literal=True).to_numpy()
    if not hit.any():
        return [pl.DataFrame(schema=_CAND) for _ in jobs]
    job = np.repeat(np.array([i for i, _, _ in live], dtype=np.int64), [rows.height for _, rows, _ in live])[hit]
    row = pl.concat([rows.get_column("row") for _, rows, _ in live]).filter(pl.Series(hit))
    # pieces of a marked text: the text before its first match, then "match<CLOSE>text up to the next match";
    # a piece's start is the running sum of the pieces' character lengths before it, from its text's first
    pieces = marked.filter(pl.Series(hit)).str.split(_OPEN)
    per_text = pieces.list.len().cast(pl.Int64).to_numpy()
    ab = pieces.explode().str.split_exact(_CLOSE, 1).struct.unnest()
    a, b = ab.get_column("field_0"), ab.get_column("field_1")
    a_len = a.str.len_chars().cast(pl.Int64).to_numpy()
    b_len = b.str.len_chars().fill_null(0).cast(pl.Int64).to_numpy()
    step = a_len + b_len
    before = np.cumsum(step) - step
    first = np.cumsum(per_text) - per_text
    start = before - np.repeat(before[first], per_text)
    match = b.is_not_null().to_numpy()
    text_of = np.repeat(np.arange(len(per_text)), per_text)[match]
    out = pl.DataFrame(
        {
            "row": row.gather(pl.Series(text_of, dtype=pl.UInt32)),
            "start": start[match],
            "end": start[match] + a_len[match],
            "text": a.filter(pl.Series(match)),
        },
        schema=_CAND,
    )
    # the jobs' matches are contiguous and in job order
    bounds = np.searchsorted(job[text_of], np.arange(len(jobs) + 1))
    return [out.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i])) for i in range(len(jobs))]


def _in_jobs_thread(step: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    """Run a step whose regexes would otherwise go through polars' shared pool (a frame filter, several
    expressions) in the pattern jobs' thread, as one-expression calls: its cache has room for these few besides
    the jobs' patterns (this recognizer's own thread has not), and in the pool every recognizer's patterns pass
    through one cache per thread, so each batch compiled them again."""
    return _own_thread("location-jobs").submit(step).result()


def _find(rows: pl.DataFrame, pattern: str) -> pl.DataFrame:
    """`_find_all` of one job."""
    return _find_all([(rows, pattern)])[0]


def _unmarked(base: pl.DataFrame) -> pl.DataFrame:
    """The texts with `_find`'s marks replaced by spaces (one character each: offsets unchanged; findings
    take their text from the original afterwards)."""
    t = pl.col("t")
    if not base.select(t.str.contains_any([_OPEN, _CLOSE]).any()).item():
        return base
    return base.with_columns(t.str.replace_all("[" + _OPEN + _CLOSE + "]", " "))


# --------------------------------------------------------------------------------------------------------
# more street words after the name, postcodes after the place, P.O. boxes of other countries
# --------------------------------------------------------------------------------------------------------

_AFTER_NAME = [
    # Baltic, Estonian, Hungarian, Slovene/Croatian/Slovak, Turkish, Icelandic, Nordic, Indian, Malay
    "g.", "gatvė", "prospektas", "alėja", "tn", "tn.", "mnt.", "pst", "pst.", "gatve", "bulvāris", "prospekts",
    "laukums", "šoseja", "u.", "útja", "köz", "sor", "rakpart", "put", "obala", "pot", "nabrežje", "nábrežie",
    "námestie", "trieda", "blv.", "bulvar", "vegur", "stræti", "braut", "stígur", "plads", "vænget", "torg", "kai",
    "lände", "marg", "nagar", "salai", "chowk", "vihar", "enclave", "peth", "gali", "jalan", "lorong", "ulitsa",
]  # fmt: skip
"""Street words written after the street's name as a separate word ("Vilniaus g. 12", "Pärnu mnt 5",
"Kossuth u. 5", "Slovenska cesta 12", "Karl Johans gate 5"): a capitalized name must come before."""
_NAMED = _rx(
    r"(?:^|[^"
    + _L
    + r"\-])"
    + _CAPWORD
    + r"(?:[ \t]+(?:"
    + _CAPWORD
    + r"|"
    + _PARTICLE
    + r")){0,3}\s+(?:"
    + _alt(_AFTER_NAME)
    + r")(?:\s*,)?\s*(?:(?:No|Nr|nr|br|č)\.?\s*:?\s*)?[0-9]{1,5}[A-Za-z]?(?:\s?[/\-]\s?[0-9]{1,4}[A-Za-z]?)?\b"
    + _UNIT
    + r"(?:,?\s+(?:[0-9]{4,6}|[0-9]{3} [0-9]{2}|[A-Z]{1,2}-[0-9]{4,5})\s+"
    + _PLACE
    + r")?"
)
_NAMED_LITERALS = sorted({w if w.endswith(".") else w + " " for w in _AFTER_NAME} | {w + "," for w in _AFTER_NAME})

_GLUED_NORDIC = [
    "vænget", "parken", "toften", "bakken", "haven", "marken", "engen", "stien", "svinget", "kæret", "løkken",
    "lunden", "højen", "vegur", "stræti", "braut", "stígur", "hlíð", "holt", "bakki", "teigur", "gerði", "vellir",
    "hvammur", "mýri", "svingen", "åsen", "haugen", "jordet", "tunet", "løkka", "plassen", "ringen", "slingan",
    "raden", "gången", "allén", "fasor", "lakótelep", "dűlő", "liget",
]  # fmt: skip
"""Danish, Norwegian, Swedish, Icelandic and Hungarian street endings glued to the name ("Solvænget 4",
"Laugavegur 12", "Storgata" is `_GLUED`'s): a capital and at least one letter come first."""
_GLUED_MORE = _rx(
    r"(?:^|[^"
    + _L
    + r"\-])(?:"
    + _CAPWORD
    + r"[ \t])?["
    + _UP
    + r"]["
    + _L
    + r"\-]*?(?:"
    + "|".join(_GLUED_NORDIC)
    + r")\s*,?\s+"
    + _NUM
    + r"\b(?:,?\s*[0-9]{1,2}\.?\s*(?:th|tv|mf|sal|st)\.?)?"
    + _UNIT
    + _EU_TAIL
)
_ANY_POSTAL = (
    r"(?:[0-9]{3,6}|[0-9]{2}-[0-9]{3}|[0-9]{3} [0-9]{2}|[0-9]{4} ?[A-Z]{2}|[0-9]{4,5}-[0-9]{3}|[A-Z]{1,2}-[0-9]{4,5})"
)
"""Postcodes of most countries: 4 to 6 digits, "00-950" (PL), "111 22" (SE/CZ/SK/GR), "1017 AB" (NL),
"1100-048" (PT), "01310-100" (BR), "LV-1010", "CH-8001", "D-10115"."""
_NAME_NUMBER_POSTAL = _rx(
    r"(?:^|[^"
    + _L
    + r"0-9\-])"
    + _CAPWORD
    + r"(?:[ \t]+(?:"
    + _CAPWORD
    + r"|"
    + _PARTICLE
    + r")){0,3},?\s+"
    + _NO
    + _NUM
    + r"\b(?:,?\s*[A-Za-z]{0,4}\.?\s?[0-9]{0,4}){0,2}"
    r"(?:,?\s+" + _ANY_POSTAL + r"\s+" + _PLACE + r"|,\s*" + _PLACE + r",?\s+" + _ANY_POSTAL + r"\b)"
)
"""Any capitalized street name and number when a postcode and place follow, in either order: "Ilica 12,
10000 Zagreb", "Nádražní 12/345, 110 00 Praha", "Laugavegur 12, 101 Reykjavík", "Brīvības 12-5, Rīga,
LV-1010", "Queen St 12, Auckland 1010"."""
_POSTAL_AFTER_NUMBER = _rx(r"[0-9][A-Za-z]?,?\s+" + _ANY_POSTAL + r"\s+[" + _UP + r"]|[0-9],\s*[" + _UP + r"]")

_HOUSE_NO = _rx(
    r"\b(?:House|Holding|Building|Bldg\.?|Plot|Flat|Apartment|H\.?)\s*(?:No|#)\.?\s*:?\s*[0-9]{1,5}[A-Za-z]?"
    r"(?:[/\-][0-9]{1,4}[A-Za-z]?)*,\s*(?:(?:Road|Block|Sector|Lane)\s*(?:No|#)\.?\s*[0-9]{1,4}[A-Za-z]?,\s*)?"
    r"[" + _UP + r"][" + _L + r"'’\-]+(?:[ \t]+[" + _UP + r"][" + _L + r"'’\-]+){0,3}"
    r"|\b(?:No\.?\s*)?[0-9]{1,5}[A-Za-z]?(?:-[0-9]{1,4}[A-Za-z]?)?,?\s+(?:Jalan|Jln\.?|Lorong|Lrg\.?|Persiaran|Lebuh|Jl\.|Gang|"
    r"Gg\.|Soi|Thanon)\s+[" + _UP + r"0-9][" + _L + r"0-9'’\-]*(?:[ \t]+[" + _UP + r"0-9][" + _L + r"0-9'’\-]*){0,3}"
)
"""South Asian house numbers ("House No. 12, Dhanmondi", "Holding No. 3, Road No. 5, Banani") and a number
before a Malay, Indonesian or Thai street type ("51, Jalan Yew", "No. 7 Lorong 3E")."""
_HOUSE_NO_WORDS = ["House", "Holding", "Building", "Bldg", "Plot", "Flat", "Apartment", "H.", "H ", "Jalan", "Jln",
                   "Lorong", "Lrg", "Persiaran", "Lebuh", "Jl.", "Gang", "Gg.", "Soi", "Thanon"]  # fmt: skip
_PO_BOX_WORLD = _rx(
    r"\b(?:P\.?\s?O\.?\s*Box|Post(?:al)?\s+Office\s+Box|Postfach|Postbus|Postboks|Postbox|Box|BP|B\.P\.|"
    r"Boîte\s+postale|Apartado(?:\s+(?:de\s+)?Correos)?|Apdo\.?|Caixa\s+Postal|C\.?\s?P\.|Casilla(?:\s+de\s+Correo)?|"
    r"Casella\s+Postale|PL|Pf\.?|Skrytka\s+pocztowa|Poštovní\s+přihrádka|P\.?\s?P\.?)\s*[0-9]{1,6}(?:\s[0-9]{2}){0,2}\b"
    r"(?:,?\s+(?:"
    + _ANY_POSTAL
    + r"\s+"
    + _PLACE
    + r"|"
    + _CAPWORD
    + r"(?:\s+"
    + _CAPWORD
    + r"){0,2},?\s+"
    + _POSTAL
    + r"))?"
)
"""P.O. boxes: "PO Box 123", "Postfach 10 02 03, 80331 München", "Apartado 45", "Caixa Postal 12", "BP 45",
"PL 123, 00101 Helsinki" (a box needs a postcode and place after it unless its word says post box)."""

# --------------------------------------------------------------------------------------------------------
# other scripts: names before a number, street words of more languages, Eastern Arabic digits
# --------------------------------------------------------------------------------------------------------

_D = r"[0-9٠-٩۰-۹]"
"""A digit, Western or Eastern Arabic (Arabic, Persian)."""
_WORLD_CYR_START = (
    r"(?i:ул\.|улица|пр\.|пр-т|пр-кт|просп\.|проспект|пер\.|переулок|ш\.|шоссе|б-р|бул\.|бульвар|пл\.|площадь|"
    r"наб\.|набережная|алл\.|аллея|проезд|туп\.|тупик|мкр\.?|микрорайон|вул\.|вулиця|пров\.|провулок|просп\.|"
    r"бульв\.|площа|майдан|узвіз|шосе|булевар|ул)\s*\p{Cyrillic}"
)
"""How the first shape of `_WORLD_ADDRESS` starts (a Cyrillic street type in any case, then a name)."""
_WORLD_CYR_TYPE_FIRST = (
    # Cyrillic, type first in any case: "ул. Ленина, д. 5", "пр. загородный, д. 81", "вул. Хрещатик, 22"
    _WORLD_CYR_START + r"[\p{Cyrillic}\-]*(?:\s+[\p{Cyrillic}0-9\-]+){0,3}"
    r",?\s*(?:д\.|дом|буд\.|будинок)?\s*[0-9]{1,4}(?:\s*[а-яА-Яі]\b)?(?:/[0-9]{1,4})?"
    r"(?:,?\s*(?:кв\.|квартира|корп\.|к\.|стр\.|оф\.|офис)\s*[0-9]{1,4})*"
)
_WORLD_OTHER = (
    # Cyrillic and Greek: a capitalized name, a number, then a comma or a postcode ("Женевска 171, 88332
    # Свети Николе", "Ερμού 12, 105 63 Αθήνα")
    r"\p{Lu}[\p{Cyrillic}\-]+(?:\s+\p{Lu}?[\p{Cyrillic}\-]+){0,3},?\s+[0-9]{1,4}[а-я]?(?:/[0-9]{1,4})?"
    r"(?:,\s*(?:[0-9]{4,6}\s+)?\p{Lu}\p{Cyrillic}+|,?\s+[0-9]{4,6}\b)"
    # ... or capitalized words only and a house number of at most three digits at the end of a line (not a
    # year: "Москва 2024"; not "Встреча с Андрей Смирнов в 10")
    r"|\p{Lu}[\p{Cyrillic}\-]+(?:[ \t]+\p{Lu}[\p{Cyrillic}\-]+){0,3}[ \t]+[0-9]{1,3}[а-я]?(?:/[0-9]{1,3})?(?m:$)"
    r"|\p{Lu}[\p{Greek}\-]+(?:\s+\p{Greek}[\p{Greek}\-.]*){0,3}\s+[0-9]{1,4}[α-ω]?"
    r"(?:,\s*(?:[0-9]{3}\s?[0-9]{2}\s+)?\p{Lu}\p{Greek}+|,?\s+[0-9]{3}\s?[0-9]{2}\b|\s*,|(?m:$))"
    # Kazakh: the street word after the name ("Абай даңғылы, 10", "Сәтпаев көшесі 5")
    r"|\p{Lu}[\p{Cyrillic}\-]+(?:\s+\p{Cyrillic}+){0,2}\s+(?:көшесі|даңғылы|шағын\s+ауданы|көш\.|даң\.)"
    r",?\s*(?:үй\s*)?[0-9]{1,4}"
    # Persian and Arabic, Eastern digits too: "خیابان آزادی، پلاک ۱۲", "١٢ شارع التحرير"
    r"|(?:خیابان|خ\.|کوچه|کوی|بن‌بست|بلوار|میدان|بزرگراه|جاده|شارع|طريق|ميدان|جادة|حي|نهج|زنقة|حارة|عطفة|درب|"
    r"كورنيش)\s+[\p{Arabic}\s‌]{2,40}?[،,]?\s*(?:پلاک|رقم|عمارة|شقة|برج)?\s*" + _D + r"{1,5}"
    r"|" + _D + r"{1,5}[،,]?\s*(?:شارع|طريق|ميدان|جادة|خیابان|کوچه|کوی|بلوار|نهج|زنقة|حارة|عطفة|درب|كورنيش)\s+"
    r"\p{Arabic}+(?:\s+\p{Arabic}+){0,3}"
    r"|(?:پلاک|عمارة|عماره)\s*" + _D + r"{1,5}[،,]?\s*\p{Arabic}+(?:\s+\p{Arabic}+){0,3}"
    # Thai districts and provinces before a postcode ("แขวงคลองเตย เขตคลองเตย กรุงเทพมหานคร 10110")
    r"|(?:แขวง|เขต|ตำบล|อำเภอ|จังหวัด|ต\.|อ\.|จ\.)\s*\p{Thai}+(?:\s+\p{Thai}+){0,4}\s*[0-9]{5}"
    # Hebrew without the street word: a name, a number, a comma and a place ("הרצל 12, תל אביב")
    r"|\p{Hebrew}{2,}(?:\s+\p{Hebrew}{2,}){0,2}\s+[0-9]{1,4}(?:/[0-9]{1,3})?,\s*\p{Hebrew}{2,}"
    # Korean lot addresses ("역삼동 123-45"), Georgian "ჭავჭავაძის ქ. 12", Armenian "Աբովյան փ. 12"
    r"|\p{Hangul}{1,8}(?:동|읍|면|리|가)\s?[0-9]{1,4}(?:-[0-9]{1,4})?"
    r"|\p{Georgian}+(?:\s+\p{Georgian}+){0,2}\s+(?:ქ\.|ქუჩა|გამზ\.|გამზირი)\s*[0-9]{1,4}"
    r"|\p{Armenian}+(?:\s+\p{Armenian}+){0,2}\s+(?:փ\.|փողոց|պող\.|պողոտա)\s*[0-9]{1,4}"
    r"|(?:\p{Armenian}+\s+)?\p{Lu}\p{Armenian}+\s+[0-9]{1,4}(?:/[0-9]{1,3})?(?:,\s*\p{Armenian}+)?"
)
_WORLD_ADDRESS = _WORLD_CYR_TYPE_FIRST + "|" + _WORLD_OTHER
"""Addresses in other scripts. Its Unicode word boundaries (after a Cyrillic house-number letter, after a
postcode) keep the regex engine off its DFA on non-ASCII text, ten times slower: `_WORLD_ADDRESS_FAST` reads
the texts where it finds the same."""
_WORLD_ADDRESS_FAST = _rx(_WORLD_OTHER)
"""`_WORLD_ADDRESS` on a text where `_WORLD_CYR_START` is nowhere (its first shape cannot match) and no digit
has a non-ASCII word character right after it: there, the word boundaries left (each right after a digit)
are the ASCII ones, so the matches are the same."""
_WORLD_UNICODE_ROWS = _WORLD_CYR_START + r"|[0-9][\w&&[^\x00-\x7F]]"
"""The texts `_WORLD_ADDRESS` reads itself (the others go to `_WORLD_ADDRESS_FAST`)."""

_CYR_LITERALS = ["ул.", "улица", "пр.", "просп", "пер.", "переулок", "шоссе", "бул.", "бульвар", "пл.", "площадь",
                 "наб.", "вул.", "вулиця", "ш."]  # fmt: skip
_OTHER_LITERALS = ["Οδ", "Λεωφ", "Πλατεία", "Πλ.", "شارع", "طريق", "ميدان", "جادة", "רחוב", "רח", "שדרות", "שד",
                   "ถนน", "ซอย", "ถ.", "ซ.", "หมู่", "проспект", "улица", "переулок", "шоссе", "бульвар", "площадь",
                   "набережная", "проезд", "вулиця", "провулок"]  # fmt: skip
_WORLD_ROWS = r"[\p{Cyrillic}\p{Greek}\p{Arabic}\p{Hebrew}\p{Hangul}\p{Georgian}\p{Armenian}\p{Thai}]"
_CJK_CHARS = ["省", "市", "区", "區", "県", "都", "府", "郡", "町", "村", "县", "路", "街", "巷", "号", "號", "로",
              "길"]  # fmt: skip


# --------------------------------------------------------------------------------------------------------
# no house number: a street type and a capitalized name ("rue Marques", "calle Mayor, Madrid")
# --------------------------------------------------------------------------------------------------------

_LOWER_TYPES = ["rue", "avenue", "boulevard", "allée", "impasse", "quai", "chemin", "rua", "travessa", "avenida",
                "calle", "viale", "piazza", "corso", "strada", "ulica", "aleja", "calea", "strada"]  # fmt: skip
_TYPE_NAME = _rx(
    r"\b(?:" + _alt(_LOWER_TYPES) + r")\s+(?:(?:de|du|des|de la|de los|de las|del|da|do|das|dos|di|della|delle|"
    r"dei|degli)\s+|[ld][’'])?["
    + _UP
    + r"]["
    + _L
    + r"'’\-]+(?:\s+(?:(?:de|du|des|la|le|da|do|di|del|della)\s+)?["
    + _UP
    + r"]["
    + _L
    + r"'’\-]+){0,3}"
)
"""A lower-case street type before a capitalized name is a street even without a number (French, Iberian,
Italian, Polish, Romanian usage: "rue Gabriel Poirier", "avenida Paulista", "ulica Długa")."""
_FUNCTION_WORD_NAME = (
    r"^\S+\s+(?i:for|the|and|of|to|in|on|with|at|by|from|this|that|it|is|as|or|but|if|we|you|i|a|an|my|our|"
    r"your|their|new|more|most|all|any|each)\b"
)
"""A capitalized function word after the type is a sentence, not a name ("an avenue For growth")."""

# --------------------------------------------------------------------------------------------------------
# after a field label: "Address: ...", "Adresse :", "Dirección:", "\"address\": \"...\"", "addr=..."
# --------------------------------------------------------------------------------------------------------

_LABEL_WORDS = [
    "address", "addr", "street", "adresse", "anschrift", "straße", "strasse", "dirección", "direccion",
    "domicilio", "indirizzo", "endereço", "endereco", "morada", "adres", "adresa", "adresas", "adrese", "aadress",
    "osoite", "katuosoite", "cím", "lakcím", "adress", "adressa", "adressen", "adresi", "ünvan", "naslov", "adresă",
    "Адрес", "адрес", "Адреса", "адреса", "Мекенжай", "мекенжай", "Διεύθυνση", "διεύθυνση", "כתובת", "العنوان",
    "عنوان", "آدرس", "住所", "地址", "주소", "ที่อยู่",
]  # fmt: skip
_LABEL = (
    r"(?:(?i-u:"
    + _alt([w for w in _LABEL_WORDS if w.isascii()])
    + r")|"
    + _alt(sorted({v for w in _LABEL_WORDS if not w.isascii() for v in (w, w.capitalize(), w.upper())}))
    + r")(?i-u:[ _\-](?:line\s?1|1))?[\"']?[ \t]*[:=：][ \t]*[\"']?"
    r"(?:\r?\n[ \t]*)?[^\n\"|<>{}\t]{3}[^\n\"|<>{}\t]*"
)
"""A field label and the rest of its line (CSV/JSON/key=value keys too: "shipping_address", "addr")."""
_LABEL_VETO = re.compile(
    r"(?i)(?:e-?mail|ip|ipv4|ipv6|mac|web|memory|wallet|bitcoin|btc|eth|server|bind|listen|remote|local|host|"
    r"proxy|gateway|dns|broadcast|network|multicast|base|reply|contract|hardware|"
    r"virtual|mem|ptr|start|end|load|link|url|uri|web)[ _\-]?(?:address|addr)"
)
_LABEL_POSTAL = re.compile(
    r"(?<![\w-])(?:[0-9]{4,6}|[0-9]{2}-[0-9]{3}|[0-9]{3} [0-9]{2}|[0-9]{4} ?[A-Z]{2}|[A-Z]{1,2}-[0-9]{4,5}"
    r"|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}|[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9])(?![\w-])"
)
"""A postcode somewhere in a labelled value (4-6 digits, PL, SE/CZ, NL, prefixed, UK, Canada)."""
_LABEL_KEY_END = re.compile(r"[:=：]\s*[\"']?")
_KV_NEXT = re.compile(r"\s+[A-Za-z_]+=|\s{3,}|\s+[A-Z][a-z]+:\s| - |;")


_MACHINE_VALUE = re.compile(r"[\s0-9a-fA-FxX:.\-/\[\]%]+")
_MACHINE_PART = re.compile(r"[A-Za-z]:[0-9]|::|0x[0-9a-f]")
"""A labelled value of hex digits and separators, or holding a drive/port/IPv6/hex mark: no postal address."""
_TWO_LETTERS = re.compile(r"[^\W\d_]{2}")
_AFTER_NAME_SET = frozenset(_AFTER_NAME)


def _label_value(left: str, match: str) -> tuple[int, int]:
    """(start, length) of the address in a label match ("Address: 12 Main St" -> the part after ": "), or
    (0, 0) when the value is no postal address (an e-mail, IP or memory address, a URL, a number alone).
    `left` is the text before the label ("IP " in "IP address: ...")."""
    key = _LABEL_KEY_END.search(match)
    if key is None or _LABEL_VETO.search(left[-12:] + match[: key.start()]):
        return 0, 0
    start = key.end()
    value = match[start : start + 160]
    lead = len(value) - len(value.lstrip())
    value = value.strip()
    cut = _KV_NEXT.search(value)
    if cut:
        value = value[: cut.start()]
    value = value.rstrip(" ,.;'\"")
    if len(value) < 4 or "@" in value or "://" in value or "www." in value.lower():
        return 0, 0
    if _MACHINE_VALUE.fullmatch(value) or _MACHINE_PART.search(value):
        return 0, 0
    if not _TWO_LETTERS.search(value):
        return 0, 0
    words = [w.lower().strip(",.") for w in value.split()]
    if words[0] in _CUE_STOP or words[0] in {"of", "to", "in", "on", "a", "an", "for", "see", "none", "n/a", "unknown"}:
        return 0, 0
    if any(w in _NOT_NAMES for w in words[:2]):
        return 0, 0  # "Level 3 of the parking lot"
    has_digit = any(c.isdigit() for c in value)
    street = any(w in _STREET_VOCAB or w.endswith(_GLUED_ENDINGS) or w in _AFTER_NAME_SET for w in words)
    if street and (has_digit or len(words) >= 2):
        return start + lead, len(value)
    # no street word: a postcode, or a street name next to a house number ("Ilica 12"), not prose with a
    # number ("siehe oben, Punkt 3", "3 items pending")
    tokens = list(_TOKEN.finditer(value))
    if has_digit and (_LABEL_POSTAL.search(value) or _name_number(tokens, value)):
        return start + lead, len(value)
    return 0, 0


def _label_rows(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.filter(pl.col("t").str.contains_any(_LABEL_WORDS, ascii_case_insensitive=True))


def _labelled(rows: pl.DataFrame, found: pl.DataFrame | None = None) -> pl.DataFrame:
    """Addresses in labelled fields. The label is one regex over the rows that hold a label word (`found`:
    its matches, given with `rows` that are `_label_rows` already); each match's value is checked in Python
    (a call per label, not per text)."""
    if found is None:
        rows = _label_rows(rows)
        found = _find(rows, _LABEL)
    if found.height == 0:
        return pl.DataFrame(schema=_CAND)
    left = _context(found, rows, 12)["left_ctx"].to_list()
    spans = [_label_value(x, m) for x, m in zip(left, found["text"].to_list(), strict=True)]
    found = found.with_columns(
        off=pl.Series([a for a, _ in spans], dtype=pl.Int64), n=pl.Series([b for _, b in spans], dtype=pl.Int64)
    ).filter(pl.col("n") > 0)
    return found.select(
        "row",
        start=pl.col("start") + pl.col("off"),
        end=pl.col("start") + pl.col("off") + pl.col("n"),
        text=pl.col("text").str.slice(pl.col("off"), pl.col("n")),
    ).cast(_CAND)


_CJK_MORE = (
    r"\p{Han}{1,6}(?:省|市|都|府)\p{Han}{1,8}?(?:区|區|县|縣|市|郡)\p{Han}{1,12}?(?:路|街|道|巷|大道|胡同|镇|鎮|乡|鄉|村)"
    r"(?:[0-9０-９]{1,5}(?:号|號|弄))?"
    r"|[\p{Han}\p{Katakana}ー]{2,}[一二三四五六七八九十0-9０-９]{1,4}丁目(?:[0-9０-９]{1,4}(?:番地?|[-－ー‐−–])[0-9０-９]{1,4}号?)?"
    r"|\p{Han}{1,6}(?:区|區|市|町)\p{Han}{1,8}[0-9０-９]{1,4}[−–‑][0-9０-９]{1,4}(?:[−–‑][0-9０-９]{1,4})?"
)
"""Chinese province/city + district + street without a number ("上海市浦东新区世纪大道"), Japanese 丁目 with
kanji numerals ("六本木六丁目"), blocks joined by other dashes ("梅田３−１−１")."""
_VI_TYPES = ["Đường", "đường", "Phố", "phố", "Ngõ", "ngõ", "Ngách", "ngách", "Hẻm", "hẻm", "Kiệt", "kiệt"]
_VI_ADDRESS = (
    r"(?:(?:[Ss]ố|[Nn]o\.?)\s*)?[0-9]{1,5}[A-Za-z]?(?:/[0-9]{1,4})*,?\s+(?:" + "|".join(_VI_TYPES) + r")\s+"
    r"(?:số\s+)?[\p{Lu}0-9][\p{L}0-9]*(?:[ \t]+\p{Lu}\p{L}*){0,4}"
    r"|(?:" + "|".join(_VI_TYPES) + r")\s+\p{Lu}\p{L}*(?:[ \t]+\p{Lu}\p{L}*){1,4}(?:,?\s*(?:số\s*)?[0-9]{1,5})?"
)
"""Vietnamese: "123 Đường Lê Lợi", "số 45 phố Hàng Bông", "ngõ 12 Láng Hạ"; without a number the street type
and a name of two or more capitalized syllables ("phố Hàng Bông")."""
_SCRIPT_NOT_STREETS = [
    "глава", "часть", "раздел", "том", "версия", "статья", "пункт", "шаг", "урок", "сезон", "серия", "страница",
    "номер", "этап", "уровень", "класс", "группа", "комната", "кабинет", "розділ", "частина", "версія", "стаття",
    "сторінка", "κεφάλαιο", "μέρος", "ενότητα", "άρθρο", "έκδοση", "βήμα", "σελίδα", "τόμος", "επεισόδιο",
    "πίνακας", "εικόνα", "פרק", "חלק", "סעיף", "גרסה", "עמוד", "שלב", "כיתה", "חדר", "פרק", "עונה",
]  # fmt: skip
"""Nouns in other scripts that a number follows in prose ("Глава 5", "Κεφάλαιο 3", "פרק 5"): no street."""
_LETTERED = ["glued", "generic", "named", "postal", "type", "glued_more"]
"""The jobs of `_locations` whose pattern starts with `(?:^|[^letters])`."""


_TRAILING_POSTCODE = r"[,\s]+0[0-9]{3,5}$"
"""A bare 4-6 digit "postcode" with a trunk 0 at the end of a finding: with digits after it, an area code."""


_LITERAL_GROUPS: dict[str, tuple[list[str], bool]] = {
    "glued": (_GLUED_WORDS, True),
    "generic": (_GENERIC_UNIT_WORDS, False),
    "named": (_NAMED_LITERALS, True),
    "glued_more": (_GLUED_NORDIC, False),
    "type": (_TYPE_LITERALS, False),
    "address": (_ADDRESS_LITERALS, False),
    "house": (_HOUSE_NO_WORDS, False),
    "military": (["PSC", "CMR", "Unit", "USNS", "USNV", "USS", "USCGC", "APO", "FPO", "DPO"], False),
    "fr": (_FR_STREET, True),
    "type_name": (_LOWER_TYPES, False),
    "ja": (["丁目", "〒"], False),
    "cjk": (_CJK_CHARS, False),
    "cyr": (_CYR_LITERALS, False),
    "other": (_OTHER_LITERALS, False),
    "ja_street": ([" Street"], False),
    "vi": (_VI_TYPES, False),
    "cjk_more": (["省", "市", "区", "區", "县", "縣", "都", "府", "丁目"], False),
    "cue": (_CUE_LITERALS, True),
    "label": (_LABEL_WORDS, True),
}
"""The literal prefilter of each job (a text it can match holds one; True: in any ASCII case, as
`contains_any(..., ascii_case_insensitive=True)`). All are found in one Aho-Corasick pass (`_literal_groups`)
instead of one pass per job: each pass over every text cost about as much as one over all literals."""
_LITERALS = _LiteralGroups(list(_LITERAL_GROUPS.values()))


def _bit(group: str) -> int:
    """The bit of `group` in `_literal_groups`' values."""
    return 1 << list(_LITERAL_GROUPS).index(group)


def _literal_groups(base: pl.DataFrame) -> np.ndarray:
    """A bit per `_LITERAL_GROUPS` group the text holds a literal of, for each text of `base`
    (`base._LiteralGroups.bits`: every occurrence of every literal, overlapping, any ASCII case, each mapped
    to its groups)."""
    return _LITERALS.bits(base.get_column("t"))


def _subset(rows: pl.Series, texts: pl.Series, mask: np.ndarray) -> pl.DataFrame:
    """The (row, t) frame of the texts where `mask` holds (two Series filters: cheaper than a frame filter)."""
    keep = pl.Series(mask)
    return pl.DataFrame({"row": rows.filter(keep), "t": texts.filter(keep)})


def _locations(base: pl.DataFrame) -> pl.DataFrame:
    """Every shape over the texts it can be in: most need a digit, the label and cue readers and the
    number-less street forms see every text, the other scripts only texts with a non-ASCII character.

    Runs in a thread of its own, as the pattern jobs do (`_find_all`): the filters and checks around them use
    another 20 or so patterns, which stay compiled there (the two threads' patterns together are more than
    the 32 one thread's cache keeps)."""
    return _own_thread("location").submit(_locations_here, base).result()


def _locations_here(base: pl.DataFrame) -> pl.DataFrame:
    """`_locations` in the calling thread."""
    original, base = base, _unmarked(base)
    marked = original is not base
    g = _literal_groups(base)
    bt, br = base.get_column("t"), base.get_column("row")
    num = bt.str.contains(r"[0-9]").fill_null(False).to_numpy()
    # the shapes in other scripts only look at texts with a non-ASCII character (a cheap byte/char count)
    wide = (bt.str.len_bytes() > bt.str.len_chars()).fill_null(False).to_numpy()

    def has(group: str) -> np.ndarray:
        return (g & _bit(group)) != 0

    def also(mask: np.ndarray, *patterns: str) -> np.ndarray:
        """`mask`, and of its texts only those that match every pattern (each scanned on those texts only)."""
        out = mask.copy()
        sub = bt.filter(pl.Series(mask))
        ok = np.ones(len(sub), dtype=bool)
        for pattern in patterns:
            ok &= sub.str.contains(pattern).fill_null(False).to_numpy()
        out[np.flatnonzero(mask)] = ok
        return out

    def rows(mask: np.ndarray) -> pl.DataFrame:
        return _subset(br, bt, mask)

    # two stages: the literals (Aho-Corasick) first, then the ending right before a number ("during 2020"
    # passes the first stage, only real street endings pass both)
    glued_rows = rows(also(num & has("glued"), _GLUED_BEFORE_NUMBER))
    world = also(wide, _WORLD_ROWS, _D)
    unicode_world = also(world, _WORLD_UNICODE_ROWS)
    cue_rows, label_rows = rows(has("cue")), rows(has("label"))
    num_rows = rows(num)
    jobs = {
        # shapes that match one non-letter before their value (`_lettered`)
        "glued": (glued_rows, _GLUED),
        "generic": (rows(num & has("generic")), _GENERIC),
        "named": (rows(num & has("named")), _NAMED),
        "postal": (rows(also(num, _POSTAL_AFTER_NUMBER)), _NAME_NUMBER_POSTAL),
        "glued_more": (rows(num & has("glued_more")), _GLUED_MORE),
        "type": (rows(num & has("type")), _TYPE_FIRST),
        # the others
        "address": (rows(also(num & has("address"), _NUMBER_BEFORE_NAME)), _ADDRESS),
        # patterns that start with their own literals need no prefilter (the regex engine skips to them)
        "numbered": (num_rows, _TYPE_NUMBERED),
        "box": (num_rows, _PO_BOX_WORLD),
        "house": (rows(num & has("house")), _HOUSE_NO),
        "military": (rows(num & has("military")), _MILITARY),
        "fr": (rows(num & has("fr")), _FR_ADDRESS),
        "type_name": (rows(has("type_name")), _TYPE_NAME),
        "ja": (rows(wide & has("ja")), _JA_ADDRESS),
        "cjk": (rows(wide & has("cjk")), _CJK_ADDRESS),
        "cyr": (rows(wide & has("cyr")), _CYR_ADDRESS),
        "other": (rows(wide & has("other")), _OTHER_ADDRESS),
        "world": (rows(world & unicode_world), _WORLD_ADDRESS),
        "world_fast": (rows(world & ~unicode_world), _WORLD_ADDRESS_FAST),
        "ja_street": (rows(wide & has("ja_street")), _JA_STREET),
        "vi": (rows(wide & has("vi")), _VI_ADDRESS),
        "cjk_more": (rows(wide & has("cjk_more")), _CJK_MORE),
        "cue": (cue_rows, _CUE),
        "label": (label_rows, _LABEL),
    }
    found = dict(zip(jobs, _find_all(list(jobs.values())), strict=True))
    # one `_lettered` pass over the lettered jobs' matches, cut back into the jobs (they are contiguous)
    # one chunk: polars runs an expression over a frame of several chunks in its pool (see `base._filter`)
    lettered = _lettered(pl.concat([found[k] for k in _LETTERED], rechunk=True))
    ends = np.cumsum([found[k].height for k in _LETTERED])
    glued, generic, named, postal, typed, glued_more = (
        lettered.slice(int(e - found[k].height), found[k].height) for k, e in zip(_LETTERED, ends, strict=True)
    )
    # the place after a 3-6 digit postcode is no ordinary English word ("Rocky 4, 1985 Edition")
    if postal.height:
        place = postal.with_columns(first=pl.col("text").str.extract(r"[0-9]\s+(\p{L}+)\W*$", 1).str.to_lowercase())
        place = place.join(_words(place["first"].drop_nulls()), on="first", how="left")
        postal = place.filter(~pl.col("w").fill_null(False)).select(_COLS)
    # a glued or generic street name that is an ordinary word is no street ("During 2020", "Level 4")
    checked = pl.concat(
        [
            glued.with_columns(kind=pl.lit(0)),
            generic.with_columns(kind=pl.lit(1)),
            named.with_columns(kind=pl.lit(2)),
            postal.with_columns(kind=pl.lit(1)),
            glued_more.with_columns(kind=pl.lit(1)),
        ],
        rechunk=True,
    )
    if checked.height:
        checked = _in_jobs_thread(
            lambda: checked.with_columns(
                first=pl.col("text").str.extract(r"^([\p{L}\-]+)", 1).str.to_lowercase()
            ).with_columns(second=pl.col("text").str.extract(r"^[\p{L}\-]+\s+(\p{L}[\p{L}\-]*)", 1).str.to_lowercase())
        )
        checked = checked.join(_words(checked["first"]), on="first", how="left")
        second = _words(checked["second"]).rename({"first": "second", "w": "w2"})
        # "Na Příkopě 15", "U Nemocnice 2": a short English-looking word before a name that is none
        checked = checked.join(second, on="second", how="left").with_columns(
            w=pl.col("w").fill_null(False)
            & (pl.col("second").is_null() | pl.col("w2").fill_null(False) | (pl.col("first").str.len_chars() > 2))
        )
        short = checked["text"].str.contains(r"(?i)(?:" + "|".join(_GLUED_SHORT) + r")\s*,?\s+" + _NO + "[0-9]")
        keep = ~pl.col("first").is_in(_NOT_STREETS) & (
            ((pl.col("kind") == 0) & (~short | ~pl.col("w").fill_null(False)))
            | ((pl.col("kind") == 1) & ~pl.col("w").fill_null(False))
            | (pl.col("kind") == 2)
        )
        checked = checked.filter(keep).select(_COLS)
    parts = [
        found["address"],
        typed,
        found["numbered"],
        checked.select(_COLS) if checked.height else pl.DataFrame(schema=_CAND),
        found["box"],
        found["house"],
        found["military"],
        found["fr"],
        _in_jobs_thread(lambda: _filter(found["type_name"], ~pl.col("text").str.contains(_FUNCTION_WORD_NAME))),
        *(found[k] for k in ["ja", "cjk", "cyr", "other", "ja_street", "vi", "cjk_more"]),
        _in_jobs_thread(
            lambda: _filter(
                pl.concat([found["world"], found["world_fast"]]),
                ~pl.col("text")
                .str.extract(r"^(\p{L}+)", 1)
                .str.to_lowercase()
                .is_in(_SCRIPT_NOT_STREETS)
                .fill_null(False),
            )
        ),
        _after_cues(cue_rows, found["cue"]),
        _labelled(label_rows, found["label"]),
    ]
    c = pl.concat([_conform(p, _CAND) for p in parts])
    if c.height:
        # the texts as given (not with the marks blanked), joined once: the context, the digits after the
        # end and a marked text's finding are all read from them
        c = c.join(original.select("row", "t"), on="row", how="left")
        left = (pl.col("start") - 12).clip(lower_bound=0)
        vetoed = c
        c = _in_jobs_thread(
            lambda: _filter(
                vetoed,
                ~pl.col("t").str.slice(left, pl.col("start") - left).str.to_lowercase().str.contains(_NUMBER_VETO)
                & ~pl.col("t").str.slice(pl.col("end"), 12).str.to_lowercase().str.contains(_QUANTITY_AFTER),
            )
        )
        c = c.unique(["row", "start", "end"], maintain_order=True)
        # a shape may end on the comma after the number ("Ερμού 12," before prose): not part of the address
        c = c.with_columns(text=pl.col("text").str.strip_chars_end(", ")).with_columns(
            end=pl.col("start") + pl.col("text").str.len_chars().cast(pl.Int64)
        )
        # a "postcode" with another digit group right after it is the area code of a phone number
        # ("Bohlanderallee 3, 05326 046660"): the address ends before it, the phone keeps its digits
        after = c["t"].str.slice(c["end"], 3)
        phone_next = after.str.contains(r"^[ \-/]?[0-9]").fill_null(False) & c["text"].str.contains(_TRAILING_POSTCODE)
        if phone_next.any():
            c = c.with_columns(
                text=pl.when(phone_next).then(pl.col("text").str.replace(_TRAILING_POSTCODE, "")).otherwise("text")
            ).with_columns(end=pl.col("start") + pl.col("text").str.len_chars().cast(pl.Int64))
        if marked:
            c = c.with_columns(text=pl.col("t").str.slice(pl.col("start"), pl.col("end") - pl.col("start")))
    return _typed(c, "LOCATION")
