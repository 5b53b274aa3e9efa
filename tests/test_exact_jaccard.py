"""`dedup.exact_jaccard` (the exact check of borderline near-duplicate pairs) against plain Python sets."""

import random

import numpy as np
import polars as pl
import pytest

from ftdata_assets.transforms import dedup
from ftdata_assets.transforms.dedup import exact_jaccard, normalize_for_dedup

_VOCABULARY_TEXT = (
    "the printer router order refund invoice password screen battery cable update warranty support ticket "
    "naïve café résumé façade über straße грамматика данные πρόβλημα λύση 注文 返金 配送 ١٢٣ x2 v1_0"
)
VOCABULARY = _VOCABULARY_TEXT.split()
"""Words of the texts: English, accented Latin, Cyrillic, Greek, CJK, Arabic digits, word characters mixed."""

NOISE = (" ", " ", " ", ", ", ". ", "! ", "? ", " — ", " 🙂 ", "\n", "\t", "  ", " (", ") ", ": ")


def _text(rng: random.Random, words: int, vocabulary: list[str]) -> str:
    """Words of `vocabulary` joined by spaces, punctuation, emoji and line breaks, a few recased."""
    parts = []
    for _ in range(words):
        word = rng.choice(vocabulary)
        parts.append(word.upper() if rng.random() < 0.05 else word)
        parts.append(rng.choice(NOISE))
    return "".join(parts).strip()


def _corpus(rng: random.Random) -> tuple[list[str], list[tuple[int, int]]]:
    """Texts of every shape the check meets: empty, only punctuation or emoji, shorter than a shingle, long,
    with repeated shingles (a small vocabulary), and edited copies of others; and the (original, copy) pairs
    (similar pairs, as the borderline candidates are)."""
    texts = ["", "   ", "!!! ... ???", "🙂🙂", "one", "Two words", "three words here", "naïve café"]
    for _ in range(60):
        texts.append(_text(rng, rng.randrange(1, 8), VOCABULARY))
    for _ in range(60):
        texts.append(_text(rng, rng.randrange(20, 300), VOCABULARY[: rng.randrange(3, 8)]))  # many repeats
    for _ in range(60):
        texts.append(_text(rng, rng.randrange(30, 400), VOCABULARY))
    copies = []
    for _ in range(200):
        original = rng.randrange(len(texts))
        words = texts[original].split(" ")
        for _ in range(rng.randrange(0, 6)):
            if words:
                words[rng.randrange(len(words))] = rng.choice(VOCABULARY)
        copies.append((original, len(texts)))
        texts.append(" ".join(words))
    return texts, copies


def _shingle_sets(normalized: pl.Series, k: int) -> list[set[tuple[str, ...]]]:
    """Each text's set of k-word shingles (a text with fewer words: one shingle of all its words; none: empty),
    words being the regex `\\w+` runs of the normalized text, as the module docstring of dedup defines them."""
    out = []
    for words in normalized.str.extract_all(dedup.WORD_PATTERN).to_list():
        if not words:
            out.append(set())
        else:
            out.append({tuple(words[i : i + k]) for i in range(max(len(words) - k + 1, 1))})
    return out


def _python_jaccard(sets: list[set[tuple[str, ...]]], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    values = []
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        union = len(sets[a] | sets[b])
        values.append(len(sets[a] & sets[b]) / union if union else 1.0)
    return np.array(values, dtype=np.float64)


def _pairs(rng: random.Random, n: int, count: int, copies: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs, the (original, copy) pairs and every text with itself, sorted by their first text as
    candidate pairs are."""
    lo = np.array([rng.randrange(n) for _ in range(count)] + [a for a, _ in copies] + list(range(n)), dtype=np.int64)
    hi = np.array([rng.randrange(n) for _ in range(count)] + [b for _, b in copies] + list(range(n)), dtype=np.int64)
    order = np.argsort(lo, kind="stable")
    return lo[order], hi[order]


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("batch", [None, 64])
def test_exact_jaccard_equals_python_set_jaccard(monkeypatch, k, batch):
    rng = random.Random(1000 + k)
    texts, copies = _corpus(rng)
    normalized = normalize_for_dedup(pl.Series(texts))
    lo, hi = _pairs(rng, len(texts), 400, copies)
    if batch is not None:
        monkeypatch.setattr(dedup, "EXACT_BATCH", batch)  # many small batches, a pair never split
    got = exact_jaccard(normalized, k, lo, hi)
    want = _python_jaccard(_shingle_sets(normalized, k), lo, hi)
    # the same ratio of the same integers: bit for bit (a 40-bit hash collision among these shingles: ~1e-9)
    assert got.dtype == np.float64
    assert np.array_equal(got, want)
    assert np.all(got[lo == hi] == 1.0)
    assert np.sum((want > 0) & (want < 1)) >= 100  # partial overlaps, not only disjoint or equal sets


def test_exact_jaccard_does_not_depend_on_the_pair_order_or_on_the_texts_around_them():
    rng = random.Random(7)
    texts, copies = _corpus(rng)
    normalized = normalize_for_dedup(pl.Series(texts))
    lo, hi = _pairs(rng, len(texts), 400, copies)
    base = exact_jaccard(normalized, 3, lo, hi)
    order = np.array(rng.sample(range(len(lo)), len(lo)))
    assert np.array_equal(exact_jaccard(normalized, 3, lo[order], hi[order]), base[order])
    assert np.array_equal(exact_jaccard(normalized, 3, hi, lo), base)  # symmetric
    assert len(exact_jaccard(normalized, 3, lo[:0], hi[:0])) == 0
