"""Totals of what `pii.scrub` replaced, and a re-scan of scrubbed text for anything left behind.

The full re-scan (the blocking `no_pii_left` check) records which texts it found clean; the later layers'
`pii_findings` views re-scan only the texts not in that set (new or edited ones), instead of every text of
every layer again: same verdicts, one full scan instead of six.
"""

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from ftdata_assets.progress import ProgressFn
from ftdata_assets.transforms import pii
from ftdata_assets.transforms.pii import PiiSettings, detect, scrub, settings_of

Settings = PiiSettings | Sequence[str]
"""PiiSettings (allow-list + recognizer registry), or a bare allow-list for the built-in registry."""


def pii_totals(scrubbed: pl.DataFrame) -> dict:
    """The DVC metric `data/metrics/pii.json`: findings replaced per type (built-in types, then the user
    types of the registry the frame was scrubbed under), and rows that had any."""
    counts = scrubbed.get_column("pii_counts").struct.unnest()
    by_type = {t: int(counts.get_column(t).sum()) for t in counts.columns}
    rows_with_pii = int((counts.select(pl.sum_horizontal(pl.all())).to_series() > 0).sum())
    return {
        "rows": scrubbed.height,
        "rows_with_pii": rows_with_pii,
        "replaced": sum(by_type.values()),
        "by_type": by_type,
    }


def scrubbed_texts(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text a trainer will see, one per row: message contents, plus feedback's original response."""
    contents = (
        frame.select("example_id", pl.col("messages").list.eval(pl.element().struct.field("content")).alias("text"))
        .explode("text")
        .with_columns(field=pl.lit("messages"))
    )
    parts = [contents]
    if "original_response" in frame.columns:
        parts.append(
            frame.select("example_id", pl.col("original_response").alias("text")).with_columns(
                field=pl.lit("original_response")
            )
        )
    return pl.concat(parts).filter(pl.col("text").is_not_null())


def leftover_findings(
    frame: pl.DataFrame,
    allow_list: Settings = (),
    *,
    verified: pl.DataFrame | None = None,
    progress: ProgressFn | None = None,
) -> pl.DataFrame:
    """`detect` over every scrubbed text; empty means the scrub left nothing (placeholders are not findings).

    `allow_list`: the PiiSettings the frame was scrubbed under (or a bare allow-list).
    `verified` (VERIFIED_SCHEMA, from `clean_keys` under the same `detector_fingerprint`): texts whose keys
    are in it are known clean and skipped. `row` indexes the texts in `scrubbed_texts` order either way.
    """
    settings = settings_of(allow_list)
    return scan_scrubbed_texts(frame, lambda texts: detect(texts, settings=settings, progress=progress), verified)


def scan_scrubbed_texts(
    frame: pl.DataFrame, scan: Callable[[pl.Series], pl.DataFrame], verified: pl.DataFrame | None = None
) -> pl.DataFrame:
    """`scan` (a detector: texts -> findings with `row`) over every text of `scrubbed_texts(frame)` whose key is
    not in `verified`, with `example_id` and `field` added; `row` indexes the texts in `scrubbed_texts` order."""
    texts = scrubbed_texts(frame)
    column = texts.get_column("text")
    if verified is None or verified.height == 0:
        findings = scan(column)
    else:
        todo = (
            text_keys(column)
            .with_row_index("row")
            .join(verified.cast(VERIFIED_SCHEMA), on=["k0", "k1"], how="anti", maintain_order="left")
            .get_column("row")
        )
        found = scan(column.gather(todo))
        findings = found.with_columns(row=todo.gather(found.get_column("row")).cast(pl.UInt32))
    located = texts.with_row_index("row").select(pl.col("row").cast(pl.UInt32), "example_id", "field")
    return findings.join(located, on="row", how="left")


# --------------------------------------------------------------------------------- after a later repair


def rescrub_changed(before: pl.DataFrame, after: pl.DataFrame, allow_list: Settings = ()) -> tuple[pl.DataFrame, int]:
    """Scrub `after` again where its messages differ from `before` (the same rows, in order), and return it
    with the number of placeholders added.

    A later repair can reveal PII the scrub could not see: ftfy turns "JosÃ© Ruiz" back into "José Ruiz".
    Whole conversations of the changed rows are scrubbed again, new values numbered after the placeholders
    they already have; `pii_counts` grows by what was added. Rows that gain nothing are left as they are.
    """
    if before.height != after.height or not before.get_column("example_id").equals(after.get_column("example_id")):
        raise ValueError("rescrub_changed needs the same rows in the same order before and after the repair")
    changed = (
        before.select(pl.col("messages").hash()).to_series() != after.select(pl.col("messages").hash()).to_series()
    )
    if not changed.any():
        return after, 0
    conversation = pl.coalesce("conversation_id", "example_id")
    keyed = after.with_row_index("__row").with_columns(__conversation=conversation)
    keys = keyed.filter(changed).get_column("__conversation").unique()
    subset = keyed.filter(pl.col("__conversation").is_in(keys.implode()))
    again = scrub(
        subset.drop("pii_counts"),
        conversation_key="__conversation",
        settings=settings_of(allow_list),
        continue_numbering=True,
    )
    added = again.select(pl.sum_horizontal(pl.col("pii_counts").struct.unnest())).to_series()
    if added.sum() == 0:
        return after, 0
    gained = again.filter(added > 0)
    # the fields of both (a type the registry gained since `after` was scrubbed counts from 0)
    have = [f.name for f in after.schema["pii_counts"].fields]
    gained_types = [f.name for f in again.schema["pii_counts"].fields]
    fields = list(dict.fromkeys([*have, *gained_types]))

    def count(col: str, t: str, present: list[str]) -> pl.Expr:
        return pl.col(col).struct.field(t) if t in present else pl.lit(0, pl.Int64)

    dtype = pl.Struct(dict.fromkeys(fields, pl.Int64))
    totals = pl.struct([(count("pii_counts", t, have) + count("__added", t, gained_types)).alias(t) for t in fields])
    current = pl.struct([count("pii_counts", t, have).alias(t) for t in fields])
    patch = gained.select(
        "__row",
        __messages=pl.col("messages"),
        __added=pl.col("pii_counts"),
        **({"__original": pl.col("original_response")} if "original_response" in after.columns else {}),
    )
    merged = keyed.join(patch, on="__row", how="left", maintain_order="left")
    hit = pl.col("__messages").is_not_null()
    updates = [
        pl.when(hit).then(pl.col("__messages")).otherwise(pl.col("messages")).alias("messages"),
        pl.when(hit).then(totals).otherwise(current).cast(dtype).alias("pii_counts"),
    ]
    if "original_response" in after.columns:
        updates.append(
            pl.when(hit).then(pl.col("__original")).otherwise(pl.col("original_response")).alias("original_response")
        )
    return merged.with_columns(updates).select(after.columns), int(added.sum())


# ---------------------------------------------------------------------------------- verified-clean texts

VERIFIED_SCHEMA = pl.Schema({"k0": pl.UInt64(), "k1": pl.UInt64()})
"""One row per text the detector has scanned and found nothing in: two independent 64-bit hashes of it."""


def detector_fingerprint(allow_list: Settings = ()) -> str:
    """What a verdict of `detect` and of the second opinion depends on: their code and lexicon, polars
    (hashes, regex engine), phonenumbers and python-stdnum (their metadata), and the settings (allow-list,
    disabled recognizers, users' own recognizers). A verified-clean set is only reused under the same
    fingerprint."""
    import phonenumbers
    import stdnum

    digest = hashlib.blake2b(digest_size=12)
    package = Path(pii.__file__).parent
    # a verified-clean text is clean by both detectors (the re-scan and the second opinion of pii_crosscheck)
    second_opinion = package.parent / "pii_crosscheck.py"
    for path in (*sorted(package.glob("*.py")), pii.LEXICON_PATH, second_opinion):
        digest.update(path.read_bytes())
    digest.update("\x00".join([pl.__version__, phonenumbers.__version__, stdnum.__version__]).encode())
    digest.update(settings_of(allow_list).fingerprint().encode())
    return digest.hexdigest()


def text_keys(texts: pl.Series) -> pl.DataFrame:
    """128 bits per text (two differently seeded hashes), so a text with PII never passes for a verified one."""
    return pl.DataFrame({"k0": texts.hash(seed=0x5EED), "k1": texts.hash(seed=0x9E3779B97F4A7C15)})


def clean_keys(frame: pl.DataFrame, findings: pl.DataFrame) -> pl.DataFrame:
    """Keys of the texts of `frame` (in `scrubbed_texts` order) that have no row in `findings`."""
    keys = text_keys(scrubbed_texts(frame).get_column("text")).with_row_index("row")
    flagged = findings.get_column("row").unique().implode()
    return keys.filter(~pl.col("row").is_in(flagged)).select(VERIFIED_SCHEMA.names()).unique().sort(["k0", "k1"])
