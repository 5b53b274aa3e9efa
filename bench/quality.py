"""Benchmark of `quality.assess` (the scored_examples step) on one Parquet layer, in this fresh process.

Run: `.venv/bin/python bench/quality.py [INPUT.parquet] [--params params.yaml] [--serial] [--out OUT.parquet]
[--check REFERENCE.parquet]`

INPUT defaults to data/interim/scrubbed_examples.parquet (the step's input); `bench/pipeline.py --keep` leaves a
bigger one under its work dir. The `quality:` section of --params configures `assess`, as the asset does.
One warm-up call on 20 rows loads the tokenizer and the language model, then the whole input is timed.
--serial keeps language ID in this process (no worker). --out writes the result; --check compares it with a
reference output (`DataFrame.equals`, schema included) and exits 1 if they differ.

The LAST line printed is one JSON object: rows, wall_s, cpu_s (this process), child_cpu_s (the language
worker), peak_rss_mb (this process: ru_maxrss, which includes the input frame) and rss_before_mb (after
reading the input and the warm-up), plus equal (null without --check).
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import polars as pl
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from ftdata_assets.transforms import quality  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?", default=str(REPO_ROOT / "data" / "interim" / "scrubbed_examples.parquet"))
    parser.add_argument("--params", default=str(REPO_ROOT / "params.yaml"))
    parser.add_argument("--serial", action="store_true", help="language ID without the worker process")
    parser.add_argument("--out", help="write the assessed frame here")
    parser.add_argument("--check", help="reference output to compare with")
    args = parser.parse_args()

    if args.serial:
        quality.PARALLEL_LANGUAGE_TEXTS = sys.maxsize
    params = yaml.safe_load(Path(args.params).read_text(encoding="utf-8")) or {}
    config = quality.QualityConfig.from_params(params.get("quality") or {})
    examples = pl.read_parquet(args.input)
    quality.assess(examples.head(20), config)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, cpu = time.perf_counter(), time.process_time()
    assessed = quality.assess(examples, config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    if args.out:
        assessed.write_parquet(args.out)
    equal = None
    if args.check:
        reference = pl.read_parquet(args.check)
        equal = reference.schema == assessed.schema and reference.equals(assessed)
    print(
        json.dumps(
            {
                "rows": examples.height,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "child_cpu_s": round(child_cpu, 2),
                "peak_rss_mb": peak // 1024,
                "rss_before_mb": rss_before // 1024,
                "equal": equal,
            }
        )
    )
    return 1 if equal is False else 0


if __name__ == "__main__":
    sys.exit(main())
