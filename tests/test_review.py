"""The review loop's pure parts on real files: queue export, decision files people fill in, apply, sample, audit."""

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from ftdata_assets.schema import EXAMPLE_SCHEMA
from ftdata_assets.transforms.review import (
    AUDIT_LABEL_SCHEMA,
    DECISION_SCHEMA,
    PROBLEM_SCHEMA,
    REVIEW_QUEUE_SCHEMA,
    answer_text,
    apply_decisions,
    audit_metrics,
    build_review_queue,
    cohen_kappa,
    latest_decisions,
    prompt_text,
    read_audit_labels,
    read_decisions,
    sample_rows,
    unknown_decisions,
    write_review_export,
)

FRAME_SCHEMA = {**EXAMPLE_SCHEMA, "tags": pl.List(pl.String), "quality_score": pl.Float64}

SYSTEM = "You are the support assistant of Acme Home. Answer from the policy; say when it does not say."
REFUND_Q = "How long do I have to return a blender I bought online?"
REFUND_A = 'Our policy says: "30 days from delivery", for unused items.\nKeep the receipt, please.'
REFUND_Q2 = "how long do i have to return a blender i bought online"
REFUND_A2 = "You have 14 days to return it."


def chat(*turns: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": role, "content": content} for role, content in turns]


def example(source: str, messages: list[dict[str, str]], line: int, partition: str | None = None, **extra) -> dict:
    """One canonical example; the id is the sha256 of the messages JSON, as in the pipeline."""
    canonical = json.dumps(messages, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return {
        "example_id": hashlib.sha256(canonical.encode()).hexdigest(),
        "source": source,
        "source_file": f"{source}/batch.jsonl",
        "source_line": line,
        "partition": partition,
        "messages": messages,
        "tags": ["refusal"] if "not say" in messages[-1]["content"] else [],
        "quality_score": 0.9,
        **extra,
    }


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{name: row.get(name) for name in FRAME_SCHEMA} for row in rows], schema=FRAME_SCHEMA)


@pytest.fixture
def examples() -> pl.DataFrame:
    return frame(
        [
            example("production_log", chat(("system", SYSTEM), ("user", REFUND_Q), ("assistant", REFUND_A)), 3),
            example("expert", chat(("user", REFUND_Q2), ("assistant", REFUND_A2)), 1),
            example(
                "synthetic",
                chat(
                    ("system", SYSTEM),
                    ("user", "Can I pay with PayPal?"),
                    ("assistant", "Yes, PayPal is accepted at checkout."),
                    ("user", "And in the app?"),
                    ("assistant", "Yes, the app accepts PayPal too."),
                ),
                7,
                "batch-001",
            ),
            example(
                "synthetic",
                chat(("user", "Does the warranty cover drops?"), ("assistant", "The policy does not say.")),
                2,
                "batch-002",
            ),
        ]
    )


def members(examples: pl.DataFrame) -> pl.DataFrame:
    """As the review_queue asset builds them: a contradiction pair (integer cluster id) + synthetic samples."""
    contradiction = examples.head(2).with_columns(
        review_kind=pl.lit("contradiction"),
        review_group=pl.lit(12, pl.Int64),
        review_detail=pl.lit("answers disagree: number"),
    )
    synthetic = examples.filter(pl.col("source") == "synthetic").with_columns(
        review_kind=pl.lit("synthetic_sample"),
        review_group=pl.lit(None, pl.Int64),
        review_detail=pl.lit("review sample of synthetic batch ") + pl.col("partition"),
    )
    return pl.concat([contradiction, synthetic])


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv_rows(path: Path, rows: list[dict[str, str]], fieldnames: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def problem_set(problems: pl.DataFrame) -> set[tuple[str, int | None, str]]:
    return set(problems.select("file", "line", "problem").iter_rows())


# ------------------------------------------------------------------------------------------------------------
# queue and export


def test_prompt_and_answer_text_join_user_and_assistant_turns_without_the_system_prompt(examples) -> None:
    texts = examples.select(prompt=prompt_text(pl.col("messages")), answer=answer_text(pl.col("messages")))
    assert texts.row(2) == (
        "Can I pay with PayPal?\nAnd in the app?",
        "Yes, PayPal is accepted at checkout.\nYes, the app accepts PayPal too.",
    )
    assert texts.row(0) == (REFUND_Q, REFUND_A)
    assert SYSTEM not in "".join(texts.get_column("prompt"))


def test_queue_puts_a_group_side_by_side_in_source_priority_order_deterministically(examples) -> None:
    rows = members(examples)
    copy = rows.head(1).with_columns(
        source_file=pl.lit("production_log/2026-11-02.jsonl"), source_line=pl.lit(9, pl.Int64)
    )
    both = pl.concat([rows, rows.tail(1), copy])  # two examples listed twice under one kind
    queue = build_review_queue(both)
    assert queue.schema == REVIEW_QUEUE_SCHEMA
    assert queue.height == 4  # one row per (review_kind, example_id)
    assert queue.row(1, named=True)["source_file"] == "production_log/2026-11-02.jsonl"  # the lowest file, line
    other_kind = rows.tail(1).with_columns(review_kind=pl.lit("audit"))
    assert build_review_queue(pl.concat([rows, other_kind])).height == 5  # another kind keeps its own row
    assert queue.get_column("review_kind").to_list() == ["contradiction"] * 2 + ["synthetic_sample"] * 2
    pair = queue.filter(pl.col("review_kind") == "contradiction")
    assert pair.get_column("review_group").to_list() == ["12", "12"]
    assert pair.get_column("source").to_list() == ["expert", "production_log"]  # expert first
    assert pair.get_column("member").to_list() == [1, 2]
    assert pair.row(1, named=True)["prompt"] == REFUND_Q and pair.row(1, named=True)["answer"] == REFUND_A
    sample = queue.filter(pl.col("review_kind") == "synthetic_sample")
    assert sample.get_column("member").to_list() == [1, 1]  # each sample row is its own group
    assert sample.get_column("review_group").to_list() == sorted(
        "synthetic_sample:" + i for i in sample.get_column("example_id")
    )
    assert queue.select("decision", "reviewer", "edited_answer", "note").null_count().row(0) == (4, 4, 4, 4)
    assert build_review_queue(both.reverse()).equals(queue)
    assert build_review_queue(both.sample(fraction=1.0, shuffle=True, seed=3)).equals(queue)


def test_numeric_groups_sort_as_numbers_and_an_empty_queue_keeps_its_schema(examples) -> None:
    rows = pl.concat(
        [
            examples.head(2).with_columns(review_group=pl.lit(12, pl.Int64)),
            examples.tail(2).with_columns(review_group=pl.lit(7, pl.Int64)),
        ]
    ).with_columns(review_kind=pl.lit("contradiction"), review_detail=pl.lit("x"))
    assert build_review_queue(rows).get_column("review_group").to_list() == ["7", "7", "12", "12"]
    # source priority comes before the example id inside a group
    rows = rows.with_columns(example_id=pl.Series(["a" * 64, "f" * 64, "c" * 64, "b" * 64]))
    queue = build_review_queue(rows)
    assert queue.select("source", "example_id").rows()[2:] == [("expert", "f" * 64), ("production_log", "a" * 64)]
    assert queue.get_column("example_id").to_list()[:2] == ["b" * 64, "c" * 64]
    empty = build_review_queue(rows.clear())
    assert empty.is_empty() and empty.schema == REVIEW_QUEUE_SCHEMA


def test_export_is_atomic_byte_identical_and_spreadsheet_readable(examples, tmp_path: Path) -> None:
    queue = build_review_queue(members(examples))
    first = write_review_export(queue, tmp_path / "a", "queue")
    again = write_review_export(build_review_queue(members(examples).reverse()), tmp_path / "b", "queue")
    for kind in ("csv", "parquet"):
        assert first[kind].read_bytes() == again[kind].read_bytes()
    write_review_export(queue, tmp_path / "a", "queue")  # overwrite in place: no temp file left behind
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["queue.csv", "queue.parquet"]
    assert pl.read_parquet(first["parquet"]).equals(queue)
    rows = read_csv_rows(first["csv"])
    assert list(rows[0]) == list(REVIEW_QUEUE_SCHEMA)
    production = next(row for row in rows if row["source"] == "production_log")
    assert production["answer"] == REFUND_A  # quotes, comma and newline survive the round trip
    assert first["csv"].read_bytes().count(b"\n") > len(rows) + 1  # the newline really is inside a quoted cell


def test_export_writes_nested_columns_as_json_text_in_the_csv(examples, tmp_path: Path) -> None:
    paths = write_review_export(examples.select("example_id", "tags", "messages"), tmp_path, "raw")
    rows = read_csv_rows(paths["csv"])
    assert json.loads(rows[3]["tags"]) == ["refusal"]
    assert json.loads(rows[0]["messages"])[1] == {"role": "user", "content": REFUND_Q}


# ------------------------------------------------------------------------------------------------------------
# decisions


def test_round_trip_export_fill_in_read_apply(examples, tmp_path: Path) -> None:
    queue = build_review_queue(members(examples))
    paths = write_review_export(queue, tmp_path / "export", "queue")
    rows = read_csv_rows(paths["csv"])
    production, expert, multi_turn = (examples.row(i, named=True) for i in range(3))
    edited = 'Yes, in the app too: choose "PayPal", then confirm.\nNo fee.'
    for row in rows:
        if row["example_id"] == production["example_id"]:
            row.update(decision="Accept ", reviewer="alice")
        elif row["example_id"] == expert["example_id"]:
            row.update(decision="reject", reviewer="alice", note="policy is 30 days")
        elif row["example_id"] == multi_turn["example_id"]:
            row.update(decision="edit", reviewer="bob", edited_answer=edited)
    decisions_dir = tmp_path / "decisions"
    write_csv_rows(decisions_dir / "2026-11-22-alice.csv", rows)
    (decisions_dir / "README.md").write_text("# Review decisions\n")
    (decisions_dir / ".~lock.2026-11-22-alice.csv#").write_bytes(b"\xff\xfe garbage")

    decisions, problems = read_decisions(decisions_dir)
    assert problems.is_empty() and problems.schema == PROBLEM_SCHEMA
    assert decisions.schema == DECISION_SCHEMA
    by_id = {row["example_id"]: row for row in decisions.iter_rows(named=True)}
    assert set(by_id) == {production["example_id"], expert["example_id"], multi_turn["example_id"]}
    assert by_id[production["example_id"]]["decision"] == "accept"  # trimmed, lower-cased
    assert by_id[expert["example_id"]]["note"] == "policy is 30 days"
    spreadsheet_row = 2 + [row["example_id"] for row in rows].index(multi_turn["example_id"])
    assert (by_id[multi_turn["example_id"]]["file"], by_id[multi_turn["example_id"]]["line"]) == (
        "2026-11-22-alice.csv",
        spreadsheet_row,
    )

    applied = apply_decisions(examples, decisions)
    assert applied.get_column("example_id").to_list() == examples.get_column("example_id").to_list()
    assert applied.get_column("review_decision").to_list() == ["accept", "reject", "edit", None]
    assert applied.get_column("reviewed_by").to_list() == ["alice", "alice", "bob", None]
    messages = applied.get_column("messages").to_list()
    assert messages[2][:4] == multi_turn["messages"][:4]  # only the last assistant turn changes
    assert messages[2][4] == {"role": "assistant", "content": edited}
    assert messages[0] == production["messages"] and messages[1] == expert["messages"]
    assert applied.get_column("tags").to_list() == [[], [], ["edited_in_review"], ["refusal"]]
    assert unknown_decisions(examples, decisions).is_empty()


def test_edit_without_an_assistant_turn_appends_one_and_unknown_ids_are_reported(tmp_path: Path) -> None:
    rows = frame(
        [
            example("feedback", chat(("user", "Where is my order #4411?")), 1),
            example("expert", chat(("user", "Hi"), ("assistant", "Hello! How can I help?")), 2),
        ]
    ).with_columns(tags=pl.Series([["stale", "edited_in_review"], None], dtype=pl.List(pl.String)))
    decisions_dir = tmp_path / "decisions"
    write_csv_rows(
        decisions_dir / "d.csv",
        [
            {"example_id": rows["example_id"][0], "decision": "edit", "reviewer": "bob", "edited_answer": "Tracking."},
            {"example_id": "f" * 64, "decision": "accept", "reviewer": "bob", "edited_answer": ""},
        ],
    )
    decisions, problems = read_decisions(decisions_dir)
    assert problems.is_empty()
    applied = apply_decisions(rows, decisions)
    assert applied.get_column("messages").to_list()[0] == chat(
        ("user", "Where is my order #4411?"), ("assistant", "Tracking.")
    )
    assert applied.get_column("tags").to_list() == [["edited_in_review", "stale"], None]  # sorted, unique
    assert applied.get_column("review_decision").to_list() == ["edit", None]
    assert "tags" not in apply_decisions(rows.drop("tags"), decisions).columns
    assert unknown_decisions(rows, decisions).get_column("example_id").to_list() == ["f" * 64]


def test_bad_files_and_bad_rows_are_problems_not_exceptions(tmp_path: Path) -> None:
    d = tmp_path / "decisions"
    d.mkdir()
    (d / "a_garbled.csv").write_bytes(b"example_id,decision,reviewer\nab,acc\xffept,al\xfeice\n")
    (d / "b_broken.parquet").write_bytes(b"PAR1 this is not parquet")
    (d / "c_missing.csv").write_text("example_id,verdict\nabc,accept\n")
    (d / "d_empty.csv").write_bytes(b"")
    (d / "e_unclosed.csv").write_text('example_id,decision,reviewer\nabc,"accept,alice\n')
    (d / "f_queue.xlsx").write_bytes(b"PK\x03\x04 spreadsheet")
    write_csv_rows(
        d / "g_rows.csv",
        [
            {"example_id": "id-ok", "decision": "reject", "reviewer": "ann", "edited_answer": "", "decided_at": ""},
            {"example_id": "id-1", "decision": "approve", "reviewer": "ann", "edited_answer": "", "decided_at": ""},
            {"example_id": "id-2", "decision": "accept", "reviewer": " ", "edited_answer": "", "decided_at": ""},
            {"example_id": "id-3", "decision": "edit", "reviewer": "ann", "edited_answer": "  ", "decided_at": ""},
            {
                "example_id": "id-4",
                "decision": "accept",
                "reviewer": "ann",
                "edited_answer": "",
                "decided_at": "yesterday",
            },
            {"example_id": "", "decision": "accept", "reviewer": "ann", "edited_answer": "", "decided_at": ""},
            {"example_id": "id-5", "decision": "", "reviewer": "ann", "edited_answer": "A fix.", "decided_at": ""},
            {
                "example_id": "id-6",
                "decision": "accept",
                "reviewer": "ann",
                "edited_answer": "Typed.",
                "decided_at": "",
            },
        ],
    )
    with (d / "g_rows.csv").open("a", encoding="utf-8") as handle:
        handle.write("id-7,accept,ann,,,surplus\n")  # more fields than columns
    (d / "h_lines.jsonl").write_bytes(
        b'{"example_id": "id-j1", "decision": "accept", "reviewer": "cy"}\n'
        b"{not json\n"
        b"[1, 2]\n"
        b'{"example_id": "id-j2", "decision": "acc\xff", "reviewer": "cy"}\n'
        b"\n"
        b'{"example_id": "id-j3", "decision": "reject", "reviewer": "cy", "decided_at": "2026-11-22T08:00:00Z"}\n'
    )

    decisions, problems = read_decisions(d)
    assert problem_set(problems) == {
        ("a_garbled.csv", None, "unreadable_file"),
        ("b_broken.parquet", None, "unreadable_file"),
        ("c_missing.csv", None, "missing_column"),
        ("d_empty.csv", None, "empty_file"),
        ("e_unclosed.csv", None, "unreadable_file"),
        ("f_queue.xlsx", None, "unsupported_file"),
        ("g_rows.csv", 3, "unknown_decision"),
        ("g_rows.csv", 4, "missing_reviewer"),
        ("g_rows.csv", 5, "empty_edit"),
        ("g_rows.csv", 6, "bad_timestamp"),
        ("g_rows.csv", 7, "missing_example_id"),
        ("g_rows.csv", 8, "missing_decision"),
        ("g_rows.csv", 9, "edited_answer_ignored"),
        ("g_rows.csv", 10, "ragged_row"),
        ("h_lines.jsonl", 2, "invalid_json"),
        ("h_lines.jsonl", 3, "invalid_json"),
        ("h_lines.jsonl", 4, "invalid_utf8"),
    }
    assert "decision, reviewer" in problems.filter(pl.col("problem") == "missing_column")["detail"].item()
    assert "'approve'" in problems.filter(pl.col("problem") == "unknown_decision")["detail"].item()
    assert set(decisions.get_column("example_id")) == {"id-ok", "id-6", "id-j1", "id-j3"}
    stamped = decisions.filter(pl.col("example_id") == "id-j3").row(0, named=True)
    assert stamped["decided_at"] == datetime(2026, 11, 22, 8, tzinfo=UTC) and stamped["line"] == 6
    assert decisions.get_column("example_id").to_list()[-1] == "id-j3"  # the only dated decision sorts last


def test_excel_csv_with_bom_semicolons_crlf_and_renamed_headers_is_read(tmp_path: Path) -> None:
    text = "Example ID;Decision;Reviewer;Decided at\r\nabc;Reject;Zoë;2026-11-22 10:00\r\n;;;\r\n"
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    decisions, problems = read_decisions(tmp_path)
    assert problems.is_empty()
    assert decisions.select("example_id", "decision", "reviewer", "decided_at", "line").row(0) == (
        "abc",
        "reject",
        "Zoë",
        datetime(2026, 11, 22, 10, tzinfo=UTC),
        2,
    )


def test_latest_decision_wins_and_disagreement_is_reported(tmp_path: Path) -> None:
    d = tmp_path / "decisions"
    fields = ["example_id", "decision", "reviewer", "edited_answer", "decided_at"]
    write_csv_rows(
        d / "a.csv",
        [
            {"example_id": "x", "decision": "accept", "reviewer": "alice", "decided_at": "2026-11-22T10:00:00Z"},
            {"example_id": "y", "decision": "accept", "reviewer": "alice"},
        ],
        fields,
    )
    write_csv_rows(
        d / "b.csv",
        [
            # later file, later wall-clock text, but 09:30 UTC: alice's 10:00 UTC decision is the latest
            {"example_id": "x", "decision": "reject", "reviewer": "bob", "decided_at": "2026-11-22T11:30:00+02:00"},
            {"example_id": "y", "decision": "reject", "reviewer": "alice"},  # alice changed her mind: no conflict
        ],
        fields,
    )
    pl.DataFrame(
        {
            "example_id": ["x"],
            "decision": ["edit"],
            "reviewer": ["carol"],
            "edited_answer": ["Ok."],
            "decided_at": [None],
        },
        schema_overrides={"decided_at": pl.Datetime("us")},
    ).write_parquet(d / "c.parquet")  # undated: sorts before every dated decision
    (d / "d.jsonl").write_text('{"example_id": "z", "decision": "accept", "reviewer": "dan"}\n')

    decisions, problems = read_decisions(d)
    assert decisions.height == 6
    latest = latest_decisions(decisions)
    assert latest.select("example_id", "decision", "reviewer").rows() == [
        ("x", "accept", "alice"),
        ("y", "reject", "alice"),
        ("z", "accept", "dan"),
    ]
    assert problem_set(problems) == {("a.csv", 2, "conflicting_decisions")}
    detail = problems["detail"].item()
    assert "alice: accept" in detail and "bob: reject" in detail and "carol: edit" in detail
    assert detail.endswith("the latest applies: accept by alice")
    examples = frame([example("expert", chat(("user", "q"), ("assistant", "a")), 1) | {"example_id": "x"}])
    assert apply_decisions(examples, decisions)["review_decision"].to_list() == ["accept"]


def test_parquet_decisions_with_typed_timestamps(tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "example_id": ["p", "p"],
            "decision": ["reject", "accept"],
            "reviewer": ["ann", "ann"],
            "decided_at": [datetime(2026, 11, 23, 9, tzinfo=UTC), datetime(2026, 11, 22, 9, tzinfo=UTC)],
        }
    ).write_parquet(tmp_path / "typed.parquet")
    decisions, problems = read_decisions(tmp_path)
    assert problems.is_empty()
    assert decisions.schema == DECISION_SCHEMA
    assert latest_decisions(decisions).select("decision", "line").row(0) == ("reject", 1)


def test_an_unfilled_queue_copy_has_no_decisions_and_no_problems(examples, tmp_path: Path) -> None:
    paths = write_review_export(build_review_queue(members(examples)), tmp_path / "export", "queue")
    rows = read_csv_rows(paths["csv"])
    for row in rows:
        row["reviewer"] = "alice"  # drag-filled names alone are not decisions
    write_csv_rows(tmp_path / "decisions" / "copy.csv", rows)
    decisions, problems = read_decisions(tmp_path / "decisions")
    assert decisions.is_empty() and problems.is_empty()
    rows[0]["decision"] = "accept"
    write_csv_rows(tmp_path / "decisions" / "copy.csv", rows)
    assert read_decisions(tmp_path / "decisions")[0].get_column("example_id").to_list() == [rows[0]["example_id"]]


def test_a_missing_folder_means_no_decisions_and_no_labels(examples, tmp_path: Path) -> None:
    decisions, problems = read_decisions(tmp_path / "nope")
    assert decisions.is_empty() and decisions.schema == DECISION_SCHEMA
    assert problems.is_empty() and problems.schema == PROBLEM_SCHEMA
    labels, label_problems = read_audit_labels(tmp_path / "nope")
    assert labels.is_empty() and labels.schema == AUDIT_LABEL_SCHEMA and label_problems.is_empty()
    applied = apply_decisions(examples, decisions)
    assert applied["review_decision"].null_count() == examples.height
    assert applied.drop("review_decision", "reviewed_by").equals(examples)


# ------------------------------------------------------------------------------------------------------------
# sampling


def population(n: int, partitions: int = 4, start: int = 0) -> pl.DataFrame:
    return frame(
        [
            example(
                "synthetic",
                chat(("user", f"Question {i}: what is {i} + {i}?"), ("assistant", f"{i} + {i} = {2 * i}.")),
                i,
                f"batch-{i % partitions:03d}",
            )
            for i in range(start, start + n)
        ]
    )


def test_sample_is_deterministic_order_independent_and_pinned_across_versions() -> None:
    rows = population(200)
    sample = sample_rows(rows, 10, "ftdata-review-v1")
    assert sample.height == 10 and sample.schema == rows.schema
    assert sample.equals(sample_rows(rows, 10, "ftdata-review-v1"))
    assert sample.equals(sample_rows(rows.sample(fraction=1.0, shuffle=True, seed=1), 10, "ftdata-review-v1"))
    assert set(sample["example_id"]) != set(sample_rows(rows, 10, "another-seed")["example_id"])
    # blake2b, not polars' hash: the same rows must come out on any machine and polars version
    key = b"16:ftdata-review-v1:" + sample["example_id"][0].encode()
    smallest = min(
        int.from_bytes(hashlib.blake2b(b"16:ftdata-review-v1:" + i.encode(), digest_size=8).digest(), "big")
        for i in rows["example_id"]
    )
    assert int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") == smallest


def test_adding_rows_changes_the_sample_only_by_new_rows() -> None:
    old = population(200)
    new = pl.concat([old, population(40, start=200)])
    before = set(sample_rows(old, 20, "s")["example_id"])
    after = set(sample_rows(new, 20, "s")["example_id"])
    added = set(new["example_id"]) - set(old["example_id"])
    assert after - added <= before  # every old row still sampled was sampled before
    assert len(after & before) == 20 - len(after & added)
    assert len(after & before) >= 12


def test_sample_per_group_and_empty_sizes() -> None:
    rows = pl.concat([population(40), population(3, partitions=1, start=1000).with_columns(partition=pl.lit("tiny"))])
    sample = sample_rows(rows, 5, "seed", by="partition")
    sizes = dict(sample.group_by("partition").len().iter_rows())
    assert sizes == {"batch-000": 5, "batch-001": 5, "batch-002": 5, "batch-003": 5, "tiny": 3}
    assert sample["partition"].to_list() == sorted(sample["partition"].to_list())
    assert sample.equals(sample_rows(rows.reverse(), 5, "seed", by="partition"))
    for size in (0, -3):
        empty = sample_rows(rows, size, "seed")
        assert empty.is_empty() and empty.schema == rows.schema
    assert sample_rows(rows.clear(), 5, "seed").schema == rows.schema


# ------------------------------------------------------------------------------------------------------------
# audit


def test_cohen_kappa_matches_the_textbook_example() -> None:
    # The classic 50-proposal example (Wikipedia "Cohen's kappa"): both yes 20, A yes/B no 5, A no/B yes 10,
    # both no 15. p_o = 35/50 = 0.7; A says yes 25/50, B 30/50: p_e = 0.5*0.6 + 0.5*0.4 = 0.5;
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    a = pl.Series(["error"] * 20 + ["error"] * 5 + ["ok"] * 10 + ["ok"] * 15)
    b = pl.Series(["error"] * 20 + ["ok"] * 5 + ["error"] * 10 + ["ok"] * 15)
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    # by hand: p_o = 3/4; A ok 1/2, B ok 1/4: p_e = 1/2*1/4 + 1/2*3/4 = 1/2; kappa = (3/4 - 1/2) / (1/2) = 1/2
    assert cohen_kappa(pl.Series(["ok", "ok", "error", "error"]), pl.Series(["ok", "error", "error", "error"])) == 0.5
    assert cohen_kappa(pl.Series(["ok", "ok"]), pl.Series(["ok", "ok"])) is None  # p_e = 1: undefined
    assert cohen_kappa(pl.Series(["ok", "ok"]), pl.Series(["error", "error"])) == 0.0
    assert cohen_kappa(pl.Series([], dtype=pl.String), pl.Series([], dtype=pl.String)) is None


def test_audit_metrics_reproduce_the_textbook_kappa_from_label_files(tmp_path: Path) -> None:
    sample = pl.DataFrame({"example_id": [f"ex-{i:02d}" for i in range(50)]})
    a = ["error"] * 25 + ["ok"] * 25
    b = ["error"] * 20 + ["ok"] * 5 + ["error"] * 10 + ["ok"] * 15
    ids = sample["example_id"].to_list()
    write_csv_rows(
        tmp_path / "ben.csv", [{"example_id": i, "reviewer": "ben", "label": v} for i, v in zip(ids, b, strict=True)]
    )
    (tmp_path / "ann.jsonl").write_text(
        "".join(
            json.dumps({"example_id": i, "reviewer": "ann", "label": v}) + "\n" for i, v in zip(ids, a, strict=True)
        )
    )
    labels, problems = read_audit_labels(tmp_path)
    assert problems.is_empty() and labels.height == 100
    metrics = audit_metrics(sample, labels)
    assert metrics["kappa"] == pytest.approx(0.4)
    assert metrics["double_labelled_rows"] == 50 and metrics["agreement"] == pytest.approx(0.7)
    assert metrics["errors"] == 35  # 20 both + 15 ties (one error, one ok) count as errors
    assert metrics["error_rate"] == pytest.approx(35 / 50) and metrics["complete"] is True


def test_error_rate_with_the_tie_rule_latest_label_and_outside_labels(tmp_path: Path) -> None:
    sample = pl.DataFrame({"example_id": [f"s{i}" for i in range(10)]})
    fields = ["example_id", "reviewer", "label"]
    write_csv_rows(
        tmp_path / "1.csv",
        [
            {"example_id": "s0", "reviewer": "alice", "label": "error"},
            {"example_id": "s0", "reviewer": "bob", "label": "ok"},  # 1 of 2: a tie counts as error
            {"example_id": "s1", "reviewer": "alice", "label": "ok"},
            {"example_id": "s1", "reviewer": "bob", "label": "OK "},
            {"example_id": "s1", "reviewer": "carol", "label": "error"},  # 1 of 3: ok
            {"example_id": "s2", "reviewer": "alice", "label": "error"},
            {"example_id": "s3", "reviewer": "alice", "label": "error"},
            *({"example_id": f"s{i}", "reviewer": "alice", "label": "ok"} for i in range(4, 8)),
            {"example_id": "elsewhere", "reviewer": "alice", "label": "error"},
            {"example_id": "s8", "reviewer": "alice", "label": ""},  # not labelled yet
        ],
        fields,
    )
    write_csv_rows(tmp_path / "2.csv", [{"example_id": "s3", "reviewer": "alice", "label": "ok"}], fields)  # relabel
    labels, problems = read_audit_labels(tmp_path)
    assert problems.is_empty()
    metrics = audit_metrics(sample, labels)
    assert {k: metrics[k] for k in ("sampled", "labelled_rows", "labels", "errors", "complete")} == {
        "sampled": 10,
        "labelled_rows": 8,
        "labels": 11,
        "errors": 2,
        "complete": False,
    }
    assert metrics["error_rate"] == pytest.approx(2 / 8)
    assert metrics["labels_outside_sample"] == 1
    # rows s0 (alice error, bob ok) and s1 (alice ok, bob ok; carol is third by name): p_o = 1/2,
    # alice error 1/2, bob always ok: p_e = 1/2 * 1 = 1/2, kappa = 0
    assert metrics["double_labelled_rows"] == 2 and metrics["kappa"] == pytest.approx(0.0)
    nothing = audit_metrics(sample, labels.clear())
    assert nothing["error_rate"] is None and nothing["kappa"] is None and nothing["complete"] is False


def test_a_filled_in_audit_csv_is_a_labels_file_and_bad_labels_are_problems(examples, tmp_path: Path) -> None:
    kept = examples.with_columns(review_kind=pl.lit("audit"), review_group=None, review_detail=pl.lit("random"))
    audit = build_review_queue(kept).with_columns(label=pl.lit(None, pl.String))
    paths = write_review_export(audit, tmp_path / "export", "audit_sample")
    rows = read_csv_rows(paths["csv"])
    for index, row in enumerate(rows):
        row.update(reviewer="alice", label=["ok", "Error", "wrong", "ok"][index])
    rows[3]["reviewer"] = ""
    labels_dir = tmp_path / "labels"
    write_csv_rows(labels_dir / "audit-1.csv", rows)
    (labels_dir / "queue-copy.csv").write_bytes(paths["csv"].read_bytes().replace(b",label", b""))
    labels, problems = read_audit_labels(labels_dir)
    assert problem_set(problems) == {
        ("audit-1.csv", 4, "unknown_label"),
        ("audit-1.csv", 5, "missing_reviewer"),
        ("queue-copy.csv", None, "missing_column"),
    }
    assert labels.get_column("label").to_list() == ["ok", "error"]
    metrics = audit_metrics(audit, labels)
    assert (metrics["sampled"], metrics["labelled_rows"], metrics["errors"]) == (4, 2, 1)
    assert metrics["error_rate"] == pytest.approx(0.5) and metrics["kappa"] is None
