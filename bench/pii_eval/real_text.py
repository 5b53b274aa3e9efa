"""Real public text on this machine, as negatives and near-misses: Python's `pydoc_data.topics`, the long
descriptions in installed packages' METADATA, /usr/share/doc README/NEWS/text files, and man pages.

Real text has no gold labels, and it has real PII in it (authors' e-mails, maintainers' names). So:
- chunks carrying authorship (copyright lines, "Author:", "Maintainer:", "Name <mail>", "Thanks to",
  a man page's AUTHORS/COPYRIGHT/REPORTING BUGS sections, Debian changelogs and copyright files) are
  excluded; what the detector still calls a PERSON is reported by `bench/pii.py` for inspection;
- e-mail addresses (a strict pattern, independent of the detector) are labelled EMAIL_ADDRESS;
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
from email.parser import Parser
from pathlib import Path

from bench.pii_eval.core import Sample, Span

TUNING_SHARE = 0.3
MAX_CHARS = 600
EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
AUTHORSHIP = re.compile(
    r"copyright|©|\(c\)\s*\d|author|maintainer|written by|contributed by|thanks to|thank you to|credits|"
    r"signed-off|reported by|patch (?:by|from)|uploader|translat|acknowledg|<[^<>\s]+@[^<>\s]+>|"
    r"^\s*--\s+\S",
    re.IGNORECASE | re.MULTILINE,
)
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
    mine = [c for c in cands if part_of(c[0]) == part]
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


def _chunks(text: str, rng: random.Random, k: int) -> list[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) >= 40]
    paras = [p for p in paras if not AUTHORSHIP.search(p)]
    out = []
    for p in rng.sample(paras, min(k, len(paras))):
        if len(p) > MAX_CHARS:
            cut = p.rfind("\n", 0, MAX_CHARS)
            p = p[: cut if cut > 100 else MAX_CHARS]
        out.append(p)
    return out


def real_samples(part: str, n: int, seed: int) -> list[Sample]:
    """`n` chunks of real text for `part`, e-mails labelled, authorship chunks excluded."""
    rng = random.Random(seed)
    docs = _documents(part, max(40, n // 2), rng)
    pool: list[tuple[str, str]] = []
    for doc_id, text in docs:
        pool += [(doc_id, c) for c in _chunks(text, rng, 4)]
    rng.shuffle(pool)
    out = []
    for doc_id, chunk in pool[:n]:
        spans = [Span("EMAIL_ADDRESS", m.start(), m.end(), "real-text") for m in EMAIL.finditer(chunk)]
        out.append(Sample(chunk, spans, "real", doc_id.split(":", 1)[0], "real", doc_id))
    return out
