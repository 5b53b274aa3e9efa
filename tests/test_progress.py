"""Progress lines for long steps: rate-limited, always the last one, with an estimate of what is left."""

from ftdata_assets.progress import progress_logger


def test_lines_are_rate_limited_and_the_last_one_always_comes() -> None:
    now = [100.0]
    lines: list[str] = []
    report = progress_logger(lines.append, "PII scan", every_s=5.0, clock=lambda: now[0])
    for done, at in [(1, 101.0), (2, 103.0), (3, 107.0), (4, 108.0), (10, 109.0)]:
        now[0] = at
        report(done, 10)
    assert lines == [
        "PII scan: 1/10 batches (10%) in 1s, about 9s left",
        "PII scan: 3/10 batches (30%) in 7s, about 16s left",
        "PII scan: 10/10 batches (100%) in 9s",
    ]


def test_long_runs_read_in_minutes_and_an_empty_total_does_not_divide_by_zero() -> None:
    now = [0.0]
    lines: list[str] = []
    report = progress_logger(lines.append, "MinHash", "texts", clock=lambda: now[0])
    now[0] = 120.0
    report(250_000, 1_000_000)
    report(0, 0)
    assert lines == [
        "MinHash: 250,000/1,000,000 texts (25%) in 2.0 min, about 6.0 min left",
        "MinHash: 0/0 texts (100%) in 2.0 min",
    ]
