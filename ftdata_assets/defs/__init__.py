"""Thin Dagster wiring: assets, checks, partitions, schedules, sensors, resources and IO."""
