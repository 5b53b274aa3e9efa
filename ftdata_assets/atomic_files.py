"""Atomic file writes: every output (Parquet layers, metrics, review exports, sample data) is written to a
temporary file beside its target, fsynced and renamed into place, so a reader or a crash never sees half a file.

The temporary file is hidden and names its writer: `.<target name>.<pid>.<random>.tmp`. A writer killed
mid-write (SIGKILL, OOM, power loss) cannot remove it, so the next run removes the ones whose writer is gone
(`remove_stale_temp_files`) and leaves those of a writer that is still running alone.
"""

import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

_RANDOM = r"[a-z0-9_]{8}"  # tempfile's name sequence
_TEMP_NAME = re.compile(rf"^\..+\.(?P<pid>\d+)\.{_RANDOM}\.tmp$")
_OLD_TEMP_NAME = re.compile(rf"^\..+\.{_RANDOM}\.tmp$")  # before the writer's pid was part of the name


def temp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write` on a temp file beside `path`, fsync it, then rename it over `path` (and fsync the folder
    where the platform allows, so the rename itself survives a crash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide outputs from other people on a shared machine
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def write_bytes_atomically(path: Path, data: bytes) -> None:
    write_atomically(path, lambda handle: handle.write(data))


def _writer_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:  # e.g. a pid out of range: no such process
        return False
    return True


def is_stale_temp_file(path: Path) -> bool:
    """A temp file of `write_atomically` whose writer is no longer running (killed before its rename)."""
    if not path.is_file() or path.is_symlink():
        return False
    match = _TEMP_NAME.match(path.name)
    if match:
        return not _writer_alive(int(match.group("pid")))
    return bool(_OLD_TEMP_NAME.match(path.name))


def remove_stale_temp_files(folders: Iterable[Path]) -> list[Path]:
    """Remove the temp files an interrupted writer left under `folders` (recursively); return what was removed.

    Only names `write_atomically` makes are touched, and only when their writer (by pid, on this machine) is
    gone, so a run that is writing at the same moment keeps its files."""
    removed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob(".*.tmp")):
            if is_stale_temp_file(path):
                try:
                    path.unlink()
                except FileNotFoundError:  # its writer renamed or removed it meanwhile
                    continue
                removed.append(path)
    return removed
