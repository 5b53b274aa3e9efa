"""A polars Parquet IO manager that never leaves a half-written file where a reader can see it.

dagster-polars does not work with polars 2.x, and this is all we need: one Parquet file per asset (per
partition), written to a temporary file in the same directory and renamed into place.
"""

import filecmp
import json
import shutil
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from upath import UPath

from ftdata_assets.atomic_files import write_atomically, write_bytes_atomically

PARQUET_WRITE_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 3, "statistics": True}
FILES_KEY = "ftdata/files"
"""Definition metadata of an asset that writes files itself (not through an IO manager): the project-relative
paths (glob patterns) it writes, so the graph names every file a run leaves under data/."""


def declared_files(*patterns: str) -> dict[str, dg.MetadataValue]:
    """`metadata=` of an asset (or AssetOut/AssetSpec) that writes these files (project-relative globs)."""
    return {FILES_KEY: dg.MetadataValue.json(list(patterns))}


def write_parquet_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Readers see the old file or the new one, never half of one."""
    write_atomically(path, lambda handle: frame.write_parquet(handle, **PARQUET_WRITE_OPTIONS))


def wants_lazy_frame(annotation: Any) -> bool:
    """True for `pl.LazyFrame` and `dict[str, pl.LazyFrame]` (several partitions) input annotations."""
    if annotation is pl.LazyFrame:
        return True
    args = typing.get_args(annotation)
    return typing.get_origin(annotation) is dict and len(args) == 2 and args[1] is pl.LazyFrame


def write_json_atomically(payload: dict, path: Path) -> None:
    """Metrics files (DVC metrics) get the same temp-file-and-rename treatment as the Parquet outputs."""
    write_bytes_atomically(path, (json.dumps(payload, indent=2) + "\n").encode())


def is_temp_file(path: Path) -> bool:
    """A temp file of `write_atomically` (`.<name>.<pid>.<random>.tmp`): left to `remove_stale_temp_files`,
    which knows whether its writer still runs."""
    return path.name.startswith(".") and path.name.endswith(".tmp")


@dataclass
class Published:
    """What `publish_files` did: files replaced, files already identical, files of the old release removed."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def publish_files(staging: Path, target: Path, names: Iterable[str]) -> Published:
    """Make `target` hold exactly the staged files `names` (paths relative to both folders), with their bytes.

    Each file is copied to a temp file beside its target and renamed over it, so a reader (or a crash) sees the
    old file or the new one, never half of one; files already identical are left alone, and files under
    `target` that the new release does not have are removed last. A crash midway leaves whole files of both
    releases; publishing again from the same staging folder finishes the job. The staged files stay where
    they are (they are the stored values of the staged assets). A missing staged file stops the publish
    before anything under `target` changes: an incomplete release is never published."""
    wanted = sorted(set(names))
    missing = [name for name in wanted if not (staging / name).is_file()]
    if missing:
        raise FileNotFoundError(f"the staged release in {staging} lacks {', '.join(missing)}; nothing was published")
    done = Published()
    for name in wanted:
        source, destination = staging / name, target / name
        if destination.is_file() and filecmp.cmp(source, destination, shallow=False):
            done.unchanged.append(name)
            continue
        with source.open("rb") as staged:
            write_atomically(destination, lambda handle, staged=staged: shutil.copyfileobj(staged, handle, 2**20))
        done.written.append(name)
    keep = set(wanted)
    for path in sorted(target.rglob("*"), reverse=True) if target.is_dir() else []:
        name = path.relative_to(target).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif name not in keep and not is_temp_file(path):
            path.unlink()
            done.removed.append(name)
    done.removed.sort()
    return done


class _PolarsParquetUPathIOManager(dg.UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pl.DataFrame):
            raise dg.Failure(
                f"{context.asset_key.to_user_string()} returned {type(obj).__name__}; "
                "the Parquet IO manager stores polars DataFrames only"
            )
        write_parquet_atomically(obj, Path(path.path))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pl.DataFrame | pl.LazyFrame:
        local = Path(path.path)
        if not local.exists():
            raise FileNotFoundError(
                f"{context.upstream_output.asset_key.to_user_string() if context.upstream_output else 'input'}"
                f" has not been materialized yet: {local} does not exist"
            )
        if wants_lazy_frame(context.dagster_type.typing_type):
            return pl.scan_parquet(local)
        return pl.read_parquet(local)

    def load_input(self, context: dg.InputContext) -> Any:
        """Partitioned inputs annotated `dict[...]` always get a dict (empty when nothing is materialized),
        where Dagster's default would hand back a bare frame for one partition and None for none."""
        if not (context.has_asset_key and context.has_asset_partitions):
            return super().load_input(context)
        paths = self._get_paths_for_partitions(context)
        allow_missing = bool(context.definition_metadata.get("allow_missing_partitions", False))
        loaded = {}
        for key in context.asset_partition_keys:
            if allow_missing and not self.path_exists(paths[key]):
                continue
            loaded[key] = self.load_from_path(context, paths[key])
        if typing.get_origin(context.dagster_type.typing_type) is dict or len(loaded) != 1:
            return loaded
        return next(iter(loaded.values()))

    def get_metadata(self, context: dg.OutputContext, obj: pl.DataFrame) -> dict[str, Any]:
        return {"dagster/row_count": obj.height} if isinstance(obj, pl.DataFrame) else {}


class PolarsParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Stores each asset as `<base_dir>/<asset key path>.parquet`, partitions as `<key>/<partition>.parquet`."""

    base_dir: str

    def create_io_manager(self, context: dg.InitResourceContext) -> _PolarsParquetUPathIOManager:
        return _PolarsParquetUPathIOManager(base_path=UPath(self.base_dir))
