"""Pure polars transforms: no Dagster imports here, so every step is unit-testable on its own."""
