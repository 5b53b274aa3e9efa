"""Benchmark `ftdata_assets.transforms.dedup.near_duplicate_clusters` against datasketch and rensa.

Run: `.venv/bin/python bench/dedup.py [--corpus generated|real] [--n 50000] [--threshold T] [--num-perm N]
[--shingle-size K] [--repeat R]`; threshold, num_perm and shingle size default to `params.yaml` `dedup:`.

--corpus generated (default): a deterministic corpus (fixed seed) of chat-like texts: a user message and an
assistant answer assembled from sentence templates with many slot values (products, order numbers, names,
places, steps...), ~80-200 words each. About 10% of the texts are planted near-duplicates: a copy of an
original text edited word by word (substitutions, insertions, deletions) until the exact Jaccard similarity
of its word-shingle set with the original reaches a target level (1.0, 0.95 ... 0.55), plus cosmetic noise
that normalization removes (case, doubled spaces, non-breaking spaces, fullwidth letters); level 1.0 gets
only the cosmetic noise, i.e. an exact duplicate after normalization. A tenth of the planted texts are copies
of another planted text (chains). Ground truth is the exact Jaccard of the shingle sets, computed in Python.

--corpus real [--real-path PATH ...] [--part tune|holdout|all]: real texts, each given (for a seeded
`--plant-share` of them) one lightly edited copy: 1..`--edits-per-50` (default 3) word edits per 50 words
(60% substitution by a word of the corpus, 20% insertion, 20% deletion), case changes and whitespace changes
(`light_edit`). Ground truth by construction: the positives are the (original, copy) pairs (recall); a
reported pair is correct if planted, or if the exact Jaccard of its normalized shingle sets is >= threshold
(a near-duplicate already in the real texts; the planted-only share is printed too). PATH is a ShareGPT
(`conversations`) or OpenAI (`messages`) JSONL file or folder (held out as a whole), or `offline`
(default): public text on this machine cut into chat-sized pieces, tune part = Python's pydoc topics and the
/usr/share/doc folders whose name hashes even, holdout part = the installed packages' METADATA descriptions and
the other /usr/share/doc folders. Parameters were tuned on the tune part only.

Then, in the same run and on the same texts (same normalization, words, shingles, num_perm, threshold):
- ours: `near_duplicate_clusters(texts, threshold, num_perm=..., shingle_size=...)` on the raw Series;
  reported pairs = every pair of texts sharing a cluster id;
- datasketch (its fast path): `MinHash.bulk` (one `update_batch` per text), `MinHashLSH.insertion_session`,
  then `query` per text; reported pairs = every (text, query result) pair;
- rensa: `RMinHash.from_token_sets`, `RMinHashLSH.insert_many` + `query_all`, candidates verified by
  estimated Jaccard >= threshold.
The baselines get the shingles from the same normalization in Python (part of their time). Printed: wall
and CPU seconds (ours runs two threads: CPU seconds are the fair comparison), the ratios, recall and precision.

Bench-only dependencies: datasketch, rensa.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path

import numpy as np
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
# real texts (--corpus real)
# --------------------------------------------------------------------------------------------------------

OFFLINE = "offline"
DOC_SUFFIXES = (".txt", ".md", ".rst", ".gz")
PARTS_OF = {"pydoc": "tune", "usr-share-doc-tune": "tune", "usr-share-doc-holdout": "holdout", "metadata": "holdout"}


def part_of_package(name: str) -> str:
    """tune or holdout for a /usr/share/doc package folder: the parity of the first byte of its name's blake2b."""
    return "tune" if hashlib.blake2b(name.encode(), digest_size=1).digest()[0] % 2 == 0 else "holdout"


def _chunks(document: str, rng: random.Random, low: int = 40, high: int = 400) -> list[str]:
    """A document cut at paragraph (else line) boundaries into chat-sized texts of about low..high words."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", document) if p.strip()]
    out, current, size, target = [], [], 0, rng.randint(low, high)
    for paragraph in paragraphs:
        current.append(paragraph)
        size += len(paragraph.split())
        if size >= target:
            out.append("\n\n".join(current))
            current, size, target = [], 0, rng.randint(low, high)
    if size >= low:
        out.append("\n\n".join(current))
    return out


def offline_documents() -> list[tuple[str, str]]:
    """(source, document) of real public text shipped on this machine: Python's pydoc topics, the long
    descriptions of the installed packages (METADATA) and /usr/share/doc (README, changelogs, copyright)."""
    import gzip
    import importlib.metadata
    import pydoc_data.topics

    docs = [("pydoc", text) for _, text in sorted(pydoc_data.topics.topics.items())]
    seen = set()
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: str(d.metadata.get("Name", ""))):
        name = str(dist.metadata.get("Name", "")).lower()
        body = dist.metadata.get_payload() or ""
        if name not in seen and len(body.split()) > 50:
            seen.add(name)
            docs.append(("metadata", body))
    for path in sorted(Path("/usr/share/doc").rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if not (path.suffix in DOC_SUFFIXES or path.name in ("copyright", "README", "NEWS", "changelog")):
            continue
        try:
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            package = path.relative_to("/usr/share/doc").parts[0]
            docs.append((f"usr-share-doc-{part_of_package(package)}", raw.decode("utf-8")))
        except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
            continue  # binary or not UTF-8: not text for this corpus
    return docs


def chat_texts(path: Path) -> tuple[list[str], int]:
    """One text per conversation of ShareGPT (`conversations`: from/value) or OpenAI (`messages`:
    role/content) JSONL lines, as the pipeline's `conversation_text` builds it ("role: content" per turn,
    system turns left out); also the number of lines that are not such a conversation."""
    import json

    roles = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant"}
    files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
    texts, bad = [], 0
    for file in files:
        with file.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                    turns = record.get("conversations") or record.get("messages") or []
                    parts = [
                        f"{roles.get(str(t.get('from', t.get('role'))).lower(), str(t.get('from', t.get('role'))))}: "
                        f"{t.get('value', t.get('content'))}"
                        for t in turns
                        if str(t.get("from", t.get("role"))).lower() != "system"
                        and isinstance(t.get("value", t.get("content")), str)
                    ]
                except (json.JSONDecodeError, AttributeError, TypeError):
                    parts = []
                if parts:
                    texts.append("\n".join(parts))
                else:
                    bad += 1
    return texts, bad


def real_texts(real_paths: Sequence[str], part: str, seed: int, max_texts: int) -> tuple[list[str], str]:
    """Distinct (after normalization) real texts of one part, at most max_texts (a seeded sample), and a
    description of where they came from. Chat JSONL files are held out as a whole: no parameter was tuned
    on them (they arrived after the tuning)."""
    rng = random.Random(seed)
    pool, described = [], []
    for real_path in real_paths:
        if real_path == OFFLINE:
            pool += [
                (PARTS_OF[source], chunk)
                for source, document in offline_documents()
                for chunk in _chunks(document, rng)
            ]
            described.append(
                "offline (tune: pydoc topics + /usr/share/doc folders of even name hash; holdout: installed "
                "packages' METADATA + the other /usr/share/doc folders)"
            )
        else:
            texts, bad = chat_texts(Path(real_path))
            pool += [("holdout", text) for text in texts]
            described.append(f"{real_path} ({len(texts)} conversations, {bad} lines not a conversation; holdout)")
    unique: dict[str, str] = {}
    for text_part, text in pool:
        if part in ("all", text_part) and len(WORD.findall(text)) >= 10:
            unique.setdefault(normalize(text), text)
    texts = list(unique.values())
    if len(texts) > max_texts:
        texts = rng.sample(texts, max_texts)
    return texts, f"{' + '.join(described)}, part {part}"


def light_edit(text: str, vocabulary: Sequence[str], rng: random.Random, max_edits_per_50: int) -> str:
    """The edit model of the real mode: 1..max_edits_per_50 word edits per 50 words (drawn once per text;
    60% substitution by a corpus word, 20% insertion, 20% deletion), then case changes (a whole-text case
    change or a few words recased) and whitespace changes (doubled spaces, tabs, newlines, non-breaking
    spaces), which normalization removes."""
    tokens = text.split()
    per_50 = rng.randint(1, max_edits_per_50)
    for _ in range(max(1, round(len(tokens) * per_50 / 50))):
        i = rng.randrange(len(tokens))
        op = rng.random()
        if op < 0.6:
            tokens[i] = rng.choice(vocabulary)
        elif op < 0.8:
            tokens.insert(i, rng.choice(vocabulary))
        elif len(tokens) > 10:
            del tokens[i]
    case = rng.random()
    if case < 0.2:
        tokens = [t.lower() for t in tokens]
    elif case < 0.3:
        tokens = [t.upper() for t in tokens]
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(tokens))
        tokens[i] = tokens[i].swapcase() if rng.random() < 0.5 else tokens[i].capitalize()
    out = []
    for token in tokens:
        out.append(token)
        out.append(rng.choices((" ", "  ", "\t", "\n", "\u00a0", " \n "), (90, 3, 2, 3, 1, 1))[0])
    return "".join(out).strip()


def plant_copies(texts: list[str], share: float, seed: int, max_edits_per_50: int) -> tuple[list[str], dict[int, int]]:
    """The texts plus a lightly edited copy of a seeded `share` of them, shuffled; planted row -> original row."""
    rng = random.Random(seed)
    vocabulary = sorted({w for text in texts[:2000] for w in text.split() if WORD.fullmatch(w)})
    originals = rng.sample(range(len(texts)), round(len(texts) * share))
    rows = list(texts)
    parent = {}
    for i in originals:
        parent[len(rows)] = i
        rows.append(light_edit(texts[i], vocabulary, rng, max_edits_per_50))
    order = list(range(len(rows)))
    rng.shuffle(order)
    position = {old: new for new, old in enumerate(order)}
    return [rows[i] for i in order], {position[c]: position[p] for c, p in parent.items()}


# --------------------------------------------------------------------------------------------------------
# runs: each returns (wall seconds, CPU seconds of the process, reported pairs)
# --------------------------------------------------------------------------------------------------------

Pairs = set[tuple[int, int]]


def _timed(work: Callable[[], Pairs]) -> tuple[float, float, Pairs]:
    wall, cpu = time.perf_counter(), time.process_time()
    pairs = work()
    return time.perf_counter() - wall, time.process_time() - cpu, pairs


def _tokens(texts: list[str], k: int) -> list[list[str]]:
    """The baselines' shingles: the same normalization, words and shingles as ours, in Python."""
    out = []
    for text in texts:
        words = WORD.findall(normalize(text))
        out.append([" ".join(words[j : j + k]) for j in range(max(len(words) - k + 1, 1))] if words else [])
    return out


def run_ours(texts: list[str], threshold: float, num_perm: int, k: int) -> tuple[float, float, Pairs]:
    series = pl.Series("text", texts)

    def work() -> Pairs:
        clusters = near_duplicate_clusters(series, threshold, num_perm=num_perm, shingle_size=k)
        groups = (
            pl.DataFrame({"cluster": clusters, "row": pl.int_range(len(texts), eager=True)})
            .group_by("cluster")
            .agg("row")
            .filter(pl.col("row").list.len() > 1)
            .get_column("row")
            .to_list()
        )
        return {(a, b) for rows in groups for a, b in combinations(sorted(rows), 2)}

    return _timed(work)


def run_datasketch(
    texts: list[str], threshold: float, num_perm: int, k: int, params: tuple[int, int] | None = None
) -> tuple[float, float, Pairs]:
    """datasketch's fast path: `MinHash.bulk` (one `update_batch` per text, permutations set up once),
    `MinHashLSH.insertion_session`, then `query` per text."""
    from datasketch import MinHash, MinHashLSH

    def work() -> Pairs:
        tokens = _tokens(texts, k)
        keys = [i for i, t in enumerate(tokens) if t]
        sketches = MinHash.bulk([[s.encode("utf-8") for s in tokens[i]] for i in keys], num_perm=num_perm)
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=params)
        with lsh.insertion_session() as session:
            for key, sketch in zip(keys, sketches, strict=True):
                session.insert(key, sketch)
        return {(min(i, j), max(i, j)) for i, m in zip(keys, sketches, strict=True) for j in lsh.query(m) if j != i}

    return _timed(work)


def rensa_bands(threshold: float, num_perm: int) -> int:
    """Bands for rensa's LSH (bands x rows must equal num_perm): the divisor of num_perm that minimizes the
    same recall-weighted error integral as our `lsh_params`."""
    grid = np.linspace(0.0, 1.0, 2001)
    below, above = grid[grid <= threshold], grid[grid >= threshold]

    def error(bands: int) -> float:
        rows = num_perm // bands
        fp = np.trapezoid(1 - (1 - below**rows) ** bands, below)
        fn = np.trapezoid((1 - above**rows) ** bands, above)
        return 0.05 * fp + 0.95 * fn

    return min((b for b in range(1, num_perm + 1) if num_perm % b == 0), key=error)


def run_rensa(texts: list[str], threshold: float, num_perm: int, k: int) -> tuple[float, float, Pairs]:
    """rensa's batch path: `RMinHash.from_token_sets` (full-set R-MinHash, built in Rust in one call),
    `RMinHashLSH.insert_many` and `query_all`, then the candidates verified by estimated Jaccard, as
    rensa's own deduplicator does."""
    from rensa import RMinHash, RMinHashLSH

    def work() -> Pairs:
        tokens = _tokens(texts, k)
        keys = [i for i, t in enumerate(tokens) if t]
        sketches = RMinHash.from_token_sets([tokens[i] for i in keys], num_perm=num_perm, seed=42)
        lsh = RMinHashLSH(threshold, num_perm, rensa_bands(threshold, num_perm))
        lsh.insert_many(sketches)
        pairs = set()
        for a, candidates in enumerate(lsh.query_all(sketches)):
            for b in candidates:
                if b > a and sketches[a].jaccard(sketches[b]) >= threshold:
                    pairs.add((keys[a], keys[b]))
        return pairs

    return _timed(work)


def best_of(repeat: int, run: Callable, *args: object) -> tuple[float, float, Pairs]:
    """The fastest of `repeat` runs (by CPU seconds; its wall time with it): the machine is shared, and
    other processes inflate CPU time too (cache and memory contention), the Python-heavy baselines most."""
    results = [run(*args) for _ in range(repeat)]
    return min(results, key=lambda result: result[1])


def level_of(similarity: float, threshold: float) -> str:
    cuts = sorted({threshold, *(c for c in (0.85, 0.9, 0.95) if c > threshold)})
    if similarity >= 1.0:
        return "1.0"
    for low, high in reversed(list(zip(cuts, [*cuts[1:], 1.0], strict=True))):
        if similarity >= low:
            return f"[{low:.2f},{high:.2f})"
    return f"<{threshold:.2f}"


def families_of(parent: dict[int, int]) -> dict[int, set[int]]:
    """Planted rows grouped with the original they descend from (through chains)."""
    families: dict[int, set[int]] = defaultdict(set)
    for child in parent:
        node = child
        while node in parent:
            node = parent[node]
        families[node].update((node, child))
    return families


def report_generated(args: argparse.Namespace, runs: dict[str, Callable]) -> None:
    k, t = args.shingle_size, args.threshold
    start = time.perf_counter()
    texts, parent = build_corpus(args.n, k, args.seed)
    sets = [shingles(text, k) for text in texts]
    families = families_of(parent)
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
    print_params(args)
    results = {}
    for name, run in runs.items():
        wall, cpu, pairs = best_of(args.repeat, run, texts, t, args.num_perm, k)
        results[name] = (wall, cpu)
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
            f"{name:>10}: wall {wall:7.2f}s cpu {cpu:7.2f}s  recall {len(found)}/{len(positives)} = "
            f"{len(found) / max(len(positives), 1):.1%}  precision {correct}/{len(pairs)} = "
            f"{correct / max(len(pairs), 1):.1%}  planted pairs below threshold reported: {false_planted}/{len(below)}"
        )
        print(f"{'':>12}recall by exact Jaccard: {levels}")
    print_speedups(results)


def report_real(args: argparse.Namespace, runs: dict[str, Callable]) -> None:
    """Ground truth by construction: the positives are the (original, lightly edited copy) pairs. A reported
    pair counts as correct if it is planted, or if its exact Jaccard (normalized word shingles) is >= the
    threshold (a near-duplicate already present in the real texts); the strict share of planted pairs among
    the reported ones is printed too."""
    k, t = args.shingle_size, args.threshold
    start = time.perf_counter()
    base, described = real_texts(args.real_path, args.part, args.seed, args.n)
    texts, parent = plant_copies(base, args.plant_share, args.seed, args.edits_per_50)
    positives = {(min(c, p), max(c, p)) for c, p in parent.items()}
    sets = [shingles(text, k) for text in texts]
    planted_j = sorted(jaccard(sets[a], sets[b]) for a, b in positives)
    words = sum(len(WORD.findall(text)) for text in texts) / len(texts)
    print(
        f"corpus: {described}: {len(base)} distinct real texts + {len(parent)} lightly edited copies "
        f"(1..{args.edits_per_50} word edits per 50 words, case, whitespace), {words:.0f} words/text on average; "
        f"exact Jaccard of the planted pairs at shingle size {k}: min {planted_j[0]:.2f}, "
        f"5th percentile {planted_j[len(planted_j) // 20]:.2f}, median {planted_j[len(planted_j) // 2]:.2f} "
        f"(built in {time.perf_counter() - start:.1f}s)"
    )
    print_params(args)
    results = {}
    for name, run in runs.items():
        wall, cpu, pairs = best_of(args.repeat, run, texts, t, args.num_perm, k)
        results[name] = (wall, cpu)
        found = positives & pairs
        other = sorted(jaccard(sets[a], sets[b]) for a, b in pairs - positives)
        natural = sum(1 for s in other if s >= t)
        wrong = len(pairs) - len(found) - natural
        below = other[: len(other) - natural]
        print(
            f"{name:>10}: wall {wall:7.2f}s cpu {cpu:7.2f}s  recall {len(found)}/{len(positives)} = "
            f"{len(found) / max(len(positives), 1):.1%}  precision {len(found) + natural}/{len(pairs)} = "
            f"{(len(found) + natural) / max(len(pairs), 1):.1%} (planted {len(found)}, natural near-duplicates "
            f"{natural}, wrong {wrong}; planted only: {len(found) / max(len(pairs), 1):.1%})"
        )
        if below:
            print(
                f"{'':>12}exact Jaccard of the wrong pairs: min {below[0]:.2f}, median {below[len(below) // 2]:.2f}, "
                f"max {below[-1]:.2f}; planted pairs missed: {len(positives - pairs)}"
            )
    print_speedups(results)


def print_params(args: argparse.Namespace) -> None:
    from datasketch.lsh import _optimal_param

    bands, rows = lsh_params(args.threshold, args.num_perm)
    ds_bands, ds_rows = _optimal_param(args.threshold, args.num_perm, 0.5, 0.5)
    rb = rensa_bands(args.threshold, args.num_perm)
    print(
        f"params: threshold={args.threshold} num_perm={args.num_perm} shingle_size={args.shingle_size}; ours "
        f"bands x rows = {bands} x {rows} + verification, datasketch {ds_bands} x {ds_rows}, rensa "
        f"{rb} x {args.num_perm // rb} + verification"
    )


def print_speedups(results: dict[str, tuple[float, float]]) -> None:
    wall, cpu = results["ours"]
    for name, (other_wall, other_cpu) in results.items():
        if name != "ours":
            print(f"speed-up: {name} / ours = {other_wall / wall:.1f}x wall, {other_cpu / cpu:.1f}x CPU seconds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("generated", "real"), default="generated")
    parser.add_argument(
        "--real-path",
        action="append",
        help=f"ShareGPT/OpenAI-messages JSONL file or folder; '{OFFLINE}' (default): text on this machine; repeatable",
    )
    parser.add_argument("--part", choices=("tune", "holdout", "all"), default="holdout")
    parser.add_argument("--plant-share", type=float, default=0.1, help="real mode: share of texts given an edited copy")
    parser.add_argument("--edits-per-50", type=int, default=3, help="real mode: at most this many word edits per 50")
    parser.add_argument("--n", type=int, default=50_000, help="generated: texts; real: at most this many real texts")
    parser.add_argument("--threshold", type=float, default=None, help="default: params.yaml dedup.near_threshold")
    parser.add_argument("--num-perm", type=int, default=None, help="default: params.yaml dedup.num_perm")
    parser.add_argument("--shingle-size", type=int, default=None, help="default: params.yaml dedup.shingle_size")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--repeat", type=int, default=1, help="run each side this many times, report the fastest")
    parser.add_argument("--skip", default="", help="comma-separated runs to leave out: datasketch,rensa")
    parser.add_argument(
        "--datasketch-ours-bands",
        action="store_true",
        help="also run datasketch with our bands x rows (candidates only, no verification)",
    )
    args = parser.parse_args()
    args.real_path = args.real_path or [OFFLINE]
    import yaml

    dedup = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())["dedup"]
    args.threshold = float(dedup["near_threshold"]) if args.threshold is None else args.threshold
    args.num_perm = int(dedup["num_perm"]) if args.num_perm is None else args.num_perm
    args.shingle_size = int(dedup["shingle_size"]) if args.shingle_size is None else args.shingle_size
    runs: dict[str, Callable] = {"ours": run_ours, "datasketch": run_datasketch, "rensa": run_rensa}
    for name in filter(None, args.skip.split(",")):
        runs.pop(name)
    if args.datasketch_ours_bands:
        bands, rows = lsh_params(args.threshold, args.num_perm)
        runs["ds+bands"] = lambda *a: run_datasketch(*a, params=(bands, rows))
    (report_real if args.corpus == "real" else report_generated)(args, runs)


if __name__ == "__main__":
    main()
