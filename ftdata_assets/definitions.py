"""The one Definitions object of the code location (workspace.yaml points here)."""

from ftdata_assets.defs.build import build_definitions
from ftdata_assets.project import default_project_dir

defs = build_definitions(default_project_dir())
