"""The data card: token-length histograms (DVC plot data + a PNG) and a Hugging Face style README.md.

Pure module (no Dagster).

- `row_token_counts(frame)`: tokens per example of ALL message contents (system + user + assistant + tool),
  with the same offline cl100k_base BPE and the same definition as `quality.assess`'s `token_count`.
  `with_token_counts(frame)` adds it as `token_count`, which the histogram and the stats then reuse.
- `token_length_histogram(frame, bins)`: long format (`split`, `bin_start`, `bin_end`, `count`), one row per
  split and bin, zero-count bins included, the same bins for every split (so splits compare), suitable as a
  DVC plots CSV/JSON (`x: bin_start`, `y: count`). A bin holds `bin_start <= tokens < bin_end`.
- `token_length_stats(frame)`: per split rows / min / median / p95 / max (linear interpolation, as numpy).
- `plot_length_histograms(hist, path)`: one bar chart per split into a PNG whose bytes are identical across
  runs on one machine (matplotlib's default style whatever the user's matplotlibrc, the Agg canvas, no
  "Software" metadata, no timestamp; fonts are the DejaVu files shipped with matplotlib).
- `render_data_card(facts)`: Markdown with YAML front matter (`configs` -> `load_dataset(<card folder>)` finds
  the splits; `license` when every row shares one). The `facts` keys are `REQUIRED_FACTS` (+ `OPTIONAL_FACTS`);
  an unknown or missing key is an error so that no number silently disappears from the card. Deterministic:
  sorted keys, fixed number formatting, no timestamps.

Splits are listed in `schema.SPLITS` order (train, validation, test), then any other split name sorted.
An empty split is left out of `configs`: `datasets.load_dataset` fails on a data file without rows
(`Instruction "validation" corresponds to no data!`), so the card says so instead.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from ftdata_assets.atomic_files import write_atomically
from ftdata_assets.schema import (
    FORMATS,
    INGEST_TAGS,
    REASON_DESCRIPTIONS,
    SOURCES,
    SPLITS,
    TAG_DESCRIPTIONS,
    ReasonCode,
)
from ftdata_assets.transforms.quality import count_tokens

__all__ = [
    "HISTOGRAM_SCHEMA",
    "OPTIONAL_FACTS",
    "REQUIRED_FACTS",
    "plot_length_histograms",
    "render_data_card",
    "row_token_counts",
    "size_category",
    "tag_counts",
    "token_length_histogram",
    "token_length_stats",
    "with_token_counts",
]

HISTOGRAM_SCHEMA = pl.Schema({"split": pl.String, "bin_start": pl.Int64, "bin_end": pl.Int64, "count": pl.Int64})

REQUIRED_FACTS: dict[str, str] = {
    "data_files": "dict[str, str]: split -> its Parquet file (or glob) relative to the card",
    "counts": "dict[str, dict[str, int]]: source -> split -> curated rows",
    "rejects": "dict[str, int]: reason code -> rows that left the pipeline",
    "pii": "dict[str, int]: entity type -> placeholders inserted",
    "duplicate_clusters": "dict[str, int]: dedup reason -> clusters",
    "refusal_share": "float in [0, 1]: share of curated rows tagged refusal",
    "template_concentration": "list[dict]: {opening: str, count: int, share: float}, most common first",
    "languages": "dict[str, int]: language code -> curated rows",
    "licenses": "dict[str | None, int]: license -> curated rows",
    "token_lengths": "dict[str, dict]: split -> {rows, min, median, p95, max} (token_length_stats)",
    "plots": "dict[str, str]: caption -> PNG path relative to the card",
    "params": "dict: params.yaml as loaded",
    "input_hashes": "dict[str, str]: input name -> hash",
    "output_hashes": "dict[str, str]: output name -> hash",
}
"""Every key `render_data_card` needs, with its type."""

OPTIONAL_FACTS: dict[str, str] = {
    "pretty_name": "str: the card's title (default 'ftdata curated fine-tuning dataset')",
    "description": "str: a paragraph under the title",
    "tags": "dict[str, int]: tag -> curated rows carrying it (`tag_counts`); ingest's repairs always listed",
    "formats": "dict[str, dict[str, int]]: input format -> {rows, examples, rejected} read by ingest "
    "(`ingest.format_counts` of the raw layers, summed)",
}

_DEFAULT_NAME = "ftdata curated fine-tuning dataset"
_TOKENIZER_NOTE = "cl100k_base tokens of all turns (system + user + assistant + tool) per example"


# ------------------------------------------------------------------------------------------ token lengths


def row_token_counts(frame: pl.DataFrame, tokenizer_file: str | None = None) -> pl.Series:
    """Tokens per row (Int64, input order) of all message contents; a row without messages counts 0."""
    contents = (
        frame.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            pl.col("messages").list.eval(pl.element().struct.field("content")).alias("content"),
        )
        .explode("content")
        .filter(pl.col("content").is_not_null())
    )
    per_message = contents.with_columns(tokens=count_tokens(contents.get_column("content"), tokenizer_file))
    totals = per_message.group_by("_row").agg(pl.col("tokens").sum())
    rows = pl.DataFrame({"_row": pl.Series(range(frame.height), dtype=pl.Int64)})
    return (
        rows.join(totals, on="_row", how="left", maintain_order="left")
        .get_column("tokens")
        .fill_null(0)
        .cast(pl.Int64)
        .alias("token_count")
    )


def _split_order(names: Sequence[str | None]) -> list[str]:
    extra = sorted({n for n in names if n is not None and n not in SPLITS})
    return [*SPLITS, *extra]


def with_token_counts(frame: pl.DataFrame, tokenizer_file: str | None = None) -> pl.DataFrame:
    """`frame` plus `token_count` (row_token_counts): the histogram and the stats then reuse it instead of
    tokenizing every example again."""
    return frame.with_columns(row_token_counts(frame, tokenizer_file))


def _with_tokens(frame: pl.DataFrame, split_column: str, tokenizer_file: str | None) -> pl.DataFrame:
    if split_column not in frame.columns:
        raise ValueError(f"the frame needs a `{split_column}` column")
    if "token_count" in frame.columns and tokenizer_file is None:
        tokens = frame.get_column("token_count").cast(pl.Int64)
    else:
        tokens = row_token_counts(frame, tokenizer_file)
    return pl.DataFrame({"split": frame.get_column(split_column).cast(pl.String), "tokens": tokens})


def _edges(tokens: pl.Series, bins: int | Sequence[int]) -> list[int]:
    top = int(tokens.max()) if tokens.len() else 0  # type: ignore[arg-type]
    if isinstance(bins, int):
        if bins < 1:
            raise ValueError("bins must be >= 1")
        width = max(1, math.ceil((top + 1) / bins))
        return [i * width for i in range(bins + 1)]
    edges = [int(e) for e in bins]
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError("bin edges must be at least two strictly increasing integers")
    low = int(tokens.min()) if tokens.len() else edges[0]  # type: ignore[arg-type]
    if low < edges[0]:  # underflow and overflow bins: a value outside the edges is still counted
        edges = [low, *edges]
    if top >= edges[-1]:
        edges = [*edges, top + 1]
    return edges


def token_length_histogram(
    frame: pl.DataFrame,
    bins: int | Sequence[int] = 20,
    *,
    split_column: str = "split",
    tokenizer_file: str | None = None,
) -> pl.DataFrame:
    """Per split counts of examples by token length (module doc), columns `HISTOGRAM_SCHEMA`.

    `bins` is a number of equal-width integer bins from 0 up to the longest example, or explicit increasing
    integer edges; with edges, a bin below the first or from the last edge up to the longest example is
    added when some example falls there. Every split in `schema.SPLITS` is listed (zeros if absent).
    """
    data = _with_tokens(frame, split_column, tokenizer_file)
    edges = _edges(data.get_column("tokens"), bins)
    grid = pl.DataFrame(
        {"bin_start": edges[:-1], "bin_end": edges[1:]}, schema={"bin_start": pl.Int64, "bin_end": pl.Int64}
    )
    index = pl.Series(edges, dtype=pl.Int64).search_sorted(data.get_column("tokens"), side="right") - 1
    counts = (
        data.with_columns(bin_start=pl.Series(edges, dtype=pl.Int64).gather(index))
        .group_by("split", "bin_start")
        .len(name="count")
    )
    splits = _split_order(data.get_column("split").unique().to_list())
    full = pl.DataFrame({"split": splits}).with_columns(_order=pl.int_range(pl.len())).join(grid, how="cross")
    return (
        full.join(counts, on=["split", "bin_start"], how="left")
        .with_columns(pl.col("count").fill_null(0))
        .sort("_order", "bin_start")
        .select(HISTOGRAM_SCHEMA.names())
        .cast(dict(HISTOGRAM_SCHEMA))
    )


def token_length_stats(
    frame: pl.DataFrame, *, split_column: str = "split", tokenizer_file: str | None = None
) -> dict[str, dict[str, Any]]:
    """split -> {rows, min, median, p95, max} of tokens per example (None values for an empty split)."""
    data = _with_tokens(frame, split_column, tokenizer_file)
    tokens = pl.col("tokens")
    stats = data.group_by("split").agg(
        pl.len().alias("rows"),
        tokens.min().alias("min"),
        tokens.median().alias("median"),
        tokens.quantile(0.95, "linear").alias("p95"),
        tokens.max().alias("max"),
    )
    by_split = {row["split"]: row for row in stats.to_dicts()}
    out: dict[str, dict[str, Any]] = {}
    for split in _split_order(list(by_split)):
        row = by_split.get(split)
        if row is None:
            out[split] = {"rows": 0, "min": None, "median": None, "p95": None, "max": None}
        else:
            out[split] = {
                "rows": int(row["rows"]),
                "min": int(row["min"]),
                "median": float(row["median"]),
                "p95": float(row["p95"]),
                "max": int(row["max"]),
            }
    return out


def plot_length_histograms(hist: pl.DataFrame, path: Path, *, title: str = "Token length per example") -> None:
    """One bar chart per split of `token_length_histogram` output, written atomically as a deterministic PNG."""
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    missing = set(HISTOGRAM_SCHEMA.names()) - set(hist.columns)
    if missing:
        raise ValueError(f"not a token_length_histogram frame: missing {sorted(missing)}")
    splits = list(dict.fromkeys(hist.get_column("split").to_list())) or list(SPLITS)
    with matplotlib.style.context("default"):  # the user's matplotlibrc must not change the bytes
        fig = Figure(figsize=(8.0, 1.2 + 1.9 * len(splits)), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(splits), 1, sharex=True, squeeze=False)[:, 0]
        for ax, split in zip(axes, splits, strict=True):
            part = hist.filter(pl.col("split") == split)
            starts = part.get_column("bin_start").to_list()
            widths = (part.get_column("bin_end") - part.get_column("bin_start")).to_list()
            counts = part.get_column("count").to_list()
            ax.bar(starts, counts, width=widths, align="edge", color="#4c72b0", edgecolor="white", linewidth=0.5)
            ax.set_title(f"{split} (n={sum(counts):,})", fontsize=10, loc="left")
            ax.set_ylabel("examples")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(axis="y", alpha=0.3)
        axes[-1].set_xlabel(_TOKENIZER_NOTE)
        fig.suptitle(title)
        write_atomically(Path(path), lambda handle: fig.savefig(handle, format="png", metadata={"Software": None}))


# ---------------------------------------------------------------------------------------------- the card


def tag_counts(rows: pl.DataFrame) -> dict[str, int]:
    """{tag: curated rows carrying it} over `rows` (the curated splits): every ingest repair tag and
    `mojibake_repaired` are present even at 0, so the card always says how many rows were repaired."""
    counts = dict.fromkeys((*INGEST_TAGS, "mojibake_repaired"), 0)
    if "tags" in rows.columns and rows.height:
        exploded = rows.select(pl.col("tags").explode(empty_as_null=False)).drop_nulls()
        for tag, n in exploded.group_by("tags").len().sort("tags").iter_rows():
            counts[str(tag)] = int(n)
    return counts


def size_category(rows: int) -> str:
    """The Hugging Face `size_categories` bucket for a row count (n<1K, 1K<n<10K, ...)."""
    buckets = ["1K", "10K", "100K", "1M", "10M", "100M", "1B", "10B", "100B", "1T"]
    limit = 1_000
    if rows < limit:
        return "n<1K"
    for low, high in itertools.pairwise(buckets):
        if rows < limit * 10:
            return f"{low}<n<{high}"
        limit *= 10
    return "n>1T"


def _cell(value: object) -> str:
    """Text safe inside a Markdown table cell (HF renders raw HTML, so <PERSON_1> would vanish)."""
    text = "(none)" if value is None else str(value)
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("\r", " "), ("\n", " ")):
        text = text.replace(old, new)
    return text


def _num(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"
    return _cell(value)


def _pct(value: float) -> str:
    return f"{100 * float(value):.1f}%"


def _key(value: object) -> str:
    return "" if value is None else str(value)


_NUMERIC = re.compile(r"^(?:[\d,.]+%?|–)$")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], empty: str = "none") -> list[str]:
    if not rows:
        return [f"_{empty}_", ""]
    numeric = [all(_NUMERIC.match(row[i]) for row in rows) for i in range(len(header))]
    align = ["---:" if is_number else "---" for is_number in numeric]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _reason_description(reason: str) -> str:
    if reason in REASON_DESCRIPTIONS:
        return REASON_DESCRIPTIONS[reason]
    if reason.startswith(ReasonCode.LOW_QUALITY_PREFIX):
        rule = reason[len(ReasonCode.LOW_QUALITY_PREFIX) :]
        return f"failed the quality rule `{rule}` (ftdata_assets/transforms/quality.py)"
    return "(undocumented reason code)"


def _check_facts(facts: Mapping[str, Any]) -> None:
    missing = sorted(set(REQUIRED_FACTS) - set(facts))
    unknown = sorted(set(facts) - set(REQUIRED_FACTS) - set(OPTIONAL_FACTS))
    if missing or unknown:
        raise ValueError(f"data card facts: missing {missing}, unknown {unknown} (see REQUIRED_FACTS)")


def _split_rows(facts: Mapping[str, Any]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for per_split in facts["counts"].values():
        for split, n in per_split.items():
            totals[split] = totals.get(split, 0) + int(n)
    without_file = sorted(s for s, n in totals.items() if n and s not in facts["data_files"])
    if without_file:
        raise ValueError(f"data card facts: splits with rows but no data_files entry: {without_file}")
    for split in facts["data_files"]:
        totals.setdefault(split, 0)
    return {s: totals.get(s, 0) for s in _split_order(list(totals)) if s in totals}


def _front_matter(facts: Mapping[str, Any], split_rows: dict[str, int]) -> str:
    meta: dict[str, Any] = {"pretty_name": facts.get("pretty_name", _DEFAULT_NAME)}
    licenses = [k for k, n in facts["licenses"].items() if n]
    if len(licenses) == 1 and isinstance(licenses[0], str) and licenses[0].strip():
        meta["license"] = licenses[0].strip().lower()  # Hub license ids are lower-case (cc-by-4.0, mit, ...)
    meta["task_categories"] = ["text-generation"]
    meta["size_categories"] = [size_category(sum(split_rows.values()))]
    data_files = [
        {"split": split, "path": facts["data_files"][split]}
        for split in _split_order(list(facts["data_files"]))
        if split in facts["data_files"] and split_rows.get(split, 0) > 0
    ]
    meta["configs"] = [{"config_name": "default", "data_files": data_files}]
    body = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    return f"---\n{body}---\n"


def render_data_card(facts: Mapping[str, Any]) -> str:
    """The dataset card Markdown (module doc; `facts` keys: `REQUIRED_FACTS`, `OPTIONAL_FACTS`)."""
    _check_facts(facts)
    split_rows = _split_rows(facts)
    splits = list(split_rows)
    total = sum(split_rows.values())
    out: list[str] = [_front_matter(facts, split_rows), f"# {facts.get('pretty_name', _DEFAULT_NAME)}", ""]
    if facts.get("description"):
        out += [str(facts["description"]).strip(), ""]
    out += [
        f"{total:,} curated chat examples in the canonical `messages` format (a list of `role`/`content` turns, "
        "the conversational format TRL's `SFTTrainer` reads), deduplicated, PII-scrubbed and quality-filtered.",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'ds = load_dataset("path/to/this/folder")  # the `configs` above name the split files',
        "```",
        "",
    ]
    empty = [s for s in facts["data_files"] if split_rows.get(s, 0) == 0]
    if empty:
        out += [
            f"Empty splits, left out of `configs` (`load_dataset` rejects a file without rows): {', '.join(empty)}.",
            "",
        ]

    # counts per source and split
    out += ["## Rows per source and split", ""]
    known = [s for s in SOURCES if s in facts["counts"]]
    sources = known + sorted((s for s in facts["counts"] if s not in SOURCES), key=_key)
    rows = []
    for source in sources:
        per_split = facts["counts"][source]
        values = [int(per_split.get(s, 0)) for s in splits]
        rows.append([_cell(source), *(_num(v) for v in values), _num(sum(values))])
    rows.append(["**total**", *(_num(split_rows[s]) for s in splits), _num(total)])
    out += _table(["source", *splits, "total"], rows)

    # input formats: what ingest recognized in the raw files
    if "formats" in facts:
        formats = facts["formats"]
        out += [
            "## Rows per input format",
            "",
            "Raw rows by the record shape ingest detected (an OpenAssistant tree gives one row per path; "
            "`none`: a line of no known shape or unreadable), and how many became examples or were rejected "
            "at ingest:",
            "",
        ]
        order = [f for f in FORMATS if f in formats] + sorted((f for f in formats if f not in FORMATS), key=_key)
        format_rows = []
        for fmt in order:
            counts = formats[fmt]
            meaning = FORMATS.get(str(fmt), "no known record shape" if fmt == "none" else "")
            format_rows.append(
                [
                    f"`{_cell(fmt)}`",
                    _num(int(counts.get("rows", 0))),
                    _num(int(counts.get("examples", 0))),
                    _num(int(counts.get("rejected", 0))),
                    _cell(meaning),
                ]
            )
        out += _table(["format", "rows", "examples", "rejected at ingest", "shape"], format_rows)

    # rejects
    rejects = facts["rejects"]
    out += [
        "## Rows that left the pipeline",
        "",
        f"{sum(int(n) for n in rejects.values()):,} rows in `rejects`, by reason:",
        "",
    ]
    out += _table(
        ["reason", "rows", "meaning"],
        [
            [f"`{_cell(r)}`", _num(int(rejects[r])), _cell(_reason_description(str(r)))]
            for r in sorted(rejects, key=_key)
        ],
    )

    # duplicates
    clusters = facts["duplicate_clusters"]
    out += ["## Duplicate clusters", ""]
    out += _table(
        ["reason", "clusters", "meaning"],
        [
            [f"`{_cell(r)}`", _num(int(clusters[r])), _cell(_reason_description(str(r)))]
            for r in sorted(clusters, key=_key)
        ],
    )

    # PII
    pii = facts["pii"]
    out += [
        "## PII replaced by typed placeholders",
        "",
        f"{sum(int(n) for n in pii.values()):,} placeholders in all:",
        "",
    ]
    out += _table(
        ["entity type", "placeholders"], [[f"`{_cell(t)}`", _num(int(pii[t]))] for t in sorted(pii, key=_key)]
    )

    # refusals and templates
    out += [
        "## Behaviour mix",
        "",
        f'Refusals (including "the source does not say"): {_pct(facts["refusal_share"])} of curated rows. '
        "They are tagged and kept, never filtered out for being refusals.",
        "",
        "Template concentration, the most common openings of the first user turn:",
        "",
    ]
    openings = list(facts["template_concentration"])
    out += _table(
        ["opening", "rows", "share"],
        [[_cell(o["opening"]), _num(int(o["count"])), _pct(o["share"])] for o in openings],
    )
    if openings:
        out += [f"The top {len(openings)} openings cover {_pct(sum(float(o['share']) for o in openings))} of rows.", ""]

    # tags: repairs (ingest's turn repairs, quality's mojibake...) and what rows are
    if "tags" in facts:
        tags = facts["tags"]
        out += [
            "## Tags and repairs",
            "",
            "Curated rows per tag (the `tags` column; a row may carry several). Repairs changed the row's "
            "turns or text; filter on a tag to review them:",
            "",
        ]
        out += _table(
            ["tag", "rows", "meaning"],
            [
                [f"`{_cell(t)}`", _num(int(tags[t])), _cell(TAG_DESCRIPTIONS.get(str(t), ""))]
                for t in sorted(tags, key=_key)
            ],
        )

    # languages and licenses
    languages = facts["languages"]
    lang_total = sum(int(n) for n in languages.values())
    out += ["## Languages", ""]
    out += _table(
        ["language", "rows", "share"],
        [
            [
                f"`{_cell(lang)}`",
                _num(int(languages[lang])),
                _pct(int(languages[lang]) / lang_total if lang_total else 0),
            ]
            for lang in sorted(languages, key=_key)
        ],
    )
    licenses = facts["licenses"]
    out += ["## Licenses", ""]
    out += _table(["license", "rows"], [[_cell(k), _num(int(licenses[k]))] for k in sorted(licenses, key=_key)])

    # token lengths
    lengths = facts["token_lengths"]
    out += ["## Token lengths", "", f"{_TOKENIZER_NOTE}:", ""]
    out += _table(
        ["split", "rows", "min", "median", "p95", "max"],
        [
            [_cell(s), *(_num(lengths[s].get(k)) for k in ("rows", "min", "median", "p95", "max"))]
            for s in _split_order(list(lengths))
            if s in lengths
        ],
    )
    for caption in sorted(facts["plots"], key=_key):
        out += [f"![{_cell(caption)}]({facts['plots'][caption]})", ""]

    # reproducibility
    params = yaml.safe_dump(dict(facts["params"]), sort_keys=True, allow_unicode=True, default_flow_style=False)
    out += [
        "## Parameters",
        "",
        "The `params.yaml` this version was built with:",
        "",
        "```yaml",
        params.rstrip("\n"),
        "```",
        "",
    ]
    for heading, key in (("Input hashes", "input_hashes"), ("Output hashes", "output_hashes")):
        hashes = facts[key]
        out += [f"## {heading}", ""]
        out += _table(["name", "hash"], [[_cell(n), f"`{_cell(hashes[n])}`"] for n in sorted(hashes, key=_key)])
    return "\n".join(out).rstrip("\n") + "\n"
