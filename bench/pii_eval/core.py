"""Shared pieces of the PII evaluation sets: samples with gold spans, a span builder, template filling.

A template is a string with slots, `"Call me at {PHONE}."`; each slot is filled by an entity source (which
returns labelled pieces) and the builder records the gold span of every labelled piece, so offsets are
right by construction. `{PHONE:lower}` lower-cases what the slot produced (lower-case chat, IBANs).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field

SLOT = re.compile(r"\{([A-Z][A-Z0-9_]*)(?::([a-z]+))?\}")


@dataclass(frozen=True)
class Span:
    """One gold entity: `source` says which generator made it (for per-source recall, never for scoring)."""

    type: str
    start: int
    end: int
    source: str


@dataclass
class Sample:
    """One labelled text. `kind` is positive/negative/real; `cell` tells which generator x template set."""

    text: str
    spans: list[Span]
    kind: str
    template: str
    cell: str = ""
    origin: str = ""


@dataclass(frozen=True)
class Piece:
    """A run of text produced by a slot; `label` set means it is a gold entity of that type."""

    text: str
    label: str | None = None
    source: str = ""


@dataclass
class Builder:
    parts: list[str] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    pos: int = 0

    def add(self, piece: Piece) -> None:
        if piece.label and piece.text:
            self.spans.append(Span(piece.label, self.pos, self.pos + len(piece.text), piece.source))
        self.parts.append(piece.text)
        self.pos += len(piece.text)

    def text(self) -> str:
        return "".join(self.parts)


SlotFiller = Callable[[str], list[Piece]]


def fill(template: str, slot: SlotFiller) -> tuple[str, list[Span]]:
    """Fill every `{SLOT}` of `template` with `slot(name)`; literal text is unlabelled."""
    b = Builder()
    pos = 0
    for m in SLOT.finditer(template):
        b.add(Piece(template[pos : m.start()]))
        for piece in slot(m.group(1)):
            if m.group(2) == "lower":
                piece = Piece(piece.text.lower(), piece.label, piece.source)
            elif m.group(2) == "upper":
                piece = Piece(piece.text.upper(), piece.label, piece.source)
            b.add(piece)
        pos = m.end()
    b.add(Piece(template[pos:]))
    return b.text(), b.spans


# ---------------------------------------------------------------------------------------------------------
# number helpers (generators only: the detector's own validators are never imported here)
# ---------------------------------------------------------------------------------------------------------


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return next(body + c for c in string.digits if luhn_ok(body + c))


def luhn_fail(length: int, rng: random.Random, prefix: str = "") -> str:
    """A digit string of `length` that fails Luhn (a card-shaped number that is no card)."""
    while True:
        n = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix)))
        if not luhn_ok(n):
            return n


def group_card(number: str, rng: random.Random) -> str:
    """How people write card numbers: 4-4-4-4 (4-6-5 for 15-digit Amex), spaces, dashes or none."""
    sep = rng.choice([" ", " ", "-", "", ""])
    if not sep:
        return number
    if len(number) == 15 and number[:2] in ("34", "37"):
        return sep.join([number[:4], number[4:10], number[10:]])
    if len(number) == 14 and rng.random() < 0.5:  # Diners: 4-6-4
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


def iban_with_checksum(country: str, bban: str) -> str:
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    return f"{country}{check:02d}{bban}"


def iban_style(code: str, rng: random.Random) -> str:
    """Printed (groups of 4), compact, or lower-case, as IBANs appear in messages."""
    x = rng.random()
    if x < 0.5:
        return " ".join(code[i : i + 4] for i in range(0, len(code), 4))
    if x < 0.85:
        return code
    if x < 0.93:
        return code.lower()
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4)).lower()
