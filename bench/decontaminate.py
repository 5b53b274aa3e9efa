"""Benchmark `ftdata_assets.transforms.decontaminate.find_overlaps`: millions of texts against a benchmark set.

Run: `.venv/bin/python bench/decontaminate.py [--texts 1000000] [--references 10000] [--planted 2000]`

Builds, with a seeded numpy RNG and no download, a corpus shaped like the real problem:
- a vocabulary of synthetic words with a Zipf frequency law (so common words are very common), and a pool of
  common phrases of 6-10 words that recur across texts and reference items (they must not cause hits);
- `--references` benchmark items: 80% passages of 40-120 words (with common phrases), 20% short questions
  of 8-12 words;
- `--texts` training texts of 20-120 words (with common phrases), of which
  * `--planted` contaminated rows: a reference item embedded in other words (prompt/answer framing),
    with case and punctuation noise (capitals, commas, "?!", quotes, fullwidth letters) and, for passages,
    1 or 2 words replaced; by construction each still shares a 13-word run (or the whole short question)
    with its source, so each is expected to be found with that reference row;
  * as many near misses: a 12-word run copied from a passage (one word short of n=13), its neighbours
    forced to differ, and a short question with one word replaced; these must not be found.
Then it times `find_overlaps(texts, reference)` alone (peak RSS is reset before the call where Linux allows it,
so it is the call's peak, the corpus in memory included) and prints time, texts/s, peak RSS, recall (planted
rows found with their source reference row) and precision (found rows that really overlap their reported
reference item: the planted rows, plus any overlap the generator made by chance, each checked by an independent
plain-Python n-gram comparison). The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import resource
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ftdata_assets.transforms.decontaminate import find_overlaps

_LETTERS = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
_FUNCTION_WORDS = ("the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "with", "was", "on", "be",
                   "by", "this", "are", "or", "at", "from", "not", "but", "have", "an", "they", "which", "you", "one",
                   "we", "all", "their", "there", "can", "has", "more", "if", "will", "what", "when", "so", "no",
                   "about", "how", "who", "do", "up", "out", "my", "your", "its")  # fmt: skip


def vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    """Function words first (the most frequent ranks), then distinct pseudo-words of 3-10 letters."""
    words, seen = list(_FUNCTION_WORDS), set(_FUNCTION_WORDS)
    while len(words) < size:
        length = int(rng.integers(3, 11))
        word = "".join(rng.choice(_LETTERS, length, p=None))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def zipf_ids(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """Word ids with a Zipf(1.1) rank law truncated to the vocabulary."""
    ids = rng.zipf(1.1, count) - 1
    out_of_range = ids >= size
    ids[out_of_range] = rng.integers(0, size, int(out_of_range.sum()))
    return ids.astype(np.int64)


def documents(
    rng: np.random.Generator,
    vocab: pl.Series,
    phrases: list[np.ndarray],
    lengths: np.ndarray,
    phrase_rate: float,
    chunk: int = 100_000,
) -> pl.Series:
    """Texts of the given word counts: Zipf words, with common phrases written over random places."""
    out = []
    for lo in range(0, len(lengths), chunk):
        lens = lengths[lo : lo + chunk]
        start = np.cumsum(lens) - lens
        ids = zipf_ids(rng, int(lens.sum()), len(vocab))
        # common phrases over ~phrase_rate of the texts (each at most 10 words, below n = 13)
        with_phrase = np.flatnonzero(rng.random(len(lens)) < phrase_rate)
        which = rng.integers(0, len(phrases), len(with_phrase))
        for p in np.unique(which):
            rows = with_phrase[which == p]
            phrase = phrases[p]
            rows = rows[lens[rows] >= len(phrase)]
            at = start[rows] + (rng.random(len(rows)) * (lens[rows] - len(phrase) + 1)).astype(np.int64)
            ids[at[:, None] + np.arange(len(phrase))] = phrase
        owner = np.repeat(np.arange(len(lens)), lens)
        frame = pl.DataFrame({"doc": owner, "word": vocab.gather(ids)})
        out.append(frame.group_by("doc", maintain_order=True).agg(pl.col("word").str.join(" ")).get_column("word"))
    return pl.concat(out).alias("text")


_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "abcdefghijklmnopqrstuvwxyz"}


def noisy(rng: np.random.Generator, words: list[str]) -> str:
    """Case, punctuation and spacing noise that normalization removes."""
    out = []
    for word in words:
        r = rng.random()
        if r < 0.15:
            word = word.capitalize()
        elif r < 0.2:
            word = word.upper()
        elif r < 0.22:
            word = "".join(_FULLWIDTH.get(c, c) for c in word)
        r = rng.random()
        if r < 0.1:
            word += ","
        elif r < 0.13:
            word += "?!"
        elif r < 0.15:
            word = f'"{word}"'
        elif r < 0.17:
            word += " -"
        out.append(word)
    return ("  " if rng.random() < 0.3 else " ").join(out)


def replace_words(rng: np.random.Generator, words: list[str], count: int, vocab: list[str]) -> list[str]:
    """`count` distinct positions replaced by a different vocabulary word."""
    words = list(words)
    for i in rng.choice(len(words), count, replace=False):
        new = words[i]
        while new == words[i]:
            new = vocab[int(rng.integers(0, len(vocab)))]
        words[i] = new
    return words


def build(
    texts_n: int, refs_n: int, planted_n: int, seed: int
) -> tuple[pl.Series, pl.Series, dict[int, int], list[int]]:
    rng = np.random.default_rng(seed)
    vocab_list = vocabulary(rng, 30_000)
    vocab = pl.Series(vocab_list)
    phrases = [zipf_ids(rng, int(rng.integers(6, 11)), 2_000) for _ in range(300)]

    # passages may contain common phrases; short questions do not (a phrase would make them common text)
    n_short = refs_n // 5
    passages = documents(rng, vocab, phrases, rng.integers(40, 121, refs_n - n_short), phrase_rate=0.5)
    questions = documents(rng, vocab, phrases, rng.integers(8, 13, n_short), phrase_rate=0.0)
    questions = questions.str.head(1).str.to_uppercase() + questions.str.slice(1) + "?"
    order = rng.permutation(refs_n)
    reference = pl.concat([passages, questions]).gather(np.argsort(order)).alias("reference")
    ref_lengths = reference.str.count_matches(" ").to_numpy() + 1
    texts = documents(rng, vocab, phrases, rng.integers(20, 121, texts_n), phrase_rate=0.5)

    ref_words = [s.rstrip("?").lower().split(" ") for s in reference.to_list()]
    rows = rng.choice(texts_n, 2 * planted_n, replace=False)
    planted_rows, miss_rows = rows[:planted_n], rows[planted_n:]
    planted: dict[int, int] = {}
    new_rows, new_values = [], []
    for row in planted_rows.tolist():
        source = int(rng.integers(0, refs_n))
        words = ref_words[source]
        if len(words) >= 13:
            words = replace_words(rng, words, int(rng.integers(1, 3)), vocab_list)
        before = vocab.gather(zipf_ids(rng, int(rng.integers(0, 30)), len(vocab))).to_list()
        after = vocab.gather(zipf_ids(rng, int(rng.integers(0, 30)), len(vocab))).to_list()
        frame = ("Question:", "Answer:") if rng.random() < 0.5 else ("", "")
        text = " ".join(part for part in (*before, frame[0], noisy(rng, words), frame[1], *after) if part)
        planted[row] = source
        new_rows.append(row)
        new_values.append(text)
    long_refs = np.flatnonzero(ref_lengths >= 13)
    short_refs = np.flatnonzero(ref_lengths < 13)
    for i, row in enumerate(miss_rows.tolist()):
        if i % 2 and len(short_refs):  # a short question with one word changed
            words = replace_words(rng, ref_words[int(rng.choice(short_refs))], 1, vocab_list)
            pieces = [words]
        else:  # 12 words of a passage, neighbours differing from the passage's
            words = ref_words[int(rng.choice(long_refs))]
            s = int(rng.integers(1, len(words) - 13))
            left, right = words[s - 1], words[s + 12]
            pieces = [[w for w in ["xqzleft"] if w != left], words[s : s + 12], [w for w in ["xqzright"] if w != right]]
        filler = vocab.gather(zipf_ids(rng, 30, len(vocab))).to_list()
        new_rows.append(row)
        new_values.append(" ".join(filler[:15] + [w for piece in pieces for w in piece] + filler[15:]))
    order = np.argsort(new_rows)
    texts = texts.scatter(np.asarray(new_rows)[order], pl.Series([new_values[i] for i in order]))
    return texts, reference, planted, miss_rows.tolist()


def really_overlaps(text: str, item: str, n: int, min_words: int = 8) -> bool:
    """Plain-Python ground truth, independent of the module: a shared run of n words, or a whole short item."""

    def tokens(value: str) -> list[str]:
        return re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", value).lower())

    a, b = tokens(text), tokens(item)
    if len(a) < n or len(b) < n:
        short, other = (a, b) if len(a) <= len(b) else (b, a)
        if len(short) < min_words:
            return False
        k = len(short)
        return any(other[i : i + k] == short for i in range(len(other) - k + 1))
    grams = {tuple(b[i : i + n]) for i in range(len(b) - n + 1)}
    return any(tuple(a[i : i + n]) in grams for i in range(len(a) - n + 1))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1_000_000)
    parser.add_argument("--references", type=int, default=10_000)
    parser.add_argument("--planted", type=int, default=2_000)
    parser.add_argument("--n", type=int, default=13)
    parser.add_argument("--batch-size", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=20261101)
    args = parser.parse_args()

    t0 = time.perf_counter()
    texts, reference, planted, misses = build(args.texts, args.references, args.planted, args.seed)
    generation_s = time.perf_counter() - t0
    text_mb = texts.str.len_bytes().sum() / 1e6
    words = texts.str.count_matches(r"\S+").sum()
    print(f"corpus: {len(texts):,} texts ({text_mb:.0f} MB, {words:,} words), {len(reference):,} references, "
          f"{len(planted):,} planted, {len(misses):,} near misses; generated in {generation_s:.1f} s")  # fmt: skip

    gc.collect()
    try:  # reset the peak RSS to the current RSS, so the figure is the call's own peak (Linux)
        Path("/proc/self/clear_refs").write_text("5")
        rss_reset = True
    except OSError:
        rss_reset = False
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    found = find_overlaps(texts, reference, n=args.n, batch_size=args.batch_size)
    seconds = time.perf_counter() - t0
    peak = peak_rss_mb()

    got = dict(zip(found.get_column("row").to_list(), found.get_column("reference_row").to_list(), strict=True))
    true_positive = sum(1 for row, source in planted.items() if got.get(row) == source)
    wrong_reference = sum(1 for row, source in planted.items() if row in got and got[row] != source)
    near_miss_hits = sum(1 for row in misses if row in got)
    # a found row that was not planted may still be a real overlap the generator made by chance (common phrases
    # flanked by common words): an independent plain-Python check decides
    unplanted = [(row, item) for row, item in got.items() if planted.get(row) != item]
    by_chance = sum(1 for row, item in unplanted if really_overlaps(texts[row], reference[item], args.n))
    false_positive = len(unplanted) - by_chance
    recall = true_positive / len(planted) if planted else 1.0
    precision = (len(got) - false_positive) / len(got) if got else 1.0
    print(f"find_overlaps: {seconds:.1f} s, {len(texts) / seconds:,.0f} texts/s, peak RSS {peak:,.0f} MB "
          f"(before the call {rss_before:,.0f} MB{'' if rss_reset else ', peak not reset'})")  # fmt: skip
    print(f"found {len(got):,} rows: planted recall {recall:.4f} ({true_positive}/{len(planted)}, wrong reference "
          f"{wrong_reference}); precision {precision:.4f} ({false_positive} false positives; {by_chance} real "
          f"overlaps not planted); near misses found {near_miss_hits}/{len(misses)}")  # fmt: skip
    if len(found):
        print(found.head(3))
    if unplanted:
        print("not planted:", found.filter(pl.col("row").is_in([row for row, _ in unplanted])).head(3).rows())
    figures = {
        "texts": len(texts),
        "references": len(reference),
        "planted": len(planted),
        "near_misses": len(misses),
        "text_mb": round(text_mb, 1),
        "words": int(words),
        "n": args.n,
        "batch_size": args.batch_size,
        "seconds": round(seconds, 2),
        "texts_per_s": round(len(texts) / seconds),
        "peak_rss_mb": round(peak),
        "rss_before_mb": round(rss_before),
        "peak_rss_is_call_only": rss_reset,
        "found": len(got),
        "recall": round(recall, 4),
        "precision": round(precision, 4),
        "false_positives": false_positive,
        "unplanted_real_overlaps": by_chance,
        "wrong_reference": wrong_reference,
        "near_miss_hits": near_miss_hits,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
