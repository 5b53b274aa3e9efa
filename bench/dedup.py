"""Benchmark `ftdata_assets.transforms.dedup.near_duplicate_clusters` against the usual datasketch recipe.

Run: `.venv/bin/python bench/dedup.py [--n 50000] [--threshold 0.8] [--num-perm 128] [--shingle-size 5]`

Builds a deterministic corpus (fixed seed) of chat-like texts: a user message and an assistant answer
assembled from sentence templates with many slot values (products, order numbers, names, places, steps...),
~80-200 words each. About 10% of the texts are planted near-duplicates: a copy of an original text edited
word by word (substitutions, insertions, deletions) until the exact Jaccard similarity of its word-shingle
set with the original reaches a target level (1.0, 0.95 ... 0.55), plus cosmetic noise that normalization removes
(case, doubled spaces, non-breaking spaces, fullwidth letters); level 1.0 gets only the cosmetic noise, i.e. an
exact duplicate after normalization. A tenth of the planted texts are copies of
another planted text (chains). Ground truth is the exact Jaccard of the shingle sets, computed in Python.

Then, in the same run and on the same texts (same normalization, words, shingles, num_perm, threshold):
- ours: `near_duplicate_clusters(texts, threshold, num_perm=..., shingle_size=...)` on the raw Series;
  reported pairs = every pair of texts sharing a cluster id;
- datasketch: per text `MinHash(num_perm)` + `update(shingle.encode())` per shingle, `MinHashLSH(threshold,
  num_perm).insert`, then `query` per text; reported pairs = every (text, query result) pair.
Printed: wall times, the ratio, recall on planted pairs whose exact Jaccard is >= threshold (overall and by
level), and precision = share of reported pairs whose exact Jaccard is >= threshold (any pair, planted or not).

Bench-only dependency: datasketch.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import unicodedata
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ftdata_assets.transforms.dedup import lsh_params, near_duplicate_clusters

WORD = re.compile(r"\w+")
SPACES = re.compile(r"\s+")

# --------------------------------------------------------------------------------------------------------
# corpus
# --------------------------------------------------------------------------------------------------------

PRODUCTS = ("router", "laptop", "phone", "tablet", "smartwatch", "printer", "monitor", "keyboard", "headset",
            "camera", "speaker", "thermostat", "doorbell", "vacuum", "blender", "coffee maker", "e-reader",
            "fitness tracker", "dishwasher", "microwave", "air purifier", "projector", "drone", "scanner",
            "webcam", "charger", "power bank", "hard drive", "graphics card", "game console", "soundbar",
            "baby monitor", "electric toothbrush", "hair dryer", "kettle", "toaster", "mixer", "heater",
            "fan", "lamp")  # fmt: skip
PARTS = ("battery", "screen", "power button", "charging port", "fan", "hinge", "speaker grille", "cable",
         "display panel", "touchpad", "firmware", "app", "bluetooth module", "wifi antenna", "lid", "filter",
         "motor", "sensor", "remote", "adapter", "lens", "microphone", "memory card slot", "cooling vent",
         "usb port", "headphone jack", "back cover", "keypad", "indicator light", "timer")  # fmt: skip
PROBLEMS = ("stopped working", "keeps overheating", "makes a clicking noise", "drains very fast",
            "will not turn on", "flickers randomly", "disconnects every few minutes", "shows an error code",
            "is stuck on the logo", "is cracked", "does not respond", "gets very loud", "smells like burning",
            "resets itself overnight", "is much slower than before", "will not pair", "leaks water",
            "shows the wrong time", "beeps constantly", "turns off after a minute", "cannot find the network",
            "has dead pixels", "charges only halfway", "lost all my settings", "freezes during updates")  # fmt: skip
NAMES = ("Maria", "James", "Aisha", "Chen", "Olga", "Pedro", "Fatima", "Liam", "Yuki", "Noah", "Sofia",
         "Arjun", "Emma", "Kwame", "Lena", "Mateo", "Ingrid", "Omar", "Priya", "Tomasz", "Zara", "Hugo",
         "Amara", "Ivan", "Nina", "Diego", "Hana", "Lucas", "Mei", "Samir", "Elena", "Felix", "Rosa",
         "Kenji", "Leila", "Oscar", "Tara", "Victor", "Wanjiru", "Yusuf")  # fmt: skip
CITIES = ("Lisbon", "Denver", "Osaka", "Nairobi", "Krakow", "Toronto", "Austin", "Lyon", "Bergen", "Pune",
          "Seville", "Leeds", "Porto", "Tucson", "Gdansk", "Quito", "Dublin", "Perth", "Malmo", "Bologna",
          "Halifax", "Cork", "Graz", "Tartu", "Accra", "Cusco", "Hobart", "Split", "Bilbao", "Utrecht")  # fmt: skip
STORES = ("online shop", "downtown store", "airport kiosk", "outlet", "partner retailer", "marketplace page",
          "mobile app", "flagship store", "warehouse sale", "refurbished section")  # fmt: skip
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "yesterday",
        "last week", "two days ago", "this morning", "last month")  # fmt: skip
ADJ = ("quick", "simple", "safe", "temporary", "permanent", "official", "manual", "automatic", "free",
       "faster", "cheaper", "better", "cleaner", "quieter", "newer", "older", "previous", "latest", "stable",
       "beta", "standard", "advanced", "basic", "full", "partial", "gentle", "careful", "secure", "remote",
       "local")  # fmt: skip
NOUNS = ("warranty", "receipt", "refund", "replacement", "repair", "update", "reset", "settings menu",
         "support ticket", "courier", "label", "invoice", "serial number", "model number", "manual",
         "troubleshooting guide", "service center", "technician", "subscription", "account", "password",
         "backup", "cloud sync", "power cycle", "diagnostic", "checklist", "shipping box", "deposit",
         "voucher", "discount", "exchange", "inspection", "recall notice", "spare part", "extension")  # fmt: skip
VERBS = ("restart", "unplug", "update", "reinstall", "clean", "recalibrate", "check", "replace", "photograph",
         "register", "reset", "disconnect", "reconnect", "charge", "inspect", "back up", "cancel", "confirm",
         "attach", "describe")  # fmt: skip
FILLER = ("honestly", "really", "again", "already", "still", "just", "also", "maybe", "please", "today",
          "now", "actually", "usually", "sometimes", "finally", "quickly", "carefully", "exactly")  # fmt: skip

USER_TEMPLATES = (
    "hi, I bought a {product} from your {store} {day} and the {part} {problem}.",
    "my {product} {problem} since {day}, order number {num}.",
    "hello, this is {name} from {city}. the {part} on my {product} {problem}.",
    "can you help me? the {product} I got as a gift {problem} and I {filler} tried to {verb} it.",
    "I already tried to {verb} the {part} twice but it {problem}.",
    "is this covered by the {noun}? the {part} {problem} after {num2} days.",
    "what should I do when the {product} {problem}? I live in {city}.",
    "the {adj} {noun} you sent {day} did not fix anything, the {part} {problem}.",
    "do I need the {noun} to get a {noun2} for my {product}?",
    "my partner {name} says the {part} {problem} every time we {verb} it.",
    "I want a {noun} for order {num}, the {product} {problem}.",
    "how long does a {noun} take in {city}? my {product} {problem}.",
    "please tell me how to {verb} the {part} of a {product} model {model}.",
    "I have {num2} units of the {product} at our office in {city} and all of them {problem}.",
)
ASSISTANT_TEMPLATES = (
    "I am sorry to hear that your {product} {problem}.",
    "thanks for reaching out, {name}.",
    "first, please {verb} the {product} and wait {num2} seconds before you {verb2} it again.",
    "if the {part} still {problem}, try a {adj} {noun} from the settings menu.",
    "your order {num} is covered by our {noun} for {num2} months.",
    "you can request a {noun} through the {store}; keep the {noun2} handy.",
    "our service center in {city} can {verb} the {part} within {num2} days.",
    "please do not {verb} the {part} yourself, because that may void the {noun}.",
    "a {adj} {noun} is usually enough when the {part} {problem}.",
    "I have opened support ticket {num} for you and a technician will {verb} the {product}.",
    "model {model} received a {adj} firmware update on {day} that fixes this.",
    "if you prefer, we can send a courier to {city} to collect the {product}.",
    "the {noun} will be credited to the card you used at the {store}.",
    "to {verb} the {part}, hold the power button for {num2} seconds until the light blinks.",
    "let me know if the {adj} {noun} worked, and I will {verb} your {noun2} right away.",
    "I cannot see order {num} in our system; could you {verb} the {noun} number?",
    "this sounds like a known issue with the {part} on the {product}, and a {noun} is the {adj} fix.",
    "for safety, {verb} the {product} before cleaning the {part}.",
    "the {noun} is free within {num2} days of purchase from the {store}.",
    "is there anything else I can help you with today, {name}?",
)


def fill(template: str, rng: random.Random) -> str:
    return template.format(
        product=rng.choice(PRODUCTS), part=rng.choice(PARTS), problem=rng.choice(PROBLEMS),
        name=rng.choice(NAMES), city=rng.choice(CITIES), store=rng.choice(STORES), day=rng.choice(DAYS),
        adj=rng.choice(ADJ), noun=rng.choice(NOUNS), noun2=rng.choice(NOUNS), verb=rng.choice(VERBS),
        verb2=rng.choice(VERBS), filler=rng.choice(FILLER), num=rng.randrange(100000, 999999),
        num2=rng.randrange(2, 90), model=f"{rng.choice('ABCDEFGHJKLMNPRSTX')}{rng.randrange(100, 9999)}",
    )  # fmt: skip


def chat_text(rng: random.Random) -> str:
    user = " ".join(fill(rng.choice(USER_TEMPLATES), rng) for _ in range(rng.randint(2, 4)))
    answer = " ".join(fill(rng.choice(ASSISTANT_TEMPLATES), rng) for _ in range(rng.randint(4, 8)))
    if rng.random() < 0.5:
        user, answer = user.capitalize(), answer.capitalize()
    return f"User: {user}\nAssistant: {answer}"


def normalize(text: str) -> str:
    return SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def shingles(text: str, k: int) -> set[str]:
    words = WORD.findall(normalize(text))
    if not words:
        return set()
    return {" ".join(words[i : i + k]) for i in range(max(len(words) - k + 1, 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


VOCAB = tuple(sorted({w for group in (PRODUCTS, PARTS, NAMES, CITIES, ADJ, NOUNS, VERBS, FILLER) for w in group}))
LEVELS = (1.0, 0.95, 0.9, 0.85, 0.82, 0.78, 0.7, 0.55)  # 1.0: cosmetic noise only


def cosmetic(text: str, rng: random.Random) -> str:
    """Noise that normalize_for_dedup removes: case, doubled / non-breaking spaces, fullwidth letters."""
    words = text.split(" ")
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(words))
        choice = rng.random()
        if choice < 0.4:
            words[i] = words[i].upper()
        elif choice < 0.7:
            words[i] = words[i] + " "
        elif choice < 0.85:
            words[i] = words[i] + "\u00a0"
        else:
            words[i] = "".join(chr(ord(c) + 0xFEE0) if "a" <= c <= "z" else c for c in words[i])
    return " ".join(words)


def near_copy(text: str, target: float, k: int, rng: random.Random) -> str:
    """Edit words until the shingle Jaccard with `text` is at most `target` (one edit at a time)."""
    original = shingles(text, k)
    words = text.split(" ")
    current = text
    while jaccard(original, shingles(current, k)) > target and len(words) > 2:
        i = rng.randrange(len(words))
        op = rng.random()
        if op < 0.6:
            words[i] = rng.choice(VOCAB)
        elif op < 0.8:
            words.insert(i, rng.choice(VOCAB + FILLER))
        else:
            del words[i]
        current = " ".join(words)
    return cosmetic(current, rng)


def build_corpus(n: int, k: int, seed: int) -> tuple[list[str], dict[int, int]]:
    """Texts and, for each planted text, the index of the text it was copied from."""
    rng = random.Random(seed)
    n_planted = n // 10
    texts = [chat_text(rng) for _ in range(n - n_planted)]
    parent: dict[int, int] = {}
    for _ in range(n_planted):
        planted = list(parent)
        # one in ten is a copy of a copy: chains
        source = rng.choice(planted) if planted and rng.random() < 0.1 else rng.randrange(n - n_planted)
        parent[len(texts)] = source
        texts.append(near_copy(texts[source], rng.choice(LEVELS), k, rng))
    order = list(range(n))
    rng.shuffle(order)  # planted copies are not next to their originals
    position = {old: new for new, old in enumerate(order)}
    return [texts[i] for i in order], {position[c]: position[p] for c, p in parent.items()}


# --------------------------------------------------------------------------------------------------------
# runs
# --------------------------------------------------------------------------------------------------------


def run_ours(texts: list[str], threshold: float, num_perm: int, k: int) -> tuple[float, set[tuple[int, int]]]:
    series = pl.Series("text", texts)
    start = time.perf_counter()
    clusters = near_duplicate_clusters(series, threshold, num_perm=num_perm, shingle_size=k)
    elapsed = time.perf_counter() - start
    groups = (
        pl.DataFrame({"cluster": clusters, "row": pl.int_range(len(texts), eager=True)})
        .group_by("cluster")
        .agg("row")
        .filter(pl.col("row").list.len() > 1)
        .get_column("row")
        .to_list()
    )
    return elapsed, {(a, b) for rows in groups for a, b in combinations(sorted(rows), 2)}


def run_datasketch(
    texts: list[str], threshold: float, num_perm: int, k: int, params: tuple[int, int] | None = None
) -> tuple[float, set[tuple[int, int]]]:
    from datasketch import MinHash, MinHashLSH

    start = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=params)
    sketches: dict[int, MinHash] = {}
    for i, text in enumerate(texts):
        words = WORD.findall(SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip())
        if not words:
            continue
        m = MinHash(num_perm=num_perm)
        for j in range(max(len(words) - k + 1, 1)):
            m.update(" ".join(words[j : j + k]).encode("utf-8"))
        lsh.insert(i, m)
        sketches[i] = m
    pairs = {(min(i, j), max(i, j)) for i, m in sketches.items() for j in lsh.query(m) if j != i}
    return time.perf_counter() - start, pairs


def level_of(similarity: float, threshold: float) -> str:
    cuts = sorted({threshold, *(c for c in (0.85, 0.9, 0.95) if c > threshold)})
    if similarity >= 1.0:
        return "1.0"
    for low, high in reversed(list(zip(cuts, [*cuts[1:], 1.0], strict=True))):
        if similarity >= low:
            return f"[{low:.2f},{high:.2f})"
    return f"<{threshold:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--shingle-size", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument(
        "--datasketch-ours-bands",
        action="store_true",
        help="also run datasketch with our bands x rows (candidates only, no verification)",
    )
    args = parser.parse_args()
    k, t = args.shingle_size, args.threshold

    start = time.perf_counter()
    texts, parent = build_corpus(args.n, k, args.seed)
    sets = [shingles(text, k) for text in texts]
    families: dict[int, set[int]] = defaultdict(set)
    root = {}
    for child in parent:
        node = child
        while node in parent:
            node = parent[node]
        root[child] = node
    for child, origin in root.items():
        families[origin].update((origin, child))
    planted = {}
    for members in families.values():
        for a, b in combinations(sorted(members), 2):
            planted[(a, b)] = jaccard(sets[a], sets[b])
    positives = {pair: s for pair, s in planted.items() if s >= t}
    words = sum(len(WORD.findall(text)) for text in texts) / len(texts)
    print(
        f"corpus: {len(texts)} texts, {words:.0f} words/text on average, {len(parent)} planted near-copies "
        f"in {len(families)} families, {len(planted)} planted pairs, {len(positives)} with exact Jaccard >= {t} "
        f"(built in {time.perf_counter() - start:.1f}s)"
    )
    bands, rows = lsh_params(t, args.num_perm)
    from datasketch.lsh import _optimal_param

    ds_bands, ds_rows = _optimal_param(t, args.num_perm, 0.5, 0.5)
    print(
        f"params: threshold={t} num_perm={args.num_perm} shingle_size={k}; ours bands x rows = {bands} x {rows} "
        f"+ verification, datasketch {ds_bands} x {ds_rows}"
    )

    runs = [("ours", run_ours), ("datasketch", run_datasketch)]
    if args.datasketch_ours_bands:
        runs.append(("ds+bands", lambda *a: run_datasketch(*a, params=(bands, rows))))
    results = {}
    for name, run in runs:
        elapsed, pairs = run(texts, t, args.num_perm, k)
        results[name] = elapsed
        found = {p for p in positives if p in pairs}
        correct = sum(1 for a, b in pairs if jaccard(sets[a], sets[b]) >= t)
        by_level: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for pair, s in positives.items():
            by_level[level_of(s, t)][0] += pair in found
            by_level[level_of(s, t)][1] += 1
        below = [p for p, s in planted.items() if s < t]
        false_planted = sum(1 for p in below if p in pairs)
        levels = "  ".join(f"{lv}: {f}/{n_} ({f / n_:.1%})" for lv, (f, n_) in sorted(by_level.items()))
        print(
            f"{name:>10}: {elapsed:7.2f}s  recall {len(found)}/{len(positives)} = {len(found) / len(positives):.1%}  "
            f"precision {correct}/{len(pairs)} = {correct / max(len(pairs), 1):.1%}  "
            f"planted pairs below threshold reported: {false_planted}/{len(below)}"
        )
        print(f"{'':>12}recall by exact Jaccard: {levels}")
    print(f"speed-up: datasketch / ours = {results['datasketch'] / results['ours']:.1f}x")


if __name__ == "__main__":
    main()
