"""Same-question clustering and answer-conflict detection (transforms/prompts.py), and their use in dedup."""

import polars as pl
import pytest

from ftdata_assets.sample_data import CONTRADICTIONS
from ftdata_assets.transforms.deduplicate import deduplicate
from ftdata_assets.transforms.prompts import (
    answer_conflict,
    cluster_conflicts,
    prompt_clusters,
    prompt_tokens,
)

PARAMS = {"near_threshold": 0.8, "num_perm": 128, "shingle_size": 5, "seed": "t", "prompt_threshold": 0.8}


def clusters_of(prompts: list[str], threshold: float = 0.8) -> list[str | None]:
    return prompt_clusters(pl.Series(prompts), threshold, seed="t").to_list()


def test_tokens_keep_codes_whole_and_split_anchors_from_content_words() -> None:
    keys = prompt_tokens(pl.Series(["Hi! My Hub 2 shows error E-330 since Monday, what's wrong? Thanks"]))
    assert keys.row(0, named=True) == {"anchors": "2 e-330", "content": "error hub monday shows since wrong"}


def test_greetings_and_courtesies_do_not_make_prompts_differ() -> None:
    ids = clusters_of(
        [
            "Hey there! Does the Lumora Cam Mini need batteries? Thanks in advance.",
            "Does the Lumora Cam Mini need batteries?",
            "Good morning. Does the Lumora Cam Mini need batteries? Cheers",
        ]
    )
    assert ids[0] is not None and ids[0] == ids[1] == ids[2]


def test_different_numbers_or_codes_are_different_questions() -> None:
    ids = clusters_of(
        [
            "Hi, my Lumora Hub 2 shows error E-330 since Monday. Please help!",
            "Hi, my Lumora Hub 2 shows error E-518 since Monday. Please help!",
            "If a sensor costs $29 and it's 25% off, what do I pay?",
            "If a sensor costs $29 and it's 10% off, what do I pay?",
        ]
    )
    assert len(set(ids)) == 4


def test_one_different_topic_word_in_a_short_prompt_is_a_different_question() -> None:
    # 5 of 7 content words shared (J = 0.71): the MinHash estimate alone merged these; exact Jaccard must not
    ids = clusters_of(
        [
            "What's the capital of Canada? My son asked and I wasn't sure.",
            "capital of Chile? My son asked and I wasn't sure.",
        ]
    )
    assert ids[0] != ids[1]


def test_chains_of_rewordings_do_not_merge_unrelated_prompts() -> None:
    # a~b and b~c at 0.8 but a and c share only 6 of 10 words
    a = "reset router password admin panel settings page"
    b = "reset router password admin panel settings page wifi"
    c = "reset router password admin panel settings wifi guest"
    ids = clusters_of([a, b, c])
    assert not (ids[0] == ids[1] == ids[2])
    assert ids[0] != ids[2]


def test_prompts_without_content_words_match_nothing() -> None:
    assert clusters_of(["Hi!", "Thanks!", "?"]) == [None, None, None]


@pytest.mark.parametrize(
    ("answer_a", "answer_b", "expected"),
    [
        ("Generally yes. It is widely used.", "No. It must never be taken.", ["polarity"]),
        ("No, it is an indoor camera.", "Yes, it is rated IP65.", ["polarity"]),
        ("At sea level water boils at 212 °F (100 °C).", "Water boils at 100 °F at sea level.", ["numbers"]),
        ("Returns within 30 days.", "Returns within 14 days only.", ["numbers"]),
        ("Yes, within 1,000 requests.", "Yes: up to 1000 requests.", []),
        ("No problem! Open Settings > Wi-Fi.", "Yes, open Settings > Wi-Fi.", []),
        ("Open Settings and pick Wi-Fi.", "In the app, tap Settings, then Wi-Fi.", []),
    ],
)
def test_answer_conflicts(answer_a: str, answer_b: str, expected: list[str]) -> None:
    assert answer_conflict("Is it so?", answer_a, answer_b, False, False) == expected


def test_numbers_echoed_from_the_prompt_are_not_a_conflict() -> None:
    prompt = "My order LM-1234 from 2026 is late"
    assert (
        answer_conflict(
            prompt, "Order LM-1234 ships tomorrow.", "I see order 1234 from 2026; it ships soon.", False, False
        )
        == []
    )


def test_a_refusal_next_to_an_answer_is_a_conflict_unless_the_kind_is_disabled() -> None:
    clusters = pl.Series(["c", "c"])
    prompts = pl.Series(["Can you explain DNS simply?"] * 2)
    answers = pl.Series(["DNS is the internet's phone book.", "The source does not say."])
    refusals = pl.Series([False, True])
    assert cluster_conflicts(clusters, prompts, answers, refusals).to_series().to_list() == ["refusal", "refusal"]
    off = cluster_conflicts(clusters, prompts, answers, refusals, kinds=("polarity", "numbers"))
    assert off.to_series().to_list() == [None, None]
    with pytest.raises(ValueError, match="unknown contradiction kinds"):
        cluster_conflicts(clusters, prompts, answers, refusals, kinds=("sentiment",))


def test_cluster_conflicts_equal_answer_conflict_over_every_pair() -> None:
    """The per-row features and early stop of cluster_conflicts give what answer_conflict says pair by pair."""
    import itertools
    import random

    rng = random.Random(5)
    prompts = ["Is it 5 days?", "Does it take 30 minutes?", None, "Is the limit 1,000?"]
    answers = ["Yes, 5 days.", "No, 7 days.", "It takes 30 minutes.", "Yes: 1000.", "Nope, 45 minutes.", None, "Hm."]
    rows = [(rng.choice(prompts), rng.choice(answers), rng.random() < 0.2) for _ in range(300)]
    clusters = [f"c{rng.randrange(60)}" for _ in rows]
    frame = pl.DataFrame(
        {"cluster": clusters, "prompt": [r[0] for r in rows], "answer": [r[1] for r in rows]},
        schema={"cluster": pl.String, "prompt": pl.String, "answer": pl.String},
    ).with_columns(refusal=pl.Series([r[2] for r in rows]))
    for kinds in (("polarity", "numbers", "refusal"), ("numbers",), ()):
        got = cluster_conflicts(frame["cluster"], frame["prompt"], frame["answer"], frame["refusal"], kinds=kinds)
        expected = {}
        for cluster in set(clusters):
            members = [row for row, c in zip(rows, clusters, strict=True) if c == cluster]
            found = set()
            for (prompt, answer_a, refusal_a), (_, answer_b, refusal_b) in itertools.combinations(members, 2):
                found.update(answer_conflict(prompt or "", answer_a or "", answer_b or "", refusal_a, refusal_b))
            expected[cluster] = ",".join(sorted(found & set(kinds))) or None
        assert got.to_series().to_list() == [expected[c] for c in clusters]


def chat(example_id: str, source: str, user: str, answer: str, quality: float = 1.0) -> dict:
    return {
        "example_id": example_id,
        "source": source,
        "source_file": f"{source}.jsonl",
        "source_line": 1,
        "quality_score": quality,
        "tags": [],
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
    }


def test_planted_contradictions_are_flagged_and_every_member_is_kept_for_review() -> None:
    rows = []
    for n, c in enumerate(CONTRADICTIONS):
        rows += [chat(f"{n}a", "expert", c.prompt_a, c.answer_a), chat(f"{n}b", "synthetic", c.prompt_b, c.answer_b)]
    out = deduplicate(pl.DataFrame(rows), PARAMS)
    flagged = {r["example_id"]: r["contradiction"] for r in out.iter_rows(named=True)}
    assert out["duplicate_of"].null_count() == out.height  # nothing of a contradiction is dropped as a duplicate
    found = {c.topic for n, c in enumerate(CONTRADICTIONS) if flagged[f"{n}a"] and flagged[f"{n}b"]}
    # "outdoors" vs "outside" is a synonym: 4 of 6 content words shared, below 0.8 (a documented limit)
    assert found == {c.topic for c in CONTRADICTIONS} - {"cam_mini_outdoor"}
    for n, c in enumerate(CONTRADICTIONS):
        a = out.filter(pl.col("example_id") == f"{n}a")
        b = out.filter(pl.col("example_id") == f"{n}b")
        if c.topic in found:
            assert a["prompt_cluster"].item() == b["prompt_cluster"].item()


def test_same_question_with_agreeing_answer_is_a_prompt_duplicate_won_by_source_priority() -> None:
    answer = "Go to Account > Subscription > Cancel Lumora Plus in the app. You keep Plus until the period ends."
    out = deduplicate(
        pl.DataFrame(
            [
                chat("log", "production_log", "Hey there! How do I cancel my Lumora Plus subscription? Cheers", answer),
                chat("exp", "expert", "How do I cancel my Lumora Plus subscription?", "Sure! " + answer, 0.5),
                chat("syn", "synthetic", "Hello. How do I cancel my Lumora Plus subscription? Thanks!", answer),
                chat(
                    "alt",
                    "synthetic",
                    "How do I cancel my Lumora Plus subscription? ",
                    "Open the app, then Account, Subscription and Cancel; Plus stays active until renewal.",
                ),
            ]
        ),
        PARAMS,
    )
    result = {r["example_id"]: (r["duplicate_of"], r["dedup_reason"]) for r in out.iter_rows(named=True)}
    assert result["exp"] == (None, None)
    assert result["log"] == ("exp", "duplicate_prompt")
    assert result["syn"] == ("exp", "duplicate_prompt")
    assert result["alt"] == (None, None)  # a differently worded answer is variety, not a duplicate
    assert out["contradiction"].null_count() == out.height


def test_previous_version_rows_always_win_and_only_new_rows_are_removed() -> None:
    answer = "Unplug it for ten seconds, plug it back in and wait for the light to turn solid green again."
    old_log = chat("old", "production_log", "How do I restart my Lumora Hub 2?", answer)
    new_expert = chat("new", "expert", "how do I restart my Lumora Hub 2?", answer)
    gone = chat(
        "gone", "synthetic", "Why is my Lumora Cam Mini offline after the firmware update?", "Re-pair it in the app."
    )
    new_copy_of_gone = chat(
        "copy", "expert", "Why is my Lumora Cam Mini offline after the firmware update?", "Re-pair it in the app."
    )
    previous = pl.DataFrame([old_log, gone]).select("example_id", "source", "messages")

    without = deduplicate(pl.DataFrame([old_log, new_expert, new_copy_of_gone]), PARAMS)
    assert dict(without.select("example_id", "duplicate_of").iter_rows())["old"] == "new"  # expert outranks logs

    out = deduplicate(pl.DataFrame([old_log, new_expert, new_copy_of_gone]), PARAMS, previous=previous)
    assert out["example_id"].to_list() == ["old", "new", "copy"]  # reference rows are not added to the output
    result = {r["example_id"]: (r["duplicate_of"], r["dedup_reason"]) for r in out.iter_rows(named=True)}
    assert result == {
        "old": (None, None),
        "new": ("old", "exact_duplicate"),
        "copy": ("gone", "exact_duplicate"),  # a copy of a released row no longer in the input is still removed
    }


def test_a_near_duplicate_of_a_row_that_loses_on_its_prompt_points_at_the_row_finally_kept() -> None:
    answer = "Go to Account > Subscription > Cancel Lumora Plus in the app. You keep Plus until the period ends."
    out = deduplicate(
        pl.DataFrame(
            [
                chat("exp", "expert", "How do I cancel my Lumora Plus subscription?", answer),
                chat("log", "production_log", "Hey there! How do I cancel my Lumora Plus subscription? Cheers", answer),
                chat("syn", "synthetic", "Hey there! How do I cancel my Lumora Plus subscription? Cheers!", answer),
            ]
        ),
        PARAMS,
    )
    result = {r["example_id"]: (r["duplicate_of"], r["dedup_reason"]) for r in out.iter_rows(named=True)}
    assert result == {
        "exp": (None, None),
        "log": ("exp", "duplicate_prompt"),
        "syn": ("exp", "near_duplicate"),  # lost to "log" as a conversation, and "log" lost to "exp"
    }


def bag_of_words_embedder(synonyms: dict[str, str]):
    """A deterministic stand-in for a sentence-embedding model: word counts over a fixed vocabulary, with the
    given synonyms folded together (what a real model does for paraphrases)."""
    import re as regex

    import numpy as np

    def embed(texts: list[str]) -> np.ndarray:
        docs = [[synonyms.get(w, w) for w in regex.findall(r"\w+", t.lower()) if w not in STOP] for t in texts]
        vocab = sorted({w for d in docs for w in d})
        index = {w: i for i, w in enumerate(vocab)}
        matrix = np.zeros((len(texts), max(len(vocab), 1)), dtype=np.float32)
        for row, doc in enumerate(docs):
            for word in doc:
                matrix[row, index[word]] += 1
        return matrix

    return embed


STOP = {"can", "i", "the", "use", "does", "is", "a"}


def test_semantic_prompt_clusters_find_paraphrases_the_lexical_method_misses() -> None:
    cam = next(c for c in CONTRADICTIONS if c.topic == "cam_mini_outdoor")
    rows = [chat("a", "expert", cam.prompt_a, cam.answer_a), chat("b", "synthetic", cam.prompt_b, cam.answer_b)]
    lexical = deduplicate(pl.DataFrame(rows), PARAMS)
    assert lexical["contradiction"].null_count() == 2

    params = {**PARAMS, "semantic": {"model": "multilingual-e5-small-q4", "threshold": 0.95}}
    embed = bag_of_words_embedder({"outside": "outdoors"})
    semantic = deduplicate(pl.DataFrame(rows), params, embed=embed)
    assert semantic["contradiction"].to_list() == ["polarity", "polarity"]


def test_semantic_prompt_clusters_still_require_equal_numbers() -> None:
    import numpy as np

    from ftdata_assets.transforms.prompts import semantic_prompt_clusters

    def embed(texts: list[str]) -> np.ndarray:  # every prompt means the same: only the anchors can split them
        return np.ones((len(texts), 3), dtype=np.float32)

    ids = semantic_prompt_clusters(
        pl.Series(["Hub shows error E-330", "Hub shows error E-518", "hub shows error E-330!", "Hi"]), 0.95, embed
    ).to_list()
    assert ids[0] == ids[2] and ids[0] != ids[1] and ids[3] is None
