"""Real public text on this machine, as negatives and near-misses: Python's `pydoc_data.topics`, the long
descriptions in installed packages' METADATA, /usr/share/doc README/NEWS/text files, and man pages.

Real text has no gold labels, and it has real PII in it (authors' e-mails, maintainers' names). So:
- chunks carrying authorship (copyright lines, "Author:", "Maintainer:", "Name <mail>", "Thanks to",
  a man page's AUTHORS/COPYRIGHT/REPORTING BUGS sections, Debian changelogs and copyright files) are
  excluded; what the detector still calls a PERSON is reported by `bench/pii.py` for inspection;
- chunks that name people are excluded too: NEWS files credit contributors in every other line
  ("(fd.o #103601, Simon McVittie)"), and labelling only what a detector found would hand that detector
  free recall. A chunk is dropped when it has a capitalized word pair whose first word is a first name of
  any Faker locale ("Simon McVittie", also "Mark Down"), or one of `REVIEWED_PERSONS` (real names a
  review of the detectors' findings turned up that the pair test misses). This removes some hard
  negatives as well; `real_samples` counts what it dropped and why;
- documents whose purpose is to show fake or example PII (the READMEs of phonenumbers, mimesis, Faker,
  Presidio) are not used;
- e-mail addresses (a strict pattern, independent of the detector) are labelled EMAIL_ADDRESS, dotted
  IPv4 addresses that are not versions are labelled IP_ADDRESS, and the FSF's postal addresses in GPL
  notices are labelled LOCATION (real street addresses, of an organization);
- everything else counts as a negative.
Documents are split between the parts by a hash of their path (30% tuning, 70% held-out), so the tuning
part's real text never overlaps the held-out part's.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import re
import sys
from collections import Counter
from email.parser import Parser
from pathlib import Path

from bench.pii_eval.core import Sample, Span
from bench.pii_eval.independent import faker_names

TUNING_SHARE = 0.3
MAX_CHARS = 600
EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
AUTHORSHIP = re.compile(
    r"copyright|©|\(c\)\s*\d|author|maintainer|written by|contributed by|thanks to|thank you to|credits|"
    r"signed-off|reported by|patch (?:by|from)|uploader|translat|acknowledg|<[^<>\s]+@[^<>\s]+>|"
    r"^\s*--\s+\S",
    re.IGNORECASE | re.MULTILINE,
)
# dotted quads that can be addresses (see _ipv4_spans): octets 0-255, first 1-223, not after a version word,
# not inside a longer dotted run ("Linux 2.6.8.1", "1.2.3.4.5")
IPV4 = re.compile(
    r"(?<![\w.])(?<!version )(?<!Linux )(?<!kernel )(?<!v)"
    r"(?:22[0-3]|2[01]\d|1\d\d|[1-9]\d?)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?![\w.]*\d)"
)
FSF_ADDRESS = re.compile(
    r"\d+ (?:Franklin Street|Temple Place|Mass Ave)[\w ,.]*?(?:Boston|Cambridge),? MA\s+\d{5}(?:-\d{4})?"
)
# real people (and placeholder names) the detectors found in this machine's docs, reviewed by hand
REVIEWED_PERSONS = (
    "Simon McVittie", "Daniel Veillard", "Michael McKerns", "Michael Aivazis", "Adrian Szyndela", "Hannes Eder",
    "John Carr", "William Brack", "Daniel Petri Rocha", "Tomáš Mráz", "Jüri Aedla", "Daniel Franke",
    "Mikhail Titov", "Csaba László", "Gilles Espinasse", "Paul Dale", "Torsten Schoenfeld", "Morten Welinder",
    "Sven Neumann", "Dunja Lalic", "Tatu Ylonen", "Mark Smith", "Alban Crequy", "Ken Pizzini", "Fabien Bourigault",
    "Simon Feltman", "Tim Peters", "Christoph Reiter", "Ralf Habacker", "John Smith", "Christian Hesse",
    "Richard Hughes", "Dieter Verfaillie", "David Miller", "Linus Torvalds", "Will Thompson", "David Gessel",
    "Paul Pogonyshev", "Jack Nagel", "Elvis Pfützenreuter", "Roland McGrath", "Ulrich Drepper", "Rob Richards",
    "Pietro Cerutti", "Andrew L. Moore", "Raffaele Sena", "Larry Wall", "Sally Floyd", "Josh Triplett",
    "Jamey Sharp", "Peter Jay Salzman", "Carl Nygard", "Gregor Riepl", "Vladimir Panov", "M. Merino Vidal",
    "Sven Herzberg", "Brande Sears", "Chris Waters", "Sergei Golovan", "Kalev Lember", "Jeff Preshing",
    "Cory Benfield", "Laurent Bigonville", "Peter Miller", "Gordon Irlam", "Ahmed Moustafa", "Nathan Goldbaum",
    "Benjamin Oberdorfer", "Philip Withnall", "Christian Heimes", "Simon Pichugin", "Michael Nosthoff",
    "Vereshchagin", "Hongxu Jia",
    "Ikey Doherty", "Youshinaga", "Lennart", "Krynicki", "Syrus Akbary", "Khem Raj", "Chun-wei Fan", "Oudkerk",
    # example people in code samples are still names
    '"Alice"', '"Samuel"', "--formal Camila", "sponsors/Julian",
)  # fmt: skip
_MAN_DROP = re.compile(r"^\.SH\s+\"?(AUTHORS?|COPYRIGHT|REPORTING BUGS|HISTORY|BUGS|SEE ALSO)", re.IGNORECASE)
_ROFF_ESC = re.compile(r"\\f[BIRP]|\\f\(..|\\\(..|\\[-&e|^]|\\s[+-]?\d")


def part_of(doc_id: str) -> str:
    h = int.from_bytes(hashlib.sha1(doc_id.encode()).digest()[:4], "big") / 2**32
    return "tuning" if h < TUNING_SHARE else "heldout"


def _man_text(raw: str) -> str:
    out: list[str] = []
    skip = False
    for line in raw.splitlines():
        if line.startswith((".SH", ".Sh")):
            skip = bool(_MAN_DROP.match(line.replace(".Sh", ".SH")))
            title = line[3:].strip().strip('"')
            if not skip and title:
                out.append("")
                out.append(title)
            continue
        if skip or line.startswith(("'\\\"", '.\\"', ".\\'")):
            continue
        if line.startswith((".PP", ".LP", ".P", ".TP", ".IP", ".sp", ".br", ".Pp")):
            out.append("")
            rest = line.split(None, 1)[1:] if line.startswith(".IP") else []
            out.extend(rest)
            continue
        if line.startswith("."):
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0] in (".B", ".I", ".BR", ".IR", ".RB", ".BI", ".Nm", ".Fl", ".Ar"):
                out.append(parts[1].replace('"', ""))
            continue
        out.append(line)
    return _ROFF_ESC.sub("", "\n".join(out)).replace("\\", "")


def _documents(part: str, limit: int, rng: random.Random) -> list[tuple[str, str]]:
    """(doc_id, text) of up to `limit` documents of this part, drawn deterministically."""
    docs: list[tuple[str, str]] = []
    try:
        from pydoc_data.topics import topics
    except ImportError:  # some distributions strip pydoc_data
        topics = {}
    cands: list[tuple[str, object]] = [(f"pydoc:{k}", v) for k, v in sorted(topics.items())]
    sp = Path(sys.prefix) / "lib"
    cands += [(f"metadata:{p.parent.name}", p) for p in sorted(sp.glob("python3*/site-packages/*.dist-info/METADATA"))]
    doc_root = Path("/usr/share/doc")
    if doc_root.is_dir():
        for p in sorted(doc_root.glob("*/*")):
            n = p.name.lower()
            wanted = n.startswith(("readme", "news", "todo", "faq")) or n.endswith(".txt")
            if p.is_file() and wanted and "changelog" not in n and "copyright" not in n:
                cands.append((f"doc:{p}", p))
    man_root = Path("/usr/share/man")
    for sec in ("man1", "man5", "man7", "man8"):
        cands += [(f"man:{p}", p) for p in sorted((man_root / sec).glob("*.gz"))] if man_root.is_dir() else []
    mine = [c for c in cands if part_of(c[0]) == part and not c[0].lower().startswith(PII_DEMO_DOCS)]
    # an even mix of the four kinds, so thousands of man pages do not drown the rest
    by_kind: dict[str, list] = {}
    for c in mine:
        by_kind.setdefault(c[0].split(":", 1)[0], []).append(c)
    picked: list[tuple[str, object]] = []
    for kind in sorted(by_kind):
        items = by_kind[kind]
        picked += rng.sample(items, min(len(items), limit // len(by_kind) + 1))
    for doc_id, src in picked:
        try:
            docs.append((doc_id, _read(doc_id, src)))
        except (OSError, UnicodeDecodeError, EOFError):
            continue  # unreadable file: not part of the set (counted by its absence, nothing to label)
    return docs


def _read(doc_id: str, src: object) -> str:
    if isinstance(src, str):
        return src
    assert isinstance(src, Path)
    raw = gzip.decompress(src.read_bytes()).decode("utf-8") if src.suffix == ".gz" else src.read_text("utf-8")
    if doc_id.startswith("metadata:"):
        msg = Parser().parsestr(raw)
        return str(msg.get_payload() or "")
    if doc_id.startswith("man:"):
        return _man_text(raw)
    return raw


# the second word is a lookahead, so "by Karl Berry" still sees the pair "Karl Berry"
_NAME_PAIR = re.compile(r"\b([^\W\d_][^\W\d_]+)(?:-[^\W\d_]+)?(?=\s+(?:[A-Z]\.\s+)?([^\W\d_][\w'-]+))")
PII_DEMO_DOCS = ("metadata:phonenumbers", "metadata:mimesis", "metadata:faker", "metadata:presidio")
DROPPED: Counter = Counter()


def _names_someone(p: str) -> bool:
    firsts = faker_names(("first_name",))
    for m in _NAME_PAIR.finditer(p):
        first, second = m.group(1), m.group(2)
        if first[0].isupper() and first[1:].islower() and second[0].isupper() and first.lower() in firsts:
            return True
    return any(n in p for n in REVIEWED_PERSONS)


def _chunks(text: str, rng: random.Random, k: int) -> list[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) >= 40]
    kept = []
    for p in paras:
        reason = "authorship" if AUTHORSHIP.search(p) else "person" if _names_someone(p) else ""
        DROPPED[reason or "kept"] += 1
        if not reason:
            kept.append(p)
    paras = kept
    out = []
    for p in rng.sample(paras, min(k, len(paras))):
        if len(p) > MAX_CHARS:
            cut = p.rfind("\n", 0, MAX_CHARS)
            p = p[: cut if cut > 100 else MAX_CHARS]
        out.append(p)
    return out


_IP_CONTEXT = re.compile(r"(?:\bip|address|host|server|from|ping|inet|://|@|localhost \()\s*$", re.IGNORECASE)
_PRIVATE = ("10.", "127.", "192.168.", "169.254.", *(f"172.{i}." for i in range(16, 32)))


def _ipv4_spans(chunk: str) -> list[tuple[int, int]]:
    """Dotted quads that read as addresses: private/loopback, with a port or prefix length, or after an
    address word. A bare public-looking quad ("numpy 1.26.4.2") stays unlabelled (a version, mostly)."""
    out = []
    for m in IPV4.finditer(chunk):
        after = chunk[m.end() : m.end() + 1]
        if m.group().startswith(_PRIVATE) or after in (":", "/") or _IP_CONTEXT.search(chunk[: m.start()][-20:]):
            out.append((m.start(), m.end()))
    return out


def real_samples(part: str, n: int, seed: int) -> list[Sample]:
    """`n` chunks of real text for `part`: e-mails, IPs and postal addresses labelled, people excluded."""
    rng = random.Random(seed)
    DROPPED.clear()
    docs = _documents(part, max(40, n // 2), rng)
    pool: list[tuple[str, str]] = []
    for doc_id, text in docs:
        pool += [(doc_id, c) for c in _chunks(text, rng, 4)]
    rng.shuffle(pool)
    out = []
    for doc_id, chunk in pool[:n]:
        spans = [Span("EMAIL_ADDRESS", m.start(), m.end(), "real-text") for m in EMAIL.finditer(chunk)]
        spans += [Span("IP_ADDRESS", a, b, "real-text") for a, b in _ipv4_spans(chunk)]
        spans += [Span("LOCATION", m.start(), m.end(), "real-text") for m in FSF_ADDRESS.finditer(chunk)]
        out.append(Sample(chunk, spans, "real", doc_id.split(":", 1)[0], "real", doc_id))
    return out
