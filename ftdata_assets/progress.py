"""Progress lines for long steps, so a 1M-row run in the Dagster UI says where it is and how long is left.

Transforms take an optional `progress(done, total)` callback (pure code stays free of Dagster); the asset
passes `progress_logger(context.log.info, ...)`, which turns the calls into at most one line every few
seconds: "PII scan: 12/40 batches (30%) in 41s, about 1.6 min left".
"""

import time
from collections.abc import Callable

ProgressFn = Callable[[int, int], None]


def _duration(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 90 else f"{seconds / 60:.1f} min"


def progress_logger(
    log: Callable[[str], None],
    label: str,
    unit: str = "batches",
    *,
    every_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
) -> ProgressFn:
    """A callback that logs `label: done/total unit (pct) in elapsed, about ETA left`: the first call, then
    at most one line per `every_s` seconds, and always the last one (done == total)."""
    started = clock()
    last_logged: float | None = None

    def report(done: int, total: int) -> None:
        nonlocal last_logged
        now = clock()
        finished = done >= total
        if not finished and last_logged is not None and now - last_logged < every_s:
            return
        last_logged = now
        elapsed = now - started
        share = done / total if total else 1.0
        line = f"{label}: {done:,}/{total:,} {unit} ({share:.0%}) in {_duration(elapsed)}"
        if 0 < done < total:
            line += f", about {_duration(elapsed / done * (total - done))} left"
        log(line)

    return report
