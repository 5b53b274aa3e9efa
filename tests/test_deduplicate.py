"""The dedup stage on example frames: exact then near, winners by source priority then quality."""

import polars as pl

from ftdata_assets.transforms.deduplicate import deduplicate

PARAMS = {"near_threshold": 0.8, "num_perm": 128, "shingle_size": 3, "seed": "t"}
ANSWER = (
    "Unplug the camera for ten seconds, plug it back in, wait for the light to turn solid green, then open "
    "the app and pick the camera from the device list to finish pairing it with your home network."
)


def examples(rows: list[tuple[str, str, str, float, str]]) -> pl.DataFrame:
    """(example_id, source, user text, quality, system prompt) per row."""
    return pl.DataFrame(
        {
            "example_id": [r[0] for r in rows],
            "source": [r[1] for r in rows],
            "source_file": ["f"] * len(rows),
            "source_line": list(range(1, len(rows) + 1)),
            "quality_score": [r[3] for r in rows],
            "messages": [
                [
                    {"role": "system", "content": r[4]},
                    {"role": "user", "content": r[2]},
                    {"role": "assistant", "content": ANSWER},
                ]
                for r in rows
            ],
        }
    )


def test_exact_copy_across_sources_keeps_the_higher_priority_source() -> None:
    out = deduplicate(
        examples(
            [
                ("a", "synthetic", "How do I pair my camera?", 1.0, "s"),
                ("b", "expert", "how do I   pair my camera?", 0.5, "s"),
                ("c", "production_log", "How do I pair my camera?", 1.0, "s"),
            ]
        ),
        PARAMS,
    )
    result = {r["example_id"]: (r["duplicate_of"], r["dedup_reason"]) for r in out.iter_rows(named=True)}
    assert result == {"a": ("b", "exact_duplicate"), "b": (None, None), "c": ("b", "exact_duplicate")}


def test_an_exact_copy_of_a_near_duplicate_points_to_the_row_finally_kept() -> None:
    out = deduplicate(
        examples(
            [
                ("x", "expert", "How do I pair my new camera with the app?", 1.0, "s"),
                ("y", "synthetic", "How do I pair my new camera with the app??", 1.0, "s"),
                ("z", "synthetic", "how do i pair my new camera with the app??", 1.0, "s"),
            ]
        ),
        PARAMS,
    )
    assert dict(out.select("example_id", "duplicate_of").iter_rows()) == {"x": None, "y": "x", "z": "x"}
    assert out.filter(pl.col("example_id") == "y")["dedup_reason"].item() == "near_duplicate"


def test_quality_breaks_ties_within_a_source_and_shared_system_prompts_do_not_merge() -> None:
    long_system = "You are the support assistant of a smart-home company. " * 20
    out = deduplicate(
        examples(
            [
                ("p", "production_log", "Where is my order?", 0.4, long_system),
                ("q", "production_log", "where is my order?", 0.9, long_system),
                ("r", "production_log", "Can I get an invoice for my purchase last month?", 0.9, long_system),
            ]
        ).with_columns(
            messages=pl.when(pl.col("example_id") == "r")
            .then(
                pl.lit(
                    pl.Series(
                        [
                            [
                                {"role": "system", "content": long_system},
                                {"role": "user", "content": "Can I get an invoice?"},
                                {
                                    "role": "assistant",
                                    "content": "Yes: open Orders, pick the order and press Download invoice.",
                                },
                            ]
                        ]
                    )
                )
            )
            .otherwise(pl.col("messages"))
        ),
        PARAMS,
    )
    assert dict(out.select("example_id", "duplicate_of").iter_rows()) == {"p": "q", "q": None, "r": None}
