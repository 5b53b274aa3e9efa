"""Findings-identity check for speed work on `ftdata_assets.transforms.pii.detect`.

An optimization of the detector must not change a single finding. This runs `detect` over the texts of
`bench/pii.py` (held-out and tuning parts of `bench/pii_eval`, at the benchmark's seed and a second one) and
over every string of the bundled sample's records, and either saves the findings (`--save`) or compares them
with the saved ones (default) and prints the first differences.

Run: `.venv/bin/python bench/pii_identity.py --save /tmp/pii_findings.parquet` before a change, then
`.venv/bin/python bench/pii_identity.py --against /tmp/pii_findings.parquet` after it.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pii_eval import build  # noqa: E402
from ftdata_assets.sample_data import build_sample  # noqa: E402
from ftdata_assets.transforms import pii  # noqa: E402

SETS = [("heldout", 20261201), ("tuning", 20261201), ("heldout", 7), ("tuning", 7)]
"""(part, seed) of the labelled texts: the benchmark's seed and one more, 6000 texts each."""


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a decoded record (message contents, instructions, outputs...)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _records(name: str, data: bytes) -> Iterator[Any]:
    if name.endswith(".parquet"):
        yield from pq.read_table(io.BytesIO(data)).to_pylist()
        return
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    if name.endswith(".json"):
        yield from json.loads(data)
        return
    for line in data.decode("utf-8", "replace").lstrip("\ufeff").splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            yield line  # a planted broken line is text too


def sample_texts() -> list[str]:
    """Every string of every record of the bundled sample (built in memory, nothing written)."""
    return [s for name, data in sorted(build_sample().files.items()) for r in _records(name, data) for s in _strings(r)]


def texts_by_set() -> dict[str, list[str]]:
    out = {f"{part}:{seed}": [s.text for s in build(part, 6000, seed)] for part, seed in SETS}
    out["sample"] = sample_texts()
    return out


def findings(sets: dict[str, list[str]]) -> tuple[pl.DataFrame, dict[str, float]]:
    """All findings, tagged with their set; and the seconds `detect` took per set."""
    frames, secs = [], {}
    for name, texts in sets.items():
        t0 = time.perf_counter()
        found = pii.detect(pl.Series("t", texts, dtype=pl.String))
        secs[name] = round(time.perf_counter() - t0, 3)
        frames.append(found.with_columns(set=pl.lit(name)))
    return pl.concat(frames), secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path, help="write the findings here")
    g.add_argument("--against", type=Path, help="compare with findings saved by --save")
    args = ap.parse_args()
    sets = texts_by_set()
    pii.detect(pl.Series(sets["sample"][:50]))  # lexicon loaded outside the timing
    found, secs = findings(sets)
    print("texts:", {k: len(v) for k, v in sets.items()}, "findings:", found.height, "seconds:", secs)
    if args.save:
        found.write_parquet(args.save)
        print(f"saved to {args.save}")
        return
    old = pl.read_parquet(args.against)
    keys = ["set", "row", "entity_type", "start", "end", "text"]
    lost = old.join(found, on=keys, how="anti")
    new = found.join(old, on=keys, how="anti")
    same_order = old.height == found.height and old.select(keys).equals(found.select(keys))
    if lost.height or new.height or not same_order:
        print(f"DIFFERENT: {lost.height} findings lost, {new.height} new, same order: {same_order}")
        with pl.Config(tbl_rows=20, fmt_str_lengths=60):
            print("lost:", lost.head(20))
            print("new:", new.head(20))
        sys.exit(1)
    print(f"IDENTICAL: {found.height} findings")


if __name__ == "__main__":
    main()
