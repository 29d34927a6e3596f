"""The code location's name, which Deal Brain's launch (`launch.LOCATION`) gives the GraphQL API: every
way of loading the code location names it so, as Dagster and `dg` read their configuration. (The served
stack and the UI under `dagster dev` and `dg dev` answer to it: test_service.py, test_standard_commands.py.)"""

import re

import yaml
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._core.workspace.load_target import get_origins_from_toml
from dagster_dg_core.context import DgContext

from cpu_pipeline.ops import launch
from cpu_pipeline_tests import served

ROOT = served.ROOT


def test_the_code_location_has_one_name_everywhere():
    dg_project = DgContext.for_project_environment(ROOT, {"cli": {"suppress_warnings": ["project_and_activated_venv_mismatch"]}})
    switching_over = (ROOT / "docs/switching_over.md").read_text()
    names = {
        "workspace.yaml (make dev)": [
            origin.location_name for origin in location_origins_from_yaml_paths([str(ROOT / "workspace.yaml")])
        ],
        "instances/production/workspace.yaml (make serve, deploy/)": [
            entry["grpc_server"]["location_name"]
            for entry in yaml.safe_load((ROOT / "instances/production/workspace.yaml").read_text())["load_from"]
        ],
        "pyproject.toml [tool.dagster] (a bare dagster dev)": [
            origin.location_name for origin in get_origins_from_toml(str(ROOT / "pyproject.toml"))
        ],
        "pyproject.toml [tool.dg.project] (dg dev, dg launch)": [dg_project.code_location_name],
        "the tests' LOCATION": [served.LOCATION],
        "docs/switching_over.md's launch": sorted(set(re.findall(r'repository_location_name="([^"]+)"', switching_over))),
    }
    assert names == dict.fromkeys(names, [launch.LOCATION])
