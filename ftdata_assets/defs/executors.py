"""Which executor the code location's jobs run with: chosen by the deployment, not by the code.

`FTDATA_EXECUTOR` picks it; unset keeps Dagster's default (the multiprocess-or-in-process executor: one process
per step under `dagster dev`, or in-process when a run's config says so). `ftdata materialize` and the DVC
stage ignore what is chosen here: they run in-process, or `curate` on the multiprocess executor for large
inputs (defs/runner.py), always on this machine.

| FTDATA_EXECUTOR | executor |
|---|---|
| unset or `default` | Dagster's default (multiprocess unless the run config asks for in_process) |
| `multiprocess` | `dg.multiprocess_executor` |
| `in_process` | `dg.in_process_executor` |
| `k8s` | `dagster_k8s.k8s_job_executor`: one Kubernetes Job per step (needs the `k8s` extra) |

`FTDATA_EXECUTOR_CONFIG` may name a YAML run-config file (e.g. `deploy/executor.yaml`); its
`execution.config` block is then baked into the executor, so every run (Launchpad, schedule, sensor) gets the
same per-step resource requests and concurrency limit without anyone pasting run config.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

EXECUTOR_ENV = "FTDATA_EXECUTOR"
EXECUTOR_CONFIG_ENV = "FTDATA_EXECUTOR_CONFIG"
EXECUTOR_CHOICES = ("default", "multiprocess", "in_process", "k8s")


class ExecutorSelectionError(ValueError):
    """FTDATA_EXECUTOR or FTDATA_EXECUTOR_CONFIG is wrong; the message says how to fix it."""


def load_executor_config(path: Path) -> dict[str, Any]:
    """The `execution.config` block of a run-config YAML file (the shape Dagster's Launchpad takes)."""
    path = Path(path)
    if not path.is_file():
        raise ExecutorSelectionError(f"{EXECUTOR_CONFIG_ENV}={path}: no such file")
    run_config = yaml.safe_load(path.read_text()) or {}
    execution = run_config.get("execution") if isinstance(run_config, dict) else None
    if not isinstance(execution, dict) or not isinstance(execution.get("config"), dict):
        raise ExecutorSelectionError(f"{path} has no `execution: config:` block")
    return execution["config"]


def select_executor(name: str | None, config_file: Path | None = None) -> dg.ExecutorDefinition | None:
    """The executor called `name` (None or "default": Dagster's default), configured from `config_file`."""
    if name in (None, "", "default"):
        if config_file is not None:
            raise ExecutorSelectionError(
                f"{EXECUTOR_CONFIG_ENV} is set but {EXECUTOR_ENV} is not: say which executor it configures"
            )
        return None
    if name == "multiprocess":
        executor = dg.multiprocess_executor
    elif name == "in_process":
        executor = dg.in_process_executor
    elif name == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError as error:
            raise ExecutorSelectionError(
                f"{EXECUTOR_ENV}=k8s needs dagster-k8s: pip install -c constraints.txt -e '.[k8s]'"
            ) from error
        executor = k8s_job_executor
    else:
        raise ExecutorSelectionError(f"{EXECUTOR_ENV}={name!r}: expected one of {', '.join(EXECUTOR_CHOICES)}")
    if config_file is not None:
        executor = executor.configured(load_executor_config(config_file))
    return executor


def executor_from_env(environ: Mapping[str, str] | None = None) -> dg.ExecutorDefinition | None:
    """The executor the environment asks for; None (Dagster's default) when FTDATA_EXECUTOR is unset."""
    environ = os.environ if environ is None else environ
    name = environ.get(EXECUTOR_ENV, "").strip() or None
    config = environ.get(EXECUTOR_CONFIG_ENV, "").strip()
    return select_executor(name, Path(config) if config else None)
