"""Deterministic raw data at any scale, built from the sample generator's per-record building blocks.

`ftdata_assets.sample_data` writes one fixed week (~4.7k records). This module reuses its conversation
topics, content plants (PII, look-alikes, placeholders, boilerplate, refusals, non-English, mojibake,
terminal escapes, merged instructions), record formats, near-duplicate edits and malformed-line builders to
write `n` records across the four sources, in the raw layout the pipeline reads:

- `logs/YYYY-MM-DD.jsonl` (one file per day from 2026-11-01; the last day gzipped, day 5 with CRLF), OpenAI
  chat records with hashed-looking user ids, sorted by time, with logger retries (exact duplicates);
- `expert/instructions_alpaca.json` (a JSON array, Alpaca) and `expert/chat_examples.jsonl` (chat), with
  non-commercial-license and stale plants;
- `synthetic/batch-<date>-<teacher>.<ext>`, one file per batch, cycling ShareGPT jsonl, prompt/completion
  jsonl (UTF-8 BOM), chat Parquet and chat jsonl.gz; with copies of expert and log examples and rows from a
  teacher model that is not allowed;
- `feedback/edits-2026-11.jsonl`: user edits of assistant answers.

Rates per file: exact duplicates 1.5%, near duplicates 1.5%, malformed lines 0.4% (0.1% in expert files),
organic contradictions (same question, conflicting answer) 0.1%, cross-source copies 0.5% of each synthetic
batch, plus the sample's content-plant rates per source (`sample_data.RATES`). The sample's six named
contradictions are planted once each. Every file's record count (blank lines excluded) is fixed by the plan,
so the total is exactly `n`.

Determinism: one `random.Random` stream per file, seeded from the seed and the file name, and a global
"seen" set of conversation hashes (membership only), filled in a fixed file order. A conversation that is
already on disk is regenerated up to `FRESH_TRIES` times, then kept: such organic repeats are counted in
`GenerationStats.organic_repeats` (the template space is finite; real logs repeat too).
Speed: ~100 us of CPU per record, one core, orjson for encoding: 1M records in ~3 minutes (170 s measured on a
shared, loaded 2-core machine; 100k in 15 s).
"""

import copy
import dataclasses
import gzip
import hashlib
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from ftdata_assets import sample_data as sd

START_DAY = date(2026, 11, 1)  # ftdata_assets.defs.partitions.LOGS_START_DATE
SHARES = {"production_log": 0.65, "synthetic": 0.23, "expert": 0.05, "feedback": 0.07}
EXACT_DUPLICATE_RATE = 0.015
NEAR_DUPLICATE_RATE = 0.015
MALFORMED_RATE = 0.004
EXPERT_MALFORMED_RATE = 0.001
CONTRADICTION_RATE = 0.001
CROSS_SOURCE_RATE = 0.005
POLICY_RATE = 0.003
STALE_RATE = 0.01
FRESH_TRIES = 20
POOL_SIZE = 2000

LOG_MALFORMED = (
    "content_is_number",
    "truncated_json",
    "unknown_role",
    "invalid_utf8_latin1",
    "invalid_utf8_cp1252",
    "nul_byte_raw",
    "empty_content",
    "missing_messages",
    "not_an_object_array",
)
SYNTHETIC_FORMATS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    # (format, teacher key in sample_data.TEACHERS, name suffix, extension, malformed kinds)
    ("sharegpt", sd.SYN_GPT, "gpt", ".jsonl", ("unknown_role", "too_deep", "nul_escaped", "truncated_json")),
    ("completion", sd.SYN_LLAMA, "llama", ".jsonl", ("completion_missing", "not_an_object_string", "truncated_json")),
    ("parquet", sd.SYN_MIXTRAL, "mixtral", ".parquet", ("unknown_role", "null_content", "empty_messages")),
    ("chat_gz", sd.SYN_QWEN, "qwen", ".jsonl.gz", ("messages_is_string", "unknown_format", "truncated_json")),
)
SAMPLE_FILE_KIND = {
    sd.EXPERT_ALPACA: "alpaca",
    sd.EXPERT_CHAT: "expert_chat",
    sd.SYN_GPT: "sharegpt",
    sd.SYN_LLAMA: "completion",
    sd.SYN_MIXTRAL: "parquet",
    sd.SYN_QWEN: "chat_gz",
}
DIGITS = re.compile(r"\d+")


@dataclass
class GenerationStats:
    files: dict[str, int] = field(default_factory=dict)
    planted: Counter[str] = field(default_factory=Counter)
    organic_repeats: int = 0
    bytes_written: int = 0
    seconds: float = 0.0


class _ScaleCtx(sd._Ctx):
    """The sample's context with a compact `seen` set (8-byte hashes), so 1M conversations fit in ~100 MB."""

    def claim(self, messages: list[sd.Message]) -> bool:
        key = orjson.dumps([(m["role"], m["content"]) for m in messages if m["role"] != "system"])
        digest = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
        if digest in self.seen:
            return False
        self.seen.add(digest)
        return True


@dataclass
class _Gen:
    ctx: _ScaleCtx
    stats: GenerationStats
    pools: dict[str, list[list[sd.Message]]] = field(default_factory=dict)

    def fresh(self, make: Callable[[], list[sd.Message]]) -> list[sd.Message]:
        for _ in range(FRESH_TRIES):
            messages = make()
            if self.ctx.claim(messages):
                return messages
        self.stats.organic_repeats += 1
        return messages

    def pool(self, name: str, rng: random.Random, messages: list[sd.Message]) -> None:
        """Reservoir of clean conversations that later files copy (cross-source duplicates)."""
        if messages[-1]["role"] != "assistant" or not messages[-1]["content"]:
            return
        items = self.pools.setdefault(name, [])
        if len(items) < POOL_SIZE:
            items.append(messages)
        else:
            items[rng.randrange(POOL_SIZE)] = messages


def plan(n: int, days: int, batches: int) -> dict[str, int]:
    """Relative path -> number of records, summing to exactly n."""
    rng = random.Random(f"plan:{n}:{days}:{batches}")
    budget = {source: int(n * share) for source, share in SHARES.items()}
    budget["production_log"] += n - sum(budget.values())
    out: dict[str, int] = {}

    def spread(names: list[str], total: int) -> None:
        weights = [rng.uniform(0.8, 1.2) for _ in names]
        counts = [int(total * w / sum(weights)) for w in weights]
        counts[-1] += total - sum(counts)
        out.update(zip(names, counts, strict=True))

    log_names = []
    for i in range(days):
        day = (START_DAY + timedelta(days=i)).isoformat()
        log_names.append(f"logs/{day}.jsonl.gz" if i == days - 1 and days > 1 else f"logs/{day}.jsonl")
    spread(log_names, budget["production_log"])
    spread(["expert/instructions_alpaca.json", "expert/chat_examples.jsonl"], budget["expert"])
    syn_names = []
    for b in range(batches):
        _, _, suffix, ext, _ = SYNTHETIC_FORMATS[b % len(SYNTHETIC_FORMATS)]
        syn_names.append(f"synthetic/batch-{(START_DAY + timedelta(days=b + 1)).isoformat()}-{suffix}{ext}")
    spread(syn_names, budget["synthetic"])
    out["feedback/edits-2026-11.jsonl"] = budget["feedback"]
    return out


def _file_kind(name: str) -> str:
    if name.startswith("logs/"):
        return "log"
    if name.startswith("feedback/"):
        return "feedback"
    if name == "expert/instructions_alpaca.json":
        return "alpaca"
    if name.startswith("expert/"):
        return "expert_chat"
    suffix = name.rsplit("-", 1)[1].split(".", 1)[0]
    return next(fmt for fmt, _, s, _, _ in SYNTHETIC_FORMATS if s == suffix)


def _named_contradictions(names: list[str]) -> dict[str, list[tuple[str, list[sd.Message]]]]:
    """The sample's six named contradiction sides, each in the first scaled file of the sample file's kind."""
    logs = [n for n in names if n.startswith("logs/")]
    target: dict[str, str] = {}
    for i, sample_file in enumerate(sd.LOG_FILES):
        target[sample_file] = logs[i % len(logs)]
    for sample_file, kind in SAMPLE_FILE_KIND.items():
        match = [n for n in names if _file_kind(n) == kind]
        if match:
            target[sample_file] = match[0]
    out: dict[str, list[tuple[str, list[sd.Message]]]] = {}
    for c in sd.CONTRADICTIONS:
        for side_file, prompt, answer in ((c.file_a, c.prompt_a, c.answer_a), (c.file_b, c.prompt_b, c.answer_b)):
            if side_file in target:
                msgs = [sd._msg("user", prompt), sd._msg("assistant", answer)]
                out.setdefault(target[side_file], []).append((c.domain, msgs))
    return out


def _conflicting(rng: random.Random, messages: list[sd.Message]) -> list[sd.Message]:
    """The same question (lightly edited) with an answer that conflicts: other numbers, or a refusal."""
    out = sd._near_duplicate_messages(rng, messages)
    answer = out[-1]["content"]
    if DIGITS.search(answer) and rng.random() < 0.7:
        out[-1]["content"] = DIGITS.sub(lambda m: str(int(m.group()) * 2 + 1), answer, count=1)
    else:
        out[-1]["content"] = rng.choice(sd.REFUSALS)
    return out


def _interleave(rng: random.Random, base: list[Any], extras: list[Any]) -> list[Any]:
    """Insert `extras` at random positions of `base` in one pass (no O(n^2) list.insert)."""
    slots = sorted(rng.randrange(len(base) + 1) for _ in extras)
    out: list[Any] = []
    prev = 0
    for slot, item in zip(slots, extras, strict=True):
        out.extend(base[prev:slot])
        out.append(item)
        prev = slot
    out.extend(base[prev:])
    return out


def _with_retries(rng: random.Random, records: list[Any], n: int) -> list[Any]:
    """Exact repeats 1-5 rows after the original (logger retries, teacher repeats)."""
    if not records or n <= 0:
        return records
    after: dict[int, list[Any]] = {}
    for _ in range(n):
        i = rng.randrange(len(records))
        after.setdefault(min(len(records) - 1, i + rng.randint(0, 4)), []).append(records[i])
    out: list[Any] = []
    for i, record in enumerate(records):
        out.append(record)
        out.extend(after.get(i, ()))
    return out


class _Builder:
    """Builds the records of one file; the kind decides the format and the plants."""

    def __init__(self, gen: _Gen, name: str, count: int, seed: int, contradictions: list) -> None:
        self.gen, self.name, self.count = gen, name, count
        self.kind = _file_kind(name)
        self.rng = random.Random(f"{seed}:{name}")
        self.contradictions = contradictions
        self.day = name.split("/")[1][:10] if self.kind == "log" else None
        if self.kind in ("sharegpt", "completion", "parquet", "chat_gz"):
            self.source, self.teacher_key = "synthetic", next(t for f, t, *_ in SYNTHETIC_FORMATS if f == self.kind)
            self.batch_day = name.split("batch-")[1][:10]
        else:
            self.source = {"log": "production_log", "feedback": "feedback"}.get(self.kind, "expert")

    # -- conversations ------------------------------------------------------------------------------
    def conversation(self) -> tuple[str, list[sd.Message]]:
        """(domain, planted conversation) for this file's source."""
        rng, gen = self.rng, self.gen
        rates = sd.RATES[self.source]
        if self.kind == "log":
            msgs = gen.fresh(lambda: sd._chat(rng, system=1.0))
            domain = sd._domain_of(msgs)
        elif self.kind == "expert_chat":
            msgs = gen.fresh(lambda: sd._chat(rng, system=0.7, max_exchanges=3))
            domain = sd._domain_of(msgs)
        elif self.kind == "feedback":
            msgs = gen.fresh(lambda: sd._chat(rng, system=0.6))
            domain = sd._domain_of(msgs)
        else:
            domain = sd._pick_domain(rng)
            single = self.kind == "completion"
            msgs = gen.fresh(
                lambda: sd._chat(rng, system=0.0 if single else 0.5, max_exchanges=1 if single else 3, domain=domain)
            )
            if rng.random() < 0.25:
                msgs[-1]["content"] = rng.choice(("Certainly! ", "Sure! ", "Great question! ")) + msgs[-1]["content"]
        return domain, sd._plant_content(gen.ctx, rng, rates, msgs)

    def alpaca_item(self) -> dict[str, Any]:
        rng, ctx = self.rng, self.gen.ctx
        instruction = input_ = output = None
        for _ in range(5):
            instruction, input_, output = sd._alpaca_item(rng)
            user = f"{instruction}\n\n{input_}" if input_ else instruction
            if ctx.claim([sd._msg("user", user), sd._msg("assistant", output)]):
                break
        else:  # the Alpaca templates are a small space: fall back to a single-turn chat, written as Alpaca
            msgs = self.gen.fresh(lambda: sd._chat(rng, system=0.0, max_exchanges=1))
            instruction, input_, output = msgs[0]["content"], "", msgs[1]["content"]
        if rng.random() < sd.RATES["expert"].non_english:
            instruction, output = sd._non_english(ctx, rng)
            input_ = ""
        rates = dataclasses.replace(sd.RATES["expert"], non_english=0.0)
        msgs = sd._plant_content(
            ctx, rng, rates, [sd._msg("user", input_ or instruction), sd._msg("assistant", output)]
        )
        if input_:
            input_ = msgs[0]["content"]
        else:
            instruction = msgs[0]["content"]
            if rng.random() < 0.02:
                input_ = "<noinput>"
                ctx.plant("placeholder_input")
        record = sd._alpaca_record(rng, instruction, input_, msgs[1]["content"])
        if rng.random() < POLICY_RATE * 2:
            record["license"] = rng.choice((sd.NON_COMMERCIAL_LICENSE, "CC-BY-NC-SA-4.0"))
            ctx.plant("policy:disallowed_license")
        return record

    # -- records ------------------------------------------------------------------------------------
    def record(self, domain: str, msgs: list[sd.Message]) -> dict[str, Any]:
        rng = self.rng
        if self.kind == "log":
            return sd._log_record(rng, msgs, sd._timestamp(rng, self.day), rng.choice(self.users))
        if self.kind == "expert_chat":
            record = sd._expert_chat_record(rng, msgs)
            if rng.random() < STALE_RATE:
                record["created_at"] = f"{rng.choice((2024, 2025))}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                self.gen.ctx.plant("policy:stale")
            return record
        if self.kind == "alpaca":
            return sd._alpaca_record(rng, msgs[0]["content"], "", msgs[-1]["content"])
        if self.kind == "feedback":
            return sd._feedback_record(rng, msgs, self.users)
        chat = (sd.PROMPT_TEMPLATES[domain], msgs)
        if self.kind == "sharegpt":
            return sd._sharegpt_record(rng, chat, sd._timestamp(rng, self.batch_day))
        if self.kind == "completion":
            return sd._completion_record(chat)
        record = sd._chat_batch_record(self.teacher_key, chat)
        if rng.random() < POLICY_RATE:
            record["teacher_model"] = rng.choice((sd.UNVETTED_TEACHER, "mixtral-8x7b-instruct-v0.1", None))
            self.gen.ctx.plant("policy:disallowed_teacher_model")
        return record

    def malformed(self, record: dict[str, Any]) -> Any:
        rng = self.rng
        if self.kind == "log":
            kinds = LOG_MALFORMED
        elif self.kind == "expert_chat":
            kinds = ("truncated_json", "unknown_role")
        elif self.kind == "alpaca":
            if rng.random() < 0.5:
                return "text"
            broken = dict(record)
            del broken["output"]
            return broken
        elif self.kind == "feedback":
            kinds = ("unknown_format", "truncated_json")
        else:
            kinds = next(k for f, _, _, _, k in SYNTHETIC_FORMATS if f == self.kind)
        kind = rng.choice(kinds)
        self.gen.ctx.plant(f"malformed:{kind}")
        if self.kind == "parquet":
            row = copy.deepcopy(record)
            if kind == "unknown_role":
                row["messages"].append(sd._msg("narrator", "The user closes the laptop."))
            elif kind == "null_content":
                for m in row["messages"]:
                    if m["role"] == "assistant":
                        m["content"] = None
            else:
                row["messages"] = []
            return row
        return sd._malformed_line(rng, kind, record)

    def build(self) -> list[Any]:
        rng, n = self.rng, self.count
        self.users = [f"u-{sd._hex(rng, 8)}" for _ in range(max(50, n // 4))]
        n_exact = round(n * EXACT_DUPLICATE_RATE)
        n_near = round(n * NEAR_DUPLICATE_RATE)
        rate = EXPERT_MALFORMED_RATE if self.source == "expert" else MALFORMED_RATE
        n_malformed = max(1, round(n * rate)) if n >= 100 else 0
        n_contra = round(n * CONTRADICTION_RATE)
        n_cross = round(n * CROSS_SOURCE_RATE) if self.source == "synthetic" else 0
        named = self.contradictions
        n_too_long = 1 if self.kind == "log" and self.name.endswith(".gz") else 0
        n_base = max(1, n - n_exact - n_near - n_malformed - n_contra - n_cross - len(named) - n_too_long)

        pairs: list[tuple[str, list[sd.Message]]] = []
        base: list[Any] = []
        for _ in range(n_base):
            if self.kind == "alpaca":
                item = self.alpaca_item()
                base.append(item)
                if item["input"] == "" and isinstance(item["output"], str) and item["output"]:
                    pairs.append(
                        ("knowledge", [sd._msg("user", item["instruction"]), sd._msg("assistant", item["output"])])
                    )
                continue
            domain, msgs = self.conversation()
            pairs.append((domain, msgs))
        if self.kind != "alpaca":
            if self.kind == "log":
                times = sorted(sd._timestamp(rng, self.day) for _ in pairs)
                base = [
                    sd._log_record(rng, m, t, rng.choice(self.users)) for (_, m), t in zip(pairs, times, strict=True)
                ]
            else:
                base = [self.record(d, m) for d, m in pairs]
        pool_name = {"log": "log", "expert_chat": "expert", "alpaca": "expert"}.get(self.kind)
        if pool_name:
            for _, msgs in pairs[:: max(1, len(pairs) // (POOL_SIZE * 2))]:
                self.gen.pool(pool_name, rng, msgs)

        usable = [p for p in pairs if p[1][-1]["role"] == "assistant" and isinstance(p[1][-1]["content"], str)]
        usable = usable or pairs
        extras: list[Any] = []
        for _ in range(n_near):
            domain, msgs = rng.choice(usable)
            extras.append(self.record(domain, sd._near_duplicate_messages(rng, msgs)))
        self.gen.ctx.plant("near_duplicate", n_near)
        for _ in range(n_contra):
            domain, msgs = rng.choice(usable)
            extras.append(self.record(domain, _conflicting(rng, msgs)))
        self.gen.ctx.plant("contradiction:organic", n_contra)
        for domain, msgs in named:
            system = [] if self.kind in ("alpaca", "completion") else [sd._msg("system", sd.SYSTEM_PROMPTS[domain][0])]
            extras.append(self.record(domain, [*system, *msgs]))
        self.gen.ctx.plant("contradiction", len(named))
        cross = [m for key in ("expert", "log") for m in self.gen.pools.get(key, [])]
        for _ in range(n_cross if cross else 0):
            msgs = copy.deepcopy(rng.choice(cross))
            extras.append(self.record(sd._domain_of(msgs), msgs))
        self.gen.ctx.plant("exact_duplicate:cross_source", n_cross if cross else 0)
        for _ in range(n_malformed):
            extras.append(self.malformed(rng.choice(base)))
        self.gen.ctx.plant("malformed", n_malformed)
        if n_too_long:
            extras.append(sd._malformed_line(rng, "too_long", base[0]))  # one 1.5 MB pasted debug log per run
            self.gen.ctx.plant("malformed:too_long")
        n_retries = max(0, n - len(base) - len(extras))
        self.gen.ctx.plant("exact_duplicate:within_file", n_retries)
        return _with_retries(rng, _interleave(rng, base, extras), n_retries)


def _encode(name: str, records: list[Any], rng: random.Random) -> bytes:
    if name.endswith(".parquet"):
        return sd._parquet(records)
    if name.endswith(".json"):
        return orjson.dumps(records, option=orjson.OPT_INDENT_2) + b"\n"
    lines = [r if isinstance(r, bytes) else orjson.dumps(r) for r in records]
    for i in range(max(1, len(lines) // 20_000)):  # a few blank lines: skipped, never counted as records
        lines.insert(rng.randint(1, len(lines)), (b"", b"   ", b"\t")[i % 3])
    end = b"\r\n" if name.startswith("logs/") and name[10:15] == "11-05" else b"\n"
    data = end.join(lines) + end
    if "-llama." in name:
        data = b"\xef\xbb\xbf" + data
    if name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return data


def generate(
    raw_dir: Path, n: int, *, days: int = 14, batches: int = 8, seed: int = sd.DEFAULT_SEED, progress=print
) -> GenerationStats:
    """Write `n` records under `raw_dir`; deterministic for (n, days, batches, seed)."""
    started = time.perf_counter()
    layout = plan(n, days, batches)
    gen = _Gen(_ScaleCtx(seed), GenerationStats())
    contradictions = _named_contradictions(list(layout))
    order = sorted(layout, key=lambda p: (not p.startswith("expert/"), not p.startswith("logs/"), p))
    done = 0
    for name in order:
        t0 = time.perf_counter()
        builder = _Builder(gen, name, layout[name], seed, contradictions.get(name, []))
        records = builder.build()
        data = _encode(name, records, builder.rng)
        path = raw_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        gen.stats.files[name] = len(records)
        gen.stats.bytes_written += len(data)
        done += len(records)
        elapsed = time.perf_counter() - started
        progress(
            f"generate {name}: {len(records):,} records, {len(data) / 1e6:.1f} MB in {time.perf_counter() - t0:.1f}s "
            f"[{done:,}/{n:,} total, {elapsed:.0f}s, {done / max(elapsed, 1e-9):,.0f} rec/s]"
        )
    gen.stats.planted = gen.ctx.planted
    gen.stats.seconds = time.perf_counter() - started
    return gen.stats
