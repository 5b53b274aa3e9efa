"""The project resource: where the data lives and the run's params, injected into every asset."""

from pathlib import Path
from typing import Any

import dagster as dg

from ftdata_assets.project import Project


class ProjectResource(dg.ConfigurableResource):
    """Root of an ftdata project (the folder holding `params.yaml` and `data/`)."""

    root: str

    @property
    def project(self) -> Project:
        return Project(Path(self.root))

    def params(self, section: str) -> dict[str, Any]:
        params = self.project.params
        if section not in params:
            raise dg.Failure(f"params.yaml has no `{section}` section")
        return params[section]
