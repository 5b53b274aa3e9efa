"""Benchmark the optional semantic dedup on the sample data (needs `pip install 'ftdata[semantic]'`).

Run: `python bench/semantic_dedup.py [--model multilingual-e5-small-q4] [--threshold 0.97] [--text user|conversation]
[--limit 2000] [--scale 10000]`

1. Writes the deterministic sample (`ftdata_assets.sample_data.generate_sample`) to a temporary directory, reads
   every raw file with `ingest.read_examples` and takes each example's user turns (`--text user`, the prompt,
   what same-question dedup compares) or its whole conversation without system turns (`--text conversation`).
2. Embeds each distinct text once (exact cluster id = content id of the normalized text), offline, with
   `embed_texts`: prints load time, wall time and texts/s.
3. Clusters with `semantic_duplicate_clusters(..., ids=exact ids)`: prints time, clusters with more than one
   distinct text, rows they cover, how many of those clusters MinHash near-dup (`near_duplicate_clusters`,
   threshold 0.8) does not find, and a few examples.
4. Prints the cosine of each planted contradiction pair (`sample_data.CONTRADICTIONS`: same question, two
   wordings) and whether it lands in one semantic cluster at the threshold.
5. With `--scale N`: clustering time alone on N random 384-dim embeddings (no model needed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ftdata_assets.project import RAW_SOURCE_DIRS, is_data_file
from ftdata_assets.sample_data import CONTRADICTIONS, generate_sample
from ftdata_assets.transforms.dedup import exact_duplicate_clusters, near_duplicate_clusters
from ftdata_assets.transforms.deduplicate import conversation_text, role_text
from ftdata_assets.transforms.ingest import read_examples
from ftdata_assets.transforms.semantic_dedup import (
    DEFAULT_EMBEDDING_MODEL,
    EMBEDDING_MODELS,
    _load_encoder,
    embed_texts,
    semantic_duplicate_clusters,
)


def sample_texts(kind: str) -> pl.DataFrame:
    """source, text per example of the sample (every raw file), in file order."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp)
        generate_sample(raw)
        frames = []
        for source, folder in RAW_SOURCE_DIRS.items():
            for path in sorted((raw / folder).rglob("*")):
                if is_data_file(path):
                    frames.append(read_examples(path, source, root=raw)[0])
    examples = pl.concat(frames, how="diagonal_relaxed")
    text = role_text(pl.col("messages"), "user") if kind == "user" else conversation_text(pl.col("messages"))
    return examples.select("source", text.alias("text"))


def scale_run(n: int, threshold: float) -> None:
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(n // 10, 384))
    points = np.repeat(centers, 10, axis=0)[:n] + 0.02 * rng.normal(size=(n, 384))
    started = time.perf_counter()
    labels = semantic_duplicate_clusters(points, threshold)
    print(f"scale: {n} random 384-dim rows (groups of 10), clustering {time.perf_counter() - started:.2f} s, "
          f"{labels.n_unique()} clusters")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_EMBEDDING_MODEL, choices=sorted(EMBEDDING_MODELS))
    parser.add_argument("--threshold", type=float, default=None, help="default: the model's suggested one")
    parser.add_argument("--text", choices=("user", "conversation"), default="user")
    parser.add_argument("--limit", type=int, default=0, help="embed at most this many distinct texts (0: all)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--scale", type=int, default=0, help="also time clustering of N random embeddings")
    args = parser.parse_args(argv)
    threshold = args.threshold or EMBEDDING_MODELS[args.model].suggested_threshold

    frame = sample_texts(args.text)
    frame = frame.with_columns(exact_duplicate_clusters(frame["text"]).alias("exact_id"))
    distinct = frame.unique("exact_id", keep="first", maintain_order=True)
    if args.limit:
        distinct = distinct.head(args.limit)
        frame = frame.filter(pl.col("exact_id").is_in(distinct["exact_id"].implode()))
    texts = distinct["text"].to_list()
    chars = sum(map(len, texts)) / max(len(texts), 1)
    print(f"sample: {len(frame)} examples, {len(texts)} distinct {args.text} texts (mean {chars:.0f} chars)")

    started = time.perf_counter()
    _load_encoder(args.model)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    embeddings = embed_texts(texts, args.model, args.batch_size)
    took = time.perf_counter() - started
    print(f"embed ({args.model}): load {loaded:.2f} s, {len(texts)} texts in {took:.1f} s = "
          f"{len(texts) / took:.0f} texts/s, dims {embeddings.shape[1]}")  # fmt: skip

    started = time.perf_counter()
    semantic = semantic_duplicate_clusters(embeddings, threshold, ids=distinct["exact_id"])
    clustered = time.perf_counter() - started
    near = near_duplicate_clusters(pl.Series(texts), 0.8)
    table = distinct.with_columns(semantic.alias("semantic"), near.alias("near"))
    multi = table.group_by("semantic").agg(pl.len().alias("n"), pl.col("near").n_unique().alias("near_ids"),
                                          pl.col("text")).filter(pl.col("n") > 1)  # fmt: skip
    rows = frame.join(table.select("exact_id", "semantic"), on="exact_id").group_by("semantic").len()
    covered = rows.filter(pl.col("semantic").is_in(multi["semantic"].implode()))["len"].sum()
    print(f"cluster (threshold {threshold}): {clustered:.2f} s; {len(multi)} clusters of >1 distinct text covering "
          f"{multi['n'].sum()} distinct texts / {covered} examples; {multi.filter(pl.col('near_ids') > 1).height} "
          f"of them split by MinHash near-dup at 0.8")  # fmt: skip
    for record in multi.sort("n", "semantic", descending=[True, False]).head(5).iter_rows(named=True):
        shown = " | ".join(text.replace("\n", " ")[:70] for text in record["text"][:3])
        print(f"  {record['n']:3d} texts: {shown}")

    pairs = [(c.prompt_a, c.prompt_b) for c in CONTRADICTIONS]
    vectors = embed_texts([text for pair in pairs for text in pair], args.model)
    labels = semantic_duplicate_clusters(vectors, threshold).to_list()
    print("contradiction prompt pairs (cosine, same cluster at threshold):")
    for k, (a, b) in enumerate(pairs):
        cosine = float(vectors[2 * k] @ vectors[2 * k + 1])
        print(f"  {cosine:.4f} {labels[2 * k] == labels[2 * k + 1]!s:5}  {a!r} vs {b!r}")
    if args.scale:
        scale_run(args.scale, threshold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
