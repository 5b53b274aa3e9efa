"""Partitions: one per day of production logs, one per synthetic batch file."""

import dagster as dg

LOGS_START_DATE = "2026-11-01"
"""First day of production logs. Earlier log files are reported as errors, not silently ignored."""

production_log_days = dg.DailyPartitionsDefinition(start_date=LOGS_START_DATE, timezone="UTC")
synthetic_batches = dg.DynamicPartitionsDefinition(name="synthetic_batches")
