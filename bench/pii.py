"""Score `ftdata_assets.transforms.pii.detect` against Presidio's pattern recognizers on labelled sets
built from sources other than the detector's rules (`bench/pii_eval/`, see its README.md).

Run: `.venv/bin/python bench/pii.py [--part tuning|heldout|both] [--texts 4000] [--seed 20261201]`

Two parts: **held-out** (the headline: other generators, other Faker locales, template set B, real public
text) and **tuning** (Faker in ten locales inside template set A; rule authors may look at its misses with
`--show-misses TYPE`; on held-out that needs `--i-am-not-tuning`). Per part and per type: recall and
precision for ours and, on the same texts in the same run, Presidio's `AnalyzerEngine` with a
`NoOpNlpEngine` (pattern recognizers only; its PERSON/LOCATION need spaCy NER, which cannot be downloaded
here, so those rows show ours only). A gold span is recalled when a predicted span of the same type
overlaps it; a prediction is correct when it overlaps a gold span of its type.

Speed: `detect` uses threads, so the fair unit is CPU-seconds: the process CPU time of one `detect` call
over all texts of a part, against the summed CPU time of Presidio's worker processes (as many as
`os.cpu_count()`, over chunks of texts, with `multiprocessing`). Wall times are printed too. The last line
is one JSON object with everything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pii_eval import PARTS, Sample, build, real_text  # noqa: E402
from ftdata_assets.transforms import pii  # noqa: E402

PRESIDIO_TYPES = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS"]
TYPES = [*PRESIDIO_TYPES, "PERSON", "LOCATION"]
Pred = list[tuple[str, int, int]]


# --------------------------------------------------------------------------------------------------------
# running the detectors
# --------------------------------------------------------------------------------------------------------


def run_ours(texts: list[str], repeats: int) -> tuple[list[Pred], float, float]:
    """Predictions, median wall seconds and median process CPU seconds (all threads) of `detect`."""
    series = pl.Series("text", texts)
    pii.detect(series[:50])  # loads the lexicon outside the timing
    walls, cpus = [], []
    found = None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        found = pii.detect(series)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    preds: list[Pred] = [[] for _ in texts]
    assert found is not None
    for row, ty, a, b in found.select("row", "entity_type", "start", "end").iter_rows():
        preds[row].append((ty, a, b))
    return preds, statistics.median(walls), statistics.median(cpus)


_ENGINE = None


def presidio_engine():
    import presidio_analyzer.predefined_recognizers.generic.email_recognizer as email_rec
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    # offline: tldextract's bundled public-suffix snapshot instead of fetching the list
    email_rec.tldextract = type("_T", (), {"extract": staticmethod(tldextract.TLDExtract(suffix_list_urls=()))})
    return AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]))


def _presidio_init() -> None:
    global _ENGINE
    _ENGINE = presidio_engine()
    _ENGINE.analyze("warm up 192.168.0.1 a@b.de", language="en", entities=PRESIDIO_TYPES)


def _presidio_chunk(texts: list[str]) -> tuple[list[Pred], float]:
    c0 = time.process_time()
    out = [[(r.entity_type, r.start, r.end) for r in _ENGINE.analyze(t, language="en", entities=PRESIDIO_TYPES)]
           for t in texts]  # fmt: skip
    return out, time.process_time() - c0


def run_presidio(texts: list[str], procs: int) -> tuple[list[Pred], float, float]:
    """Predictions, wall seconds and summed worker CPU seconds, `procs` processes over chunks of texts."""
    size = max(1, -(-len(texts) // (procs * 8)))
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    # built in the parent and inherited by the forked workers: an import or setup error surfaces here, once,
    # instead of a Pool that respawns failing initializers forever
    _presidio_init()
    with mp.get_context("fork").Pool(procs) as pool:
        pool.map(_presidio_chunk, [["warm"]] * procs)  # engines built before the clock starts
        t0 = time.perf_counter()
        results = pool.map(_presidio_chunk, chunks, chunksize=1)
        wall = time.perf_counter() - t0
    preds = [p for chunk, _ in results for p in chunk]
    return preds, wall, sum(c for _, c in results)


# --------------------------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------------------------


def _overlaps(a: int, b: int, spans: list[tuple[int, int]]) -> bool:
    return any(a < d and c < b for c, d in spans)


def wilson(k: int, n: int, z: float = 1.96) -> list[float] | None:
    """95% Wilson interval of a proportion: with a few hundred gold spans a type's recall moves by
    several points between seeds, so a change smaller than this is no evidence."""
    if not n:
        return None
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return [max(0.0, round(mid - half, 4)), min(1.0, round(mid + half, 4))]


def score(samples: list[Sample], preds: list[Pred], types: list[str]) -> dict[str, dict]:
    """Per type: recall/precision with the same-type rule, and the any-type variant a scrubber cares
    about (a gold span covered by a prediction of any type is scrubbed; a prediction inside any gold
    span removes only PII)."""
    out = {}
    for t in types:
        gold_n = pred_n = hit_gold = hit_pred = any_gold = any_pred = 0
        for s, p in zip(samples, preds, strict=True):
            g = [(x.start, x.end) for x in s.spans if x.type == t]
            q = [(a, b) for ty, a, b in p if ty == t]
            gold_n += len(g)
            pred_n += len(q)
            hit_gold += sum(_overlaps(a, b, q) for a, b in g)
            hit_pred += sum(_overlaps(a, b, g) for a, b in q)
            any_gold += sum(_overlaps(a, b, [(c, d) for _, c, d in p]) for a, b in g)
            any_pred += sum(_overlaps(a, b, [(x.start, x.end) for x in s.spans]) for a, b in q)
        out[t] = {
            "gold": gold_n,
            "pred": pred_n,
            "recall": round(hit_gold / gold_n, 4) if gold_n else None,
            "precision": round(hit_pred / pred_n, 4) if pred_n else None,
            "recall_ci95": wilson(hit_gold, gold_n),
            "precision_ci95": wilson(hit_pred, pred_n),
            "recall_any_type": round(any_gold / gold_n, 4) if gold_n else None,
            "precision_any_type": round(any_pred / pred_n, 4) if pred_n else None,
        }
    return out


def _group(source: str) -> str:
    """Aggregation key of a gold span's source: generator, locale family, phone validity."""
    gen = source.split(":", 1)[0].split("|", 1)[0]
    return gen


def recall_by(samples: list[Sample], preds: list[Pred], key) -> dict[str, dict[str, list[int]]]:
    """type -> bucket -> [gold, recalled], bucket = key(sample, span)."""
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for s, p in zip(samples, preds, strict=True):
        for x in s.spans:
            cell = out[x.type][key(s, x)]
            cell[0] += 1
            cell[1] += _overlaps(x.start, x.end, [(a, b) for ty, a, b in p if ty == x.type])
    return {t: dict(v) for t, v in out.items()}


def false_positives(samples: list[Sample], preds: list[Pred], kind: str) -> Counter:
    """Predictions on texts of `kind` (negative/real) that overlap no gold span of their type, per type."""
    c: Counter = Counter()
    for s, p in zip(samples, preds, strict=True):
        if s.kind != kind:
            continue
        for ty, a, b in p:
            if not _overlaps(a, b, [(x.start, x.end) for x in s.spans if x.type == ty]):
                c[ty] += 1
    return c


def false_positives_by_template(samples: list[Sample], preds: list[Pred]) -> dict[str, int]:
    """Findings on template negatives per template id (ids only: held-out templates are not printed)."""
    c: Counter = Counter()
    for s, p in zip(samples, preds, strict=True):
        if s.kind == "negative" and p:
            c[f"{s.template.split(':', 2)[2]}"] += len(p)
    return dict(sorted(c.items(), key=lambda kv: -kv[1]))


# --------------------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------------------


def _f(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def print_table(part: str, ours: dict, theirs: dict | None) -> None:
    print(f"\n== {part}: recall / precision per type (R-any/P-any: any predicted type counts) ==")
    print(f"{'type':<14} {'gold':>5} | {'ours R':>6} {'P':>6} {'preds':>5} {'R-any':>6} {'P-any':>6} | "
          f"{'presidio R':>10} {'P':>6} {'preds':>5} {'R-any':>6} {'P-any':>6}")  # fmt: skip
    for t in TYPES:
        o = ours[t]
        line = (f"{t:<14} {o['gold']:>5} | {_f(o['recall'])} {_f(o['precision'])} {o['pred']:>5} "
                f"{_f(o['recall_any_type'])} {_f(o['precision_any_type'])} | ")  # fmt: skip
        if theirs and t in theirs:
            p = theirs[t]
            line += (f"{_f(p['recall']):>10} {_f(p['precision'])} {p['pred']:>5} "
                     f"{_f(p['recall_any_type'])} {_f(p['precision_any_type'])}")  # fmt: skip
        elif theirs is not None:
            line += "n/a (needs spaCy NER, not installable here)"
        print(line)


def print_buckets(title: str, buckets: dict[str, dict[str, list[int]]], types: list[str]) -> dict:
    print(f"\n-- recall by {title} (ours) --")
    js: dict = {}
    for t in types:
        if t not in buckets:
            continue
        parts = []
        for k, (n, hit) in sorted(buckets[t].items()):
            parts.append(f"{k} {hit / n:.3f} ({hit}/{n})")
            js.setdefault(t, {})[k] = [hit, n]
        print(f"{t:<14} " + "; ".join(parts))
    return js


def show_misses(samples: list[Sample], preds: list[Pred], t: str, limit: int) -> None:
    print(f"\n--- misses and false positives for {t} (ours) ---")
    shown = 0
    for s, p in zip(samples, preds, strict=True):
        g = [(x.start, x.end, x.source) for x in s.spans if x.type == t]
        q = [(a, b) for ty, a, b in p if ty == t]
        for a, b, src in g:
            if not _overlaps(a, b, q) and shown < limit:
                print(f"MISS [{src}] {s.text[a:b]!r} in {s.text!r}")
                shown += 1
        for c, d in q:
            if not _overlaps(c, d, [(a, b) for a, b, _ in g]) and shown < limit:
                print(f"FP   [{s.kind}:{s.origin or s.template}] {s.text[c:d]!r} in {s.text!r}")
                shown += 1


def evaluate(part: str, args: argparse.Namespace, known: set[str]) -> dict:
    t0 = time.perf_counter()
    samples = build(part, args.texts, args.seed)
    texts = [s.text for s in samples]
    build_s = time.perf_counter() - t0
    kinds = Counter(s.kind for s in samples)
    gold = Counter(x.type for s in samples for x in s.spans)
    print(f"\n##### part {part}: {len(samples)} texts ({dict(kinds)}), {sum(map(len, texts))} chars, "
          f"seed {args.seed}, built in {build_s:.1f} s")  # fmt: skip
    print("gold entities:", dict(sorted(gold.items())))

    ours_preds, ours_wall, ours_cpu = run_ours(texts, args.repeats)
    ours = score(samples, ours_preds, TYPES)
    res: dict = {"texts": len(samples), "kinds": dict(kinds), "ours": ours}
    res["ours_speed"] = {"wall_s": round(ours_wall, 3), "cpu_s": round(ours_cpu, 3)}
    theirs = None
    if not args.no_presidio:
        pres_preds, pres_wall, pres_cpu = run_presidio(texts, args.procs)
        theirs = score(samples, pres_preds, PRESIDIO_TYPES)
        res["presidio"] = theirs
        res["presidio_speed"] = {"wall_s": round(pres_wall, 3), "cpu_s": round(pres_cpu, 3), "procs": args.procs}
    print_table(part, ours, theirs)

    n = len(samples)
    print(f"\nspeed: ours {n / ours_cpu:,.0f} texts per CPU-second ({ours_cpu:.2f} CPU-s, {ours_wall:.2f} s wall, "
          f"median of {args.repeats})")  # fmt: skip
    if theirs is not None:
        pw, pc = res["presidio_speed"]["wall_s"], res["presidio_speed"]["cpu_s"]
        print(f"       presidio {n / pc:,.0f} texts per CPU-second ({pc:.2f} CPU-s over {args.procs} processes, "
              f"{pw:.2f} s wall)")  # fmt: skip
        res["ratio_per_cpu_s"] = round(pc / ours_cpu, 2)
        res["ratio_wall"] = round(pw / ours_wall, 2)
        print(f"       ours/presidio: {res['ratio_per_cpu_s']:.1f}x per CPU-second, {res['ratio_wall']:.1f}x wall "
              f"({args.procs} Presidio processes vs our threads)")  # fmt: skip

    res["recall_by_generator"] = print_buckets(
        "generator", recall_by(samples, ours_preds, lambda s, x: _group(x.source)), TYPES
    )
    if part == "heldout":
        res["recall_by_cell"] = print_buckets(
            "cell (entities x templates)", recall_by(samples, ours_preds, lambda s, x: s.cell), TYPES
        )

    def lex(s: Sample, x) -> str:
        words = s.text[x.start : x.end].lower().split()
        return "names in lexicon" if words and all(w in known for w in words) else "names not in lexicon"

    by_locale = recall_by(samples, ours_preds, lambda s, x: x.source.split("|", 1)[0])
    if part == "tuning":
        res["recall_by_locale"] = print_buckets("locale", by_locale, ["PHONE_NUMBER", "PERSON", "LOCATION"])
    else:  # scores only; printed per locale they would invite tuning on held-out locales
        res["recall_by_locale"] = {t: {k: v[::-1] for k, v in d.items()} for t, d in by_locale.items()}

    def script(s: Sample, x) -> str:
        letters = [c for c in s.text[x.start : x.end] if c.isalpha()]
        latin = all(unicodedata.name(c, "").startswith("LATIN") for c in letters)
        return "Latin script" if latin else "other scripts"

    res["names_addresses_by_script"] = print_buckets(
        "script", recall_by(samples, ours_preds, script), ["PERSON", "LOCATION"]
    )
    res["person_by_lexicon"] = print_buckets("lexicon membership", recall_by(samples, ours_preds, lex), ["PERSON"])

    def validity(s: Sample, x) -> str:
        return next((f for f in x.source.split("|") if f.startswith("lpn-")), "local7" if x.source == "local7" else "-")

    res["phone_by_validity"] = print_buckets(
        "libphonenumber validity", recall_by(samples, ours_preds, validity), ["PHONE_NUMBER"]
    )

    res["real_text_paragraphs"] = dict(real_text.DROPPED)
    print(f"\nreal text: paragraphs kept/dropped {dict(real_text.DROPPED)} (dropped: they name people)")
    for kind in ("negative", "real"):
        fp_o = false_positives(samples, ours_preds, kind)
        res[f"fp_on_{kind}_ours"] = dict(fp_o)
        line = f"\nfindings on {kind} texts ({kinds.get(kind, 0)}) outside gold: ours {dict(sorted(fp_o.items()))}"
        if theirs is not None:
            fp_p = false_positives(samples, pres_preds, kind)
            res[f"fp_on_{kind}_presidio"] = dict(fp_p)
            line += f"; presidio {dict(sorted(fp_p.items()))}"
        print(line)
    fp_t = false_positives_by_template(samples, ours_preds)
    res["fp_by_negative_template_ours"] = fp_t
    print("ours on template negatives, findings per template:", fp_t)

    for t in [*TYPES, "SECRET"] if args.show_misses == "ALL" else [args.show_misses] if args.show_misses else []:
        show_misses(samples, ours_preds, t, args.limit)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=[*PARTS, "both"], default="both")
    ap.add_argument("--texts", type=int, default=6000, help="texts per part")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of detect (median)")
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1, help="Presidio worker processes")
    ap.add_argument("--no-presidio", action="store_true", help="score ours only (quick)")
    ap.add_argument(
        "--show-misses", metavar="TYPE", default="", help="print our misses/false positives of TYPE (or ALL)"
    )
    ap.add_argument("--limit", type=int, default=200, help="at most this many lines of --show-misses")
    ap.add_argument("--i-am-not-tuning", action="store_true", help="allow --show-misses on the held-out part")
    args = ap.parse_args()
    if args.show_misses and args.show_misses not in [*TYPES, "SECRET", "ALL"]:
        ap.error(f"--show-misses takes one of {[*TYPES, 'SECRET', 'ALL']}")
    if args.show_misses and args.part != "tuning" and not args.i_am_not_tuning:
        ap.error("--show-misses prints examples, so it runs on --part tuning only; the held-out part is for "
                 "scores (add --i-am-not-tuning if you are not writing rules against it)")  # fmt: skip

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "ftdata_assets/transforms/pii"],
                           capture_output=True, text=True)  # fmt: skip
    rev = commit.stdout.strip() + ("+dirty-pii" if dirty.stdout.strip() else "")
    # the tree may hold uncommitted detector edits: a hash of the files as run pins what was measured
    h = hashlib.sha1()
    for f in [*sorted((ROOT / "ftdata_assets" / "transforms" / "pii").glob("*.py")), Path(pii.LEXICON_PATH)]:
        h.update(f.name.encode() + f.read_bytes())
    print(f"detector at {rev} (files sha1 {h.hexdigest()[:12]}); {os.cpu_count()} cores")
    known = set(pii.lexicon()["low"].to_list())
    parts = ["heldout", "tuning"] if args.part == "both" else [args.part]
    report = {"commit": rev, "detector_sha1": h.hexdigest()[:12], "seed": args.seed, "cores": os.cpu_count()}
    for part in parts:
        report[part] = evaluate(part, args, known)
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
