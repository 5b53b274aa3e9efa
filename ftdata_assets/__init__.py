"""ftdata: curate LLM fine-tuning datasets with Dagster, polars, Great Expectations and DVC."""

__version__ = "0.1.0"
