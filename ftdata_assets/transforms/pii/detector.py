"""`detect`: every recognizer over a Series, overlaps resolved."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

from ftdata_assets.progress import ProgressFn
from ftdata_assets.transforms.pii.base import FINDINGS_SCHEMA, _conform, _matches
from ftdata_assets.transforms.pii.registry import PiiSettings, settings_of

# --------------------------------------------------------------------------------------------------------
# detect
# --------------------------------------------------------------------------------------------------------


def _resolve_overlaps(found: pl.DataFrame, priority: dict[str, int]) -> pl.DataFrame:
    """Keep a non-overlapping set per row: leftmost first, then longest, then type priority.

    Each pass keeps every finding that overlaps nothing before it and drops those that overlap the last
    such finding; the first overlapping finding of a row always goes, so this terminates. The passes run in
    numpy over the sorted (row, start, end) arrays (a batch has a few thousand findings: polars' fixed cost per
    step was most of the time).
    """
    found = found.with_columns(
        prio=pl.col("entity_type").replace_strict(priority, return_dtype=pl.Int32),
        length=pl.col("end") - pl.col("start"),
    ).sort(["row", "start", "length", "prio"], descending=[False, False, True, False])
    # values are encoded as row * 2**32 + end so that a running maximum never crosses a row
    rowbase = found.get_column("row").cast(pl.Int64).to_numpy() << 32
    start = found.get_column("start").to_numpy()
    key = rowbase + found.get_column("end").to_numpy()
    idx = np.arange(found.height)
    while len(idx):
        k, base, s = key[idx], rowbase[idx], start[idx]
        prev_end = np.empty_like(k)
        prev_end[0] = -1
        prev_end[1:] = np.maximum.accumulate(k)[:-1] - base[1:]
        overlapping = (prev_end >= 0) & (s < prev_end)
        if not overlapping.any():
            break
        # the end of the last finding before each one that overlaps nothing before it
        last = np.where(~overlapping, np.arange(len(idx)), -1)
        before = np.empty_like(last)
        before[0] = -1
        before[1:] = np.maximum.accumulate(last)[:-1]
        lce = np.where(before >= 0, k[np.maximum(before, 0)] - base, -1)
        idx = idx[~overlapping | (lce < 0) | (s >= lce)]
    return found[idx].drop("prio", "length")


ANY_PLACEHOLDER = r"<[A-Z][A-Z0-9_]{0,39}_[0-9]+>"
"""What `detect` never reports inside: the placeholders `scrub` writes under any registry (PLACEHOLDER_PATTERN
for the built-in types, `Registry.placeholder_pattern` for a registry's)."""

BATCH_CHARS = 16_000_000
"""Text per `detect` batch (UTF-8 bytes): bounds memory (the PERSON tokens of a batch are ~20 bytes a char)
while keeping the fixed cost per batch small."""


def _batch_bounds(texts: pl.Series, batch_chars: int) -> list[tuple[int, int]]:
    """(offset, length) of consecutive slices of `texts` holding about `batch_chars` bytes each."""
    cum = texts.str.len_bytes().fill_null(0).cast(pl.Int64).cum_sum().to_numpy()
    bounds, start = [], 0
    while start < len(texts):
        done = int(cum[start - 1]) if start else 0
        end = max(int(np.searchsorted(cum, done + batch_chars, side="right")), start + 1)
        bounds.append((start, min(end, len(texts)) - start))
        start = end
    return bounds


def detect(
    texts: pl.Series,
    *,
    allow_list: Sequence[str] = (),
    settings: PiiSettings | None = None,
    batch_chars: int | None = None,
    progress: ProgressFn | None = None,
) -> pl.DataFrame:
    """Find PII in every text. One row per finding, sorted by (row, start); see FINDINGS_SCHEMA.

    `row` indexes `texts`; `start`/`end` are Python character offsets (end exclusive), so
    `texts[row][start:end] == text`. Null and empty texts have no findings.

    `allow_list` (as Presidio's): terms that are never PII here, typically the product's own brand and
    product names ("You are Lumora's assistant" reads like a person by context). A finding equal to a term
    is dropped, and so is a PERSON or LOCATION finding that contains one as a whole word ("Lumora Cam").
    `settings` (PiiSettings, from params.yaml `pii:`) carries the allow-list and the recognizer registry
    (which built-in recognizers run, users' own patterns and deny-lists); give one or the other.

    Every rule looks within one text only, so each distinct text is scanned once (chat logs repeat system
    prompts and templates: a quarter of the texts are distinct on the benchmark's data) and its findings are
    copied to its repeats. The distinct texts go in slices of about `batch_chars` bytes (default
    BATCH_CHARS) so memory stays bounded. `progress(done, total)` is called after each slice.
    """
    settings = resolve_settings(allow_list, settings)
    texts = texts.cast(pl.String)
    rows = pl.DataFrame({"t": texts}).with_row_index("row")
    distinct = rows.unique("t", keep="first", maintain_order=True)
    if distinct.height == rows.height:
        return _detect_distinct(texts, settings, batch_chars, progress)
    found = _detect_distinct(distinct.get_column("t"), settings, batch_chars, progress)
    if found.height == 0:
        return found
    first_row = distinct.get_column("row").gather(found.get_column("row"))
    found = found.with_columns(first_row=first_row)
    repeats = rows.join(distinct.select("t", first_row="row"), on="t", how="inner").select("row", "first_row")
    return (
        found.drop("row")
        .join(repeats, on="first_row", how="inner")
        .sort(["row", "start"])
        .select(FINDINGS_SCHEMA.names())
        .cast(FINDINGS_SCHEMA)
    )


def resolve_settings(allow_list: Sequence[str] | PiiSettings = (), settings: PiiSettings | None = None) -> PiiSettings:
    """The one PiiSettings of a call that may give a bare `allow_list` (old callers) or `settings`."""
    if settings is None:
        return settings_of(allow_list)
    if allow_list:
        raise ValueError("give the allow-list inside `settings` (PiiSettings.allow_list), not both")
    return settings


def _detect_distinct(
    texts: pl.Series, settings: PiiSettings, batch_chars: int | None, progress: ProgressFn | None
) -> pl.DataFrame:
    parts = []
    bounds = _batch_bounds(texts, batch_chars or BATCH_CHARS)

    def detect_slice(bound: tuple[int, int]) -> pl.DataFrame:
        offset, length = bound
        return _detect_batch(texts.slice(offset, length), settings).with_columns(pl.col("row") + offset)

    # batches are independent, and polars runs each string expression of one batch in one thread: two batches
    # at a time use both cores (results come back in batch order, so the findings are the same)
    found = _batch_threads().map(detect_slice, bounds) if len(bounds) > 1 else map(detect_slice, bounds)
    for done, part in enumerate(found, start=1):
        parts.append(part)
        if progress is not None:
            progress(done, len(bounds))
    if not parts:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    return pl.concat(parts).cast(FINDINGS_SCHEMA)


BATCH_THREADS = 2
"""Batches of `detect` in flight at once (memory is about this many times one batch's)."""


@functools.lru_cache(maxsize=1)
def _batch_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=BATCH_THREADS, thread_name_prefix="ftdata-pii")


@functools.cache
def _recognizer_thread(name: str) -> ThreadPoolExecutor:
    """A long-lived thread per recognizer. polars keeps compiled regexes in a cache of 32 per thread: with every
    recognizer's patterns going through one thread, each batch compiled most of them again; in a thread of its
    own a recognizer's patterns stay compiled (its single-expression calls run there; one recognizer at a time,
    so the findings and the CPU share of each are as before)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ftdata-pii-{name}")


def _detect_batch(texts: pl.Series, settings: PiiSettings) -> pl.DataFrame:
    """`detect` on one slice (`row` from 0): every enabled recognizer of the registry, overlaps resolved."""
    base = pl.DataFrame({"t": texts}).with_row_index("row").filter(pl.col("t").is_not_null() & (pl.col("t") != ""))
    if base.height == 0:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    registry = settings.registry
    kinds = {r.prefilter for r in registry.recognizers}
    frames = {"all": base}
    if kinds & {"digit", "num"}:
        # masks as Series calls (in this thread; a frame filter evaluates its predicate in polars' pool)
        frames["digit"] = base.filter(base.get_column("t").str.contains(r"[0-9]"))
        # cards, IBANs, SSNs, phones: 2 digits in a row
        frames["num"] = frames["digit"].filter(frames["digit"].get_column("t").str.contains(r"[0-9]{2}"))
    parts = [_recognizer_thread(r.name).submit(r.find, frames[r.prefilter]).result() for r in registry.recognizers]
    if not parts:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    found = pl.concat([p if p.schema == FINDINGS_SCHEMA else p.cast(FINDINGS_SCHEMA) for p in parts]).unique(
        ["row", "entity_type", "start", "end"], maintain_order=True
    )
    if found.height == 0:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    # any placeholder shape, not only this registry's types: a text scrubbed under other settings (a user type
    # such as <EMPLOYEE_ID_1>) re-scans clean under these
    placeholders = _matches(base.filter(base.get_column("t").str.contains("<", literal=True)), ANY_PLACEHOLDER)
    if placeholders.height:
        found = found.with_row_index("fid")
        hit = (
            found.join(placeholders.select("row", ps="start", pe="end"), on="row")
            .filter((pl.col("start") < pl.col("pe")) & (pl.col("ps") < pl.col("end")))["fid"]
            .unique()
        )
        found = found.filter(~pl.col("fid").is_in(hit.implode())).drop("fid")
    found = _drop_allowed(_resolve_overlaps(found, registry.priority), settings.allow_list)
    return _conform(found.sort(["row", "start"]), FINDINGS_SCHEMA)


def _drop_allowed(found: pl.DataFrame, allow_list: Sequence[str]) -> pl.DataFrame:
    terms = sorted({t.strip().lower() for t in allow_list if t and t.strip()})
    if not terms or found.height == 0:
        return found
    contains_term = r"(?i)(?:^|\W)(?:" + "|".join(re.escape(t) for t in terms) + r")(?:\W|$)"
    allowed = pl.col("text").str.to_lowercase().is_in(terms) | (
        pl.col("entity_type").is_in(["PERSON", "LOCATION"]) & pl.col("text").str.contains(contains_term)
    )
    return found.filter(~allowed)
