"""The project resource: where the data lives and the run's params, injected into every asset.

params.yaml is read once per run: the first read of a run copies it to the run's folder under the Dagster
instance's storage (`<DAGSTER_HOME>/storage/<run id>/params.yaml`) and every later read of that run, in this
process or in another step process of the multiprocess executor, reads that copy. So an edit to params.yaml
while a run is going reaches the next run, never only the later assets of this one. The copy is made with a
hard link from a finished temp file, which fails if the copy exists: of two steps starting at once, the first
one's copy is what both use. Runs tagged with one `PARAMS_GROUP_TAG` (all the runs of one `ftdata run`) share
one copy, taken when that command starts.
"""

import copy
import dataclasses
import hashlib
import os
import re
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import yaml
from pydantic import PrivateAttr

from ftdata_assets.project import Project
from ftdata_assets.transforms.settings import ParamsError

SNAPSHOT_NAME = "params.yaml"
PARAMS_GROUP_TAG = "ftdata/params_group"
"""Run tag naming a group of runs that read one params copy (`<storage>/params-groups/<group>/params.yaml`):
`ftdata run` launches one run per log day and batch, then `curate`, and tags them all, so an edit while it
goes reaches none of them rather than only the later runs."""
_GROUP_NAME = re.compile(r"^[0-9a-f]{8,64}$")
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class ParamsSnapshot:
    """The bytes of params.yaml one run reads, and where they came from."""

    data: bytes
    path: Path

    @cached_property
    def params(self) -> dict[str, Any]:
        try:
            loaded = yaml.safe_load(self.data.decode("utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise ParamsError(f"params.yaml ({self.path}) is not readable YAML: {error}") from None
        if not isinstance(loaded, dict):
            raise ParamsError(f"params.yaml ({self.path}) must be a mapping of sections, not {type(loaded).__name__}")
        return loaded

    @property
    def digest(self) -> str:
        """sha256 of the bytes, shortened: what the asset metadata records, to tell runs' params apart."""
        return "sha256:" + hashlib.sha256(self.data).hexdigest()[:16]


def read_params_file(root: Path) -> bytes:
    path = root / "params.yaml"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: every threshold and seed of a run lives there")
    return path.read_bytes()


def run_snapshot(root: Path, run_dir: Path) -> ParamsSnapshot:
    """The run's copy of params.yaml in `run_dir`, made from the project's file if this is the run's first read."""
    target = run_dir / SNAPSHOT_NAME
    if not target.exists():
        data = read_params_file(root)
        run_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=f".{SNAPSHOT_NAME}.{os.getpid()}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, target)  # atomic, and refuses to replace a copy another step made first
            except FileExistsError:
                pass
            except OSError:  # a filesystem without hard links: an atomic rename (the last of racing steps wins)
                if not target.exists():
                    os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return ParamsSnapshot(target.read_bytes(), target)


def params_group_dir(storage: Path, group: str) -> Path:
    """Where the runs tagged with `group` find their shared params copy."""
    return storage / "params-groups" / group


@dataclasses.dataclass(frozen=True)
class RunProject(Project):
    """A Project whose `params` are the run's snapshot (what the data card and every asset read)."""

    snapshot: ParamsSnapshot = dataclasses.field(compare=False, kw_only=True)

    @property
    def params(self) -> dict[str, Any]:  # type: ignore[override]
        return copy.deepcopy(self.snapshot.params)


def params_failure(error: ValueError) -> dg.Failure:
    """A params error as the step's failure: the message (params.yaml, section, key) is what the UI shows."""
    return dg.Failure(description=str(error), allow_retries=False)


def with_run_config(settings: T, asset: str, **run_values: float | None) -> tuple[T, dict[str, str]]:
    """`settings` with the values set in the asset's run config (Launchpad) instead of params', for this run
    only, and metadata saying where each value came from: `0.55 (run config; params: 0.6)` or `0.6 (params)`."""
    overrides = {key: value for key, value in run_values.items() if value is not None}
    try:
        effective = dataclasses.replace(settings, **overrides)  # type: ignore[type-var]  # checked again
    except ValueError as error:
        given = ", ".join(f"{key}={value!r}" for key, value in overrides.items())
        raise params_failure(ValueError(f"run config of {asset} ({given}) refused: {error}")) from error
    metadata = {}
    for key, value in run_values.items():
        configured = getattr(settings, key)
        metadata[key] = (
            f"{configured:g} (params)" if value is None else f"{value:g} (run config; params: {configured:g})"
        )
    return effective, metadata


class ProjectResource(dg.ConfigurableResource):
    """Root of an ftdata project (the folder holding `params.yaml` and `data/`)."""

    root: str
    _run_dir: Path | None = PrivateAttr(default=None)
    _snapshot: ParamsSnapshot | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Each run (and each step process of one) initializes its own copy: remember where its params live."""
        if context.instance is not None and context.run_id:
            storage = Path(context.instance.storage_directory())
            group = context.dagster_run.tags.get(PARAMS_GROUP_TAG) if context.dagster_run is not None else None
            if group is not None and not _GROUP_NAME.fullmatch(group):
                raise dg.Failure(f"run tag {PARAMS_GROUP_TAG}={group!r} is not a group id (8-64 hex digits)")
            self._run_dir = params_group_dir(storage, group) if group else storage / context.run_id

    @property
    def snapshot(self) -> ParamsSnapshot:
        """The params of this run (outside a run: of this resource object), read once."""
        if self._snapshot is None:
            if self._run_dir is not None:
                self._snapshot = run_snapshot(Path(self.root), self._run_dir)
            else:
                path = Path(self.root) / "params.yaml"
                self._snapshot = ParamsSnapshot(read_params_file(Path(self.root)), path)
        return self._snapshot

    @property
    def project(self) -> RunProject:
        return RunProject(Path(self.root), snapshot=self.snapshot)

    @property
    def params_digest(self) -> str:
        return self.snapshot.digest

    def params(self, section: str) -> dict[str, Any]:
        """One section of the run's params, as a copy (for the sections with their own reader, e.g. `pii`)."""
        try:
            params = self.snapshot.params
        except ParamsError as error:
            raise params_failure(error) from error
        if section not in params:
            raise dg.Failure(f"params.yaml has no `{section}` section")
        return copy.deepcopy(params[section])

    def settings(self, config_class: type[T]) -> T:
        """The typed section (`DedupConfig`, `SplitConfig`, ...) of the run's params; a bad one fails the step."""
        section = self.params(config_class.SECTION)  # type: ignore[attr-defined]
        try:
            return config_class.from_params(section)  # type: ignore[attr-defined]
        except ValueError as error:
            raise params_failure(error) from error
