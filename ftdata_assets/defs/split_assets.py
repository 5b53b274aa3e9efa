"""The release splits: split_assignments (groups, frozen registry, decontamination), train/validation/test
(staged in data/interim/release/, published by `curated_release` once their blocking checks pass), and
split_registry (written once the version is published, so a failed version never freezes anything).

The registry file is two assets: `released_split_registry`, the registry of the versions released so far (an
observable source: its data version is the file's hash), which split_assignments reads, and `split_registry`,
the same file rewritten with this version's rows at the end of a release."""

import hashlib
import shutil

import dagster as dg
import polars as pl
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from pydantic import Field

from ftdata_assets.defs.io import declared_files, write_parquet_atomically
from ftdata_assets.defs.resources import ProjectResource, with_run_config
from ftdata_assets.schema import EXAMPLE_SCHEMA, SPLITS
from ftdata_assets.transforms.benchmarks import read_benchmarks
from ftdata_assets.transforms.contamination import decontaminate
from ftdata_assets.transforms.dedup import MinHashes, minhashes, near_duplicate_components_of
from ftdata_assets.transforms.deduplicate import role_text
from ftdata_assets.transforms.settings import DecontaminationConfig, DedupConfig, SplitConfig
from ftdata_assets.transforms.split import REGISTRY_SCHEMA, assign_splits, split_groups, updated_registry

REGISTRY_FILE = "registry.parquet"
REGISTRY_PATH = f"data/splits/{REGISTRY_FILE}"
NO_REGISTRY = "absent"
"""The data version of `released_split_registry` before any version was released."""
MAX_GROUPING_ROUNDS = 5
LEAK_THRESHOLD_KEY = "leak_threshold_used"
"""split_assignments' metadata: the leak threshold its groups were built at, which splits_disjoint then checks."""


class SplitRunConfig(dg.Config):
    """Launchpad settings of one run of split_assignments; unset = params.yaml's `split` value."""

    leak_threshold: float | None = Field(
        default=None,
        description="Estimated Jaccard of user-turn shingles from which rows share a split, for this run only "
        "(unset: params.yaml split.leak_threshold).",
    )


def user_turns(frame: pl.DataFrame) -> pl.Series:
    return frame.select(role_text(pl.col("messages"), "user")).to_series()


def user_turn_minhashes(dedup: DedupConfig, prompts: pl.Series) -> MinHashes:
    """MinHash signatures of the user turns (MinHash settings from dedup), to reuse for subsets of the rows."""
    return minhashes(prompts, num_perm=dedup.num_perm, shingle_size=dedup.shingle_size, seed=dedup.seed)


def leak_components(dedup: DedupConfig, leak_threshold: float, prompts: pl.Series | MinHashes) -> pl.Series:
    """Near-duplicate components of the user turns at `leak_threshold` (MinHash settings from dedup).

    Pass the `MinHashes` of the prompts (`user_turn_minhashes`, or a subset of them) to skip hashing again."""
    hashes = prompts if isinstance(prompts, MinHashes) else user_turn_minhashes(dedup, prompts)
    return near_duplicate_components_of(hashes, leak_threshold)


def read_registry(project: ProjectResource) -> pl.DataFrame:
    path = project.project.splits_dir / REGISTRY_FILE
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=REGISTRY_SCHEMA)


def registry_version(project: ProjectResource) -> str:
    """The data version of the registry file: its sha256 (NO_REGISTRY when no version was released yet)."""
    path = project.project.splits_dir / REGISTRY_FILE
    if not path.is_file():
        return NO_REGISTRY
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


@dg.observable_source_asset(
    group_name="release",
    metadata=declared_files(REGISTRY_PATH),
    description=(
        f"{REGISTRY_PATH} as the earlier versions released it (example_id -> split): what split_assignments "
        "reads to keep the test set frozen. Written by the split_registry asset; its data version is the file's "
        "sha256 (`absent` before the first release)."
    ),
)
def released_split_registry(project: ProjectResource) -> dg.DataVersion:
    return dg.DataVersion(registry_version(project))


def registry_observation(project: ProjectResource, registry: pl.DataFrame) -> dg.AssetObservation:
    """What split_assignments read, recorded against released_split_registry: the run's lineage shows which
    version of the registry a release was assigned from, even when nobody observed the source first."""
    return dg.AssetObservation(
        asset_key=released_split_registry.key,
        metadata={
            "rows": registry.height,
            "path": dg.MetadataValue.path(str(project.project.splits_dir / REGISTRY_FILE)),
        },
        tags={DATA_VERSION_TAG: registry_version(project)},
    )


@dg.asset(
    group_name="release",
    kinds={"polars", "parquet"},
    deps=[released_split_registry],
    description=(
        "Every releasable row with its `split`: groups (conversation, same-question cluster, near-duplicate user "
        "turns, transitively) never straddle splits; the split registry of earlier versions is honoured (a test "
        "example never moves to train); new groups fill each source's ratios. Train rows whose prompt shares a "
        "long word sequence with a held-out row or a benchmark in data/benchmarks/ get `contaminated_by`."
    ),
)
def split_assignments(
    context: dg.AssetExecutionContext,
    config: SplitRunConfig,
    project: ProjectResource,
    reviewed_examples: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    split, overrides = with_run_config(
        project.settings(SplitConfig), "split_assignments", leak_threshold=config.leak_threshold
    )
    dedup, decon = project.settings(DedupConfig), project.settings(DecontaminationConfig)
    releasable = reviewed_examples.filter(pl.col("duplicate_of").is_null() & pl.col("review_status").is_null())
    examples = releasable.select(list(EXAMPLE_SCHEMA))
    # hashed once: every grouping round checks a subset of these rows (the released ones)
    prompt_hashes = user_turn_minhashes(dedup, user_turns(examples))
    links = [
        examples.get_column("conversation_id"),
        releasable.get_column("prompt_cluster"),
        leak_components(dedup, split.leak_threshold, prompt_hashes),
    ]
    registry = read_registry(project)
    context.log_event(registry_observation(project, registry))
    benchmarks, problems = read_benchmarks(project.project.benchmarks_dir)
    if problems.height:
        context.log.warning(f"{problems.height} benchmark record(s) had no readable prompt; see the asset metadata")
    # LSH pairs each member of a huge bucket with its nearest neighbours only, so the released subset can show a
    # near-duplicate pair the full set did not: the splits_disjoint check would then fail. Such pairs are linked
    # and the assignment redone until the released rows pass the same test (twice is the most seen).
    for attempt in range(1, MAX_GROUPING_ROUNDS + 1):
        groups = split_groups(examples.get_column("example_id"), links)
        assigned = assign_splits(
            examples,
            split.ratio_dict(),
            split.seed,
            groups=groups,
            registry=registry,
            priority=dedup.source_priority,
        )
        context.log.info(f"decontaminating {assigned.height} rows against {benchmarks.height} benchmark items")
        found = decontaminate(assigned, benchmarks, decon)  # every decontamination param, typed
        hits = found.hits
        result = (
            assigned.with_row_index("row")
            .with_columns(pl.col("row").cast(pl.Int64))
            .join(hits, on="row", how="left", maintain_order="left")
            .drop("row")
        )
        released = result.with_row_index("row").filter(pl.col("contaminated_by").is_null())
        # result rows are the examples rows, in order: "row" indexes prompt_hashes
        released_hashes = prompt_hashes.subset(released.get_column("row").to_numpy())
        leaks = straddling_components(dedup, split.leak_threshold, released.get_column("split"), released_hashes)
        if leaks.null_count() == leaks.len():
            break
        context.log.info(f"grouping round {attempt}: {leaks.drop_nulls().n_unique()} near-duplicate groups straddled")
        label = pl.DataFrame({"row": released.get_column("row"), "leak": leaks})
        links.append(
            result.with_row_index("row").join(label, on="row", how="left", maintain_order="left").get_column("leak")
        )
    contaminated = result.filter(pl.col("contaminated_by").is_not_null())
    moved = assigned.join(registry, on="example_id", suffix="_registered").filter(
        pl.col("split") != pl.col("split_registered")
    )
    return dg.Output(
        result,
        metadata={
            "rows": result.height,
            "grouping_rounds": attempt,
            "groups": result.get_column("split_group").n_unique(),
            "largest_group": int(result.group_by("split_group").len().get_column("len").max() or 0),
            "frozen_rows": result.filter(pl.col("split_origin") == "frozen").height,
            "registry_rows": registry.height,
            "moved_to_held_out": moved.height,
            "benchmark_items": benchmarks.height,
            "benchmark_files": dg.MetadataValue.json(
                dict(benchmarks.group_by("benchmark").len().sort("benchmark").iter_rows())
            ),
            "benchmark_problems": dg.MetadataValue.json(problems.head(20).to_dicts()),
            "contaminated": contaminated.height,
            # rows each rule removed (benchmark, held_out) or spared (shared templates, coverage), the bound
            "decontamination": dg.MetadataValue.json(found.counts),
            "contaminated_by": dg.MetadataValue.json(
                dict(contaminated.group_by("contaminated_by").len().sort("contaminated_by").iter_rows())
            ),
            **overrides,
            LEAK_THRESHOLD_KEY: split.leak_threshold,
            "params_digest": project.params_digest,
        },
    )


@dg.multi_asset(
    outs={
        split: dg.AssetOut(
            group_name="release",
            kinds={"polars", "parquet"},
            io_manager_key="curated_io_manager",
            description=(
                f"The curated {split} split, staged as data/interim/release/{split}.parquet; `curated_release` "
                f"publishes it to data/curated/{split}.parquet (what trainers `dvc pull`) once the checks pass."
            ),
        )
        for split in SPLITS
    },
    deps=["audit_sample"],  # its blocking audit_error_rate check gates the release
    check_specs=[
        dg.AssetCheckSpec(
            "splits_disjoint",
            asset="test",
            blocking=True,
            description=(
                "No example id and no near-duplicate of the user turns (split.leak_threshold) is shared between "
                "train and the held-out splits: they were never trained on."
            ),
        )
    ],
)
def curated_splits(context: dg.AssetExecutionContext, project: ProjectResource, split_assignments: pl.DataFrame):
    # A release starts here: the staging folder holds this release's files only (the data card lists them).
    shutil.rmtree(project.project.release_staging_dir, ignore_errors=True)
    clean = split_assignments.filter(pl.col("contaminated_by").is_null())
    splits = {
        split: clean.filter(pl.col("split") == split)
        .select(list(EXAMPLE_SCHEMA))
        .sort("example_id", "source", "source_file", "source_line")
        for split in SPLITS
    }
    for split, frame in splits.items():
        yield dg.Output(
            frame,
            output_name=split,
            metadata={
                "rows": frame.height,
                "share": round(frame.height / max(clean.height, 1), 4),
                "by_source": dg.MetadataValue.json(dict(frame.group_by("source").len().sort("source").iter_rows())),
            },
        )
    yield leak_check(project.settings(DedupConfig), assignment_leak_threshold(context, project), splits)


def assignment_leak_threshold(context: dg.AssetExecutionContext, project: ProjectResource) -> float:
    """The leak threshold the split_assignments being released was grouped at (its materialization's metadata:
    a Launchpad run may have set another than params'), so splits_disjoint checks what the grouping ensured."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey("split_assignments"))
    materialization = event.asset_materialization if event is not None else None
    recorded = materialization.metadata.get(LEAK_THRESHOLD_KEY) if materialization is not None else None
    if recorded is not None and isinstance(recorded.value, int | float):
        return float(recorded.value)
    return project.settings(SplitConfig).leak_threshold


def straddling_components(
    dedup: DedupConfig, leak_threshold: float, splits: pl.Series, prompts: pl.Series | MinHashes
) -> pl.Series:
    """Per row, its near-duplicate component (user turns, `leak_threshold`) if that component has rows in
    train and in a held-out split, else null: the leaks splits_disjoint looks for."""
    frame = pl.DataFrame({"component": leak_components(dedup, leak_threshold, prompts), "train": splits == "train"})
    straddles = (pl.col("train").any() & ~pl.col("train").all()).over("component")
    return frame.select(pl.when(straddles).then(pl.col("component"))).to_series().alias("leak")


def leak_check(dedup: DedupConfig, leak_threshold: float, splits: dict[str, pl.DataFrame]) -> dg.AssetCheckResult:
    combined = pl.concat([frame.select("example_id", "messages", split=pl.lit(name)) for name, frame in splits.items()])
    is_train = pl.col("split") == "train"
    shared_ids = combined.group_by("example_id").agg(sides=is_train.n_unique()).filter(pl.col("sides") > 1)
    leaks = combined.with_columns(
        component=straddling_components(dedup, leak_threshold, combined.get_column("split"), user_turns(combined))
    ).filter(pl.col("component").is_not_null())
    return dg.AssetCheckResult(
        check_name="splits_disjoint",
        asset_key="test",
        passed=shared_ids.height == 0 and leaks.height == 0,
        metadata={
            "ids_in_train_and_held_out": shared_ids.height,
            "leak_threshold": leak_threshold,
            "near_duplicate_groups_across": leaks.get_column("component").n_unique(),
            "examples": dg.MetadataValue.json(
                leaks.sort("component", "split", "example_id")
                .select("component", "split", "example_id")
                .head(20)
                .to_dicts()
                + shared_ids.select("example_id").head(20).to_dicts()
            ),
        },
    )


@dg.asset(
    group_name="release",
    kinds={"parquet"},
    deps=[released_split_registry, "ledger", "train", "validation", "test", "curated_release"],
    metadata=declared_files(REGISTRY_PATH),
    description=(
        f"{REGISTRY_PATH}: example_id -> split for every example released so far. The next version reads it "
        "(as released_split_registry), so the test set stays frozen. Written last, once curated_release has "
        "published the version (so after every blocking check upstream passed)."
    ),
)
def split_registry(project: ProjectResource, split_assignments: pl.DataFrame) -> dg.MaterializeResult:
    released = split_assignments.filter(pl.col("contaminated_by").is_null())
    previous = read_registry(project)
    registry = updated_registry(previous, released)
    path = project.project.splits_dir / REGISTRY_FILE
    write_parquet_atomically(registry, path)
    return dg.MaterializeResult(
        metadata={
            "rows": registry.height,
            "new_rows": registry.height - previous.height,
            "by_split": dg.MetadataValue.json(dict(registry.group_by("split").len().sort("split").iter_rows())),
            "path": dg.MetadataValue.path(str(path)),
        }
    )
