"""The recognizer registry: what `detect` runs, built from `params.yaml` `pii:`.

A recognizer is a named finder of one entity type (as Presidio's `EntityRecognizer`): the built-in ones are
the modules of this package, and users add their own from params without code, as regex patterns (with
optional context words and a validator) or deny-lists of exact terms. `PiiSettings` (allow-list + registry)
is what every `detect`/`scrub` caller passes, and what the verified-clean cache is keyed on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from stdnum import iban as stdnum_iban
from stdnum import luhn as stdnum_luhn

from ftdata_assets.transforms.pii.address import _locations
from ftdata_assets.transforms.pii.base import ENTITY_TYPES, _context, _matches, _typed
from ftdata_assets.transforms.pii.card import CARD_CONTEXT, _cards
from ftdata_assets.transforms.pii.email import _emails
from ftdata_assets.transforms.pii.iban import _ibans
from ftdata_assets.transforms.pii.ip import _ips
from ftdata_assets.transforms.pii.person import _persons
from ftdata_assets.transforms.pii.phone import PHONE_CONTEXT, _phones
from ftdata_assets.transforms.pii.secret import _secrets
from ftdata_assets.transforms.pii.ssn import SSN_CONTEXT, _ssns

Prefilter = Literal["all", "digit", "num"]
"""Which texts a recognizer sees: all, those with a digit, those with two digits in a row (cheap filters
computed once per batch, so a numeric recognizer never scans prose)."""


class PiiConfigError(ValueError):
    """`params.yaml` `pii:` is invalid (unknown key, bad regex, unknown type...): raised at load time."""


@dataclass(frozen=True)
class Recognizer:
    """One finder: `find(frame with row, t) -> (row, entity_type, start, end, text)` over the texts it sees."""

    name: str
    entity_type: str
    find: Callable[[pl.DataFrame], pl.DataFrame] = field(compare=False, repr=False)
    prefilter: Prefilter = "all"
    validation: str = ""
    context: tuple[str, ...] = ()
    builtin: bool = True


BUILTIN_RECOGNIZERS: tuple[Recognizer, ...] = (
    Recognizer("person", "PERSON", _persons, "all", "lexicon + context rules"),
    Recognizer("secret", "SECRET", _secrets, "all", "token formats, key=value assignments"),
    Recognizer("location", "LOCATION", _locations, "all", "street address forms"),
    Recognizer("phone", "PHONE_NUMBER", _phones, "num", "phonenumbers metadata per region", PHONE_CONTEXT),
    Recognizer("credit_card", "CREDIT_CARD", _cards, "num", "Luhn + issuer prefix and length", CARD_CONTEXT),
    Recognizer("ip_address", "IP_ADDRESS", _ips, "digit", "octet ranges, ipaddress"),
    Recognizer("iban", "IBAN_CODE", _ibans, "num", "country length + mod-97 (stdnum.iban)"),
    Recognizer("us_ssn", "US_SSN", _ssns, "num", "SSA area/group/serial rules", SSN_CONTEXT),
    Recognizer("email", "EMAIL_ADDRESS", _emails, "all", "RFC-ish local part, domain with a TLD"),
)

VALIDATORS: dict[str, Callable[[str], bool]] = {
    "luhn": lambda s: stdnum_luhn.is_valid(re.sub(r"[^0-9]", "", s)) if re.search(r"[0-9]", s) else False,
    "iban": lambda s: stdnum_iban.is_valid(s),
}
"""Validators a user pattern may name (`validator: luhn`): called per match, on the matched text."""

_TYPE_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")
_RECOGNIZER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TOP_KEYS = {"allow_list", "disable", "recognizers"}
_RECOGNIZER_KEYS = {"name", "entity_type", "patterns", "deny_list", "context", "validator", "case_sensitive"}
CONTEXT_WINDOW = 40
"""Characters before a user pattern's match in which one of its context words must appear."""


def _escape(term: str) -> str:
    """A literal for the polars (Rust) regex engine; `<`/`>` stay plain (`\\<` is a word boundary there)."""
    return "".join("\\" + ch if ch in "\\.+*?()|[]{}^$-#&~" else ch for ch in term)


def _check_regex(pattern: str, where: str) -> None:
    """Compile with the engine `detect` uses (polars' regex, not Python's `re`), so errors show at load."""
    try:
        matches_empty = pl.Series([""]).str.contains(pattern).item()
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()
        raise PiiConfigError(f"{where}: invalid regex {pattern!r}: {' '.join(first[:4])}") from None
    if matches_empty:
        raise PiiConfigError(f"{where}: regex {pattern!r} matches the empty string")


def _words_regex(words: Sequence[str]) -> str:
    """Any of `words` as a whole word (lowercase text), for context checks."""
    alts = "|".join(_escape(w.lower()) for w in sorted(set(words), key=len, reverse=True))
    return rf"(?:^|\W)(?:{alts})(?:\W|$)"


def _pattern_finder(
    entity_type: str, patterns: Sequence[str], context: Sequence[str], validator: str | None, case_sensitive: bool
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    pattern = ("" if case_sensitive else "(?i)") + "|".join(f"(?:{p})" for p in patterns)
    context_rx = _words_regex(context) if context else None
    check = VALIDATORS[validator] if validator else None

    def find(base: pl.DataFrame) -> pl.DataFrame:
        c = _matches(base, pattern)
        c = c.filter(pl.col("end") > pl.col("start"))
        if c.height and context_rx is not None:
            c = _context(c, base, CONTEXT_WINDOW).filter(pl.col("left_ctx").str.contains(context_rx))
        if c.height and check is not None:
            c = c.filter(pl.Series([check(t) for t in c["text"].to_list()], dtype=pl.Boolean))  # per match
        return _typed(c, entity_type)

    return find


def _deny_finder(
    entity_type: str, terms: Sequence[str], case_sensitive: bool
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    # whole terms: a word boundary where the term starts/ends with a word character ("ACME-17" not in "ACME-170")
    alts = []
    for term in sorted(set(terms), key=len, reverse=True):
        left = r"\b" if re.match(r"\w", term) else ""
        right = r"\b" if re.search(r"\w$", term) else ""
        alts.append(left + _escape(term) + right)
    pattern = ("" if case_sensitive else "(?i)") + "|".join(alts)
    _check_regex(pattern, f"the deny_list of {entity_type}")  # a list too large for the engine fails at load
    literals = sorted(set(terms))

    def find(base: pl.DataFrame) -> pl.DataFrame:
        # Aho-Corasick prefilter: the regex only sees texts that contain a term at all
        hit = base.filter(pl.col("t").str.contains_any(literals, ascii_case_insensitive=not case_sensitive))
        return _typed(_matches(hit, pattern), entity_type)

    return find


def _user_recognizer(spec: Any, i: int) -> Recognizer:
    where = f"pii.recognizers[{i}]"
    if not isinstance(spec, Mapping):
        raise PiiConfigError(f"{where}: expected a mapping, got {type(spec).__name__}")
    unknown = set(spec) - _RECOGNIZER_KEYS
    if unknown:
        raise PiiConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_RECOGNIZER_KEYS)}")
    name, entity_type = spec.get("name"), spec.get("entity_type")
    if not isinstance(name, str) or not _RECOGNIZER_NAME.match(name):
        raise PiiConfigError(f"{where}.name: {name!r} is not a lowercase identifier (a-z, 0-9, _)")
    where = f"pii.recognizers[{i}] ({name})"
    if not isinstance(entity_type, str) or not _TYPE_NAME.match(entity_type) or entity_type.endswith("_"):
        raise PiiConfigError(f"{where}.entity_type: {entity_type!r} must be upper case (A-Z, 0-9, _), e.g. EMPLOYEE_ID")
    patterns, terms = spec.get("patterns"), spec.get("deny_list")
    if (patterns is None) == (terms is None):
        raise PiiConfigError(f"{where}: give exactly one of `patterns` (regexes) or `deny_list` (exact terms)")
    case_sensitive = spec.get("case_sensitive", patterns is not None)
    if not isinstance(case_sensitive, bool):
        raise PiiConfigError(f"{where}.case_sensitive: expected true or false, got {case_sensitive!r}")
    context = spec.get("context") or []
    validator = spec.get("validator")
    if not isinstance(context, list) or not all(isinstance(w, str) and w.strip() for w in context):
        raise PiiConfigError(f"{where}.context: expected a list of non-empty words")
    if validator is not None and validator not in VALIDATORS:
        raise PiiConfigError(f"{where}.validator: {validator!r} is not one of {sorted(VALIDATORS)}")
    if terms is not None:
        if context or validator:
            raise PiiConfigError(f"{where}: `context` and `validator` apply to `patterns` only, not to a deny_list")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t.strip() for t in terms):
            raise PiiConfigError(f"{where}.deny_list: expected a non-empty list of non-empty terms")
        terms = [t.strip() for t in terms]
        find = _deny_finder(entity_type, terms, case_sensitive)
        return Recognizer(name, entity_type, find, "all", f"deny-list of {len(terms)} terms", (), builtin=False)
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise PiiConfigError(f"{where}.patterns: expected a non-empty list of regexes")
    for j, p in enumerate(patterns):
        _check_regex(p, f"{where}.patterns[{j}]")
    find = _pattern_finder(entity_type, patterns, context, validator, case_sensitive)
    validation = f"regex{' + ' + validator if validator else ''}{' + context' if context else ''}"
    return Recognizer(name, entity_type, find, "all", validation, tuple(context), builtin=False)


@dataclass(frozen=True)
class Registry:
    """The enabled recognizers, and what placeholders and counts look like under them."""

    recognizers: tuple[Recognizer, ...]
    config: str = "{}"
    """Canonical JSON of the params that built it (for fingerprints)."""

    @property
    def entity_types(self) -> tuple[str, ...]:
        """Built-in types (always, in priority order, even if disabled), then user types in params order."""
        user = [r.entity_type for r in self.recognizers if r.entity_type not in ENTITY_TYPES]
        return (*ENTITY_TYPES, *dict.fromkeys(user))

    @property
    def user_types(self) -> tuple[str, ...]:
        return self.entity_types[len(ENTITY_TYPES) :]

    @property
    def priority(self) -> dict[str, int]:
        """Overlap tie-break (lower wins): user types first (the user asked for them), then the built-ins."""
        return {t: i for i, t in enumerate([*self.user_types, *ENTITY_TYPES])}

    @property
    def placeholder_pattern(self) -> str:
        """Every placeholder `scrub` can write under this registry; `detect` never reports inside one."""
        return r"<(?:" + "|".join(sorted(self.entity_types, key=len, reverse=True)) + r")_\d+>"

    @property
    def counts_dtype(self) -> pl.Struct:
        """`pii_counts`: the built-in fields (PII_COUNTS) first, then one Int64 field per user type."""
        return pl.Struct({t: pl.Int64 for t in self.entity_types})


def build_registry(params: Mapping[str, Any] | None = None) -> Registry:
    """The registry of `params.yaml` `pii:` (`disable`, `recognizers`); errors name the bad key."""
    params = dict(params or {})
    unknown = set(params) - _TOP_KEYS
    if unknown:
        raise PiiConfigError(f"pii: unknown key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
    disable = params.get("disable") or []
    if not isinstance(disable, list) or not all(isinstance(d, str) for d in disable):
        raise PiiConfigError("pii.disable: expected a list of entity types or recognizer names")
    specs = params.get("recognizers") or []
    if not isinstance(specs, list):
        raise PiiConfigError("pii.recognizers: expected a list of recognizers")
    user = [_user_recognizer(s, i) for i, s in enumerate(specs)]
    names = [r.name for r in (*BUILTIN_RECOGNIZERS, *user)]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise PiiConfigError(f"pii.recognizers: name(s) {dup} used twice (built-in names: {names[:9]})")
    known = {*names, *ENTITY_TYPES, *(r.entity_type for r in user)}
    bad = sorted(set(disable) - known)
    if bad:
        raise PiiConfigError(f"pii.disable: {bad} is neither a recognizer name nor an entity type ({sorted(known)})")
    off = set(disable)
    enabled = tuple(r for r in (*BUILTIN_RECOGNIZERS, *user) if r.name not in off and r.entity_type not in off)
    config = json.dumps({"disable": sorted(off), "recognizers": specs}, sort_keys=True, ensure_ascii=False)
    return Registry(enabled, config)


DEFAULT_REGISTRY = build_registry()


@dataclass(frozen=True)
class PiiSettings:
    """Everything a `detect` verdict depends on besides the code: the allow-list and the registry."""

    allow_list: tuple[str, ...] = ()
    registry: Registry = DEFAULT_REGISTRY

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> PiiSettings:
        """From `params.yaml`'s `pii:` section (validated: see `build_registry`)."""
        params = dict(params or {})
        allow = params.get("allow_list") or []
        if not isinstance(allow, list) or not all(isinstance(t, str) for t in allow):
            raise PiiConfigError("pii.allow_list: expected a list of terms")
        return cls(tuple(allow), build_registry({k: v for k, v in params.items() if k != "allow_list"}))

    def fingerprint(self) -> str:
        """Stable digest of the settings (allow-list terms are case- and order-insensitive, as applied)."""
        allow = sorted({t.strip().lower() for t in self.allow_list if t and t.strip()})
        return hashlib.blake2b(
            json.dumps([allow, self.registry.config], ensure_ascii=False).encode(), digest_size=12
        ).hexdigest()


def settings_of(settings: PiiSettings | Sequence[str] | None) -> PiiSettings:
    """Callers may still pass a bare allow-list (the built-in registry then)."""
    if isinstance(settings, PiiSettings):
        return settings
    if isinstance(settings, str):
        raise TypeError("an allow-list is a sequence of terms, not one string")
    return PiiSettings(tuple(settings or ()))
