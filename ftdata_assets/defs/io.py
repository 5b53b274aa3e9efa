"""A polars Parquet IO manager that never leaves a half-written file where a reader can see it.

dagster-polars does not work with polars 2.x, and this is all we need: one Parquet file per asset (per
partition), written to a temporary file in the same directory and renamed into place.
"""

import json
import typing
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from upath import UPath

from ftdata_assets.atomic_files import write_atomically, write_bytes_atomically

PARQUET_WRITE_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 3, "statistics": True}


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
