"""Unit tests of benchmark decontamination: long word n-gram overlap of training texts with reference items."""

import random
from itertools import combinations

import numpy as np
import polars as pl
import pytest

from ftdata_assets.transforms import decontaminate
from ftdata_assets.transforms.decontaminate import OUTPUT_SCHEMA, find_overlaps, normalize_for_decontamination

# benchmark-like reference items: word problems, a reading-comprehension passage, short trivia questions
PROMPT_40 = (
    "A bakery sells muffins for 3 dollars each and cookies for 75 cents each. On Saturday it sold 124 muffins "
    "and twice as many cookies as muffins. How much money did the bakery make from muffins and cookies on Saturday?"
)
PASSAGE = (
    "The Treaty of Westphalia, signed in 1648, ended the Thirty Years' War and established the principle that each "
    "state has sovereignty over its own territory and domestic affairs, a principle that still shapes international "
    "law and diplomacy today. Which principle did the treaty establish?"
)
TRAIN_SPEED = (
    "A train leaves the station at 9 am travelling at 60 miles per hour, and a second train leaves the same "
    "station at 10 am travelling at 80 miles per hour on a parallel track. At what time does the second train "
    "catch up with the first one?"
)
SHORT_QUESTION = "Which planet in our solar system has the most moons?"  # 10 words
REFERENCE = pl.Series("question", [PROMPT_40, PASSAGE, TRAIN_SPEED, SHORT_QUESTION])

UNRELATED = [
    "Can you help me write a polite email to my landlord asking when the broken heater will be repaired?",
    "Summarize the following meeting notes in three bullet points for the product team.",
    "My order number is 4471 and the package still has not arrived after two weeks, what should I do?",
    "Explain the difference between a list and a tuple in Python, with a short example of each.",
]


def words(text: str) -> list[str]:
    return normalize_for_decontamination(pl.Series([text])).item().split(" ")


def test_prompt_has_40_words() -> None:
    assert len(words(PROMPT_40)) == 40


def test_normalization_removes_case_punctuation_and_spacing() -> None:
    texts = pl.Series(["  Hello,   WORLD!! It's\tfine…", "ＦＵＬＬ-width CAFE\u0301", "snake_case", None, "", "?!"])
    assert normalize_for_decontamination(texts).to_list() == [
        "hello world it s fine",
        "full width café",  # NFKC: fullwidth letters folded, e + combining accent composed
        "snake case",
        "",
        "",
        "",
    ]


def test_exact_copy_hits_with_its_reference_row_and_count() -> None:
    texts = pl.Series([*UNRELATED[:2], PASSAGE, *UNRELATED[2:]])
    out = find_overlaps(texts, REFERENCE)
    assert out.schema == OUTPUT_SCHEMA
    assert out.get_column("row").to_list() == [2]
    assert out.get_column("reference_row").to_list() == [1]
    passage_words = words(PASSAGE)
    assert out.get_column("shared_ngrams").to_list() == [len(passage_words) - 13 + 1]
    assert out.get_column("matched_ngram").to_list() == [" ".join(passage_words[:13])]


def test_case_punctuation_and_spacing_changes_still_hit() -> None:
    noisy = PROMPT_40.upper().replace(" ", "  ").replace(".", " ...").replace("?", "??!")
    embedded = f"User: please solve this -- {TRAIN_SPEED.lower().replace(',', ';')} Thanks!!"
    fullwidth = PASSAGE.replace("Treaty", "Ｔｒｅａｔｙ").replace("1648", "１６４８")  # NFKC folds these
    out = find_overlaps(pl.Series([UNRELATED[0], noisy, embedded, fullwidth]), REFERENCE)
    assert out.select("row", "reference_row").rows() == [(1, 0), (2, 2), (3, 1)]


def replace_at(text: str, positions: tuple[int, ...]) -> str:
    tokens = words(text)
    for i in positions:
        tokens[i] = "zzzq"
    return " ".join(tokens)


def test_one_or_two_words_changed_anywhere_in_a_40_word_prompt_hit() -> None:
    # every single replacement and every pair of replacements of the 40 words: each keeps a 13-word run
    edits = [(i,) for i in range(40)] + list(combinations(range(40), 2))
    texts = pl.Series([replace_at(PROMPT_40, edit) for edit in edits])
    out = find_overlaps(texts, REFERENCE)
    assert out.get_column("row").to_list() == list(range(len(edits)))
    assert set(out.get_column("reference_row").to_list()) == {0}
    # 38 intact words in 3 runs always leave two 13-grams; e.g. changes at 13 and 26 leave words 0-12 and 27-39
    assert out.get_column("shared_ngrams").min() == 2
    assert out.filter(pl.col("row") == edits.index((13, 26))).get_column("shared_ngrams").item() == 2


def test_three_evenly_spread_changes_in_a_40_word_prompt_do_not_hit() -> None:
    # the counterpart of the guarantee: runs of 9, 9, 9 and 10 words are all shorter than 13
    assert find_overlaps(pl.Series([replace_at(PROMPT_40, (9, 19, 29))]), REFERENCE).is_empty()


def test_common_phrases_shorter_than_n_do_not_hit_but_13_in_a_row_does() -> None:
    passage = words(PASSAGE)
    run_12 = " ".join(passage[5:17])  # 12 consecutive words of the passage
    run_13 = " ".join(passage[5:18])
    texts = pl.Series(
        [
            "How many muffins and cookies did the bakery sell? How much money did you make on Saturday?",
            f"Write an essay about history. {run_12}. Use at least two sources.",
            f"Write an essay about history. {run_13}. Use at least two sources.",
            "The train leaves the station at 9 am and the second train leaves the same station later.",
        ]
    )
    out = find_overlaps(texts, REFERENCE)
    assert out.select("row", "reference_row").rows() == [(2, 1)]
    assert out.get_column("matched_ngram").item() == run_13


def test_short_question_matches_after_normalization_and_tiny_texts_are_ignored() -> None:
    reference = pl.Series([PASSAGE, SHORT_QUESTION, "What is two plus two?"])  # 10 words, 5 words
    texts = pl.Series(
        [
            "which planet in our SOLAR system has the most moons",  # the short question, normalized
            f"Q: {SHORT_QUESTION.upper()} A: Saturn, with 146 confirmed moons.",  # contained in a longer text
            "Which planet in our solar system has the most rings?",  # one word differs: not the question
            "what is two plus two",  # equal to a 5-word reference item: too short to mean anything
            "Q: what is two plus two? A: four",
            "ended the Thirty Years' War and established",  # 7 words of the passage: below min_words
            "the thirty years war and established the principle that",  # 9 words inside the passage
        ]
    )
    out = find_overlaps(texts, reference)
    assert out.select("row", "reference_row", "shared_ngrams").rows() == [(0, 1, 1), (1, 1, 1), (6, 0, 1)]
    assert out.get_column("matched_ngram").to_list() == [
        "which planet in our solar system has the most moons",
        "which planet in our solar system has the most moons",
        "the thirty years war and established the principle that",
    ]
    # min_words is the knob: at 5 the 5-word item counts too (whole, and contained in a text)
    lenient = find_overlaps(texts, reference, min_words=5)
    assert lenient.select("row", "reference_row").rows() == [(0, 1), (1, 1), (3, 2), (4, 2), (5, 0), (6, 0)]


def test_nulls_empty_and_wordless_strings_never_match() -> None:
    reference = pl.Series([None, "", "   ", "?!?", PROMPT_40])
    texts = pl.Series([None, "", "  ", "...", "!!!", None, PROMPT_40, ""])
    out = find_overlaps(texts, reference)
    assert out.select("row", "reference_row").rows() == [(6, 4)]  # indices count the null rows
    assert find_overlaps(pl.Series([None, ""], dtype=pl.String), reference).is_empty()
    assert find_overlaps(texts, pl.Series([None, ""], dtype=pl.String)).is_empty()
    assert find_overlaps(pl.Series([], dtype=pl.String), reference).schema == OUTPUT_SCHEMA


def test_most_shared_reference_wins_ties_to_lowest_index() -> None:
    prompt = words(PROMPT_40)
    reference = pl.Series(
        [
            " ".join(prompt[:20]) + " plus some unrelated ending words",  # shares 8 13-grams with the prompt
            PROMPT_40,  # shares all 28
            " ".join(prompt[:30]),  # shares 18
            PROMPT_40.upper(),  # same as row 1 after normalization: a tie, lowest index wins
        ]
    )
    out = find_overlaps(pl.Series([PROMPT_40, " ".join(prompt[:20])]), reference)
    assert out.select("row", "reference_row", "shared_ngrams").rows() == [(0, 1, 28), (1, 0, 8)]


def test_shared_ngrams_counts_distinct_ngrams_not_occurrences() -> None:
    first_13 = " ".join(words(PROMPT_40)[:13])
    texts = pl.Series([f"{first_13}. Again: {first_13}!", f"{first_13} {first_13} {first_13}"])
    reference = pl.Series([f"{PROMPT_40} Repeat: {first_13}"])
    # text 1 also holds grams that wrap around the repetition ("... cents a bakery ..."), not in the reference
    assert find_overlaps(texts, reference).get_column("shared_ngrams").to_list() == [1, 1]


def test_adjacent_rows_never_join_into_an_ngram() -> None:
    prompt = words(PROMPT_40)
    texts = pl.Series([*UNRELATED, " ".join(prompt[:6]), " ".join(prompt[6:13]), *UNRELATED])  # 6 + 7 words
    for batch_size in (3, 100):
        assert find_overlaps(texts, REFERENCE, batch_size=batch_size).is_empty()
    reference = pl.Series([" ".join(prompt[:9])])  # a short item spanning the two rows
    assert find_overlaps(texts, reference).is_empty()


def test_min_shared_requires_several_ngrams_but_not_for_short_items() -> None:
    prompt = words(PROMPT_40)
    texts = pl.Series([" ".join(prompt[:15]), " ".join(prompt[:20]), f"Trivia: {SHORT_QUESTION}"])  # 3 / 8 / whole
    out = find_overlaps(texts, REFERENCE, min_shared=5)
    assert out.select("row", "reference_row", "shared_ngrams").rows() == [(1, 0, 8), (2, 3, 1)]


def test_sparse_hits_keep_their_row_across_batch_boundaries() -> None:
    rng = random.Random(7)
    vocabulary = sorted({w for text in UNRELATED for w in words(text)})
    texts = [" ".join(rng.choices(vocabulary, k=rng.randint(15, 60))) for _ in range(2_000)]
    planted = {0: 0, 63: 1, 64: 2, 127: 3, 1_024: 1, 1_333: 0, 1_999: 2}
    for row, item in planted.items():
        texts[row] = f"{texts[row][:40]} {REFERENCE[item]} {texts[row][-40:]}"
    texts[1_000] = None  # a null among them shifts nothing
    texts_series = pl.Series(texts)
    expected = find_overlaps(texts_series, REFERENCE, batch_size=10_000)
    assert expected.select("row", "reference_row").rows() == sorted(planted.items())
    for batch_size in (7, 64, 100, 1_999):
        assert find_overlaps(texts_series, REFERENCE, batch_size=batch_size).equals(expected)


def test_deterministic_and_independent_of_hash_quality(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = pl.Series(
        [*UNRELATED, replace_at(PROMPT_40, (3, 30)), PASSAGE.lower(), f"Quiz: {SHORT_QUESTION}", TRAIN_SPEED]
    )
    first = find_overlaps(texts, REFERENCE)
    assert first.equals(find_overlaps(texts, REFERENCE))
    assert first.get_column("row").to_list() == [4, 5, 6, 7]

    # every word hashed to 0: every gram of a length collides with every other, and only the string verification
    # separates real overlaps from collisions, so the result must not change
    tokenize = decontaminate._tokenize

    def colliding(series: pl.Series) -> decontaminate._Tokens:
        tokens = tokenize(series)
        return decontaminate._Tokens(tokens.words, tokens.start, np.zeros_like(tokens.hashes))

    monkeypatch.setattr(decontaminate, "_tokenize", colliding)
    # (with every hash equal, one hash holds every item: the per-gram candidate cap would look at 16 of them)
    monkeypatch.setattr(decontaminate, "MAX_ITEMS_PER_GRAM", 10**9)
    assert find_overlaps(texts, REFERENCE).equals(first)


def test_invalid_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        find_overlaps(pl.Series(["a"]), REFERENCE, n=0)
    with pytest.raises(ValueError, match=">= 1"):
        find_overlaps(pl.Series(["a"]), REFERENCE, batch_size=0)


def test_a_gram_held_by_thousands_of_items_is_still_found_with_bounded_candidates():
    stock = "please could you tell me how to reset the password on my account today"
    reference = pl.Series([f"ticket {i}: {stock}" for i in range(3 * decontaminate.MAX_ITEMS_PER_GRAM)])
    texts = pl.Series([f"hello, {stock} thanks", "an unrelated question about shipping times to Spain"])
    found = find_overlaps(texts, reference, n=13)
    assert found["row"].to_list() == [0]
    assert found["reference_row"][0] < decontaminate.MAX_ITEMS_PER_GRAM  # among the items looked at
    assert found["shared_ngrams"][0] >= 1


# ------------------------------------------------------------------------------------------------------------
# templates shared by many rows versus a leaked held-out prompt

LEETCODE_STUB = (
    "# Definition for a binary tree node.\n# class TreeNode:\n#     def __init__(self, x):\n#         self.val = x\n"
    "#         self.left = None\n#         self.right = None\nclass Solution:\n"
)
TREE_TASKS = [
    "Given the root of a binary tree, return its maximum depth.",
    "Given the root of a binary tree, return the inorder traversal of its nodes' values.",
    "Given a binary tree, determine if it is height-balanced.",
    "Given the root of a binary tree, invert the tree, and return its root.",
    "Given the roots of two binary trees p and q, write a function to check if they are the same or not.",
    "Given the root of a binary tree, return the level order traversal of its nodes' values.",
    "Given a binary tree, find its minimum depth: the number of nodes along the shortest path to a leaf.",
    "Given the root of a binary tree, return the sum of all left leaves.",
    "Given a binary search tree, find the lowest common ancestor of two given nodes in it.",
    "Given the root of a binary tree, return all root-to-leaf paths in any order.",
]


HELD_OUT_TREE_TASKS = [
    "Given the root of a binary tree, flatten the tree into a linked list in preorder.",
    "Given the root of a binary tree, return the zigzag level order traversal of its nodes.",
    "Given a binary tree, count the number of nodes whose value equals the sum of their descendants.",
    "Given the root of a binary tree, find the maximum path sum of any non-empty path.",
    "Given the root of a binary tree, serialize it to a string and deserialize it back.",
    "Given a binary tree where every node has a value 0 or 1, prune the subtrees without a 1.",
]


def stub_rows(count: int, offset: int = 0) -> list[str]:
    """LeetCode-style prompts: the same class stub, a problem number, then a task (train tasks at offset 0,
    held-out tasks at offset >= 100: the stub is all they share)."""
    tasks = HELD_OUT_TREE_TASKS if offset >= 100 else TREE_TASKS
    return [f"{LEETCODE_STUB}Problem {offset + i}: {tasks[i % len(tasks)]}" for i in range(count)]


def test_a_stub_shared_by_30_rows_is_a_template_not_a_leak() -> None:
    texts = pl.Series(stub_rows(30) + UNRELATED)
    reference = pl.Series(stub_rows(6, offset=100))
    strict = find_overlaps(texts, reference)
    assert strict.height == 30  # today: every stub row "leaks"
    detailed = decontaminate.find_overlaps_detailed(texts, reference, max_documents=10)
    assert detailed.hits.is_empty()
    assert detailed.spared_by_documents == 30 and detailed.spared_by_coverage == 0
    assert detailed.templates.height > 0
    assert (detailed.templates.get_column("documents") == 36).all()  # 30 texts + 6 items
    assert "definition for a binary tree node class treenode def init self x self" in " | ".join(
        detailed.templates.get_column("gram")
    )


def test_a_held_out_prompt_pasted_into_a_stub_row_still_hits() -> None:
    leaked = PROMPT_40
    texts = pl.Series([*stub_rows(30), f"{LEETCODE_STUB}Before that: {leaked} Thanks!", *UNRELATED])
    reference = pl.Series([*stub_rows(6, offset=100), leaked])
    out = find_overlaps(texts, reference, max_documents=10)
    assert out.get_column("row").to_list() == [30]
    assert out.get_column("reference_row").to_list() == [6]
    assert "bakery" in out.get_column("matched_ngram").item()


def test_the_bound_counts_documents_not_texts() -> None:
    """Twelve turns of one conversation holding the stub are one document: 12 + 1 <= 13, no template."""
    texts = pl.Series(stub_rows(12))
    reference = pl.Series(stub_rows(1, offset=100))
    one_document = np.zeros(12, dtype=np.int64)
    assert find_overlaps(texts, reference, max_documents=10, text_documents=one_document).height == 12
    assert find_overlaps(texts, reference, max_documents=10).is_empty()  # 12 documents + 1


def test_templates_over_the_bound_in_one_batch_and_across_batches_give_the_same_result() -> None:
    texts = pl.Series([*stub_rows(30), f"{PROMPT_40} again", *stub_rows(5, offset=50)])
    reference = pl.Series([*stub_rows(3, offset=100), PROMPT_40])
    whole = decontaminate.find_overlaps_detailed(texts, reference, max_documents=10)
    small = decontaminate.find_overlaps_detailed(texts, reference, max_documents=10, batch_size=4)
    assert whole.hits.equals(small.hits)
    assert whole.hits.get_column("row").to_list() == [30]
    assert whole.templates.equals(small.templates)
    assert whole.strict_rows.sort().equals(small.strict_rows.sort())
    assert whole.spared_by_documents == small.spared_by_documents == 35


def test_min_coverage_spares_one_shared_run_of_a_long_prompt_but_not_a_copy() -> None:
    long_prompt = f"{PASSAGE} {PROMPT_40} {TRAIN_SPEED}"  # ~110 words, ~98 13-grams
    one_run = " ".join(words(long_prompt)[20:33])  # exactly one 13-word run of it
    texts = pl.Series([f"Quote: {one_run}.", f"Please solve: {long_prompt}"])
    reference = pl.Series([long_prompt])
    assert find_overlaps(texts, reference).height == 2
    detailed = decontaminate.find_overlaps_detailed(texts, reference, min_coverage=0.5)
    assert detailed.hits.get_column("row").to_list() == [1]
    assert detailed.spared_by_coverage == 1 and detailed.spared_by_documents == 0


def test_template_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="max_documents"):
        find_overlaps(pl.Series(["a"]), pl.Series(["b"]), max_documents=0)
    with pytest.raises(ValueError, match="min_coverage"):
        find_overlaps(pl.Series(["a"]), pl.Series(["b"]), min_coverage=1.5)
    with pytest.raises(ValueError, match="text_documents"):
        find_overlaps(pl.Series(["a", "b"]), pl.Series(["b"]), text_documents=np.zeros(1))


def chat(user: str, assistant: str = "Here is a solution with an explanation of each step.") -> list[dict]:
    return [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]


def assigned_frame(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "split": [split for split, _ in rows],
            "example_id": [f"ex{i:03d}" for i in range(len(rows))],
            "messages": [chat(prompt) for _, prompt in rows],
        }
    )


def test_train_rows_keep_their_stub_lose_a_pasted_held_out_prompt_and_a_pasted_benchmark_item() -> None:
    from ftdata_assets.transforms.contamination import contaminated_train_rows
    from ftdata_assets.transforms.contamination import decontaminate as decon
    from ftdata_assets.transforms.settings import DecontaminationConfig

    benchmark_item = TRAIN_SPEED
    rows = [("train", p) for p in stub_rows(30)]
    rows += [("validation", p) for p in stub_rows(4, offset=100)] + [("test", p) for p in stub_rows(2, offset=104)]
    rows += [("test", PROMPT_40)]
    rows += [("train", f"My teacher gave us this: {PROMPT_40} Can you check my answer of 620 dollars?")]  # 37
    rows += [("train", f"{LEETCODE_STUB}{benchmark_item}")]  # 38: a benchmark item inside a stub row
    rows += [("train", text) for text in UNRELATED]
    assigned = assigned_frame(rows)
    benchmarks = pl.DataFrame({"benchmark": ["gsm-like.jsonl"], "item": [0], "text": [benchmark_item]})

    strict = contaminated_train_rows(assigned, benchmarks, max_ngram_docs=0)  # the rule off: today's result
    assert strict.height == 32
    result = decon(assigned, benchmarks, DecontaminationConfig())
    assert dict(zip(result.hits["row"], result.hits["contaminated_by"], strict=True)) == {
        37: "held-out:test",
        38: "gsm-like.jsonl",
    }
    assert result.counts["benchmark"] == 1 and result.counts["held_out"] == 1
    assert result.counts["held_out_spared_by_doc_frequency"] == 30
    assert result.counts["held_out_spared_by_coverage"] == 0
    assert result.counts["max_ngram_docs_used"] == 10 and result.counts["documents"] == 43
    assert result.counts["top_templates"][0]["documents"] == 36
    # the default keyword arguments are the params defaults: the existing call site gets the template rule
    assert contaminated_train_rows(assigned, benchmarks).equals(result.hits)


def test_a_benchmark_template_still_rejects_every_row_holding_it() -> None:
    """The benchmark check stays strict: a benchmark item in 30 train rows is 30 contaminated rows."""
    from ftdata_assets.transforms.contamination import decontaminate as decon

    rows = [("train", f"{PASSAGE} Answer in one sentence, version {i}.") for i in range(30)]
    rows += [("test", text) for text in UNRELATED]
    benchmarks = pl.DataFrame({"benchmark": ["reading.jsonl"], "item": [3], "text": [PASSAGE]})
    result = decon(assigned_frame(rows), benchmarks)
    assert result.hits.height == 30 and set(result.hits["contaminated_by"]) == {"reading.jsonl"}


# ------------------------------------------------------------------------------------------------------------
# Chinese and Japanese: no spaces between words, so each character is a word

HELD_OUT_ZH = "請幫我規劃一個三天兩夜的花蓮行程，包含太魯閣國家公園和七星潭，預算每人一萬元以內。"
HELD_OUT_JA = "来週の月曜日までに新しい社員向けの研修資料を作りたいので、構成案を五つの項目で提案してください。"


def test_cjk_characters_are_words_and_other_scripts_are_not_split() -> None:
    texts = pl.Series(["如何從台北車站到淡水？", "コーヒーを2杯ください", "ｶﾀｶﾅ", "한국어 문장입니다", "GPT-4は便利"])
    assert normalize_for_decontamination(texts).to_list() == [
        "如 何 從 台 北 車 站 到 淡 水",
        "コ ー ヒ ー を 2 杯 く だ さ い",
        "カ タ カ ナ",  # NFKC first: half-width katakana folded
        "한국어 문장입니다",  # Korean spaces its words
        "gpt 4 は 便 利",
    ]
    assert len(words(HELD_OUT_ZH)) == 38  # one word per character, punctuation dropped


def test_a_pasted_chinese_or_japanese_held_out_prompt_is_caught_and_a_shared_short_phrase_is_not() -> None:
    from ftdata_assets.transforms.contamination import decontaminate as decon

    rows = [("test", HELD_OUT_ZH), ("validation", HELD_OUT_JA)]
    rows += [("train", f"朋友傳給我這個問題，你可以幫忙嗎？\n\n{HELD_OUT_ZH}")]  # 2: pasted after a framing line
    rows += [("train", f"同僚から頼まれました。{HELD_OUT_JA}よろしくお願いします。")]  # 3
    # 4, 5: the same trip and the same kind of request, sharing phrases of 9 and 8 characters only
    rows += [("train", "我想知道三天兩夜的花蓮行程大概要花多少錢，交通方式有哪些選擇？")]
    rows += [("train", "新しい社員向けの研修で使えるアイスブレイクのゲームを三つ教えてください。")]
    rows += [("train", text) for text in UNRELATED]
    no_benchmarks = pl.DataFrame(schema={"benchmark": pl.String, "item": pl.Int64, "text": pl.String})
    result = decon(assigned_frame(rows), no_benchmarks)
    assert dict(zip(result.hits["row"], result.hits["contaminated_by"], strict=True)) == {
        2: "held-out:test",
        3: "held-out:validation",
    }
    details = result.hits["contamination_detail"].to_list()
    assert details[0].endswith('26 shared run(s) of 13+ words, e.g. "請 幫 我 規 劃 一 個 三 天 兩 夜 的 花"')
    assert '"来 週 の 月 曜 日 ま で に 新 し い 社"' in details[1]


def test_short_cjk_questions_match_whole_only_from_min_words_characters() -> None:
    """Against benchmarks a short item is compared whole: a 10-character question inside a text matches, a
    shared 6-character phrase does not."""
    reference = pl.Series(["如何從台北車站到淡水？", "淡水有什麼好吃的？"])
    texts = pl.Series(["請問如何從台北車站到淡水？謝謝", "台北車站附近有什麼好吃的？", "我想去淡水看夕陽"])
    hits = find_overlaps(texts, reference)
    assert hits["row"].to_list() == [0] and hits["reference_row"].to_list() == [0]
