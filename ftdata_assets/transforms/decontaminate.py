"""Benchmark decontamination: which training texts share a long word n-gram with a reference (eval) item.

Pure polars/numpy; never imports Dagster. This is the leakage check of the design ("never train on the eval set,
check leakage by near-duplicate, not only by exact match"), by the long word n-gram overlap test of
GPT-3's contamination analysis (13-grams after normalization).

Normalization and words
    Unicode NFKC (only on rows with a non-ASCII character: it is the identity on ASCII, and costly),
    lowercase, then the words are the runs of letters, marks and digits (`WORD_PATTERN`); everything else
    (punctuation, symbols, whitespace, `_`) only separates words. So "Don't!" is the two words `don t`, and case,
    punctuation and spacing never matter. Chinese and Japanese write no spaces, so a run of Han, Hiragana or
    Katakana characters would be one "word" and a whole Chinese prompt one gram: each such character is a word
    (`CJK_CHARACTER`; "到淡水" is the 3 words `到 淡 水`), so the overlap unit is a run of 13 characters
    (character n-grams). 13 characters hold less text than 13 English words, yet a Chinese prompt under 13
    characters is, like an English one under 13 words, compared whole against benchmarks only (from
    `min_words` characters).
    `normalize_for_decontamination` shows the result (words joined by one space); `matched_ngram` in the output
    is in that form.

What overlaps
    A text and a reference item overlap when they share a run of `n` consecutive words (13 by default: long
    enough that common phrases do not match, short enough that a 40-word copy with a word or two replaced still
    keeps an intact 13-word run). Items shorter than `n` words are compared as a whole instead, when they have
    at least `min_words` words: such a short item matches an item that contains all of its words, in order, as a
    run (a 10-word benchmark question copied into a training text, or a 9-word training text copied from a
    benchmark item), exactly after normalization. Items with fewer than `min_words` words (and fewer than `n`)
    are ignored on both sides: a 5-word match says nothing. Nulls and empty or word-less strings never match.
    `shared_ngrams` counts the distinct shared runs (n-grams, or the whole short item) of the text and the
    chosen reference item. A pair overlaps when it shares at least `min_shared` of them, or when one side is a
    short item contained in full in the other (it has only one gram to share, and sharing it is the strongest
    overlap it can have, so `min_shared` does not hide copied short questions).

Method (vectorized; the reference is small, the texts are many)
    1. Every word gets a 64-bit hash (polars `Series.hash`; not stable across polars versions, but hashes are
       only compared within one call). The hash of the g words from position i is the polynomial
       `sum_k word[i+k] * B^(g-1-k) mod 2^64`, computed for every position of the flattened word array at once
       by Horner's rule in place (one multiply-add pass per word of the gram, contiguous slices, no gathers);
       the other lengths needed (short reference and short text lengths) are read off the same pass. Grams
       that cross an item boundary are masked out.
    2. The reference grams are built once, per gram length, as a table sorted by hash (hash, item, position).
       Texts are processed in batches of `batch_size` rows so peak memory stays bounded. A batch's n-grams are
       tested against the table's hash set (polars `is_in`: ~10x faster than `np.searchsorted` over all grams,
       measured); short reference items are looked for only where the hash of their first `min_words` words
       occurs (one set test for all short lengths). Only the hits are located in the sorted table and expanded
       to candidate (text, reference item) pairs.
    3. Verification: every candidate pair is checked by comparing the actual normalized words of both grams, and
       shared grams are counted as distinct strings, so a 64-bit hash collision can neither create a hit nor
       change a count. Hits are rare, so this costs little.
    4. Per text, the reference item with the most shared grams wins, ties to the lowest reference row; the
       example gram is the text's first shared one. Output is sorted by `row` and a deterministic function of the
       inputs and parameters (it does not depend on `batch_size`).
    Cost: linear in the words of `texts`; 2/3 of the time is polars' tokenization (`extract_all`). Measured with
    bench/decontaminate.py on 2 cores: 1M texts (428 MB, 70M words) against 10k items in 17.6 s, peak RSS
    1.65 GB of which 0.57 GB is the input already in memory (batch_size 200k; memory scales with it).
    A gram shared by very many reference items (boilerplate such as an instruction template present in all of
    them) is verified against at most MAX_ITEMS_PER_GRAM of them per text occurrence.

Templates versus leaks (`find_overlaps_detailed`)
    A 13-word run held by many documents (LeetCode's `Definition for a binary tree node` stub, a licence
    sentence, a stock instruction) says nothing about a leaked item. With `max_documents`, an n-gram held by more
    documents than that (texts and items together, each counted once per document) is ignored; a text pasted
    from one item shares its runs with two documents only, so it still overlaps. With `min_coverage`, the
    shared runs must also cover that share of the item's n-grams (the overlap measure of PaLM / Llama 2
    decontamination). Both rules are off by default here; `contamination.decontaminate` applies them to the
    held-out check only, never to benchmarks. Document counts come from the verified pairs and the reference
    table, batch by batch: an n-gram already over the bound within one batch has its pairs dropped there, so
    templated data does not pile up pairs across batches; the result does not depend on `batch_size`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import polars as pl

WORD_PATTERN = r"[\p{L}\p{M}\p{N}]+"
"""A word: a run of Unicode letters, marks and digits of the NFKC, lowercased text (CJK characters apart)."""
CJK_CHARACTER = r"[\p{Han}\p{Hiragana}\p{Katakana}]\p{M}*"
"""A Chinese or Japanese character (with any combining mark after it): each one is a word of its own, as
those scripts put no spaces between words. Hangul is left to `WORD_PATTERN` (Korean spaces its words)."""

_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit polynomial base for folding word hashes into gram hashes
_WORD_SEED = 0x5EED_DEC0  # polars hash seed for the words (any fixed value)

OUTPUT_SCHEMA = pl.Schema(
    {"row": pl.UInt32, "reference_row": pl.UInt32, "shared_ngrams": pl.UInt32, "matched_ngram": pl.String}
)
"""The schema of `find_overlaps`; `row` is UInt32 like polars' `with_row_index`, so it joins on it directly."""

_PAIR_SCHEMA = pl.Schema(
    {
        "row": pl.Int64,
        "reference_row": pl.Int64,
        "start": pl.Int64,
        "g": pl.Int64,
        "gram": pl.String,
        "hash": pl.UInt64,
    }
)


# ------------------------------------------------------------------------------------------------------------
# normalization and words


def _word_lists(texts: pl.Series) -> pl.Series:
    """The list of normalized words per row (null -> no words)."""
    texts = texts.cast(pl.String).fill_null("")
    non_ascii = np.flatnonzero(texts.str.contains(r"[^\x00-\x7F]").to_numpy())
    if len(non_ascii):
        normalized = texts.gather(non_ascii).str.normalize("NFKC")
        cjk = np.flatnonzero(normalized.str.contains(CJK_CHARACTER).to_numpy())
        if len(cjk):  # one word per CJK character: spaces around each, then the same word pattern
            normalized = normalized.scatter(cjk, normalized.gather(cjk).str.replace_all(f"({CJK_CHARACTER})", " $1 "))
        texts = texts.scatter(non_ascii, normalized)
    return texts.str.to_lowercase().str.extract_all(WORD_PATTERN)


def normalize_for_decontamination(texts: pl.Series) -> pl.Series:
    """NFKC, lowercase, punctuation and whitespace runs replaced by one space, ends stripped; null becomes ""."""
    return _word_lists(texts).list.join(" ").alias(texts.name)


@dataclass(frozen=True)
class _Tokens:
    """The words of a run of items, flattened: item i's words are `words[start[i]:start[i + 1]]`."""

    words: pl.Series
    start: np.ndarray  # int64, one more than the items
    hashes: np.ndarray  # uint64, one per word

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.start)

    def room(self) -> np.ndarray:
        """Per word, how many words its item has from it to its end (a g-gram may start where room >= g)."""
        lengths = self.lengths
        return np.repeat(self.start[1:], lengths) - np.arange(self.start[-1], dtype=np.int64)

    def owner(self, positions: np.ndarray) -> np.ndarray:
        """The item of each word position."""
        return np.searchsorted(self.start, positions, side="right") - 1


def _tokenize(texts: pl.Series) -> _Tokens:
    lists = _word_lists(texts)
    lengths = lists.list.len().to_numpy().astype(np.int64)
    start = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=start[1:])
    words = lists.explode(empty_as_null=False, keep_nulls=False)
    return _Tokens(words, start, words.hash(seed=_WORD_SEED).to_numpy())


def _scan_grams(word_hashes: np.ndarray, lengths: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(g, H) for each wanted gram length g, ascending: H[i] = hash of the g words starting at flat position i.

    Horner's rule in place over the whole flat array; H is a view that the next step overwrites, so use it
    before asking for the next length.
    """
    total = len(word_hashes)
    acc = word_hashes.copy()
    done = 1  # acc[i] is the hash of the `done` words from i, for i < total - done + 1
    for g in sorted(set(lengths)):
        if g > total:
            return
        while done < g:
            view = acc[: total - done]
            view *= _BASE
            view += word_hashes[done:]
            done += 1
        yield g, acc[: total - g + 1]


def _keys(hashes: np.ndarray) -> pl.Series:
    """A hash set for `_members`."""
    return pl.Series(hashes, dtype=pl.UInt64).implode()


def _members(hashes: np.ndarray, keys: pl.Series) -> np.ndarray:
    """Boolean mask: which hashes are in `keys` (from `_keys`)."""
    return pl.Series(hashes, dtype=pl.UInt64).is_in(keys).to_numpy()


# ------------------------------------------------------------------------------------------------------------
# reference tables


MAX_ITEMS_PER_GRAM = 16
"""A text gram is verified against at most this many reference items holding it. Templated data puts one
13-gram in thousands of held-out rows, and every (text gram, item) pair would be verified word by word: the
pairs grow with the square of the data (14 GB at 1M examples). Whether a text overlaps is unchanged (one
verified item is enough); `reference_row` is then the best of the items looked at, not of all of them. The
cost: a real overlap could be missed only if its 64-bit gram hash also collided with another gram held by
more than this many items (verification still rejects every collision it sees)."""


@dataclass(frozen=True)
class _Table:
    """The grams of one length of the reference, sorted by hash: each gram's hash, item and start position."""

    hashes: np.ndarray
    item: np.ndarray
    start: np.ndarray
    keys: pl.Series  # the distinct hashes, imploded, for `is_in`

    @classmethod
    def build(cls, hashes: np.ndarray, item: np.ndarray, start: np.ndarray) -> _Table:
        # every occurrence is kept (no dedup by hash): under a hash collision a deduplicated table could keep
        # the wrong gram of an item and lose a real match at verification
        order = np.argsort(hashes, kind="stable")
        hashes, item, start = hashes[order], item[order], start[order]
        distinct = hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))] if len(hashes) else hashes
        return cls(hashes, item, start, _keys(distinct))

    def pairs(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For hashes known to be in the table: (query index, reference item, its start) per matching entry,
        at most MAX_ITEMS_PER_GRAM entries per hash (the first items that hold it)."""
        lo = np.searchsorted(self.hashes, query, side="left")
        count = np.minimum(np.searchsorted(self.hashes, query, side="right") - lo, MAX_ITEMS_PER_GRAM)
        index = np.repeat(np.arange(len(query)), count)
        entry = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count - lo, count)
        return index, self.item[entry], self.start[entry]


@dataclass
class _Reference:
    tokens: _Tokens
    n: int
    min_words: int
    long: _Table | None  # n-grams of the items with >= n words
    short_whole: dict[int, _Table]  # g -> the whole items of exactly g words (min_words <= g < n)
    short_prefix: pl.Series | None  # the hashes of the short items' first min_words words (prefilter)
    _all_grams: dict[int, _Table | None] = field(default_factory=dict)

    @classmethod
    def build(cls, reference: pl.Series, n: int, min_words: int) -> _Reference:
        tokens = _tokenize(reference)
        lengths = tokens.lengths
        short = sorted({int(g) for g in np.unique(lengths) if min_words <= g < n})
        room = tokens.room()
        long, short_whole, short_prefix = None, {}, None
        short_items = np.flatnonzero((lengths >= min_words) & (lengths < n))
        for g, grams in _scan_grams(tokens.hashes, [*short, n, min_words] if short else [n]):
            if g == min_words and short:
                short_prefix = _keys(grams[tokens.start[short_items]])
            if g == n:
                where = np.flatnonzero(room >= n)
                long = _Table.build(grams[where], tokens.owner(where), where)
            elif g in short:
                items = np.flatnonzero(lengths == g)
                where = tokens.start[items]
                short_whole[g] = _Table.build(grams[where], items, where)
        return cls(tokens, n, min_words, long, short_whole, short_prefix)

    def all_grams(self, g: int) -> _Table | None:
        """Every g-gram of every item with >= g words (what a short text of g words may be contained in)."""
        if g not in self._all_grams:
            table = None
            for length, grams in _scan_grams(self.tokens.hashes, [g]):
                where = np.flatnonzero(self.tokens.room() >= length)
                table = _Table.build(grams[where], self.tokens.owner(where), where) if len(where) else None
            self._all_grams[g] = table
        return self._all_grams[g]


# ------------------------------------------------------------------------------------------------------------
# matching


def _batch_pairs(tokens: _Tokens, ref: _Reference) -> pl.DataFrame:
    """The verified shared grams of one batch: one row per (text row, reference item, distinct gram), with the
    gram's first position in the text, sorted by row, item and position."""
    n, lengths = ref.n, tokens.lengths
    short_texts = {int(g) for g in np.unique(lengths) if ref.min_words <= g < n}
    room = tokens.room()
    found: list[tuple[int, np.ndarray, np.ndarray, _Table]] = []  # (g, text positions, hashes, table)
    wanted = {n, *short_texts} | ({ref.min_words, *ref.short_whole} if ref.short_prefix is not None else set())
    prefix = np.zeros(0, dtype=np.int64)
    for g, grams in _scan_grams(tokens.hashes, wanted):
        # every n-gram of the texts against the long items' n-grams
        if g == n and ref.long is not None:
            hit = np.flatnonzero(_members(grams, ref.long.keys) & (room[: len(grams)] >= g))
            found.append((g, hit, grams[hit], ref.long))
        # the short items of g words inside the texts: only where a short item's first min_words words are
        # (one hash-set test of all positions instead of one per short length)
        if g == ref.min_words and ref.short_prefix is not None:
            prefix = np.flatnonzero(_members(grams, ref.short_prefix) & (room[: len(grams)] >= g))
        if (table := ref.short_whole.get(g)) is not None:
            where = prefix[room[prefix] >= g]
            hit = where[_members(grams[where], table.keys)]
            found.append((g, hit, grams[hit], table))
        # the short texts of g words, whole, against every g-gram of the reference
        if g in short_texts and (table := ref.all_grams(g)) is not None:
            starts = tokens.start[:-1][lengths == g]
            hit = starts[_members(grams[starts], table.keys)]
            found.append((g, hit, grams[hit], table))
    # candidate pairs: (text position, reference item, reference position, gram length)
    columns: list[list[np.ndarray]] = [[], [], [], []]
    gram_hashes: list[np.ndarray] = [np.zeros(0, dtype=np.uint64)]
    for g, hit, hashes, table in found:
        index, item, ref_start = table.pairs(hashes)
        for column, values in zip(columns, (hit[index], item, ref_start, np.full(len(index), g)), strict=True):
            column.append(values.astype(np.int64))
        gram_hashes.append(hashes[index].astype(np.uint64))
    start, item, ref_start, g = (np.concatenate([np.zeros(0, dtype=np.int64), *column]) for column in columns)
    gram_hash = np.concatenate(gram_hashes)
    if not len(start):
        return pl.DataFrame(schema=_PAIR_SCHEMA)
    # verification: the g words of the text at `start` must be those of the reference at `ref_start`
    text_words, offsets = _gather_grams(tokens.words, start, g)
    ref_words, _ = _gather_grams(ref.tokens.words, ref_start, g)
    ok = np.logical_and.reduceat((text_words == ref_words).to_numpy(), offsets)
    keep = np.flatnonzero(ok)
    grams = (
        pl.DataFrame({"pair": np.repeat(np.arange(len(ok)), g), "word": text_words})
        .filter(pl.Series(np.repeat(ok, g)))
        .group_by("pair", maintain_order=True)
        .agg(pl.col("word").str.join(" "))
        .get_column("word")
    )
    pairs = pl.DataFrame(
        {
            "row": tokens.owner(start[keep]),
            "reference_row": item[keep],
            "start": start[keep],
            "g": g[keep],
            "gram": grams,
            "hash": gram_hash[keep],
        },
        schema=_PAIR_SCHEMA,
    )
    # one pair per distinct shared gram (by content, so exact whatever the hashes), at its first place in the text
    return pairs.sort("row", "reference_row", "start").unique(
        ["row", "reference_row", "gram"], keep="first", maintain_order=True
    )


def _gather_grams(words: pl.Series, start: np.ndarray, g: np.ndarray) -> tuple[pl.Series, np.ndarray]:
    """The words of each gram (start, g) back to back, and where each gram's words begin."""
    offsets = np.cumsum(g) - g
    position = np.arange(int(g.sum())) - np.repeat(offsets - start, g)
    return words.gather(position), offsets


BATCH_THREADS = 2
"""Batches of `find_overlaps` in flight at once: each holds its own candidate pairs, so memory is about this
many times one batch's."""


@functools.lru_cache(maxsize=1)
def _batch_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=BATCH_THREADS, thread_name_prefix="ftdata-decontaminate")


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=OUTPUT_SCHEMA)


@dataclass(frozen=True)
class Overlaps:
    """What `find_overlaps_detailed` found: the overlapping texts and what each rule set aside.

    `hits` is `find_overlaps`' frame. `strict_rows` are the texts that overlap without the two template rules
    (document frequency, coverage): `hits` is a subset of them, so `strict_rows - hits` are the texts those
    rules spared. `after_documents_rows` are the texts still overlapping once template n-grams are ignored
    (before `min_coverage`). `templates` lists the ignored n-grams (`gram`, normalized) with the number of
    documents holding them (`documents`), most common first.
    """

    hits: pl.DataFrame
    strict_rows: pl.Series
    after_documents_rows: pl.Series
    templates: pl.DataFrame

    @property
    def spared_by_documents(self) -> int:
        """Texts that overlapped only through n-grams held by more than `max_documents` documents."""
        return self.strict_rows.len() - self.after_documents_rows.len()

    @property
    def spared_by_coverage(self) -> int:
        """Texts whose remaining shared n-grams covered less than `min_coverage` of every reference item."""
        return self.after_documents_rows.len() - self.hits.height


TEMPLATE_SCHEMA = pl.Schema({"gram": pl.String, "documents": pl.UInt32})


def _documents(values: pl.Series | np.ndarray | None, size: int, name: str) -> np.ndarray:
    if values is None:
        return np.arange(size, dtype=np.int64)
    array = values.to_numpy() if isinstance(values, pl.Series) else np.asarray(values)
    if len(array) != size:
        raise ValueError(f"{name} has {len(array)} values for {size} items")
    return array.astype(np.int64)


def find_overlaps(
    texts: pl.Series,
    reference: pl.Series,
    n: int = 13,
    min_shared: int = 1,
    *,
    min_words: int = 8,
    batch_size: int = 50_000,
    max_documents: int | None = None,
    min_coverage: float = 0.0,
    text_documents: pl.Series | np.ndarray | None = None,
    reference_documents: pl.Series | np.ndarray | None = None,
) -> pl.DataFrame:
    """The texts that share a word n-gram with a reference item (see the module docstring for the semantics).

    One row per overlapping text, sorted by `row` (its index in `texts`): `reference_row` (index in `reference`
    of the item sharing the most distinct n-grams with it, ties to the lowest index), `shared_ngrams` (that
    count) and `matched_ngram` (the first shared n-gram of the text, normalized). Items shorter than `n` words
    count as one gram, the whole item, when they have at least `min_words` words, and are ignored otherwise.
    `texts` is processed `batch_size` rows at a time. The template rules (`max_documents`, `min_coverage`)
    are described in `find_overlaps_detailed`; by default both are off.
    """
    return find_overlaps_detailed(
        texts,
        reference,
        n,
        min_shared,
        min_words=min_words,
        batch_size=batch_size,
        max_documents=max_documents,
        min_coverage=min_coverage,
        text_documents=text_documents,
        reference_documents=reference_documents,
    ).hits


def find_overlaps_detailed(
    texts: pl.Series,
    reference: pl.Series,
    n: int = 13,
    min_shared: int = 1,
    *,
    min_words: int = 8,
    batch_size: int = 50_000,
    max_documents: int | None = None,
    min_coverage: float = 0.0,
    text_documents: pl.Series | np.ndarray | None = None,
    reference_documents: pl.Series | np.ndarray | None = None,
) -> Overlaps:
    """`find_overlaps` with two rules that tell a shared template from a leaked item, and what each spared.

    - `max_documents`: an n-gram held by more than this many documents (the distinct `text_documents` of the
      texts holding it plus the distinct `reference_documents` of the items holding it; by default every text
      and every item is its own document, and texts and items are never the same document) is a template
      (a code stub, a stock instruction), not a leak, and is ignored. A text pasted from one item shares its
      n-grams with two documents, so it still overlaps. Counted by n-gram hash over the n-grams of the
      reference only (a 64-bit collision could only make a gram look more common).
    - `min_coverage`: the shared n-grams must cover at least this share of the reference item's n-grams
      (`shared_ngrams / (words - n + 1)`, capped at 1; a short item matched whole covers itself), the overlap
      measure of PaLM/Llama-2-style decontamination reports. 0 keeps every overlap.
    Short items compared whole (fewer than `n` words) are never templates.
    """
    if n < 1 or min_shared < 1 or min_words < 1 or batch_size < 1:
        raise ValueError("n, min_shared, min_words and batch_size must be >= 1")
    if max_documents is not None and max_documents < 1:
        raise ValueError("max_documents must be >= 1 (or None: no template rule)")
    if not 0.0 <= min_coverage <= 1.0:
        raise ValueError("min_coverage must be in [0, 1]")
    text_docs = _documents(text_documents, len(texts), "text_documents")
    ref = _Reference.build(reference, n, min_words)
    ref_docs = _documents(reference_documents, len(reference), "reference_documents")
    nothing = pl.Series("row", [], dtype=pl.UInt32)
    if ref.long is None and not ref.short_whole:
        return Overlaps(_empty(), nothing, nothing, pl.DataFrame(schema=TEMPLATE_SCHEMA))
    # per n-gram hash of the reference: how many distinct reference documents hold it
    ref_counts = (
        pl.DataFrame(
            {"hash": ref.long.hashes, "doc": ref_docs[ref.long.item]}, schema={"hash": pl.UInt64, "doc": pl.Int64}
        )
        .unique()
        .group_by("hash")
        .agg(ref_documents=pl.len().cast(pl.Int64))
        if ref.long is not None
        else pl.DataFrame(schema={"hash": pl.UInt64, "ref_documents": pl.Int64})
    )

    def batch_pairs(offset: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series, pl.DataFrame]:
        """The batch's verified pairs (rows made global) without the templates already over the bound within
        it, its (hash, text document) set of shared n-grams, the rows that overlap without either rule, and
        one (hash, gram) per n-gram dropped here."""
        pairs = _batch_pairs(_tokenize(texts.slice(offset, batch_size)), ref).with_columns(pl.col("row") + offset)
        strict_rows = _best(pairs, n, min_shared, ref, 0.0).get_column("row")
        no_docs = pl.DataFrame(schema={"hash": pl.UInt64, "doc": pl.Int64})
        if max_documents is None or pairs.is_empty():
            return pairs, no_docs, strict_rows, pl.DataFrame(schema={"hash": pl.UInt64, "gram": pl.String})
        long = pairs.filter(pl.col("g") == n)
        held = long.select("hash", doc=pl.Series(text_docs[long.get_column("row").to_numpy()])).unique()
        counts = held.group_by("hash").agg(text_documents=pl.len().cast(pl.Int64)).join(ref_counts, on="hash")
        over = counts.filter(pl.col("text_documents") + pl.col("ref_documents") > max_documents).select("hash")
        # a template's pairs grow with the data (one per text holding it per item): drop them per batch
        dropped = long.join(over, on="hash").unique("hash").select("hash", "gram")
        kept = pairs.filter((pl.col("g") < n) | ~pl.col("hash").is_in(over.get_column("hash").implode()))
        return kept, held, strict_rows, dropped

    offsets = range(0, len(texts), batch_size)
    # batches are independent and mostly polars/numpy work that releases the GIL: two at a time on two cores
    # (results are put back in batch order, so the output is the same)
    batches = list(_batch_threads().map(batch_pairs, offsets)) if len(offsets) > 1 else [batch_pairs(0)]
    pairs = pl.concat([b[0] for b in batches]).sort("row", "reference_row", "start")
    strict_rows = pl.concat([b[2] for b in batches])
    templates = pl.DataFrame(schema=TEMPLATE_SCHEMA)
    if max_documents is not None:
        counts = (
            pl.concat([b[1] for b in batches])
            .unique()
            .group_by("hash")
            .agg(text_documents=pl.len().cast(pl.Int64))
            .join(ref_counts, on="hash")
            .with_columns(documents=pl.col("text_documents") + pl.col("ref_documents"))
            .filter(pl.col("documents") > max_documents)
        )
        grams = pl.concat([pairs.filter(pl.col("g") == n).select("hash", "gram"), *(b[3] for b in batches)]).unique(
            "hash"
        )
        templates = (
            counts.join(grams, on="hash")
            .sort(["documents", "gram"], descending=[True, False])
            .select("gram", pl.col("documents").cast(pl.UInt32))
        )
        pairs = pairs.filter((pl.col("g") < n) | ~pl.col("hash").is_in(counts.get_column("hash").implode()))
    after_documents = _best(pairs, n, min_shared, ref, 0.0)
    hits = _best(pairs, n, min_shared, ref, min_coverage) if min_coverage > 0 else after_documents
    return Overlaps(hits.drop("coverage"), strict_rows, after_documents.get_column("row"), templates)


def _best(pairs: pl.DataFrame, n: int, min_shared: int, ref: _Reference, min_coverage: float) -> pl.DataFrame:
    """Per text, the reference item sharing the most distinct grams among those passing `min_shared` and
    `min_coverage` (ties to the lowest item); OUTPUT_SCHEMA plus `coverage`, sorted by row."""
    if pairs.is_empty():
        return _empty().with_columns(coverage=pl.lit(None, pl.Float64))
    lengths = pl.Series(ref.tokens.lengths, dtype=pl.Int64)
    grouped = (
        pairs.group_by("row", "reference_row", maintain_order=True)  # sorted by row, item, start
        .agg(
            shared_ngrams=pl.len(),
            whole_item=(pl.col("g") < n).any(),
            matched_ngram=pl.col("gram").first(),
        )
        .filter((pl.col("shared_ngrams") >= min_shared) | pl.col("whole_item"))
    )
    item_grams = lengths.gather(grouped.get_column("reference_row")) - n + 1
    coverage = (
        pl.when(pl.col("whole_item"))
        .then(1.0)
        .otherwise((pl.col("shared_ngrams") / pl.Series(item_grams).clip(lower_bound=1)).clip(upper_bound=1.0))
    )
    return (
        grouped.with_columns(coverage=coverage)
        .filter(pl.col("coverage") >= min_coverage)
        .sort(["row", "shared_ngrams", "reference_row"], descending=[False, True, False])
        .unique("row", keep="first", maintain_order=True)
        .select(*OUTPUT_SCHEMA, "coverage")
        .cast(dict(OUTPUT_SCHEMA))
    )
