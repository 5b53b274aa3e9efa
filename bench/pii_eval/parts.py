"""The two evaluation parts. `build(part, n, seed)` is deterministic for (part, n, seed).

tuning  = Faker (10 tuning locales) x template set A, set A's negatives, 30% of the real-text documents.
heldout = {mimesis (36 locales), Faker's other locales, independent generators} x template sets A and B,
          plus Faker's tuning locales x set B (seen entities in unseen shapes), set B's negatives and the
          other 70% of the real-text documents.
Each sample's `cell` says which combination it is, so the report can separate "new entities" from
"new sentence shapes".
"""

from __future__ import annotations

import random

from bench.pii_eval import templates_a, templates_b
from bench.pii_eval.core import Sample, fill
from bench.pii_eval.faker_source import HELDOUT_LOCALES, TUNING_LOCALES, FakerSource
from bench.pii_eval.independent import IndependentSource
from bench.pii_eval.mimesis_source import LOCALES as MIMESIS_LOCALES
from bench.pii_eval.mimesis_source import MimesisSource
from bench.pii_eval.pool import Pool
from bench.pii_eval.real_text import real_samples

PARTS = ("tuning", "heldout")
TYPE_WEIGHTS = {"PERSON": 0.24, "LOCATION": 0.12, "EMAIL_ADDRESS": 0.08, "PHONE_NUMBER": 0.15, "CREDIT_CARD": 0.1,
                "IBAN_CODE": 0.08, "US_SSN": 0.05, "IP_ADDRESS": 0.07, "MULTI": 0.11}  # fmt: skip
SHARES = {"tuning": (0.65, 0.20, 0.15), "heldout": (0.62, 0.18, 0.20)}  # positive, template negative, real text
ACCENTS = [" Merci beaucoup 😊", " 谢谢！", " Grüße aus Köln.", " ¿Todo bien?"]


def _tuning_pool(rng: random.Random) -> Pool:
    return Pool([(1.0, FakerSource(loc, rng.randrange(1 << 30), rng)) for loc in TUNING_LOCALES], rng)


def _heldout_pool(rng: random.Random) -> Pool:
    sources: list[tuple[float, object]] = []
    for loc in MIMESIS_LOCALES:
        sources.append((0.45 / len(MIMESIS_LOCALES), MimesisSource(loc, rng.randrange(1 << 30), rng)))
    for loc in HELDOUT_LOCALES:
        s = FakerSource(loc, rng.randrange(1 << 30), rng)
        s.kinds -= {"card", "ip"}  # Faker's card and IP providers do not depend on the locale: seen data
        sources.append((0.35 / len(HELDOUT_LOCALES), s))
    sources.append((0.20, IndependentSource(rng)))
    return Pool(sources, rng)


def _positive(pool: Pool, tmpl_mod, rng: random.Random, cell: str, accents: bool) -> Sample:
    typ = rng.choices(list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values()))[0]
    template = rng.choice(tmpl_mod.POSITIVE[typ])
    pool.start()
    text, spans = fill(template, pool.slot)
    if rng.random() < 0.4:
        lead = rng.choice(tmpl_mod.FILLER) + ("\n" if tmpl_mod is templates_b else " ")
        text = lead + text
        spans = [type(s)(s.type, s.start + len(lead), s.end + len(lead), s.source) for s in spans]
    if accents and rng.random() < 0.12:
        text += rng.choice(ACCENTS)
    return Sample(text, spans, "positive", f"{tmpl_mod.__name__.rsplit('.', 1)[1]}:{typ}", cell)


def _negative(pool: Pool, tmpl_mod, rng: random.Random) -> Sample:
    i = rng.randrange(len(tmpl_mod.NEGATIVE))
    pool.start()
    text, spans = fill(tmpl_mod.NEGATIVE[i], pool.slot)
    assert not spans, tmpl_mod.NEGATIVE[i]  # negatives use unlabelled slots only
    return Sample(text, [], "negative", f"{tmpl_mod.__name__.rsplit('.', 1)[1]}:negative:{i}", "negative")


def build(part: str, n: int, seed: int) -> list[Sample]:
    """`n` labelled texts of `part` ("tuning" or "heldout"), deterministic for the seed."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")
    rng = random.Random(f"{part}:{seed}")
    pos_share, neg_share, _ = SHARES[part]
    n_pos, n_neg = round(n * pos_share), round(n * neg_share)
    n_real = n - n_pos - n_neg
    out: list[Sample] = []
    if part == "tuning":
        pool = _tuning_pool(rng)
        out += [_positive(pool, templates_a, rng, "tuning-entities x A", True) for _ in range(n_pos)]
        out += [_negative(pool, templates_a, rng) for _ in range(n_neg)]
    else:
        new, seen = _heldout_pool(rng), _tuning_pool(random.Random(f"seen:{seed}"))
        for _ in range(n_pos):
            x = rng.random()
            if x < 0.35:
                out.append(_positive(new, templates_a, rng, "new-entities x A", True))
            elif x < 0.55:
                out.append(_positive(seen, templates_b, rng, "tuning-entities x B", False))
            else:
                out.append(_positive(new, templates_b, rng, "new-entities x B", False))
        out += [_negative(new, templates_b, rng) for _ in range(n_neg)]
    out += real_samples(part, n_real, rng.randrange(1 << 30))
    rng.shuffle(out)
    return out
