"""Prompt-level comparison: which rows ask the same thing, and whether their answers agree or contradict.

Pure polars/numpy (no Dagster). Used by `deduplicate` after whole-conversation dedup, for two jobs:
- dedup keyed on the user turns: the same question answered the same way twice (greetings and sign-offs
  differ, so the conversations are not near-duplicates) over-represents that question;
- contradictions: the same question answered in ways that cannot both be right teach the model to guess.

Same question ("near-identical prompts")
    The user turns are normalized (`normalize_for_dedup`) and cut into tokens (`TOKEN_PATTERN`: word runs
    joined by `-`, `.`, `'`, `/`, so "E-330", "list.sort" and "what's" stay one token). Tokens holding a
    digit are *anchors* (error codes, amounts, order numbers, years): two prompts can only be the same
    question if their anchor sets are equal, since "error E-330" and "error E-518", or "25% off" and "10% off",
    are different questions with rightly different answers. The other tokens minus `STOPWORDS` (function
    words, greetings, thanks) are the *content words*. Two prompts are the same question when the anchors
    are equal and the content-word sets have a Jaccard similarity >= `threshold`, estimated with the same
    MinHash-LSH and clique clustering as near-dup (`near_duplicate_clusters` on the sorted content words with
    1-word shingles), so a chain of rewordings does not merge unrelated prompts. A prompt with no content
    word ("hi", "?") is the same question as nothing.
    Measured limit: synonyms are different words ("outdoors" / "outside" leaves 4 of 6 words shared, J = 0.67,
    below the default 0.8). Lowering the threshold finds more rewordings and more false matches; the optional
    semantic path (`semantic_prompt_clusters`, `dedup.semantic` in params.yaml, the `semantic` extra) is the
    fix for paraphrases: prompts whose sentence embeddings have cosine >= its threshold, anchors still equal.

Answers disagree (`answer_conflict`), checked for every pair in a prompt cluster:
- `polarity`: one answer opens with yes and the other with no ("Generally yes." / "No. Metformin must never
  ..."; see `YES_PATTERN` / `NO_PATTERN`);
- `numbers`: both answers state numbers and the sets differ (212 °F vs 100 °F, 30 days vs 14 days); numbers
  that also appear in the prompt are ignored (they echo the question);
- `refusal`: one answer refuses or says the source does not say, and the other answers (rows tagged
  `refusal` by the quality step).
Answers that differ only in wording (word Jaccard below `answer_agreement`) are neither duplicates nor
contradictions: both are kept, as legitimate variety.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from ftdata_assets.transforms.dedup import exact_duplicate_clusters, near_duplicate_clusters, normalize_for_dedup
from ftdata_assets.transforms.semantic_dedup import semantic_duplicate_clusters

TOKEN_PATTERN = r"\w+(?:[-.'’/]\w+)*"

_STOPWORD_TEXT = """
    a an the and or but if then so as at by for from in into of off on onto to up with within without over
    under about after before during between through is are was were be been being am do does did done doing
    have has had having can could will would shall should may might must i me my mine myself you your yours
    we us our ours he him his she her it its they them their this that these those there here what what's
    which who whom whose when where why how any some all each every no not please pls plz hi hello hey dear
    thanks thank thx ty cheers ok okay yes good morning evening afternoon there quick question sorry bother
    just really very also too again still now get got i'm i've it's that's there's can't don't doesn't
    advance appreciated help any idea anyone someone
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())
"""Function words, greetings and courtesies: left out of the content words that decide "same question"."""

YES_PATTERN = re.compile(
    r"^\W*(?:(?:generally|usually|mostly|actually|well|short\s+answer|in\s+short|technically|absolutely)\W+)?"
    r"(?:yes|yep|yeah|correct|that's\s+right|it\s+is|it\s+does|you\s+can)\b",
    re.IGNORECASE,
)
NO_PATTERN = re.compile(
    r"^\W*(?:(?:generally|usually|mostly|actually|well|short\s+answer|in\s+short|technically|unfortunately)\W+)?"
    r"(?:no\b(?!\s+(?:problem|worries|need\s+to\s+worry))|nope\b|not\s+(?:really|at\s+all)\b|incorrect\b|"
    r"it\s+is\s+not\b|it\s+isn't\b|it\s+does\s+not\b|it\s+doesn't\b|you\s+can(?:not|'t)\b)",
    re.IGNORECASE,
)
NUMBER_PATTERN = re.compile(r"\d+(?:[.,]\d+)*")


def prompt_tokens(prompts: pl.Series) -> pl.DataFrame:
    """`anchors` (sorted distinct tokens with a digit, joined by a space) and `content` (sorted distinct
    content words, joined by a space) per prompt."""
    tokens = normalize_for_dedup(prompts).str.extract_all(TOKEN_PATTERN).list.eval(pl.element().str.strip_chars("'’"))
    frame = pl.DataFrame({"tokens": tokens})
    has_digit = pl.element().str.contains(r"\d")
    return frame.select(
        anchors=pl.col("tokens").list.eval(pl.element().filter(has_digit)).list.unique().list.sort().list.join(" "),
        content=pl.col("tokens")
        .list.eval(pl.element().filter(~has_digit & ~pl.element().is_in(list(STOPWORDS))))
        .list.unique()
        .list.sort()
        .list.join(" "),
    )


CANDIDATE_MARGIN = 0.1
"""MinHash finds candidates at `threshold - CANDIDATE_MARGIN`; exact Jaccard then decides. Prompts have few
words, so the MinHash estimate alone is too noisy (a 5-of-7-word overlap, J = 0.71, is estimated >= 0.8 often
enough to merge "capital of Canada" with "capital of Chile")."""


def prompt_clusters(
    prompts: pl.Series, threshold: float, *, num_perm: int = 128, seed: str = "ftdata-dedup-v1"
) -> pl.Series:
    """A cluster id per row (null for a prompt with no content word); equal ids = the same question: equal
    anchors, and content-word Jaccard >= `threshold` for every pair in the cluster (exact, not estimated)."""
    keys = prompt_tokens(prompts)
    content = keys.get_column("content")
    candidates = near_duplicate_clusters(
        content, max(threshold - CANDIDATE_MARGIN, 0.0), num_perm=num_perm, shingle_size=1, seed=seed
    )
    groups = keys.with_columns(group=pl.lit(candidates) + pl.lit("|") + pl.col("anchors")).with_row_index("row")
    with_words = groups.filter(pl.col("content") != "")
    distinct_contents = pl.col("content").n_unique().over("group")
    single = with_words.filter(distinct_contents == 1)
    labels = pl.repeat(None, keys.height, dtype=pl.String, eager=True).alias("prompt_cluster")
    labels = labels.scatter(single.get_column("row"), single.get_column("group"))
    # one list per group instead of a frame per group: iterating a group_by cost more than the linkage itself
    multi = with_words.filter(distinct_contents > 1).group_by("group", maintain_order=True).agg("row", "content")
    rows: list[int] = []
    subs: list[str] = []
    for group, members, contents in multi.iter_rows():
        for row, sub in _complete_linkage(list(zip(members, contents, strict=True)), threshold):
            rows.append(row)
            subs.append(f"{group}#{sub}")
    return labels.scatter(rows, pl.Series(subs, dtype=pl.String))


def semantic_prompt_clusters(
    prompts: pl.Series, threshold: float, embed: Callable[[list[str]], np.ndarray]
) -> pl.Series:
    """Like `prompt_clusters`, with embedding cosine >= `threshold` instead of content-word Jaccard (cliques,
    see `semantic_dedup`); numbers and codes must still be equal, and a prompt with no content word matches
    nothing. `embed` maps texts to vectors (`semantic_dedup.embed_texts` with a model of the extra)."""
    keys = prompt_tokens(prompts)
    embeddings = embed(prompts.fill_null("").to_list())
    clusters = semantic_duplicate_clusters(embeddings, threshold, ids=exact_duplicate_clusters(prompts))
    return keys.select(
        pl.when(pl.col("content") != "")
        .then(pl.lit(clusters) + pl.lit("|") + pl.col("anchors"))
        .alias("prompt_cluster")
    ).to_series()


def _complete_linkage(members: list[tuple[int, str]], threshold: float) -> list[tuple[int, int]]:
    """(row, sub-cluster) for the members of one candidate group: taken in content order, a member joins the
    first sub-cluster whose every distinct content it matches with Jaccard >= threshold, else starts one."""
    clusters: list[list[set[str]]] = []
    labels = []
    for row, content in sorted(members, key=lambda member: (member[1], member[0])):
        words = set(content.split())
        for index, cluster in enumerate(clusters):
            if all(len(words & other) / len(words | other) >= threshold for other in cluster):
                cluster.append(words)
                labels.append((row, index))
                break
        else:
            clusters.append([words])
            labels.append((row, len(clusters) - 1))
    return labels


def _polarity(answer: str) -> int:
    if NO_PATTERN.search(answer):
        return -1
    if YES_PATTERN.search(answer):
        return 1
    return 0


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in NUMBER_PATTERN.findall(text)}


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def answer_conflict(prompt: str, answer_a: str, answer_b: str, refusal_a: bool, refusal_b: bool) -> list[str]:
    """The ways two answers to the same prompt contradict each other (empty = they do not)."""
    return _conflicts(_numbers(prompt), _answer_features(answer_a, refusal_a), _answer_features(answer_b, refusal_b))


_AnswerFeatures = tuple[int, set[str], bool]
"""What `answer_conflict` looks at in one answer: polarity, the numbers it states, whether it is a refusal."""


def _answer_features(answer: str, refusal: bool) -> _AnswerFeatures:
    return _polarity(answer), _numbers(answer), refusal


def _conflicts(asked: set[str], a: _AnswerFeatures, b: _AnswerFeatures) -> list[str]:
    """`answer_conflict` from the prompt's numbers and each answer's features."""
    (polarity_a, stated_a, refusal_a), (polarity_b, stated_b, refusal_b) = a, b
    kinds = []
    if polarity_a * polarity_b < 0:
        kinds.append("polarity")
    numbers_a, numbers_b = stated_a - asked, stated_b - asked
    if numbers_a and numbers_b and numbers_a != numbers_b:
        kinds.append("numbers")
    if refusal_a != refusal_b:
        kinds.append("refusal")
    return kinds


def answer_similarity(answer_a: str, answer_b: str) -> float:
    """Jaccard similarity of the two answers' word sets."""
    words_a, words_b = _words(answer_a), _words(answer_b)
    union = words_a | words_b
    return len(words_a & words_b) / len(union) if union else 1.0


CONFLICT_KINDS: tuple[str, ...] = ("polarity", "numbers", "refusal")


def cluster_conflicts(
    clusters: pl.Series,
    prompts: pl.Series,
    answers: pl.Series,
    refusals: pl.Series,
    kinds: Sequence[str] = CONFLICT_KINDS,
) -> pl.DataFrame:
    """Per row: `conflict` (sorted distinct conflict kinds, among `kinds`, of its prompt cluster, joined by ",";
    null when the cluster has none). Python runs only over clusters with two or more members."""
    unknown = set(kinds) - set(CONFLICT_KINDS)
    if unknown:
        raise ValueError(f"unknown contradiction kinds {sorted(unknown)}; known: {list(CONFLICT_KINDS)}")
    frame = pl.DataFrame(
        {"cluster": clusters, "prompt": prompts, "answer": answers, "refusal": refusals}
    ).with_row_index("row")
    multi = frame.filter(pl.col("cluster").is_not_null() & (pl.len().over("cluster") > 1))
    conflicts: dict[str, str] = {}
    grouped = multi.group_by("cluster", maintain_order=True).agg("prompt", "answer", "refusal")
    for cluster, member_prompts, member_answers, member_refusals in grouped.iter_rows():
        members = list(zip(member_prompts, member_answers, member_refusals, strict=True))
        found = _cluster_kinds(members, set(kinds))
        if found:
            conflicts[str(cluster)] = ",".join(sorted(found))
    return frame.select(
        pl.col("cluster").replace_strict(conflicts, default=None, return_dtype=pl.String).alias("conflict")
    )


def _cluster_kinds(rows: list[tuple[str | None, str | None, bool | None]], wanted: set[str]) -> set[str]:
    """The kinds among `wanted` of `answer_conflict` over every pair (in row order) of one cluster's
    (prompt, answer, refusal) rows. The regexes run once per row instead of once per pair, and the pairs stop
    once every wanted kind is found: large clusters of one question made this step quadratic in regex calls."""
    asked = [_numbers(prompt or "") for prompt, _, _ in rows]
    features = [_answer_features(answer or "", bool(refusal)) for _, answer, refusal in rows]
    found: set[str] = set()
    for i, j in itertools.combinations(range(len(rows)), 2):
        found.update(_conflicts(asked[i], features[i], features[j]))
        if wanted <= found:
            break
    return found & wanted


def agreeing_with(winner_answers: Sequence[str], answers: Sequence[str], agreement: float) -> list[bool]:
    """Per row, whether its answer's word Jaccard with its cluster winner's answer is >= `agreement`."""
    return [answer_similarity(w or "", a or "") >= agreement for w, a in zip(winner_answers, answers, strict=True)]
