"""The release end of the real pipeline on the bundled sample: decontamination, the frozen split registry
across two versions, exports that trainers load as is, the data card and the DVC metrics/plots."""

import json
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import yaml

from ftdata_assets.schema import SPLITS
from ftdata_assets.transforms.decontaminate import find_overlaps
from ftdata_assets.transforms.deduplicate import role_text

OPENAI_ROLES = {"system", "user", "assistant"}


def curated(root: Path, split: str) -> pl.DataFrame:
    return pl.read_parquet(root / "data" / "curated" / f"{split}.parquet")


def user_turns(frame: pl.DataFrame) -> pl.Series:
    return frame.select(role_text(pl.col("messages"), "user")).to_series()


def test_planted_benchmark_items_are_removed_from_train_and_reported(materialized_project: Path) -> None:
    rejects = pl.read_parquet(materialized_project / "data" / "rejects" / "rejects.parquet")
    contaminated = rejects.filter(pl.col("reason") == "benchmark_contamination")
    assert set(contaminated["layer"]) == {"decontaminate"}
    details = contaminated["detail"].to_list()
    # the JavaScript UTC question: its planted copies are near-duplicates of each other, so dedup may take them
    # out before decontamination sees them; either way every one of them is in rejects, none reaches train
    utc = "how can I get the current UTC time as an ISO string"
    planted = rejects.filter(pl.col("original").str.contains(utc, literal=True))
    assert planted.height > 0
    assert any(d.startswith("sample-prompts.txt item 1:") for d in details) or set(planted["layer"]) <= {
        "quality",
        "dedup",
    }
    assert any(d.startswith("sample-evals.jsonl item 1:") for d in details)  # the 30%-off question
    from ftdata_assets.transforms.benchmarks import read_benchmarks

    items, problems = read_benchmarks(materialized_project / "data" / "benchmarks")
    assert problems.height == 0 and items.height == 9
    hits = find_overlaps(user_turns(curated(materialized_project, "train")), items["text"], n=13, min_words=8)
    assert hits.height == 0


def test_no_train_prompt_shares_a_13_word_run_with_a_held_out_prompt(materialized_project: Path) -> None:
    held_out = pl.concat([curated(materialized_project, s) for s in ("validation", "test")])
    train = curated(materialized_project, "train")
    turns = {
        name: frame.select(pl.col("messages").list.eval(pl.element().struct.field("content"))).explode("messages")
        for name, frame in (("train", train), ("held_out", held_out))
    }
    hits = find_overlaps(turns["train"]["messages"], turns["held_out"]["messages"], n=13, min_words=13)
    user_only = find_overlaps(user_turns(train), user_turns(held_out), n=13, min_words=13)
    assert user_only.height == 0 or hits.height >= user_only.height  # sanity: the check sees real text
    assert set(train["example_id"]).isdisjoint(held_out["example_id"])


def test_the_registry_records_every_released_example(materialized_project: Path) -> None:
    registry = pl.read_parquet(materialized_project / "data" / "splits" / "registry.parquet")
    released = pl.concat([curated(materialized_project, s).select("example_id", split=pl.lit(s)) for s in SPLITS])
    assert registry.sort("example_id").equals(released.sort("example_id"))


def test_a_second_version_with_new_data_and_new_ratios_keeps_the_test_set(
    materialized_project: Path, tmp_path: Path
) -> None:
    from ftdata_assets.defs.runner import materialize_all

    v2 = tmp_path / "v2"
    shutil.copytree(materialized_project, v2, ignore=shutil.ignore_patterns("dagster_home"))
    params = yaml.safe_load((v2 / "params.yaml").read_text())
    params["split"]["ratios"] = {"train": 0.9, "validation": 0.05, "test": 0.05}
    (v2 / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    new_rows = [
        {
            "messages": [
                {"role": "user", "content": f"How should I label shipping box number {i} for a warehouse return?"},
                {"role": "assistant", "content": f"Write RMA-{1000 + i} on the box and attach the printed label."},
            ]
        }
        for i in range(200)
    ]
    (v2 / "data" / "raw" / "expert" / "returns_v2.jsonl").write_text("\n".join(json.dumps(r) for r in new_rows))
    v1 = {s: set(curated(materialized_project, s)["example_id"]) for s in SPLITS}
    (v2 / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(v2 / "dagster_home")) as instance:
        materialize_all(v2, instance, progress=lambda _: None)
    after = {s: set(curated(v2, s)["example_id"]) for s in SPLITS}
    assert not v1["test"] & after["train"] and not v1["validation"] & after["train"]
    assert v1["test"] <= after["test"]  # nothing of the frozen test set left, despite the smaller test ratio
    added = set().union(*after.values()) - set().union(*v1.values())
    assert len(added) >= 150  # the new expert rows (a few may be near-duplicates of each other)
    assert added & after["train"]


def test_openai_jsonl_follows_the_chat_fine_tuning_format(materialized_project: Path) -> None:
    for split in SPLITS:
        lines = (materialized_project / "data" / "curated" / "openai" / f"{split}.jsonl").read_text().splitlines()
        assert len(lines) == curated(materialized_project, split).height
        for line in lines:
            record = json.loads(line)
            assert list(record) == ["messages"]
            roles = [m["role"] for m in record["messages"]]
            assert set(roles) <= OPENAI_ROLES and roles[-1] == "assistant" and "user" in roles
            assert all(set(m) == {"role", "content"} and m["content"].strip() for m in record["messages"])


def test_alpaca_json_holds_the_instruction_shaped_rows(materialized_project: Path) -> None:
    records = json.loads((materialized_project / "data" / "curated" / "alpaca" / "train.json").read_text())
    assert len(records) > 100
    assert all(set(r) == {"instruction", "input", "output"} and r["instruction"] and r["output"] for r in records)


def test_the_curated_folder_loads_with_hugging_face_datasets(materialized_project: Path, tmp_path: Path) -> None:
    import datasets

    folder = materialized_project / "data" / "curated"
    loaded = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "hf"))
    expected = {split: curated(materialized_project, split).height for split in SPLITS}
    assert {split: loaded[split].num_rows for split in SPLITS} == expected
    first = loaded["train"][0]["messages"]
    assert all(set(m) == {"role", "content"} for m in first) and first[-1]["role"] == "assistant"


def test_the_data_card_reports_the_version(materialized_project: Path) -> None:
    folder = materialized_project / "data" / "curated"
    card = (folder / "README.md").read_text()
    assert (folder / "plots" / "token_lengths.png").read_bytes().startswith(b"\x89PNG")
    assert "plots/token_lengths.png" in card
    for needle in ("benchmark_contamination", "near_duplicate", "EMAIL_ADDRESS", "refusal", "train.parquet"):
        assert needle in card, needle
    train_rows = curated(materialized_project, "train").height
    assert f"{train_rows:,}" in card or str(train_rows) in card
    metrics = json.loads((materialized_project / "data" / "metrics" / "dataset.json").read_text())
    assert metrics["splits"]["train"] == train_rows and metrics["benchmark_contamination"] > 0
    plot = pl.read_csv(materialized_project / "data" / "metrics" / "token_lengths.csv")
    assert set(SPLITS) <= set(plot.columns) and plot["train"].sum() == train_rows
