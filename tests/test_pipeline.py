"""The whole graph materialized in-process on the bundled sample: row conservation, splits, rejects."""

import hashlib
import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ftdata_assets.defs.runner import PipelineError, materialize_all
from ftdata_assets.schema import EXAMPLE_SCHEMA, REJECT_SCHEMA, SPLITS, is_valid_reason
from tests.conftest import make_project


def read_split(root: Path, split: str) -> pl.DataFrame:
    return pl.read_parquet(root / "data" / "curated" / f"{split}.parquet")


def test_ledger_accounts_for_every_input_line(materialized_project: Path) -> None:
    from ftdata_assets.sample_data import generate_sample

    ledger = json.loads((materialized_project / "data" / "metrics" / "ledger.json").read_text())
    assert list(ledger) == ["rows_in", "curated", "rejected", "held_for_review"]
    counts = generate_sample(materialized_project / "tmp-sample-copy", seed=20261101)
    assert ledger["rows_in"] == sum(counts.values())
    accounted = sum(ledger["curated"].values()) + sum(ledger["rejected"].values()) + ledger["held_for_review"]
    assert accounted == ledger["rows_in"]
    for split in SPLITS:
        assert ledger["curated"][split] == read_split(materialized_project, split).height
    rejects = pl.read_parquet(materialized_project / "data" / "rejects" / "rejects.parquet")
    assert sum(ledger["rejected"].values()) == rejects.height


def test_curated_splits_follow_the_contract_and_ratios(materialized_project: Path) -> None:
    splits = {split: read_split(materialized_project, split) for split in SPLITS}
    total = sum(frame.height for frame in splits.values())
    assert total > 1_500  # the sample is templated: 3-word shingles at 0.6 take over half of it as near-duplicates
    # the ratios hold for the assignment; decontamination then removes train rows only
    assigned = pl.read_parquet(materialized_project / "data" / "interim" / "split_assignments.parquet")
    for split, expected in {"train": 0.8, "validation": 0.1, "test": 0.1}.items():
        assert splits[split].schema == EXAMPLE_SCHEMA
        share = assigned.filter(pl.col("split") == split).height / assigned.height
        assert abs(share - expected) < 0.02, (split, share)
        kept = assigned.filter((pl.col("split") == split) & pl.col("contaminated_by").is_null())
        assert set(kept["example_id"]) == set(splits[split]["example_id"])
    assert assigned.filter(pl.col("contaminated_by").is_not_null())["split"].unique().to_list() == ["train"]
    by_source = assigned.group_by("source").agg((pl.col("split") == "test").mean().alias("test_share"))
    assert by_source["test_share"].is_between(0.07, 0.13).all(), by_source  # stratified by source
    ids = [set(frame["example_id"]) for frame in splits.values()]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    sources = set(pl.concat(splits.values())["source"])
    assert sources == {"production_log", "expert", "synthetic", "feedback"}


def test_rejects_keep_line_reason_and_original(materialized_project: Path) -> None:
    rejects = pl.read_parquet(materialized_project / "data" / "rejects" / "rejects.parquet")
    assert rejects.schema == REJECT_SCHEMA
    assert all(is_valid_reason(r) for r in rejects["reason"].unique())
    reasons = set(rejects["reason"])
    assert {"invalid_json", "invalid_utf8", "too_long", "too_deep", "bad_role", "unknown_format"} <= reasons
    assert rejects["source_line"].min() >= 1
    assert rejects.filter(pl.col("original").is_null() | pl.col("detail").is_null()).height == 0


def test_every_planted_malformed_line_is_rejected_with_its_reason(materialized_project: Path) -> None:
    from ftdata_assets.sample_data import MALFORMED_LINES

    rejects = pl.read_parquet(materialized_project / "data" / "rejects" / "rejects.parquet")
    found = {(f, r): n for f, r, n in rejects.group_by("source_file", "reason").len().iter_rows()}
    planted: dict[tuple[str, str], int] = {}
    for line in MALFORMED_LINES:
        planted[(line.file, line.reason)] = planted.get((line.file, line.reason), 0) + 1
    for (file, reason), count in planted.items():
        assert found.get((file, reason), 0) >= count, (file, reason, found)


def digests(root: Path) -> dict[str, str]:
    folders = ("curated", "rejects", "metrics", "splits", "review/export")
    files = [p for folder in folders for p in (root / "data" / folder).rglob("*") if p.is_file()]
    assert len(files) > 20
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def test_a_rerun_is_idempotent_byte_for_byte(materialized_project: Path) -> None:
    before = digests(materialized_project)
    with dg.instance_for_test() as instance:
        materialize_all(materialized_project, instance, progress=lambda _: None)
    assert digests(materialized_project) == before


def test_a_misnamed_log_file_is_a_clear_error(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", with_sample=False)
    (root / "data" / "raw" / "logs").mkdir(parents=True)
    (root / "data" / "raw" / "logs" / "monday.jsonl").write_text("{}\n")
    with dg.instance_for_test() as instance, pytest.raises(PipelineError, match=r"monday\.jsonl is not named"):
        materialize_all(root, instance, progress=lambda _: None)


def test_a_corrupt_gzip_fails_the_run_naming_the_file(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", with_sample=False)
    logs = root / "data" / "raw" / "logs"
    logs.mkdir(parents=True)
    (logs / "2026-11-01.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00 this is not gzip data at all")
    with dg.instance_for_test() as instance, pytest.raises(PipelineError, match=r"2026-11-01\.jsonl\.gz"):
        materialize_all(root, instance, progress=lambda _: None)


def test_curated_splits_hold_no_detectable_pii(materialized_project: Path) -> None:
    from ftdata_assets.transforms.pii import ENTITY_TYPES
    from ftdata_assets.transforms.pii_report import leftover_findings

    curated = pl.concat([read_split(materialized_project, split) for split in SPLITS])
    assert leftover_findings(curated, ["Lumora"]).height == 0
    assert curated["messages"].list.first().struct.field("content").str.contains("Lumora").any()
    texts = "\n".join(
        curated.select(pl.col("messages").list.eval(pl.element().struct.field("content")))
        .explode("messages")["messages"]
        .to_list()
    )
    assert "<EMAIL_ADDRESS_1>" in texts and "<CREDIT_CARD_1>" in texts and "<PERSON_1>" in texts
    metric = json.loads((materialized_project / "data" / "metrics" / "pii.json").read_text())
    assert list(metric["by_type"]) == list(ENTITY_TYPES)
    assert all(metric["by_type"][t] > 0 for t in ENTITY_TYPES), metric


def test_quality_and_dedup_drops_are_in_rejects_and_priority_decides_winners(materialized_project: Path) -> None:
    from ftdata_assets.transforms.dedup import DEFAULT_SOURCE_PRIORITY

    rejects = pl.read_parquet(materialized_project / "data" / "rejects" / "rejects.parquet")
    by_layer = dict(rejects.group_by("layer").len().iter_rows())
    assert by_layer["ingest"] > 0 and by_layer["quality"] > 0 and by_layer["dedup"] > 0
    reasons = set(rejects["reason"])
    assert {"exact_duplicate", "near_duplicate", "low_quality:boilerplate", "low_quality:language"} <= reasons

    deduped = pl.read_parquet(materialized_project / "data" / "interim" / "deduplicated_examples.parquet")
    rank = {source: i for i, source in enumerate(DEFAULT_SOURCE_PRIORITY)}
    losers = deduped.filter(pl.col("duplicate_of").is_not_null())
    winners = (
        deduped.filter(pl.col("duplicate_of").is_null())
        .select(pl.col("example_id").alias("duplicate_of"), pl.col("source").alias("winner_source"))
        .unique("duplicate_of")
    )
    pairs = losers.join(winners, on="duplicate_of", how="left")
    assert pairs["winner_source"].null_count() == 0
    assert all(rank[w] <= rank[s] for s, w in pairs.select("source", "winner_source").iter_rows())
    expert_over_synthetic = pairs.filter((pl.col("source") == "synthetic") & (pl.col("winner_source") == "expert"))
    assert expert_over_synthetic.height >= 6  # the planted expert -> synthetic copies


def test_refusals_are_kept_and_tagged(materialized_project: Path) -> None:
    scored = pl.read_parquet(materialized_project / "data" / "interim" / "scored_examples.parquet")
    refusals = scored.filter(pl.col("tags").list.contains("refusal"))
    assert refusals.height > 50
    assert refusals.filter(pl.col("drop_reason").is_null()).height / refusals.height > 0.95


def test_planted_policy_rows_are_rejected_with_their_reason_and_stale_rows_kept_tagged(
    materialized_project: Path,
) -> None:
    from ftdata_assets.sample_data import POLICY_PLANTS

    rejects = pl.read_parquet(materialized_project / "data" / "rejects" / "rejects.parquet")
    policy = rejects.filter(pl.col("layer") == "policy")
    expected = sorted(p.reason for p in POLICY_PLANTS if p.reason)
    assert sorted(policy["reason"]) == expected
    files = {p.file for p in POLICY_PLANTS if p.reason}
    assert set(policy["source_file"]) == files
    assert policy["detail"].str.contains(r"teacher|license").all()  # says what was wrong, e.g. the license

    scored = pl.read_parquet(materialized_project / "data" / "interim" / "scored_examples.parquet")
    stale = scored.filter(pl.col("tags").list.contains("stale"))
    assert stale.height == sum(1 for p in POLICY_PLANTS if p.tag == "stale")
    assert stale["drop_reason"].null_count() == stale.height


def test_contradictions_are_held_out_of_the_splits_and_counted(materialized_project: Path) -> None:
    import json

    from ftdata_assets.sample_data import CONTRADICTIONS

    queue = pl.read_parquet(materialized_project / "data" / "review" / "export" / "queue.parquet")
    contradictions = queue.filter(pl.col("review_kind") == "contradiction")
    prompts = set(contradictions["prompt"])
    found = [c.topic for c in CONTRADICTIONS if c.prompt_a in prompts and c.prompt_b in prompts]
    assert len(found) >= 5  # the lexical method misses the synonym pair (outdoors / outside)
    ledger = json.loads((materialized_project / "data" / "metrics" / "ledger.json").read_text())
    assert ledger["held_for_review"] == contradictions["example_id"].n_unique()
    released = pl.concat([read_split(materialized_project, split) for split in SPLITS])
    assert not set(contradictions["example_id"]) & set(released["example_id"])
    dedup_rejects = pl.read_parquet(materialized_project / "data" / "rejects" / "rejects.parquet").filter(
        pl.col("reason") == "duplicate_prompt"
    )
    assert dedup_rejects.height > 100  # templated questions asked again with the same answer


def test_a_misnamed_source_folder_is_a_clear_error(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    (root / "data" / "raw" / "expert").rename(root / "data" / "raw" / "experts")
    with dg.instance_for_test() as instance, pytest.raises(PipelineError, match=r"belong to no source: experts;"):
        materialize_all(root, instance, progress=lambda _: None)
