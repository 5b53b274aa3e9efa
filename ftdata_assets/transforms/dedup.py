"""Exact and near-duplicate clustering of texts, and picking the row to keep in each cluster.

Pure polars/numpy; never imports Dagster. Every function returns one value per input row, in input order.

Exact duplicates
    Two texts are exact duplicates when they are equal after `normalize_for_dedup` (Unicode NFKC, lowercase,
    whitespace runs collapsed to one space, ends stripped). The cluster id is the content id of the normalized
    text: blake2b-128 hex of its UTF-8 bytes. It depends on nothing but the text, so it is the same on any
    machine, in any row order, with any polars version, and across dataset versions. A null text is treated
    as the empty string.

Near duplicates (MinHash-LSH on word shingles)
    1. Normalize as above and keep one copy of each distinct normalized text (exact duplicates therefore always
       share a near-duplicate cluster too). Distinct texts are processed in content-id order, so nothing below
       depends on the input row order.
    2. Words are the Unicode `\\w+` runs of the normalized text (punctuation is ignored). A text's shingles are
       its runs of `shingle_size` consecutive words; a text with fewer words has one shingle, all of its words,
       so it is a near duplicate only of texts with the same word sequence. A text with no word at all
       (empty, only punctuation or emoji) is a near duplicate of nothing but its exact copies.
    3. Hashing is stable (no polars `hash`, whose output may change between versions and CPUs). Words are
       found and hashed on the UTF-8 bytes in numpy, without building a string per word: each word's hash
       is splitmix64 folded over its 8-byte pieces, k word hashes are folded into a 32-bit shingle hash.
       The `num_perm` permutations are `h_i(x) = a_i * x + b_i mod 2^32` (a_i odd, so each is a bijection
       of the 32-bit shingle hashes) with coefficients derived from `seed` by blake2b. The signature is the
       per-text minimum, computed in numpy over 1 MB chunks of texts and blocks of shingles so memory stays
       bounded, two chunks at a time on threads. `minhashes` keeps the signatures with
       the distinct texts (`MinHashes`), so a caller can reuse them for a subset of the rows instead of hashing
       again (a signature depends on its text only, so the results are the same).
    4. LSH: the signature is cut into `bands` x `rows`; texts sharing one band's values are candidate pairs.
       By default `bands`/`rows` minimize the same weighted false-positive/false-negative integral as
       datasketch's `MinHashLSH`, but weighted towards recall (false negatives 0.95, false positives 0.05):
       every candidate is verified next, so extra candidates only cost a vectorized comparison.
       A bucket holding more than `max_bucket_pairs` texts pairs each member with its next `max_bucket_pairs`
       neighbours (content-id order) instead of with all of them, so a huge bucket cannot explode quadratically.
    5. Verification: a candidate pair is kept when its estimated Jaccard similarity (share of equal signature
       positions) is >= `threshold` + `BORDERLINE` (0.07); a pair estimated within `BORDERLINE` of the
       threshold is kept when the exact Jaccard of its shingle sets (64-bit shingle hashes, `exact_jaccard`,
       vectorized over the pairs) is >= `threshold`. The estimate's standard deviation is ~0.04 at 128
       permutations, so this settles the pairs the estimate would put on either side by chance.
    6. Clustering (chains must not balloon): a connected component of verified pairs that is a clique
       becomes one cluster. Any other component is split greedily: texts are taken in order of decreasing
       verified degree (ties: content id); an unassigned text becomes an anchor, and its unassigned verified
       neighbours, most similar to the anchor first (ties: degree, content id), join its cluster one by one,
       each only if it forms a verified pair (step 5) with every member already in the cluster.
       So every cluster is a clique of near-duplicate pairs (complete linkage, not a star): A~B, B~C, A!~C
       never puts A and C together, whichever of them is the anchor. That matters downstream: the row kept
       for a cluster is chosen by source priority, not by anchor, so every dropped row must be similar to
       whichever row wins (a star around B would drop C as a "duplicate" of a winning A it does not
       resemble). The price: variants of one original that are not similar to each other end up in separate
       clusters (the closest with the original, the others alone or with each other). The loop runs in
       Python only over components that are not cliques (rare: chains, families of variants), each step being
       a numpy comparison; cliques (pairs, identical groups) are labelled in bulk.
    The cluster id is the content id of the cluster's anchor (for a text with no near duplicate, its own
    content id, i.e. its exact cluster id). Output is a deterministic function of the multiset of texts and
    the parameters: the same on any machine and for any row order.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
from scipy.sparse import coo_array, csgraph

WORD_PATTERN = r"\w+"
"""A word for shingling: a run of Unicode word characters of the normalized text."""

_SPLITMIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SHINGLE_BASE = np.uint64(0xFF51AFD7ED558CCD)  # murmur3 fmix constant: the base that folds word hashes
_MAX32 = np.uint32(0xFFFFFFFF)
_MAX64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_PIECE_MASKS = np.array([0] + [(1 << (8 * size)) - 1 for size in range(1, 9)], dtype=np.uint64)
"""The low `size` bytes of a uint64, by size 0..8: a table lookup instead of a shift per word."""


# ------------------------------------------------------------------------------------------------------------
# normalization and exact duplicates


PARALLEL_NORMALIZE_ROWS = 200_000
"""From this many texts, `normalize_for_dedup` works on slices in threads: polars runs one string
expression over one column in one thread (900k conversations: 7.0 s in one, 3.8 s in two, measured)."""


def normalize_for_dedup(texts: pl.Series) -> pl.Series:
    """NFKC, lowercase, whitespace runs (Unicode) collapsed to one space, ends stripped; null becomes ""."""
    texts = texts.cast(pl.String).fill_null("")
    workers = _thread_count()
    if texts.len() < PARALLEL_NORMALIZE_ROWS or workers < 2:
        return _normalize_slice(texts)
    size = -(-texts.len() // workers)
    slices = [texts.slice(start, size) for start in range(0, texts.len(), size)]
    return pl.concat(list(_worker_threads().map(_normalize_slice, slices)), rechunk=True)


def _normalize_slice(texts: pl.Series) -> pl.Series:
    # NFKC is the identity on ASCII and on most non-ASCII text too (curly quotes, accents, CJK): only rows
    # that fail CPython's NFKC quick check go through it. The check is one C call per non-ASCII row, ~5x
    # faster than polars' NFKC on the same rows (3,888 rows, 0.05 s against 0.5 s, none changed; measured)
    non_ascii = np.flatnonzero((texts.str.len_bytes() != texts.str.len_chars()).to_numpy())  # 10x a regex
    if len(non_ascii):
        candidates = texts.gather(non_ascii).to_list()
        changed = [i for i, text in enumerate(candidates) if not unicodedata.is_normalized("NFKC", text)]
        if changed:
            rows = non_ascii[changed]
            texts = texts.scatter(rows, texts.gather(rows).str.normalize("NFKC"))
    # same result as replacing r"\s+", but only touches runs that are not already a single plain space
    return texts.str.to_lowercase().str.replace_all(r"\s{2,}|[^\S ]", " ").str.strip_chars()


def content_id(normalized_text: str) -> str:
    """The stable id of one normalized text: blake2b-128 hex of its UTF-8 bytes."""
    return hashlib.blake2b(normalized_text.encode("utf-8"), digest_size=16).hexdigest()


def _content_ids(texts: pl.Series) -> list[str]:
    """`content_id` of each text, hashing the UTF-8 bytes straight from the Arrow buffer (no Python string
    per text: a third less time than `content_id` over `to_list()`, measured)."""
    strings = texts.fill_null("").to_arrow()
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    strings = strings.cast(pa.large_string())
    _, offsets_buf, data_buf = strings.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[strings.offset : strings.offset + len(strings) + 1].tolist()
    data = memoryview(data_buf) if data_buf is not None else memoryview(b"")
    blake2b = hashlib.blake2b
    return [blake2b(data[lo:hi], digest_size=16).hexdigest() for lo, hi in itertools.pairwise(offsets)]


def _distinct_texts(texts: pl.Series) -> tuple[pl.Series, pl.Series, np.ndarray]:
    """Distinct normalized texts sorted by content id, their ids, and each input row's index into them.

    blake2b runs in Python once per *distinct* text (~1 s per million): measured, and the price of ids that
    do not depend on the polars version.
    """
    normalized = normalize_for_dedup(texts)
    # one hash grouping gives the distinct texts and their rows (unique + a join on the texts hashed them twice:
    # 0.13 s against 0.02 s for 35k real texts, 108 MB, measured)
    groups = pl.DataFrame({"text": normalized}).with_row_index("row").group_by("text").agg(pl.col("row"))
    distinct = groups.get_column("text")
    ids = pl.Series("id", _content_ids(distinct), dtype=pl.String)
    order = ids.arg_sort().to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    rows = groups.get_column("row")
    node = np.empty(normalized.len(), dtype=np.int64)
    node[rows.explode().to_numpy()] = np.repeat(rank, rows.list.len().to_numpy())
    return distinct.gather(order), ids.gather(order), node


def exact_duplicate_clusters(texts: pl.Series) -> pl.Series:
    """A cluster id per row; rows with equal ids are equal after `normalize_for_dedup`.

    The id is the content id (blake2b-128 hex) of the normalized text, so it is stable across machines, row
    orders, polars versions and dataset versions.
    """
    _, ids, node = _distinct_texts(texts)
    return ids.gather(node).alias("exact_cluster_id")


# ------------------------------------------------------------------------------------------------------------
# stable hashing helpers (numpy, uint64 arithmetic wraps mod 2^64)


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, elementwise on a uint64 array."""
    z = z ^ (z >> np.uint64(30))  # a new array: the input is left as it is; the rest works in place
    z *= _SPLITMIX_1
    z ^= z >> np.uint64(27)
    z *= _SPLITMIX_2
    z ^= z >> np.uint64(31)
    return z


def _seed_words(seed: int | str, tag: str, count: int) -> np.ndarray:
    """`count` stable uint32 words derived from the seed with blake2b (no dependence on numpy's RNG streams)."""
    out = np.empty(count, dtype=np.uint32)
    for i in range(count):
        digest = hashlib.blake2b(f"ftdata-minhash\x1f{seed}\x1f{tag}\x1f{i}".encode(), digest_size=4).digest()
        out[i] = int.from_bytes(digest, "little")
    return out


# ------------------------------------------------------------------------------------------------------------
# LSH parameters


@functools.lru_cache(maxsize=64)
def lsh_params(
    threshold: float,
    num_perm: int,
    false_positive_weight: float = 0.05,
    false_negative_weight: float = 0.95,
) -> tuple[int, int]:
    """(bands, rows) minimizing the weighted false-positive/false-negative integral, like datasketch's
    `MinHashLSH._optimal_param` (same integrals, numpy trapezoids instead of scipy quad).

    With weights 0.5/0.5 this is datasketch's default choice; the defaults here favour recall, because
    near_duplicate_clusters verifies every candidate pair afterwards.
    """
    grid = np.linspace(0.0, 1.0, 2001)
    below = grid[grid <= threshold]
    above = grid[grid >= threshold]
    best, best_error = (1, 1), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = np.trapezoid(1 - (1 - below**rows) ** bands, below)
            fn = np.trapezoid((1 - above**rows) ** bands, above)
            error = fp * false_positive_weight + fn * false_negative_weight
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


# ------------------------------------------------------------------------------------------------------------
# MinHash signatures


_WORD_CODE_POINTS: dict[int, bool] = {}
"""Non-ASCII code point -> is it a word character (polars' Unicode `\\w`); filled as code points are seen."""


def _word_code_points(code_points: np.ndarray) -> np.ndarray:
    """For each non-ASCII code point: True if it is a word character. The class is asked of polars' own regex
    (`\\w`, the `WORD_PATTERN` semantics) once per distinct code point ever seen, then cached."""
    distinct = sorted_unique(code_points)
    missing = [int(c) for c in distinct.tolist() if c not in _WORD_CODE_POINTS]
    if missing:
        flags = pl.Series([chr(c) for c in missing]).str.contains(rf"^{WORD_PATTERN}$").to_list()
        _WORD_CODE_POINTS.update(zip(missing, flags, strict=True))
    table = np.array([_WORD_CODE_POINTS[int(c)] for c in distinct.tolist()], dtype=bool)
    return table[np.searchsorted(distinct, code_points)]


def _word_bytes(data: np.ndarray) -> np.ndarray:
    """A boolean per byte of UTF-8 text: the byte belongs to a word character.

    ASCII by comparisons (`[0-9A-Za-z_]`, what `\\w` is on ASCII); the bytes of a multi-byte character take
    the class of its code point (`_word_code_points`). Vectorized over the bytes: no per-word string is
    built (polars' `extract_all` + a dictionary of the words took ~3x as long, measured)."""
    is_word = ((data | np.uint8(0x20)) - np.uint8(0x61)) < 26  # a-z, A-Z (uint8 arithmetic wraps)
    is_word |= (data - np.uint8(0x30)) < 10
    is_word |= data == 0x5F
    high = np.flatnonzero(data >= 0x80)
    if len(high):
        is_lead = data[high] >= 0xC0
        leads = high[is_lead]
        first = data[leads].astype(np.int64)
        size = 2 + (first >= 0xE0) + (first >= 0xF0)
        code = first & np.where(size == 2, 0x1F, np.where(size == 3, 0x0F, 0x07))
        last = len(data) - 1
        for j in range(1, 4):
            follow = data[np.minimum(leads + j, last)].astype(np.int64) & 0x3F
            code = np.where(size > j, (code << 6) | follow, code)
        # a character's continuation bytes follow its lead byte among the non-ASCII bytes
        is_word[high] = _word_code_points(code)[np.cumsum(is_lead) - 1]
    return is_word


def _word_hashes(chunk: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """A stable 64-bit hash per word occurrence of a chunk of normalized texts (words in text order), and the
    number of words of each text.

    A word is a maximal run of word characters within one text. Its hash: h = len * golden, then for each
    8-byte piece of its UTF-8 bytes (little-endian, the last one zero-padded) h = splitmix64(h ^ piece).
    Pieces are read from two aligned 8-byte words each (`_read8`)."""
    strings = chunk.to_arrow()
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    strings = strings.cast(pa.large_string())
    n = len(strings)
    _, offsets_buf, data_buf = strings.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[strings.offset : strings.offset + n + 1]
    offsets = offsets - offsets[0]
    size = int(offsets[-1])
    if size == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(n, dtype=np.int64)
    first_byte = int(np.frombuffer(offsets_buf, dtype=np.int64)[strings.offset])
    padded = np.zeros((size // 8 + 2) * 8, dtype=np.uint8)  # zero bytes after the text: the last pieces read them
    padded[:size] = np.frombuffer(data_buf, dtype=np.uint8)[first_byte : first_byte + size]
    data = padded[:size]
    is_word = _word_bytes(data)
    text_starts = offsets[:-1][offsets[:-1] < size]
    text_ends = offsets[1:][offsets[1:] > 0] - 1
    begins = is_word.copy()
    begins[1:] &= ~is_word[:-1]
    begins[text_starts] = is_word[text_starts]
    finishes = is_word.copy()
    finishes[:-1] &= ~is_word[1:]
    finishes[text_ends] = is_word[text_ends]
    starts = np.flatnonzero(begins)
    lengths = np.flatnonzero(finishes) + 1 - starts
    counts = np.diff(np.searchsorted(starts, offsets))
    aligned = padded.view("<u8")
    hashes = lengths.astype(np.uint64) * _GOLDEN
    todo = np.arange(len(starts))
    for piece in range(-(-int(lengths.max()) // 8) if len(starts) else 0):
        # the first piece of every word, then pieces of the words still longer: few (most words fit 8 bytes)
        at, rest = (starts, lengths) if piece == 0 else (starts[todo] + 8 * piece, lengths[todo] - 8 * piece)
        mask = _PIECE_MASKS[np.minimum(rest, 8)]  # the piece's bytes of this word
        mixed = _mix64((hashes if piece == 0 else hashes[todo]) ^ (_read8(aligned, at) & mask))
        if piece == 0:
            hashes = mixed
        else:
            hashes[todo] = mixed
        todo = todo[rest > 8]
    return hashes, counts


def _read8(aligned: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The little-endian uint64 at each byte offset of a buffer seen as aligned uint64 words: two aligned
    gathers and shifts (a gather from an unaligned uint64 view of the bytes was ~4x slower, measured)."""
    word, shift = offsets >> 3, ((offsets & 7) * 8).astype(np.uint64)
    high = (aligned[word + 1] << (np.uint64(63) - shift)) << np.uint64(1)  # two shifts: no shift by 64
    return (aligned[word] >> shift) | high


def _shingle_hashes(chunk: pl.Series, shingle_size: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of all shingles of a chunk of normalized texts, and the text (chunk position) of each.

    Shingles of one text are contiguous and texts come in order; a text without words has no shingle."""
    word_hash, counts = _word_hashes(chunk)
    n_shingles = np.where(counts > 0, np.maximum(counts - shingle_size + 1, 1), 0)
    total = int(n_shingles.sum())
    if total == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), n_shingles)
    shift = np.cumsum(counts) - counts - (np.cumsum(n_shingles) - n_shingles)  # first word - first shingle
    position = np.arange(total) + shift[owner]
    # a text shorter than the shingle has one shingle: its words, then zeros (fixed up after the loop)
    padded = np.concatenate((word_hash, np.zeros(shingle_size, dtype=np.uint64)))
    # fold the k words starting at every word position with slices, then gather the shingle starts once (k
    # gathers of the word hashes cost more than the fold over a few positions that start no shingle)
    words = len(word_hash)
    acc = padded[:words].copy()
    for offset in range(1, shingle_size):
        acc *= _SHINGLE_BASE
        acc += padded[offset : offset + words]
    acc = acc[position]
    short = np.flatnonzero((counts > 0) & (counts < shingle_size))
    if len(short):
        index = np.cumsum(n_shingles)[short] - 1  # the only shingle of each short text
        start, length = position[index], counts[short]
        fixed = np.zeros(len(short), dtype=np.uint64)
        for offset in range(shingle_size):
            word = np.where(offset < length, padded[np.minimum(start + offset, len(word_hash))], np.uint64(0))
            fixed = fixed * _SHINGLE_BASE + word
        acc[index] = fixed
    return _mix64(acc), owner


def _chunked_shingle_hashes(
    texts: pl.Series, shingle_size: int, chunk_bytes: int = 1 << 20
) -> tuple[np.ndarray, np.ndarray]:
    """`_shingle_hashes` of any number of texts, tokenized in chunks of about `chunk_bytes` of text (cache-sized,
    as in `minhash_signatures`: the borderline texts of 35k real texts, 17.7 MB, took 0.27 s in one piece,
    measured)."""
    sizes = texts.str.len_bytes().fill_null(0).to_numpy().astype(np.int64) + 1
    starts = _starts_of_runs((np.cumsum(sizes) - sizes) // chunk_bytes).tolist()
    if len(starts) <= 1:
        return _shingle_hashes(texts, shingle_size)
    hashes, owners = [], []
    for lo, hi in zip(starts, [*starts[1:], texts.len()], strict=True):
        chunk_hashes, owner = _shingle_hashes(texts.slice(lo, hi - lo), shingle_size)
        hashes.append(chunk_hashes)
        owners.append(owner + lo)
    return np.concatenate(hashes), np.concatenate(owners)


def _starts_of_runs(values: np.ndarray) -> np.ndarray:
    """Indices where a sorted integer array changes value (always including 0 for a non-empty array)."""
    return np.flatnonzero(np.diff(values, prepend=values[:1] - 1))


@functools.lru_cache(maxsize=32)
def _permutations(seed: int | str, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    a = _seed_words(seed, "a", num_perm) | np.uint32(1)  # odd: a bijection of the 32-bit hashes
    b = _seed_words(seed, "b", num_perm)
    return a, b


def minhash_signatures(
    normalized: pl.Series,
    *,
    num_perm: int = 128,
    shingle_size: int = 5,
    seed: int | str = "ftdata-dedup-v1",
    chunk_bytes: int = 1 << 20,
    block_shingles: int = 1 << 18,
) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (n x num_perm uint32) of already-normalized texts, and a mask of texts with words.

    Texts without any word keep an all-0xFFFFFFFF row and False in the mask. Texts are tokenized in chunks of
    about `chunk_bytes` of text (1 MB: the byte-level arrays stay in cache; 22k real texts, 75 MB, took
    1.1 s against 2.9 s in 32 MB chunks, measured) and min-hashed in blocks of `block_shingles` shingles,
    so memory stays bounded for any corpus.

    Full `num_perm` permutations, not one-permutation hashing: a densified one-permutation sketch was
    ~0.4 s faster on those 75 MB but, for sets of 5-10 shingles (prompts), 3.5x slower and its Jaccard
    estimate twice as noisy (rmse 0.069 against 0.031 at 5 words, measured).
    """
    if shingle_size < 1 or num_perm < 1:
        raise ValueError("shingle_size and num_perm must be >= 1")
    a, b = _permutations(seed, num_perm)
    n = len(normalized)
    signatures = np.full((n, num_perm), _MAX32, dtype=np.uint32)
    has_words = np.zeros(n, dtype=bool)
    if n == 0:
        return signatures, has_words
    sizes = normalized.str.len_bytes().fill_null(0).to_numpy().astype(np.int64) + 1
    chunk_starts = _starts_of_runs((np.cumsum(sizes) - sizes) // chunk_bytes)

    def sign_chunk(lo: int, hi: int) -> None:
        """Chunks hold disjoint texts, so they write disjoint rows and can run side by side."""
        hashes, owner = _shingle_hashes(normalized.slice(lo, hi - lo), shingle_size)
        # each text's distinct 32-bit shingle hashes only (a minimum ignores repeats): one sort of (text, hash)
        # keys costs less than the permutations of the repeats (42% of the shingles of the real holdout texts)
        keys = sorted_unique((owner << 32) | (hashes >> np.uint64(32)).astype(np.int64))
        hashes = (keys & 0xFFFFFFFF).astype(np.uint32)
        owner = (keys >> 32) + lo
        has_words[owner] = True
        for s0 in range(0, len(hashes), block_shingles):
            block, owners = hashes[s0 : s0 + block_shingles], owner[s0 : s0 + block_shingles]
            segments = _starts_of_runs(owners)
            texts = owners[segments]  # a text cut by a block boundary is finished by the next block
            minima = np.empty((num_perm, len(segments)), dtype=np.uint32)
            cells = np.empty(len(block), dtype=np.uint32)
            # one permutation at a time over a cache-sized block: an order of magnitude faster than building
            # the (shingles x num_perm) matrix and reducing it over axis 0 (measured)
            for i in range(num_perm):
                np.multiply(block, a[i], out=cells)
                np.add(cells, b[i], out=cells)
                np.minimum.reduceat(cells, segments, out=minima[i])
            signatures[texts] = np.minimum(signatures[texts], minima.T)

    bounds = [(int(lo), int(hi)) for lo, hi in zip(chunk_starts, [*chunk_starts[1:], n], strict=True)]
    if len(bounds) > 1:
        # the tokenization and most numpy steps release the GIL
        list(_worker_threads().map(lambda bound: sign_chunk(*bound), bounds))
    else:
        sign_chunk(*bounds[0])
    return signatures, has_words


# ------------------------------------------------------------------------------------------------------------
# LSH candidates, verification, clustering


def _band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (text, band), band index mixed in: equal keys = equal band values (w.h.p.)."""
    n = signatures.shape[0]
    cut = signatures[:, : bands * rows].reshape(n, bands, rows)
    acc = np.broadcast_to(np.arange(1, bands + 1, dtype=np.uint64) * _GOLDEN, (n, bands)).copy()
    for row in range(rows):
        acc = _mix64(acc ^ cut[:, :, row].astype(np.uint64))
    return acc


def _candidate_pairs(
    keys: np.ndarray, eligible: np.ndarray, max_bucket_pairs: int, merge_every: int = 1 << 25
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (lo, hi) text pairs sharing a band key, sorted; each bucket member is paired with its next
    `max_bucket_pairs` members (all of them in any bucket of up to max_bucket_pairs + 1 texts).

    A pair shares many bands, so the raw codes repeat: they are deduplicated whenever `merge_every` of them
    have piled up, which bounds memory by the distinct pairs rather than by bands x neighbours."""
    n, bands = keys.shape
    text = np.repeat(np.arange(n, dtype=np.int64), bands)
    flat = keys.ravel()
    keep = np.repeat(eligible, bands) & pl.Series(flat).is_duplicated().to_numpy()
    flat, text = flat[keep], text[keep]
    order = np.argsort(flat, kind="stable")  # stable: texts ascending within a bucket
    flat, text = flat[order], text[order]
    codes = np.zeros(0, dtype=np.int64)
    pending: list[np.ndarray] = []
    pending_size = 0
    active = np.arange(max(len(flat) - 1, 0))
    for distance in range(1, max_bucket_pairs + 1):
        active = active[active + distance < len(flat)]
        active = active[flat[active] == flat[active + distance]]
        if len(active) == 0:
            break
        pending.append(text[active] * n + text[active + distance])
        pending_size += len(active)
        if pending_size >= merge_every:
            codes, pending, pending_size = _merge_sorted_unique(codes, pending), [], 0
    if pending:
        codes = _merge_sorted_unique(codes, pending)
    return codes // n, codes % n


def _merge_sorted_unique(codes: np.ndarray, pending: list[np.ndarray]) -> np.ndarray:
    """The distinct values of `codes` (sorted, distinct) and `pending`, sorted.

    Only `pending` is sorted from scratch; the two sorted runs are then merged by numpy's stable sort
    (timsort: linear on two runs), 1.7 s for 106M values against 4.6 s for a full sort (measured). Re-sorting
    everything at each merge was most of the candidate step at 1M examples."""
    fresh = sorted_unique(np.concatenate(pending))
    if len(codes) == 0:
        return fresh
    return _drop_repeats(np.sort(np.concatenate((codes, fresh)), kind="stable"))


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)` for a 1-d array: sort, then keep the first of each run.

    numpy 2.4's `np.unique` on int64 was ~100x slower than `np.sort` (3 s vs 0.04 s per million, measured):
    it was a third of the dedup step."""
    return _drop_repeats(np.sort(values))


def _drop_repeats(ordered: np.ndarray) -> np.ndarray:
    """A sorted 1-d array without its repeated values."""
    if len(ordered) < 2:
        return ordered
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


MATCH_CHUNK_PAIRS = 1 << 20
"""Candidate pairs per task of `_matches`: tasks run on `_worker_threads` (numpy's gather, compare and sum
release the GIL: 20M pairs of the 1M-example benchmark took 4.3 s on two threads against 13 s in one
thread with bigger batches, measured)."""


@functools.lru_cache(maxsize=1)
def _thread_count() -> int:
    """Threads for the GIL-free numpy/polars work here: the usable cores, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


@functools.lru_cache(maxsize=1)
def _worker_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_thread_count(), thread_name_prefix="ftdata-dedup")


def _matches(signatures: np.ndarray, lo: np.ndarray, hi: np.ndarray, batch: int = 1 << 10) -> np.ndarray:
    """Number of equal signature positions per pair: batches of `batch` pairs (cache-sized) in chunks of
    MATCH_CHUNK_PAIRS spread over threads.

    Lo is sorted (candidate pairs are), so the first gather reads the signatures in order."""
    out = np.empty(len(lo), dtype=np.int64)

    def count(start: int) -> None:
        stop = min(start + MATCH_CHUNK_PAIRS, len(lo))
        equal = np.empty((min(batch, stop - start), signatures.shape[1]), dtype=bool)
        for first in range(start, stop, batch):
            last = min(first + batch, stop)
            same = equal[: last - first]
            np.equal(np.take(signatures, lo[first:last], axis=0), np.take(signatures, hi[first:last], axis=0), out=same)
            out[first:last] = _count_true(same, axis=1)

    chunks = range(0, len(lo), MATCH_CHUNK_PAIRS)
    if len(chunks) > 1:
        list(_worker_threads().map(count, chunks))
    else:
        for start in chunks:
            count(start)
    return out


def _count_true(equal: np.ndarray, axis: int) -> np.ndarray:
    """`equal.sum(axis=axis)` for a boolean array, summing its bytes as uint8: ~2x faster (measured)."""
    return equal.view(np.uint8).sum(axis=axis, dtype=np.int64)


def connected_components(n: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Connected-component label per node = the smallest node index of its component.

    scipy's union-find in C: 1.2 s for 11.5M pairs over 900k nodes, where numpy hooking and pointer jumping
    took 6.3 s (measured, same labels)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_array((np.ones(len(lo), dtype=np.int8), (lo, hi)), shape=(n, n)).tocsr()
    _, labels = csgraph.connected_components(graph, directed=True, connection="weak")
    smallest = np.full(int(labels.max()) + 1, n, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n, dtype=np.int64))
    return smallest[labels]


def _cluster(signatures: np.ndarray, lo: np.ndarray, hi: np.ndarray, min_matches: int) -> np.ndarray:
    """Anchor node per node, from verified pairs (lo < hi); every cluster is a clique of similar pairs."""
    return clique_partition(
        signatures.shape[0],
        lo,
        hi,
        closeness=lambda node, others: _count_true(signatures[others] == signatures[node], axis=1),
        similar_to=lambda node, others: _count_true(signatures[others] == signatures[node], axis=1) >= min_matches,
    )


def _cluster_by_pairs(signatures: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """`_cluster` when the verified pairs are the similarity itself (borderline pairs settled exactly): two
    nodes are similar iff (lo, hi) holds them; closeness (the order of an anchor's candidates) stays the
    estimate."""
    return clique_partition(
        signatures.shape[0],
        lo,
        hi,
        closeness=lambda node, others: _count_true(signatures[others] == signatures[node], axis=1),
    )


BORDERLINE = 0.07
"""Candidate pairs whose estimated Jaccard is within this of the threshold are decided by their exact
Jaccard: at num_perm=128 the estimate's standard deviation is ~0.04, so pairs of real text just under the
threshold passed as near duplicates (held-out bench: 305 of 5,505 reported pairs, exact J 0.46-0.60).
0.07 rather than 0.1: 7.5k borderline pairs of 22k real texts cost ~0.45 s at 0.1, ~0.3 s less at 0.07,
with the same planted pairs found (1,960 vs 1,961 of 2,000; measured)."""

EXACT_BATCH = 1 << 19
"""Shingles (both sides) per batch of `exact_jaccard`: bounds its memory (the rows gathered for a batch). 2^19
and 2^21 timed the same (5.9M borderline pairs of the 100k-example benchmark corpus: 7.1 and 7.0 CPU-s; 15.6k
pairs of long real text: 0.54 and 0.49 s; measured)."""


def exact_jaccard(texts: pl.Series, shingle_size: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Jaccard similarity of the word-shingle sets of texts[lo[i]] and texts[hi[i]] (normalized texts), per
    pair; shingles compared by 40 bits of their 64-bit hashes (a false match ~1e-6 per pair of 1,000-shingle
    texts). See `ftdata_assets.transforms.jaccard.pair_jaccard`.

    Each text's distinct shingles are a sorted row of a 0/1 CSR matrix; per batch of pairs, scipy gathers the
    rows of both sides (C row indexing) and intersects them by its sorted-row merge (their elementwise
    product), linear in the shingles; batches run on `_worker_threads` (scipy releases the GIL). The rows used
    to be gathered by polars list `gather` + `to_arrow`, one batch at a time: on 5.9M borderline pairs of the
    100k-example benchmark corpus that took 10.3 s (10.3 CPU-s), now 4.7 s (7.7 CPU-s; 7.2 s in one thread),
    the same values bit for bit; 15.6k pairs of long real text (bench/dedup.py --corpus real): 0.34 s against
    0.31 s (measured, idle 2-core machine). Tried and dropped: sorting the two sides tagged with the pair
    (2-3x slower: 3.3M pairs of 1M-example conversations, 6.1 s against 2.0 s); ranking the hashes into int32
    ids (cost more than it saved on long real texts); per-text open-addressing tables probed in numpy with the
    other side's shingles (~25% faster than the polars path on the benchmark pairs, ~40% slower on the real
    ones: a dozen numpy passes per shingle cost more than one C merge); laying the texts out by neighbourhood
    so a batch reads nearby memory (no gain with the C merge)."""
    from ftdata_assets.transforms.jaccard import pair_jaccard

    return pair_jaccard(texts, shingle_size, lo, hi, batch=EXACT_BATCH, hash_bits=_HASH_BITS)


_HASH_BITS = 40
"""Bits of a shingle hash `exact_jaccard` compares; the other 24 number the texts in the sort key."""


def clique_partition(
    n: int,
    lo: np.ndarray,
    hi: np.ndarray,
    closeness: Callable[[int, list[int]], np.ndarray],
    similar: Callable[[list[int]], np.ndarray] | None = None,
    *,
    similar_to: Callable[[int, np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Anchor node per node (0..n-1) from the similar pairs (lo < hi, no repeats); every cluster is a clique.

    The clustering of step 6 of the module docstring, independent of the similarity measure: node order is the
    tie-break (callers number their nodes in a stable order, e.g. by content id). `closeness(node, others)`
    scores `others` against `node` (higher = closer; it orders an anchor's candidates). "Similar enough" is
    `similar_to(node, others)` (a boolean per other) if given, else `similar(nodes)` (the boolean matrix for
    every pair of `nodes`), else membership in the pairs themselves; it must agree with the pairs given.
    `similar_to` and the pairs are asked only about the candidates still compatible with every member taken,
    so a huge family of variants costs its members times the candidates, not the candidates squared.
    """
    anchor = np.arange(n, dtype=np.int64)
    if len(lo) == 0:
        return anchor
    component = connected_components(n, lo, hi)
    size = np.bincount(component, minlength=n)
    edges = np.bincount(component[lo], minlength=n)
    clique = edges == size * (size - 1) // 2
    # a clique: one cluster, anchored at its first node (all degrees are equal; ties go to content id)
    in_clique = clique[component]
    anchor[in_clique] = component[in_clique]
    # other components: greedy clique partition by decreasing degree, then content id (= node index)
    rest = np.flatnonzero(~in_clique)
    if len(rest) == 0:
        return anchor
    degree = np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), -degree))] = np.arange(n)
    rest = rest[np.lexsort((rank[rest], component[rest]))]
    keep_edge = ~clique[component[lo]]
    # both directions of each edge, by node then by the neighbour's rank: one sort of a packed key (node * n +
    # rank, unique per edge) instead of a lexsort, which took 10 s for 23M edges (measured)
    by_rank = np.empty(n, dtype=np.int64)
    by_rank[rank] = np.arange(n)
    packed = np.sort(np.concatenate((lo[keep_edge] * n + rank[hi[keep_edge]], hi[keep_edge] * n + rank[lo[keep_edge]])))
    both_lo, both_hi = packed // n, by_rank[packed % n]
    adjacency_start = np.searchsorted(both_lo, np.arange(n + 1))
    if similar_to is None and similar is None:
        # the pairs are the similarity: a node's neighbours (all of its edges are kept: its component is not a
        # clique) marked in a mask, read at the candidates, unmarked
        mark = np.zeros(n, dtype=bool)

        def similar_to(node: int, others: np.ndarray) -> np.ndarray:
            neighbours = both_hi[adjacency_start[node] : adjacency_start[node + 1]]
            mark[neighbours] = True
            out = mark[others]
            mark[neighbours] = False
            return out

    assigned = np.zeros(n, dtype=bool)  # components are disjoint: one mask serves them all
    for node in rest.tolist():
        if assigned[node]:
            continue
        assigned[node] = True
        anchor[node] = node
        neighbours = both_hi[adjacency_start[node] : adjacency_start[node + 1]]  # by rank
        candidates = neighbours[~assigned[neighbours]]
        if len(candidates) > 1:
            # most similar to the anchor first (ties: rank), so the closest variants stay together
            score = np.asarray(closeness(node, candidates.tolist()))
            candidates = candidates[np.lexsort((rank[candidates], -score))]
            if similar_to is not None:
                candidates = candidates[_greedy_clique_of(candidates, similar_to)]
            else:
                assert similar is not None
                candidates = candidates[_greedy_clique(np.asarray(similar(candidates.tolist())))]
        assigned[candidates] = True
        anchor[candidates] = node
    return anchor


def _greedy_clique_of(candidates: np.ndarray, similar_to: Callable[[int, np.ndarray], np.ndarray]) -> np.ndarray:
    """`_greedy_clique` without the matrix: each candidate taken is compared only with the later candidates
    still compatible with all those taken before it (the same choices: they are the only entries read)."""
    compatible = np.ones(len(candidates), dtype=bool)
    chosen: list[int] = []
    i = 0
    while True:
        chosen.append(i)
        later = np.flatnonzero(compatible[i + 1 :]) + (i + 1)
        if len(later) == 0:
            return np.asarray(chosen, dtype=np.int64)
        fits = np.asarray(similar_to(int(candidates[i]), candidates[later]), dtype=bool)
        compatible[later] = fits
        taken = np.flatnonzero(fits)
        if len(taken) == 0:
            return np.asarray(chosen, dtype=np.int64)
        i = int(later[taken[0]])


def _greedy_clique(pairwise: np.ndarray) -> np.ndarray:
    """Indices chosen by: take each candidate in order if it is similar to every candidate taken before it.

    `pairwise[i, j]`: candidate i is similar to candidate j. Vectorized over the candidates still compatible
    with all those taken, instead of a Python loop over every pair (same choices; without a profiler the
    clustering took about as long either way at 1M examples, measured)."""
    count = len(pairwise)
    compatible = np.ones(count, dtype=bool)
    chosen: list[int] = []
    i = 0
    while True:
        chosen.append(i)
        compatible &= pairwise[:, i]
        later = np.flatnonzero(compatible[i + 1 :])
        if len(later) == 0:
            return np.asarray(chosen, dtype=np.int64)
        i += 1 + int(later[0])


def _similar_matrix(signatures: np.ndarray, nodes: list[int], min_matches: int, block: int = 256) -> np.ndarray:
    """Boolean matrix: estimated Jaccard >= threshold for every pair of `nodes` (computed in row blocks)."""
    sig = signatures[nodes]
    out = np.empty((len(nodes), len(nodes)), dtype=bool)
    for start in range(0, len(nodes), block):
        out[start : start + block] = (
            _count_true(sig[start : start + block, None, :] == sig[None, :, :], axis=2) >= min_matches
        )
    return out


def near_duplicate_clusters(
    texts: pl.Series,
    threshold: float,
    *,
    num_perm: int = 128,
    shingle_size: int = 5,
    bands: int | None = None,
    rows: int | None = None,
    seed: int | str = "ftdata-dedup-v1",
    max_bucket_pairs: int = 64,
) -> pl.Series:
    """A near-duplicate cluster id per row (see the module docstring for the method).

    Rows with equal ids are near duplicates: every pair of distinct texts in a cluster is a verified pair
    (Jaccard similarity of word `shingle_size`-grams >= `threshold`: estimated >= threshold + BORDERLINE, or
    exact for the borderline estimates). Exact duplicates always share a cluster.
    The id is the content id of the cluster's anchor text (a singleton's id is its exact cluster id).
    `bands`/`rows` default to `lsh_params(threshold, num_perm)`; give both to override.
    """
    bands, rows = _lsh_shape(threshold, num_perm, bands, rows)
    hashes = minhashes(texts, num_perm=num_perm, shingle_size=shingle_size, seed=seed)
    return _near_clusters(hashes, threshold, bands, rows, max_bucket_pairs)


MAX_BUCKET_PAIRS = 64
"""Neighbours per member of an LSH bucket (`_candidate_pairs`) of the conversation dedup."""


def exact_and_near_clusters(
    texts: pl.Series,
    threshold: float,
    *,
    num_perm: int = 128,
    shingle_size: int = 5,
    seed: int | str = "ftdata-dedup-v1",
    max_bucket_pairs: int = MAX_BUCKET_PAIRS,
) -> tuple[pl.Series, pl.Series]:
    """`exact_duplicate_clusters(texts)` and `near_duplicate_clusters(texts, threshold, ...)`, normalizing and
    hashing the texts once. The near ids of any subset holding every distinct text (e.g. one row per exact
    cluster) are the same as computed on that subset alone: they depend on the distinct texts only."""
    bands, rows = _lsh_shape(threshold, num_perm, None, None)
    hashes = minhashes(texts, num_perm=num_perm, shingle_size=shingle_size, seed=seed)
    exact = hashes.ids.gather(hashes.node).alias("exact_cluster_id")
    return exact, _near_clusters(hashes, threshold, bands, rows, max_bucket_pairs)


@dataclass(frozen=True)
class NearClusters:
    """What `exact_and_near_clusters_reusing` found: the two cluster ids per row, and the decision of every
    borderline candidate pair of this run (to keep for the next run)."""

    exact: pl.Series
    near: pl.Series
    pairs: PairDecisions
    reused: int  # borderline pairs decided by the known decisions
    verified: int  # borderline pairs settled here by their exact Jaccard


def exact_and_near_clusters_reusing(
    texts: pl.Series,
    threshold: float,
    *,
    known: PairDecisions | None,
    num_perm: int = 128,
    shingle_size: int = 5,
    seed: int | str = "ftdata-dedup-v1",
    max_bucket_pairs: int = MAX_BUCKET_PAIRS,
) -> NearClusters:
    """`exact_and_near_clusters`, taking the decision of each borderline candidate pair found in `known`
    instead of computing its exact Jaccard again (a new day adds a few texts; most pairs were decided by the
    previous run).

    A pair's decision depends on its two texts and the settings only, so the ids are the same as without
    `known`; decisions made under other settings (`known.key` is not this call's `pair_decisions_key`) are
    ignored. The result's `pairs` hold every borderline pair of this run and nothing else: pairs of texts no
    longer in the input, or no longer candidates, are left out."""
    key = pair_decisions_key(
        threshold, num_perm=num_perm, shingle_size=shingle_size, seed=seed, max_bucket_pairs=max_bucket_pairs
    )
    usable = known.pairs if known is not None and known.key == key else _no_pair_decisions()
    bands, rows = _lsh_shape(threshold, num_perm, None, None)
    hashes = minhashes(texts, num_perm=num_perm, shingle_size=shingle_size, seed=seed)
    exact = hashes.ids.gather(hashes.node).alias("exact_cluster_id")
    near, graph = _near_clusters_and_graph(hashes, threshold, bands, rows, max_bucket_pairs, known=usable)
    assert graph.decided is not None  # asked for with `known`
    return NearClusters(exact, near, PairDecisions(key, graph.decided), graph.reused, graph.settled)


def _near_clusters(hashes: MinHashes, threshold: float, bands: int, rows: int, max_bucket_pairs: int) -> pl.Series:
    return _near_clusters_and_graph(hashes, threshold, bands, rows, max_bucket_pairs)[0]


def _near_clusters_and_graph(
    hashes: MinHashes,
    threshold: float,
    bands: int,
    rows: int,
    max_bucket_pairs: int,
    known: pl.DataFrame | None = None,
) -> tuple[pl.Series, _Graph]:
    """Near cluster id per row, and the verified graph it came from (`known`: see `_verified_graph`)."""
    graph = _verified_graph(hashes, threshold, bands, rows, max_bucket_pairs, known=known)
    if graph.exact:
        anchor = _cluster_by_pairs(hashes.signatures, graph.lo, graph.hi)
    else:
        anchor = _cluster(hashes.signatures, graph.lo, graph.hi, graph.min_matches)
    return hashes.ids.gather(anchor[hashes.node]).alias("near_cluster_id"), graph


@dataclass(frozen=True)
class MinHashes:
    """The distinct normalized texts of a column (nodes, in content-id order) with their MinHash signatures
    (steps 1-3 of the module docstring).

    Built once by `minhashes` and reusable: `subset` gives the MinHashes of some of the rows without hashing
    again (split_assignments checks the released rows in every grouping round). A signature depends on its
    text only, so everything computed from a subset is what the subset's own texts would give."""

    ids: pl.Series  # content id per node
    node: np.ndarray  # node of each input row
    signatures: np.ndarray  # per node
    has_words: np.ndarray  # per node
    num_perm: int
    texts: pl.Series | None = None  # normalized text per node: borderline pairs are verified on it
    shingle_size: int = 5

    def subset(self, rows: np.ndarray | pl.Series) -> MinHashes:
        """The MinHashes of the given rows (indices into the texts this was built from, in the new order)."""
        node = self.node[np.asarray(rows, dtype=np.int64)]
        used = np.zeros(len(self.ids), dtype=bool)
        used[node] = True
        kept = np.flatnonzero(used)  # ascending: still in content-id order
        renumber = np.cumsum(used) - 1
        return MinHashes(
            self.ids.gather(kept),
            renumber[node],
            self.signatures[kept],
            self.has_words[kept],
            self.num_perm,
            None if self.texts is None else self.texts.gather(kept),
            self.shingle_size,
        )


def minhashes(
    texts: pl.Series, *, num_perm: int = 128, shingle_size: int = 5, seed: int | str = "ftdata-dedup-v1"
) -> MinHashes:
    """Normalize `texts`, keep the distinct ones (content-id order) and MinHash them."""
    distinct, ids, node = _distinct_texts(texts)
    signatures, has_words = minhash_signatures(distinct, num_perm=num_perm, shingle_size=shingle_size, seed=seed)
    return MinHashes(ids, node, signatures, has_words, num_perm, distinct, shingle_size)


@dataclass(frozen=True)
class _Graph:
    """Verified near-duplicate pairs between the nodes of a `MinHashes`."""

    lo: np.ndarray  # verified pairs, lo < hi
    hi: np.ndarray
    min_matches: int
    exact: bool = False  # borderline pairs were settled exactly: similarity = membership in (lo, hi)
    decided: pl.DataFrame | None = None  # with known decisions: every borderline pair's (PAIR_DECISIONS_SCHEMA)
    reused: int = 0  # borderline pairs whose decision was known
    settled: int = 0  # borderline pairs whose exact Jaccard was computed


def _lsh_shape(threshold: float, num_perm: int, bands: int | None, rows: int | None) -> tuple[int, int]:
    """Validated (bands, rows), defaulting to `lsh_params`."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if (bands is None) != (rows is None):
        raise ValueError("give both bands and rows, or neither")
    if bands is None or rows is None:
        bands, rows = lsh_params(float(threshold), int(num_perm))
    if bands < 1 or rows < 1 or bands * rows > num_perm:
        raise ValueError(f"need bands * rows <= num_perm, got {bands} x {rows} > {num_perm}")
    return bands, rows


def _verified_graph(
    hashes: MinHashes,
    threshold: float,
    bands: int,
    rows: int,
    max_bucket_pairs: int,
    known: pl.DataFrame | None = None,
) -> _Graph:
    """Steps 4-5 of the module docstring: LSH candidates, verification.

    With `known` (PAIR_DECISIONS_SCHEMA, decided under the same settings; possibly empty), a borderline pair
    found there takes its stored decision instead of its exact Jaccard, and the graph also holds the decision
    of every borderline pair of this run (`decided`). Only borderline pairs are stored: the others are settled
    by the estimate, which costs less than looking them up (17.6M candidates of 91k benchmark texts: 5.9M
    borderline; their exact Jaccard 14 CPU-s, the estimate of all 17.6M 4.2 CPU-s, measured). Candidates are
    still found over all texts: with `max_bucket_pairs` a bucket's pairs depend on all of its members, so a
    new text can change which old pairs are candidates."""
    min_matches = int(np.ceil(threshold * hashes.num_perm - 1e-9))
    keys = _band_keys(hashes.signatures, bands, rows)
    lo, hi = _candidate_pairs(keys, hashes.has_words, max_bucket_pairs)
    matches = _matches(hashes.signatures, lo, hi)
    if hashes.texts is None:
        if known is not None:
            raise ValueError("known pair decisions need the texts: they are decisions of the exact verification")
        verified = matches >= min_matches
        return _Graph(lo[verified], hi[verified], min_matches)
    # estimates within BORDERLINE of the threshold are settled by the exact Jaccard of the shingle sets
    sure = matches >= int(np.ceil((threshold + BORDERLINE) * hashes.num_perm - 1e-9))
    near = ~sure & (matches >= int(np.ceil((threshold - BORDERLINE) * hashes.num_perm - 1e-9)))
    verified = sure.copy()
    border = np.flatnonzero(near)
    if known is None:
        verified[border[_settled(hashes, threshold, lo[border], hi[border])]] = True
        return _Graph(lo[verified], hi[verified], min_matches, exact=True)
    halves = _id_halves(hashes.ids)
    found, stored = _known_decisions(halves, lo[border], hi[border], known)
    decision = np.zeros(len(border), dtype=bool)
    decision[found] = stored
    todo = np.flatnonzero(~found)
    decision[todo] = _settled(hashes, threshold, lo[border[todo]], hi[border[todo]])
    verified[border] = decision
    decided = _pair_frame(halves, lo[border], hi[border], decision)
    reused = len(border) - len(todo)
    return _Graph(lo[verified], hi[verified], min_matches, True, decided, reused=reused, settled=len(todo))


def _settled(hashes: MinHashes, threshold: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per borderline pair: is the exact Jaccard of its two texts' shingle sets >= threshold. A pure function
    of the two texts and the settings, which is what lets `_verified_graph` reuse stored decisions."""
    if len(lo) == 0:
        return np.zeros(0, dtype=bool)
    assert hashes.texts is not None
    return exact_jaccard(hashes.texts, hashes.shingle_size, lo, hi) >= threshold - 1e-12


# ------------------------------------------------------------------------------------------------------------
# pair decisions kept between runs

PAIR_DECISIONS_VERSION = 1
"""Part of `pair_decisions_key`: bump it when what decides a borderline pair changes (signatures, `_matches`,
`exact_jaccard`, the BORDERLINE rule), so decisions stored by the old code are never read."""

PAIR_DECISIONS_SCHEMA = pl.Schema(
    {
        "id_0": pl.UInt64(),
        "id_1": pl.UInt64(),
        "partners": pl.List(pl.UInt32()),
        "verified": pl.List(pl.Boolean()),
    }
)
"""Decided borderline pairs, one row per text in any of them, rows sorted by content id: `id_0`/`id_1` the text's
content id (blake2b-128 as two big-endian uint64 halves), `partners` the rows (of this frame, ascending) of the
texts with a larger id it forms a decided pair with, `verified` each pair's decision. Ids are stored once per
text, not twice per pair: a run maps them to its own texts with one lookup per text."""


@dataclass(frozen=True)
class PairDecisions:
    """Decided borderline pairs (PAIR_DECISIONS_SCHEMA) and the `pair_decisions_key` of the settings they
    were decided under."""

    key: str
    pairs: pl.DataFrame

    @property
    def count(self) -> int:
        """The number of pairs."""
        return int(self.pairs.get_column("partners").list.len().sum()) if self.pairs.height else 0


def pair_decisions_key(
    threshold: float,
    *,
    num_perm: int,
    shingle_size: int,
    seed: int | str,
    max_bucket_pairs: int = MAX_BUCKET_PAIRS,
) -> str:
    """Digest of everything a pair's decision depends on besides its texts (and of what makes it a candidate):
    decisions are reused only under an equal key."""
    settings = {
        "threshold": repr(float(threshold)),
        "num_perm": int(num_perm),
        "shingle_size": int(shingle_size),
        "seed": str(seed),  # `_seed_words` formats it: 7 and "7" are the same permutations
        "max_bucket_pairs": int(max_bucket_pairs),
        "borderline": repr(BORDERLINE),
        "hash_bits": _HASH_BITS,
        "version": PAIR_DECISIONS_VERSION,
    }
    text = json.dumps(settings, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def check_pair_decisions(pairs: pl.DataFrame) -> None:
    """Raise ValueError unless `pairs` is a well-formed PAIR_DECISIONS_SCHEMA frame (e.g. a stored file):
    no nulls, ids strictly ascending, each row's partners strictly ascending, after the row and within the
    frame, one decision per partner."""
    if pairs.schema != PAIR_DECISIONS_SCHEMA:
        raise ValueError(f"columns {dict(pairs.schema)}, expected {dict(PAIR_DECISIONS_SCHEMA)}")
    if pairs.height == 0:
        return
    problems = []
    lists = [pairs.get_column(name) for name in ("partners", "verified")]
    if any(pairs.null_count().row(0)) or any((c.list.drop_nulls().list.len() != c.list.len()).any() for c in lists):
        problems.append("nulls")
    offsets, partners = _list_arrays(pairs.get_column("partners"))
    decision_offsets, _ = _list_arrays(pairs.get_column("verified"))
    if not np.array_equal(offsets, decision_offsets):
        problems.append("a decision per partner")
    row = np.repeat(np.arange(pairs.height, dtype=np.int64), np.diff(offsets))
    after = partners.astype(np.int64) > row
    ascending = np.ones(len(partners), dtype=bool)
    ascending[1:] = (partners[1:] > partners[:-1]) | (row[1:] != row[:-1])
    if not (after.all() and ascending.all() and (partners < pairs.height).all()):
        problems.append("partners")
    first, second = pairs.get_column("id_0").to_numpy(), pairs.get_column("id_1").to_numpy()
    if not ((first[1:] > first[:-1]) | ((first[1:] == first[:-1]) & (second[1:] > second[:-1]))).all():
        problems.append("ids")
    if problems:
        raise ValueError(f"malformed pair decisions ({', '.join(problems)})")


def _no_pair_decisions() -> pl.DataFrame:
    return pl.DataFrame(schema=PAIR_DECISIONS_SCHEMA)


def _id_halves(ids: pl.Series) -> np.ndarray:
    """(n, 2) uint64: each content id (32 hex digits) as its two big-endian halves. Ids sorted as strings are
    sorted as (half 0, half 1) too."""
    if ids.len() == 0:
        return np.zeros((0, 2), dtype=np.uint64)
    raw = bytes.fromhex("".join(ids.to_list()))
    return np.frombuffer(raw, dtype=">u8").reshape(-1, 2).astype(np.uint64)


def _nodes_of(halves: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Node of each content id given by its halves, -1 where it is not a node. (Two nodes sharing half 0, odds
    ~n^2 / 2^65, make the second one read as absent: its pairs are settled again, never decided wrongly.)"""
    if len(halves) == 0:
        return np.full(len(first), -1, dtype=np.int64)
    column = np.ascontiguousarray(halves[:, 0])
    at = np.minimum(np.searchsorted(column, first), len(halves) - 1)
    found = (column[at] == first) & (halves[at, 1] == second)
    return np.where(found, at, -1).astype(np.int64)


def _list_arrays(column: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and flat values of a list column without nulls (Arrow buffers)."""
    array = column.to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    offsets = np.asarray(array.offsets, dtype=np.int64)
    values = array.values.to_numpy(zero_copy_only=False)[offsets[0] : offsets[-1]]
    return offsets - offsets[0], values


def _known_decisions(
    halves: np.ndarray, lo: np.ndarray, hi: np.ndarray, known: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """For each pair (lo, hi: nodes, sorted by lo then hi): is it in `known` (a well-formed
    PAIR_DECISIONS_SCHEMA frame), and its stored decision (one per pair found, in pair order)."""
    n = len(halves)
    if known.is_empty() or len(lo) == 0:
        return np.zeros(len(lo), dtype=bool), np.zeros(0, dtype=bool)
    node = _nodes_of(halves, known.get_column("id_0").to_numpy(), known.get_column("id_1").to_numpy())
    offsets, partners = _list_arrays(known.get_column("partners"))
    _, decisions = _list_arrays(known.get_column("verified"))
    a = np.repeat(node, np.diff(offsets))
    b = node[partners.astype(np.int64)]
    present = (a >= 0) & (b >= 0)
    # rows and partners ascend by content id, and so do nodes: the codes are sorted already
    codes, decisions = a[present] * n + b[present], decisions[present].astype(bool)
    if len(codes) == 0:
        return np.zeros(len(lo), dtype=bool), np.zeros(0, dtype=bool)
    at = np.minimum(np.searchsorted(codes, lo * n + hi), len(codes) - 1)
    found = codes[at] == lo * n + hi
    return found, decisions[at[found]]


def _pair_frame(halves: np.ndarray, lo: np.ndarray, hi: np.ndarray, verified: np.ndarray) -> pl.DataFrame:
    """Decided pairs (nodes, sorted by lo then hi) as PAIR_DECISIONS_SCHEMA rows: deterministic, since nodes
    are numbered in content-id order."""
    if len(lo) == 0:
        return _no_pair_decisions()
    used = np.zeros(len(halves), dtype=bool)
    used[lo] = True
    used[hi] = True
    texts = np.flatnonzero(used)
    row = np.cumsum(used) - 1
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(row[lo], minlength=len(texts)), out=offsets[1:])
    offsets_array = pa.array(offsets, type=pa.int64())
    partners = pa.LargeListArray.from_arrays(offsets_array, pa.array(row[hi].astype(np.uint32)))
    decisions = pa.LargeListArray.from_arrays(offsets_array, pa.array(verified.astype(bool)))
    frame = pl.DataFrame(
        {
            "id_0": halves[texts, 0],
            "id_1": halves[texts, 1],
            "partners": pl.Series(partners),
            "verified": pl.Series(decisions),
        }
    )
    return frame.cast(PAIR_DECISIONS_SCHEMA)  # type: ignore[arg-type]


def near_duplicate_components(
    texts: pl.Series,
    threshold: float,
    *,
    num_perm: int = 128,
    shingle_size: int = 5,
    seed: int | str = "ftdata-dedup-v1",
    max_bucket_pairs: int = 64,
) -> pl.Series:
    """A component id per row: rows linked by any chain of near-duplicate pairs share it (exact copies too).

    Unlike `near_duplicate_clusters` (cliques, for choosing what to drop), chains *do* merge here: this is the
    grouping for keeping near-duplicates on one side of a train/test split, where A~B, B~C must put A, B and C
    together. The id is the content id of the component's first text in content-id order."""
    _lsh_shape(threshold, num_perm, None, None)
    hashes = minhashes(texts, num_perm=num_perm, shingle_size=shingle_size, seed=seed)
    return near_duplicate_components_of(hashes, threshold, max_bucket_pairs=max_bucket_pairs)


def near_duplicate_components_of(hashes: MinHashes, threshold: float, *, max_bucket_pairs: int = 64) -> pl.Series:
    """`near_duplicate_components` of already hashed texts (`minhashes`, or a `MinHashes.subset` of them)."""
    bands, rows = _lsh_shape(threshold, hashes.num_perm, None, None)
    graph = _verified_graph(hashes, threshold, bands, rows, max_bucket_pairs)
    label = connected_components(len(hashes.ids), graph.lo, graph.hi)
    return hashes.ids.gather(label[hashes.node]).alias("near_component_id")


# ------------------------------------------------------------------------------------------------------------
# winners

DEFAULT_SOURCE_PRIORITY: tuple[str, ...] = ("expert", "feedback", "production_log", "synthetic")


def source_rank(priority: Sequence[str] = DEFAULT_SOURCE_PRIORITY, column: str = "source") -> pl.Expr:
    """0 for the highest-priority source, len(priority) for any source not listed (lowest)."""
    return (
        pl.col(column)
        .replace_strict(list(priority), list(range(len(priority))), default=len(priority), return_dtype=pl.Int64)
        .alias(f"{column}_rank")
    )


def pick_cluster_winners(
    frame: pl.DataFrame,
    cluster_col: str,
    priority_cols: Sequence[str | pl.Expr],
    *,
    descending: bool | Sequence[bool] = False,
    id_col: str = "example_id",
    tiebreak_cols: Sequence[str] = (),
) -> pl.DataFrame:
    """The frame (same rows, same order) with `duplicate_of`: null for the row kept in each cluster, else the
    `id_col` of the kept row.

    The kept row is the first of its cluster when sorted by `priority_cols` (names or expressions, e.g.
    `[source_rank(), "quality_score"]` with `descending=[False, True]`), then by `id_col`, then by
    `tiebreak_cols` (ascending); nulls sort last. Rows tied on all of these (the same example from the same
    source twice) are decided by input order; pass e.g. `("source_file", "source_line")` as tiebreak_cols to
    make the choice independent of it. A row with a null cluster id is its own cluster.
    """
    if "duplicate_of" in frame.columns:
        raise ValueError("frame already has a duplicate_of column")
    keys: list[str | pl.Expr] = [*priority_cols, id_col, *tiebreak_cols]
    flags = [descending] * len(priority_cols) if isinstance(descending, bool) else list(descending)
    if len(flags) != len(priority_cols):
        raise ValueError("descending must be a bool or one bool per priority column")
    flags += [False] * (1 + len(tiebreak_cols))
    row_col = "__ftdata_row"
    while row_col in frame.columns:
        row_col += "_"
    # one stable sort of (cluster, keys) instead of a sort per cluster (`sort_by(...).first().over(...)` took
    # ~10 s a call on 920k rows, measured): the first row of each cluster in that order is its winner
    key_names = [f"{row_col}_key{i}" for i in range(len(keys))]
    ranked = (
        frame.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias(row_col),
            pl.col(cluster_col),
            *((pl.col(k) if isinstance(k, str) else k).alias(name) for k, name in zip(keys, key_names, strict=True)),
        )
        .filter(pl.col(cluster_col).is_not_null())
        .sort([cluster_col, *key_names], descending=[False, *flags], nulls_last=True, maintain_order=True)
    )
    winners = ranked.group_by(cluster_col, maintain_order=True).agg(pl.col(row_col).first().alias("__winner_row"))
    winner_row = (
        frame.select(pl.col(cluster_col))
        .join(winners, on=cluster_col, how="left", maintain_order="left")
        .get_column("__winner_row")
    )
    kept = winner_row.is_null() | (winner_row == pl.Series(np.arange(frame.height, dtype=np.uint32)))
    winner_id = frame.get_column(id_col).gather(winner_row.fill_null(0))
    return frame.with_columns(
        pl.when(pl.lit(kept))
        .then(pl.lit(None, dtype=frame.schema[id_col]))
        .otherwise(pl.lit(winner_id))
        .alias("duplicate_of")
    )
