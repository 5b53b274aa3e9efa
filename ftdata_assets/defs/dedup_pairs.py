"""Where deduplicated_examples keeps its conversation pair decisions between runs.

A working file under data/interim (not a DVC output): `dedup_pairs/<digest>.parquet`, the decision of every
borderline candidate pair of the last run (the pairs settled by their exact Jaccard; PAIR_DECISIONS_SCHEMA).
The digest covers the dedup settings (`conversation_pairs_key`) and the source of the code that decides a pair
(transforms/dedup.py and the package modules it imports), so a changed threshold, seed or verification code
never reads an old decision. Missing or unreadable means "nothing decided": every borderline pair is settled
again, which is slower and gives the same bytes.
"""

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl

from ftdata_assets.defs.io import write_parquet_atomically
from ftdata_assets.project import Project
from ftdata_assets.transforms.dedup import PairDecisions, check_pair_decisions

FOLDER = "dedup_pairs"
PAIR_FILES = f"data/interim/{FOLDER}/*.parquet"
"""The files deduplicated_examples writes besides its output (project-relative glob: one per digest)."""

TRANSFORMS = Path(__file__).resolve().parent.parent / "transforms"
_IMPORT = re.compile(r"^\s*(?:from|import)\s+(?:ftdata_assets\.transforms\.|\.)(\w+)", re.MULTILINE)


def verification_sources(start: str = "dedup") -> list[Path]:
    """transforms/<start>.py and every transforms module it imports, transitively (sorted): what a pair's
    decision can depend on. Read from the source text, so an import inside a function counts too."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        path = TRANSFORMS / f"{name}.py"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        todo.extend(_IMPORT.findall(path.read_text(encoding="utf-8")))
    return sorted(TRANSFORMS / f"{name}.py" for name in seen)


def store_digest(key: str) -> str:
    """The file name's digest: the settings' key and the bytes of the verification code."""
    digest = hashlib.sha256(key.encode() + b"\0")
    for path in verification_sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def pairs_path(project: Project, key: str) -> Path:
    return project.interim_dir / FOLDER / f"{store_digest(key)}.parquet"


def load_pairs(project: Project, key: str, warn: Callable[[str], None]) -> PairDecisions | None:
    """The stored decisions for `key`, or None when there are none (first run, other settings or code) or the
    file cannot be read (then `warn` says so: the run verifies every pair instead of failing)."""
    path = pairs_path(project, key)
    if not path.is_file():
        return None
    try:
        frame = pl.read_parquet(path)
        check_pair_decisions(frame)
    except (OSError, ValueError, pl.exceptions.PolarsError) as error:
        warn(f"ignoring the stored dedup pair decisions {path}: {error}; every candidate pair is verified again")
        return None
    return PairDecisions(key, frame)


def save_pairs(project: Project, pairs: PairDecisions) -> Path:
    """Replaces the store (and drops stores of other digests: a run reads only its own)."""
    path = pairs_path(project, pairs.key)
    write_parquet_atomically(pairs.pairs, path)
    for stale in path.parent.glob("*.parquet"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return path
