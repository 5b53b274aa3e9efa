"""Tests of transforms.data_card: token counts, the long-format histogram, the deterministic PNG and the
Markdown card (front matter that `datasets.load_dataset(<folder>)` understands, every section, determinism)."""

import copy
import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from ftdata_assets.defs.io import PARQUET_WRITE_OPTIONS  # what the pipeline writes with
from ftdata_assets.schema import EXAMPLE_SCHEMA, FORMATS, INGEST_TAGS, REASON_DESCRIPTIONS, SPLITS, TAG_DESCRIPTIONS
from ftdata_assets.transforms import data_card as dc
from ftdata_assets.transforms.quality import count_tokens


def turns(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": role, "content": content} for role, content in pairs]


CONVERSATIONS = [
    ("train", turns(("user", "How do I reset my password?"), ("assistant", "Open Settings, then Account."))),
    (
        "train",
        turns(
            ("system", "You are Lumora's support assistant."),
            ("user", "Can I return shoes after 30 days?"),
            ("assistant", "Returns are accepted within 30 days of delivery. " * 20),
        ),
    ),
    (
        "train",
        turns(
            ("user", "東京の天気は？"),
            ("assistant", "確認します。"),
            ("tool", '{"temp_c": 7}'),
            ("assistant", "東京は7°Cです。 😀"),
        ),
    ),
    ("validation", turns(("user", "Wie spät ist es?"), ("assistant", "Das kann ich nicht sagen."))),
    ("test", turns(("user", "Summarise the text."), ("assistant", "Which text?"), ("user", "The one above."))),
]


def curated(rows: list[tuple[str, list[dict[str, str]]]] = CONVERSATIONS) -> pl.DataFrame:
    n = len(rows)
    frame = pl.DataFrame(
        {
            "example_id": [f"id-{i}" for i in range(n)],
            "source": ["expert"] * n,
            "source_file": ["expert/set.jsonl"] * n,
            "source_line": list(range(1, n + 1)),
            "messages": [m for _, m in rows],
            "license": ["cc-by-4.0"] * n,
            "created_at": [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)] * n,
        },
        schema={c: EXAMPLE_SCHEMA[c] for c in ("example_id", "source", "source_file", "source_line")}
        | {"messages": EXAMPLE_SCHEMA["messages"], "license": pl.String, "created_at": EXAMPLE_SCHEMA["created_at"]},
    )
    return frame.with_columns(split=pl.Series([s for s, _ in rows], dtype=pl.String))


# ------------------------------------------------------------------------------------------ token lengths


def test_row_token_counts_sum_every_turn_with_the_quality_tokenizer() -> None:
    frame = curated()
    expected = [sum(count_tokens([m["content"] for m in msgs]).to_list()) for _, msgs in CONVERSATIONS]
    got = dc.row_token_counts(frame)
    assert got.dtype == pl.Int64 and got.to_list() == expected
    assert expected[1] > 100  # the long answer is counted, system turn included


def test_row_token_counts_of_rows_without_messages() -> None:
    frame = pl.DataFrame(
        {"messages": [[], None, turns(("user", "hi"))]}, schema={"messages": EXAMPLE_SCHEMA["messages"]}
    )
    assert dc.row_token_counts(frame).to_list() == [0, 0, 1]


def test_histogram_is_long_format_with_shared_bins_and_zero_bins() -> None:
    frame = curated()
    hist = dc.token_length_histogram(frame, bins=4)
    assert hist.schema == dc.HISTOGRAM_SCHEMA
    assert hist.get_column("split").unique(maintain_order=True).to_list() == list(SPLITS)
    per_split = {s: hist.filter(pl.col("split") == s) for s in SPLITS}
    edges = {s: part.select("bin_start", "bin_end").rows() for s, part in per_split.items()}
    assert edges["train"] == edges["validation"] == edges["test"]  # comparable across splits
    assert len(edges["train"]) == 4
    assert all(end > start for start, end in edges["train"])
    assert all(a[1] == b[0] for a, b in zip(edges["train"], edges["train"][1:], strict=False))  # contiguous
    assert {s: int(p.get_column("count").sum()) for s, p in per_split.items()} == {
        "train": 3,
        "validation": 1,
        "test": 1,
    }
    assert (hist.get_column("count") == 0).any()  # empty bins are rows too (DVC plots need them)
    tokens = dc.row_token_counts(frame)
    assert edges["train"][0][0] == 0 and edges["train"][-1][1] > tokens.max()


def test_histogram_with_explicit_edges_counts_values_outside_them() -> None:
    frame = curated()
    tokens = dc.row_token_counts(frame)
    low, high = int(tokens.min()), int(tokens.max())
    hist = dc.token_length_histogram(frame, bins=[low + 1, low + 2])
    bins = hist.filter(pl.col("split") == "train").select("bin_start", "bin_end").rows()
    assert bins == [(low, low + 1), (low + 1, low + 2), (low + 2, high + 1)]
    assert int(hist.get_column("count").sum()) == frame.height  # nothing falls out
    assert dc.token_length_histogram(frame, bins=[0, 10_000]).get_column("count").to_list() == [3, 1, 1]


def test_histogram_lists_missing_and_extra_splits() -> None:
    frame = curated([("train", CONVERSATIONS[0][1]), ("holdout_2026", CONVERSATIONS[1][1])])
    hist = dc.token_length_histogram(frame, bins=2)
    assert hist.get_column("split").unique(maintain_order=True).to_list() == [*SPLITS, "holdout_2026"]
    assert hist.filter(pl.col("split") == "validation").get_column("count").to_list() == [0, 0]


def test_histogram_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="bins"):
        dc.token_length_histogram(curated(), bins=0)
    with pytest.raises(ValueError, match="increasing"):
        dc.token_length_histogram(curated(), bins=[5, 5])
    with pytest.raises(ValueError, match="split"):
        dc.token_length_histogram(curated().drop("split"))


def test_histogram_of_an_empty_frame() -> None:
    hist = dc.token_length_histogram(curated([]), bins=3)
    assert hist.height == 3 * len(SPLITS) and int(hist.get_column("count").sum()) == 0


def test_token_length_stats() -> None:
    frame = curated()
    tokens = dc.row_token_counts(frame).to_list()
    stats = dc.token_length_stats(frame)
    assert list(stats) == list(SPLITS)
    train = sorted(tokens[:3])
    assert stats["train"]["rows"] == 3
    assert stats["train"]["min"] == train[0] and stats["train"]["max"] == train[-1]
    assert stats["train"]["median"] == float(train[1])
    assert train[1] < stats["train"]["p95"] <= train[2]
    assert stats["validation"] == {"rows": 1, **dict.fromkeys(("min", "max"), tokens[3])} | {
        "median": float(tokens[3]),
        "p95": float(tokens[3]),
    }
    empty = dc.token_length_stats(curated(CONVERSATIONS[:1]))
    assert empty["test"] == {"rows": 0, "min": None, "median": None, "p95": None, "max": None}


# ------------------------------------------------------------------------------------------------- the PNG


def test_png_is_byte_identical_across_runs(tmp_path: Path) -> None:
    hist = dc.token_length_histogram(curated(), bins=8)
    first, second = tmp_path / "a" / "lengths.png", tmp_path / "b" / "lengths.png"
    dc.plot_length_histograms(hist, first)
    dc.plot_length_histograms(hist, second)
    data = first.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert data == second.read_bytes()
    assert b"Software" not in data and b"matplotlib" not in data.lower()  # no version or timestamp chunk
    assert not list(first.parent.glob(".*.tmp"))


def test_png_does_not_depend_on_the_users_matplotlib_style(tmp_path: Path) -> None:
    import matplotlib

    hist = dc.token_length_histogram(curated(), bins=5)
    dc.plot_length_histograms(hist, tmp_path / "default.png")
    with matplotlib.rc_context({"axes.facecolor": "black", "font.size": 20, "figure.dpi": 300}):
        dc.plot_length_histograms(hist, tmp_path / "styled.png")
    assert (tmp_path / "default.png").read_bytes() == (tmp_path / "styled.png").read_bytes()


def test_png_rejects_a_frame_that_is_not_a_histogram(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing"):
        dc.plot_length_histograms(pl.DataFrame({"split": ["train"]}), tmp_path / "x.png")


# ------------------------------------------------------------------------------------------------ the card


def make_facts() -> dict:
    frame = curated()
    return {
        "pretty_name": "Lumora support SFT",
        "data_files": {
            "train": "data/train.parquet",
            "validation": "data/validation.parquet",
            "test": "data/test.parquet",
        },
        "counts": {
            "synthetic": {"train": 1},
            "expert": {"train": 2, "validation": 1, "test": 1},
        },
        "rejects": {
            "low_quality:boilerplate": 4,
            "exact_duplicate": 7,
            "invalid_json": 2,
            "near_duplicate": 3,
        },
        "pii": {"PERSON": 5, "EMAIL_ADDRESS": 2},
        "duplicate_clusters": {"near_duplicate": 2, "exact_duplicate": 5},
        "refusal_share": 0.125,
        "template_concentration": [
            {"opening": "how do i reset my", "count": 3, "share": 0.6},
            {"opening": "can i return shoes after", "count": 1, "share": 0.2},
        ],
        "languages": {"en": 3, "ja": 1, "de": 1},
        "licenses": {"CC-BY-4.0": 5},
        "token_lengths": dc.token_length_stats(frame),
        "plots": {"Token length per example": "plots/token_lengths.png"},
        "params": {
            "split": {"seed": 7, "ratios": {"train": 0.8, "validation": 0.1, "test": 0.1}},
            "quality": {"too_long": 4096},
        },
        "input_hashes": {"data/raw/expert": "md5:aaa111", "data/raw/logs": "md5:bbb222"},
        "output_hashes": {"data/curated/train.parquet": "sha256:ccc333"},
    }


def front_matter(card: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", card, flags=re.DOTALL)
    assert match, "the card must open with YAML front matter"
    return yaml.safe_load(match.group(1))


def test_card_front_matter_has_configs_license_and_size() -> None:
    meta = front_matter(dc.render_data_card(make_facts()))
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [
                {"split": "train", "path": "data/train.parquet"},
                {"split": "validation", "path": "data/validation.parquet"},
                {"split": "test", "path": "data/test.parquet"},
            ],
        }
    ]
    assert meta["license"] == "cc-by-4.0"
    assert meta["pretty_name"] == "Lumora support SFT"
    assert meta["size_categories"] == ["n<1K"]


def test_card_has_no_license_field_when_rows_disagree() -> None:
    facts = make_facts()
    facts["licenses"] = {"cc-by-4.0": 4, "mit": 1}
    meta = front_matter(dc.render_data_card(facts))
    assert "license" not in meta
    facts["licenses"] = {None: 5}
    assert "license" not in front_matter(dc.render_data_card(facts))


def test_card_sections_carry_every_number() -> None:
    card = dc.render_data_card(make_facts())
    assert "| expert | 2 | 1 | 1 | 4 |" in card
    assert "| synthetic | 1 | 0 | 0 | 1 |" in card
    assert "| **total** | 3 | 1 | 1 | 5 |" in card
    assert f"| `exact_duplicate` | 7 | {REASON_DESCRIPTIONS['exact_duplicate']} |" in card
    assert f"| `invalid_json` | 2 | {REASON_DESCRIPTIONS['invalid_json']} |" in card
    assert "| `low_quality:boilerplate` | 4 | failed the quality rule `boilerplate`" in card
    assert "16 rows in `rejects`" in card
    assert f"| `near_duplicate` | 2 | {REASON_DESCRIPTIONS['near_duplicate']} |" in card
    assert "| `PERSON` | 5 |" in card and "7 placeholders in all" in card
    assert "12.5% of curated rows" in card
    assert "| how do i reset my | 3 | 60.0% |" in card and "cover 80.0% of rows" in card
    assert "| `ja` | 1 | 20.0% |" in card
    assert "![Token length per example](plots/token_lengths.png)" in card
    assert "| `md5:aaa111` |" in card and "| data/curated/train.parquet | `sha256:ccc333` |" in card
    stats = make_facts()["token_lengths"]["train"]
    assert f"| train | 3 | {stats['min']} |" in card


def test_card_params_block_is_yaml_of_the_params() -> None:
    card = dc.render_data_card(make_facts())
    block = re.search(r"```yaml\n(.*?)\n```", card, flags=re.DOTALL)
    assert block and yaml.safe_load(block.group(1)) == make_facts()["params"]


def test_card_is_deterministic_and_has_no_timestamp() -> None:
    facts = make_facts()
    shuffled = {k: facts[k] for k in reversed(list(facts))}
    for key in ("counts", "rejects", "pii", "languages", "input_hashes", "data_files"):
        shuffled[key] = dict(reversed(list(copy.deepcopy(facts[key]).items())))
    card = dc.render_data_card(facts)
    assert card == dc.render_data_card(shuffled)
    assert card.endswith("\n") and not card.endswith("\n\n")
    assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", card)
    reasons = re.findall(r"^\| `([a-z_:]+)` \| \d+ \| (?!\d)", card.split("## Duplicate")[0], flags=re.MULTILINE)
    assert reasons == sorted(reasons)  # sorted keys


def test_card_escapes_html_and_table_syntax_in_text() -> None:
    facts = make_facts()
    facts["template_concentration"] = [{"opening": "<PERSON_1> asked | why", "count": 1, "share": 0.2}]
    card = dc.render_data_card(facts)
    assert "| &lt;PERSON_1&gt; asked \\| why | 1 | 20.0% |" in card


def test_card_leaves_an_empty_split_out_of_configs() -> None:
    facts = make_facts()
    facts["counts"] = {"expert": {"train": 3, "validation": 0, "test": 1}}
    card = dc.render_data_card(facts)
    splits = [f["split"] for f in front_matter(card)["configs"][0]["data_files"]]
    assert splits == ["train", "test"]
    assert "Empty splits, left out of `configs`" in card and "validation" in card


def test_card_facts_are_checked() -> None:
    facts = make_facts()
    del facts["pii"]
    with pytest.raises(ValueError, match=r"missing \['pii'\]"):
        dc.render_data_card(facts)
    with pytest.raises(ValueError, match=r"unknown \['refusal_rate'\]"):
        dc.render_data_card(make_facts() | {"refusal_rate": 0.1})
    facts = make_facts()
    facts["data_files"].pop("test")
    with pytest.raises(ValueError, match="no data_files entry"):
        dc.render_data_card(facts)
    assert set(dc.REQUIRED_FACTS) | {"pretty_name"} == set(make_facts())


def test_size_category() -> None:
    sizes = (0, 999, 1_000, 54_321, 1_000_000, 10**13)
    assert [dc.size_category(n) for n in sizes] == ["n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "1M<n<10M", "n>1T"]


def test_load_dataset_on_the_card_folder_finds_the_splits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real `datasets`: the card's `configs` name the split files, an empty split is left out."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    import datasets

    datasets.disable_progress_bars()
    folder = tmp_path / "curated"
    frame = curated([*CONVERSATIONS[:3], ("test", CONVERSATIONS[3][1])])  # validation stays empty
    for split in SPLITS:
        (folder / "data").mkdir(parents=True, exist_ok=True)
        frame.filter(pl.col("split") == split).drop("split").write_parquet(
            folder / "data" / f"{split}.parquet", **PARQUET_WRITE_OPTIONS
        )
    facts = make_facts()
    facts["counts"] = {"expert": {"train": 3, "validation": 0, "test": 1}}
    facts["token_lengths"] = dc.token_length_stats(frame)
    (folder / "README.md").write_text(dc.render_data_card(facts), encoding="utf-8")

    ds = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    assert sorted(ds) == ["test", "train"]
    assert ds["train"].num_rows == 3 and ds["test"].num_rows == 1
    assert ds["train"][2]["messages"] == CONVERSATIONS[2][1]


def test_a_token_count_column_is_reused_and_matches_tokenizing_again() -> None:
    frame = pl.DataFrame(
        {
            "split": ["train", "train", "test", "validation"],
            "messages": [
                [{"role": "user", "content": "Hello there"}, {"role": "assistant", "content": "Hi! How can I help?"}],
                [{"role": "user", "content": "Summarize: " + "word " * 300}],
                [{"role": "user", "content": "x"}],
                [],
            ],
        }
    )
    counted = dc.with_token_counts(frame)
    assert counted.get_column("token_count").equals(dc.row_token_counts(frame))
    assert dc.token_length_stats(counted) == dc.token_length_stats(frame)
    assert dc.token_length_histogram(counted, bins=4).equals(dc.token_length_histogram(frame, bins=4))
    wrong = counted.with_columns(token_count=pl.lit(7, dtype=pl.Int64))  # proves the column is what is read
    assert dc.token_length_stats(wrong)["train"]["max"] == 7


# ------------------------------------------------------------------------------------------ tags and repairs


def test_tag_counts_count_curated_rows_per_tag_with_every_repair_listed() -> None:
    frame = curated().with_columns(
        tags=pl.Series(
            [
                ["dropped_leading_turns", "mojibake_repaired", "trimmed_trailing_user"],
                ["refusal"],
                [],
                None,
                ["mojibake_repaired"],
            ],
            dtype=pl.List(pl.String),
        )
    )
    counts = dc.tag_counts(frame)
    assert counts == {
        "dropped_leading_turns": 1,
        "leading_turns_as_context": 0,
        "removed_blank_turns": 0,
        "merged_turns": 0,
        "trimmed_trailing_user": 1,
        "tool_calls_as_assistant": 0,
        "mojibake_repaired": 2,
        "refusal": 1,
    }
    assert dc.tag_counts(curated()) == dict.fromkeys([*INGEST_TAGS, "mojibake_repaired"], 0)  # no tags column


def test_card_counts_repairs_and_the_mojibake_tag() -> None:
    facts = make_facts() | {"tags": {"mojibake_repaired": 2, "dropped_leading_turns": 1, "merged_turns": 0}}
    card = dc.render_data_card(facts)
    assert "## Tags and repairs" in card
    assert f"| `mojibake_repaired` | 2 | {TAG_DESCRIPTIONS['mojibake_repaired']} |" in card
    assert f"| `dropped_leading_turns` | 1 | {TAG_DESCRIPTIONS['dropped_leading_turns']} |" in card
    assert "| `merged_turns` | 0 |" in card
    section = card.split("## Tags and repairs")[1].split("##")[0]
    listed = re.findall(r"^\| `([a-z_:]+)` \|", section, flags=re.MULTILINE)
    assert listed == sorted(listed) == ["dropped_leading_turns", "merged_turns", "mojibake_repaired"]
    assert "## Tags and repairs" not in dc.render_data_card(make_facts())  # an optional fact


def test_card_lists_tool_calls_undesirable_labels_and_sharegpt_preference_with_the_others() -> None:
    """The tag, reason and format of LLaMA-Factory tool calling, KTO labels and LLaMA-Factory preference rows are
    described in the card's tables like every other tag, reason and format (none falls back to an empty meaning)."""
    facts = make_facts() | {
        "tags": dict.fromkeys(INGEST_TAGS, 0) | {"tool_calls_as_assistant": 3},
        "rejects": {"undesirable_label": 4, "invalid_json": 1},
        "formats": {
            "sharegpt": {"rows": 8, "examples": 8, "rejected": 0},
            "sharegpt_preference": {"rows": 2, "examples": 1, "rejected": 1},
        },
    }
    card = dc.render_data_card(facts)
    assert f"| `tool_calls_as_assistant` | 3 | {TAG_DESCRIPTIONS['tool_calls_as_assistant']} |" in card
    assert f"| `undesirable_label` | 4 | {REASON_DESCRIPTIONS['undesirable_label']} |" in card
    assert f"| `sharegpt_preference` | 2 | 1 | 1 | {FORMATS['sharegpt_preference']} |" in card
    tags = card.split("## Tags and repairs")[1].split("##")[0]
    assert re.findall(r"^\| `([a-z_:]+)` \|", tags, flags=re.MULTILINE) == sorted(INGEST_TAGS)
    formats = card.split("## Rows per input format")[1].split("##")[0]
    assert formats.index("`sharegpt`") < formats.index("`sharegpt_preference`")  # in schema.FORMATS order
