"""Where the `no_pii_left` re-scan leaves the keys of the texts it found clean, for the later layers' checks.

The `pii_verified` asset (an output of scrubbed_examples' step; the checks that read it depend on it): a working
file under data/interim (not a DVC output), one Parquet per detector fingerprint, so a changed
detector, lexicon, polars or PII settings (allow-list, recognizer registry) never reuses an old verdict.
Missing or unreadable means "nothing verified": the checks then re-scan every text, which is slower and gives
the same answers.
"""

from pathlib import Path

import polars as pl

from ftdata_assets.defs.io import write_parquet_atomically
from ftdata_assets.project import Project
from ftdata_assets.transforms.pii_report import VERIFIED_SCHEMA, Settings, detector_fingerprint

FOLDER = "pii_verified"
VERIFIED_FILES = f"data/interim/{FOLDER}/*.parquet"
"""The files of the `pii_verified` asset (project-relative glob: one per detector fingerprint)."""


def verified_path(project: Project, settings: Settings) -> Path:
    """`settings`: the PiiSettings of the scan (or a bare allow-list for the built-in registry)."""
    return project.interim_dir / FOLDER / f"{detector_fingerprint(settings)}.parquet"


def save_verified(project: Project, settings: Settings, keys: pl.DataFrame) -> Path:
    """Replaces the set (and drops sets of other fingerprints: they can never be read again)."""
    path = verified_path(project, settings)
    write_parquet_atomically(keys.cast(VERIFIED_SCHEMA), path)
    for stale in path.parent.glob("*.parquet"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


def load_verified(project: Project, settings: Settings) -> pl.DataFrame | None:
    path = verified_path(project, settings)
    try:
        return pl.read_parquet(path).cast(VERIFIED_SCHEMA)
    except (OSError, pl.exceptions.PolarsError):
        return None
